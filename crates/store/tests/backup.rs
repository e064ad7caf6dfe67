//! Backups of the embedded SQLite database and their restore (`store::backup`), and the check
//! that the key opens what the database has sealed. SQLite only, whatever the test backend:
//! PostgreSQL is backed up with pg_dump (tested in plangraf's integration tests).

use domain::Role;
use domain::ids::{OrgId, UserId};
use store::backup::{self, BackupError};
use store::orgs::NewOrganization;
use store::sends::SealedSecrets;
use store::{SecretBox, Store};

fn url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn open(path: &std::path::Path, key: [u8; 32]) -> Store {
    Store::open(&url(path), SecretBox::new(key)).await.unwrap()
}

async fn org(s: &Store, spz: &str) -> OrgId {
    s.ensure_organization(&NewOrganization {
        name: "Государственное бюджетное общеобразовательное учреждение «Школа № 1»",
        short_name: "ГБОУ «Школа № 1»",
        superior_id: None,
        spz_code: domain::SpzCode::parse(spz).unwrap(),
        inn: domain::org::Inn::parse("7802139698").unwrap(),
        kpp: domain::org::Kpp::parse("780201001").unwrap(),
        org_type: domain::OrgType::Budget,
        budget_level: 2,
        oktmo: "40307000",
    })
    .await
    .unwrap()
    .id
}

/// An organization and a user with a saved ЕИС password.
async fn with_credentials(s: &Store) -> UserId {
    let o = org(s, "03722001684").await;
    let u = s.create_user("zakazchik", "hash", "Иванов И. И.", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    s.save_eis_credentials(u.id, o, "eis_user", Some(&"Пароль-ЕИС-1".into())).await.unwrap();
    u.id
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_backup_taken_while_writing_is_whole_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretBox::generate_key();
    let s = open(&dir.path().join("plangraf.sqlite"), key).await;
    let user = with_credentials(&s).await;
    // A writer keeps committing while the copy is taken.
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..200u32 {
                s.record_audit(None, None, "user", None, "запись", &format!("{i}")).await.unwrap();
            }
        })
    };
    let target = dir.path().join("copy.sqlite");
    let info = s.backup_to(&target).await.unwrap();
    writer.await.unwrap();
    assert_eq!(info.path, target);
    assert_eq!(info.schema_version, store::latest_schema_version());
    assert_eq!(info.bytes, std::fs::metadata(&target).unwrap().len());
    #[cfg(unix)]
    assert_eq!(mode(&target), 0o600, "the copy holds password hashes and sealed secrets");
    // One file, no leftovers beside it.
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.starts_with("copy.sqlite-") || n.ends_with(".partial")), "{names:?}");

    // The copy opens with the same key and holds what was committed before it.
    let copy = open(&target, key).await;
    assert_eq!(copy.eis_credentials(user).await.unwrap().unwrap().password.expose(), "Пароль-ЕИС-1");
    assert_eq!(copy.check_sealed_secrets().await.unwrap(), SealedSecrets::Open);
    copy.close().await;

    // A second backup to the same name is refused and leaves the first as it was.
    let before = std::fs::read(&target).unwrap();
    assert!(matches!(s.backup_to(&target).await, Err(BackupError::Exists(p)) if p == target));
    assert_eq!(std::fs::read(&target).unwrap(), before);
    s.close().await;
}

#[tokio::test]
async fn restore_waits_for_no_one_keeps_the_old_database_aside_and_refuses_while_open() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretBox::generate_key();
    let (source, target) = (dir.path().join("source.sqlite"), dir.path().join("data/plangraf.sqlite"));
    let s = open(&source, key).await;
    let user = with_credentials(&s).await;
    let backup_file = dir.path().join("backup.sqlite");
    s.backup_to(&backup_file).await.unwrap();
    s.close().await;

    // Into a directory that does not exist yet: nothing to keep aside.
    let restored = backup::restore(&backup_file, &target).await.unwrap();
    assert_eq!(restored.schema_version, store::latest_schema_version());
    assert!(restored.kept_aside.is_none());
    #[cfg(unix)]
    assert_eq!(mode(&target), 0o600);

    // An open store refuses the restore, and nothing changes.
    let running = open(&target, key).await;
    running.record_audit(None, None, "user", None, "после восстановления", "").await.unwrap();
    let err = backup::restore(&backup_file, &target).await.unwrap_err();
    assert!(matches!(&err, BackupError::InUse(p) if p == &target), "{err}");
    assert_eq!(running.eis_credentials(user).await.unwrap().unwrap().login, "eis_user");

    // Closed, it is replaced; the replaced one, with what was written last, is kept aside.
    running.close().await;
    let again = backup::restore(&backup_file, &target).await.unwrap();
    let aside = again.kept_aside.expect("the replaced database is kept");
    assert!(aside.file_name().unwrap().to_string_lossy().starts_with("plangraf.sqlite.before-restore-"), "{aside:?}");
    let old = open(&aside, key).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'после восстановления'")
        .fetch_one(old.pool())
        .await
        .unwrap();
    assert_eq!(n, 1, "the database kept aside holds its last write");
    old.close().await;
    let new = open(&target, key).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'после восстановления'")
        .fetch_one(new.pool())
        .await
        .unwrap();
    assert_eq!(n, 0, "the restored database is the backup");
    new.close().await;
}

