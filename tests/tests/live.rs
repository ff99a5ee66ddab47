//! Live mode end to end: the real broker serves the dashboard, the page
//! connects to its `/ws`, and messages published with the real `hearth pub`
//! appear in the page: the retained state as a device card, a plain message
//! in the subscribe panel, the queues with their numbers, the memory used of
//! the broker's budget; and simulated devices started from the page connect
//! to the broker.

use std::process::Command;

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser, words};

/// Runs `$HEARTH_BIN pub -u ADDR ARGS…` and checks it succeeded.
fn hearth_pub(broker: &Broker, args: &[&str]) {
    let bin = std::env::var("HEARTH_BIN").expect("HEARTH_BIN is set by `cargo xtask test`");
    let output =
        Command::new(bin).args(["pub", "-u", &broker.addr.to_string()]).args(args).output().expect("hearth pub runs");
    assert!(output.status.success(), "hearth pub {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_shows_what_hearth_pub_publishes() {
    let broker = Broker::start();
    // Retained before the page looks: it must arrive as the replayed state.
    hearth_pub(&broker, &["-t", "home/hall/door/lock/state", "--retain", r#"{"locked":false}"#]);

    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    // The wasm mounts the page after `load`: wait for the tab to exist.
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    browser.click("[data-testid=tab-live]").await;
    browser.wait_for_text("[data-testid=status]", |t| t.starts_with("connected to ws://")).await;

    browser.wait_for_text(&device(LOCK, "live-device-fields"), |t| words(t) == "locked false").await;
    browser.wait_for_text(&device(LOCK, "live-device-online"), |t| t == "no status").await;

    // The subscribe panel follows `#`: a plain message shows up there, and a
    // new retained state updates the card.
    hearth_pub(&broker, &["-t", "home/kitchen/temperature", "21.5"]);
    browser.wait_for_text("[data-testid=message-topic]", |t| t == "home/kitchen/temperature").await;
    browser.wait_for_text("[data-testid=message-payload]", |t| t == "21.5").await;
    hearth_pub(&broker, &["-t", "home/hall/door/lock/state", "--retain", r#"{"locked":true}"#]);
    browser.wait_for_text(&device(LOCK, "live-device-fields"), |t| words(t) == "locked true").await;

    // The stats stream: the page's own subscription queues are listed, and
    // the broker counts the page among its connections.
    browser.wait_for_text("[data-testid=queue-name]", |t| t.starts_with("hearth.sub.")).await;
    browser.wait_for_text("[data-testid=live-published]", |t| t.parse::<u64>().is_ok_and(|n| n >= 3)).await;
    // The broker's memory against its budget (by default a share of RAM).
    browser.wait_for_text("[data-testid=live-memory]", |t| t.contains("B of ") && t.ends_with("iB")).await;
    browser.wait_for_text("[data-testid=connection-row]", |t| t.contains("hearth-dashboard")).await;

    // Publishing from the page's form reaches the broker and comes back.
    let topic = browser.client.find(Locator::Css("[data-testid=live-publish-topic]")).await.expect("topic field");
    topic.clear().await.expect("clear topic");
    topic.send_keys("home/garage/door/state").await.expect("type topic");
    browser
        .client
        .find(Locator::Css("[data-testid=live-publish]"))
        .await
        .expect("publish button")
        .click()
        .await
        .expect("click");
    browser.wait_for_text("[data-testid=live-publish-result]", |t| t.starts_with("published")).await;
    browser
        .wait_for_text("[data-testid=message-row]:first-child [data-testid=message-topic]", |t| {
            t == "home/garage/door/state"
        })
        .await;

    // Simulated devices from the page: each its own connection to the broker.
    let count = browser.client.find(Locator::Css("[data-testid=fleet-count]")).await.expect("device count");
    count.clear().await.expect("clear count");
    count.send_keys("3").await.expect("type count");
    browser.click("[data-testid=fleet-start]").await;
    browser.wait_for_text("[data-testid=fleet-status]", |t| t == "3 of 3 simulated devices connected").await;
    wait_for_any(&browser, "[data-testid=connection-row]", |t| t.contains("sim-sensor-2")).await;
    // The queues' charts: the page's `home/#` queue takes the devices' traffic.
    wait_for_any(&browser, "[data-testid=live-chart-peak]", |t| t.strip_prefix("peak ").is_some_and(|n| n != "0"))
        .await;
    browser.wait_for_text(&device("home/sim/sensor-1", "live-device-online"), |t| t == "online").await;
    browser.wait_for_text(&device("home/sim/sensor-1", "live-device-fields"), |t| t.starts_with("celsius")).await;
    browser.click("[data-testid=fleet-stop]").await;
    browser.wait_for_text("[data-testid=fleet-status]", |t| t == "0 of 0 simulated devices connected").await;
    browser.wait_for_text(&device("home/sim/sensor-1", "live-device-online"), |t| t == "offline").await;
    browser.close().await;
}

const LOCK: &str = "home/hall/door/lock";

/// The element with `testid` in the card of device `name`.
fn device(name: &str, testid: &str) -> String {
    format!("[data-device=\"{name}\"] [data-testid={testid}]")
}

/// An MQTT device made of Mosquitto's own clients: its state and status
/// published retained with mosquitto_pub (MQTT 5), its connection a
/// mosquitto_sub (MQTT 3.1.1) holding a retained last will. The card appears
/// online; when the process is killed (no DISCONNECT), the broker publishes
/// the will and the card goes offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_shows_an_mqtt_device_going_offline() {
    const PLUG: &str = "home/garage/plug";
    let broker = Broker::start();
    broker.mosquitto_pub(&["-V", "mqttv5", "-r", "-t", "home/garage/plug/state", "-m", r#"{"on":true,"watts":12.5}"#]);

    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    browser.click("[data-testid=tab-live]").await;
    browser.wait_for_text(&device(PLUG, "live-device-fields"), |t| words(t) == "on true watts 12.5 W").await;
    browser.wait_for_text(&device(PLUG, "live-device-online"), |t| t == "no status").await;
    let card = format!("[data-device=\"{PLUG}\"]");
    assert_eq!(browser.attribute(&card, "class").await, "live-device", "the retained replay does not pulse");

    let port = broker.mqtt.port().to_string();
    let connection = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port, "-V", "mqttv311", "-i", "garage-plug", "-t", "home/garage/plug/set"])
        .args(["--will-topic", "home/garage/plug/status", "--will-payload", "offline", "--will-retain"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("mosquitto_sub starts");
    let mut connection = hearth_e2e::Running(connection);
    // The broker lists the MQTT connection: its will is registered.
    wait_for_any(&browser, "[data-testid=connection-row]", |t| t.contains("garage-plug")).await;
    broker.mosquitto_pub(&["-V", "mqttv5", "-r", "-t", "home/garage/plug/status", "-m", "online"]);
    browser.wait_for_text(&device(PLUG, "live-device-online"), |t| t == "online").await;
    assert_eq!(browser.attribute(&card, "class").await, "live-device pulse", "a live message pulses the card");

    connection.0.kill().expect("kill mosquitto_sub");
    browser.wait_for_text(&device(PLUG, "live-device-online"), |t| t == "offline").await;
    assert_eq!(browser.attribute(&card, "class").await, "live-device offline pulse");
    browser.wait_for_text(&device(PLUG, "live-device-fields"), |t| words(t) == "on true watts 12.5 W").await;
    browser.close().await;
}

/// Opens the live tab on `serving`, declares the queue `only-on-the-other`
/// on `other`, and points the page at `other`'s WebSocket; returns the URL.
async fn point_at_other_broker(browser: &Browser, serving: &Broker, other: &Broker) -> String {
    other.request(&[serde_json::json!({"type": "declare", "id": 1, "queue": "only-on-the-other"})]).await;
    browser.client.goto(&serving.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    browser.click("[data-testid=tab-live]").await;
    wait_for_any(browser, "[data-testid=connection-row]", |t| t.contains("hearth-dashboard")).await;

    let ws = format!("ws://{}/ws", other.addr);
    browser.fill("[data-testid=live-url]", &ws).await;
    browser.click(".connect button[type=submit]").await;
    ws
}

/// Connects the page on `serving` to `other`'s WebSocket and waits until it
/// shows `other`'s queue `only-on-the-other`.
async fn follow_other_broker(serving: &Broker, other: &Broker) -> Browser {
    let browser = Browser::start().await;
    let ws = point_at_other_broker(&browser, serving, other).await;
    browser.wait_for_text("[data-testid=status]", |t| t == format!("connected to {ws}")).await;
    wait_for_any(&browser, "[data-testid=queue-name]", |t| t == "only-on-the-other").await;
    browser
}

/// A broker that allows the page's origin (`--allow-origin`) lists its own
/// connections in the page, including an MQTT client only it has; the
/// serving broker's list is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_lists_another_brokers_connections_when_it_allows_the_page() {
    let serving = Broker::start();
    let other = Broker::start_with(&["--allow-origin", &format!("http://{}", serving.addr)]);
    const WATCHER: &str = "watcher-on-the-other";
    let port = other.mqtt.port().to_string();
    let mut watcher = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port, "-i", WATCHER, "-t", "nothing/#"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("mosquitto_sub runs (apt install mosquitto-clients)");
    let browser = follow_other_broker(&serving, &other).await;
    wait_for_any(&browser, "[data-testid=connection-row]", |t| t.contains(WATCHER)).await;
    let rows = browser.texts("[data-testid=connection-row]").await;
    assert_eq!(rows.len(), 2, "the other broker's two connections (the page and the watcher): {rows:?}");
    assert!(browser.texts("[data-testid=connections-error]").await.is_empty(), "the list was readable");
    browser.close().await;
    let _ = watcher.kill();
    let _ = watcher.wait();
}

/// A broker that allows no other origin (the default) refuses the page's
/// WebSocket (and its admin API): the page says that it answers but does
/// not allow this page's origin, and which flag would; it invents no queue
/// list and shows neither broker's connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_says_so_when_another_broker_keeps_its_connections_to_itself() {
    let (serving, other) = (Broker::start(), Broker::start());
    let browser = Browser::start().await;
    point_at_other_broker(&browser, &serving, &other).await;
    let (here, there) = (format!("http://{}", serving.addr), format!("http://{}", other.addr));
    let flag = format!("--allow-origin {here}");
    browser
        .wait_for_text("[data-testid=status]", |t| t.contains(&format!("{there} refused this page's WebSocket")))
        .await;
    let hint = browser.wait_for_text("[data-testid=origin-hint]", |t| t.contains("answers")).await;
    assert!(hint.starts_with(&format!("{there} answers, but refused this page's WebSocket")), "{hint}");
    assert!(hint.contains(&format!("does not allow pages from {here}")) && hint.contains(&flag), "{hint}");
    let why = browser.wait_for_text("[data-testid=connections-error]", |t| t.contains(&there)).await;
    assert!(why.contains("does not let this page read") && why.contains(&flag), "it says how to allow the page: {why}");
    assert!(!why.contains("Its stats count"), "no stats came: {why}");
    assert!(browser.texts("[data-testid=connection-row]").await.is_empty(), "no other broker's list is shown");
    assert!(browser.texts("[data-testid=queue-name]").await.is_empty(), "no queue list is shown");
    assert_eq!(browser.texts("[data-testid=no-list]").await.len(), 1, "the queue panel says it has no list yet");
    browser.close().await;
}

/// Waits until some element matching `css` has a text satisfying `want`.
async fn wait_for_any(browser: &Browser, css: &str, want: impl Fn(&str) -> bool) {
    let deadline = std::time::Instant::now() + hearth_e2e::WAIT;
    loop {
        let texts = browser.texts(css).await;
        if texts.iter().any(|t| want(t)) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no `{css}` as expected; texts: {texts:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
