//! Plan-schedule packets as the sandbox reads an upload: the index first, then the whole
//! packet, and the parts its signature check reads. Never panic; an accepted packet written and read again is stable.
#![no_main]

use eis::packet::{read_packet_index, read_plan_packet, read_signed_parts, with_signature, write_plan_packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    if let Err(e) = read_packet_index(xml) {
        let _ = e.message_ru();
    }
    // The signature check's reading: the signed bytes are a slice of the document, and a
    // signature put into the index leaves them exactly as they were.
    if let Ok(parts) = read_signed_parts(xml) {
        let data = parts.data_of(xml);
        assert!(data.starts_with('<') && data.ends_with('>'), "{data}");
        if let Ok(signed) = with_signature(xml, "MIIBAA==") {
            let again = read_signed_parts(&signed).expect("a signed packet reads");
            assert_eq!(again.data_of(&signed), data, "signing changed the signed bytes");
            assert_eq!(again.signature, "MIIBAA==");
        }
    }
    match read_plan_packet(xml) {
        Ok(p) => {
            for problem in p.problems() {
                let _ = (problem.path, problem.message);
            }
            let written = write_plan_packet(&p);
            let again = read_plan_packet(&written).unwrap_or_else(|e| panic!("written packet unreadable: {e}\n{written}"));
            assert_eq!(write_plan_packet(&again), written, "write → read → write must be stable");
        }
        Err(e) => {
            let _ = e.message_ru();
        }
    }
});
