//! What ЕИС answers and the service request the sandbox reads: `confirmation`, `errorInfo`,
//! `fcsDocProjectStatusResponse` and `fcsDocProjectStatusRequest`. The same input goes to every
//! reader (each refuses another root at once). Never panic; an accepted document written and
//! read again is written identically.
#![no_main]

use eis::docproject::*;
use eis::reply::*;
use eis::ReadError;
use libfuzzer_sys::fuzz_target;

/// Read, and for an accepted document: write → read → write must be stable.
fn stable<T>(xml: &str, read: fn(&str) -> Result<T, ReadError>, write: fn(&T) -> String, what: &str) {
    match read(xml) {
        Ok(value) => {
            let written = write(&value);
            let again = read(&written).unwrap_or_else(|e| panic!("written {what} unreadable: {e}\n{written}"));
            assert_eq!(write(&again), written, "{what}: write → read → write must be stable");
        }
        Err(e) => {
            let _ = e.message_ru();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    stable(xml, read_confirmation, write_confirmation, "confirmation");
    stable(xml, read_error_info, write_error_info, "errorInfo");
    stable(xml, read_doc_project_status_response, write_doc_project_status_response, "fcsDocProjectStatusResponse");
    stable(xml, read_doc_project_status_request, write_doc_project_status_request, "fcsDocProjectStatusRequest");
});
