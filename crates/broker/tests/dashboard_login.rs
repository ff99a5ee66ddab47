//! The dashboard's login over HTTP: `/api/*` needs it when the broker needs
//! logins, the cookie is HttpOnly and SameSite=Strict, `/ws` takes it as the
//! connection's login; and WebSocket upgrades from foreign pages are refused.

mod common;

use common::{Broker, http_request, within};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

async fn broker_with_user(extra: &[&str]) -> (Broker, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a directory");
    let passwd = dir.path().join("passwd");
    common::mosquitto_passwd(&passwd, &[("owner", "open sesame")]);
    let args = [&["--password-file", passwd.to_str().expect("UTF-8")][..], extra].concat();
    (Broker::start_with(&args).await, dir)
}

async fn login(broker: &Broker, user: &str, password: &str) -> (u16, String, String) {
    let body = json!({"username": user, "password": password}).to_string();
    http_request(broker.addr, "POST", "/api/login", &["Content-Type: application/json"], &body).await
}

fn cookie_of(head: &str) -> String {
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no Set-Cookie in {head}"));
    line.split_once(':').expect("a header").1.trim().to_owned()
}

#[tokio::test]
async fn the_api_needs_a_login_and_the_cookie_opens_it_and_the_websocket() {
    let (broker, _dir) = broker_with_user(&[]).await;
    let session: Value = broker.get_json("/api/session").await;
    assert_eq!(session, json!({"login_required": true, "user": null}));
    for path in ["/api/overview", "/api/queues", "/api/connections"] {
        let (status, body) = broker.get(path).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert!(body.contains("login_required"), "{body}");
    }
    assert_eq!(broker.get("/healthz").await, (200, "ok\n".into()), "/healthz stays open");

    let (status, _, body) = login(&broker, "owner", "wrong").await;
    assert_eq!(status, 401);
    assert!(body.contains("bad_credentials"), "{body}");

    let (status, head, _) = login(&broker, "owner", "open sesame").await;
    assert_eq!(status, 200, "{head}");
    let set_cookie = cookie_of(&head);
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(flag), "{flag} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "no Secure flag without TLS: {set_cookie}");
    let name = format!("hearth_session_{}=", broker.addr.port());
    assert!(set_cookie.starts_with(&name), "each broker on a host has its own cookie: {set_cookie}");
    let pair = set_cookie.split(';').next().expect("name=value").to_owned();
    let cookie = format!("Cookie: {pair}");
    let (status, _, body) = http_request(broker.addr, "GET", "/api/queues", &[&cookie], "").await;
    assert_eq!(status, 200, "{body}");
    let (_, _, body) = http_request(broker.addr, "GET", "/api/session", &[&cookie], "").await;
    assert_eq!(serde_json::from_str::<Value>(&body).expect("JSON")["user"], "owner");

    // The cookie logs the WebSocket in: no credentials in `hello`.
    let mut request = format!("ws://{}/ws", broker.addr).into_client_request().expect("a request");
    request.headers_mut().insert("Cookie", HeaderValue::from_str(&pair).expect("a header"));
    let (stream, _) = within("the WebSocket", tokio_tungstenite::connect_async(request)).await.expect("upgraded");
    let mut ws = common::Ws::from_stream(stream);
    ws.hello(json!({})).await;
    let reply = ws.publish(json!({"topic": "home/hall/light"}), "on").await;
    assert_eq!(reply["type"], "confirm", "{reply}");
    // Without the cookie, `hello` must carry credentials, as before.
    let mut anonymous = broker.connect().await;
    anonymous.send(json!({"type": "hello", "id": 1})).await;
    anonymous.expect_error("not_authorized").await;

    let (status, head, _) = http_request(broker.addr, "POST", "/api/logout", &[&cookie], "").await;
    assert_eq!(status, 204);
    assert!(cookie_of(&head).contains("Max-Age=0"), "the cookie is cleared");
    let (status, _, _) = http_request(broker.addr, "GET", "/api/queues", &[&cookie], "").await;
    assert_eq!(status, 401, "a logged-out cookie opens nothing");
}

#[tokio::test]
async fn without_users_the_api_stays_open() {
    let broker = Broker::start().await;
    assert_eq!(broker.get_json("/api/session").await, json!({"login_required": false, "user": null}));
    assert_eq!(broker.get("/api/queues").await.0, 200);
}

async fn upgrade_with_origin(broker: &Broker, path: &str, origin: &str) -> Result<(), (u16, String)> {
    let mut request = format!("ws://{}{path}", broker.addr).into_client_request().expect("a request");
    request.headers_mut().insert("Origin", HeaderValue::from_str(origin).expect("a header"));
    if path == "/mqtt" {
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    }
    match within("the upgrade", tokio_tungstenite::connect_async(request)).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn websockets_from_foreign_pages_are_refused_unless_allowed() {
    let broker = Broker::start_with(&["--allow-origin", "http://dashboard.home:8080"]).await;
    let own = format!("http://{}", broker.addr);
    let status = |r: Result<(), (u16, String)>| r.map_err(|(status, _)| status);
    for path in ["/ws", "/mqtt"] {
        assert_eq!(status(upgrade_with_origin(&broker, path, &own).await), Ok(()), "{path}: the broker's own pages");
        assert_eq!(status(upgrade_with_origin(&broker, path, "http://evil.example").await), Err(403), "{path}");
        let allowed = upgrade_with_origin(&broker, path, "http://dashboard.home:8080").await;
        assert_eq!(status(allowed), Ok(()), "{path}: allowed");
        let other_scheme = upgrade_with_origin(&broker, path, &format!("https://{}", broker.addr)).await;
        assert_eq!(status(other_scheme), Err(403));
    }
    // The refusal says what to do about it.
    let (code, body) = upgrade_with_origin(&broker, "/ws", "http://evil.example").await.expect_err("refused");
    assert_eq!(code, 403);
    assert!(body.contains("--allow-origin http://evil.example"), "{body}");
}
