//! The ЕИС password never reaches the logs. `plangraf demo` (plangraf and eis-sandbox in one
//! process, with the logging `main` sets up) runs as a child process with `PLANGRAF_LOG=trace`,
//! the most verbose filter there is, and everything it writes to stdout and stderr is kept. The
//! test goes the whole way over HTTP: the cabinet makes a password, plangraf saves it and checks
//! the connection, the cabinet makes a new one, a send with the stale one is refused, the new one
//! is saved and a send is loaded and placed. Then neither password may be in the output, which
//! must hold the traces of that very exchange (the logins, the packet id), or the capture proved
//! nothing.

use crate::common::*;
use crate::demo_process::{Demo, strip_ansi};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eis_passwords_never_reach_the_logs() {
    plangraf::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let database_url = store::testing::fresh_database_url(dir.path()).await.unwrap();
    let mut demo = Demo::start(dir.path(), &database_url, "trace", &["--processing-delay-ms", "200"]);
    let (app, eis) = demo.addresses();
    let mut cabinet =
        Cabinet::sign_in(&eis, &dir.path().join("sandbox").join("sandbox-cert.pem"), "eis_admin", "eis_admin").await;

    // plangraf: a plan with a position, approved.
    let mut customer = Client::new(app.clone());
    customer.login("zakazchik", "zakazchik").await;
    let plan = customer.create_plan("2026").await;
    assert!(customer.add_position(plan, &POSITION).await.has("Позиция добавлена"));
    assert!(customer.post(&format!("/plans/{plan}/submit"), &[]).await.has("На согласовании"));
    let mut approver = Client::new(app.clone());
    approver.login("soglasovatel", "soglasovatel").await;
    approver.get(&format!("/plans/{plan}")).await;
    assert!(approver.post(&format!("/plans/{plan}/approve"), &[]).await.has("План-график утвержден"));
    let versions = customer.get(&format!("/plans/{plan}?tab=versions")).await;
    let version = number_after(&versions.body, "/versions/");

    // Seed 000: the password from the cabinet, saved, the connection checked.
    let (login, stale) = cabinet.integration_password("eis_user").await;
    save_credentials(&mut customer, &login, &stale).await;
    let p = customer.post("/settings/eis/check", &[]).await;
    assert!(p.has("Подключение к ЕИС работает"), "{}", p.body);

    // The button pressed again: the saved password is stale. Typed into the dialog, it is refused.
    let (_, password) = cabinet.integration_password("eis_user").await;
    assert_ne!(stale, password);
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", &stale)]).await;
    wait_for_status(&mut customer, version, "Ошибка авторизации").await;
    let p = customer.post("/settings/eis/check", &[]).await;
    assert!(p.has("ЕИС не приняла логин или пароль"), "{}", p.body);

    // The new one, saved and used from the settings: loaded, placed in the cabinet, published.
    save_credentials(&mut customer, &login, &password).await;
    assert!(customer.post("/settings/eis/check", &[]).await.has("Подключение к ЕИС работает"));
    customer.get(&format!("/versions/{version}/send")).await;
    customer.post(&format!("/versions/{version}/send"), &[("login", &login), ("password", "")]).await;
    let loaded = wait_for_status(&mut customer, version, "Загрузка завершена успешно").await;
    let packet_id = text_after(&loaded.body, "Идентификатор пакета: <span class=\"mono\">", "<");
    cabinet.place_latest_draft().await;
    wait_for_status(&mut customer, version, "Размещена в ЕИС").await;

    let log = strip_ansi(&demo.signal_and_wait("-TERM").1);
    eprintln!("captured {} lines of log output", log.lines().count());
    // The capture works, at the level asked for, and holds this very exchange.
    assert!(log.contains(" TRACE "), "no TRACE line: the filter PLANGRAF_LOG=trace did not take effect");
    for (what, shown) in
        [("the ЕИС login", login.as_str()), ("the packet id", packet_id.as_str()), ("the plangraf login", "zakazchik")]
    {
        assert!(log.contains(shown), "{what} {shown:?} is not in the log");
    }
    assert!(log.contains("ЕИС refused the credentials"), "the refused send is not in the log");
    assert!(log.contains("version placed in ЕИС"), "the placement is not in the log");
    for (what, secret) in [("stale", &stale), ("current", &password)] {
        // The lines that give it away, with the password masked: where to look, not the secret.
        let leaks: Vec<String> = log
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .map(|l| l.replace(secret.as_str(), "********"))
            .collect();
        assert!(leaks.is_empty(), "the {what} ЕИС password is in the log:\n{}", leaks.join("\n"));
    }
    // Nor in either database.
    assert_not_in_database(&database_url, &[&stale, &password]).await;
    assert_not_in_sqlite_files(&dir.path().join("sandbox").join("sandbox.sqlite"), &[&stale, &password]);
}

