//! Backups and restores, run as the operator runs them: `plangraf backup` of a running
//! instance's embedded database, `plangraf restore` into a fresh data directory, a start there
//! with the same key; the refusals (a newer schema, a file that is no database, a file that
//! exists, a running instance) changing nothing; a start with the wrong key refused. And the
//! same job on PostgreSQL with pg_dump and pg_restore, when the test backend is PostgreSQL.

use crate::common::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

fn hex(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `plangraf ARGS` on the data directory `data` (its embedded database, its key file unless
/// `env` names a key) and answers whether it succeeded and everything it wrote.
pub(crate) async fn plangraf(data: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_plangraf"))
        .args(args)
        .env("PLANGRAF_DATA_DIR", data)
        .env("PLANGRAF_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("PLANGRAF_DATABASE_URL")
        .env_remove("PLANGRAF_SECRET_KEY")
        .env_remove("PLANGRAF_SECRET_KEY_FILE")
        .env_remove("PLANGRAF_EIS_SCHEMAS")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Plans with their positions and versions, and the users, as the store reads them.
async fn contents(s: &store::Store) -> String {
    let mut out = String::new();
    let logins: Vec<String> =
        sqlx::query_scalar("SELECT login FROM users ORDER BY id").fetch_all(s.pool()).await.unwrap();
    writeln!(out, "{logins:?}").unwrap();
    let plans: Vec<i64> = sqlx::query_scalar("SELECT id FROM plans ORDER BY id").fetch_all(s.pool()).await.unwrap();
    for id in plans {
        let id = domain::ids::PlanId(id);
        let plan = s.plan(id).await.unwrap();
        let positions = s.positions(id).await.unwrap();
        let versions = s.versions(id).await.unwrap();
        writeln!(out, "{plan:?}\n{positions:?}\n{versions:?}").unwrap();
    }
    out
}

/// What a backup's contents must hold: an approved plan with its version, a draft with two
/// positions, and saved ЕИС credentials. Answers the approved plan's and the draft's ids and the
/// ЕИС password.
async fn fill(h: &Harness) -> (i64, i64, String) {
    let mut customer = h.client();
    customer.login("zakazchik", "zakazchik").await;
    let (approved, _) = approved_plan(h, &mut customer, "2026").await;
    let draft = customer.create_plan("2027").await;
    for title in ["Поставка мебели для кабинета химии", "Поставка учебников для 6-х классов"]
    {
        let mut position = POSITION;
        position[0] = ("object_info", title);
        position[1] = ("publish_year", "2027");
        let p = customer.add_position(draft, &position).await;
        assert!(p.has("Позиция добавлена"), "{}", p.body);
    }
    let (login, password) = h.eis_credentials("eis_user").await;
    let p = customer.save_eis_credentials(&login, &password).await;
    assert!(p.has("Регистрационные данные в ЕИС сохранены"), "{}", p.body);
    (approved, draft, password)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// `plangraf serve` on a data directory, until dropped.
struct Serve {
    child: tokio::process::Child,
    url: String,
}

impl Serve {
    /// Starts it and waits (bounded: 60 s) for the address it prints once it listens.
    async fn start(data: &Path, key: &str) -> Serve {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_plangraf"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("PLANGRAF_DATA_DIR", data)
            .env("PLANGRAF_SECRET_KEY", key)
            .env("PLANGRAF_LOG", "warn")
            .env("NO_COLOR", "1")
            .env_remove("PLANGRAF_DATABASE_URL")
            .env_remove("PLANGRAF_EIS_SCHEMAS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(url) = line.strip_prefix("plangraf: ") {
                    return url.trim().to_owned();
                }
            }
            panic!("plangraf serve ended without printing its address");
        })
        .await
        .expect("plangraf serve did not start within 60 s");
        Serve { child, url }
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[tokio::test]
async fn a_backup_of_a_running_instance_restores_into_a_fresh_data_dir_with_its_data() {
    let h = Harness::start_on_sqlite().await;
    let (approved, draft, eis_password) = fill(&h).await;
    let data = h.dir.path();
    let key = hex(&h.key);
    let latest = store::latest_schema_version();
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("plangraf-2026-01-15.sqlite");
    let file_arg = file.to_str().unwrap();

    // While it runs and writes (a sign-in writes its session and throttle rows), the copy.
    let mut busy = h.client();
    let backup = ["backup", file_arg];
    let (_, (ok, out)) = tokio::join!(busy.login("soglasovatel", "soglasovatel"), plangraf(data, &backup, &[]));
    assert!(ok, "{out}");
    assert!(out.contains(&format!("Резервная копия базы данных записана: {}", file.display())), "{out}");
    assert!(out.contains(&format!("версия схемы: {latest}")), "{out}");
    assert!(out.contains("байт"), "{out}");
    assert!(out.contains("Ключ в копию не входит. Сохраните отдельно и его"), "{out}");
    assert!(out.contains(&format!("файл ключа {}", data.join("secret.key").display())), "{out}");
    assert!(!out.contains(&eis_password) && !out.contains(&key), "nothing secret is printed: {out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(listing(elsewhere.path()), ["plangraf-2026-01-15.sqlite"], "one file, nothing beside it");

    // Not over an existing file.
    let copy = std::fs::read(&file).unwrap();
    let (ok, out) = plangraf(data, &backup, &[]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("уже существует: резервная копия не записана"), "{out}");
    assert_eq!(std::fs::read(&file).unwrap(), copy, "the existing copy is left as it was");

    // Not onto the database the running instance has open.
    let (ok, out) = plangraf(data, &["restore", file_arg], &[]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("открыта работающим plangraf") && out.contains("Ничего не изменено"), "{out}");
    assert!(listing(data).iter().all(|n| !n.contains("before-restore")), "{:?}", listing(data));

    // Into a fresh data directory: restored, and the key reminded of, not shown.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_data = fresh.path().join("data");
    let (ok, out) = plangraf(&fresh_data, &["restore", file_arg], &[("PLANGRAF_SECRET_KEY", &key)]).await;
    assert!(ok, "{out}");
    let restored = fresh_data.join("plangraf.sqlite");
    assert!(out.contains(&format!("База данных {} восстановлена", restored.display())), "{out}");
    assert!(out.contains(&format!("(версия схемы {latest})")) && out.contains("Прежней базы не было"), "{out}");
    assert!(out.contains("значение PLANGRAF_SECRET_KEY"), "{out}");
    assert!(!out.contains(&eis_password) && !out.contains(&key), "nothing secret is printed: {out}");

    // It starts there with the same key and shows the same plans.
    let serve = Serve::start(&fresh_data, &key).await;
    let mut customer = Client::new(serve.url.clone());
    customer.login("zakazchik", "zakazchik").await;
    let page = customer.get(&format!("/plans/{draft}")).await;
    assert!(page.has("Поставка мебели для кабинета химии"), "{}", page.body);
    let settings = customer.get("/settings/eis").await;
    assert!(settings.status == 200 && !settings.has(&eis_password), "{}", settings.body);
    serve.stop().await;

    // The same contents, and the saved ЕИС password opens with the key.
    let copy = plangraf::open_store(&plangraf::default_database_url(&fresh_data), h.key).await.unwrap();
    assert_eq!(contents(&copy).await, contents(&h.app.store).await);
    let user = copy.user_by_login("zakazchik").await.unwrap().unwrap();
    assert_eq!(copy.eis_credentials(user.id).await.unwrap().unwrap().password.expose(), eis_password);
    assert_eq!(copy.versions(domain::ids::PlanId(approved)).await.unwrap().len(), 1, "the approved version");
    copy.close().await;

    // Once more over it: the restored database is kept aside, not deleted.
    let (ok, out) = plangraf(&fresh_data, &["restore", file_arg], &[]).await;
    assert!(ok, "{out}");
    let aside = listing(&fresh_data).into_iter().find(|n| n.starts_with("plangraf.sqlite.before-restore-"));
    let aside = aside.unwrap_or_else(|| panic!("nothing kept aside: {:?}", listing(&fresh_data)));
    assert!(out.contains(&format!("Прежняя база сохранена как {}", fresh_data.join(&aside).display())), "{out}");
    h.app.stop().await;
}

#[tokio::test]
async fn restore_refuses_a_newer_schema_a_file_that_is_no_database_and_postgres_changing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = plangraf::default_database_url(&data);
    std::fs::create_dir_all(&data).unwrap();
    let s = plangraf::open_store(&url, store::SecretBox::generate_key()).await.unwrap();
    let good = dir.path().join("good.sqlite");
    s.backup_to(&good).await.unwrap();
    s.close().await;
    let latest = store::latest_schema_version();

    // A backup from a newer plangraf: one more step recorded in a copy.
    let newer = dir.path().join("newer.sqlite");
    std::fs::copy(&good, &newer).unwrap();
    {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&newer);
        let mut c = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 0)")
            .bind(latest + 1)
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    let text = dir.path().join("plangraf.sqlite.txt");
    std::fs::write(&text, "SQLite? нет, заметки администратора\n").unwrap();

    let database = data.join("plangraf.sqlite");
    let before = std::fs::read(&database).unwrap();
    let files = listing(&data);
    let (ok, out) = plangraf(&data, &["restore", newer.to_str().unwrap()], &[]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("сделана более новой версией plangraf"), "{out}");
    assert!(out.contains(&format!("версия схемы её базы {}", latest + 1)), "{out}");
    assert!(out.contains(&format!("знает схемы до версии {latest}")), "{out}");
    assert!(out.contains("Текущая база не изменена"), "{out}");
    let (ok, out) = plangraf(&data, &["restore", text.to_str().unwrap()], &[]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("не база данных SQLite или повреждён"), "{out}");
    assert_eq!(std::fs::read(&database).unwrap(), before, "the database is unchanged");
    assert_eq!(listing(&data), files, "no file added, renamed or removed");

    // PostgreSQL is pg_dump's and pg_restore's; nothing is connected to.
    let pg = [("PLANGRAF_DATABASE_URL", "postgres://plangraf:secret-pw@127.0.0.1:1/plangraf")];
    let (ok, out) = plangraf(&data, &["backup", dir.path().join("pg.sqlite").to_str().unwrap()], &pg).await;
    assert!(!ok && out.contains("pg_dump -Fc") && !out.contains("secret-pw"), "{out}");
    let (ok, out) = plangraf(&data, &["restore", good.to_str().unwrap()], &pg).await;
    assert!(!ok && out.contains("pg_restore") && !out.contains("secret-pw"), "{out}");
    assert!(!dir.path().join("pg.sqlite").exists());
}

#[tokio::test]
async fn a_key_that_does_not_open_the_saved_passwords_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let key = store::SecretBox::generate_key();
    let s = plangraf::open_store(&plangraf::default_database_url(&data), key).await.unwrap();
    plangraf::demo::load(&s).await.unwrap();
    let user = s.user_by_login("zakazchik").await.unwrap().unwrap();
    s.save_eis_credentials(user.id, user.org_id, "eis_user", Some(&"Пароль-ЕИС-1".into())).await.unwrap();
    s.close().await;
    let wrong = hex(&store::SecretBox::generate_key());
    let serve = ["serve", "--listen", "127.0.0.1:0"];

    // The wrong PLANGRAF_SECRET_KEY.
    let (ok, out) = plangraf(&data, &serve, &[("PLANGRAF_SECRET_KEY", &wrong)]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("Ключ не подходит к этой базе данных: ключ из PLANGRAF_SECRET_KEY"), "{out}");
    assert!(out.contains("восстановлена из резервной копии без своего файла ключа"), "{out}");
    assert!(!out.contains("plangraf: http"), "it did not start: {out}");
    assert!(!out.contains(&wrong) && !out.contains("Пароль-ЕИС-1"), "{out}");

    // No key file: none is created, and the message says which file is missing.
    let key_file = data.join("secret.key");
    let (ok, out) = plangraf(&data, &["migrate"], &[]).await;
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("Файл ключа {} не найден", key_file.display())), "{out}");
    assert!(!key_file.exists(), "no new key in place of the lost one");

    // Another key file.
    std::fs::write(&key_file, format!("{wrong}\n")).unwrap();
    let (ok, out) = plangraf(&data, &["user", "unlock", "--login", "zakazchik"], &[]).await;
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("файл ключа {} не открывает", key_file.display())), "{out}");

    // The right one: it starts.
    std::fs::write(&key_file, format!("{}\n", hex(&key))).unwrap();
    let (ok, out) = plangraf(&data, &["migrate"], &[]).await;
    assert!(ok, "{out}");
}

