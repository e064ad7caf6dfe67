//! `/metrics` scraped and parsed after real activity, who may read it, and the JSON logs of the
//! real binary holding no secret.
//!
//! The exposition is read by [`parse`], a strict reader of the Prometheus text format 0.0.4
//! written for these tests: every line must be a comment (`# HELP`, `# TYPE`) or a sample
//! `name{label="value",…} number`, every sample's family must have been typed and described
//! before it, counters end in `_total`, and each histogram's buckets must rise to `+Inf`, which
//! must equal its `_count`.

use crate::common::*;
use crate::demo_process::Demo;
use crate::logs::{Cabinet, number_after, save_credentials, text_after};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One sample of the text format.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition.
#[derive(Debug)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, String>,
}

impl Scrape {
    /// The value of the sample with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.samples.iter().find(|s| s.name == name && s.labels == want).map(|s| s.value)
    }

    /// The sum of the samples of `name` whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v)))
            .map(|s| s.value)
            .sum()
    }
}

fn metric_name_ok(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn label_name_ok(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a label set `{a="x",b="y"}` from the start of `s`; answers it and the rest.
fn read_labels(s: &str, line: &str) -> (BTreeMap<String, String>, String) {
    let mut labels = BTreeMap::new();
    let mut chars = s.chars().peekable();
    assert_eq!(chars.next(), Some('{'));
    loop {
        if chars.peek() == Some(&'}') {
            chars.next();
            break;
        }
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        assert!(label_name_ok(&name), "bad label name {name:?} in {line}");
        assert_eq!(chars.next(), Some('='), "{line}");
        assert_eq!(chars.next(), Some('"'), "{line}");
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => panic!("bad escape {other:?} in {line}"),
                },
                Some('"') => break,
                Some(c) => value.push(c),
                None => panic!("unterminated label value in {line}"),
            }
        }
        assert!(labels.insert(name, value).is_none(), "label repeated in {line}");
        match chars.next() {
            Some(',') => {}
            Some('}') => break,
            other => panic!("unexpected {other:?} in {line}"),
        }
    }
    (labels, chars.collect())
}

fn read_value(s: &str, line: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => s.parse().unwrap_or_else(|_| panic!("bad value {s:?} in {line}")),
    }
}

