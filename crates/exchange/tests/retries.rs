//! The runner against eis-sandbox with injected faults: what can heal is retried with a jittered
//! backoff on the failures in a row; a 4xx that will not change ends the send after one attempt;
//! at the retry ceiling, and before a version goes again under a new packet id, ЕИС is asked about
//! the old packet, so a reply lost on the way never leads to a second draft.

use domain::plan::{PlanSnapshot, PlanStatus};
use domain::testing::{self, INN, KPP, SPZ};
use domain::{OrgType, Role, SendStatus};
use eis::client::{ClientConfig, EisClient};
use exchange::{Exchange, ExchangeConfig, RequestError};
use sandbox::Faults;
use std::time::Duration;
use store::Store;
use store::orgs::NewOrganization;
use store::plans::{Plan, Version};
use store::sends::{EisLogin, Send};
use store::testing::fresh_store;
use store::users::User;

/// The sample plan with one position of 1000 ₽.
fn snapshot() -> PlanSnapshot {
    testing::plan(OrgType::Budget, vec![testing::position(1, "1000")])
}

struct Setup {
    store: Store,
    exchange: Exchange,
    sandbox: sandbox::RunningSandbox,
    plan: Plan,
    version: Version,
    specialist: User,
    login: EisLogin,
    _dir: tempfile::TempDir,
}

fn config(ceiling: Duration) -> ExchangeConfig {
    ExchangeConfig {
        poll_interval: Duration::from_millis(20),
        publication_poll_interval: Duration::from_millis(50),
        retry_base: Duration::from_millis(20),
        retry_max: Duration::from_millis(80),
        retry_ceiling: ceiling,
        lease: Duration::from_secs(10),
        idle_interval: Duration::from_millis(20),
        ..ExchangeConfig::default()
    }
}

async fn setup(config: ExchangeConfig) -> Setup {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox::start(sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("sandbox"),
        processing_delay: Duration::ZERO,
        schemas: None,
    })
    .await
    .unwrap();
    let d = sandbox.directory();
    d.ensure_organization(SPZ, "ГБОУ «Школа № 1»", INN, KPP).await.unwrap();
    d.ensure_organization("03722000001", "ГБОУ ШКОЛА № 2", "7802000001", KPP).await.unwrap();
    d.ensure_user("spec", "spec-pass", SPZ, false, true, "Петров Петр Петрович").await.unwrap();
    d.ensure_user("other", "other-pass", "03722000001", true, true, "Кузнецов Иван Иванович").await.unwrap();
    let c = d.regenerate_integration_password("spec").await.unwrap();
    let login = EisLogin { login: c.login, password: c.password };

    let store = fresh_store(dir.path()).await.unwrap();
    let org = |spz: &'static str, superior| NewOrganization {
        name: "Организация",
        short_name: "Организация",
        superior_id: superior,
        spz_code: domain::SpzCode::parse(spz).unwrap(),
        inn: domain::org::Inn::parse(INN).unwrap(),
        kpp: domain::org::Kpp::parse(KPP).unwrap(),
        org_type: OrgType::Budget,
        budget_level: 2,
        oktmo: "40307000",
    };
    let sup = store.ensure_organization(&org("03722000010", None)).await.unwrap().id;
    let customer = store.ensure_organization(&org(SPZ, Some(sup))).await.unwrap().id;
    let specialist =
        store.create_user("z", "h", "Заказчик", customer, Role::CustomerSpecialist).await.unwrap().unwrap();
    let approver = store.create_user("a", "h", "Согласующий", sup, Role::Approver).await.unwrap().unwrap();
    let plan = store.create_plan(customer, 2026, specialist.id).await.unwrap().unwrap();
    store
        .change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, specialist.id, "x")
        .await
        .unwrap();
    let plan = store.plan(plan.id).await.unwrap().unwrap();

    let mut client = ClientConfig::new(sandbox.base_url.clone());
    client.ca_file = Some(sandbox.ca_cert_path.clone());
    client.connect_timeout = Duration::from_secs(2);
    client.read_timeout = Duration::from_secs(5);
    let exchange = Exchange::new(store.clone(), EisClient::new(client).unwrap(), config);
    let version = exchange.approve(&plan, &snapshot(), approver.id).await.unwrap();
    let plan = store.plan(plan.id).await.unwrap().unwrap();
    Setup { store, exchange, sandbox, plan, version, specialist, login, _dir: dir }
}

impl Setup {
    async fn request(&self) -> Result<domain::ids::SendId, RequestError> {
        self.exchange.request_send(&self.specialist, &self.plan, &self.version, self.login.clone()).await
    }

    async fn send(&self, id: domain::ids::SendId) -> Send {
        self.store.send(id).await.unwrap().unwrap()
    }

