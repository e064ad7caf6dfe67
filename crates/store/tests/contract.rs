//! The storage contract: one story suite, run on SQLite and, when PLANGRAF_TEST_DATABASE_URL is
//! set, on PostgreSQL.

use domain::exchange::PacketBasis;
use domain::ids::{OrgId, SendId, UserId, VersionId};
use domain::plan::{PlanSnapshot, Position};
use domain::testing;
use domain::{OrgType, PlanStatus, Role, SendStatus};
use store::orgs::NewOrganization;
use store::plans::{Approval, FixedPacket, PositionRefusal};
use store::sends::{EisLogin, EventNote, NewSend, Outcome};
use store::testing::fresh_store;
use store::{Store, StoreError};

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = fresh_store(dir.path()).await.expect("fresh store");
    (s, dir)
}

fn new_org<'a>(short_name: &'a str, spz: &str, superior: Option<OrgId>) -> NewOrganization<'a> {
    NewOrganization {
        name: "Государственное бюджетное общеобразовательное учреждение «Школа № 1»",
        short_name,
        superior_id: superior,
        spz_code: domain::SpzCode::parse(spz).unwrap(),
        inn: domain::org::Inn::parse("7802139698").unwrap(),
        kpp: domain::org::Kpp::parse("780201001").unwrap(),
        org_type: OrgType::Budget,
        budget_level: 2,
        oktmo: "40307000",
    }
}

async fn org(s: &Store, spz: &str, superior: Option<OrgId>) -> OrgId {
    s.ensure_organization(&new_org("ГБОУ «Школа № 1»", spz, superior)).await.unwrap().id
}

/// `n` milliseconds, the unit the throttle and the tests count in.
fn ms(n: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::milliseconds(n)
}

/// The sample position with 1000,50 ₽ in the current year.
fn position(n: u32) -> Position {
    testing::position(n, "1000,50")
}

fn snapshot(positions: Vec<Position>) -> PlanSnapshot {
    testing::plan(OrgType::Budget, positions)
}

#[tokio::test]
async fn schema_has_every_table() {
    let (s, _d) = store().await;
    let tables = s.table_names().await.unwrap();
    assert_eq!(
        tables,
        [
            "api_tokens",
            "audit_log",
            "ecp_challenges",
            "eis_availability",
            "eis_copies",
            "eis_credentials",
            "eis_send_events",
            "eis_sends",
            "jobs",
            "notification_preferences",
            "notifications",
            "onboarding_loads",
            "org_agreements",
            "organizations",
            "plan_checks",
            "plan_tallies",
            "plan_versions",
            "plans",
            "positions",
            "reference_items",
            "reference_loads",
            "sessions",
            "sign_in_throttle",
            "user_certificates",
            "user_roles",
            "users"
        ]
    );
    // Applying the migrations again is a no-op.
    s.migrate().await.unwrap();
}

#[tokio::test]
async fn the_reach_goes_down_every_level_and_ends_on_a_cycle() {
    let (s, _d) = store().await;
    let top = org(&s, "03722000001", None).await;
    let district = org(&s, "03722000002", Some(top)).await;
    let school = org(&s, "03722000003", Some(district)).await;
    let other = org(&s, "03722000004", None).await;
    let sorted = |mut v: Vec<OrgId>| {
        v.sort_by_key(|o| o.get());
        v
    };
    assert_eq!(sorted(s.subtree(top).await.unwrap()), [top, district, school]);
    assert_eq!(sorted(s.subtree(district).await.unwrap()), [district, school]);
    assert_eq!(s.subtree(other).await.unwrap(), [other]);
    assert_eq!(s.org_nodes(top).await.unwrap().len(), 3);
    // Data with a cycle (plangraf never writes one) does not make the query run forever.
    sqlx::query("UPDATE organizations SET superior_id = $1 WHERE id = $2")
        .bind(school.get())
        .bind(top.get())
        .execute(s.pool())
        .await
        .unwrap();
    assert_eq!(sorted(s.subtree(district).await.unwrap()), [top, district, school]);
}

#[tokio::test]
async fn organizations_are_ensured_once() {
    let (s, _d) = store().await;
    let a = org(&s, "03722001684", None).await;
    let b = org(&s, "03722001684", None).await;
    assert_eq!(a, b);
    let child = org(&s, "03722001685", Some(a)).await;
    assert_eq!(s.organization(child).await.unwrap().unwrap().superior_id, Some(a));
    assert_eq!(s.organizations().await.unwrap().len(), 2);
}

#[tokio::test]
async fn users_sessions_and_tokens() {
    let (s, _d) = store().await;
    let o = org(&s, "03722001684", None).await;
    let u = s.create_user("zakazchik", "hash", "Иванов И. И.", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    assert!(s.create_user("zakazchik", "hash", "Другой", o, Role::Admin).await.unwrap().is_none(), "duplicate login");
    assert_eq!(s.user_credentials("zakazchik").await.unwrap().unwrap().user, u);

    let token = s.create_session(u.id, 60_000, None).await.unwrap();
    let session = s.session(&token, store::now()).await.unwrap().unwrap();
    assert_eq!(session.user.id, u.id);
    assert!(!session.csrf_token.is_empty());
    assert!(s.session(&token, store::now() + ms(120_000)).await.unwrap().is_none(), "expired");
    assert!(s.session("forged", store::now()).await.unwrap().is_none());
    s.delete_session(&token).await.unwrap();
    assert!(s.session(&token, store::now()).await.unwrap().is_none());

    let api = s.create_api_token(u.id, 60_000).await.unwrap();
    assert_eq!(s.api_token_user(&api, store::now()).await.unwrap().unwrap().id, u.id);
    assert!(s.api_token_user(&api, store::now() + ms(120_000)).await.unwrap().is_none());
}

/// A user holds one role or several; every read of a user brings them, and a change replaces them.
#[tokio::test]
async fn users_hold_several_roles() {
    use domain::Roles;
    use store::user_admin::{ChangedBy, NewUser};
    let (s, _d) = store().await;
    let o = org(&s, "03722001684", None).await;
    let both = Roles::new([Role::Approver, Role::CustomerSpecialist]).unwrap();
    let u = s.create_user("dvoe", "hash", "Двое Ролей", o, both).await.unwrap().unwrap();
    assert_eq!(u.roles, both);
    assert_eq!(s.user(u.id).await.unwrap().unwrap().roles, both);
    assert_eq!(s.user_by_login("dvoe").await.unwrap().unwrap().roles, both);
    assert_eq!(s.user_credentials("dvoe").await.unwrap().unwrap().user.roles, both);
    let token = s.create_session(u.id, 60_000, None).await.unwrap();
    assert_eq!(s.session(&token, store::now()).await.unwrap().unwrap().user.roles, both);
    let api = s.create_api_token(u.id, 60_000).await.unwrap();
    assert_eq!(s.api_token_user(&api, store::now()).await.unwrap().unwrap().roles, both);

    let admin = s.create_user("admin", "hash", "Админ", o, Role::Admin).await.unwrap().unwrap();
    let by = ChangedBy { user_id: admin.id };
    let new = NewUser {
        login: "troe",
        password_hash: "h",
        full_name: "Три Роли",
        org_id: o,
        roles: Roles::new(Role::ALL).unwrap(),
    };
    let troe = s.admin_create_user(by, &new, "создан").await.unwrap().unwrap();
    assert_eq!(s.managed_user(troe.id).await.unwrap().unwrap().user.roles, Roles::new(Role::ALL).unwrap());
    s.admin_update_user(by, troe.id, o, Roles::one(Role::Approver), "изменён").await.unwrap();
    assert_eq!(s.user(troe.id).await.unwrap().unwrap().roles, Roles::one(Role::Approver));
    let listed = s.managed_users(&[u.id, admin.id, troe.id]).await.unwrap();
    let roles: Vec<(&str, Roles)> = listed.iter().map(|m| (m.user.login.as_str(), m.user.roles)).collect();
    assert_eq!(roles, [("admin", Roles::one(Role::Admin)), ("dvoe", both), ("troe", Roles::one(Role::Approver))]);
    let of_org: Vec<Roles> = s.users_of_org(o).await.unwrap().iter().map(|u| u.roles).collect();
    assert_eq!(of_org, [Roles::one(Role::Admin), both, Roles::one(Role::Approver)]);

    // A role code no build writes makes the user unreadable rather than silently narrower.
    sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, 'root')")
        .bind(u.id.get())
        .execute(s.pool())
        .await
        .unwrap();
    assert!(matches!(s.user(u.id).await, Err(StoreError::Corrupt(_))));
    // So does a user left without roles.
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(troe.id.get()).execute(s.pool()).await.unwrap();
    assert!(matches!(s.user(troe.id).await, Err(StoreError::Corrupt(_))));
}

/// Migration 0021 gives every user the role of the old `users.role` column, then drops it.
#[tokio::test]
async fn migration_0021_keeps_each_users_role() {
    let (s, _d) = store().await;
    let o = org(&s, "03722001684", None).await;
    let mut users = Vec::new();
    for (login, role) in [("z", Role::CustomerSpecialist), ("a", Role::Approver), ("adm", Role::Admin)] {
        users.push((s.create_user(login, "h", "Ф", o, role).await.unwrap().unwrap().id, role));
    }
    // Back to the schema before 0021: the role in its column.
    for sql in [
        "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT ''",
        "UPDATE users SET role = (SELECT r.role FROM user_roles r WHERE r.user_id = users.id)",
        "DROP TABLE user_roles",
        "DELETE FROM schema_migrations WHERE version = 21",
    ] {
        sqlx::query(sql).execute(s.pool()).await.unwrap();
    }
    s.migrate().await.unwrap();
    for (id, role) in users {
        assert_eq!(s.user(id).await.unwrap().unwrap().roles, domain::Roles::one(role));
    }
    let gone = sqlx::query("SELECT role FROM users").fetch_all(s.pool()).await;
    assert!(gone.is_err(), "the column is dropped");
}

