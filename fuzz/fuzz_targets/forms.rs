//! The url-encoded forms: the position form (as the pages read it, pairs into a draft, then
//! parsed for every organization type), the plan header's responsible person, and the change
//! justification, the e-mail address of «Настройки уведомлений». Never panic.
#![no_main]

use domain::account::{EMAIL_MAX, parse_email};
use domain::org::OrgType;
use domain::plan::ResponsiblePerson;
use domain::position::{ChangeDecision, PositionDraft, SpecialPurchase, parse_change};
use domain::ikz::{Iku, PurchaseNumber};
use libfuzzer_sys::fuzz_target;

// The web's reading of the form, compiled here on its own (it depends on `domain` only).
#[path = "../../crates/web/src/pages/position_fields.rs"]
mod position_fields;

fuzz_target!(|data: &[u8]| {
    if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) {
        let draft = position_fields::draft_from_form(&pairs);
        let iku = Iku::parse("27802139698780201001").expect("a valid ИКУ");
        let number = PurchaseNumber::new(1).expect("1 is a purchase number");
        let special = SpecialPurchase { code: draft.special_type.trim().to_owned(), name: "Особая закупка".into() };
        for org_type in OrgType::ALL {
            for special in [None, Some(special.clone())] {
                if let Ok(p) = draft.parse(number, org_type, special) {
                    let _ = (p.title(), p.summary(), p.kvr_breakdown(org_type), p.ikz(Some(&iku)), p.ikz(None));
                    let _ = PositionDraft::of(&p);
                }
            }
        }
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("");
        for decision in [ChangeDecision::Changed, ChangeDecision::Canceled] {
            let _ = parse_change(get("reason_code"), Some(get("reason_name")).filter(|s| !s.is_empty()), decision, get("change_description"));
        }
        // «Настройки уведомлений»: the e-mail address, which goes into mail headers.
        if let Ok(Some(email)) = parse_email(get("email")) {
            assert!(email.len() <= EMAIL_MAX && email.chars().all(|c| c.is_ascii_graphic()), "{email:?}");
            assert_eq!(parse_email(&email), Ok(Some(email.clone())), "a parsed address parses to itself");
        }
    }
    if let Ok(raw) = serde_urlencoded::from_bytes::<ResponsiblePerson>(data)
        && let Ok(p) = ResponsiblePerson::parse(&raw)
    {
        let _ = p.display();
        assert_eq!(ResponsiblePerson::parse(&p), Ok(p.clone()), "a parsed person parses to itself");
    }
});
