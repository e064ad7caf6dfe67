//! The web read paths at year-end scale: one plan of 5,000 positions being edited and 5,000
//! plans waiting in the approver's queue, under a closed-loop load of 32 connections.
//!
//! Seeds a database (a fresh SQLite file by default, or a PostgreSQL database given by URL:
//! it must be empty), starts plangraf in-process on loopback, signs in, and for each target
//! runs a fixed number of workers for a fixed time, each sending its next request when the
//! previous answer has been read. Reports p50, p99 and requests per second for each target and
//! for a reference in the same run — the static CSS, the floor of the HTTP stack — and the ratio.
//!
//! `cargo run --release -p bench --bin web -- [--database URL] [--seconds 10] [--connections 32]`

use anyhow::{Context, bail};
use clap::Parser;
use domain::ids::{OrgId, PlanId};
use domain::plan::PlanStatus;
use std::time::{Duration, Instant};
use store::Store;
use store::orgs::NewOrganization;

#[derive(Parser)]
struct Args {
    /// Database to seed: `sqlite://…` or `postgres://…` (an empty database). Default: a fresh
    /// SQLite file in a temporary directory.
    #[arg(long)]
    database: Option<String>,
    /// Seconds of load per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Positions of the plan being edited.
    #[arg(long, default_value_t = 5000)]
    positions: u32,
    /// Plans waiting for the approver.
    #[arg(long, default_value_t = 5000)]
    plans: u32,
    /// While measuring, a specialist saves one position of the big plan every this many
    /// milliseconds (0: nobody edits), so that its content stamp keeps moving.
    #[arg(long, default_value_t = 0)]
    edit_every_ms: u64,
    /// Measure only the targets whose name contains this text (the reference is always measured).
    #[arg(long)]
    only: Option<String>,
}

struct Figures {
    name: String,
    p50: Duration,
    p99: Duration,
    per_second: f64,
    bytes: usize,
    errors: usize,
}