#[tokio::test]
async fn sign_in_throttling_grows_delays_per_login_and_address() {
    use store::users::{FROM_ADDRESS, LOGIN_FROM_ADDRESS, Reservation};
    let (s, _d) = store().await;
    let o = org(&s, "03722001684", None).await;
    let u = s.create_user("zakazchik", "hash", "Иванов И. И.", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let now = store::now();
    // Five free failures from one address, each reserved (and counted) before the check.
    for _ in 0..LOGIN_FROM_ADDRESS.free_failures {
        assert_eq!(s.reserve_sign_in("zakazchik", "10.0.0.1", now).await.unwrap(), Reservation::Granted);
        s.sign_in_failed("zakazchik", now).await.unwrap();
    }
    // The sixth must wait the first delay, and is refused without being counted.
    let Reservation::Throttled { retry_after_ms } = s.reserve_sign_in("zakazchik", "10.0.0.1", now).await.unwrap()
    else {
        panic!("the sixth attempt was not delayed");
    };
    assert_eq!(retry_after_ms, LOGIN_FROM_ADDRESS.first_delay_ms);
    assert!(matches!(
        s.reserve_sign_in("zakazchik", "10.0.0.1", now + ms(10)).await.unwrap(),
        Reservation::Throttled { .. }
    ));
    // The same login from another address is not affected: nobody can lock the user out.
    assert_eq!(s.reserve_sign_in("zakazchik", "10.0.0.2", now).await.unwrap(), Reservation::Granted);
    // After the delay one more attempt; its failure doubles the delay.
    let later = now + ms(retry_after_ms);
    assert_eq!(s.reserve_sign_in("zakazchik", "10.0.0.1", later).await.unwrap(), Reservation::Granted);
    assert_eq!(
        s.reserve_sign_in("zakazchik", "10.0.0.1", later).await.unwrap(),
        Reservation::Throttled { retry_after_ms: 2 * LOGIN_FROM_ADDRESS.first_delay_ms }
    );
    // The administrator's unlock lifts it at once.
    assert!(s.unlock_sign_in("zakazchik").await.unwrap() >= 1);
    assert_eq!(s.reserve_sign_in("zakazchik", "10.0.0.1", later).await.unwrap(), Reservation::Granted);
    // A success tells how many failed before it, and forgets them.
    let failed = s.sign_in_succeeded("zakazchik", "10.0.0.1", u.id).await.unwrap();
    assert_eq!(failed.count, LOGIN_FROM_ADDRESS.free_failures);
    assert_eq!(failed.last_at, Some(now));
    assert_eq!(s.sign_in_succeeded("zakazchik", "10.0.0.1", u.id).await.unwrap().count, 0);

    // One address trying many logins is slowed down too.
    for i in 0..FROM_ADDRESS.free_failures {
        assert_eq!(s.reserve_sign_in(&format!("login{i}"), "10.0.0.9", now).await.unwrap(), Reservation::Granted);
    }
    assert!(matches!(s.reserve_sign_in("another", "10.0.0.9", now).await.unwrap(), Reservation::Throttled { .. }));

    // Nothing is remembered for ever.
    assert!(s.purge_expired(now + ms(2 * store::users::THROTTLE_MEMORY_MS)).await.unwrap() > 0);
    assert_eq!(
        s.sign_in_delay("another", "10.0.0.9", now + ms(2 * store::users::THROTTLE_MEMORY_MS)).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn parallel_attempts_cannot_race_past_the_limit() {
    use store::users::{LOGIN_FROM_ADDRESS, Reservation};
    let (s, _d) = store().await;
    let now = store::now();
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.reserve_sign_in("admin", "192.0.2.7", now).await.unwrap() })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap() == Reservation::Granted {
            granted += 1;
        }
    }
    assert_eq!(
        granted, LOGIN_FROM_ADDRESS.free_failures,
        "exactly the free failures may be checked, whatever the parallelism"
    );
}

#[tokio::test]
async fn blocking_and_password_changes_end_sessions_and_tokens() {
    let (s, _d) = store().await;
    let o = org(&s, "03722001684", None).await;
    let u = s.create_user("zakazchik", "hash", "Иванов И. И.", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let session = s.create_session(u.id, 60_000, Some("уведомление")).await.unwrap();
    let token = s.create_api_token(u.id, 60_000).await.unwrap();
    let live = s.session(&session, store::now()).await.unwrap().unwrap();
    assert_eq!(live.notice.as_deref(), Some("уведомление"));
    s.take_session_notice(&live).await.unwrap();
    assert_eq!(s.session(&session, store::now()).await.unwrap().unwrap().notice, None, "the notice is shown once");

    s.set_blocked(u.id, true).await.unwrap();
    assert!(s.session(&session, store::now()).await.unwrap().is_none());
    assert!(s.api_token_user(&token, store::now()).await.unwrap().is_none());
    assert!(s.user_credentials("zakazchik").await.unwrap().unwrap().blocked);
    s.set_blocked(u.id, false).await.unwrap();
    assert!(!s.user_credentials("zakazchik").await.unwrap().unwrap().blocked);

    let session = s.create_session(u.id, 60_000, None).await.unwrap();
    let token = s.create_api_token(u.id, 60_000).await.unwrap();
    s.set_password(u.id, "new hash").await.unwrap();
    assert!(s.session(&session, store::now()).await.unwrap().is_none());
    assert!(s.api_token_user(&token, store::now()).await.unwrap().is_none());
    assert_eq!(s.user_credentials("zakazchik").await.unwrap().unwrap().password_hash, "new hash");

    let token = s.create_api_token(u.id, 60_000).await.unwrap();
    assert!(s.revoke_api_token(&token).await.unwrap());
    assert!(s.api_token_user(&token, store::now()).await.unwrap().is_none());
    // Expired sessions and tokens are deleted by the clean-up.
    s.create_session(u.id, 1, None).await.unwrap();
    s.create_api_token(u.id, 1).await.unwrap();
    assert_eq!(s.purge_expired(store::now() + ms(10)).await.unwrap(), 2);
}

#[tokio::test]
async fn plans_positions_versions_and_locking() {
    let (s, _d) = store().await;
    let sup = org(&s, "03722001600", None).await;
    let o = org(&s, "03722001684", Some(sup)).await;
    let u = s.create_user("z", "h", "З", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let a = s.create_user("a", "h", "А", sup, Role::Approver).await.unwrap().unwrap();
    let plan = s.create_plan(o, 2026, u.id).await.unwrap().unwrap();
    assert!(s.create_plan(o, 2026, u.id).await.unwrap().is_none(), "one plan per org and year");
    assert_eq!(s.plans_visible_to(sup).await.unwrap().len(), 1, "superior sees subordinate plans");
    assert_eq!(s.plans_visible_to(o).await.unwrap().len(), 1);

    // Adding names no version: two writers who read the same plan both add, and the store
    // gives each the next purchase number, whatever number the position came with.
    let first = s.add_position(&plan, &position(7), u.id).await.unwrap().unwrap();
    assert_eq!((first.position.purchase_number.get(), first.row_version, first.in_base), (1, 1, false));
    let second = s.add_position(&plan, &position(1), u.id).await.unwrap().unwrap();
    assert_eq!(second.position.purchase_number.get(), 2);
    let stored = s.positions(plan.id).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].position, position(1));
    let after_adds = s.plan(plan.id).await.unwrap().unwrap();
    assert_eq!(after_adds.row_version, plan.row_version, "positions leave the plan's own lock alone");
    assert_eq!(after_adds.content_version, plan.content_version + 2, "every change of the content counts");
    // Each position has its own lock: an edit naming an old version of it is stale.
    let mut edited = position(2);
    edited.object_info = "Вывоз ТКО (уточнено)".into();
    let done = s.update_position(&plan, second.id, 1, &edited, u.id).await.unwrap().unwrap();
    assert_eq!(done.row_version, 2);
    let again = s.update_position(&plan, second.id, 1, &edited, u.id).await.unwrap();
    assert_eq!(again.unwrap_err(), PositionRefusal::Stale);
    assert_eq!(s.update_position(&plan, first.id, 1, &position(1), u.id).await.unwrap().unwrap().row_version, 2);
    // Deleting the highest number gives it back, as before (the next is one above the highest).
    let third = s.add_position(&plan, &position(3), u.id).await.unwrap().unwrap();
    assert_eq!(s.delete_position(&plan, third.id, 2, u.id).await.unwrap().unwrap_err(), PositionRefusal::Stale);
    s.delete_position(&plan, third.id, 1, u.id).await.unwrap().unwrap();
    let fourth = s.add_position(&plan, &position(3), u.id).await.unwrap().unwrap();
    assert_eq!(fourth.position.purchase_number.get(), 3);
    s.delete_position(&plan, fourth.id, 1, u.id).await.unwrap().unwrap();
    let plan = s.plan(plan.id).await.unwrap().unwrap();

    let plan = s.plan(plan.id).await.unwrap().unwrap();
    s.change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "Отправить на согласование")
        .await
        .unwrap();
    assert!(matches!(
        s.change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await,
        Err(StoreError::Conflict)
    ));
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    // On approval, the working copy is closed to position writes, checked in their transaction.
    assert_eq!(s.add_position(&plan, &position(3), u.id).await.unwrap().unwrap_err(), PositionRefusal::PlanNotEditable);
    let refused = s.update_position(&plan, first.id, 2, &position(1), u.id).await.unwrap();
    assert_eq!(refused.unwrap_err(), PositionRefusal::PlanNotEditable);
    assert_eq!(
        s.delete_position(&plan, first.id, 2, u.id).await.unwrap().unwrap_err(),
        PositionRefusal::PlanNotEditable
    );
    assert_eq!(s.positions(plan.id).await.unwrap().len(), 2, "nothing changed");
    let fixed = FixedPacket { id: "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c".into(), xml: "<packet/>".into() };
    let wrong_number = Approval { version_number: 1, packet: Some(&fixed), basis: &PacketBasis::New };
    assert!(
        matches!(s.approve_plan(&plan, &snapshot(vec![]), &wrong_number, a.id).await, Err(StoreError::Conflict)),
        "the packet was built for another version number"
    );
    assert_eq!(s.plan(plan.id).await.unwrap().unwrap().status, PlanStatus::OnApproval, "nothing changed");
    let approval = Approval { version_number: 0, packet: Some(&fixed), basis: &PacketBasis::New };
    // Written, then dropped uncommitted (its packet found invalid meanwhile): nothing stays,
    // and the next approval is not held up by it.
    let pending = s.prepare_approval(&plan, &snapshot(vec![position(1), position(2)]), &approval, a.id).await.unwrap();
    drop(pending);
    assert_eq!(s.plan(plan.id).await.unwrap().unwrap().status, PlanStatus::OnApproval, "rolled back");
    assert!(s.versions(plan.id).await.unwrap().is_empty(), "no version");
    assert!(s.positions(plan.id).await.unwrap().iter().all(|p| !p.in_base), "no position marked approved");
    let v0 = s.approve_plan(&plan, &snapshot(vec![position(1), position(2)]), &approval, a.id).await.unwrap();
    assert_eq!(v0.version_number, 0);
    assert!(s.positions(plan.id).await.unwrap().iter().all(|p| p.in_base));
    assert!(
        matches!(s.approve_plan(&plan, &snapshot(vec![]), &approval, a.id).await, Err(StoreError::Conflict)),
        "approved once"
    );
    let versions = s.versions(plan.id).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].packet.as_ref(), Some(&fixed), "the exact packet is kept with the version");
    assert_eq!(versions[0].packet_basis, Some(PacketBasis::New));
    assert_eq!(versions[0].snapshot.positions.len(), 2);
    assert_eq!(s.plan(plan.id).await.unwrap().unwrap().status, PlanStatus::Approved);
    // Every position is now in the latest approved version, with its content as approved.
    let (approved, base) = s.position_with_base(plan.id, second.id).await.unwrap().unwrap();
    assert!(approved.in_base);
    assert_eq!(base.as_ref(), Some(&approved.position));
    assert_eq!(s.latest_version_number(plan.id).await.unwrap(), Some(0));
    // «Внести изменения»: a new round on the same working copy; an edit is journaled.
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    s.start_changes(&plan, u.id).await.unwrap();
    assert!(matches!(s.start_changes(&plan, u.id).await, Err(StoreError::Conflict)), "only from approved");
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    assert_eq!(plan.status, PlanStatus::Forming);
    let mut edited = position(2);
    edited.object_info = "Вывоз ТКО и КГО".into();
    let pid = s.positions(plan.id).await.unwrap()[1].id;
    let rv = s.positions(plan.id).await.unwrap()[1].row_version;
    s.update_position(&plan, pid, rv, &edited, u.id).await.unwrap().unwrap();
    assert_eq!(s.update_position(&plan, pid, rv, &edited, u.id).await.unwrap().unwrap_err(), PositionRefusal::Stale);
    assert_eq!(s.positions(plan.id).await.unwrap()[1].position.object_info, "Вывоз ТКО и КГО");
    // The base content stays what was approved; a new position is not in the base.
    let (now, base) = s.position_with_base(plan.id, pid).await.unwrap().unwrap();
    assert!(now.in_base && base.is_some_and(|b| b.object_info != "Вывоз ТКО и КГО"));
    let added = s.add_position(&plan, &position(9), u.id).await.unwrap().unwrap();
    assert_eq!(added.position.purchase_number.get(), 3);
    assert_eq!(s.position_with_base(plan.id, added.id).await.unwrap().unwrap().1, None);
    let journal = s.audit_for("plan", plan.id.get()).await.unwrap();
    assert!(journal.iter().any(|e| e.action == "Изменена позиция 0002" && e.details.contains("КГО")));
    assert!(journal.iter().any(|e| e.action == "Утвержден" && e.user_name.as_deref() == Some("А")));
    assert!(journal.iter().any(|e| e.action == "Создан план-график" && e.details == "Год: 2026"));
    assert!(journal.len() >= 5);
}

