//! Shared pieces of plangraf's benchmarks. Each benchmark is a binary of this crate
//! (`cargo run --release -p bench --bin NAME`); docs/PERFORMANCE.md gives the commands and the
//! figures they produced.

use domain::ids::OrgId;
use domain::org::OrgType;
use domain::plan::PositionDraft;
use store::orgs::NewOrganization;

/// A seeded organization in region 40911000 at budget level 2, its codes checked as plangraf
/// checks them.
pub fn organization<'a>(
    name: &'a str,
    spz: &str,
    inn: &str,
    kpp: &str,
    org_type: OrgType,
    superior: Option<OrgId>,
) -> anyhow::Result<NewOrganization<'a>> {
    Ok(NewOrganization {
        name,
        short_name: name,
        superior_id: superior,
        spz_code: domain::SpzCode::parse(spz)?,
        inn: domain::org::Inn::parse(inn)?,
        kpp: domain::org::Kpp::parse(kpp)?,
        org_type,
        budget_level: 2,
        oktmo: "40911000",
    })
}

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
