//! The table of organizations and users of «Загрузка организаций» as uploaded (bytes, .xlsx or
//! CSV in UTF-8 or Windows-1251): the bounded reader never panics, and every row it gives has
//! every column, a row number from 1 and errors on named columns.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sheets::roster::{LIMITS, RosterCol, read_roster};

fuzz_target!(|data: &[u8]| {
    match read_roster(data, &LIMITS) {
        Ok(rows) => {
            for row in rows {
                assert!(row.row > 0);
                assert_eq!(row.values.len(), RosterCol::ALL.len());
                assert!(row.errors.iter().all(|e| !e.message.is_empty() && !e.column.is_empty()));
                let _ = row.describes_organization();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