/// Parses and checks an exposition (see the module's documentation); panics on any fault.
pub fn parse(text: &str) -> Scrape {
    let mut types = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut samples: Vec<Sample> = Vec::new();
    let family_of = |name: &str, types: &BTreeMap<String, String>| -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && types.get(base).is_some_and(|t| t == "histogram")
            {
                return base.to_owned();
            }
        }
        name.to_owned()
    };
    assert!(text.ends_with('\n'), "the exposition ends with a line feed");
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let (kind, name, rest) = (parts.next().unwrap(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            assert!(metric_name_ok(name), "bad name in {line}");
            match kind {
                "HELP" => {
                    assert!(!rest.is_empty(), "empty help: {line}");
                    assert!(helps.insert(name.to_owned()), "help repeated: {line}");
                }
                "TYPE" => {
                    assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&rest), "{line}");
                    assert!(!samples.iter().any(|s| family_of(&s.name, &types) == name), "TYPE after samples: {line}");
                    assert!(types.insert(name.to_owned(), rest.to_owned()).is_none(), "type repeated: {line}");
                }
                _ => panic!("unknown comment {line}"),
            }
            continue;
        }
        assert!(!line.starts_with('#'), "{line}");
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("no value in {line}"));
        let name = &line[..name_end];
        assert!(metric_name_ok(name), "bad metric name in {line}");
        let (labels, rest) = if line[name_end..].starts_with('{') {
            read_labels(&line[name_end..], line)
        } else {
            (BTreeMap::new(), line[name_end..].to_owned())
        };
        let rest = rest.strip_prefix(' ').unwrap_or_else(|| panic!("no space before the value in {line}"));
        assert!(!rest.contains(' '), "a timestamp or garbage after the value in {line}");
        let value = read_value(rest, line);
        let family = family_of(name, &types);
        let kind = types.get(&family).unwrap_or_else(|| panic!("sample of an untyped family: {line}"));
        assert!(helps.contains(&family), "sample without HELP: {line}");
        if kind == "counter" {
            assert!(name.ends_with("_total"), "a counter not ending in _total: {line}");
            assert!(value >= 0.0, "{line}");
        }
        if kind == "histogram" {
            assert!(name != family, "a histogram sample must be _bucket, _sum or _count: {line}");
            assert_eq!(labels.contains_key("le"), name.ends_with("_bucket"), "{line}");
        }
        samples.push(Sample { name: name.to_owned(), labels, value });
    }
    // Every histogram series: buckets rising to +Inf, which equals the count.
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.name == format!("{family}_bucket")) {
            let mut key = s.labels.clone();
            let le = read_value(&key.remove("le").unwrap(), family);
            series.entry(key).or_default().push((le, s.value));
        }
        for (labels, buckets) in series {
            assert!(
                buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                "{family} {labels:?}: {buckets:?}"
            );
            let last = buckets.last().unwrap();
            assert!(last.0.is_infinite(), "{family} {labels:?} lacks +Inf");
            let count = samples
                .iter()
                .find(|s| s.name == format!("{family}_count") && s.labels == labels)
                .unwrap_or_else(|| panic!("{family} {labels:?} lacks _count"));
            assert_eq!(count.value, last.1, "{family} {labels:?}: +Inf is not the count");
            assert!(
                samples.iter().any(|s| s.name == format!("{family}_sum") && s.labels == labels),
                "{family} {labels:?} lacks _sum"
            );
        }
    }
    Scrape { samples, types }
}

async fn scrape_text(base: &str, token: Option<&str>) -> (u16, Option<String>, String) {
    let mut req = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    (status, content_type, r.text().await.unwrap())
}

async fn scrape(h: &Harness) -> Scrape {
    let (status, content_type, body) = scrape_text(&h.app.url(), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type.as_deref(), Some("text/plain; version=0.0.4; charset=utf-8"));
    parse(&body)
}

const EIS_SECONDS: &str = "plangraf_eis_request_duration_seconds";
const HTTP_SECONDS: &str = "plangraf_http_request_duration_seconds";

