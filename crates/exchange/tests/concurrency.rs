//! The runner at scale against eis-sandbox: many sends at once per instance, leases renewed while
//! ЕИС is slow, and several instances on one queue.

use domain::plan::{PlanSnapshot, PlanStatus};
use domain::testing::{self, INN, KPP, SPZ};
use domain::{OrgType, Role, SendStatus};
use eis::client::{ClientConfig, EisClient};
use exchange::{Exchange, ExchangeConfig};
use sandbox::Faults;
use std::collections::BTreeSet;
use std::time::Duration;
use store::Store;
use store::orgs::NewOrganization;
use store::plans::{Plan, Version};
use store::sends::EisLogin;
use store::testing::fresh_database_url;
use store::users::User;
use store::{SecretBox, Time};

/// The first plan year; plan `i` is for `FIRST_YEAR + i`, one sandbox plan-schedule each.
const FIRST_YEAR: i32 = 2026;

/// The sample customer's plan for `year` with one position placed that year.
fn snapshot(year: i32) -> PlanSnapshot {
    let mut position = testing::position(1, "1000");
    position.publish_year = year;
    let mut plan = testing::plan(OrgType::Budget, vec![position]);
    plan.plan_year = year;
    plan
}

fn config() -> ExchangeConfig {
    ExchangeConfig {
        poll_interval: Duration::from_millis(50),
        publication_poll_interval: Duration::from_secs(3600),
        retry_base: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        retry_ceiling: Duration::from_secs(3600),
        lease: Duration::from_secs(10),
        idle_interval: Duration::from_millis(20),
        ..ExchangeConfig::default()
    }
}

/// One queue, the sandbox, and `n` approved versions of the sample customer (one per plan year).
struct Fleet {
    store: Store,
    url: String,
    key: [u8; 32],
    sandbox: sandbox::RunningSandbox,
    plans: Vec<(Plan, Version)>,
    specialist: User,
    login: EisLogin,
    _dir: tempfile::TempDir,
}

async fn fleet(n: i32) -> Fleet {
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
    d.ensure_user("spec", "spec-pass", SPZ, false, true, "Петров Петр Петрович").await.unwrap();
    let c = d.regenerate_integration_password("spec").await.unwrap();
    let login = EisLogin { login: c.login, password: c.password };

    let url = fresh_database_url(dir.path()).await.unwrap();
    let key = SecretBox::generate_key();
    let store = Store::open(&url, SecretBox::new(key)).await.unwrap();
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
    let approving = Exchange::new(store.clone(), client(&sandbox), config());
    let mut plans = Vec::new();
    for i in 0..n {
        let year = FIRST_YEAR + i;
        let plan = store.create_plan(customer, year, specialist.id).await.unwrap().unwrap();
        store
            .change_plan_status(&plan, PlanStatus::Forming, PlanStatus::OnApproval, None, specialist.id, "x")
            .await
            .unwrap();
        let plan = store.plan(plan.id).await.unwrap().unwrap();
        let version = approving.approve(&plan, &snapshot(year), approver.id).await.unwrap();
        let plan = store.plan(plan.id).await.unwrap().unwrap();
        plans.push((plan, version));
    }
    Fleet { store, url, key, sandbox, plans, specialist, login, _dir: dir }
}

fn client(sandbox: &sandbox::RunningSandbox) -> EisClient {
    let mut client = ClientConfig::new(sandbox.base_url.clone());
    client.ca_file = Some(sandbox.ca_cert_path.clone());
    client.connect_timeout = Duration::from_secs(2);
    client.read_timeout = Duration::from_secs(10);
    EisClient::new(client).unwrap()
}

impl Fleet {
    /// An instance of plangraf's exchange on the same database through its own connections.
    async fn instance(&self, config: ExchangeConfig) -> Exchange {
        let store = Store::connect(&self.url, SecretBox::new(self.key)).await.unwrap();
        Exchange::new(store, client(&self.sandbox), config)
    }

    /// Requests a send of every version; returns the send ids in plan order.
    async fn request_all(&self, exchange: &Exchange) -> Vec<domain::ids::SendId> {
        let mut ids = Vec::new();
        for (plan, version) in &self.plans {
            ids.push(exchange.request_send(&self.specialist, plan, version, self.login.clone()).await.unwrap());
        }
        ids
    }

    /// How many of the sends have left the queue (ЕИС accepted their packet, or they ended).
    async fn answered(&self, ids: &[domain::ids::SendId]) -> usize {
        let mut n = 0;
        for id in ids {
            if self.store.send(*id).await.unwrap().unwrap().status != SendStatus::Queued {
                n += 1;
            }
        }
        n
    }
}

/// Polls `f` every 10 ms until it holds, or fails the test after `limit`.
async fn until<F: std::future::Future<Output = bool>>(what: &str, limit: Duration, mut f: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + limit;
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "not reached within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn leases_of(leases: &[store::sends::Lease], worker: &str, now: Time) -> usize {
    leases.iter().filter(|l| l.worker == worker && l.until > now).count()
}

