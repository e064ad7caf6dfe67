//! What ЕИС publishes (`export` with a `tenderPlan2020`): never panic; an accepted export
//! written and read again is stable.
#![no_main]

use eis::export::{read_export, write_export};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    match read_export(xml) {
        Ok(e) => {
            let _ = e.position_numbers();
            let written = write_export(&e);
            let again = read_export(&written).unwrap_or_else(|err| panic!("written export unreadable: {err}\n{written}"));
            assert_eq!(write_export(&again), written, "write → read → write must be stable");
        }
        Err(e) => {
            let _ = e.message_ru();
        }
    }
});