#[tokio::test]
async fn restore_refuses_what_is_not_a_plangraf_database_of_this_build_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretBox::generate_key();
    let target = dir.path().join("plangraf.sqlite");
    let s = open(&target, key).await;
    with_credentials(&s).await;
    let good = dir.path().join("good.sqlite");
    s.backup_to(&good).await.unwrap();
    s.close().await;
    let before = std::fs::read(&target).unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };

    // A newer schema: a copy with one more step recorded.
    let newer = dir.path().join("newer.sqlite");
    std::fs::copy(&good, &newer).unwrap();
    let copy = open(&newer, key).await;
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', 0)")
        .bind(store::latest_schema_version() + 1)
        .execute(copy.pool())
        .await
        .unwrap();
    copy.close().await;
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "это не база данных\n").unwrap();
    let foreign = dir.path().join("foreign.sqlite");
    {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&foreign).create_if_missing(true);
        let mut c = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)").execute(&mut c).await.unwrap();
        sqlx::query("INSERT INTO schema_migrations VALUES ('20240101000000')").execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
    let truncated = dir.path().join("truncated.sqlite");
    std::fs::write(&truncated, &std::fs::read(&good).unwrap()[..100]).unwrap();
    let files = listing();

    let err = backup::restore(&newer, &target).await.unwrap_err();
    assert!(
        matches!(err, BackupError::Newer { found, known, .. } if found == known + 1 && known == store::latest_schema_version()),
        "{err}"
    );
    assert!(matches!(backup::restore(&text, &target).await, Err(BackupError::NotDatabase { .. })));
    assert!(matches!(backup::restore(&foreign, &target).await, Err(BackupError::Foreign(_))));
    assert!(matches!(backup::restore(&truncated, &target).await, Err(BackupError::NotDatabase { .. })));
    assert!(matches!(backup::restore(&dir.path().join("absent"), &target).await, Err(BackupError::Missing(_))));
    assert!(matches!(backup::restore(&target, &target).await, Err(BackupError::SameFile(_))));
    assert_eq!(std::fs::read(&target).unwrap(), before, "the database is unchanged");
    assert_eq!(listing(), files, "no file added, renamed or removed");
}

#[tokio::test]
async fn an_older_schema_is_accepted_and_migrated_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretBox::generate_key();
    let s = open(&dir.path().join("source.sqlite"), key).await;
    let user = with_credentials(&s).await;
    let older = dir.path().join("older.sqlite");
    s.backup_to(&older).await.unwrap();
    s.close().await;
    // A database from before step 14, which only added the table `eis_copies`.
    {
        let o = open(&older, key).await;
        sqlx::raw_sql("DROP TABLE eis_copies; DELETE FROM schema_migrations WHERE version = 14")
            .execute(o.pool())
            .await
            .unwrap();
        o.close().await;
    }
    let latest = store::latest_schema_version();
    let target = dir.path().join("plangraf.sqlite");
    let restored = backup::restore(&older, &target).await.unwrap();
    assert_eq!(restored.schema_version, if latest == 14 { 13 } else { latest });
    let s = open(&target, key).await;
    assert_eq!(s.schema_version().await.unwrap(), latest);
    assert!(s.table_names().await.unwrap().contains(&"eis_copies".to_owned()));
    assert_eq!(s.eis_credentials(user).await.unwrap().unwrap().password.expose(), "Пароль-ЕИС-1");
    s.close().await;
}

#[tokio::test]
async fn the_key_check_tells_a_wrong_key_from_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plangraf.sqlite");
    let key = SecretBox::generate_key();
    let s = open(&path, key).await;
    assert_eq!(s.check_sealed_secrets().await.unwrap(), SealedSecrets::None, "nothing sealed: any key");
    let o = org(&s, "03722001684").await;
    let u = s.create_user("zakazchik", "hash", "Иванов И. И.", o, Role::CustomerSpecialist).await.unwrap().unwrap();
    s.save_eis_credentials(u.id, o, "eis_user", None).await.unwrap();
    assert_eq!(s.check_sealed_secrets().await.unwrap(), SealedSecrets::None, "a login without a password");
    s.save_eis_credentials(u.id, o, "eis_user", Some(&"Пароль-ЕИС-1".into())).await.unwrap();
    assert_eq!(s.check_sealed_secrets().await.unwrap(), SealedSecrets::Open);
    s.close().await;
    let other = open(&path, SecretBox::generate_key()).await;
    assert_eq!(other.check_sealed_secrets().await.unwrap(), SealedSecrets::WrongKey);
    other.close().await;
}