#[tokio::test]
async fn one_instance_works_up_to_its_concurrency_at_once() {
    let f = fleet(16).await;
    // Every call takes 300 ms: one at a time, 16 uploads would hold one lease after another.
    f.sandbox.set_faults(Faults { latency: Duration::from_millis(300), ..Faults::default() });
    let exchange = f.instance(ExchangeConfig { concurrency: 8, ..config() }).await;
    let ids = f.request_all(&exchange).await;
    let runner = exchange.spawn();
    let mut most = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while f.answered(&ids).await < ids.len() {
        assert!(tokio::time::Instant::now() < deadline, "16 uploads not answered within 60 s");
        let held = leases_of(&f.store.leases().await.unwrap(), exchange.worker_id(), store::now());
        most = most.max(held);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    exchange.stop(Duration::from_secs(5));
    tokio::time::timeout(Duration::from_secs(30), runner).await.expect("the runner stops").unwrap();
    assert_eq!(most, 8, "sends in flight at once: the configured concurrency, never more");
    assert!(f.store.leases().await.unwrap().is_empty(), "every lease released");
    let drafts: usize = f.sandbox.directory().plans(SPZ).await.unwrap().iter().map(|p| p.versions.len()).sum();
    assert_eq!(drafts, 16);
    f.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_stopped_runner_gives_every_send_in_flight_the_grace_then_releases_them() {
    let f = fleet(4).await;
    f.sandbox.set_faults(Faults { latency: Duration::from_secs(600), ..Faults::default() });
    let exchange = f.instance(ExchangeConfig { concurrency: 3, ..config() }).await;
    let ids = f.request_all(&exchange).await;
    let runner = exchange.spawn();
    let worker = exchange.worker_id().to_owned();
    until("three sends leased", Duration::from_secs(20), || async {
        leases_of(&f.store.leases().await.unwrap(), &worker, store::now()) == 3
    })
    .await;
    exchange.stop(Duration::from_millis(200));
    tokio::time::timeout(Duration::from_secs(30), runner).await.expect("the runner stops").unwrap();
    assert!(f.store.leases().await.unwrap().is_empty(), "the leases of all three are released");
    assert_eq!(f.answered(&ids).await, 0, "their state is kept");
    // Another instance takes all four at once, not after the lease.
    let mut taken = BTreeSet::new();
    while let Some(c) = f.store.claim_due_send("other", store::now(), 1000).await.unwrap() {
        taken.insert(c.send.id);
    }
    assert_eq!(taken, ids.iter().copied().collect());
    f.sandbox.shutdown().await;
}

/// Lease 600 ms, renewed every 150 ms.
fn short_lease() -> ExchangeConfig {
    ExchangeConfig { lease: Duration::from_millis(600), lease_renewal: Duration::from_millis(150), ..config() }
}

#[tokio::test]
async fn a_slow_reply_keeps_the_send_with_its_worker_while_it_renews_the_lease() {
    let f = fleet(1).await;
    // ЕИС takes more than three leases to answer the upload.
    f.sandbox.set_faults(Faults { latency: Duration::from_secs(2), ..Faults::default() });
    let a = f.instance(short_lease()).await;
    let b = f.instance(short_lease()).await;
    let ids = f.request_all(&a).await;
    let runner_a = a.spawn();
    let worker_a = a.worker_id().to_owned();
    until("A leased the send", Duration::from_secs(20), || async {
        leases_of(&f.store.leases().await.unwrap(), &worker_a, store::now()) == 1
    })
    .await;
    let runner_b = b.spawn();
    let mut holders = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while f.answered(&ids).await < 1 {
        assert!(tokio::time::Instant::now() < deadline, "the upload not answered within 30 s");
        holders.extend(f.store.leases().await.unwrap().into_iter().map(|l| l.worker));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(holders, BTreeSet::from([worker_a.clone()]), "B never took the send over");
    let send = f.store.send(ids[0]).await.unwrap().unwrap();
    assert_eq!(send.attempts, 1, "one upload: {:?}", send.last_error);
    a.stop(Duration::from_secs(5));
    b.stop(Duration::from_secs(5));
    for r in [runner_a, runner_b] {
        tokio::time::timeout(Duration::from_secs(30), r).await.expect("the runner stops").unwrap();
    }
    f.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_killed_instance_loses_its_send_after_one_lease() {
    let f = fleet(1).await;
    f.sandbox.set_faults(Faults { latency: Duration::from_secs(600), ..Faults::default() });
    let a = f.instance(short_lease()).await;
    let b = f.instance(short_lease()).await;
    let ids = f.request_all(&a).await;
    let runner_a = a.spawn();
    let worker_a = a.worker_id().to_owned();
    until("A leased the send", Duration::from_secs(20), || async {
        leases_of(&f.store.leases().await.unwrap(), &worker_a, store::now()) == 1
    })
    .await;
    // Killed: the task and its sends end without releasing anything.
    runner_a.abort();
    assert!(runner_a.await.unwrap_err().is_cancelled());
    let killed_at = store::now();
    assert_eq!(f.store.leases().await.unwrap()[0].worker, worker_a, "the lease stays A's");
    f.sandbox.set_faults(Faults::default());
    let runner_b = b.spawn();
    until("B finished the send", Duration::from_secs(30), || async { f.answered(&ids).await == 1 }).await;
    let send = f.store.send(ids[0]).await.unwrap().unwrap();
    assert!(send.updated_at >= killed_at, "B answered after A was killed");
    assert!(f.store.leases().await.unwrap().is_empty());
    b.stop(Duration::from_secs(5));
    tokio::time::timeout(Duration::from_secs(30), runner_b).await.expect("the runner stops").unwrap();
    f.sandbox.shutdown().await;
}
