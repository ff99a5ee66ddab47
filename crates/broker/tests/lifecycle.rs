//! The broker process's life: its connection limit and its graceful shutdown.

mod common;

use common::{Broker, payload, within};
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A `sh` waiting for a pid on stdin to send SIGTERM to, as a supervisor would.
/// Started ahead of time, so the signal goes out within microseconds of the
/// pid being written (`kill` is a shell builtin).
struct Terminator(tokio::process::Child);

impl Terminator {
    fn ready() -> Self {
        let child = tokio::process::Command::new("sh")
            .args(["-c", "read pid && kill -TERM \"$pid\""])
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("sh starts");
        Self(child)
    }

    async fn terminate(mut self, pid: u32) {
        let mut stdin = self.0.stdin.take().expect("stdin is piped");
        stdin.write_all(format!("{pid}\n").as_bytes()).await.expect("the pid is written");
        drop(stdin);
        let status = within("kill -TERM", self.0.wait()).await.expect("sh's status is readable");
        assert!(status.success(), "kill -TERM {pid} failed");
    }
}

#[tokio::test]
async fn a_client_over_the_connection_limit_is_told_and_closed_while_the_others_keep_working() {
    let broker = Broker::start_with(&["--max-connections", "2"]).await;
    let mut first = broker.connect().await;
    let mut second = broker.connect().await;
    first.ping().await;
    second.ping().await;

    let mut third = broker.connect().await;
    let refusal = third.expect_error("too_many_connections").await;
    assert!(refusal["message"].as_str().is_some_and(|m| m.contains('2')), "the message names the limit: {refusal}");
    let closed = third.expect_closed().await;
    assert_eq!(closed.frame.map(|f| f.code), Some(CloseCode::Again), "closed with 1013 try again later");

    first.declare("still-here", json!({})).await;
    second.subscribe("still-here", 10).await;
    first.publish_to_queue("still-here", "hello").await;
    assert_eq!(payload(&second.expect_type("deliver").await), "hello");
}

#[tokio::test]
async fn sigterm_closes_every_connection_and_the_broker_exits_cleanly() {
    let mut broker = Broker::start().await;
    let mut consumer = broker.connect().await;
    consumer.declare("jobs", json!({})).await;
    consumer.subscribe("jobs", 10).await;
    let mut idle = broker.connect().await;
    idle.hello(json!({"client_id": "idle"})).await;

    let terminator = Terminator::ready();
    let asked = Instant::now();
    terminator.terminate(broker.pid()).await;
    for client in [&mut consumer, &mut idle] {
        let closed = client.expect_closed().await;
        let code = closed.frame.as_ref().map(|f| f.code);
        assert_eq!(code, Some(CloseCode::Away), "closed with 1001 going away: {closed:?}");
    }
    let status = broker.wait_exit().await;
    assert!(status.success(), "hearth exits 0 on SIGTERM, got {status}");
    assert!(asked.elapsed() < Duration::from_secs(5), "shutdown took {:?}", asked.elapsed());
}

#[tokio::test]
async fn sigterm_right_after_the_listening_line_still_shuts_down_cleanly() {
    let terminator = Terminator::ready();
    let mut broker = Broker::start().await;
    terminator.terminate(broker.pid()).await;
    let status = broker.wait_exit().await;
    assert!(status.success(), "a signal sent as soon as the broker says it listens is handled, got {status}");
}
