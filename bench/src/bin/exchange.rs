//! Benchmark (b): the year-end bulk send through plangraf's queue to eis-sandbox, against the
//! sandbox's raw rate for the same work.
//!
//! 2,000 approved versions of 50 positions each (seeded in-process, not measured) are sent:
//!
//! * **raw**: a load tool in this binary makes the same calls plangraf makes — upload, then
//!   status polls until the final confirmation — with the same packets (so distinct packet ids:
//!   replaying one id would only hit the sandbox's known-id shortcut), with the same ЕИС client
//!   and the same number of calls in flight, against a fresh sandbox;
//! * **plangraf**: «Отправить все» of every organization, then plangraf's exchange runner
//!   works the queue against another fresh sandbox until every version is loaded (and, with
//!   `--auto-place-ms`, until every one is placed and plangraf has seen it).
//!
//! Both sandboxes are alike: same organizations and users, the same processing delay, the same
//! latency fault, and the cache of verified integration passwords on for both (docs/SANDBOX.md),
//! so neither side pays Argon2 per call. Run in release; see docs/PERFORMANCE.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use eis::client::{ClientConfig, Credentials, EisClient};
use eis::reply::ConfirmationResult;

#[derive(Parser, Debug, Clone)]
#[command(about = "Bulk send of approved versions through plangraf's queue vs. the sandbox's raw rate")]
struct Args {
    /// Approved versions to send (50 per organization, one per plan year).
    #[arg(long, default_value_t = 2000)]
    versions: usize,
    /// Positions per version.
    #[arg(long, default_value_t = 50)]
    positions: u32,
    /// Calls in flight: plangraf's runner concurrency and the load tool's workers.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The sandbox's latency fault, added to every integration reply, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// How long the sandbox keeps a packet `processing`, in milliseconds.
    #[arg(long, default_value_t = 0)]
    processing_delay_ms: u64,
    /// plangraf's pause before asking again about a packet still `processing`, in milliseconds.
    #[arg(long, default_value_t = 200)]
    poll_interval_ms: u64,
    /// Place each loaded draft automatically this long after its result is due, and also
    /// measure until plangraf has seen every placement.
    #[arg(long)]
    auto_place_ms: Option<u64>,
    /// plangraf's pause between two placement checks of a loaded send, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    publication_poll_ms: u64,
    /// Only the load tool (no plangraf run).
    #[arg(long)]
    raw_only: bool,
}

const PER_ORG: usize = 50;
const FIRST_YEAR: i32 = 2026;
/// The bound on each measured phase.
const PHASE_LIMIT: Duration = Duration::from_secs(30 * 60);

fn spz(i: usize) -> String {
    format!("0372200{:04}", 5000 + i)
}

fn inn(i: usize) -> String {
    format!("780100{:04}", 5000 + i)
}

const KPP: &str = "780101001";

/// A fresh sandbox with the benchmark's organizations and one integration user each; answers
/// it and each organization's credentials.
async fn sandbox_for(
    dir: &std::path::Path,
    orgs: usize,
    args: &Args,
) -> anyhow::Result<(sandbox::RunningSandbox, Vec<Credentials>)> {
    let sb = sandbox::start(sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.to_owned(),
        processing_delay: Duration::from_millis(args.processing_delay_ms),
        schemas: None,
    })
    .await?;
    let d = sb.directory();
    d.set_credential_cache(Some(Duration::from_secs(3600)));
    // Thousands of calls from one address and a few logins in flight together must not look
    // like guessing (an attempt counts until it succeeds).
    d.set_throttle_policy(sandbox::ThrottlePolicy {
        login_failures: 1000,
        address_failures: 1000,
        ..Default::default()
    });
    let mut creds = Vec::new();
    for i in 0..orgs {
        d.ensure_organization(&spz(i), &format!("ГБОУ «Школа № {}»", 500 + i), &inn(i), KPP).await?;
        let login = format!("eis_bench_{i}");
        d.ensure_user(&login, "eis-bench-password", &spz(i), true, true, "Иванов Иван Иванович").await?;
        creds.push(d.regenerate_integration_password(&login).await?);
    }
    sb.set_faults(sandbox::Faults { latency: Duration::from_millis(args.latency_ms), ..Default::default() });
    Ok((sb, creds))
}

fn client_for(sb: &sandbox::RunningSandbox) -> anyhow::Result<EisClient> {
    let mut cfg = ClientConfig::new(sb.base_url.clone());
    cfg.ca_file = Some(sb.ca_cert_path.clone());
    Ok(EisClient::new(cfg)?)
}

