//! Approval of a 5,000-position plan-schedule end to end, through `app::Workflow::approve` on
//! SQLite: the pre-flight checks (with the schema check of the packet), the snapshot, the
//! packet fixed and validated, the version stored. The reference, in the same run: `eis`'s own
//! write + validate of the same packet (what approval cannot do without).
//!
//! `cargo run --release --bin approve` from the workspace root. Needs the official schemas
//! (`PLANGRAF_EIS_SCHEMAS` or `../shared/fixtures/eis/xsd/14_1`); says SKIPPED without them.
//! `BENCH_RUNS` (default 5) plans are approved, one per run; `BENCH_POSITIONS` (default 5000)
//! positions each. Results: docs/PERFORMANCE.md, «Approval of a 5,000-position plan».

use anyhow::Context;
use domain::ids::PlanId;
use domain::{OrgType, Role};
use std::time::{Duration, Instant};
use store::{SecretBox, Store};

fn main() -> anyhow::Result<()> {
    let Some(dir) = eis::schemas::locate() else {
        println!(
            "SKIPPED: approve benchmark: ЕИС schemas not found (set {} to the 14_1 directory)",
            eis::schemas::ENV_VAR
        );
        return Ok(());
    };
    let runs = env_usize("BENCH_RUNS", 5).max(1);
    let positions = env_usize("BENCH_POSITIONS", 5000).clamp(1, 9999);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(&dir, runs, positions))
}

async fn run(dir: &std::path::Path, runs: usize, positions: usize) -> anyhow::Result<()> {
    let schemas = std::sync::Arc::new(
        eis::validate::SchemaSet::compile(dir, eis::validate::Root::Integration).context("compiling the schemas")?,
    );
    let tmp = tempfile::tempdir()?;
    let url = format!("sqlite://{}", tmp.path().join("bench.sqlite").display());
    let store = Store::open(&url, SecretBox::new(SecretBox::generate_key())).await?;
    let committee = store
        .ensure_organization(&bench::organization(
            "Комитет по образованию",
            "03722000010",
            "7830000426",
            "784001001",
            OrgType::Authority,
            None,
        )?)
        .await?;
    let school = store
        .ensure_organization(&bench::organization(
            "Школа № 1",
            "03722001001",
            "7801000011",
            "780101001",
            OrgType::Budget,
            Some(committee.id),
        )?)
        .await?;
    let customer = store
        .create_user("zakazchik", "-", "Петрова А. С.", school.id, Role::CustomerSpecialist)
        .await?
        .context("customer")?;
    let approver = store
        .create_user("soglasovatel", "-", "Иванов И. И.", committee.id, Role::Approver)
        .await?
        .context("approver")?;
    let config = exchange::ExchangeConfig { schemas: Some(schemas.clone()), ..Default::default() };
    // Never contacted: approval talks to no one.
    let client = eis::client::EisClient::new(eis::client::ClientConfig::new("https://127.0.0.1:9"))?;
    let exchange = exchange::Exchange::new(store.clone(), client.clone(), config.clone());
    let app = app::Workflow::new(store.clone(), exchange);

    println!(
        "approve benchmark: {positions} positions per plan, {runs} runs (one plan each), SQLite, cores: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let (mut warm, mut cold, mut change, mut reference, mut fill) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 0..runs {
        let year = 2026 + 2 * i32::try_from(r)?;
        // Approved by the instance that submitted it: the positions it read then are kept.
        let plan = filled_plan(&app, &customer, year, positions, &mut fill).await?;
        let t0 = Instant::now();
        app.approve(&approver, plan).await.map_err(|e| anyhow::anyhow!("approve: {e}"))?;
        warm.push(t0.elapsed());
        // The same plan's change round, as at year-end: every position compared with the
        // approved version, one in a hundred edited with its reason.
        changed_plan(&app, &customer, plan, year).await?;
        let t0 = Instant::now();
        app.approve(&approver, plan).await.map_err(|e| anyhow::anyhow!("approve the change round: {e}"))?;
        change.push(t0.elapsed());
        // Approved by an instance that has not read the plan (another instance, or after a
        // restart): it reads and parses every position.
        let plan = filled_plan(&app, &customer, year + 1, positions, &mut fill).await?;
        let fresh =
            app::Workflow::new(store.clone(), exchange::Exchange::new(store.clone(), client.clone(), config.clone()));
        let t0 = Instant::now();
        let version = fresh.approve(&approver, plan).await.map_err(|e| anyhow::anyhow!("approve: {e}"))?;
        cold.push(t0.elapsed());

        // The reference: the same packet written and validated by eis alone.
        let packet = exchange::build::plan_packet(PlanId(plan.get()), 0, &version.snapshot, None, &config.envelope);
        let t0 = Instant::now();
        let xml = eis::packet::write_plan_packet(&packet);
        let valid = schemas.validate(&xml).is_ok();
        reference.push(t0.elapsed());
        anyhow::ensure!(valid, "the approved packet validates");
        let fixed = version.packet.as_ref().context("a packet fixed at approval")?;
        anyhow::ensure!(fixed.xml.len().abs_diff(xml.len()) < 64, "the reference is the same packet");
        println!(
            "run {r}: approve after submit {}  approve on a fresh instance {}  approve a change round {}  reference write+validate {}  ({:.2} MB packet)",
            ms(warm[r]),
            ms(cold[r]),
            ms(change[r]),
            ms(reference[r]),
            xml.len() as f64 / (1024.0 * 1024.0),
        );
    }
    let b = median(&mut reference.clone());
    println!("reference (eis write_plan_packet + SchemaSet::validate): median {}", ms(b));
    for (name, times) in [
        ("approve after submit, same instance", &mut warm),
        ("approve on a fresh instance", &mut cold),
        ("approve a change round, same instance", &mut change),
    ] {
        // Each approval and its run's reference ran under the same load.
        let mut ratios: Vec<f64> =
            times.iter().zip(&reference).map(|(a, b)| a.as_secs_f64() / b.as_secs_f64()).collect();
        ratios.sort_by(f64::total_cmp);
        let per_run = ratios.get(ratios.len() / 2).copied().unwrap_or_default();
        let a = median(times);
        println!(
            "{name}: median {}, ratio {:.2} of the medians, {per_run:.2} median of the runs' ratios  (goal <= 2.00)",
            ms(a),
            a.as_secs_f64() / b.as_secs_f64()
        );
    }
    println!(
        "adding one position (Workflow::add_position): median {:.2} ms",
        median(&mut fill).as_secs_f64() * 1000.0 / positions as f64
    );
    Ok(())
}

