//! A user who holds several roles: the head of the committee's contract service both forms the
//! committee's own plan-schedules (specialist) and approves the school's (approver). Each role
//! acts where it applies; holding both never lets him approve a plan of his own organization —
//! approval stays with the superior organization. Both backends.

use crate::common::*;
use domain::ids::PlanId;
use domain::{PlanStatus, Role, Roles};
use reqwest::Method;

const LOGIN: &str = "rukovoditel";
const PASSWORD: &str = "Dve-roli-2026";

/// The dual-role user of the committee (the school's superior, which has plans of its own).
async fn dual_role_user(h: &Harness) -> store::users::User {
    let committee = h.app.store.organization_by_spz(plangraf::demo::COMMITTEE.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash(PASSWORD.into()).await.unwrap();
    let roles = Roles::new([Role::CustomerSpecialist, Role::Approver]).unwrap();
    h.app.store.create_user(LOGIN, &hash, "Волков Павел Андреевич", committee.id, roles).await.unwrap().unwrap()
}

/// A plan of the client's organization with one position, submitted; its id.
async fn submitted(c: &mut Client, year: &str) -> i64 {
    let plan = c.create_plan(year).await;
    let mut position = POSITION;
    position[1] = ("publish_year", year);
    let p = c.add_position(plan, &position).await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
    let p = c.post(&format!("/plans/{plan}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "{}", p.body);
    plan
}

async fn status(h: &Harness, plan: i64) -> PlanStatus {
    h.app.store.plan(PlanId(plan)).await.unwrap().unwrap().status
}

#[tokio::test]
async fn a_specialist_who_also_approves_never_approves_his_own_organizations_plan() {
    let h = Harness::start_driven().await;
    let user = dual_role_user(&h).await;
    let mut dual = h.client();
    dual.login(LOGIN, PASSWORD).await;

    // The list offers both: a new plan of his own, and the approval queue.
    let list = dual.get("/plans").await;
    assert!(list.has("action=\"/plans\" class=\"actions\""), "the specialist's «Создать»: {}", list.body);
    assert!(list.has("<h2>Ожидают согласования</h2>"), "the approver's queue: {}", list.body);
    assert!(list.has("Специалист заказчика, Согласующий"), "the header names both roles: {}", list.body);

    // His own organization's plan: he forms and submits it as the specialist…
    let own = submitted(&mut dual, "2027").await;
    assert_eq!(status(&h, own).await, PlanStatus::OnApproval);
    let list = dual.get("/plans").await;
    let queue = &list.body[list.body.find("id=\"approval-queue\"").unwrap()..];
    assert!(!queue.contains(&format!("value=\"{own}\"")), "his own plan is not in his queue: {queue}");
    // …and the approver in him is not offered, nor allowed, to approve or return it.
    let page = dual.get(&format!("/plans/{own}")).await;
    assert!(!page.has(&format!("action=\"/plans/{own}/approve\"")), "{}", page.body);
    assert!(!page.has(&format!("action=\"/plans/{own}/return\"")), "{}", page.body);
    let p = dual.post(&format!("/plans/{own}/approve"), &[]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.has("Нельзя утверждать план-график собственной организации"), "{}", p.body);
    let p = dual.post(&format!("/plans/{own}/return"), &[("comment", "Сам себе")]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    // Nor through «Утвердить выбранные».
    dual.get("/plans").await;
    let started = dual.post("/plans/approve", &[("plan", &own.to_string())]).await;
    let done = dual.job_outcome(started).await;
    assert!(done.has("Утверждено планов-графиков: 0"), "{}", done.body);
    // Nor through the API.
    let token = api_token(&h).await;
    let me = api(&h, &token, Method::GET, "/api/v1/me").await;
    assert_eq!(me.1["roles"], serde_json::json!(["customer", "approver"]), "{}", me.1);
    assert_eq!(me.1["roles_title"], "Специалист заказчика, Согласующий");
    let r = api(&h, &token, Method::POST, &format!("/api/v1/plans/{own}/approve")).await;
    assert_eq!(r.0, 403, "{}", r.1);
    assert_eq!(status(&h, own).await, PlanStatus::OnApproval, "still awaiting the committee's superior");
    assert!(h.app.store.versions(PlanId(own)).await.unwrap().is_empty(), "no version was approved");

    // The school's plan: he approves it as the approver, and may not edit it.
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let school = submitted(&mut customer, "2027").await;
    let list = dual.get("/plans").await;
    let queue = &list.body[list.body.find("id=\"approval-queue\"").unwrap()..];
    assert!(queue.contains(&format!("value=\"{school}\"")), "the school's plan awaits him: {queue}");
    let page = dual.get(&format!("/plans/{school}")).await;
    assert!(page.has(&format!("action=\"/plans/{school}/approve\"")), "{}", page.body);
    let p = dual.post(&format!("/plans/{school}/approve"), &[]).await;
    assert!(p.has("План-график утвержден"), "{}", p.body);
    assert_eq!(status(&h, school).await, PlanStatus::Approved);
    let approved = h.app.store.versions(PlanId(school)).await.unwrap();
    assert_eq!(approved.len(), 1);
    let p = dual.post(&format!("/plans/{school}/changes"), &[]).await;
    assert_ne!(p.status, 200, "«Внести изменения» is the school's: {}", p.body);
    assert_eq!(status(&h, school).await, PlanStatus::Approved);

    // The plain approver of the committee approves neither more nor less: the committee's own
    // plan is not his either.
    let mut approver = h.client();
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{own}")).await;
    let p = approver.post(&format!("/plans/{own}/approve"), &[]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert_eq!(status(&h, own).await, PlanStatus::OnApproval);

    // Left with the approver's role only, he no longer forms plans.
    let admin = h.app.store.user_by_login("admin").await.unwrap().unwrap();
    h.app
        .store
        .admin_update_user(
            store::user_admin::ChangedBy { user_id: admin.id },
            user.id,
            user.org_id,
            Roles::one(Role::Approver),
            "роли",
        )
        .await
        .unwrap();
    let list = dual.get("/plans").await;
    assert!(!list.has("action=\"/plans\" class=\"actions\""), "{}", list.body);
    let p = dual.post("/plans", &[("plan_year", "2028")]).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(h.app.store.plan_for_year(user.org_id, 2028).await.unwrap().is_none());
    h.app.stop().await;
}

async fn api_token(h: &Harness) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token", h.app.url()))
        .json(&serde_json::json!({"login": LOGIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

async fn api(h: &Harness, token: &str, method: Method, path: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}{path}", h.app.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// `plangraf user add --role` takes several roles, as a comma list or repeated; an unknown
/// role or none is refused and adds nobody.
#[test]
fn the_command_line_adds_a_user_with_several_roles() {
    use crate::hostile::{SCHOOL_SPZ, add_school, plangraf_cli};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    add_school(d);
    let add = |login: &str, roles: &[&str]| {
        let mut args = vec!["user", "add", "--login", login, "--full-name", "Волков П. А.", "--org-spz", SCHOOL_SPZ];
        for r in roles {
            args.extend(["--role", r]);
        }
        args.push("--password-stdin");
        plangraf_cli(d, &args, "Dve-roli-v-komitete-2026\n")
    };
    let (ok, out) = add("volkov", &["approver,customer"]);
    assert!(ok && out.contains("роли: Специалист заказчика, Согласующий"), "{out}");
    let (ok, out) = add("orlova", &["admin", "customer"]);
    assert!(ok && out.contains("роли: Специалист заказчика, Администратор"), "{out}");
    let (ok, out) = add("nikto", &["customer,root"]);
    assert!(!ok && out.contains("Неизвестная роль «root»"), "{out}");
    let (ok, out) = add("nikto", &[","]);
    assert!(!ok && out.contains("укажите хотя бы одну роль"), "{out}");
    let (ok, out) = add("nikto", &[]);
    assert!(!ok && out.contains("--role"), "{out}");
    let (ok, out) = plangraf_cli(d, &["user", "block", "--login", "nikto"], "");
    assert!(!ok && out.contains("Нет пользователя с логином nikto"), "nobody was added: {out}");
}