/// Organizations, customers and 50 plans each, approved; answers the customers in the order of
/// the organizations (the index of [`spz`]).
async fn seed(workflow: &app::Workflow, store: &store::Store, args: &Args) -> anyhow::Result<Vec<store::users::User>> {
    plangraf::demo::load(store).await?;
    let committee = store.organization_by_spz(plangraf::demo::COMMITTEE.spz_code).await?.context("committee")?;
    let approver = store.user_by_login("soglasovatel").await?.context("approver")?;
    let orgs = args.versions.div_ceil(PER_ORG);
    let mut tasks = Vec::new();
    for i in 0..orgs {
        let (workflow, store) = (workflow.clone(), store.clone());
        let plans = PER_ORG.min(args.versions - i * PER_ORG);
        let positions = args.positions;
        let committee_id = committee.id;
        tasks.push(tokio::spawn(async move {
            let name = format!("ГБОУ «Школа № {}»", 500 + i);
            store
                .ensure_organization(&store::orgs::NewOrganization {
                    name: &name,
                    short_name: &name,
                    superior_id: Some(committee_id),
                    spz_code: domain::SpzCode::parse(&spz(i))?,
                    inn: domain::org::Inn::parse(&inn(i))?,
                    kpp: domain::org::Kpp::parse(KPP)?,
                    org_type: domain::OrgType::Budget,
                    budget_level: 2,
                    oktmo: "40911000",
                })
                .await?;
            let (user, _) = app::users::Administration::new(store.clone())
                .add_user(
                    &format!("bench{i}"),
                    "Konec-goda-2026!".into(),
                    "Петрова Анна Сергеевна",
                    &spz(i),
                    domain::Role::CustomerSpecialist,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut ids = Vec::new();
            for k in 0..plans {
                let year = FIRST_YEAR + i32::try_from(k)?;
                let plan = workflow.create_plan(&user, &year.to_string()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                // Positions in one transaction per plan: seeding is not what is measured.
                let mut tx = store.write_tx().await?;
                for n in 1..=positions {
                    let mut p = domain::testing::position(n, &format!("{} 000,00", 100 + n));
                    p.publish_year = year;
                    sqlx::query("INSERT INTO positions (plan_id, purchase_number, data) VALUES ($1, $2, $3)")
                        .bind(plan.id.get())
                        .bind(i64::from(n))
                        .bind(serde_json::to_string(&p)?)
                        .execute(&mut *tx)
                        .await?;
                }
                // Written past `Store::add_position`, which keeps the plan's count of positions.
                sqlx::query("UPDATE plans SET position_count = $1 WHERE id = $2")
                    .bind(i64::from(positions))
                    .bind(plan.id.get())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                workflow.submit(&user, plan.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                ids.push(plan.id);
            }
            anyhow::Ok((user, ids))
        }));
    }
    let mut customers = Vec::new();
    for t in tasks {
        let (user, plans) = t.await??;
        let done = workflow.approve_many(&approver, &plans).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if done.approved != plans.len() {
            bail!("approval refused: {:?}", done.problems);
        }
        customers.push(user);
    }
    Ok(customers)
}

/// The load tool: `concurrency` workers take the packets in turn; each uploads one, then asks
/// for its status until the final confirmation. Answers the elapsed time.
async fn raw(
    client: EisClient,
    packets: Vec<(usize, String, String)>,
    creds: Vec<Credentials>,
    args: &Args,
) -> anyhow::Result<Duration> {
    let packets = Arc::new(packets);
    let creds = Arc::new(creds);
    let next = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, packets, creds, next, calls) =
            (client.clone(), packets.clone(), creds.clone(), next.clone(), calls.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((org, id, xml)) = packets.get(i) else { return anyhow::Ok(()) };
                let c = &creds[*org];
                let first = client.upload(c, xml).await?;
                calls.fetch_add(1, Ordering::Relaxed);
                if first.value.result != ConfirmationResult::Processing {
                    bail!("upload of {id}: {:?}", first.value.result);
                }
                loop {
                    let r = client.status(c, id).await?;
                    calls.fetch_add(1, Ordering::Relaxed);
                    match r.value.result {
                        ConfirmationResult::Processing => {}
                        ConfirmationResult::Success => break,
                        other => bail!("packet {id}: {other:?} {:?}", r.value.violations),
                    }
                }
            }
        }));
    }
    for w in workers {
        tokio::time::timeout(PHASE_LIMIT, w).await.context("the load tool took too long")???;
    }
    let elapsed = started.elapsed();
    println!("raw: {} calls", calls.load(Ordering::Relaxed));
    Ok(elapsed)
}