pub(crate) async fn save_credentials(customer: &mut Client, login: &str, password: &str) {
    customer.get("/settings/eis").await;
    let p = customer
        .post(
            "/settings/eis",
            &[("login", login), ("change_password", "1"), ("password", password), ("password_confirm", password)],
        )
        .await;
    assert!(p.has("Регистрационные данные в ЕИС сохранены"), "{}", p.body);
}

/// The digits right after the first `marker` in `body`.
pub(crate) fn number_after(body: &str, marker: &str) -> i64 {
    let i = body.find(marker).unwrap_or_else(|| panic!("no {marker} in the page")) + marker.len();
    body[i..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

/// The text between `start` and the next `end` in `body`.
pub(crate) fn text_after(body: &str, start: &str, end: &str) -> String {
    let i = body.find(start).unwrap_or_else(|| panic!("no {start} in the page")) + start.len();
    let rest = &body[i..];
    rest[..rest.find(end).unwrap()].to_owned()
}

/// The sandbox's personal cabinet over HTTPS, trusting exactly the sandbox's certificate.
pub(crate) struct Cabinet {
    base: String,
    http: reqwest::Client,
    csrf: String,
}

impl Cabinet {
    pub(crate) async fn sign_in(base: &str, cert: &std::path::Path, login: &str, password: &str) -> Cabinet {
        let cert = reqwest::Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap();
        let http = reqwest::Client::builder().cookie_store(true).tls_certs_only([cert]).build().unwrap();
        let mut cabinet = Cabinet { base: base.to_owned(), http, csrf: String::new() };
        let page = cabinet.post("/login", &[("login", login), ("password", password)]).await;
        assert!(page.contains("Личный кабинет"), "cabinet sign-in of {login} failed: {page}");
        cabinet
    }

    async fn get(&mut self, path: &str) -> String {
        let body = self.http.get(format!("{}{path}", self.base)).send().await.unwrap().text().await.unwrap();
        if body.contains("name=\"csrf\" value=\"") {
            self.csrf = text_after(&body, "name=\"csrf\" value=\"", "\"");
        }
        body
    }

    /// A form from the cabinet's own page: its origin and the session's CSRF token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> String {
        let mut form = fields.to_vec();
        let csrf = self.csrf.clone();
        if !csrf.is_empty() {
            form.push(("csrf", &csrf));
        }
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Origin", &self.base)
            .form(&form)
            .send()
            .await
            .unwrap();
        let body = r.text().await.unwrap();
        if body.contains("name=\"csrf\" value=\"") {
            self.csrf = text_after(&body, "name=\"csrf\" value=\"", "\"");
        }
        body
    }

    /// «Пользователи организации» → the user's «Регистрационные данные» → the button: the login
    /// and the new password it shows.
    pub(crate) async fn integration_password(&mut self, user: &str) -> (String, String) {
        let users = self.get("/cabinet/admin/users").await;
        let row = &users[users.find(&format!("<td>{user}</td>")).unwrap_or_else(|| panic!("no {user}: {users}"))..];
        let id = number_after(row, "/cabinet/admin/users/");
        self.get(&format!("/cabinet/admin/users/{id}/registration")).await;
        let page = self.post(&format!("/cabinet/admin/users/{id}/integration"), &[]).await;
        let login = text_after(&page, "<dt>Логин</dt><dd><span class=\"secret\">", "<");
        let password = text_after(&page, "<dt>Пароль</dt><dd><span class=\"secret\">", "<");
        assert!(!login.is_empty() && password.len() >= 16, "{page}");
        (login, password)
    }

    /// «Реестр планов-графиков» → «Разместить» of the one draft there is.
    pub(crate) async fn place_latest_draft(&mut self) {
        let registry = self.get("/cabinet/plans").await;
        let end =
            registry.find("/publish\"").unwrap_or_else(|| panic!("no draft to place: {registry}")) + "/publish".len();
        let start = registry[..end].rfind("action=\"").unwrap() + "action=\"".len();
        let action = registry[start..end].to_owned();
        let page = self.post(&action, &[]).await;
        assert!(page.contains("Размещен</td>"), "{page}");
    }
}