/// A plan of `positions` positions added through the workflow, submitted for approval.
async fn filled_plan(
    app: &app::Workflow,
    customer: &store::users::User,
    year: i32,
    positions: usize,
    fill: &mut Vec<Duration>,
) -> anyhow::Result<domain::ids::PlanId> {
    let plan = app.create_plan(customer, &year.to_string()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let editable = app.editable_plan(customer, plan.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let t0 = Instant::now();
    for i in 0..positions {
        app.add_position(customer, &editable, &bench::position_draft(year, i))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    fill.push(t0.elapsed());
    app.submit(customer, plan.id).await.map_err(|e| anyhow::anyhow!("submit: {e}"))?;
    Ok(plan.id)
}

/// «Внести изменения» on an approved plan, one position in a hundred edited with a change
/// reason, submitted again.
async fn changed_plan(
    app: &app::Workflow,
    customer: &store::users::User,
    plan: domain::ids::PlanId,
    year: i32,
) -> anyhow::Result<()> {
    app.start_changes(customer, plan).await.map_err(|e| anyhow::anyhow!("start changes: {e}"))?;
    let positions = app.store().positions(plan).await?;
    for (i, stored) in positions.iter().enumerate().step_by(100) {
        let editable = app.editable_position(customer, plan, stored.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut edited = bench::position_draft(year, i);
        edited.amount_current = format!("{}", 20_000 + i * 7);
        app.update_position(customer, &editable, &edited, "9", "Изменение потребности", stored.row_version)
            .await
            .map_err(|e| anyhow::anyhow!("edit: {e}"))?;
    }
    app.submit(customer, plan).await.map_err(|e| anyhow::anyhow!("submit the change round: {e}"))?;
    Ok(())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