/// A wrong password, pages under their route templates, and a send placed in the sandbox: each
/// is in the next scrape, exactly as often as it happened.
#[tokio::test]
async fn metrics_count_sign_in_failures_routes_sends_and_eis_round_trips() {
    let h = Harness::start_driven().await;
    h.sandbox.set_auto_place(Some(Duration::ZERO));
    let before = scrape(&h).await;
    for (family, kind) in [
        ("plangraf_send_queue_depth", "gauge"),
        ("plangraf_send_outcomes_total", "counter"),
        (EIS_SECONDS, "histogram"),
        (HTTP_SECONDS, "histogram"),
        ("plangraf_sign_in_failures_total", "counter"),
        ("plangraf_notifications_sent_total", "counter"),
    ] {
        assert_eq!(before.types.get(family).map(String::as_str), Some(kind), "{family}");
    }
    assert_eq!(before.value("plangraf_sign_in_failures_total", &[("reason", "wrong_password")]), Some(0.0));
    assert_eq!(before.value("plangraf_send_queue_up", &[]), Some(1.0));
    assert_eq!(before.sum(&format!("{EIS_SECONDS}_count"), &[]), 0.0, "no call to ЕИС yet");
    assert!(before.value("plangraf_build_info", &[("version", env!("CARGO_PKG_VERSION"))]) == Some(1.0));
    assert!(before.value("plangraf_process_start_time_seconds", &[]).is_some_and(|t| t > 1.7e9));

    let mut stranger = h.client();
    let p = stranger.post_raw("/login", &[("login", "zakazchik"), ("password", "not-the-password")], None).await;
    assert!(p.has("Неверный логин или пароль"), "{}", p.body);

    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut customer, "2026").await;
    assert_eq!(customer.get(&format!("/plans/{plan}")).await.status, 200);
    let (login, password) = h.eis_credentials("eis_user").await;
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &password)]).await;

    let queued = scrape(&h).await;
    assert_eq!(queued.value("plangraf_send_queue_depth", &[("state", "queued")]), Some(1.0));
    assert_eq!(queued.value("plangraf_send_queue_depth", &[("state", "loaded")]), Some(0.0));
    assert!(queued.value("plangraf_send_queue_oldest_seconds", &[("state", "queued")]).is_some_and(|s| s >= 0.0));

    drive_to_status(&h, &mut customer, version, "Размещена в ЕИС").await;
    let after = scrape(&h).await;
    assert_eq!(after.value("plangraf_sign_in_failures_total", &[("reason", "wrong_password")]), Some(1.0));
    assert_eq!(after.value("plangraf_sign_in_failures_total", &[("reason", "throttled")]), Some(0.0));
    assert_eq!(after.value("plangraf_send_outcomes_total", &[("state", "published")]), Some(1.0));
    for other in ["auth_error", "rejected", "conflict", "request_refused", "gave_up"] {
        assert_eq!(after.value("plangraf_send_outcomes_total", &[("state", other)]), Some(0.0), "{other}");
    }
    for state in ["queued", "processing", "loaded"] {
        assert_eq!(after.value("plangraf_send_queue_depth", &[("state", state)]), Some(0.0), "{state}");
    }
    // Every kind of call the send made was timed: the upload, the status poll, the placement
    // check and the export of the placed plan.
    for op in ["upload", "status", "doc_project_status", "export"] {
        let n = after.value(&format!("{EIS_SECONDS}_count"), &[("operation", op)]).unwrap();
        assert!(n >= 1.0, "{op}: {n}");
        assert!(after.value(&format!("{EIS_SECONDS}_sum"), &[("operation", op)]).unwrap() > 0.0, "{op}");
    }
    // HTTP requests under their route templates, never their paths.
    let plan_views = after.value(
        &format!("{HTTP_SECONDS}_count"),
        &[("route", "/plans/{id}"), ("method", "GET"), ("status_class", "2xx")],
    );
    assert!(plan_views.is_some_and(|n| n >= 2.0), "{plan_views:?}");
    assert!(after.sum(&format!("{HTTP_SECONDS}_count"), &[("route", "/login"), ("method", "POST")]) >= 2.0);
    assert!(
        after.sum(&format!("{HTTP_SECONDS}_count"), &[("route", "/versions/{id}/send"), ("method", "POST")]) >= 1.0
    );
    assert!(
        after
            .value(
                &format!("{HTTP_SECONDS}_count"),
                &[("route", "/metrics"), ("method", "GET"), ("status_class", "2xx")]
            )
            .is_some()
    );
    let routes: BTreeSet<&str> = after
        .samples
        .iter()
        .filter(|s| s.name.starts_with(HTTP_SECONDS))
        .filter_map(|s| s.labels.get("route"))
        .map(String::as_str)
        .collect();
    for route in &routes {
        assert!(!route.chars().any(|c| c.is_ascii_digit()), "a raw path among the route labels: {route} in {routes:?}");
    }
    h.app.stop().await;
}

const TOKEN: &str = "metrics-token-of-the-test-7f3a9c1e";