/// A closed loop: `connections` workers, each sending its next request after reading the
/// previous answer, for `time`. Latencies of successful answers, sorted.
async fn load(
    http: &reqwest::Client,
    name: &str,
    url: &str,
    auth: &(String, String),
    connections: usize,
    time: Duration,
) -> anyhow::Result<Figures> {
    // Warm-up: the first view of a plan's content computes its findings.
    for _ in 0..3 {
        let r = http.get(url).header(&auth.0, &auth.1).send().await?;
        if !r.status().is_success() {
            bail!("{name}: {url} answered {}", r.status());
        }
        r.bytes().await?;
    }
    let started = Instant::now();
    let deadline = started + time;
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (http, url, auth) = (http.clone(), url.to_owned(), auth.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut errors, mut bytes) = (0usize, 0usize);
            while Instant::now() < deadline {
                let t = Instant::now();
                match http.get(&url).header(&auth.0, &auth.1).send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) => {
                            latencies.push(t.elapsed());
                            bytes = b.len();
                        }
                        Err(_) => errors += 1,
                    },
                    _ => errors += 1,
                }
            }
            (latencies, errors, bytes)
        }));
    }
    let mut all = Vec::new();
    let (mut errors, mut bytes) = (0, 0);
    for w in workers {
        let (l, e, b) = w.await?;
        all.extend(l);
        errors += e;
        bytes = bytes.max(b);
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    let at = |q: f64| all.get(((all.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    Ok(Figures {
        name: name.to_owned(),
        p50: at(0.50),
        p99: at(0.99),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        bytes,
        errors,
    })
}

fn org<'a>(name: &'a str, spz: &str, superior: Option<OrgId>) -> anyhow::Result<NewOrganization<'a>> {
    Ok(NewOrganization {
        name,
        short_name: name,
        superior_id: superior,
        spz_code: domain::SpzCode::parse(spz)?,
        inn: domain::org::Inn::parse("7801000011")?,
        kpp: domain::org::Kpp::parse("780101001")?,
        org_type: domain::OrgType::Budget,
        budget_level: 2,
        oktmo: "40307000",
    })
}

/// The plan of the demo school with `positions` positions, being edited; and `plans` plans of
/// the committee's subordinates waiting for its approval. Answers the big plan's id.
async fn seed(store: &Store, positions: u32, plans: u32) -> anyhow::Result<PlanId> {
    plangraf::demo::load(store).await?;
    let school = store.organization_by_spz(plangraf::demo::SCHOOL.spz_code).await?.context("demo school")?;
    let committee = store.organization_by_spz(plangraf::demo::COMMITTEE.spz_code).await?.context("committee")?;
    let author = store.user_by_login("zakazchik").await?.context("demo specialist")?.id;
    let plan = store.create_plan(school.id, 2026, author).await?.context("the school's 2026 plan exists")?;
    for n in 1..=positions {
        let mut p = domain::testing::position(n, &format!("{}", 1000 + n));
        p.object_info = format!("Поставка товаров для нужд учреждения, лот {n}");
        store.add_position(&plan, &p, author).await?.map_err(|refused| anyhow::anyhow!("position {n}: {refused:?}"))?;
    }
    // One plan per organization and year: 80 years (2020–2099) per subordinate organization.
    let mut made = 0;
    let mut org_number = 0u32;
    while made < plans {
        org_number += 1;
        let name = format!("Учреждение № {org_number}");
        let o = store.ensure_organization(&org(&name, &format!("0372209{org_number:04}"), Some(committee.id))?).await?;
        for year in 2020..2100 {
            if made == plans {
                break;
            }
            let p = store.create_plan(o.id, year, author).await?.context("a new plan")?;
            store.change_plan_status(&p, PlanStatus::Forming, PlanStatus::OnApproval, None, author, "x").await?;
            made += 1;
        }
    }
    Ok(plan.id)
}

/// Saves the plan's positions one after another, each with a new object name, every `every`.
async fn edit_forever(store: &Store, plan_id: PlanId, every: Duration) -> anyhow::Result<()> {
    let ids: Vec<_> = store.positions(plan_id).await?.into_iter().map(|p| p.id).collect();
    let actor = store.user_by_login("zakazchik").await?.context("demo specialist")?.id;
    for (n, id) in ids.iter().cycle().enumerate() {
        tokio::time::sleep(every).await;
        let plan = store.plan(plan_id).await?.context("the plan")?;
        let mut stored = store.position(plan_id, *id).await?.context("the position")?;
        stored.position.object_info = format!("Поставка товаров для нужд учреждения, правка {n}");
        store
            .update_position(&plan, *id, stored.row_version, &stored.position, actor)
            .await?
            .map_err(|refused| anyhow::anyhow!("edit refused: {refused:?}"))?;
    }
    Ok(())
}

/// Signs in through the form; answers the session cookie as a header.
async fn sign_in(base: &str, login: &str) -> anyhow::Result<(String, String)> {
    // The cookie comes with the redirect after sign-in: do not follow it.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let r = http
        .post(format!("{base}/login"))
        .header("origin", base)
        .form(&[("login", login), ("password", login)])
        .send()
        .await?;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|c| c.contains('=')))
        .context("no session cookie after sign-in")?
        .to_owned();
    Ok(("cookie".to_owned(), cookie))
}