    /// Works the send falling due next, one at a time and without waiting out retry delays or
    /// poll intervals, until `done` holds (bounded: 50 steps).
    async fn drive(&self, id: domain::ids::SendId, done: impl Fn(&Send) -> bool) -> Send {
        for _ in 0..50 {
            let s = self.send(id).await;
            if done(&s) {
                return s;
            }
            let worked = self.exchange.run_next_within(Duration::from_secs(3600)).await.unwrap();
            assert!(worked, "nothing falls due; the send is {:?}: {:?}", s.status, s.last_error);
        }
        let s = self.send(id).await;
        panic!("not reached in 50 steps; the send is {:?}: {:?}", s.status, s.last_error);
    }

    async fn timeline(&self, id: domain::ids::SendId) -> String {
        let events = self.store.send_events(id).await.unwrap();
        // An event that recurred identically is one line with a count: spelled out once per occurrence.
        events
            .iter()
            .flat_map(|e| {
                let line = format!("[{}] {}", e.status.code(), e.message);
                std::iter::repeat_n(line, usize::try_from(e.repeats).unwrap() + 1)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn drafts(&self) -> usize {
        self.sandbox.directory().plans(SPZ).await.unwrap().len()
    }
}

#[tokio::test]
async fn a_lasting_4xx_ends_the_send_after_one_attempt() {
    let s = setup(config(Duration::from_secs(3600))).await;
    // ЕИС answers this request with a 400, as it will every time it is repeated.
    s.sandbox.set_faults(Faults { refuse_next: 1, ..Faults::default() });
    let id = s.request().await.unwrap();
    assert!(s.exchange.run_once().await.unwrap());
    let send = s.send(id).await;
    assert_eq!(send.status, SendStatus::RequestRefused, "{:?}", send.last_error);
    assert_eq!(send.attempts, 1);
    let why = send.last_error.clone().unwrap_or_default();
    assert!(why.contains("код ответа 400") && why.contains("документ не может быть принят"), "{why}");
    assert!(why.starts_with("Отправка прекращена: ЕИС отклоняет запрос"), "{why}");
    assert!(
        s.store.claim_due_send("probe", store::now() + chrono::TimeDelta::days(1), 1000).await.unwrap().is_none(),
        "never retried"
    );
    assert_eq!(s.exchange.give_up_at(&send), None);
    // A final state that is not live: the version may be sent again.
    assert_eq!(exchange::send_blocked(&s.store, &s.plan, &s.version).await.unwrap(), None);
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn server_errors_heal_and_the_run_of_failures_resets() {
    let s = setup(config(Duration::from_secs(3600))).await;
    s.sandbox.set_faults(Faults { fail_next: 2, ..Faults::default() });
    let id = s.request().await.unwrap();
    let first = s.drive(id, |x| x.consecutive_failures == 2).await;
    assert_eq!(first.status, SendStatus::Queued);
    assert_eq!(first.attempts, 2);
    let since = first.failing_since.expect("the run of failures has a start");
    assert!(since >= first.first_attempt_at.unwrap());
    let deadline = s.exchange.give_up_at(&first).expect("a deadline while waiting on ЕИС");
    assert_eq!(deadline, first.first_attempt_at.unwrap() + chrono::TimeDelta::hours(1));
    // The second failure in a row waits between half and all of min(max, base·2) = 40 ms
    // (measured from the write, a moment after the delay was drawn).
    let wait = (first.next_attempt_at - first.updated_at).num_milliseconds();
    assert!((10..=40).contains(&wait), "{wait} ms");

    let done = s.drive(id, |x| x.status == SendStatus::Loaded).await;
    assert_eq!((done.consecutive_failures, done.failing_since), (0, None), "reset by ЕИС's answer");
    assert_eq!(done.attempts, 3);
    assert_eq!(s.drafts().await, 1);
    let timeline = s.timeline(id).await;
    assert_eq!(timeline.matches("ЕИС ответила ошибкой сервера (код ответа 503)").count(), 2, "{timeline}");
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn at_the_ceiling_a_packet_that_arrived_is_followed_not_given_up() {
    // Every failure is past a zero ceiling: the first one already asks ЕИС about the packet.
    let s = setup(config(Duration::ZERO)).await;
    // The upload is received, but its reply never comes back.
    s.sandbox.set_faults(Faults { lose_reply_next: 1, ..Faults::default() });
    let id = s.request().await.unwrap();
    assert!(s.exchange.run_once().await.unwrap());
    let send = s.send(id).await;
    assert!(
        matches!(send.status, SendStatus::Processing | SendStatus::Loaded),
        "{:?}: {:?}",
        send.status,
        send.last_error
    );
    let done = s.drive(id, |x| x.status == SendStatus::Loaded).await;
    assert_eq!(done.consecutive_failures, 0);
    let timeline = s.timeline(id).await;
    assert!(timeline.contains("plangraf спросил ЕИС о пакете: ЕИС его получила"), "{timeline}");
    assert!(!timeline.contains("попытки прекращены"), "{timeline}");
    assert_eq!(s.store.sends_for_version(s.version.id).await.unwrap().len(), 1);
    assert_eq!(s.drafts().await, 1, "one draft");
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_unknown_packet_gives_up_and_a_new_send_asks_about_it_first() {
    let s = setup(config(Duration::ZERO)).await;
    // The upload fails, and so does the question about the packet: nothing is known.
    s.sandbox.set_faults(Faults { fail_next: 1, drop_next: 1, ..Faults::default() });
    let id = s.request().await.unwrap();
    assert!(s.exchange.run_once().await.unwrap());
    let send = s.send(id).await;
    assert_eq!(send.status, SendStatus::GaveUp, "{:?}", send.last_error);
    let why = send.last_error.clone().unwrap_or_default();
    assert!(why.starts_with("ЕИС не отвечает с ") && why.contains("попытки прекращены"), "{why}");
    assert!(why.contains("Узнать у ЕИС, получен ли пакет, не удалось"), "{why}");
    assert!(
        s.store.claim_due_send("probe", store::now() + chrono::TimeDelta::days(1), 1000).await.unwrap().is_none(),
        "final"
    );

    // ЕИС is well again: a new send first asks about the old packet, which ЕИС never got.
    let again = s.request().await.unwrap();
    assert_ne!(again, id);
    let new = s.send(again).await;
    assert_ne!(new.packet_id, send.packet_id, "a new packet id");
    let timeline = s.timeline(again).await;
    assert!(
        timeline.contains(&format!("ЕИС подтвердила, что прежний пакет этой версии ({}) не получала", send.packet_id)),
        "{timeline}"
    );
    s.drive(again, |x| x.status == SendStatus::Loaded).await;
    assert_eq!(s.drafts().await, 1);
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_new_send_follows_the_old_packet_when_it_arrived() {
    let s = setup(config(Duration::ZERO)).await;
    // The upload is received but its reply lost, and the question about it fails too: the
    // runner gives up, not knowing that ЕИС holds the packet.
    s.sandbox.set_faults(Faults { lose_reply_next: 1, fail_next: 1, ..Faults::default() });
    let id = s.request().await.unwrap();
    assert!(s.exchange.run_once().await.unwrap());
    assert_eq!(s.send(id).await.status, SendStatus::GaveUp);

    // «Отправить на ООС» again: ЕИС is asked about the old packet, knows it, and the old send
    // is followed; no new packet goes.
    let again = s.request().await.unwrap();
    assert_eq!(again, id, "the earlier send is taken up again");
    assert_eq!(s.store.sends_for_version(s.version.id).await.unwrap().len(), 1);
    let done = s.drive(id, |x| x.status == SendStatus::Loaded).await;
    assert_eq!(done.consecutive_failures, 0);
    let timeline = s.timeline(id).await;
    assert!(
        timeline.contains("Перед новой отправкой plangraf спросил ЕИС о прежнем пакете этой версии: ЕИС его получила"),
        "{timeline}"
    );
    assert_eq!(s.drafts().await, 1, "one draft");
    // Held by ЕИС now: no further send.
    assert!(matches!(s.request().await, Err(RequestError::Refused(_))));
    s.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_stopped_runner_releases_the_send_it_could_not_finish() {
    let s = setup(config(Duration::from_secs(3600))).await;
    // ЕИС takes far longer to answer than the runner is given at shutdown.
    s.sandbox.set_faults(Faults { latency: Duration::from_secs(600), ..Faults::default() });
    let id = s.request().await.unwrap();
    let runner = s.exchange.spawn();
    // Wait (bounded: 20 s) until the runner has claimed the send and is waiting on ЕИС.
    for _ in 0..2000 {
        if s.send(id).await.first_attempt_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(s.send(id).await.first_attempt_at.is_some(), "the runner claimed the send");
    assert!(s.store.claim_due_send("other", store::now(), 1000).await.unwrap().is_none(), "leased");
    s.exchange.stop(Duration::ZERO);
    tokio::time::timeout(Duration::from_secs(30), runner).await.expect("the runner stops").unwrap();
    let send = s.send(id).await;
    assert_eq!(send.status, SendStatus::Queued, "the state is kept");
    // Another instance takes it over at once, not after the 10 s lease.
    let other = s.store.claim_due_send("other", store::now(), 1000).await.unwrap();
    assert_eq!(other.map(|c| c.send.id), Some(id));
}
