//! What benchmarks and tests may turn on: automatic placement of received drafts, the cache of
//! verified integration credentials, and the shares of dropped connections and slow replies.

mod common;

use std::time::{Duration, Instant};

use common::*;
use eis::client::{ClientConfig, ClientError, EisClient};
use eis::packet::write_plan_packet;
use eis::reply::ConfirmationResult;
use sandbox::{Faults, VersionState};

async fn state_of_version(env: &Env, version: usize) -> Option<VersionState> {
    let plans = env.sandbox.directory().plans(ORG).await.expect("plans");
    plans.first().and_then(|p| p.versions.get(version)).map(|v| v.state)
}

#[tokio::test]
async fn a_loaded_draft_is_placed_after_the_configured_delay() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    assert_eq!(d.auto_place(), None, "off by default");
    let creds = creds(&env, "spec").await;

    // Off: a loaded draft stays a draft.
    let c = send_and_wait(&env, &creds, &write_plan_packet(&packet())).await;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(state_of_version(&env, 0).await, Some(VersionState::Project));

    // On: placed once the delay has passed, not before.
    let set_at = Instant::now();
    env.sandbox.set_auto_place(Some(Duration::from_millis(1500)));
    assert_eq!(d.auto_place(), Some(Duration::from_millis(1500)));
    let placed_at = loop {
        if state_of_version(&env, 0).await == Some(VersionState::Placed) {
            break Instant::now();
        }
        assert!(set_at.elapsed() < Duration::from_secs(20), "not placed automatically");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The draft's result was due at receipt (delay zero) well over the 1.5 s before: placed at
    // the first look after the setting.
    assert!(placed_at - set_at < Duration::from_secs(5));
    let plans = d.plans(ORG).await.expect("plans");
    let plan_number = plans[0].plan_number.clone().expect("a plan number");
    assert!(plans[0].versions[0].published_doc_id.is_some());

    // A change received now waits out the delay, then is placed too.
    let received = Instant::now();
    let c = send_and_wait(&env, &creds, &write_plan_packet(&change_packet(&plan_number, 1))).await;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);
    assert_eq!(state_of_version(&env, 1).await, Some(VersionState::Project), "not before the delay");
    loop {
        if state_of_version(&env, 1).await == Some(VersionState::Placed) {
            break;
        }
        assert!(received.elapsed() < Duration::from_secs(20), "the change was not placed automatically");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(received.elapsed() >= Duration::from_millis(1500), "placed before the delay: {:?}", received.elapsed());

    // Off again: the next draft stays.
    d.set_auto_place(None);
    let c = send_and_wait(&env, &creds, &write_plan_packet(&change_packet(&plan_number, 2))).await;
    assert_eq!(c.result, ConfirmationResult::Success, "{:?}", c.violations);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(state_of_version(&env, 2).await, Some(VersionState::Project));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_stuck_packet_is_not_placed_automatically() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    env.sandbox.set_auto_place(Some(Duration::from_millis(50)));
    env.sandbox.set_faults(Faults { stuck_processing: true, ..Faults::default() });
    env.client.upload(&creds, &write_plan_packet(&packet())).await.expect("upload");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(state_of_version(&env, 0).await, Some(VersionState::Project), "still processing in ЕИС");
    env.sandbox.directory().release_stuck().await.expect("released");
    let t = Instant::now();
    while state_of_version(&env, 0).await != Some(VersionState::Placed) {
        assert!(t.elapsed() < Duration::from_secs(20), "not placed once released");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn cached_credentials_skip_argon2_until_the_password_is_made_anew() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let creds = creds(&env, "spec").await;
    let unknown = "0f3c2a8e-0000-0000-0000-000000000000";
    let is_404 = |r: &Result<_, ClientError>| matches!(r, Err(ClientError::Server { status: 404, .. }));

    // Off (the default): every call verifies.
    let before = d.password_check_stats().completed;
    for _ in 0..3 {
        assert!(is_404(&env.client.status(&creds, unknown).await));
    }
    assert_eq!(d.password_check_stats().completed - before, 3);

    d.set_credential_cache(Some(Duration::from_secs(60)));
    let before = d.password_check_stats().completed;
    for _ in 0..5 {
        assert!(is_404(&env.client.status(&creds, unknown).await));
    }
    assert_eq!(d.password_check_stats().completed - before, 1, "one verification, then the cache");

    // A wrong password is never taken from the cache.
    let wrong = eis::client::Credentials { login: creds.login.clone(), password: "not-the-password".to_owned().into() };
    assert!(matches!(env.client.status(&wrong, unknown).await, Err(ClientError::Unauthorized { .. })));

    // A password made anew: the old one is refused at once, cache or not.
    let fresh = d.regenerate_integration_password("spec").await.expect("new password");
    assert!(matches!(env.client.status(&creds, unknown).await, Err(ClientError::Unauthorized { .. })));
    assert!(is_404(&env.client.status(&fresh, unknown).await));
    // So is a blocked user.
    d.set_blocked("spec", true).await.expect("blocked");
    assert!(matches!(env.client.status(&fresh, unknown).await, Err(ClientError::Unauthorized { .. })));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_slow_reply_is_served_and_outlasts_the_client_read_timeout() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let impatient = EisClient::new(ClientConfig {
        base_url: env.sandbox.base_url.clone(),
        ca_file: Some(env.sandbox.ca_cert_path.clone()),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_millis(300),
    })
    .expect("client");
    env.sandbox.set_faults(Faults { slow_percent: 100, slow_latency: Duration::from_secs(2), ..Faults::default() });
    let packet = packet();
    match impatient.upload(&creds, &write_plan_packet(&packet)).await {
        Err(e @ ClientError::Transport(_)) => assert!(e.is_retryable()),
        other => panic!("expected a timeout: {other:?}"),
    }
    // The upload takes effect although the client never learns it.
    let t = Instant::now();
    while state_of_version(&env, 0).await != Some(VersionState::Project) {
        assert!(t.elapsed() < Duration::from_secs(20), "the slow upload was not served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.sandbox.set_faults(Faults::default());
    let again = env.client.status(&creds, &packet.index.id).await.expect("status");
    assert_eq!(again.value.result, ConfirmationResult::Success);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn shares_of_drops_and_slow_replies_are_set_over_http() {
    let env = start(Duration::ZERO).await;
    let http = browser(&env.sandbox);
    let r = http
        .post(format!("{}/_faults", env.sandbox.base_url))
        .header(sandbox::FAULTS_ADMIN_HEADER, "1")
        .form(&[("drop_percent", "10"), ("slow_percent", "20"), ("slow_ms", "2500")])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 200);
    let body = r.text().await.expect("body");
    assert!(body.contains("drop_percent=10\nslow_percent=20\nslow_ms=2500\n"), "{body}");
    let f = env.sandbox.directory().faults();
    assert_eq!((f.drop_percent, f.slow_percent, f.slow_latency), (10, 20, Duration::from_millis(2500)));
    let r = http
        .post(format!("{}/_faults", env.sandbox.base_url))
        .header(sandbox::FAULTS_ADMIN_HEADER, "1")
        .form(&[("slow_percent", "101")])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 400);
    assert!(r.text().await.expect("body").contains("slow_percent: допустимы значения от 0 до 100"));
    env.sandbox.shutdown().await;
}

/// A client that hangs up while its (right) password is being checked is not counted as a
/// failed attempt: the broken connections of a busy client must not throttle it.
#[tokio::test]
async fn a_client_hanging_up_during_the_password_check_is_not_throttled() {
    let env = start(Duration::ZERO).await;
    let d = env.sandbox.directory();
    let creds = creds(&env, "spec").await;
    let unknown = "0f3c2a8e-0000-0000-0000-000000000000";
    // Argon2 takes longer than this client waits for a reply.
    let impatient = EisClient::new(ClientConfig {
        base_url: env.sandbox.base_url.clone(),
        ca_file: Some(env.sandbox.ca_cert_path.clone()),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_millis(5),
    })
    .expect("client");
    let mut hung_up = 0;
    let checks_before = d.password_check_stats().completed;
    for _ in 0..12 {
        match impatient.status(&creds, unknown).await {
            Err(ClientError::Transport(_)) => hung_up += 1,
            Err(ClientError::Server { status: 404, .. }) => {}
            other => panic!("unexpected: {other:?}"),
        }
        // Whatever the client left behind finishes before the next attempt.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        while d.password_check_stats().running > 0 {
            assert!(t.elapsed() < Duration::from_secs(20), "a password check never finished");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let checks = d.password_check_stats().completed - checks_before;
    assert!(hung_up > 5 && checks > 5, "{hung_up} hang-ups, {checks} checks: too few to test this");
    // More hang-ups than the 5 failures a login may have, yet the right password still works.
    match env.client.status(&creds, unknown).await {
        Err(ClientError::Server { status: 404, .. }) => {}
        other => panic!("a right password after hang-ups: {other:?}"),
    }
    env.sandbox.shutdown().await;
}
