//! What ЕИС publishes (`export` with a `tenderPlan2020`): never panic; an accepted export
//! written and read again is stable, and reading its positions back into plangraf's («Загрузить
//! из ЕИС», «Сверить с ЕИС») answers positions or Russian lines, for every organization type.
#![no_main]

use eis::export::{read_export, write_export};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    match read_export(xml) {
        Ok(e) => {
            let _ = e.position_numbers();
            for org_type in domain::org::OrgType::ALL {
                if let Err(lines) = plan_packets::read::copy_of(&e, org_type) {
                    assert!(!lines.is_empty(), "a refusal names what is wrong");
                }
            }
            let written = write_export(&e);
            let again = read_export(&written).unwrap_or_else(|err| panic!("written export unreadable: {err}\n{written}"));
            assert_eq!(write_export(&again), written, "write → read → write must be stable");
        }
        Err(e) => {
            let _ = e.message_ru();
        }
    }
});
