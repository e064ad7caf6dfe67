//! Money as people type it and as it is stored: never panic; what is accepted reads back the
//! same from its canonical and its displayed form.
#![no_main]

use domain::Money;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(m) = Money::from_canonical(s) {
        assert_eq!(Money::from_canonical(&String::from(m)), Ok(m), "stored form of {s:?}");
    }
    if let Ok(m) = Money::parse(s) {
        assert_eq!(Money::from_canonical(&m.canonical()), Ok(m), "canonical form of {s:?}");
        assert_eq!(Money::parse(&m.to_string()), Ok(m), "displayed form of {s:?}");
        let _ = m.checked_add(m);
    }
});