/// `pg_dump` and `pg_restore`: the newest PostgreSQL's under /usr/lib/postgresql (where Debian
/// puts them, as `.ci/postgres.sh` finds them), else the ones on PATH.
fn pg_tools() -> Option<(PathBuf, PathBuf)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort_by_key(|d| {
        d.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok())
    });
    dirs.reverse();
    dirs.extend(std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default());
    dirs.into_iter().find_map(|d| {
        let (dump, restore) = (d.join("pg_dump"), d.join("pg_restore"));
        (dump.is_file() && restore.is_file()).then_some((dump, restore))
    })
}

#[tokio::test]
async fn on_postgresql_pg_dump_and_pg_restore_carry_the_data_and_its_sealed_passwords() {
    if store::testing::target_backend() != store::Backend::Postgres {
        eprintln!("SKIPPED: pg_dump and pg_restore (the test backend is SQLite; set PLANGRAF_TEST_DATABASE_URL)");
        return;
    }
    let Some((pg_dump, pg_restore)) = pg_tools() else {
        eprintln!("SKIPPED: pg_dump and pg_restore (not under /usr/lib/postgresql/*/bin nor on PATH)");
        return;
    };
    let h = Harness::start_driven().await;
    let (_, _, eis_password) = fill(&h).await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("plangraf.dump");

    // As docs/OPERATIONS.md says, while plangraf runs.
    let out = tokio::process::Command::new(&pg_dump)
        .args(["-Fc", "-f"])
        .arg(&dump)
        .arg(&h.database_url)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    let target = store::testing::fresh_database_url(dir.path()).await.unwrap();
    let out = tokio::process::Command::new(&pg_restore)
        .args(["--no-owner", "--exit-on-error", "-d", &target])
        .arg(&dump)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "pg_restore: {}", String::from_utf8_lossy(&out.stderr));

    // Opened with the same key (the start-up check passes), the same contents.
    let copy = plangraf::open_store(&target, h.key).await.unwrap();
    assert_eq!(copy.schema_version().await.unwrap(), store::latest_schema_version());
    assert_eq!(contents(&copy).await, contents(&h.app.store).await);
    let user = copy.user_by_login("zakazchik").await.unwrap().unwrap();
    assert_eq!(copy.eis_credentials(user.id).await.unwrap().unwrap().password.expose(), eis_password);
    // New rows get new ids: the sequences came over too.
    let plan = copy.create_plan(user.org_id, 2028, user.id).await.unwrap().unwrap();
    let newest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM plans").fetch_one(h.app.store.pool()).await.unwrap();
    assert!(plan.id.get() > newest);
    copy.close().await;
    // And with another key it does not start.
    let Err(refused) = plangraf::open_store(&target, store::SecretBox::generate_key()).await else {
        panic!("opened with another key");
    };
    assert!(format!("{refused:#}").contains("Ключ не подходит к этой базе данных"), "{refused:#}");
    h.app.stop().await;
}
