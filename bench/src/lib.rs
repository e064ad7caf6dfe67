//! Shared pieces of plangraf's benchmarks. Each benchmark is a binary of this crate
//! (`cargo run --release -p bench --bin NAME`); docs/PERFORMANCE.md gives the commands and the
//! figures they produced.

use domain::plan::PositionDraft;

/// ОКПД2 codes the seeded positions take in turn.
const OKPD2: [&str; 4] = ["58.11.19.000", "17.12.14.110", "26.20.11.110", "43.21.10.140"];

/// The `i`-th seeded position of a plan whose notices go out in `year`: valid, with amounts
/// that differ by position and a first-year amount on every third.
pub fn position_draft(year: i32, i: usize) -> PositionDraft {
    PositionDraft {
        publish_year: year.to_string(),
        okpd2: OKPD2[i % OKPD2.len()].to_owned(),
        kvr: "244".to_owned(),
        object_info: format!("Закупка № {i}: поставка товаров для нужд учреждения"),
        amount_current: format!("{}", 10_000 + i * 7),
        amount_first: if i.is_multiple_of(3) { "5000".to_owned() } else { String::new() },
        ..Default::default()
    }
}
