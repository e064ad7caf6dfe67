//! The plan list and the approver's queue a page at a time, with counts, in the list's order.

use crate::common::*;
use domain::PlanStatus;

/// The ids of the plans a table of the page links to, in order (each row links twice).
fn plan_ids(table: &str) -> Vec<i64> {
    let mut ids: Vec<i64> =
        table.split("<td><a href=\"/plans/").skip(1).filter_map(|rest| rest.split('"').next()?.parse().ok()).collect();
    ids.dedup();
    ids
}

/// The part of the page between two markers (or to its end).
fn section<'a>(body: &'a str, from: &str, to: &str) -> &'a str {
    let start = body.find(from).unwrap_or_else(|| panic!("no «{from}» on the page"));
    let rest = &body[start..];
    rest.find(to).map_or(rest, |end| &rest[..end])
}

#[tokio::test]
async fn plans_and_the_queue_are_paged_with_counts_own_plans_first() {
    let h = Harness::start().await;
    let store = &h.app.store;
    let org = |spz: &'static str| async move { store.organization_by_spz(spz).await.unwrap().unwrap() };
    let (committee, school, district) = (
        org(plangraf::demo::COMMITTEE.spz_code).await,
        org(plangraf::demo::SCHOOL.spz_code).await,
        org(plangraf::demo::DISTRICT.spz_code).await,
    );
    let author = store.user_by_login("zakazchik").await.unwrap().unwrap().id;
    let mut on_approval = 0;
    for (o, years) in [(committee.id, 2025..2027), (district.id, 2000..2060), (school.id, 2000..2060)] {
        for year in years {
            let p = store.create_plan(o, year, author).await.unwrap().unwrap();
            if o != committee.id && year % 3 != 0 {
                store
                    .change_plan_status(&p, PlanStatus::Forming, PlanStatus::OnApproval, None, author, "x")
                    .await
                    .unwrap();
                on_approval += 1;
            }
        }
    }
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;

    let mut all = Vec::new();
    let mut queue = Vec::new();
    for page in 1..=3 {
        let p = approver.get(&format!("/plans?page={page}&queue_page={page}")).await;
        assert_eq!(p.status, 200);
        assert!(p.has("Всего планов-графиков: 122"), "page {page}");
        if page <= 2 {
            assert!(p.has(&format!("Ожидают согласования: {on_approval}")), "page {page}");
        }
        let rows = plan_ids(section(&p.body, "<h2>Все планы-графики</h2>", "</table>"));
        assert_eq!(rows.len(), [50, 50, 22][page - 1], "rows of page {page}");
        all.extend(rows);
        queue.extend(plan_ids(section(&p.body, "id=\"approval-queue\"", "<h2>Все планы-графики</h2>")));
    }
    let plans = |ids: &[i64]| {
        let ids = ids.to_vec();
        async move {
            let mut v = Vec::new();
            for id in ids {
                v.push(store.plan(domain::ids::PlanId(id)).await.unwrap().unwrap());
            }
            v
        }
    };
    // The committee's own plans first, newest first; then the subordinates by name («ГБОУ…»
    // before «Отдел…»), newest first.
    let shown: Vec<(i64, i32)> = plans(&all).await.iter().map(|p| (p.org_id.get(), p.plan_year)).collect();
    let mut expected = vec![(committee.id.get(), 2026), (committee.id.get(), 2025)];
    expected.extend((2000..2060).rev().map(|y| (school.id.get(), y)));
    expected.extend((2000..2060).rev().map(|y| (district.id.get(), y)));
    assert_eq!(shown, expected);
    let queued = plans(&queue).await;
    assert_eq!(queued.len(), on_approval);
    assert!(queued.iter().all(|p| p.status == PlanStatus::OnApproval && p.org_id != committee.id));

    // The school's specialist sees the school's plans only.
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let p = customer.get("/plans?page=2").await;
    assert!(p.has("Всего планов-графиков: 60"));
    assert_eq!(plan_ids(&p.body).len(), 10);
    // A page past the end shows no rows, not an error; a malformed number is refused in
    // words, on either table, rather than read as the first page.
    assert_eq!(plan_ids(&customer.get("/plans?page=99").await.body).len(), 0);
    for query in ["page=x", "queue_page=-1", "page=0"] {
        let refused = customer.get(&format!("/plans?{query}")).await;
        assert_eq!(refused.status, 400, "{query}");
        assert!(refused.has("Номер страницы должен быть целым числом от 1"), "{query}: {}", refused.body);
    }
    h.app.stop().await;
}
