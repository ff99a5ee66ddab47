//! MQTT shared subscriptions through the real `hearth` binary: two
//! `mosquitto_sub`s in one `$share` group split what one publisher sends.

mod common;

use common::mqtt::Sub;
use common::{Broker, within};
use std::collections::BTreeSet;

/// Reads from both subscribers until `n` messages arrived in all; returns each one's share.
async fn split(a: &mut Sub, b: &mut Sub, n: usize) -> (Vec<String>, Vec<String>) {
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    within("the group's messages", async {
        while got_a.len() + got_b.len() < n {
            tokio::select! {
                line = a.next() => got_a.push(line),
                line = b.next() => got_b.push(line),
            }
        }
    })
    .await;
    (got_a, got_b)
}

#[tokio::test]
async fn a_shared_subscription_balances_messages_between_its_members_in_3_1_1_and_5() {
    let broker = Broker::start().await;
    for version in ["mqttv5", "mqttv311"] {
        let filter = format!("$share/workers-{version}/jobs/#");
        let mut a = broker.mosquitto_sub(&["-V", version, "-q", "1", "-t", &filter]).await;
        let mut b = broker.mosquitto_sub(&["-V", version, "-q", "1", "-t", &filter]).await;
        let mut whole = broker.mosquitto_sub(&["-V", version, "-t", "jobs/#"]).await;
        for i in 0..20 {
            broker.mosquitto_pub(&["-V", version, "-q", "1", "-t", "jobs/print", "-m", &format!("m{i}")]).await;
        }
        let (got_a, got_b) = split(&mut a, &mut b, 20).await;
        assert!(!got_a.is_empty() && !got_b.is_empty(), "{version}: each member gets some: {got_a:?} {got_b:?}");
        let union: BTreeSet<String> = got_a.iter().chain(&got_b).cloned().collect();
        let expected: BTreeSet<String> = (0..20).map(|i| format!("jobs/print m{i}")).collect();
        assert_eq!(union, expected, "{version}: the union is complete, each once");
        assert_eq!(whole.take(20).await.len(), 20, "a plain subscriber still gets every message");
        a.expect_silence("no message twice").await;
        b.expect_silence("no message twice").await;
    }
}
