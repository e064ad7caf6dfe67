//! SQLite's write-ahead log is copied into the database file by the store's background task,
//! not left to the commit that fills it (see `store::wal`).

use std::time::{Duration, Instant};
use store::{SecretBox, Store};

#[tokio::test]
async fn the_log_is_checkpointed_in_the_background_without_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wal.sqlite");
    let store =
        Store::open(&format!("sqlite://{}", file.display()), SecretBox::new(SecretBox::generate_key())).await.unwrap();
    let pool = store.pool();
    sqlx::query("CREATE TABLE wal_probe (body TEXT NOT NULL)").execute(pool).await.unwrap();
    // Let the task copy what the migrations left in the log.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = std::fs::metadata(&file).unwrap().len();
    // 8 MB in one commit: about 2,000 pages, twice SQLite's own checkpoint threshold, far
    // below the store's backstop. The commit leaves it all in the log.
    let body = "я".repeat(4 * 1024 * 1024);
    sqlx::query("INSERT INTO wal_probe (body) VALUES ($1)").bind(&body).execute(pool).await.unwrap();
    let after_commit = std::fs::metadata(&file).unwrap().len();
    assert!(after_commit < before + 1024 * 1024, "the commit itself did not copy the log: {before} → {after_commit}");
    // Nobody writes any more: only the task can copy the log now (every 200 ms).
    let start = Instant::now();
    let grown = loop {
        let len = std::fs::metadata(&file).unwrap().len();
        if len >= before + 8 * 1024 * 1024 || start.elapsed() > Duration::from_secs(5) {
            break len;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        grown >= before + 8 * 1024 * 1024,
        "the database file holds the 8 MB after the task's turn: {before} → {grown}"
    );
}
