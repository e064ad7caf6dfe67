//! The HTTPS client against a real TLS server on 127.0.0.1:0 whose behaviour is chosen by the
//! login the client sends. The sandbox's own tests cover the client against eis-sandbox.

mod samples;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Multipart};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use eis::client::*;
use eis::packet::{PacketIndex, read_plan_packet, write_plan_packet};
use eis::reply::*;

struct TestServer {
    base_url: String,
    ca_file: PathBuf,
    handle: axum_server::Handle<SocketAddr>,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

fn confirmation_for(ref_id: &str, result: ConfirmationResult) -> String {
    write_confirmation(&Confirmation {
        index: PacketIndex::new("OOS", "PLANGRAF", "TP2020", eis::packet::Mode::Test),
        load_id: None,
        result,
        violations: vec![],
        load_url: None,
        ref_id: ref_id.to_owned(),
    })
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

/// What the server does is chosen by the login, so one server serves every case.
async fn behave(login: &str, ref_id: &str) -> Response {
    match login {
        "ok" => xml(StatusCode::OK, confirmation_for(ref_id, ConfirmationResult::Processing)),
        "bad" => xml(
            StatusCode::UNAUTHORIZED,
            write_error_info(&ErrorInfo {
                code: 401, message: "Неверный логин или пароль".into()
            }),
        ),
        "norights" => xml(
            StatusCode::FORBIDDEN,
            write_error_info(&ErrorInfo {
                code: 403, message: "Нет права «Работа с планом-графиком»".into()
            }),
        ),
        "proxy401" => (StatusCode::UNAUTHORIZED, "<html>login required</html>").into_response(),
        "boom" => (StatusCode::SERVICE_UNAVAILABLE, "upstream down").into_response(),
        "teapot" => (StatusCode::IM_A_TEAPOT, "no").into_response(),
        "garbage" => xml(StatusCode::OK, "<html><body>Технические работы</body></html>".into()),
        "wrongref" => {
            xml(StatusCode::OK, confirmation_for("00000000-0000-0000-0000-000000000000", ConfirmationResult::Success))
        }
        // A confirmation padded past the reply bound of eis::bounds.
        "huge" => {
            let c = confirmation_for(ref_id, ConfirmationResult::Processing);
            xml(StatusCode::OK, format!("{c}{}", " ".repeat(eis::bounds::REPLY.max_bytes)))
        }
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            xml(StatusCode::OK, confirmation_for(ref_id, ConfirmationResult::Processing))
        }
        _ => (StatusCode::BAD_REQUEST, "unknown test login").into_response(),
    }
}

async fn upload(mut mp: Multipart) -> Response {
    let (mut login, mut password, mut document) = (None, None, None);
    while let Ok(Some(field)) = mp.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        if name == "document" {
            // The contract: a file named like packet.xml, sent as text/xml.
            if field.file_name() != Some("packet.xml") || !field.content_type().unwrap_or("").starts_with("text/xml") {
                return (StatusCode::BAD_REQUEST, "document must be packet.xml, text/xml").into_response();
            }
        }
        let value = field.text().await.unwrap_or_default();
        match name.as_str() {
            "login" => login = Some(value),
            "password" => password = Some(value),
            "document" => document = Some(value),
            _ => {}
        }
    }
    let (Some(login), Some(password), Some(document)) = (login, password, document) else {
        return (StatusCode::BAD_REQUEST, "missing field").into_response();
    };
    if password != "secret" {
        return (StatusCode::BAD_REQUEST, "password not passed through").into_response();
    }
    let Ok(packet) = read_plan_packet(&document) else {
        return (StatusCode::BAD_REQUEST, "unreadable packet").into_response();
    };
    behave(&login, &packet.index.id).await
}

#[derive(serde::Deserialize)]
struct StatusForm {
    login: String,
    password: String,
    #[serde(rename = "refId")]
    ref_id: String,
}

async fn status(Form(f): Form<StatusForm>) -> Response {
    if f.password != "secret" {
        return (StatusCode::BAD_REQUEST, "password not passed through").into_response();
    }
    behave(&f.login, &f.ref_id).await
}

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

async fn start_server() -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("cert");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ck.cert.pem()).expect("write ca");
    let key = rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).expect("key");
    let mut cfg = rustls::ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .expect("server config");
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let app = Router::new().route(UPLOAD_PATH, post(upload)).route(STATUS_PATH, post(status));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = axum_server::Handle::new();
    let server =
        axum_server::from_tcp_rustls(listener, axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(cfg)))
            .expect("server")
            .handle(handle.clone());
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    TestServer { base_url: format!("https://{addr}"), ca_file, handle, _dir: dir }
}

fn client(s: &TestServer) -> EisClient {
    EisClient::new(ClientConfig {
        base_url: s.base_url.clone(),
        ca_file: Some(s.ca_file.clone()),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_millis(700),
    })
    .expect("client")
}

fn creds(login: &str) -> Credentials {
    Credentials { login: login.into(), password: "secret".into() }
}

fn packet() -> (String, String) {
    let p = samples::new_packet();
    (p.index.id.clone(), write_plan_packet(&p))
}

