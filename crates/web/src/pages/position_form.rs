//! What the position form needs besides the typed values: the organization's blocks, the live
//! ИКЗ, and the reference lists. Shared by the add form on the plan page and the edit page.

use crate::AppState;
use crate::error::WebResult;
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
            rows: draft.form_lines(),
        });
    }
    if org_type.uses_kvr_breakdown() {
        out.push(BreakdownTable {
            id: "lines",
            prefix: "line",
            title: "Распределение по КВР (пусто — весь объём на КВР позиции)",
            label: "КВР",
            nsi: Some("kvr"),
            rows: draft.form_lines(),
        });
        out.push(BreakdownTable {
            id: "target_lines",
            prefix: "ta",
            title: "Распределение по целевым статьям (необязательно)",
            label: "Целевая статья",
            nsi: None,
            rows: draft.form_target_lines(),
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

/// A single text field of a form sent as pairs.
pub fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// Every message for one field: breakdown rows can have several.
pub fn messages<'a>(errors: &'a [FieldError], field: &str) -> Vec<&'a str> {
    errors.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect()
}
