//! Year-end in a region, on PostgreSQL: 5,000 customers under 50 superiors, each with a
//! 100-position plan-schedule submitted for approval. Measured: the superiors approving every
//! plan (`app::Workflow::approve_many`, what «Утвердить выбранные» calls), then every customer
//! pressing «Отправить все» (`app::Workflow::send_all`), until the exchange runner (default
//! configuration, `ExchangeConfig::concurrency` sends at once) has every send final in the real
//! eis-sandbox. Peak memory: VmHWM of this process, reset after seeding; plangraf (web server,
//! workflow, runner) and the sandbox run in this one process, so the figure is an upper bound
//! of plangraf's own.
//!
//! ```text
//! .ci/postgres.sh start DIR PORT        # prints a URL
//! PLANGRAF_BENCH_DATABASE_URL=URL cargo run --release --bin region -- [--orgs 5000]
//! ```
//!
//! The URL names a server and a role that may `CREATE DATABASE`; each run makes a new database
//! `plangraf_region_<time>` there and leaves it (drop it by hand). With the official schemas
//! (`PLANGRAF_EIS_SCHEMAS` or `../shared/fixtures/eis/xsd/14_1`) every packet is validated on
//! approval and by the sandbox. Results: docs/PERFORMANCE.md, «Year-end region on PostgreSQL».

use anyhow::{Context, bail};
use clap::Parser;
use domain::ids::{OrgId, PlanId};
use domain::secret::Secret;
use domain::{OrgType, Role};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;
use store::orgs::NewOrganization;
use store::users::User;

#[derive(Parser, Debug)]
#[command(about = "Year-end region on PostgreSQL: bulk approval, then «Отправить все» for every organization")]
struct Args {
    /// PostgreSQL server URL of a role that may CREATE DATABASE (a fresh database is made there).
    #[arg(long, env = "PLANGRAF_BENCH_DATABASE_URL")]
    database_url: String,
    /// Customer organizations, each with one plan-schedule.
    #[arg(long, default_value_t = 5000)]
    orgs: usize,
    /// Superior organizations (the approvers); the customers are spread evenly among them.
    #[arg(long, default_value_t = 50)]
    superiors: usize,
    /// Positions per plan-schedule.
    #[arg(long, default_value_t = 100)]
    positions: u32,
    /// How long the sandbox keeps a packet `processing` (as `plangraf sandbox`'s default).
    #[arg(long, default_value_t = 3000)]
    processing_delay_ms: u64,
    /// Customers pressing «Отправить все» at the same moment.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// How long the sandbox trusts an integration password it verified (0: Argon2 on every
    /// call, as `plangraf sandbox` does by default). The sandbox stands in for ЕИС; its own
    /// password hashing is not plangraf's work, so by default it is paid once per login.
    #[arg(long, default_value_t = 3_600_000)]
    credential_cache_ms: u64,
    /// The run gives up after this many minutes of measuring.
    #[arg(long, default_value_t = 30)]
    timeout_min: u64,
}

const PLAN_YEAR: i32 = 2027;
/// Seeding work in flight at once (database round trips, Argon2 hashes in the sandbox).
const SEED_PARALLEL: usize = 8;

