//! Server-rendered Russian pages.

pub mod approval;
pub mod ecp;
pub mod eis_copy;
pub mod excel;
pub mod jobs;
pub mod journal;
pub mod notifications;
pub mod onboarding;
pub mod orgs;
pub mod plan_page;
pub mod plans;
pub mod position_fields;
pub mod position_form;
pub mod positions;
pub mod reference;
pub mod sending;
pub mod session;
pub mod settings;
pub mod users;
pub mod versions;

/// The page of a paged table the query string asks for: 1 when absent. Anything but a whole
/// number from 1 is refused in words rather than read as page 1; a number past the last page
/// shows the last one.
pub(crate) fn page_number(raw: Option<&str>) -> Result<i64, String> {
    let Some(raw) = raw.map(str::trim).filter(|p| !p.is_empty()) else { return Ok(1) };
    match raw.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n.min(MAX_PAGE)),
        _ => {
            let mut quoted: String = raw.chars().take(40).collect();
            if raw.chars().count() > 40 {
                quoted.push('…');
            }
            Err(format!("Номер страницы должен быть целым числом от 1, получено «{quoted}»"))
        }
    }
}

/// Beyond any table plangraf pages (50 rows a page).
const MAX_PAGE: i64 = 1_000_000;