#[tokio::test]
async fn upload_and_status_succeed() {
    let s = start_server().await;
    let c = client(&s);
    let (id, xml) = packet();
    let r = c.upload(&creds("ok"), &xml).await.expect("upload");
    assert_eq!(r.http_status, 200);
    assert_eq!(r.value.result, ConfirmationResult::Processing);
    assert_eq!(r.value.ref_id, id);
    assert_eq!(read_confirmation(&r.raw).expect("raw kept"), r.value);
    // A clone shares the pool and works the same.
    let r = c.clone().status(&creds("ok"), &id).await.expect("status");
    assert_eq!(r.value.ref_id, id);
}

#[tokio::test]
async fn unauthorized_and_forbidden_carry_error_info() {
    let s = start_server().await;
    let c = client(&s);
    let (id, xml) = packet();
    match c.upload(&creds("bad"), &xml).await {
        Err(ClientError::Unauthorized { info, raw }) => {
            assert_eq!(info.code, 401);
            assert_eq!(info.message, "Неверный логин или пароль");
            assert!(raw.contains("errorInfo"));
        }
        other => panic!("{other:?}"),
    }
    match c.status(&creds("norights"), &id).await {
        Err(ClientError::Forbidden { info, .. }) => assert_eq!(info.code, 403),
        other => panic!("{other:?}"),
    }
    // The status code decides even when the body is not an errorInfo.
    match c.upload(&creds("proxy401"), &xml).await {
        Err(e @ ClientError::Unauthorized { .. }) => {
            assert_eq!(e.raw(), Some("<html>login required</html>"));
            assert!(!e.is_retryable());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_errors_and_unexpected_statuses() {
    let s = start_server().await;
    let c = client(&s);
    let (_, xml) = packet();
    match c.upload(&creds("boom"), &xml).await {
        Err(e @ ClientError::Server { status: 503, .. }) => {
            assert!(e.is_retryable());
            assert_eq!(e.raw(), Some("upstream down"));
        }
        other => panic!("{other:?}"),
    }
    match c.upload(&creds("teapot"), &xml).await {
        Err(e @ ClientError::Server { status: 418, .. }) => assert!(!e.is_retryable()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn malformed_replies_keep_the_body() {
    let s = start_server().await;
    let c = client(&s);
    let (id, xml) = packet();
    match c.upload(&creds("garbage"), &xml).await {
        Err(ClientError::Malformed { raw, .. }) => assert!(raw.contains("Технические работы")),
        other => panic!("{other:?}"),
    }
    match c.status(&creds("wrongref"), &id).await {
        Err(ClientError::Malformed { reason, .. }) => assert!(reason.contains("refId"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_reply_over_its_bound_is_not_read_whole() {
    let s = start_server().await;
    let c = client(&s);
    let (id, _) = packet();
    match c.status(&creds("huge"), &id).await {
        Err(ClientError::Malformed { reason, raw }) => {
            assert!(reason.contains(&format!("over the limit of {} bytes", eis::bounds::REPLY.max_bytes)), "{reason}");
            assert!(raw.len() <= 1024, "only the start of the body is kept");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn read_timeout_is_a_transport_error() {
    let s = start_server().await;
    let c = client(&s);
    let (_, xml) = packet();
    let started = std::time::Instant::now();
    match c.upload(&creds("slow"), &xml).await {
        Err(e @ ClientError::Transport(_)) => {
            assert!(e.is_retryable());
            assert!(e.to_string().contains("timeout"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(4), "gave up on the read timeout, not the server");
}

#[tokio::test]
async fn connect_failures_and_untrusted_certificates_are_transport_errors() {
    let s = start_server().await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let c = EisClient::new(ClientConfig {
        base_url: format!("https://127.0.0.1:{port}"),
        ca_file: Some(s.ca_file.clone()),
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
    })
    .expect("client");
    let (_, xml) = packet();
    assert!(matches!(c.upload(&creds("ok"), &xml).await, Err(ClientError::Transport(_))));

    // The server's certificate is not the one this client trusts.
    let other = start_server().await;
    let c =
        EisClient::new(ClientConfig { ca_file: Some(other.ca_file.clone()), ..ClientConfig::new(s.base_url.clone()) })
            .expect("client");
    match c.upload(&creds("ok"), &xml).await {
        Err(ClientError::Transport(msg)) => assert!(msg.to_lowercase().contains("certificate"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn configuration_is_checked() {
    assert!(matches!(EisClient::new(ClientConfig::new("http://127.0.0.1:1")), Err(ClientError::Config(_))));
    assert!(matches!(EisClient::new(ClientConfig::new("not a url")), Err(ClientError::Config(_))));
    let missing =
        ClientConfig { ca_file: Some("/nonexistent/ca.pem".into()), ..ClientConfig::new("https://127.0.0.1:1") };
    assert!(matches!(EisClient::new(missing), Err(ClientError::Config(_))));
    let dir = tempfile::tempdir().expect("dir");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no pem here").expect("write");
    let cfg = ClientConfig { ca_file: Some(empty), ..ClientConfig::new("https://127.0.0.1:1/") };
    assert!(matches!(EisClient::new(cfg), Err(ClientError::Config(_))));
}

#[test]
fn credentials_debug_hides_the_password() {
    let c = Credentials { login: "int_ivanov".into(), password: "S3cr3t-pass".into() };
    let shown = format!("{c:?}");
    assert!(shown.contains("int_ivanov"));
    assert!(!shown.contains("S3cr3t-pass"));
}
