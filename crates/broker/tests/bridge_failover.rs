//! Fail-over across a bridge's addresses, against two real remotes (Debian's
//! `mosquitto` on two loopback ports): when the one in use stops, traffic
//! moves to the other; when that one stops in turn, the bridge goes back to
//! the first address first (first-preferred, Mosquitto's `round_robin false`),
//! and `/api/bridges` lists the addresses it tried, in order.

mod bridge_support;
mod common;

use bridge_support::{Mosquitto, Sub, hearth_with, publish, wait_bridge};

#[tokio::test]
async fn traffic_moves_to_the_second_address_and_back_to_the_first() {
    let mut first = Mosquitto::start("").await;
    let mut second = Mosquitto::start("").await;
    let (a, b) = (format!("127.0.0.1:{}", first.port), format!("127.0.0.1:{}", second.port));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = format!(
        "[[bridge]]\nname = \"cloud\"\naddresses = [\"{a}\", \"{b}\"]\ntopics = [\"fo/# out 1\"]\n\
         reconnect_min_ms = 100\nreconnect_max_ms = 400\n"
    );
    let hearth = hearth_with(dir.path(), &config).await;
    let local = hearth.mqtt.port();
    let on = |address: &str| {
        let address = address.to_owned();
        move |v: &serde_json::Value| v["state"] == "connected" && v["address"] == address.as_str()
    };
    wait_bridge(&hearth, "cloud", "connected to the first address", on(&a)).await;
    let mut at_first = Sub::start(first.port, &["-t", "fo/#", "-q", "1"], true).await;
    publish(local, &["-t", "fo/1", "-m", "one", "-q", "1"]).await;
    assert_eq!(at_first.next().await, "fo/1 one");

    // The first stops: the bridge retries it, fails, and moves to the second.
    first.stop().await;
    wait_bridge(&hearth, "cloud", "failed over to the second address", on(&b)).await;
    let mut at_second = Sub::start(second.port, &["-t", "fo/#", "-q", "1"], true).await;
    publish(local, &["-t", "fo/2", "-m", "two", "-q", "1"]).await;
    assert_eq!(at_second.next().await, "fo/2 two");

    // The first is back and the second stops: the next reconnection tries
    // the first address first, and traffic resumes there.
    first.restart().await;
    second.stop().await;
    let view = wait_bridge(&hearth, "cloud", "back on the first address", on(&a)).await;
    let mut at_first = Sub::start(first.port, &["-t", "fo/#", "-q", "1"], true).await;
    publish(local, &["-t", "fo/3", "-m", "three", "-q", "1"]).await;
    assert_eq!(at_first.next().await, "fo/3 three");

    let tried: Vec<&str> = view["tried"].as_array().expect("tried").iter().filter_map(|t| t.as_str()).collect();
    assert_eq!(tried.first(), Some(&a.as_str()), "the first address is tried first: {view}");
    let last_b = tried.iter().rposition(|t| *t == b).expect("the second address was tried");
    assert_eq!(tried[last_b + 1..], [a.as_str()], "after losing the second, the first is tried first: {view}");
    assert_eq!(view["round_robin"], false, "{view}");
    assert_eq!(view["connects"], 3, "{view}");
    let log = std::fs::read_to_string(dir.path().join("hearth.log")).expect("the log");
    let tries: Vec<&str> = log.lines().filter(|l| l.contains("bridge: connecting")).collect();
    assert!(tries.len() >= 4 && tries.last().is_some_and(|l| l.contains(&a)), "{tries:#?}");
}
