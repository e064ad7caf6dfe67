//! What the position form needs besides the typed values: the organization's blocks, the live
//! ИКЗ, and the reference lists. Shared by the add form on the plan page and the edit page.

use crate::AppState;
use crate::error::WebResult;
pub use crate::pages::position_fields::{draft_from_form, field};
use domain::OrgType;
use domain::ikz::PurchaseNumber;
use domain::plan::{FieldError, LineDraft, PositionDraft};

pub struct FormContext {
    pub iku: String,
    pub number: String,
    /// The ИКЗ of the values as typed, or a dash while they are incomplete.
    pub ikz: String,
    pub kvr_optional: bool,
    /// The breakdown tables this organization type takes, with the rows to show.
    pub breakdowns: Vec<BreakdownTable>,
    pub special_kinds: Vec<(String, String)>,
}

/// One breakdown table of the form: its rows are repeated `{prefix}_*` fields.
pub struct BreakdownTable {
    /// Also the field its errors are reported on.
    pub id: &'static str,
    pub prefix: &'static str,
    pub title: &'static str,
    /// Header of the code column.
    pub label: &'static str,
    /// The reference catalog of the code picker.
    pub nsi: Option<&'static str>,
    pub rows: Vec<LineDraft>,
}

fn breakdowns(org_type: OrgType, draft: &PositionDraft) -> Vec<BreakdownTable> {
    let mut out = Vec::new();
    if org_type.uses_kbk() {
        out.push(BreakdownTable {
            id: "lines",
            prefix: "line",
            title: "Распределение по КБК",
            label: "КБК",
            nsi: Some("kbk"),
            rows: shown_rows(&draft.lines),
        });
    }
    if org_type.uses_kvr_breakdown() {
        out.push(BreakdownTable {
            id: "lines",
            prefix: "line",
            title: "Распределение по КВР (пусто — весь объём на КВР позиции)",
            label: "КВР",
            nsi: Some("kvr"),
            rows: shown_rows(&draft.lines),
        });
        out.push(BreakdownTable {
            id: "target_lines",
            prefix: "ta",
            title: "Распределение по целевым статьям (необязательно)",
            label: "Целевая статья",
            nsi: None,
            rows: shown_rows(&draft.target_lines),
        });
    }
    out
}

impl FormContext {
    pub async fn new(
        state: &AppState,
        org_type: OrgType,
        iku: Option<&domain::ikz::Iku>,
        number: PurchaseNumber,
        draft: &PositionDraft,
    ) -> WebResult<Self> {
        let special = state.app.special_purchase(&draft.special_type).await?;
        let ikz = draft
            .parse(number, org_type, special)
            .ok()
            .and_then(|p| p.ikz(iku).ok())
            .map(|k| k.to_string())
            .unwrap_or_else(|| "—".to_owned());
        Ok(FormContext {
            iku: iku.map(ToString::to_string).unwrap_or_default(),
            number: number.padded(),
            ikz,
            kvr_optional: !org_type.uses_kvr_breakdown(),
            breakdowns: breakdowns(org_type, draft),
            special_kinds: state.app.special_purchases().await?,
        })
    }
}

/// Every message for one field: breakdown rows can have several.
pub fn messages<'a>(errors: &'a [FieldError], field: &str) -> Vec<&'a str> {
    errors.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect()
}

/// The rows a breakdown table shows: the lines typed so far and two empty ones to add more.
fn shown_rows(lines: &[LineDraft]) -> Vec<LineDraft> {
    let mut v = lines.to_vec();
    v.extend([LineDraft::default(), LineDraft::default()]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::position_fields::{draft_from_form, field};

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn form_pairs_become_a_draft() {
        let empty_row = [("line_code", ""), ("line_current", ""), ("line_first", ""), ("line_second", "")];
        let mut form = vec![
            ("okpd2", "38.11.21.000"),
            ("publish_year", "2026"),
            ("line_code", "244"),
            ("line_current", "1"),
            ("line_first", ""),
            ("line_second", ""),
            ("line_subsequent", ""),
        ];
        form.extend(empty_row);
        form.extend([("line_subsequent", ""), ("line_code", "247"), ("line_current", "2"), ("line_first", "3")]);
        form.extend([("line_second", ""), ("line_subsequent", ""), ("energy_service", "1")]);
        form.extend([("ta_code", "0110100590"), ("ta_current", "5"), ("ta_first", ""), ("ta_second", "")]);
        form.push(("ta_subsequent", ""));
        let d = draft_from_form(&pairs(&form));
        let line = |code: &str, current: &str, first: &str| LineDraft {
            code: code.into(),
            current: current.into(),
            first: first.into(),
            ..Default::default()
        };
        assert_eq!(d.lines, vec![line("244", "1", ""), line("247", "2", "3")]);
        assert_eq!(d.target_lines, vec![line("0110100590", "5", "")]);
        assert!(d.energy_service && !d.public_discussion);
        assert_eq!(shown_rows(&d.lines).len(), 4);
    }

    #[test]
    fn fields_left_out_by_the_browser_are_empty() {
        let body = "object_info=x&publish_year=2026&okpd2=58.11&amount_current=1&row_version=3&csrf=abc";
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap();
        let draft = draft_from_form(&pairs);
        assert_eq!(field(&pairs, "row_version"), "3");
        assert_eq!(draft.okpd2, "58.11");
        assert!(draft.lines.is_empty() && !draft.public_discussion);
    }
}