async fn approved_version(s: &Store) -> (OrgId, UserId, VersionId) {
    let sup = org(s, "03722001600", None).await;
    let o = org(s, "03722001684", Some(sup)).await;
    let u = s.create_user("z", "h", "З", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let plan = s.create_plan(o, 2026, u.id).await.unwrap().unwrap();
    s.change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    let v = s
        .approve_plan(
            &plan,
            &snapshot(vec![position(1)]),
            &Approval { version_number: 0, packet: None, basis: &PacketBasis::New },
            u.id,
        )
        .await
        .unwrap();
    (o, u.id, v.id)
}

#[tokio::test]
async fn stored_packet_bases_load_as_written_and_an_unknown_one_is_an_error() {
    async fn set(s: &Store, v: VersionId, text: &str) {
        sqlx::query("UPDATE plan_versions SET packet_basis = $1 WHERE id = $2")
            .bind(text)
            .bind(v.get())
            .execute(s.pool())
            .await
            .unwrap();
    }
    let (s, _d) = store().await;
    let (_, _, v) = approved_version(&s).await;
    set(&s, v, "change:202603722001684001:0").await;
    let basis = s.version_head(v).await.unwrap().unwrap().packet_basis;
    assert_eq!(basis, Some(PacketBasis::Change { plan_number: "202603722001684001".into(), base_version: 0 }));
    set(&s, v, "pending:0").await;
    assert_eq!(s.version(v).await.unwrap().unwrap().packet_basis, Some(PacketBasis::Pending { base_version: 0 }));
    set(&s, v, "rebuild:0").await;
    match s.version(v).await {
        Err(StoreError::Corrupt(why)) => assert!(why.contains("rebuild:0"), "{why}"),
        other => panic!("an unknown basis must not load: {other:?}"),
    }
}

#[tokio::test]
async fn eis_credentials_are_sealed() {
    let (s, _d) = store().await;
    let (o, u, _) = approved_version(&s).await;
    s.save_eis_credentials(u, o, "eis_user_int", Some(&"Sekr3t-Pa55".into())).await.unwrap();
    let info = s.eis_credentials_info(u).await.unwrap().unwrap();
    assert!(info.has_password);
    assert_eq!(s.eis_credentials(u).await.unwrap().unwrap().password.expose(), "Sekr3t-Pa55");
    let raw: String =
        sqlx::query_scalar("SELECT password_secret FROM eis_credentials").fetch_one(s.pool()).await.unwrap();
    assert!(!raw.contains("Sekr3t"));
    // Changing only the login keeps the password.
    s.save_eis_credentials(u, o, "eis_user_int2", None).await.unwrap();
    let c = s.eis_credentials(u).await.unwrap().unwrap();
    assert_eq!((c.login.as_str(), c.password.expose()), ("eis_user_int2", "Sekr3t-Pa55"));
    s.mark_eis_credentials(u, "eis_user_int2", false, Some("Ошибка авторизации")).await.unwrap();
    let info = s.eis_credentials_info(u).await.unwrap().unwrap();
    assert!(info.last_fail_at.is_some() && info.last_ok_at.is_none());
    // Saving the same login again keeps what is known; a new password forgets it.
    s.save_eis_credentials(u, o, "eis_user_int2", None).await.unwrap();
    assert!(s.eis_credentials_info(u).await.unwrap().unwrap().last_fail_at.is_some());
    s.save_eis_credentials(u, o, "eis_user_int2", Some(&"new".into())).await.unwrap();
    assert!(s.eis_credentials_info(u).await.unwrap().unwrap().last_fail_at.is_none());
}

#[tokio::test]
async fn released_leases_are_claimable_at_once_and_due_by_claims_ahead() {
    let (s, _d) = store().await;
    let (o, u, v) = approved_version(&s).await;
    let login = EisLogin { login: "eis_user_int".into(), password: "Пароль-ЕИС-7Kq9".into() };
    let new = NewSend {
        version_id: v,
        org_id: o,
        requested_by: u,
        packet_id: "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c",
        packet_xml: "<x/>",
        login: &login,
        packet_note: "",
    };
    let id = s.enqueue_send(&new).await.unwrap();
    let now = store::now();
    let claimed = s.claim_due_send("w1", now, 3_600_000).await.unwrap().unwrap();
    assert_eq!(claimed.send.id, id);
    assert!(s.claim_due_send("w2", now, 3_600_000).await.unwrap().is_none(), "leased for an hour");
    assert_eq!(s.release_leases("w2").await.unwrap(), 0, "only the worker's own leases");
    assert_eq!(s.release_leases("w1").await.unwrap(), 1);
    let again = s.claim_due_send("w2", now, 3_600_000).await.unwrap().expect("claimable at once");
    assert_eq!((again.send.id, again.send.status, again.send.attempts), (id, SendStatus::Queued, 0));

    // A send due in a minute: not due now, but due by then; its first attempt counts from now.
    let later = Outcome {
        violations: 0,
        status: SendStatus::Queued,
        next_attempt_at: Some(now + ms(60_000)),
        count_attempt: true,
        failed: true,
        last_error: Some("503"),
        event: None,
    };
    assert!(s.record_outcome(id, "w2", &later).await.unwrap());
    assert!(s.claim_due_send("w1", store::now(), 1_000).await.unwrap().is_none());
    let ahead = s.claim_send_due_by("w1", store::now(), now + ms(60_000), 1_000).await.unwrap().expect("due by then");
    assert_eq!(ahead.send.id, id);
    assert!(ahead.send.first_attempt_at.is_some_and(|t| t <= store::now()), "not moved into the future");
}

#[tokio::test]
async fn a_renewed_lease_keeps_the_send_and_one_not_renewed_is_taken_over() {
    let (s, _d) = store().await;
    let (o, u, v) = approved_version(&s).await;
    let login = EisLogin { login: "eis_user_int".into(), password: "Пароль-ЕИС-7Kq9".into() };
    let new = NewSend {
        version_id: v,
        org_id: o,
        requested_by: u,
        packet_id: "6a1d7c52-3e0b-4f11-8d8e-0c5b7a9e2f41",
        packet_xml: "<x/>",
        login: &login,
        packet_note: "",
    };
    let id = s.enqueue_send(&new).await.unwrap();
    let now = store::now();
    s.claim_due_send("w1", now, 1_000).await.unwrap().unwrap();
    // w1 renews before its lease runs out: at 1,5 s, past the first lease, the send is still w1's.
    assert_eq!(s.renew_leases("w1", now + ms(800), 1_000).await.unwrap(), 1);
    assert_eq!(s.renew_leases("w2", now + ms(800), 1_000).await.unwrap(), 0, "only the worker's own leases");
    assert!(s.claim_due_send("w2", now + ms(1_500), 1_000).await.unwrap().is_none(), "renewed until 1,8 s");
    let lease = s.leases().await.unwrap();
    assert_eq!(lease.iter().map(|l| (l.send_id, l.worker.as_str())).collect::<Vec<_>>(), vec![(id, "w1")]);
    assert_eq!(lease[0].until, now + ms(1_800));
    // Then w1 stops renewing (killed): after its lease w2 takes the send over, and a late renewal
    // of w1 neither revives its lease nor touches w2's.
    let taken = s.claim_due_send("w2", now + ms(1_900), 1_000).await.unwrap().expect("taken over after the lease");
    assert_eq!(taken.send.id, id);
    assert_eq!(s.renew_leases("w1", now + ms(2_000), 60_000).await.unwrap(), 0);
    let done = Outcome {
        violations: 0,
        status: SendStatus::Processing,
        next_attempt_at: Some(now + ms(5_000)),
        count_attempt: true,
        failed: false,
        last_error: None,
        event: None,
    };
    assert!(!s.record_outcome(id, "w1", &done).await.unwrap(), "w1 lost the lease");
    assert!(s.record_outcome(id, "w2", &done).await.unwrap());
    assert!(s.leases().await.unwrap().is_empty());
    // A lease that ran out and was not taken over is not revived either.
    s.claim_due_send("w3", now + ms(5_000), 1_000).await.unwrap().unwrap();
    assert_eq!(s.renew_leases("w3", now + ms(6_001), 1_000).await.unwrap(), 0);
}

/// `n` approved versions of the organization `spz` (plans for years 2000, 2001, …), each queued
/// for sending.
async fn queued_sends(s: &Store, spz: &str, superior: OrgId, n: i32) -> Vec<domain::ids::SendId> {
    let o = org(s, spz, Some(superior)).await;
    let u = s.create_user(&format!("z{spz}"), "h", "З", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let login = EisLogin { login: format!("eis_{spz}"), password: "Пароль-ЕИС-7Kq9".into() };
    let mut ids = Vec::new();
    for i in 0..n {
        let plan = s.create_plan(o, 2000 + i, u.id).await.unwrap().unwrap();
        s.change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
        let plan = s.plan(plan.id).await.unwrap().unwrap();
        let approval = Approval { version_number: 0, packet: None, basis: &PacketBasis::New };
        let v = s.approve_plan(&plan, &snapshot(vec![position(1)]), &approval, u.id).await.unwrap();
        let packet_id = format!("{spz}-{i:04}");
        let new = NewSend {
            version_id: v.id,
            org_id: o,
            requested_by: u.id,
            packet_id: &packet_id,
            packet_xml: "<x/>",
            login: &login,
            packet_note: "",
        };
        ids.push(s.enqueue_send(&new).await.unwrap());
    }
    ids
}

#[tokio::test]
async fn claims_take_turns_across_organizations() {
    let (s, _d) = store().await;
    let sup = org(&s, "03722001600", None).await;
    // A queued 200 sends before B queued its 3: by due time alone, B would wait for all of A's.
    let a = queued_sends(&s, "03722001684", sup, 200).await;
    let b = queued_sends(&s, "03722001685", sup, 3).await;
    let of_b = |ids: &[domain::ids::SendId]| ids.iter().filter(|id| b.contains(id)).count();

    // One at a time, each finished before the next claim (a runner with concurrency 1): B's
    // sends come back due at once, A's an hour later.
    let mut first = Vec::new();
    for _ in 0..6 {
        let c = s.claim_due_send("w1", store::now(), 30_000).await.unwrap().unwrap();
        let later = if b.contains(&c.send.id) { 0 } else { 3_600_000 };
        let o = Outcome {
            violations: 0,
            status: SendStatus::Processing,
            next_attempt_at: Some(store::now() + ms(later)),
            count_attempt: true,
            failed: false,
            last_error: None,
            event: None,
        };
        assert!(s.record_outcome(c.send.id, "w1", &o).await.unwrap());
        first.push(c.send.id);
        // «Served last» is a time in milliseconds; an exchange with ЕИС takes far longer than
        // one, but these claims without one could fall into the same millisecond and tie.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    assert_eq!(of_b(&first), 3, "B's three sends are among the first six claims: {first:?}");
    assert_eq!(first.iter().filter(|id| a.contains(id)).count(), 3);

    // Many at once (leases held, as by concurrent workers or instances): B's three, due again,
    // are again among the first six.
    let mut held = Vec::new();
    for w in 0..6 {
        held.push(s.claim_due_send(&format!("w{w}"), store::now(), 30_000).await.unwrap().unwrap().send.id);
    }
    assert_eq!(of_b(&held), 3, "{held:?}");
    // The rest are A's, in due order.
    let next = s.claim_due_send("w9", store::now(), 30_000).await.unwrap().unwrap();
    assert!(a.contains(&next.send.id));
}

#[tokio::test]
async fn an_event_identical_to_the_previous_one_is_counted_on_it_and_a_different_reply_is_kept() {
    let (s, _d) = store().await;
    let (o, u, v) = approved_version(&s).await;
    let login = EisLogin { login: "eis_user_int".into(), password: "Пароль-ЕИС-7Kq9".into() };
    let new = NewSend {
        version_id: v,
        org_id: o,
        requested_by: u,
        packet_id: "9b0c3d4e-1f2a-4b5c-8d6e-7f8091a2b3c4",
        packet_xml: "<x/>",
        login: &login,
        packet_note: "",
    };
    let id = s.enqueue_send(&new).await.unwrap();
    let record = |raw: &'static str, status: u16| {
        let s = s.clone();
        async move {
            let c = s.claim_due_send("w", store::now(), 30_000).await.unwrap().unwrap();
            let o = Outcome {
                violations: 0,
                status: SendStatus::Queued,
                next_attempt_at: Some(store::now()),
                count_attempt: true,
                failed: true,
                last_error: Some("503"),
                event: Some(EventNote {
                    message: "ЕИС недоступна", http_status: Some(status), raw_reply: Some(raw)
                }),
            };
            assert!(s.record_outcome(c.send.id, "w", &o).await.unwrap());
        }
    };
    for _ in 0..5 {
        record("<errorInfo>1</errorInfo>", 503).await;
    }
    let events = s.send_events(id).await.unwrap();
    assert_eq!(events.len(), 2, "the queue line and one line for five alike: {events:#?}");
    let first = &events[1];
    assert_eq!((first.repeats, first.raw_reply.as_deref()), (4, Some("<errorInfo>1</errorInfo>")));
    assert!(first.last_at.is_some_and(|t| t >= first.at));
    assert_eq!(events[0].repeats, 0);
    assert_eq!(events[0].last_at, None);
    // A reply that differs in any part is a line of its own; the earlier one stays as it was.
    record("<errorInfo>2</errorInfo>", 503).await;
    record("<errorInfo>2</errorInfo>", 502).await;
    record("<errorInfo>1</errorInfo>", 503).await;
    let events = s.send_events(id).await.unwrap();
    let lines: Vec<_> = events[1..].iter().map(|e| (e.raw_reply.clone().unwrap(), e.http_status, e.repeats)).collect();
    assert_eq!(
        lines,
        vec![
            ("<errorInfo>1</errorInfo>".to_owned(), Some(503), 4),
            ("<errorInfo>2</errorInfo>".to_owned(), Some(503), 0),
            ("<errorInfo>2</errorInfo>".to_owned(), Some(502), 0),
            ("<errorInfo>1</errorInfo>".to_owned(), Some(503), 0),
        ]
    );

    // The timeline without the replies says which lines keep one; one event reads alone.
    let timeline = s.send_timeline(id).await.unwrap();
    let shape = |e: &store::sends::SendEvent| (e.id, e.status, e.message.clone(), e.http_status, e.repeats, e.has_raw);
    assert_eq!(timeline.iter().map(shape).collect::<Vec<_>>(), events.iter().map(shape).collect::<Vec<_>>());
    assert!(timeline.iter().all(|e| e.raw_reply.is_none()), "no reply read");
    assert_eq!(timeline.iter().map(|e| e.has_raw).collect::<Vec<_>>(), [false, true, true, true, true]);
    let one = s.send_event(id, events[2].id).await.unwrap().unwrap();
    assert_eq!((one.raw_reply.as_deref(), one.has_raw), (Some("<errorInfo>2</errorInfo>"), true));
    assert!(s.send_event(id, events[4].id + 1).await.unwrap().is_none());
    assert!(s.send_event(SendId(id.get() + 1), events[2].id).await.unwrap().is_none(), "another send's event");

    // The heads of the send and of its version are what the full reads say, without content.
    let full = s.send(id).await.unwrap().unwrap();
    let head = s.send_head(id).await.unwrap().unwrap();
    assert_eq!(format!("{:?}", head), format!("{:?}", full.head));
    assert_eq!(format!("{:?}", s.latest_send_head(v).await.unwrap().unwrap()), format!("{:?}", full.head));
    assert!(s.latest_send_head(VersionId(v.get() + 1000)).await.unwrap().is_none());
    let version = s.version(v).await.unwrap().unwrap();
    assert_eq!(format!("{:?}", s.version_head(v).await.unwrap().unwrap()), format!("{:?}", version.head));
    let latest = s.latest_version_head(version.plan_id).await.unwrap().unwrap();
    assert_eq!(format!("{latest:?}"), format!("{:?}", version.head));
    assert_eq!(s.latest_version_id(version.plan_id).await.unwrap(), Some(v));
    assert_eq!(s.version_snapshot(v).await.unwrap(), Some(version.snapshot));
    assert!(s.version_snapshot(VersionId(v.get() + 1000)).await.unwrap().is_none());
}

#[tokio::test]
async fn send_queue_leases_and_uniqueness() {
    let (s, _d) = store().await;
    let (o, u, v) = approved_version(&s).await;
    // Long enough that the sealed text cannot contain it by chance.
    let login = EisLogin { login: "eis_user_int".into(), password: "Пароль-ЕИС-7Kq9".into() };
    let packet = "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c";
    let new = NewSend {
        version_id: v,
        org_id: o,
        requested_by: u,
        packet_id: packet,
        packet_xml: "<x/>",
        login: &login,
        packet_note: "",
    };
    let id = s.enqueue_send(&new).await.unwrap();
    let second = NewSend { packet_id: "1f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c", ..new };
    assert!(matches!(s.enqueue_send(&second).await, Err(StoreError::Conflict)), "one live send per version");

    let now = store::now();
    let claimed = s.claim_due_send("w1", now, 30_000).await.unwrap().unwrap();
    assert_eq!(claimed.send.id, id);
    assert_eq!(claimed.credentials.password.expose(), "Пароль-ЕИС-7Kq9");
    assert!(s.claim_due_send("w2", now, 30_000).await.unwrap().is_none(), "leased");
    // After the lease expires another worker may take it, and the first one's late result is refused.
    let taken = s.claim_due_send("w2", now + ms(31_000), 30_000).await.unwrap().unwrap();
    assert_eq!(taken.send.id, id);
    let outcome = Outcome {
        violations: 0,
        status: SendStatus::Processing,
        next_attempt_at: Some(now + ms(1_000)),
        count_attempt: true,
        failed: false,
        last_error: None,
        event: Some(EventNote {
            message: "ЕИС приняла пакет",
            http_status: Some(200),
            raw_reply: Some("<confirmation/>"),
        }),
    };
    assert!(!s.record_outcome(id, "w1", &outcome).await.unwrap());
    assert!(s.record_outcome(id, "w2", &outcome).await.unwrap());
    let send = s.send(id).await.unwrap().unwrap();
    assert_eq!((send.status, send.attempts), (SendStatus::Processing, 1));
    let events = s.send_events(id).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].raw_reply.as_deref(), Some("<confirmation/>"));
    assert!(s.claim_due_send("w1", now, 30_000).await.unwrap().is_none(), "not due yet");

    // A routine poll writes no timeline line.
    let c = s.claim_due_send("w1", now + ms(2_000), 30_000).await.unwrap().unwrap();
    let quiet = Outcome {
        violations: 0,
        status: SendStatus::Processing,
        next_attempt_at: Some(now + ms(3_000)),
        count_attempt: false,
        failed: false,
        last_error: None,
        event: None,
    };
    assert!(s.record_outcome(c.send.id, "w1", &quiet).await.unwrap());
    assert_eq!(s.send_events(id).await.unwrap().len(), 2);
    let polled = s.send(id).await.unwrap().unwrap();
    assert_eq!(polled.next_attempt_at, now + ms(3_000), "a time reads back as written");
    assert!(polled.created_at <= polled.updated_at && polled.first_attempt_at.is_some());
    let fail = Outcome { status: SendStatus::AuthError, next_attempt_at: None, ..outcome };
    let c = s.claim_due_send("w1", now + ms(4_000), 30_000).await.unwrap().unwrap();
    assert!(s.record_outcome(c.send.id, "w1", &fail).await.unwrap());
    assert!(
        s.claim_due_send("w1", now + ms(10_000_000), 30_000).await.unwrap().is_none(),
        "final sends are not claimed"
    );
    let final_send = s.send(id).await.unwrap().unwrap();
    assert_eq!(final_send.next_attempt_at, store::Time::MAX_UTC, "a final send's next attempt is never");
    // After a refusal a new send of the same version may start.
    s.enqueue_send(&second).await.unwrap();
    assert_eq!(s.latest_send(v).await.unwrap().unwrap().packet_id, second.packet_id);
    let raw: String = sqlx::query_scalar("SELECT eis_password_secret FROM eis_sends WHERE id = $1")
        .bind(id.get())
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert!(!raw.contains("Пароль-ЕИС-7Kq9"));
}

