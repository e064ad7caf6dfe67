//! Faults on demand: latency, 5xx, dropped connections and stuck processing, set
//! programmatically and through the loopback admin endpoint.

mod common;

use std::time::{Duration, Instant};

use common::*;
use eis::client::ClientError;
use eis::packet::write_plan_packet;
use eis::reply::ConfirmationResult;
use sandbox::{FAULTS_ADMIN_HEADER, Faults};

const UNKNOWN: &str = "0f3c2a8e-0000-0000-0000-000000000000";

fn is_404(r: &Result<impl std::fmt::Debug, ClientError>) -> bool {
    matches!(r, Err(ClientError::Server { status: 404, .. }))
}

#[tokio::test]
async fn latency_is_added_to_integration_replies_only() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    env.sandbox.set_faults(Faults { latency: Duration::from_millis(700), ..Faults::default() });
    let t = Instant::now();
    assert!(is_404(&env.client.status(&creds, UNKNOWN).await));
    assert!(t.elapsed() >= Duration::from_millis(700), "{:?}", t.elapsed());
    // The cabinet is not delayed by much (it has no latency fault at all).
    let http = browser(&env.sandbox);
    let t = Instant::now();
    assert_eq!(http.get(format!("{}/login", env.sandbox.base_url)).send().await.expect("GET").status(), 200);
    assert!(t.elapsed() < Duration::from_millis(700), "{:?}", t.elapsed());
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_next_requests_fail_with_503_and_a_share_fails_evenly() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let d = env.sandbox.directory();
    d.set_faults(Faults { fail_next: 2, ..Faults::default() });
    let xml = write_plan_packet(&packet());
    for _ in 0..2 {
        match env.client.upload(&creds, &xml).await {
            Err(e @ ClientError::Server { status: 503, .. }) => {
                assert!(e.is_retryable());
                let raw = e.raw().unwrap_or_default();
                assert_eq!(eis::reply::read_error_info(raw).expect("errorInfo").code, 1010);
                eis::schemas::assert_valid_or_skip("503 errorInfo", eis::schemas::HTTPS_API_XSD, raw);
            }
            other => panic!("expected 503: {other:?}"),
        }
    }
    assert_eq!(d.faults().fail_next, 0, "used up");
    assert!(d.plans(ORG).await.expect("plans").is_empty(), "a refused request changes nothing");
    env.client.upload(&creds, &xml).await.expect("served again");

    // 50 %: every second request, exactly.
    d.set_faults(Faults { error_percent: 50, ..Faults::default() });
    let mut fates = Vec::new();
    for _ in 0..6 {
        fates.push(matches!(env.client.status(&creds, UNKNOWN).await, Err(ClientError::Server { status: 503, .. })));
    }
    assert_eq!(fates, [false, true, false, true, false, true]);
    // The cabinet is never faulted.
    d.set_faults(Faults { error_percent: 100, ..Faults::default() });
    let http = browser(&env.sandbox);
    assert_eq!(http.get(format!("{}/login", env.sandbox.base_url)).send().await.expect("GET").status(), 200);
    d.set_faults(Faults::default());
    assert!(is_404(&env.client.status(&creds, UNKNOWN).await));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_carries_no_reply() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    env.sandbox.set_faults(Faults { drop_next: 1, ..Faults::default() });
    let p = packet();
    match env.client.upload(&creds, &write_plan_packet(&p)).await {
        Err(e @ ClientError::Transport(_)) => assert!(e.is_retryable() && e.raw().is_none()),
        other => panic!("expected a transport failure: {other:?}"),
    }
    // Nothing was received; the same client works again on a new connection.
    assert!(is_404(&env.client.status(&creds, &p.index.id).await));
    let c = send_and_wait(&env, &creds, &write_plan_packet(&p)).await;
    assert_eq!(c.result, ConfirmationResult::Success);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_lost_reply_leaves_the_upload_received() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    env.sandbox.set_faults(Faults { lose_reply_next: 1, ..Faults::default() });
    let p = packet();
    match env.client.upload(&creds, &write_plan_packet(&p)).await {
        Err(e @ ClientError::Transport(_)) => assert!(e.is_retryable() && e.raw().is_none()),
        other => panic!("expected a transport failure: {other:?}"),
    }
    assert_eq!(env.sandbox.directory().faults().lose_reply_next, 0, "used up");
    // The packet was received all the same: ЕИС knows its id, and the draft is there.
    let r = env.client.status(&creds, &p.index.id).await.expect("ЕИС knows the packet");
    assert_eq!(r.value.ref_id, p.index.id);
    let c = send_and_wait(&env, &creds, &write_plan_packet(&p)).await;
    assert_eq!(c.result, ConfirmationResult::Success);
    assert_eq!(env.sandbox.directory().plans(ORG).await.expect("plans").len(), 1, "one draft");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn stuck_processing_until_released() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let d = env.sandbox.directory();
    d.set_faults(Faults { stuck_processing: true, ..Faults::default() });
    let p = packet();
    env.client.upload(&creds, &write_plan_packet(&p)).await.expect("upload");
    // Clearing the fault does not release what was received under it.
    d.set_faults(Faults::default());
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        let r = env.client.status(&creds, &p.index.id).await.expect("status");
        assert_eq!(r.value.result, ConfirmationResult::Processing);
    }
    assert_eq!(d.release_stuck().await.expect("released"), 1);
    let r = env.client.status(&creds, &p.index.id).await.expect("status");
    assert_eq!(r.value.result, ConfirmationResult::Success);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_admin_endpoint() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let http = browser(&env.sandbox);
    let url = format!("{}/_faults", env.sandbox.base_url);
    // Without the header (a cross-site form cannot send one) nothing is set.
    let resp = http.post(&url).form(&[("fail_next", "1")]).send().await.expect("POST");
    assert_eq!(resp.status(), 403);
    assert_eq!(env.sandbox.directory().faults(), Faults::default());

    let resp = http
        .post(&url)
        .header(FAULTS_ADMIN_HEADER, "1")
        .form(&[("fail_next", "1"), ("latency_ms", "10"), ("stuck_processing", "true")])
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        env.sandbox.directory().faults(),
        Faults { fail_next: 1, latency: Duration::from_millis(10), stuck_processing: true, ..Faults::default() }
    );
    assert!(matches!(env.client.status(&creds, UNKNOWN).await, Err(ClientError::Server { status: 503, .. })));
    let shown = http.get(&url).header(FAULTS_ADMIN_HEADER, "1").send().await.expect("GET").text().await.expect("body");
    assert!(shown.contains("fail_next=0") && shown.contains("stuck_processing=true"), "{shown}");

    let resp =
        http.post(&url).header(FAULTS_ADMIN_HEADER, "1").form(&[("error_percent", "101")]).send().await.expect("POST");
    assert_eq!(resp.status(), 400);
    let resp =
        http.post(&url).header(FAULTS_ADMIN_HEADER, "1").form(&[("drop_next", "many")]).send().await.expect("POST");
    assert_eq!(resp.status(), 400);
    let said = resp.text().await.expect("body");
    assert!(said.contains("drop_next: «many» не является неотрицательным целым числом"), "{said}");

    // Stuck, then released over the endpoint.
    let p = packet();
    env.client.upload(&creds, &write_plan_packet(&p)).await.expect("upload");
    let resp =
        http.post(&url).header(FAULTS_ADMIN_HEADER, "1").form::<[(&str, &str); 0]>(&[]).send().await.expect("POST");
    assert_eq!(resp.status(), 200, "an empty form clears every fault");
    assert_eq!(env.sandbox.directory().faults(), Faults::default());
    let resp = http.post(format!("{url}/release")).header(FAULTS_ADMIN_HEADER, "1").send().await.expect("POST");
    assert_eq!(resp.text().await.expect("body"), "released=1\n");
    assert_eq!(env.client.status(&creds, &p.index.id).await.expect("status").value.result, ConfirmationResult::Success);
    env.sandbox.shutdown().await;
}
