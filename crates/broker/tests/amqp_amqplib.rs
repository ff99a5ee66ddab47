//! AMQP 0-9-1 through the real `hearth` binary with a second client
//! library, Node's amqplib (`cargo xtask test` installs it into `.tools/`
//! with npm when missing): publisher confirms and nacks, prefetch with
//! multiple acks, a global (channel-wide) prefetch, nack/requeue and `basic.get`, dead-letter exchanges, queue
//! and message TTLs, properties end to end, an MQTT 5 subscriber
//! (mosquitto_sub) seeing an AMQP publish with its headers, and consumer
//! cancel notifications; in `tests/amqplib/check.js`.

mod common;

use common::Broker;
use std::time::Duration;
use tokio::process::Command;

#[tokio::test]
async fn amqplib_confirms_prefetch_requeue_dead_letters_ttl_properties_and_mqtt() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/amqplib/check.js");
    let modules = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.tools/node_modules");
    let run = Command::new("node")
        .arg(script)
        .arg(broker.amqp.port().to_string())
        .arg(broker.mqtt.port().to_string())
        .env("NODE_PATH", modules)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the amqplib checks finish in time")
        .expect("node runs (cargo xtask test installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Cannot find module 'amqplib'"),
        "amqplib is missing: `cargo xtask test` installs it, or: npm install --prefix .tools amqplib@0.10"
    );
    assert!(out.status.success(), "amqplib checks failed:\n{stdout}\n{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 8, "{stdout}");
}