#[tokio::test]
async fn publication_is_recorded_with_plan_and_position_numbers() {
    let (s, _d) = store().await;
    let (o, u, v) = approved_version(&s).await;
    let login = EisLogin { login: "int_eis_user".into(), password: "p".into() };
    let new = NewSend {
        version_id: v,
        org_id: o,
        requested_by: u,
        packet_id: "2f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c",
        packet_xml: "<x/>",
        login: &login,
        packet_note: "",
    };
    let id = s.enqueue_send(&new).await.unwrap();
    let plan_id = s.version(v).await.unwrap().unwrap().plan_id;
    let numbers: std::collections::BTreeMap<String, String> =
        [("0001".to_owned(), "202603722001001001000001".to_owned())].into();
    let publication = store::sends::Publication {
        plan_id,
        version_id: v,
        plan_number: "202603722001001001",
        position_numbers: &numbers,
    };
    let outcome = Outcome {
        violations: 0,
        status: SendStatus::Published,
        next_attempt_at: None,
        count_attempt: false,
        failed: false,
        last_error: None,
        event: Some(EventNote {
            message: "Размещена в ЕИС", http_status: Some(200), raw_reply: Some("<export/>")
        }),
    };
    assert!(
        !s.record_publication(id, "w1", &publication, &outcome).await.unwrap(),
        "without the lease nothing is written"
    );
    let c = s.claim_due_send("w1", store::now(), 30_000).await.unwrap().unwrap();
    assert!(s.record_publication(c.send.id, "w1", &publication, &outcome).await.unwrap());
    assert_eq!(s.plan(plan_id).await.unwrap().unwrap().eis_plan_number.as_deref(), Some("202603722001001001"));
    assert_eq!(s.version(v).await.unwrap().unwrap().eis_position_numbers, numbers);
    assert_eq!(s.send(id).await.unwrap().unwrap().status, SendStatus::Published);
    assert!(s.claim_due_send("w1", store::now() + ms(1_000_000), 30_000).await.unwrap().is_none());
}

