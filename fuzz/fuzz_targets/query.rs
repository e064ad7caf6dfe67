//! The API's query strings (`crates/web/src/api/query.rs`): every parameter read by its rule,
//! and the cursors a page gives read back to what they continue after. Never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/web/src/api/query.rs"]
mod query;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let Ok(q) = query::Query::parse(Some(raw)) else { return };
    if let Ok(limit) = q.limit(100, 500) {
        assert!((1..=500).contains(&limit), "a limit within its bounds: {limit}");
    }
    let _ = (q.flag("awaiting"), q.flag("findings"), q.int("row_version"), q.int("with"), q.text("mark"));
    if let Ok(text) = q.bounded_text("q", 200) {
        assert!(text.chars().count() <= 200);
    }
    if let Ok(Some(id)) = q.cursor(query::plan_cursor_id) {
        assert_eq!(query::plan_cursor_id(&query::plan_cursor_after(id)), Some(id), "a plan cursor reads back");
    }
    if let Ok(Some(n)) = q.cursor(query::position_cursor_number) {
        let cursor = query::position_cursor_after(n);
        assert_eq!(query::position_cursor_number(&cursor), Some(n), "a positions cursor reads back");
    }
});
