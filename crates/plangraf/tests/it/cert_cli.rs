//! `plangraf cert bind`, `list` and `unbind` run as the operator runs them, with ГОСТ Р
//! 34.10-2012 certificates made by the `openssl` command and its ГОСТ engine (the signature
//! crate's test PKI). The binary loads the engine by itself (it restarts with OPENSSL_CONF);
//! one run names a configuration whose engine is missing and is told so. Without the engine in
//! the `openssl` command: SKIPPED, or a failure when PLANGRAF_REQUIRE_GOST=1.

use chrono::{Duration, Utc};
use std::path::Path;

/// `plangraf ARGS` on the data directory `data` as `backups::plangraf` runs it, without the
/// caller's OPENSSL_CONF unless `env` names one: the binary is to find the engine by itself.
async fn plangraf(data: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_plangraf"))
        .args(args)
        .env("PLANGRAF_DATA_DIR", data)
        .env("PLANGRAF_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("PLANGRAF_DATABASE_URL")
        .env_remove("PLANGRAF_SECRET_KEY")
        .env_remove("PLANGRAF_SECRET_KEY_FILE")
        .env_remove("OPENSSL_CONF")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[path = "../../../signature/tests/pki/mod.rs"]
#[allow(dead_code, reason = "binding needs certificates only, not signatures or revocation lists")]
mod pki;

#[tokio::test]
async fn certificates_are_bound_listed_and_unbound_from_the_command_line() {
    if !pki::cli_has_gost() {
        assert_ne!(
            std::env::var("PLANGRAF_REQUIRE_GOST").as_deref(),
            Ok("1"),
            "PLANGRAF_REQUIRE_GOST=1, but the openssl command has no ГОСТ engine"
        );
        eprintln!("\n*** SKIPPED: plangraf cert: the openssl command has no ГОСТ engine (libengine-gost-openssl)\n");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: Vec<String>| {
        let data = data.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            plangraf(&data, &args, &[]).await
        }
    };
    let (ok, out) = run(vec![
        "org".into(),
        "add".into(),
        "--name".into(),
        "Школа № 1".into(),
        "--spz".into(),
        "03722000001".into(),
        "--inn".into(),
        "7802139698".into(),
        "--kpp".into(),
        "780201001".into(),
        "--org-type".into(),
        "03".into(),
    ])
    .await;
    assert!(ok, "{out}");
    let (ok, out) = plangraf(
        &data,
        &[
            "user",
            "add",
            "--login",
            "ivanov",
            "--full-name",
            "Иванов И. И.",
            "--org-spz",
            "03722000001",
            "--role",
            "customer",
        ],
        &[("PLANGRAF_USER_PASSWORD", "Kalina-7-Malina")],
    )
    .await;
    assert!(ok, "{out}");

    let now = Utc::now();
    let ca = pki::Ca::new(dir.path(), "Тестовый УЦ");
    let spec =
        |subject, from, to| pki::Issue { subject, algorithm: "gost2012_256", key_usage: "digitalSignature", from, to };
    let valid = ca.issue(
        "valid",
        &spec(
            "/CN=Иванов Иван Иванович/SNILS=12345678901/INN=123456789012",
            now - Duration::days(1),
            now + Duration::days(365),
        ),
    );
    let expired = ca.issue("expired", &spec("/CN=Иванов", now - Duration::days(400), now - Duration::days(35)));
    let thumbprint = valid.fingerprint();
    let file = |u: &pki::User| u.certificate_path().display().to_string();

    let (ok, out) = run(vec!["cert".into(), "bind".into(), "ivanov".into(), file(&valid)]).await;
    assert!(ok, "{out}");
    for shown in ["Иванов Иван Иванович", "СНИЛС: 12345678901", "ИНН: 123456789012", "Тестовый УЦ", thumbprint.as_str()]
    {
        assert!(out.contains(shown), "{shown} in {out}");
    }
    let (ok, out) = run(vec!["cert".into(), "bind".into(), "ivanov".into(), file(&expired)]).await;
    assert!(!ok && out.contains("истёк"), "{out}");
    let (ok, out) = run(vec!["cert".into(), "list".into(), "ivanov".into()]).await;
    assert!(ok && out.contains(&thumbprint) && out.contains("действует"), "{out}");
    assert_eq!(out.matches("Отпечаток:").count(), 1, "the expired one was not bound: {out}");

    // A configuration of the operator's own without the engine: told, nothing bound.
    let conf = dir.path().join("no-gost.cnf");
    std::fs::write(&conf, "openssl_conf = init\n[init]\n").unwrap();
    let conf = conf.display().to_string();
    let (ok, out) = plangraf(&data, &["cert", "bind", "ivanov", &file(&valid)], &[("OPENSSL_CONF", &conf)]).await;
    assert!(!ok && out.contains("Проверка ЭЦП недоступна"), "{out}");

    let (ok, out) = run(vec!["cert".into(), "unbind".into(), "ivanov".into(), thumbprint.clone()]).await;
    assert!(ok, "{out}");
    let (ok, out) = run(vec!["cert".into(), "list".into(), "ivanov".into()]).await;
    assert!(ok && out.contains("нет привязанных"), "{out}");
}
