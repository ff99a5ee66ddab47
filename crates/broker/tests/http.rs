//! The broker's HTTP side: health, Prometheus metrics, the JSON admin API and
//! the page shown when no dashboard is built.

mod common;

use common::Broker;
use serde_json::json;

#[tokio::test]
async fn healthz_answers_ok() {
    let broker = Broker::start().await;
    assert_eq!(broker.get("/healthz").await, (200, "ok\n".to_owned()));
}

#[tokio::test]
async fn metrics_and_overview_count_what_was_published() {
    let broker = Broker::start().await;
    let mut client = broker.connect().await;
    client.declare("jobs", json!({})).await;
    client.publish_to_queue("jobs", "one").await;
    client.publish_to_queue("jobs", "two").await;

    let (status, metrics) = broker.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.lines().any(|l| l == "hearth_messages_published_total 2"), "{metrics}");
    assert!(metrics.contains("# TYPE hearth_messages_published_total counter"), "{metrics}");
    assert!(metrics.lines().any(|l| l == r#"hearth_queue_ready{queue="jobs"} 2"#), "{metrics}");

    let overview = broker.get_json("/api/overview").await;
    assert_eq!(overview["server"], "hearth");
    let counters = &overview["counters"];
    assert_eq!((&counters["published"], &counters["routed"]), (&json!(2), &json!(2)), "{overview}");
    let gauges = (&overview["queues"], &overview["messages_ready"], &overview["connections"]);
    assert_eq!(gauges, (&json!(1), &json!(2), &json!(1)), "{overview}");
}

#[tokio::test]
async fn the_connections_api_lists_an_open_connection() {
    let broker = Broker::start().await;
    let mut client = broker.connect().await;
    let will = json!({"topic": "home/thermostat/status", "payload": "offline"});
    client.hello(json!({"client_id": "thermostat", "will": will})).await;

    let connections = broker.get_json("/api/connections").await;
    let list = connections.as_array().expect("an array");
    assert_eq!(list.len(), 1, "{connections}");
    let conn = &list[0];
    assert_eq!((&conn["client_id"], &conn["has_will"]), (&json!("thermostat"), &json!(true)), "{conn}");
    assert!(conn["remote"].as_str().is_some_and(|r| r.starts_with("127.0.0.1:")), "{conn}");
}

#[tokio::test]
async fn the_root_page_without_a_dashboard_says_how_to_build_one() {
    let broker = Broker::start().await;
    let (status, page) = broker.get("/").await;
    if hearth::http::has_embedded_dashboard() {
        // Built after `dist/`: the dashboard inside the binary is served
        // (tests/tests/one_binary.rs checks its files; the page without one
        // is checked in http.rs's unit tests).
        assert_eq!(status, 200, "the embedded dashboard is served");
        assert!(page.contains("<title>"), "{page}");
        return;
    }
    assert_eq!(status, 404, "no dashboard is being served");
    assert!(page.contains("cargo xtask dist") && page.contains("--dist"), "{page}");
    assert!(page.contains("/api/overview") && page.contains("/metrics"), "the page points at what does work: {page}");
}

/// `GET path` with an `Origin` header; the lower-cased response headers.
async fn head_with_origin(broker: &Broker, path: &str, origin: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(broker.addr).await.expect("the broker accepts HTTP");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n", broker.addr);
    tcp.write_all(request.as_bytes()).await.expect("request is sent");
    let mut raw = String::new();
    common::within("the response", tcp.read_to_string(&mut raw)).await.expect("response is read");
    raw.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase()
}

#[tokio::test]
async fn the_json_api_answers_only_the_origins_allowed() {
    const FRIEND: &str = "http://127.0.0.1:9";
    let broker = Broker::start_with(&["--allow-origin", FRIEND]).await;
    for path in ["/api/overview", "/api/queues", "/api/connections"] {
        let head = head_with_origin(&broker, path, FRIEND).await;
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(head.contains(&format!("access-control-allow-origin: {FRIEND}")), "{path}: {head}");
        let head = head_with_origin(&broker, path, "http://elsewhere.example").await;
        assert!(!head.contains("access-control-allow-origin"), "{path} must not answer other origins: {head}");
    }

    let default = Broker::start().await;
    let head = head_with_origin(&default, "/api/connections", FRIEND).await;
    assert!(!head.contains("access-control-allow-origin"), "no origin is allowed by default: {head}");
}

#[tokio::test]
async fn an_allowed_origin_that_is_not_one_is_refused_at_start() {
    let out = common::run_hearth(&["serve", "--listen", "127.0.0.1:0", "--allow-origin", "127.0.0.1:8080/x"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not an origin") && stderr.contains("http://127.0.0.1:8080"), "{stderr}");
}
