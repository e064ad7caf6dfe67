//! Codes typed or read from outside: ОКПД2, КВР, СПЗ, ИНН, КПП, organization type, and the
//! ИКУ and ИКЗ built from them. Never panic. The input is split on newlines into the fields.
#![no_main]

use domain::ikz::{Iku, Ikz, KvrCode, Okpd2Code, PurchaseNumber, compute};
use domain::org::{Inn, Kpp, OrgType, SpzCode, iku};
use domain::format::group_digits_ru;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let mut f = s.split('\n');
    let mut next = || f.next().unwrap_or("");
    let (a, b, c, d, e, g) = (next(), next(), next(), next(), next(), next());
    let okpd2 = Okpd2Code::parse(a);
    if let Ok(o) = &okpd2 {
        let _ = o.ikz_part();
    }
    let kvr = KvrCode::parse(b);
    let _ = SpzCode::parse(c);
    let _ = OrgType::parse(c);
    let _ = Iku::parse(d);
    let _ = Ikz::parse(a);
    let _ = group_digits_ru(g);
    if let (Ok(inn), Ok(kpp)) = (Inn::parse(d), Kpp::parse(e)) {
        for level in [0u8, 1, 2, 3, 9, u8::MAX] {
            if let Ok(iku) = iku(level, &inn, &kpp) {
                let year = g.trim().parse::<i32>().unwrap_or(2026);
                let n = PurchaseNumber::new(u32::from(level) + 1).ok();
                if let Some(n) = n {
                    let _ = compute(year, Some(&iku), n, okpd2.as_ref().ok(), kvr.as_ref().ok());
                }
            }
        }
    }
    if let Ok(n) = a.trim().parse::<u32>()
        && let Ok(n) = PurchaseNumber::new(n)
    {
        let _ = n.padded();
    }
});