/// Outside the allow list only the token opens `/metrics`; everyone else finds nothing there.
/// Through a proxy nobody declared, a loopback peer is not enough.
#[tokio::test]
async fn metrics_answer_allowed_addresses_and_the_token_only() {
    let h = Harness::start_configured(|c| {
        c.metrics = plangraf::MetricsAccess::new(vec!["10.0.0.0/8".parse().unwrap()], Some(TOKEN)).unwrap();
    })
    .await;
    let base = h.app.url();
    for token in [None, Some("metrics-token-of-the-test-7f3a9c1"), Some("")] {
        let (status, _, body) = scrape_text(&base, token).await;
        assert_eq!(status, 404, "{token:?}");
        assert!(!body.contains("plangraf_"), "{token:?}: {body}");
    }
    let (status, content_type, body) = scrape_text(&base, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type.as_deref(), Some("text/plain; version=0.0.4; charset=utf-8"));
    let scrape = parse(&body);
    assert_eq!(scrape.value("plangraf_send_queue_up", &[]), Some(1.0));
    assert!(!body.contains(TOKEN));
    // The refusals were counted as what they were: requests of /metrics answered 4xx.
    assert_eq!(
        scrape.value(
            &format!("{HTTP_SECONDS}_count"),
            &[("route", "/metrics"), ("method", "GET"), ("status_class", "4xx")]
        ),
        Some(3.0)
    );
    h.app.stop().await;

    let h = Harness::start_driven().await;
    let base = h.app.url();
    assert_eq!(scrape_text(&base, None).await.0, 200, "loopback is allowed by default");
    let forwarded = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .header("X-Forwarded-For", "127.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status().as_u16(), 404, "forwarded by a proxy plangraf was not told to trust");
    h.app.stop().await;
}

/// The real binary with JSON logs at the most verbose filter: signing in with a wrong and a
/// right password, ЕИС credentials saved, a send loaded and placed in the sandbox, an API token
/// used, `/metrics` read with its token. Then every line on standard error is JSON, the request
/// spans are in them, and no secret used is in any output or in `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_and_metrics_hold_no_secret() {
    plangraf::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let database_url = store::testing::fresh_database_url(dir.path()).await.unwrap();
    let json = [("PLANGRAF_LOG_FORMAT", "json"), ("PLANGRAF_METRICS_TOKEN", TOKEN)];
    let mut demo = Demo::start_with_env(dir.path(), &database_url, "trace", &["--processing-delay-ms", "200"], &json);
    let stderr = demo.stderr();
    let (app, eis) = demo.addresses();

    // The specialist's password, set with the command line (its own JSON logs kept too).
    let user_password = "Uncommon-User-Pass-4471";
    let wrong_password = "Wrong-Guess-Pass-9034";
    let cli = run_cli(
        dir.path(),
        &database_url,
        &["user", "passwd", "--login", "zakazchik", "--password-stdin"],
        user_password,
    );

    let mut stranger = Client::new(app.clone());
    let p = stranger.post_raw("/login", &[("login", "zakazchik"), ("password", wrong_password)], None).await;
    assert!(p.has("Неверный логин или пароль"), "{}", p.body);

    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder().cookie_provider(jar.clone()).build().unwrap();
    let mut customer = Client { base: app.clone(), http, csrf: String::new() };
    customer.login("zakazchik", user_password).await;
    let cookies = reqwest::cookie::CookieStore::cookies(&*jar, &app.parse().unwrap()).unwrap();
    let session = text_after(&format!("{};", cookies.to_str().unwrap()), "plangraf_session=", ";");
    assert!(session.len() >= 32, "{session}");

    let plan = customer.create_plan("2026").await;
    assert!(customer.add_position(plan, &POSITION).await.has("Позиция добавлена"));
    assert!(customer.post(&format!("/plans/{plan}/submit"), &[]).await.has("На согласовании"));
    let mut approver = Client::new(app.clone());
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    assert!(approver.post(&format!("/plans/{plan}/approve"), &[]).await.has("План-график утвержден"));
    let versions = customer.get(&format!("/plans/{plan}?tab=versions")).await;
    let version = number_after(&versions.body, "/versions/");

    let mut cabinet =
        Cabinet::sign_in(&eis, &dir.path().join("sandbox").join("sandbox-cert.pem"), "eis_admin", "eis_admin").await;
    let (eis_login, eis_password) = cabinet.integration_password("eis_user").await;
    save_credentials(&mut customer, &eis_login, &eis_password).await;
    customer.get(&format!("/versions/{version}/send")).await;
    let csrf = customer.csrf.clone();
    assert!(csrf.len() >= 16, "{csrf}");
    customer.post(&format!("/versions/{version}/send"), &[("login", &eis_login), ("password", "")]).await;
    wait_for_status(&mut customer, version, "Загрузка завершена успешно").await;
    cabinet.place_latest_draft().await;
    wait_for_status(&mut customer, version, "Размещена в ЕИС").await;

    // The API: a token for the password, used.
    let api = reqwest::Client::new();
    let r = api
        .post(format!("{app}/api/v1/auth/token"))
        .json(&serde_json::json!({"login": "zakazchik", "password": user_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let api_token = r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let me = api.get(format!("{app}/api/v1/me")).bearer_auth(&api_token).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 200);

    let (status, _, metrics) = scrape_text(&app, Some(TOKEN)).await;
    assert_eq!(status, 200, "{metrics}");
    let scraped = parse(&metrics);
    assert_eq!(scraped.value("plangraf_send_outcomes_total", &[("state", "published")]), Some(1.0));
    assert_eq!(scraped.value("plangraf_sign_in_failures_total", &[("reason", "wrong_password")]), Some(1.0));

    let key = std::fs::read_to_string(dir.path().join("secret.key")).unwrap().trim().to_owned();
    assert_eq!(key.len(), 64, "the key file holds 64 hex digits");
    let (_, everything) = demo.signal_and_wait("-TERM");
    let errors = String::from_utf8(stderr.lock().unwrap().clone()).unwrap();

    // Every line of the log is JSON, and the request spans are in them.
    let lines: Vec<serde_json::Value> = errors
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 100, "only {} log lines", lines.len());
    let with_request = lines
        .iter()
        .filter(|l| l["span"]["request_id"].as_str().is_some_and(|id| id.len() == 32) && l["span"]["path"].is_string())
        .count();
    assert!(with_request > 10, "the request span's fields are in too few lines: {with_request}");
    assert!(lines.iter().any(|l| l["level"] == "TRACE"), "the filter trace did not take effect");
    assert!(
        everything.contains("version placed in ЕИС") && everything.contains(&eis_login),
        "the capture holds the exchange"
    );
    for line in cli.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }

    let secrets = [
        ("the user's password", user_password),
        ("the wrong password", wrong_password),
        ("the ЕИС password", eis_password.as_str()),
        ("the session cookie", session.as_str()),
        ("the API token", api_token.as_str()),
        ("the CSRF token", csrf.as_str()),
        ("the key file", key.as_str()),
        ("the metrics token", TOKEN),
    ];
    for (what, secret) in secrets {
        for (place, text) in [("the log", &everything), ("the command's output", &cli), ("/metrics", &metrics)] {
            let leaks: Vec<String> =
                text.lines().filter(|l| l.contains(secret)).map(|l| l.replace(secret, "********")).collect();
            assert!(leaks.is_empty(), "{what} is in {place}:\n{}", leaks.join("\n"));
        }
    }
}

/// Runs a plangraf command on the demo's data with JSON logs at trace, `input` on its standard
/// input; answers everything it wrote.
fn run_cli(data_dir: &std::path::Path, database_url: &str, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plangraf"))
        .args(args)
        .env("PLANGRAF_LOG", "trace")
        .env("PLANGRAF_LOG_FORMAT", "json")
        .env("PLANGRAF_DATA_DIR", data_dir)
        .env("PLANGRAF_DATABASE_URL", database_url)
        .env_remove("PLANGRAF_SECRET_KEY")
        .env_remove("PLANGRAF_SECRET_KEY_FILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{input}").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "plangraf {args:?}: {text}");
    text
}
