//! НСИ files as uploaded (bytes): never panic; an accepted file written and read again is
//! stable.
#![no_main]

use eis::nsi::{read_nsi, read_nsi_bytes, write_nsi};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match read_nsi_bytes(data) {
        Ok(doc) => {
            let written = write_nsi(&doc);
            let again = read_nsi(&written).unwrap_or_else(|e| panic!("written НСИ file unreadable: {e}\n{written}"));
            assert_eq!(write_nsi(&again), written, "write → read → write must be stable");
        }
        Err(e) => {
            let _ = e.message_ru();
        }
    }
});
