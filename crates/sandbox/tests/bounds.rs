//! Uploads over the bounds of `eis::bounds` are refused with a clear answer, over real HTTPS,
//! and the sandbox goes on answering.

mod common;

use std::time::Duration;

use common::*;
use eis::bounds::MAX_DEPTH;
use eis::client::ClientError;
use eis::packet::write_plan_packet;
use eis::reply::{ConfirmationResult, read_error_info};

#[tokio::test]
async fn a_packet_nested_ten_thousand_levels_deep_is_refused_and_the_sandbox_goes_on() {
    let env = start(Duration::ZERO).await;
    let creds = creds(&env, "spec").await;
    let xml = write_plan_packet(&packet());
    let at = xml.find("</tp:position>").expect("a position");
    let deep = format!("{}{}{}{}", &xml[..at], "<tp:x>".repeat(10_000), "</tp:x>".repeat(10_000), &xml[at..]);
    assert!(deep.len() > 130_000);
    match env.client.upload(&creds, &deep).await {
        Err(ClientError::Server { status: 400, raw }) => {
            let info = read_error_info(&raw).expect("errorInfo");
            assert_eq!(info.code, 1005);
            assert!(info.message.contains(&format!("вложены глубже {MAX_DEPTH} уровней")), "{}", info.message);
            eis::schemas::assert_valid_or_skip("400 errorInfo", eis::schemas::HTTPS_API_XSD, &raw);
        }
        other => panic!("{other:?}"),
    }
    // The same packet without the nest is received as usual.
    let done = send_and_wait(&env, &creds, &xml).await;
    assert_eq!(done.result, ConfirmationResult::Success, "{:?}", done.violations);
}
