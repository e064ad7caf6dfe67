//! Hostile input and overload against the real server over HTTP: sign-in races and floods,
//! throttling per login and address, blocked users and changed passwords, security headers,
//! control characters in text, file modes of the database, and the command line's rules.

use crate::common::*;
use domain::ids::PlanId;
use serde_json::json;

async fn token_request(
    c: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let mut req = c.post(format!("{base}/api/v1/auth/token")).json(&json!({ "login": login, "password": password }));
    if let Some(f) = forwarded {
        req = req.header("X-Forwarded-For", f);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn parallel_wrong_passwords_cannot_race_past_the_limit() {
    let h = Harness::start().await;
    let http = reqwest::Client::new();
    let base = h.app.url();
    // 59 wrong passwords and the right one, all at once.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (http, base) = (http.clone(), base.clone());
        let password = if i == 30 { "admin".to_owned() } else { format!("wrong-{i}") };
        tasks.push(tokio::spawn(async move {
            token_request(&http, &base, "admin", &password, None).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| matches!(s, 200 | 401)).count();
    let free = store::users::LOGIN_FROM_ADDRESS.free_failures as usize;
    assert!(checked <= free, "{checked} passwords were checked in parallel, at most {free} may be: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 200 | 401 | 429 | 503)), "{statuses:?}");
    // Unless the right password happened to be among the first checked (before the limit),
    // it gets no token: not in the burst, and not afterwards while the delay runs.
    if !statuses.contains(&200) {
        let r = token_request(&http, &base, "admin", "admin", None).await;
        assert_eq!(r.status().as_u16(), 429);
        assert!(r.headers().get("retry-after").is_some(), "429 must say when to come back");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains("Слишком много неудачных попыток"), "{body}");
    }
    h.app.stop().await;
}

#[tokio::test]
async fn an_attacker_behind_the_proxy_cannot_lock_out_the_real_user() {
    let h = Harness::start_configured(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let http = reqwest::Client::new();
    let base = h.app.url();
    for _ in 0..8 {
        token_request(&http, &base, "admin", "guess", Some("203.0.113.5")).await;
    }
    let attacker = token_request(&http, &base, "admin", "admin", Some("203.0.113.5")).await;
    assert_eq!(attacker.status().as_u16(), 429, "the attacking address is delayed");
    let real = token_request(&http, &base, "admin", "admin", Some("198.51.100.7")).await;
    assert_eq!(real.status().as_u16(), 200, "the administrator at another address signs in");
    // A proxy chain: the client is the last address that is not a trusted proxy.
    let chained = token_request(&http, &base, "admin", "admin", Some("203.0.113.5, 198.51.100.7, 127.0.0.1")).await;
    assert_eq!(chained.status().as_u16(), 200);
    h.app.stop().await;
}

#[tokio::test]
async fn a_forged_forwarded_address_does_not_escape_the_throttle() {
    // No trusted proxy: X-Forwarded-For is the client's own claim and is ignored.
    let h = Harness::start().await;
    let http = reqwest::Client::new();
    let base = h.app.url();
    for i in 0..6 {
        token_request(&http, &base, "zakazchik", "guess", Some(&format!("203.0.113.{i}"))).await;
    }
    let r = token_request(&http, &base, "zakazchik", "zakazchik", Some("198.51.100.99")).await;
    assert_eq!(r.status().as_u16(), 429);
    h.app.stop().await;
}

#[tokio::test]
async fn a_flood_of_sign_ins_is_bounded_and_answered() {
    let h = Harness::start().await;
    let http = reqwest::Client::new();
    let base = h.app.url();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (http, base) = (http.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let r = token_request(&http, &base, &format!("nobody{i}"), "x", None).await;
            (r.status().as_u16(), r.headers().get("retry-after").is_some())
        }));
    }
    for t in tasks {
        let (status, retry_after) = t.await.unwrap();
        assert!(matches!(status, 401 | 429 | 503), "{status}");
        if status != 401 {
            assert!(retry_after, "{status} without Retry-After");
        }
    }
    let checkers = app::passwords::PasswordCheckers::shared();
    assert!(checkers.most_running() <= checkers.size(), "{} checks ran at once", checkers.most_running());
    // The server still answers.
    let mut c = h.client();
    assert_eq!(c.get("/login").await.status, 200);
    h.app.stop().await;
}

#[tokio::test]
async fn the_user_is_told_about_failed_attempts_at_the_next_sign_in() {
    let h = Harness::start().await;
    let mut thief = h.client();
    for _ in 0..2 {
        assert_eq!(
            thief.post_raw("/login", &[("login", "zakazchik"), ("password", "угадываю")], None).await.status,
            401
        );
    }
    let mut owner = h.client();
    let first = owner.login("zakazchik", "zakazchik").await;
    assert!(first.has("неудачные попытки войти под вашим логином: 2"), "{}", first.body);
    let next = owner.get("/plans").await;
    assert!(!next.has("неудачные попытки"), "the notice is shown once");
    h.app.stop().await;
}

#[tokio::test]
async fn blocking_and_a_new_password_end_sessions_and_tokens() {
    let h = Harness::start().await;
    let mut c = h.client();
    c.login("zakazchik", "zakazchik").await;
    let http = reqwest::Client::new();
    let token: serde_json::Value =
        token_request(&http, &h.app.url(), "zakazchik", "zakazchik", None).await.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let me = |t: String| {
        let (http, base) = (http.clone(), h.app.url());
        async move { http.get(format!("{base}/api/v1/me")).bearer_auth(t).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(me(token.clone()).await, 200);

    let user = h.app.store.user_by_login("zakazchik").await.unwrap().unwrap();
    h.app.store.set_blocked(user.id, true).await.unwrap();
    assert!(c.get("/plans").await.url.ends_with("/login"), "the session ended");
    assert_eq!(me(token).await, 401, "the token was revoked");
    let mut again = h.client();
    assert_eq!(again.post_raw("/login", &[("login", "zakazchik"), ("password", "zakazchik")], None).await.status, 401);

    h.app.store.set_blocked(user.id, false).await.unwrap();
    let mut c = h.client();
    assert_eq!(c.login("zakazchik", "zakazchik").await.status, 200);
    let hash = app::users::hash("Новый-пароль-2026".into()).await.unwrap();
    h.app.store.set_password(user.id, &hash).await.unwrap();
    assert!(c.get("/plans").await.url.ends_with("/login"), "a new password ends the old sessions");
    h.app.stop().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let h = Harness::start().await;
    let mut c = h.client();
    c.login("zakazchik", "zakazchik").await;
    let plan = c.create_plan("2026").await;
    for path in [
        "/login",
        "/plans",
        &format!("/plans/{plan}"),
        "/settings/eis",
        "/no-such-page",
        "/plans/abc",
        "/api/openapi.json",
        "/api/v1/me",
        "/static/app.css",
    ] {
        let r = c.http.get(format!("{}{path}", c.base)).send().await.unwrap();
        let headers = r.headers();
        let csp = headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert!(headers.get("referrer-policy").is_some(), "{path}");
        assert_eq!(headers.get("x-frame-options").unwrap(), "DENY", "{path}");
        let cache = headers.get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or_default();
        // Static files and the API document hold no one's data and may be cached.
        if path.starts_with("/static/") || path == "/api/openapi.json" {
            assert!(cache.contains("max-age"), "{path}: {cache}");
        } else {
            assert_eq!(cache, "no-store", "{path}");
        }
    }
    h.app.stop().await;
}

#[tokio::test]
async fn control_characters_are_refused_and_nothing_is_saved() {
    let h = Harness::start().await;
    let mut c = h.client();
    c.login("zakazchik", "zakazchik").await;
    let plan = c.create_plan("2026").await;
    let mut fields = POSITION.to_vec();
    fields[0] = ("object_info", "Поставка\u{0}учебников");
    let p = c.add_position(plan, &fields).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.has("управляющий символ (код U+0000)"), "{}", p.body);
    let plans = h.app.store.plan(PlanId(plan)).await.unwrap().unwrap();
    assert!(h.app.store.positions(plans.id).await.unwrap().is_empty(), "nothing saved");

    let http = reqwest::Client::new();
    let token: serde_json::Value =
        token_request(&http, &h.app.url(), "zakazchik", "zakazchik", None).await.json().await.unwrap();
    let token = token["token"].as_str().unwrap();
    let r = http
        .post(format!("{}/api/v1/plans/{plan}/positions", h.app.url()))
        .bearer_auth(token)
        .json(&json!({ "row_version": plans.row_version, "object_info": "Бумага\u{1b}[31m", "publish_year": "2026",
                       "okpd2": "17.23.1", "kvr": "244", "amount_current": "1000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "object_info", "{body}");
    assert!(h.app.store.positions(PlanId(plan)).await.unwrap().is_empty(), "nothing saved");
    h.app.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::start().await;
    let Some(path) = store::sqlite_path(&h.database_url) else {
        eprintln!("not SQLite: nothing to check");
        return h.app.stop().await;
    };
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file) {
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{}", file.display());
        }
    }
    h.app.stop().await;
}

/// СПЗ of the school [`add_school`] adds.
pub(crate) const SCHOOL_SPZ: &str = "03722001684";

/// Adds a school with `plangraf org add` in the data directory `d`.
pub(crate) fn add_school(d: &std::path::Path) {
    let org = [
        "org",
        "add",
        "--name",
        "Школа",
        "--spz",
        SCHOOL_SPZ,
        "--inn",
        "7802139698",
        "--kpp",
        "780201001",
        "--org-type",
        "03",
    ];
    let (ok, out) = plangraf_cli(d, &org, "");
    assert!(ok, "{out}");
}

/// Runs the real binary with a throwaway data directory.
pub(crate) fn plangraf_cli(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plangraf"))
        .args(args)
        .env("PLANGRAF_DATA_DIR", data_dir)
        .env_remove("PLANGRAF_DATABASE_URL")
        .env_remove("PLANGRAF_SECRET_KEY")
        .env("PLANGRAF_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_command_line_refuses_bad_accounts_in_every_build() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    add_school(d);
    let add = |login: &str, name: &str, password: &str| {
        plangraf_cli(
            d,
            &[
                "user",
                "add",
                "--login",
                login,
                "--full-name",
                name,
                "--org-spz",
                SCHOOL_SPZ,
                "--role",
                "customer",
                "--password-stdin",
            ],
            &format!("{password}\n"),
        )
    };
    let (ok, out) = add("", "Иванова М. П.", "Снег-на-крыше-2026");
    assert!(!ok && out.contains("Логин не может быть пустым"), "{out}");
    let (ok, out) = add("ivanova", "  ", "Снег-на-крыше-2026");
    assert!(!ok && out.contains("Укажите ФИО"), "{out}");
    let (ok, out) = add("ivanova", "Иванова М. П.", "short");
    assert!(!ok && out.contains("не короче 10 символов"), "{out}");
    let (ok, out) = add("ivanova", "Иванова М. П.", "Снег-на-крыше-2026");
    assert!(ok, "{out}");
    let (ok, out) = plangraf_cli(d, &["user", "unlock", "--login", "ivanova"], "");
    assert!(ok && out.contains("Задержки входа для ivanova сняты"), "{out}");
    let (ok, out) = plangraf_cli(d, &["user", "passwd", "--login", "ivanova", "--password-stdin"], "ivanova-123456\n");
    assert!(!ok && out.contains("не должен совпадать с логином"), "{out}");
    let (ok, out) = plangraf_cli(d, &["user", "block", "--login", "ivanova"], "");
    assert!(ok && out.contains("заблокирован"), "{out}");
    let (ok, out) = plangraf_cli(d, &["user", "block", "--login", "nobody"], "");
    assert!(!ok && out.contains("Нет пользователя с логином nobody"), "{out}");
}
