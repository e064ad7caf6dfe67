//! Import files as uploaded (bytes): the bounded .xlsx reader never panics, whatever the ZIP
//! and the sheet hold; the rows it gives parse and place their errors without panicking.
#![no_main]

use domain::OrgType;
use domain::ikz::PurchaseNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for org_type in [OrgType::Budget, OrgType::Authority] {
        match sheets::read(data, 2026, org_type, &sheets::Limits::DEFAULT) {
            Ok(rows) => {
                let number = PurchaseNumber::new(1).expect("a purchase number");
                for mut row in rows {
                    if let Err(errors) = row.draft.parse(number, org_type, None) {
                        row.place(&errors);
                    }
                    assert!(row.errors.iter().all(|e| !e.message.is_empty() && e.row > 0));
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
