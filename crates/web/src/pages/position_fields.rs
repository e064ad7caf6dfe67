//! How the position form's fields become a [`PositionDraft`]: the field names of the HTML form
//! and its repeated breakdown rows. Pure and free of this crate's other modules, so the fuzz
//! target `forms` compiles this very file (`#[path]`) without the web stack.

use domain::plan::{LineDraft, PositionDraft};

/// A single text field of a form sent as pairs.
pub fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// Form field names of the breakdown rows; a row repeats them, so the order pairs them up.
pub const LINE_FIELDS: [&str; 5] = ["line_code", "line_current", "line_first", "line_second", "line_subsequent"];
/// The same for the rows of the target-article breakdown.
pub const TARGET_LINE_FIELDS: [&str; 5] = ["ta_code", "ta_current", "ta_first", "ta_second", "ta_subsequent"];

/// The non-blank rows of one breakdown table of a form sent as pairs.
fn rows_of(pairs: &[(String, String)], names: [&str; 5]) -> Vec<LineDraft> {
    let column = |name: &str| pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let [codes, current, first, second, subsequent] = names.map(column);
    let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
    (0..codes.len())
        .map(|i| LineDraft {
            code: at(&codes, i),
            current: at(&current, i),
            first: at(&first, i),
            second: at(&second, i),
            subsequent: at(&subsequent, i),
        })
        .filter(|l| !l.is_blank())
        .collect()
}

/// Reads a position draft from the form's pairs: checkboxes are present or absent, and the
/// breakdown rows are repeated `line_*` / `ta_*` fields.
pub fn draft_from_form(pairs: &[(String, String)]) -> PositionDraft {
    PositionDraft {
        special_type: field(pairs, "special_type"),
        publish_year: field(pairs, "publish_year"),
        okpd2: field(pairs, "okpd2"),
        kvr: field(pairs, "kvr"),
        object_info: field(pairs, "object_info"),
        amount_current: field(pairs, "amount_current"),
        amount_first: field(pairs, "amount_first"),
        amount_second: field(pairs, "amount_second"),
        amount_subsequent: field(pairs, "amount_subsequent"),
        lines: rows_of(pairs, LINE_FIELDS),
        target_lines: rows_of(pairs, TARGET_LINE_FIELDS),
        public_discussion: pairs.iter().any(|(k, _)| k == "public_discussion"),
        energy_service: pairs.iter().any(|(k, _)| k == "energy_service"),
    }
}
