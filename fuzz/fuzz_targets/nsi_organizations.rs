//! «Сводный перечень заказчиков» files as uploaded (bytes): never panic, and every record read
//! keeps its place in the list.
#![no_main]

use eis::nsi_organizations::read_organization_list_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match read_organization_list_bytes(data) {
        Ok(list) => {
            for (i, o) in list.organizations.iter().enumerate() {
                assert!(o.position > i, "positions are 1-based and grow");
            }
        }
        Err(e) => {
            let _ = e.message_ru();
        }
    }
});