async fn count(pool: &sqlx::AnyPool, statuses: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM eis_sends WHERE status IN ({statuses})")))
        .fetch_one(pool)
        .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PLANGRAF_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    plangraf::install_crypto_provider();
    let args = Args::parse();
    if args.versions == 0 || args.concurrency == 0 {
        bail!("--versions and --concurrency must be at least 1");
    }
    let orgs = args.versions.div_ceil(PER_ORG);
    let dir = tempfile::tempdir()?;
    println!(
        "exchange bench: {} versions of {} positions, {} organizations, concurrency {}, latency {} ms, processing delay {} ms",
        args.versions, args.positions, orgs, args.concurrency, args.latency_ms, args.processing_delay_ms
    );

    // SQLite in the temporary directory, or a fresh database on the PostgreSQL server named by
    // PLANGRAF_TEST_DATABASE_URL (as the tests do).
    let url = store::testing::fresh_database_url(dir.path()).await?;
    println!("plangraf's database: {:?}", store::Backend::from_url(&url).context("backend")?);
    let key = store::SecretBox::generate_key();
    let store = plangraf::open_store(&url, key).await?;

    // Seeding: its own sandbox is not needed; the client is never used by the workflow here.
    let exchange_config = exchange::ExchangeConfig {
        concurrency: args.concurrency,
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        publication_poll_interval: Duration::from_millis(args.publication_poll_ms),
        retry_base: Duration::from_millis(200),
        retry_max: Duration::from_secs(5),
        idle_interval: Duration::from_millis(50),
        ..Default::default()
    };
    let idle = EisClient::new(ClientConfig::new("https://127.0.0.1:9"))?;
    let workflow =
        app::Workflow::new(store.clone(), exchange::Exchange::new(store.clone(), idle, exchange_config.clone()));
    let seeding = Instant::now();
    let customers = seed(&workflow, &store, &args).await?;
    println!("seeded {} approved versions in {:.1} s", args.versions, seeding.elapsed().as_secs_f64());

    // The packets exactly as plangraf will send them.
    let mut packets = Vec::new();
    for (org, c) in customers.iter().enumerate() {
        for item in store.plans_visible_to(c.org_id).await? {
            if item.plan.org_id != c.org_id {
                continue;
            }
            for v in store.versions(item.plan.id).await? {
                let p = v.packet.context("a version without its packet")?;
                packets.push((org, p.id, p.xml));
            }
        }
    }
    if packets.len() != args.versions {
        bail!("{} packets for {} versions", packets.len(), args.versions);
    }

    // Raw.
    let (sb, creds) = sandbox_for(&dir.path().join("sandbox-raw"), orgs, &args).await?;
    let raw_time = raw(client_for(&sb)?, packets, creds, &args).await?;
    sb.shutdown().await;
    let raw_rate = args.versions as f64 / raw_time.as_secs_f64();
    println!("raw: {} versions loaded in {:.1} s: {raw_rate:.1} versions/s", args.versions, raw_time.as_secs_f64());
    if args.raw_only {
        return Ok(());
    }

    // plangraf.
    let (sb, creds) = sandbox_for(&dir.path().join("sandbox-plangraf"), orgs, &args).await?;
    sb.set_auto_place(args.auto_place_ms.map(Duration::from_millis));
    for (c, cr) in customers.iter().zip(&creds) {
        workflow.save_eis_credentials(c, &cr.login, Some(&cr.password)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut eis = ClientConfig::new(sb.base_url.clone());
    eis.ca_file = Some(sb.ca_cert_path.clone());
    let app = plangraf::start(
        plangraf::AppConfig {
            database_url: url.clone(),
            listen: "127.0.0.1:0".parse()?,
            eis,
            exchange: exchange_config,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            run_exchange: true,
            metrics: plangraf::MetricsAccess::default(),
            notify: Default::default(),
            ecp: None,
        },
        plangraf::open_store(&url, key).await?,
    )
    .await?;
    let pool = store.pool().clone();
    let started = Instant::now();
    for c in &customers {
        let sent = workflow.send_all(c).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if !sent.problems.is_empty() {
            bail!("{:?}", sent.problems);
        }
    }
    let total = i64::try_from(args.versions)?;
    let loaded_at = loop {
        let done = count(&pool, "'loaded', 'published'").await?;
        let failed = count(&pool, "'auth_error', 'rejected', 'conflict', 'request_refused', 'gave_up'").await?;
        if failed > 0 {
            bail!("{failed} sends failed");
        }
        if done == total {
            break started.elapsed();
        }
        if started.elapsed() > PHASE_LIMIT {
            bail!("only {done} of {total} loaded after {PHASE_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let rate = args.versions as f64 / loaded_at.as_secs_f64();
    println!("plangraf: {} versions loaded in {:.1} s: {rate:.1} versions/s", args.versions, loaded_at.as_secs_f64());
    println!("ratio plangraf / raw: {:.2}", rate / raw_rate);
    if args.auto_place_ms.is_some() {
        let placed_at = loop {
            if count(&pool, "'published'").await? == total {
                break started.elapsed();
            }
            if started.elapsed() > PHASE_LIMIT {
                bail!("not every version placed after {PHASE_LIMIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        println!(
            "plangraf: {} versions placed (seen by publication polling) in {:.1} s: {:.1} versions/s",
            args.versions,
            placed_at.as_secs_f64(),
            args.versions as f64 / placed_at.as_secs_f64()
        );
    }
    app.stop().await;
    sb.shutdown().await;
    store.close().await;
    Ok(())
}
