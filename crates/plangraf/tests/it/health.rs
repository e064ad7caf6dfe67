//! The operator's probes: `/health` and `/ready`, open without signing in; readiness follows
//! the database (its schema and whether it answers).

use crate::common::*;

async fn probe(c: &Client, path: &str) -> (u16, serde_json::Value) {
    let r = c.http.get(format!("{}{path}", c.base)).send().await.unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "{path}");
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn health_and_readiness_answer_anyone_and_readiness_follows_the_database() {
    let h = Harness::start().await;
    let c = h.client();
    let expected = store::latest_schema_version();

    let (status, body) = probe(&c, "/health").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = probe(&c, "/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
    assert_eq!((body["schema_version"].as_i64(), body["schema_expected"].as_i64()), (Some(expected), Some(expected)));
    assert!(matches!(body["eis_schemas"].as_str(), Some("compiled" | "not configured")), "{body}");

    // A database one step behind this build: not ready, and the answer says what to run.
    let pool = h.app.store.pool();
    sqlx::query("DELETE FROM schema_migrations WHERE version = $1").bind(expected).execute(pool).await.unwrap();
    // (Versions need not be consecutive: the step before is whatever the table now holds last.)
    let before: i64 = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(pool).await.unwrap();
    assert!(before < expected);
    let (status, body) = probe(&c, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["schema_version"].as_i64(), Some(before));
    assert!(body["database"].as_str().unwrap().contains("выполните plangraf migrate"), "{body}");

    // A database that does not answer: not ready, and nothing about the server in the answer.
    pool.close().await;
    let (status, body) = probe(&c, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "База данных не отвечает");
    assert!(body["schema_version"].is_null());
    assert!(!body.to_string().contains("sqlite") && !body.to_string().contains("postgres"), "{body}");
    let (status, _) = probe(&c, "/health").await;
    assert_eq!(status, 200, "alive, though not ready");
    h.app.stop().await;
}