#[tokio::test]
async fn failures_in_a_row_are_counted_and_reset_and_a_stopped_send_can_be_reopened() {
    let (s, _d) = store().await;
    let (o, u, v) = approved_version(&s).await;
    let login = EisLogin { login: "eis_user".into(), password: "первый".into() };
    let packet = "3f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c";
    let new = NewSend {
        version_id: v,
        org_id: o,
        requested_by: u,
        packet_id: packet,
        packet_xml: "<x/>",
        login: &login,
        packet_note: "",
    };
    let id = s.enqueue_send(&new).await.unwrap();
    let now = store::now();
    let outcome = |status, failed: bool| Outcome {
        violations: 0,
        status,
        next_attempt_at: if status.is_active() { Some(chrono::DateTime::UNIX_EPOCH) } else { None },
        count_attempt: true,
        failed,
        last_error: failed.then_some("503"),
        event: None,
    };
    let fail = outcome(SendStatus::Queued, true);
    for n in 1..=2 {
        let c = s.claim_due_send("w", now + ms(n), 1_000).await.unwrap().unwrap();
        assert_eq!(c.send.first_attempt_at, Some(now + ms(1)), "the first claim is the first attempt");
        assert!(s.record_outcome(id, "w", &fail).await.unwrap());
        let send = s.send(id).await.unwrap().unwrap();
        assert_eq!(send.consecutive_failures, n);
        assert!(send.failing_since.is_some());
    }
    let since = s.send(id).await.unwrap().unwrap().failing_since;
    s.claim_due_send("w", now + ms(3), 1_000).await.unwrap().unwrap();
    assert!(s.record_outcome(id, "w", &fail).await.unwrap());
    assert_eq!(s.send(id).await.unwrap().unwrap().failing_since, since, "the run keeps its start");
    let answered = outcome(SendStatus::Processing, false);
    s.claim_due_send("w", now + ms(4), 1_000).await.unwrap().unwrap();
    assert!(s.record_outcome(id, "w", &answered).await.unwrap());
    let send = s.send(id).await.unwrap().unwrap();
    assert_eq!((send.consecutive_failures, send.failing_since, send.attempts), (0, None, 4));

    let gave_up = outcome(SendStatus::GaveUp, true);
    s.claim_due_send("w", now + ms(5), 1_000).await.unwrap().unwrap();
    assert!(s.record_outcome(id, "w", &gave_up).await.unwrap());
    // Not live: another send of the version may be queued, and while it is, the old one cannot
    // come back to life (the unique index decides).
    let second = NewSend { packet_id: "4f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c", ..new };
    let second_id = s.enqueue_send(&second).await.unwrap();
    let other = EisLogin { login: "eis_user".into(), password: "второй".into() };
    let reopen = store::sends::Reopen {
        send_id: id,
        from: SendStatus::GaveUp,
        status: SendStatus::Processing,
        next_attempt_at: Some(now),
        actor: u,
        login: &other,
        event: EventNote {
            message: "ЕИС его получила", http_status: Some(200), raw_reply: Some("<confirmation/>")
        },
    };
    assert!(matches!(s.reopen_send(&reopen).await, Err(StoreError::Conflict)));
    let c = s.claim_due_send("w", store::now(), 1_000).await.unwrap().unwrap();
    assert_eq!(c.send.id, second_id);
    assert!(s.record_outcome(second_id, "w", &outcome(SendStatus::RequestRefused, true)).await.unwrap());
    assert!(
        !s.reopen_send(&store::sends::Reopen { from: SendStatus::AuthError, ..reopen }).await.unwrap(),
        "expected state changed"
    );
    let reopen = store::sends::Reopen {
        send_id: id,
        from: SendStatus::GaveUp,
        status: SendStatus::Processing,
        next_attempt_at: Some(now),
        actor: u,
        login: &other,
        event: EventNote {
            message: "ЕИС его получила", http_status: Some(200), raw_reply: Some("<confirmation/>")
        },
    };
    assert!(s.reopen_send(&reopen).await.unwrap());
    let c = s.claim_due_send("w", now + ms(7), 1_000).await.unwrap().unwrap();
    assert_eq!((c.send.id, c.send.status, c.send.consecutive_failures), (id, SendStatus::Processing, 0));
    assert_eq!(c.credentials.password.expose(), "второй", "the credentials that reached ЕИС now");
    assert_eq!(s.send_events(id).await.unwrap().last().unwrap().message, "ЕИС его получила");
}

/// Migration 0009 on a database that already has plans: the positions of each plan's latest
/// approved version are marked with their approved content, later ones are not.
#[tokio::test]
async fn migration_0009_marks_the_positions_of_the_latest_versions() {
    let (s, _d) = store().await;
    let sup = org(&s, "03722001600", None).await;
    let o = org(&s, "03722001684", Some(sup)).await;
    let u = s.create_user("z", "h", "З", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let a = s.create_user("a", "h", "А", sup, Role::Approver).await.unwrap().unwrap();
    let plan = s.create_plan(o, 2026, u.id).await.unwrap().unwrap();
    let approved = s.add_position(&plan, &position(1), u.id).await.unwrap().unwrap();
    s.change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    let approval = Approval { version_number: 0, packet: None, basis: &PacketBasis::New };
    s.approve_plan(&plan, &snapshot(vec![approved.position.clone()]), &approval, a.id).await.unwrap();
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    s.start_changes(&plan, u.id).await.unwrap();
    let later = s.add_position(&plan, &position(2), u.id).await.unwrap().unwrap();

    // The database as it was before the step: its columns gone, the step not applied.
    for sql in [
        "ALTER TABLE positions DROP COLUMN row_version",
        "ALTER TABLE positions DROP COLUMN in_base",
        "ALTER TABLE positions DROP COLUMN base_data",
        "ALTER TABLE plans DROP COLUMN content_version",
        "DELETE FROM schema_migrations WHERE version = 9",
    ] {
        sqlx::query(sql).execute(s.pool()).await.unwrap();
    }
    s.migrate().await.unwrap();
    let (old, base) = s.position_with_base(plan.id, approved.id).await.unwrap().unwrap();
    assert!(old.in_base && old.row_version == 1);
    assert_eq!(base, Some(approved.position));
    let (new, base) = s.position_with_base(plan.id, later.id).await.unwrap().unwrap();
    assert!(!new.in_base && base.is_none());
    let after = s.plan(plan.id).await.unwrap().unwrap();
    assert_eq!(after.content_version, after.row_version, "content versions start at the row version");
}

#[tokio::test]
async fn version_summaries_and_latest_sends_read_without_snapshots() {
    let (s, _d) = store().await;
    let (o, u, v) = approved_version(&s).await;
    let full = s.version(v).await.unwrap().unwrap();
    let summaries = s.version_summaries(full.plan_id).await.unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].id, v);
    assert_eq!(summaries[0].approved_by_name, "З");
    assert_eq!(summaries[0].position_count, 1);
    assert_eq!(summaries[0].totals, full.snapshot.totals(), "the totals fixed at approval");
    assert_eq!(s.version_count(full.plan_id).await.unwrap(), 1);
    assert_eq!(s.version_by_number(full.plan_id, 0).await.unwrap().map(|x| x.id), Some(v));
    assert!(s.version_by_number(full.plan_id, 1).await.unwrap().is_none());
    assert_eq!(s.latest_version(full.plan_id).await.unwrap().map(|x| x.id), Some(v));

    // A row approved before the summary columns existed is filled in from its snapshot.
    sqlx::query("UPDATE plan_versions SET position_count = NULL, totals = NULL").execute(s.pool()).await.unwrap();
    assert!(s.version_summaries(full.plan_id).await.is_err(), "an unfilled summary is not shown as zero");
    s.backfill_derived_columns().await.unwrap();
    assert_eq!(s.version_summaries(full.plan_id).await.unwrap(), summaries);

    assert!(s.latest_sends(&[v]).await.unwrap().is_empty(), "never sent");
    // «Отправить все» finds it from the customer and from its superior, and no one else.
    let superior = s.organization(o).await.unwrap().unwrap().superior_id.unwrap();
    assert_eq!(s.unsent_versions_visible_to(o).await.unwrap(), [(full.plan_id, v)]);
    assert_eq!(s.unsent_versions_visible_to(superior).await.unwrap(), [(full.plan_id, v)]);
    assert!(s.unsent_versions_visible_to(OrgId(o.get() + 1000)).await.unwrap().is_empty());
    let login = EisLogin { login: "eis_user_int".into(), password: "Пароль-ЕИС-7Kq9".into() };
    let first = NewSend {
        version_id: v,
        org_id: o,
        requested_by: u,
        packet_id: "0f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c",
        packet_xml: "<x/>",
        login: &login,
        packet_note: "",
    };
    let first_id = s.enqueue_send(&first).await.unwrap();
    let c = s.claim_due_send("w1", store::now(), 30_000).await.unwrap().unwrap();
    let refused = Outcome {
        violations: 0,
        status: SendStatus::AuthError,
        next_attempt_at: None,
        count_attempt: true,
        failed: false,
        last_error: None,
        event: None,
    };
    assert!(s.record_outcome(c.send.id, "w1", &refused).await.unwrap());
    let second = NewSend { packet_id: "1f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c", ..first };
    let second_id = s.enqueue_send(&second).await.unwrap();
    assert_ne!(first_id, second_id);
    let latest = s.latest_sends(&[v, VersionId(v.get() + 1000)]).await.unwrap();
    assert_eq!(latest.len(), 1, "only versions with a send");
    assert_eq!((latest[&v].id, latest[&v].status), (second_id, SendStatus::Queued), "the newest send");
    assert!(s.unsent_versions_visible_to(o).await.unwrap().is_empty(), "a version sent once is not unsent");
}