struct Customer {
    user: User,
    plan: PlanId,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.orgs == 0 || args.superiors == 0 || args.superiors > args.orgs || !(1..=9999).contains(&args.positions) {
        bail!("--orgs ≥ --superiors ≥ 1 and 1 ≤ --positions ≤ 9999");
    }
    plangraf::install_crypto_provider();
    plangraf::return_big_allocations_to_the_system();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "region benchmark: {} organizations under {} superiors, {} positions per plan; cores {cores}; load average {}; sandbox credential cache {} ms",
        args.orgs,
        args.superiors,
        args.positions,
        load_average(),
        args.credential_cache_ms
    );
    let schemas = match eis::schemas::locate() {
        Some(dir) => Some(plangraf::compile_schemas(&dir)?),
        None => {
            println!("WARNING: no ЕИС schemas (set {}); packets are not validated", eis::schemas::ENV_VAR);
            None
        }
    };
    let tmp = tempfile::tempdir()?;
    let sandbox = sandbox::start(sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: tmp.path().join("sandbox"),
        processing_delay: Duration::from_millis(args.processing_delay_ms),
        schemas: schemas.clone(),
    })
    .await?;
    if args.credential_cache_ms > 0 {
        sandbox.directory().set_credential_cache(Some(Duration::from_millis(args.credential_cache_ms)));
    }
    let url = fresh_database(&args.database_url).await?;
    println!("database: {}", plangraf::redact_url(&url));
    let store = plangraf::open_store(&url, store::SecretBox::generate_key()).await?;

    let mut eis = eis::client::ClientConfig::new(sandbox.base_url.clone());
    eis.ca_file = Some(sandbox.ca_cert_path.clone());
    let config = plangraf::AppConfig {
        database_url: url.clone(),
        listen: "127.0.0.1:0".parse()?,
        eis,
        exchange: exchange::ExchangeConfig { schemas, ..Default::default() },
        secure_cookies: false,
        trusted_proxies: Vec::new(),
        run_exchange: true,
        metrics: plangraf::MetricsAccess::default(),
        notify: Default::default(),
        ecp: None,
    };
    let concurrency = config.exchange.concurrency;
    let app = plangraf::start(config, store.clone()).await?;
    let workflow = app::Workflow::new(store.clone(), app.exchange.clone());

    let t = Instant::now();
    let (approvers, customers) = seed(&args, &store, &workflow, &sandbox.directory()).await?;
    let seeding = t.elapsed();
    println!("seeded in {} (not measured); measuring from now", secs(seeding));

    reset_peak_rss();
    let sampler = tokio::spawn(sample_rss());
    let deadline = Instant::now() + Duration::from_secs(args.timeout_min * 60);
    let measured = Instant::now();

    // Phase 1: every superior approves its customers' plans at once, each with one bulk call.
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for approver in approvers {
        let (workflow, store) = (workflow.clone(), store.clone());
        set.spawn(async move {
            let plans: Vec<PlanId> = store
                .plans_visible_to(approver.org_id)
                .await?
                .into_iter()
                .filter(|p| p.plan.org_id != approver.org_id)
                .map(|p| p.plan.id)
                .collect();
            let outcome =
                workflow.approve_many(&approver, &plans).await.map_err(|e| anyhow::anyhow!("approval: {e}"))?;
            anyhow::ensure!(outcome.problems.is_empty(), "approval problems: {:?}", outcome.problems);
            anyhow::Ok(outcome.approved)
        });
    }
    let mut approved = 0;
    while let Some(r) = set.join_next().await {
        approved += r??;
    }
    let approval = t.elapsed();
    anyhow::ensure!(approved == customers.len(), "{approved} plans approved of {}", customers.len());
    println!("approval: {approved} plans in {}", secs(approval));

    // Phase 2: every customer presses «Отправить все»; then the runner works the queue dry.
    let t = Instant::now();
    let workflow = Arc::new(workflow);
    let gate = Arc::new(tokio::sync::Semaphore::new(args.clients.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for c in customers {
        let (workflow, gate) = (workflow.clone(), gate.clone());
        set.spawn(async move {
            let _slot = gate.acquire_owned().await?;
            let outcome = workflow.send_all(&c.user).await.map_err(|e| anyhow::anyhow!("send all: {e}"))?;
            anyhow::ensure!(
                outcome.problems.is_empty() && outcome.queued == 1,
                "plan {}: queued {}, problems {:?}",
                c.plan,
                outcome.queued,
                outcome.problems
            );
            anyhow::Ok(())
        });
    }
    let mut queued = 0;
    while let Some(r) = set.join_next().await {
        r??;
        queued += 1;
    }
    let queueing = t.elapsed();
    println!("«Отправить все»: {queued} customers queued their plans in {}", secs(queueing));
    let mut last_report = Instant::now();
    // When all but the slowest 1 % were final: the tail is told apart from the bulk.
    let mut bulk_done: Option<Duration> = None;
    let counts = loop {
        let counts = send_counts(&store).await?;
        let open: i64 = counts.iter().filter(|(s, _)| s == "queued" || s == "processing").map(|(_, n)| n).sum();
        if bulk_done.is_none() && usize::try_from(open)? <= args.orgs / 100 {
            bulk_done = Some(t.elapsed());
        }
        if open == 0 {
            break counts;
        }
        if Instant::now() > deadline {
            println!("TIMEOUT after {} min: {counts:?}", args.timeout_min);
            break counts;
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            println!("  {} into sending: {counts:?}, RSS {} MB", secs(t.elapsed()), rss_mb("VmRSS"));
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let sending = t.elapsed();
    let total = measured.elapsed();
    sampler.abort();
    let peak = rss_mb("VmHWM");

    println!("sends by status: {counts:?}");
    println!("RESULT orgs={} superiors={} positions={}", args.orgs, args.superiors, args.positions);
    println!("  approval ({} superiors at once, Workflow::approve_many): {}", args.superiors, secs(approval));
    println!("  «Отправить все» pressed by every customer ({} at once): {}", args.clients, secs(queueing));
    println!(
        "  from the first press until every send is final (runner concurrency {concurrency}, sandbox processing {} ms): {}",
        args.processing_delay_ms,
        secs(sending)
    );
    if let Some(d) = bulk_done {
        println!("    of which until 99 % were final: {}", secs(d));
    }
    println!("  total measured: {}   (goal ≤ 600 s)", secs(total));
    println!("  peak RSS while measuring (VmHWM, plangraf + sandbox in one process): {peak} MB   (goal ≤ 500 MB)");
    println!("  seeding (not measured): {}; whole run {}", secs(seeding), secs(started.elapsed()));
    println!("  load average at the end: {}", load_average());

    app.stop().await;
    sandbox.shutdown().await;
    let loaded: i64 = counts.iter().filter(|(s, _)| s == "loaded" || s == "published").map(|(_, n)| n).sum();
    anyhow::ensure!(usize::try_from(loaded)? == args.orgs, "{loaded} of {} sends loaded in ЕИС: {counts:?}", args.orgs);
    Ok(())
}

/// Makes a new database on the server of `admin` and answers its URL.
async fn fresh_database(admin: &str) -> anyhow::Result<String> {
    if !admin.starts_with("postgres") {
        bail!("PLANGRAF_BENCH_DATABASE_URL must be a postgres:// URL");
    }
    sqlx::any::install_default_drivers();
    let name =
        format!("plangraf_region_{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis());
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await?;
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').context("the URL names no database")?;
    Ok(format!("{base}/{name}"))
}

/// Organizations, users, sandbox accounts, plans with positions, submitted. Returns the
/// approvers (one per superior) and the customers.
async fn seed(
    args: &Args,
    store: &Store,
    workflow: &app::Workflow,
    directory: &sandbox::Directory,
) -> anyhow::Result<(Vec<User>, Vec<Customer>)> {
    let t = Instant::now();
    let mut approvers = Vec::new();
    let mut superior_ids = Vec::new();
    for s in 0..args.superiors {
        let name = format!("Комитет № {}", s + 1);
        let org =
            store.ensure_organization(&organization(&name, &format!("9{s:010}"), &format!("78{s:08}"), None)?).await?;
        let user = store
            .create_user(&format!("approver{s}"), "-", "Смирнов Олег Викторович", org.id, Role::Approver)
            .await?
            .context("approver login taken")?;
        superior_ids.push(org.id);
        approvers.push(user);
    }

    // One customer: its organization and user in plangraf, its organization and user in the
    // sandbox with a fresh integration password saved in plangraf, its plan. The positions
    // come later, in bulk.
    let seed_one = |i: usize| {
        let (store, directory) = (store.clone(), directory.clone());
        let superior = superior_ids[i % superior_ids.len()];
        async move {
            let name = format!("ГБОУ «Школа № {}»", i + 1);
            let (spz, inn, kpp) = (format!("8{i:010}"), format!("77{i:08}"), "770101001");
            let org = store.ensure_organization(&organization(&name, &spz, &inn, Some(superior))?).await?;
            let user = store
                .create_user(&format!("customer{i}"), "-", "Петрова Анна Сергеевна", org.id, Role::CustomerSpecialist)
                .await?
                .context("customer login taken")?;
            directory.ensure_organization(&spz, &name, &inn, kpp).await?;
            let eis_login = format!("eis{i}");
            directory
                .ensure_user(&eis_login, "eis-cabinet-password", &spz, true, true, "Петрова Анна Сергеевна")
                .await?;
            let credentials = directory.regenerate_integration_password(&eis_login).await?;
            let password = Secret::from(credentials.password.expose().to_owned());
            store.save_eis_credentials(user.id, org.id, &credentials.login, Some(&password)).await?;
            let plan = store.create_plan(org.id, PLAN_YEAR, user.id).await?.context("plan exists")?;
            anyhow::Ok(Customer { user, plan: plan.id })
        }
    };
    let mut customers = in_parallel(args.orgs, seed_one).await?;
    customers.sort_by_key(|c| c.plan);
    println!("  organizations, users, ЕИС accounts, plans: {}", secs(t.elapsed()));

    // The positions: parsed with the domain types, stored for the first plan through the store,
    // then copied to every other plan in one statement.
    let t = Instant::now();
    let first = &customers[0];
    let plan = store.plan(first.plan).await?.context("first plan")?;
    for n in 1..=args.positions {
        let number = domain::ikz::PurchaseNumber::new(n)?;
        let position = bench::position_draft(PLAN_YEAR, n as usize)
            .parse(number, OrgType::Budget, None)
            .map_err(|e| anyhow::anyhow!("position {n}: {e:?}"))?;
        store
            .add_position(&plan, &position, first.user.id)
            .await?
            .map_err(|refused| anyhow::anyhow!("position {n} refused: {refused:?}"))?;
    }
    sqlx::query(
        "INSERT INTO positions (plan_id, purchase_number, data, search, okpd2, kvr, canceled, \
         kop_current, kop_first, kop_second, kop_subsequent) \
         SELECT p.id, x.purchase_number, x.data, x.search, x.okpd2, x.kvr, x.canceled, \
         x.kop_current, x.kop_first, x.kop_second, x.kop_subsequent FROM plans p CROSS JOIN positions x \
         WHERE x.plan_id = $1 AND p.id <> $1",
    )
    .bind(first.plan.get())
    .execute(store.pool())
    .await?;
    // The copies bypass `Store::add_position`, which keeps each plan's count of positions.
    sqlx::query("UPDATE plans SET position_count = $1").bind(i64::from(args.positions)).execute(store.pool()).await?;
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    println!("  positions: {}", secs(t.elapsed()));

    let t = Instant::now();
    let users: Vec<(User, PlanId)> = customers.iter().map(|c| (c.user.clone(), c.plan)).collect();
    in_parallel(users.len(), |i| {
        let (user, plan) = users[i].clone();
        let workflow = workflow.clone();
        async move { workflow.submit(&user, plan).await.map_err(|e| anyhow::anyhow!("submit {plan}: {e}")) }
    })
    .await?;
    println!("  submitted for approval: {}", secs(t.elapsed()));
    Ok((approvers, customers))
}

/// A seeded superior (an authority) or a customer (a budget institution) under it.
fn organization<'a>(
    name: &'a str,
    spz: &str,
    inn: &str,
    superior: Option<OrgId>,
) -> anyhow::Result<NewOrganization<'a>> {
    match superior {
        Some(_) => bench::organization(name, spz, inn, "770101001", OrgType::Budget, superior),
        None => bench::organization(name, spz, inn, "784001001", OrgType::Authority, None),
    }
}

/// Runs `job(0..n)` with at most [`SEED_PARALLEL`] at once; answers the results in any order.
async fn in_parallel<T, F, Fut>(n: usize, job: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if set.len() >= SEED_PARALLEL
            && let Some(r) = set.join_next().await
        {
            out.push(r??);
        }
        set.spawn(job(i));
    }
    while let Some(r) = set.join_next().await {
        out.push(r??);
    }
    Ok(out)
}

async fn send_counts(store: &Store) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as::<_, (String, i64)>("SELECT status, COUNT(*) FROM eis_sends GROUP BY status ORDER BY status")
        .fetch_all(store.pool())
        .await?)
}

/// Logs the resident set every 10 s, so a report can say when the peak came.
async fn sample_rss() {
    let t = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        eprintln!("  [{}] RSS {} MB, peak {} MB", secs(t.elapsed()), rss_mb("VmRSS"), rss_mb("VmHWM"));
    }
}

/// A line of /proc/self/status in MB (0 where there is none).
fn rss_mb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Resets VmHWM to the current RSS (Linux: "5" to clear_refs), so seeding does not count.
fn reset_peak_rss() {
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        println!("WARNING: could not reset the peak RSS; it includes seeding");
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
