//! Plan-schedule packets as the sandbox reads an upload: the index first, then the whole
//! packet. Never panic; an accepted packet written and read again is stable.
#![no_main]

use eis::packet::{read_packet_index, read_plan_packet, write_plan_packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    if let Err(e) = read_packet_index(xml) {
        let _ = e.message_ru();
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