#[tokio::test]
async fn position_columns_are_written_with_each_position_and_backfilled() {
    use store::plans::PositionFilter;
    let (s, _d) = store().await;
    let o = org(&s, "03722001684", None).await;
    let u = s.create_user("z", "h", "З", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let plan = s.create_plan(o, 2026, u.id).await.unwrap().unwrap();
    for (n, amount) in [(1, "100.10"), (2, "200.20"), (3, "300.30")] {
        s.add_position(&plan, &testing::position(n, amount), u.id).await.unwrap().unwrap();
    }
    let all = PositionFilter::default();
    let totals = s.position_totals(plan.id, &all).await.unwrap();
    assert_eq!(totals.count, 3);
    assert_eq!(totals.amounts.current.to_string(), domain::Money::parse("600.60").unwrap().to_string());
    // A cancelled one is counted, not summed; in memory as in the database.
    let mut canceled = testing::position(4, "400.40");
    canceled.amounts.first = domain::Money::parse("50.05").unwrap();
    canceled.change = Some(domain::plan::PositionChange {
        reason_code: "9".into(),
        reason_name: "Отмена".into(),
        decision: domain::plan::ChangeDecision::Canceled,
        description: "Не нужна".into(),
    });
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    let added = s.add_position(&plan_now, &canceled, u.id).await.unwrap().unwrap();
    let with_canceled = s.position_totals(plan.id, &all).await.unwrap();
    assert_eq!((with_canceled.count, with_canceled.amounts), (4, totals.amounts));
    let read: Vec<Position> = s.positions(plan.id).await.unwrap().into_iter().map(|p| p.position).collect();
    assert_eq!(store::plans::PositionTotals::of(&read).unwrap(), with_canceled, "summed in memory as in the database");
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    s.delete_position(&plan_now, added.id, 1, u.id).await.unwrap().unwrap();
    let third = PositionFilter { numbers: Some(vec![3]), ..Default::default() };
    assert_eq!(s.position_totals(plan.id, &third).await.unwrap().count, 1);
    let page = s.position_page(plan.id, &all, Some(1), 0, 1).await.unwrap();
    assert_eq!(page.iter().map(|p| p.position.purchase_number.get()).collect::<Vec<_>>(), [2], "keyset after 1");

    // Rows written before the columns existed are filled in from their JSON.
    sqlx::query("UPDATE positions SET search = NULL, okpd2 = NULL, kvr = NULL, canceled = NULL, kop_current = NULL")
        .execute(s.pool())
        .await
        .unwrap();
    assert_eq!(s.position_totals(plan.id, &all).await.unwrap().amounts.current, domain::Money::ZERO);
    s.backfill_derived_columns().await.unwrap();
    assert_eq!(s.position_totals(plan.id, &all).await.unwrap(), totals);
    let by_code = PositionFilter { okpd2_prefix: "38.11".into(), ..Default::default() };
    assert_eq!(s.position_totals(plan.id, &by_code).await.unwrap().count, 3);
}

#[tokio::test]
async fn positions_record_the_stamp_that_wrote_them() {
    let (s, _d) = store().await;
    let o = org(&s, "03722001684", None).await;
    let sup = org(&s, "03722000010", None).await;
    let u = s.create_user("z", "h", "З", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let a = s.create_user("a", "h", "А", sup, Role::Approver).await.unwrap().unwrap();
    let plan = s.create_plan(o, 2026, u.id).await.unwrap().unwrap();
    let numbers = |w: &store::plans::WrittenAfter| {
        let mut n: Vec<u16> = w.positions.iter().map(|p| p.position.purchase_number.get()).collect();
        n.sort_unstable();
        n
    };
    let empty = s.positions_written_after(plan.id, 0).await.unwrap().unwrap();
    assert_eq!((empty.count, empty.positions.len()), (0, 0), "a plan without positions is one row, no position");
    for n in 1..=3 {
        let plan = s.plan(plan.id).await.unwrap().unwrap();
        s.add_position(&plan, &position(n), u.id).await.unwrap().unwrap();
    }
    let all = s.positions_written_after(plan.id, 0).await.unwrap().unwrap();
    assert_eq!((all.count, numbers(&all)), (3, vec![1, 2, 3]));
    assert_eq!(all.stamp, s.plan(plan.id).await.unwrap().unwrap().content_version);
    let none = s.positions_written_after(plan.id, all.stamp).await.unwrap().unwrap();
    assert_eq!((none.stamp, none.count, none.positions.len()), (all.stamp, 3, 0));

    // An edit: that position only, at its new version.
    let second = s.positions(plan.id).await.unwrap().into_iter().find(|p| p.position.purchase_number.get() == 2);
    let second = second.unwrap();
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    let mut changed = second.position.clone();
    changed.object_info = "Поставка мела".into();
    s.update_position(&plan_now, second.id, second.row_version, &changed, u.id).await.unwrap().unwrap();
    let edited = s.positions_written_after(plan.id, all.stamp).await.unwrap().unwrap();
    assert_eq!((edited.count, numbers(&edited)), (3, vec![2]));
    assert_eq!(edited.positions[0].position.object_info, "Поставка мела");
    assert!(edited.stamp > all.stamp);

    // A deletion writes no row: the count tells.
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    let third = s.positions(plan.id).await.unwrap().into_iter().find(|p| p.position.purchase_number.get() == 3);
    s.delete_position(&plan_now, third.unwrap().id, 1, u.id).await.unwrap().unwrap();
    let deleted = s.positions_written_after(plan.id, edited.stamp).await.unwrap().unwrap();
    assert_eq!((deleted.count, deleted.positions.len()), (2, 0));
    assert!(deleted.stamp > edited.stamp);

    // Approval and «Внести изменения» move the stamp; clearing a justification writes the row.
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    s.change_plan_status(&plan_now, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    let content: Vec<Position> = s.positions(plan.id).await.unwrap().into_iter().map(|p| p.position).collect();
    let fixed = FixedPacket { id: "1f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c".into(), xml: "<packet/>".into() };
    let approval = Approval { version_number: 0, packet: Some(&fixed), basis: &PacketBasis::New };
    s.approve_plan(&plan_now, &snapshot(content), &approval, a.id).await.unwrap();
    let approved = s.positions_written_after(plan.id, deleted.stamp).await.unwrap().unwrap();
    assert!(approved.stamp > deleted.stamp && approved.positions.is_empty(), "approval changes no content");
    s.start_changes(&s.plan(plan.id).await.unwrap().unwrap(), u.id).await.unwrap();
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    let first = s.positions(plan.id).await.unwrap().into_iter().next().unwrap();
    let mut justified = first.position.clone();
    justified.change = Some(domain::plan::PositionChange {
        reason_code: "9".into(),
        reason_name: "Изменение цены".into(),
        decision: domain::plan::ChangeDecision::Changed,
        description: "Уточнение цены".into(),
    });
    s.update_position(&plan_now, first.id, first.row_version, &justified, u.id).await.unwrap().unwrap();
    let before_round = s.plan(plan.id).await.unwrap().unwrap().content_version;
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    s.change_plan_status(&plan_now, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
    let plan_now = s.plan(plan.id).await.unwrap().unwrap();
    let content: Vec<Position> = s.positions(plan.id).await.unwrap().into_iter().map(|p| p.position).collect();
    let approval = Approval { version_number: 1, packet: Some(&fixed), basis: &PacketBasis::New };
    s.approve_plan(&plan_now, &snapshot(content), &approval, a.id).await.unwrap();
    s.start_changes(&s.plan(plan.id).await.unwrap().unwrap(), u.id).await.unwrap();
    let cleared = s.positions_written_after(plan.id, before_round).await.unwrap().unwrap();
    assert_eq!(numbers(&cleared), vec![1], "the position whose justification was cleared");
    assert!(cleared.positions[0].position.change.is_none());
    assert!(s.positions_written_after(domain::ids::PlanId(plan.id.get() + 1000), 0).await.unwrap().is_none());
}

#[tokio::test]
async fn plan_lists_page_through_indexes_in_order_with_counts() {
    use store::plans::PlanListKind::{All, AwaitingApproval};
    let (s, _d) = store().await;
    let sup = org(&s, "03722001600", None).await;
    // Named so that the id order differs from the name order.
    let b = s.ensure_organization(&new_org("Б-учреждение", "03722001601", Some(sup))).await.unwrap().id;
    let a = s.ensure_organization(&new_org("А-учреждение", "03722001602", Some(sup))).await.unwrap().id;
    let stranger = org(&s, "03722001603", None).await;
    let u = s.create_user("z", "h", "З", sup, Role::CustomerSpecialist).await.unwrap().unwrap();
    let mut on_approval = Vec::new();
    for (o, years) in [(sup, 2025..2027), (b, 2024..2027), (a, 2025..2027), (stranger, 2026..2027)] {
        for year in years {
            let p = s.create_plan(o, year, u.id).await.unwrap().unwrap();
            if o != stranger && year == 2026 {
                s.change_plan_status(&p, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
                on_approval.push(p.id);
            }
        }
    }
    let counts = s.plan_counts(sup).await.unwrap();
    assert_eq!(
        (counts.own, counts.subordinates, counts.awaiting),
        (2, 5, 2),
        "the own plan on approval awaits another"
    );
    // Own plans first, newest year first; then the subordinates' by name, newest year first.
    let expected: Vec<(OrgId, i32)> =
        vec![(sup, 2026), (sup, 2025), (a, 2026), (a, 2025), (b, 2026), (b, 2025), (b, 2024)];
    for size in 1..=8 {
        let mut seen = Vec::new();
        for page in 0..8 {
            let items = s.plans_visible_page(sup, All, &counts, page * size, size).await.unwrap();
            seen.extend(items.iter().map(|i| (i.plan.org_id, i.plan.plan_year)));
        }
        assert_eq!(seen, expected, "pages of {size}");
    }
    // Each row's count of positions is the plan's, kept with every add and delete.
    let first = s.plans_visible_page(sup, All, &counts, 1, 1).await.unwrap().remove(0).plan;
    let added = s.add_position(&first, &position(1), u.id).await.unwrap().unwrap();
    let first = s.plan(first.id).await.unwrap().unwrap();
    s.add_position(&first, &position(2), u.id).await.unwrap().unwrap();
    let first = s.plan(first.id).await.unwrap().unwrap();
    assert!(s.delete_position(&first, added.id, added.row_version, u.id).await.unwrap().is_ok());
    let row = s.plans_visible_page(sup, All, &counts, 1, 1).await.unwrap().remove(0);
    assert_eq!((row.plan.id, row.position_count), (first.id, 1));
    let queue = s.plans_visible_page(sup, AwaitingApproval, &counts, 0, 10).await.unwrap();
    let queue: Vec<OrgId> = queue.iter().map(|i| i.plan.org_id).collect();
    assert_eq!(queue, [a, b], "the subordinates' plans on approval, by name; not the own one");
    // The API's keyset pages: by id, every visible plan once, nothing of the stranger's.
    let mut after = None;
    let mut ids = Vec::new();
    loop {
        let page = s.plans_visible_after(sup, All, after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.plan.id);
        ids.extend(page.iter().map(|i| i.plan.id));
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!((ids.len(), ids == sorted), (7, true));
    let awaiting: Vec<_> = s.plans_visible_after(sup, AwaitingApproval, None, 10).await.unwrap();
    assert_eq!(awaiting.len(), 2);
    assert!(awaiting.iter().all(|i| on_approval.contains(&i.plan.id) && i.plan.org_id != sup));
    assert_eq!(
        s.plan_counts(stranger).await.unwrap(),
        store::plans::PlanCounts { own: 1, subordinates: 0, awaiting: 0 }
    );
    // Every transition moves the tally with it: return, resubmit, approve, start changes.
    let plan = s.plan(on_approval[1]).await.unwrap().unwrap();
    s.change_plan_status(&plan, PlanStatus::OnApproval, PlanStatus::Revision, Some("нет"), u.id, "x").await.unwrap();
    assert_eq!(s.plan_counts(sup).await.unwrap().awaiting, 1);
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    s.change_plan_status(&plan, PlanStatus::Revision, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    let snap = snapshot(vec![position(1)]);
    let approval = Approval { version_number: 0, packet: None, basis: &PacketBasis::New };
    s.approve_plan(&plan, &snap, &approval, u.id).await.unwrap();
    assert_eq!(s.plan_counts(sup).await.unwrap().awaiting, 1);
    let plan = s.plan(plan.id).await.unwrap().unwrap();
    s.start_changes(&plan, u.id).await.unwrap();
    // A transition refused for a stale plan leaves the tally alone.
    assert!(s.change_plan_status(&plan, PlanStatus::Approved, PlanStatus::Forming, None, u.id, "x").await.is_err());
    let counts = s.plan_counts(sup).await.unwrap();
    assert_eq!(counts, s.plan_counts_counted(sup).await.unwrap(), "the tally is what counting finds");
    assert_eq!((counts.own, counts.subordinates, counts.awaiting), (2, 5, 1));
    for o in [a, b, stranger] {
        assert_eq!(s.plan_counts(o).await.unwrap(), s.plan_counts_counted(o).await.unwrap());
    }
    assert_eq!(s.plans_visible_page(a, All, &s.plan_counts(a).await.unwrap(), 0, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn migration_0012_tallies_the_plans_already_there() {
    let (s, _d) = store().await;
    let sup = org(&s, "03722001600", None).await;
    let o = org(&s, "03722001684", Some(sup)).await;
    let u = s.create_user("z", "h", "З", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    for year in 2024..2027 {
        let plan = s.create_plan(o, year, u.id).await.unwrap().unwrap();
        if year == 2026 {
            s.change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
        } else {
            s.add_position(&plan, &position(1), u.id).await.unwrap().unwrap();
        }
    }
    for sql in [
        "DROP TABLE plan_tallies",
        "DROP INDEX organizations_superior",
        "ALTER TABLE plans DROP COLUMN position_count",
        "DELETE FROM schema_migrations WHERE version = 12",
    ] {
        sqlx::query(sql).execute(s.pool()).await.unwrap();
    }
    s.migrate().await.unwrap();
    let counts = s.plan_counts(sup).await.unwrap();
    assert_eq!((counts.subordinates, counts.awaiting), (3, 1));
    let rows = s.plans_visible_page(sup, store::plans::PlanListKind::All, &counts, 0, 10).await.unwrap();
    let counted: Vec<(i32, i64)> = rows.iter().map(|r| (r.plan.plan_year, r.position_count)).collect();
    assert_eq!(counted, [(2026, 0), (2025, 1), (2024, 1)], "the positions already there are counted");
    assert_eq!(counts, s.plan_counts_counted(sup).await.unwrap());
}

#[tokio::test]
async fn an_eis_copy_taken_in_replaces_the_working_copy_and_moves_the_tallies() {
    use store::eis_copies::{CopyPurpose, Reconciled, TakeRefusal, Taken};
    let (s, _d) = store().await;
    let sup = org(&s, "03722001600", None).await;
    let o = org(&s, "03722001684", Some(sup)).await;
    let u = s.create_user("z", "h", "З", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let numbers: std::collections::BTreeMap<String, String> =
        [("0003".to_owned(), "202703722001684001000001".to_owned())].into();
    let positions = [position(3)];
    let taken = |year, number| Taken {
        plan_year: year,
        plan_number: number,
        version_number: Some(2),
        positions: &positions,
        position_numbers: &numbers,
        raw: "<export/>",
    };
    // No plan for 2027 yet: one is created, kept in ЕИС, with ЕИС's positions.
    let id = s.take_eis_copy(o, &taken(2027, "202703722001684001"), u.id).await.unwrap().unwrap();
    let plan = s.plan(id).await.unwrap().unwrap();
    assert_eq!((plan.status, plan.eis_plan_number.as_deref()), (PlanStatus::KeptInEis, Some("202703722001684001")));
    let stored: Vec<u16> = s.positions(id).await.unwrap().iter().map(|p| p.position.purchase_number.get()).collect();
    assert_eq!(stored, [3]);
    let copy = s.latest_eis_copy(id, CopyPurpose::Import).await.unwrap().unwrap();
    assert_eq!((copy.version_number, &copy.position_numbers), (Some(2), &numbers));
    assert_eq!(s.eis_copy(id, copy.id).await.unwrap().unwrap().1, "<export/>");
    // A refresh replaces the positions again, and only the plan's own readings are found.
    let again = s.take_eis_copy(o, &taken(2027, "202703722001684001"), u.id).await.unwrap().unwrap();
    assert_eq!((again, s.positions(id).await.unwrap().len()), (id, 1));
    assert!(s.eis_copy(domain::ids::PlanId(id.get() + 1000), copy.id).await.unwrap().is_none());

    // A plan being formed with positions, and one on approval, are not replaced.
    let forming = s.create_plan(o, 2028, u.id).await.unwrap().unwrap();
    s.add_position(&forming, &position(1), u.id).await.unwrap().unwrap();
    let refused = s.take_eis_copy(o, &taken(2028, "202803722001684001"), u.id).await.unwrap();
    assert_eq!(refused, Err(TakeRefusal::UnapprovedPositions(1)));
    let on_approval = s.create_plan(o, 2029, u.id).await.unwrap().unwrap();
    s.change_plan_status(&on_approval, PlanStatus::Forming, PlanStatus::OnApproval, None, u.id, "x").await.unwrap();
    let refused = s.take_eis_copy(o, &taken(2029, "202903722001684001"), u.id).await.unwrap();
    assert_eq!(refused, Err(TakeRefusal::OnApproval));
    assert_eq!(s.plan(forming.id).await.unwrap().unwrap().status, PlanStatus::Forming);
    assert_eq!(s.positions(forming.id).await.unwrap()[0].position.purchase_number.get(), 1);
    // An empty plan being formed is taken over; the superior's tallies follow every move.
    let empty = s.create_plan(o, 2030, u.id).await.unwrap().unwrap();
    s.take_eis_copy(o, &taken(2030, "203003722001684001"), u.id).await.unwrap().unwrap();
    assert_eq!(s.plan(empty.id).await.unwrap().unwrap().status, PlanStatus::KeptInEis);
    assert_eq!(s.plan_counts(sup).await.unwrap(), s.plan_counts_counted(sup).await.unwrap());

    // A reconciliation is recorded with its count and journaled.
    let r = Reconciled {
        plan_id: id,
        org_id: o,
        plan_number: "202703722001684001",
        version_number: Some(3),
        position_numbers: &numbers,
        differences: 2,
        compared_with: None,
        raw: "<export v=\"3\"/>",
    };
    s.record_reconciliation(&r, u.id).await.unwrap();
    let found = s.latest_eis_copy(id, CopyPurpose::Reconciliation).await.unwrap().unwrap();
    assert_eq!((found.differences, found.version_number, found.compared_with), (Some(2), Some(3), None));
    let journal = s.audit_for("plan", id.get()).await.unwrap();
    let actions: Vec<&str> = journal.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "Загружен из ЕИС").count(), 2, "{actions:?}");
    assert!(journal.iter().any(|e| e.action == "Сверка с ЕИС" && e.details.contains("расхождениями: 2")));
}

#[tokio::test]
async fn a_job_records_its_progress_until_it_ends_and_not_after() {
    use store::jobs::{JobKind, JobProgress, JobStatus};
    let (s, _d) = store().await;
    let o = org(&s, "03722001001", None).await;
    let u = s.create_user("zakazchik", "hash", "Иванов И. И.", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    let id = s.create_job(JobKind::SendAll, u.id).await.unwrap();
    let fresh = s.job(id).await.unwrap().unwrap();
    assert_eq!((fresh.kind, fresh.user_id, fresh.status), (JobKind::SendAll, u.id, JobStatus::Running));
    assert_eq!(fresh.progress, JobProgress::default());
    assert_eq!(fresh.finished_at, None);
    assert_eq!(s.running_jobs(u.id, JobKind::SendAll, 5).await.unwrap().len(), 1);
    assert!(s.running_jobs(u.id, JobKind::ApproveMany, 5).await.unwrap().is_empty());

    let halfway = JobProgress {
        total: 4, done: 2, succeeded: 1, problems: vec!["Школа, версия 2: отказ".into()]
    };
    s.save_job_progress(id, &halfway).await.unwrap();
    assert_eq!(s.job(id).await.unwrap().unwrap().progress, halfway);
    let before = s.job(id).await.unwrap().unwrap().heartbeat_at;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.job_heartbeat(id).await.unwrap();
    assert!(s.job(id).await.unwrap().unwrap().heartbeat_at > before, "the heartbeat moves");

    let end = JobProgress { done: 4, succeeded: 3, ..halfway.clone() };
    s.finish_job(id, JobStatus::Done, &end, "Поставлено в очередь на отправку версий: 3").await.unwrap();
    let done = s.job(id).await.unwrap().unwrap();
    assert_eq!((done.status, &done.progress), (JobStatus::Done, &end));
    assert_eq!(done.message.as_deref(), Some("Поставлено в очередь на отправку версий: 3"));
    assert!(done.finished_at.is_some());
    assert!(s.running_jobs(u.id, JobKind::SendAll, 5).await.unwrap().is_empty());
    // A late step or a second ending of a finished job changes nothing.
    s.save_job_progress(id, &halfway).await.unwrap();
    s.finish_job(id, JobStatus::Failed, &halfway, "другое").await.unwrap();
    assert_eq!(s.job(id).await.unwrap().unwrap(), done);
    assert_eq!(s.job(id + 1).await.unwrap(), None);
}

/// The queue's depth for `/metrics`: sends per state asked for, with the oldest's request time;
/// states without sends and states not asked for are absent.
#[tokio::test]
async fn the_queue_depth_counts_sends_per_state_with_the_oldest() {
    let (s, _d) = store().await;
    let states = [SendStatus::Queued, SendStatus::Processing, SendStatus::Loaded];
    assert!(s.send_queue_depth(&states).await.unwrap().is_empty());
    let sup = org(&s, "03722001600", None).await;
    let started = store::now();
    let ids = queued_sends(&s, "03722001684", sup, 4).await;
    // One to processing, one to a final state: the queue keeps two queued.
    for (status, n) in [(SendStatus::Processing, 1), (SendStatus::Rejected, 1)] {
        for _ in 0..n {
            let c = s.claim_due_send("w1", store::now(), 30_000).await.unwrap().unwrap();
            let o = Outcome {
                status,
                next_attempt_at: None,
                count_attempt: true,
                failed: false,
                last_error: None,
                event: None,
                violations: 0,
            };
            assert!(s.record_outcome(c.send.id, "w1", &o).await.unwrap());
        }
    }
    let depth = s.send_queue_depth(&states).await.unwrap();
    let of = |st: SendStatus| depth.iter().find(|d| d.status == st).map(|d| d.count);
    assert_eq!((of(SendStatus::Queued), of(SendStatus::Processing), of(SendStatus::Loaded)), (Some(2), Some(1), None));
    assert_eq!(depth.len(), 2, "{depth:?}");
    let oldest = depth.iter().find(|d| d.status == SendStatus::Queued).unwrap().oldest_created_at.unwrap();
    assert!(oldest >= started - chrono::Duration::milliseconds(1) && oldest <= store::now(), "{oldest}");
    // Final states are counted only when asked for.
    let final_ones = s.send_queue_depth(&[SendStatus::Rejected]).await.unwrap();
    assert_eq!(final_ones.len(), 1);
    assert_eq!(final_ones[0].count, 1);
    assert_eq!(ids.len(), 4);
}

/// A send's new state is told to its sender once, however often it is recorded (a runner that
/// retries, a second instance that took the lease over, the same reply again).
#[tokio::test]
async fn a_sends_state_is_notified_once_and_only_to_its_sender() {
    let (s, _d) = store().await;
    let (o, u, v) = approved_version(&s).await;
    let login = EisLogin { login: "eis_user_int".into(), password: "Пароль-ЕИС-Notify-1".into() };
    let new = NewSend {
        version_id: v,
        org_id: o,
        requested_by: u,
        packet_id: "2f3c2a8e-5b1d-4c7e-9a2f-1d2e3f4a5b6c",
        packet_xml: "<x/>",
        login: &login,
        packet_note: "",
    };
    let id = s.enqueue_send(&new).await.unwrap();
    let loaded = Outcome {
        violations: 0,
        status: SendStatus::Loaded,
        next_attempt_at: Some(store::now()),
        count_attempt: true,
        failed: false,
        last_error: None,
        event: Some(EventNote {
            message: "ЕИС загрузила план-график", http_status: Some(200), raw_reply: None
        }),
    };
    let mut t = store::now();
    for worker in ["w1", "w2", "w1"] {
        t += ms(60_000);
        let c = s.claim_send_due_by(worker, t, t, 30_000).await.unwrap().expect("due again");
        assert!(s.record_outcome(c.send.id, worker, &loaded).await.unwrap());
    }
    let rejected = Outcome {
        violations: 3,
        status: SendStatus::Rejected,
        next_attempt_at: None,
        event: Some(EventNote {
            message: "ЕИС отклонила план-график: ошибок 3",
            http_status: Some(200),
            raw_reply: None,
        }),
        ..loaded
    };
    t += ms(60_000);
    let c = s.claim_send_due_by("w2", t, t, 30_000).await.unwrap().expect("due again");
    assert!(s.record_outcome(c.send.id, "w2", &rejected).await.unwrap());
    assert_eq!(s.send(id).await.unwrap().unwrap().status, SendStatus::Rejected);
    let (list, more) = s.notifications(u, 0, 50).await.unwrap();
    let loaded_told = list.iter().filter(|n| n.kind == Some(store::notify::Kind::SendLoaded)).count();
    assert_eq!(loaded_told, 1, "{list:?}");
    let told: Vec<_> = list.iter().filter(|n| n.kind == Some(store::notify::Kind::SendRejected)).collect();
    assert_eq!(told.len(), 1, "{list:?}");
    assert!(!more);
    assert!(told[0].subject.ends_with("ошибок 3"), "{}", told[0].subject);
    assert_eq!(told[0].link, format!("/versions/{}/status", v.get()));
    assert!(!told[0].body.contains("Пароль-ЕИС-Notify-1"));
    assert_eq!(s.unread_notifications(u).await.unwrap(), list.len() as i64);
    // Marking read is the recipient's: another user's id reaches nothing.
    assert!(!s.mark_notification_read(domain::ids::UserId(u.get() + 1000), told[0].id).await.unwrap());
    assert!(s.mark_notification_read(u, told[0].id).await.unwrap());
    assert_eq!(s.unread_notifications(u).await.unwrap(), list.len() as i64 - 1);
}

#[tokio::test]
async fn a_staged_onboarding_file_is_its_administrators_and_its_passwords_go_once() {
    use store::onboarding::Passwords;
    let (s, _d) = store().await;
    let o = org(&s, "03722001684", None).await;
    let admin = s.create_user("admin", "hash", "Админ", o, Role::Admin).await.unwrap().unwrap();
    let other = s.create_user("admin2", "hash", "Админ 2", o, Role::Admin).await.unwrap().unwrap();
    let later = store::now_ms_after(std::time::Duration::from_secs(3600));
    let id = s.stage_onboarding(admin.id, "orgs.csv", "table", b"\x00\xffbytes", later).await.unwrap();
    let staged = s.staged_onboarding(id, admin.id).await.unwrap().unwrap();
    assert_eq!(staged.content.as_deref(), Some(&b"\x00\xffbytes"[..]));
    assert!(s.staged_onboarding(id, other.id).await.unwrap().is_none(), "another administrator's file");
    // A newer upload replaces the one not confirmed.
    let newer = s.stage_onboarding(admin.id, "orgs2.csv", "table", b"v2", later).await.unwrap();
    assert!(s.staged_onboarding(id, admin.id).await.unwrap().is_none());
    // Expired: the file is gone, and it cannot be claimed.
    let gone = s.stage_onboarding(other.id, "old.csv", "table", b"old", 1).await.unwrap();
    assert!(s.staged_onboarding(gone, other.id).await.unwrap().unwrap().content.is_none());
    let job = s.create_job(store::jobs::JobKind::Onboarding, admin.id).await.unwrap();
    assert!(!s.claim_onboarding(gone, other.id, job).await.unwrap());
    assert!(!s.claim_onboarding(newer, other.id, job).await.unwrap(), "not the other's to claim");
    assert!(s.claim_onboarding(newer, admin.id, job).await.unwrap());
    assert!(!s.claim_onboarding(newer, admin.id, job).await.unwrap(), "claimed once");

    let csv = domain::secret::Secret::new("login;pass-WORD-1234\r\n".to_owned());
    s.save_onboarding_passwords(newer, &csv, 1, later).await.unwrap();
    assert_eq!(s.onboarding_of_job(job, admin.id).await.unwrap(), Some((newer, Some(true))));
    assert!(s.onboarding_of_job(job, other.id).await.unwrap().is_none());
    assert!(s.take_onboarding_passwords(job, other.id, o).await.unwrap().is_none());
    match s.take_onboarding_passwords(job, admin.id, o).await.unwrap() {
        Some(Passwords::Taken { csv: taken, count, .. }) => {
            assert_eq!((taken.expose(), count), (csv.expose(), 1));
        }
        other => panic!("the passwords expected, got {other:?}"),
    }
    assert!(matches!(s.take_onboarding_passwords(job, admin.id, o).await.unwrap(), Some(Passwords::Gone)));
    assert_eq!(s.onboarding_of_job(job, admin.id).await.unwrap(), Some((newer, Some(false))));
}