async fn token(http: &reqwest::Client, base: &str, login: &str) -> anyhow::Result<(String, String)> {
    let r = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"login": login, "password": login}))
        .send()
        .await?;
    let v: serde_json::Value = r.json().await?;
    let t = v["token"].as_str().context("no token")?;
    Ok(("authorization".to_owned(), format!("Bearer {t}")))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    plangraf::install_crypto_provider();
    let dir = tempfile::tempdir()?;
    let url =
        args.database.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.sqlite").display()));
    let store = plangraf::open_store(&url, store::SecretBox::generate_key()).await?;
    let t = Instant::now();
    let plan = seed(&store, args.positions, args.plans).await?;
    eprintln!("seeded {} positions and {} plans in {:.1} s", args.positions, args.plans, t.elapsed().as_secs_f64());
    if url.starts_with("postgres") {
        // What autovacuum does to a loaded database in production: the planner's statistics.
        sqlx::query("ANALYZE").execute(store.pool()).await?;
    }
    let schemas = match eis::schemas::locate() {
        Some(d) => Some(plangraf::compile_schemas(&d)?),
        None => {
            eprintln!("no ЕИС schemas (PLANGRAF_EIS_SCHEMAS): the background schema check is off");
            None
        }
    };
    let config = plangraf::AppConfig {
        database_url: url.clone(),
        listen: "127.0.0.1:0".parse()?,
        // Nothing is sent: the runner is off.
        eis: eis::client::ClientConfig::new("https://127.0.0.1:9"),
        exchange: exchange::ExchangeConfig { schemas, ..Default::default() },
        secure_cookies: false,
        trusted_proxies: Vec::new(),
        run_exchange: false,
        metrics: plangraf::MetricsAccess::default(),
        notify: Default::default(),
        ecp: None,
    };
    let app = plangraf::start(config, store.clone()).await?;
    let base = app.url();
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.connections).build()?;
    let customer = sign_in(&base, "zakazchik").await?;
    let approver = sign_in(&base, "soglasovatel").await?;
    let api = token(&http, &base, "zakazchik").await?;
    let api_approver = token(&http, &base, "soglasovatel").await?;
    let none = ("x-bench".to_owned(), "1".to_owned());
    let time = Duration::from_secs(args.seconds);
    let n = args.connections;
    // Let the background schema check of the big plan finish before measuring its page.
    let _ = http.get(format!("{base}/plans/{plan}")).header(&customer.0, &customer.1).send().await?;
    for _ in 0..600 {
        let v: serde_json::Value =
            http.get(format!("{base}/api/v1/plans/{plan}")).header(&api.0, &api.1).send().await?.json().await?;
        if v["schema_check"] != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let editor = (args.edit_every_ms > 0).then(|| {
        let (store, every) = (store.clone(), Duration::from_millis(args.edit_every_ms));
        tokio::spawn(async move { edit_forever(&store, plan, every).await })
    });
    let plan_page = format!("plan page ({} positions)", args.positions);
    let targets: Vec<(&str, String, &(String, String))> = vec![
        ("reference: GET /static/app.css", format!("{base}/static/app.css"), &none),
        (&plan_page, format!("{base}/plans/{plan}"), &customer),
        ("API: a page of 50 positions", format!("{base}/api/v1/plans/{plan}/positions?limit=50"), &api),
        ("API: plan (header, first page)", format!("{base}/api/v1/plans/{plan}"), &api),
        ("plan list + approver queue (/plans)", format!("{base}/plans"), &approver),
        ("API: plan list (approver, first page of 100)", format!("{base}/api/v1/plans"), &api_approver),
        ("API: approver queue (first page of 100)", format!("{base}/api/v1/plans?awaiting=true"), &api_approver),
        ("sends page (/sends)", format!("{base}/sends"), &approver),
    ];
    let mut results = Vec::new();
    for (i, (name, url, auth)) in targets.iter().enumerate() {
        if i > 0 && args.only.as_ref().is_some_and(|only| !name.contains(only.as_str())) {
            continue;
        }
        let f = load(&http, name, url, auth, n, time).await?;
        eprintln!("{name}: p50 {:?} p99 {:?}", f.p50, f.p99);
        results.push(f);
    }
    let edits = match editor {
        Some(task) => {
            task.abort();
            match task.await {
                Ok(Err(e)) => return Err(e),
                _ => format!("one position saved every {} ms while measuring", args.edit_every_ms),
            }
        }
        None => "nobody edits while measuring".to_owned(),
    };
    let floor = results[0].p50.as_secs_f64().max(1e-6);
    println!("backend: {}", if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" });
    println!("{n} connections, {} s per target; {edits}", args.seconds);
    println!("| target | p50 ms | p99 ms | req/s | body KB | p50 / reference | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for f in &results {
        println!(
            "| {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.1} | {} |",
            f.name,
            f.p50.as_secs_f64() * 1e3,
            f.p99.as_secs_f64() * 1e3,
            f.per_second,
            f.bytes as f64 / 1024.0,
            f.p50.as_secs_f64() / floor,
            f.errors
        );
    }
    app.stop().await;
    Ok(())
}
