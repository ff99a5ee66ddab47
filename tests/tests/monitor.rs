//! The Live tab as a home owner's monitor, end to end: devices announced the
//! way Home Assistant, zigbee2mqtt, Tasmota and Shelly announce them (with
//! the real `mosquitto_pub`) become cards with names and units; a card's
//! On/Off reaches the device's command topic (checked with the real
//! `mosquitto_sub`); a cleared retained config takes its card away; the
//! topic tree keeps its history across a new filter and a visit to the
//! Simulator tab, pauses, and charts a topic's numbers; a burst of 5 000
//! messages from 20 real `mosquitto_pub` is counted whole, kept bounded per
//! topic, and the page answers while it arrives; nothing spills out of its
//! panel at 1024, 1280 and 1440 px.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hearth_e2e::{Broker, Browser, Running, WAIT, words};

/// Publishes a retained message.
fn retain(broker: &Broker, topic: &str, payload: &str) {
    broker.mosquitto_pub(&["-r", "-t", topic, "-m", payload]);
}

/// A mosquitto_sub on `topic` that exits after its first message.
fn watch(broker: &Broker, id: &str, topic: &str) -> Running {
    let port = broker.mqtt.port().to_string();
    let child: Child = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port, "-i", id, "-t", topic, "-C", "1", "-W", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub runs");
    Running(child)
}

/// Waits until the broker lists a connection of client `id` (then its
/// subscribe, sent right after the connect, has a moment to land).
async fn connected(broker: &Broker, id: &str) {
    let deadline = Instant::now() + WAIT;
    let url = format!("http://{}/api/connections", broker.addr);
    while Instant::now() < deadline {
        let out = Command::new("curl").args(["-s", &url]).output().expect("curl runs");
        if String::from_utf8_lossy(&out.stdout).contains(id) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} never connected");
}

/// What a [`watch`] received (waits for it to exit).
fn received(watcher: Running) -> String {
    let mut watcher = watcher;
    let child = &mut watcher.0;
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        stdout.read_to_string(&mut out).expect("mosquitto_sub's output");
    }
    out.trim_end().to_string()
}

/// The element with `testid` in the card with `data-device` = `key`.
fn card(key: &str, testid: &str) -> String {
    format!("[data-device=\"{key}\"] [data-testid={testid}]")
}

/// Opens the page's Live tab and waits for the link.
async fn open_live(broker: &Broker) -> Browser {
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    browser.click("[data-testid=tab-live]").await;
    browser.wait_for_text("[data-testid=status]", |t| t.starts_with("connected to ws://")).await;
    browser
}

/// Presses a card's button, checking `topic` then receives `payload`.
async fn press(broker: &Broker, browser: &Browser, button: &str, topic: &str, payload: &str) {
    let id = format!("watch-{}", topic.replace(['/', ' ', ':'], "-"));
    let watcher = watch(broker, &id, topic);
    connected(broker, &id).await;
    browser.click(button).await;
    assert_eq!(received(watcher), payload, "{button} publishes {payload} to {topic}");
}

/// Waits until no element matches `css`.
async fn gone(browser: &Browser, css: &str) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if browser.client.find_all(fantoccini::Locator::Css(css)).await.unwrap_or_default().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("`{css}` is still there");
}

const SENSOR: &str = "homeassistant/sensor/kitchen-th/temperature/config";
const LIGHT: &str = "homeassistant/light/hall/config";
const PLUG: &str = "homeassistant/device/plug1/config";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_assistant_devices_show_their_units_take_commands_and_go_when_cleared() {
    let broker = Broker::start();
    // Abbreviated keys and a `~` base topic, as small devices send them.
    let sensor = r#"{"name":"Temperature","~":"kitchen/th","stat_t":"~/state","avty_t":"~/status","unit_of_meas":"°C",
        "dev_cla":"temperature","val_tpl":"{{ value_json.temperature }}","uniq_id":"kth-t",
        "dev":{"ids":["kitchen-th"],"name":"Kitchen sensor"}}"#;
    retain(&broker, SENSOR, sensor);
    retain(&broker, "kitchen/th/state", r#"{"temperature":21.5,"battery":90}"#);
    retain(&broker, "kitchen/th/status", "online");
    retain(
        &broker,
        LIGHT,
        r#"{"name":"Hall light","command_topic":"hall/light/set","state_topic":"hall/light/state"}"#,
    );
    retain(&broker, "hall/light/state", "OFF");
    // A device-based config: one card, two components, shared topics.
    let plug = r#"{"dev":{"ids":"plug-1","name":"Garage plug"},"o":{"name":"test"},"stat_t":"garage/plug","cmd_t":"garage/plug/set",
        "cmps":{"w":{"p":"sensor","name":"Power","unit_of_meas":"W","val_tpl":"{{ value_json.power }}"},
                "relay":{"p":"switch","name":"Relay","pl_on":"1","pl_off":"0","val_tpl":"{{ value_json.relay }}"}}}"#;
    retain(&broker, PLUG, plug);
    retain(&broker, "garage/plug", r#"{"power":12.5,"relay":"1"}"#);
    // Malformed configs make no card and break nothing.
    retain(&broker, "homeassistant/sensor/broken/config", "{not json");
    retain(&broker, "homeassistant/sensor/empty/config", "[]");

    let browser = open_live(&broker).await;
    let sensor_card = "ha:kitchen-th";
    browser.wait_for_text(&card(sensor_card, "live-device-name"), |t| t == "Kitchen sensor").await;
    browser.wait_for_text(&card(sensor_card, "live-device-fields"), |t| words(t) == "Temperature 21.5 °C").await;
    browser.wait_for_text(&card(sensor_card, "live-device-online"), |t| t == "online").await;
    browser.wait_for_text(&card(sensor_card, "live-device-source"), |t| t == "Home Assistant").await;
    let plug_card = "ha:plug-1";
    browser
        .wait_for_text(&card(plug_card, "live-device-fields"), |t| {
            let w = words(t);
            w.contains("Power 12.5 W") && w.contains("Relay 1 On Off")
        })
        .await;
    let light_card = format!("ha:{LIGHT}");
    browser.wait_for_text(&card(&light_card, "live-device-value"), |t| t == "OFF").await;
    assert!(
        browser.texts("[data-testid=live-device-name]").await.iter().all(|n| !n.contains("broken")),
        "a malformed config makes no card"
    );

    // A live state update changes the value; the device going offline shows.
    broker.mosquitto_pub(&["-t", "kitchen/th/state", "-m", r#"{"temperature":22.25}"#]);
    browser.wait_for_text(&card(sensor_card, "live-device-value"), |t| t == "22.25 °C").await;

    // Commands: Home Assistant's defaults for the light, the config's own payloads for the plug.
    press(&broker, &browser, &card(&light_card, "live-device-on"), "hall/light/set", "ON").await;
    press(&broker, &browser, &card(&light_card, "live-device-off"), "hall/light/set", "OFF").await;
    press(&broker, &browser, &card(plug_card, "live-device-on"), "garage/plug/set", "1").await;
    browser.wait_for_text("[data-testid=live-command-result]", |t| t == "sent 1 to garage/plug/set").await;

    // A cleared retained config takes its card away; the others stay.
    broker.mosquitto_pub(&["-r", "-n", "-t", LIGHT]);
    gone(&browser, &format!("[data-device=\"{light_card}\"]")).await;
    browser.wait_for_text(&card(sensor_card, "live-device-name"), |t| t == "Kitchen sensor").await;

    // Offline, it can be dismissed; online again, it is back.
    retain(&broker, "kitchen/th/status", "offline");
    browser.wait_for_text(&card(sensor_card, "live-device-online"), |t| t == "offline").await;
    browser.click(&card(sensor_card, "live-device-dismiss")).await;
    gone(&browser, &format!("[data-device=\"{sensor_card}\"]")).await;
    retain(&broker, "kitchen/th/status", "online");
    browser.wait_for_text(&card(sensor_card, "live-device-online"), |t| t == "online").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zigbee2mqtt_tasmota_and_shelly_devices_are_cards_with_commands() {
    let broker = Broker::start();
    let bridge = r#"[{"type":"Coordinator","friendly_name":"Coordinator"},
        {"type":"Router","friendly_name":"living lamp","definition":{"description":"bulb","exposes":[
            {"type":"light","features":[{"type":"binary","property":"state","access":7,"value_on":"ON","value_off":"OFF"}]}]}},
        {"type":"EndDevice","friendly_name":"bath","definition":{"exposes":[{"type":"numeric","property":"temperature","unit":"°C","access":1}]}}]"#;
    retain(&broker, "zigbee2mqtt/bridge/devices", bridge);
    retain(&broker, "zigbee2mqtt/living lamp", r#"{"state":"OFF","brightness":120}"#);
    retain(&broker, "zigbee2mqtt/living lamp/availability", r#"{"state":"online"}"#);
    retain(&broker, "zigbee2mqtt/bath", r#"{"temperature":23.4,"linkquality":80}"#);
    retain(&broker, "tele/plug-2/LWT", "Online");
    retain(&broker, "tele/plug-2/SENSOR", r#"{"Time":"2026-12-02T07:00:00","ENERGY":{"Power":40,"Voltage":230}}"#);
    retain(&broker, "stat/plug-2/POWER", "ON");
    retain(&broker, "shellies/shelly1-a1/online", "true");
    retain(&broker, "shellies/shelly1-a1/relay/0", "on");
    retain(&broker, "shellies/shelly1-a1/relay/0/power", "8.5");

    let browser = open_live(&broker).await;
    browser.wait_for_text(&card("z2m:bath", "live-device-fields"), |t| words(t).contains("temperature 23.4 °C")).await;
    browser.wait_for_text(&card("z2m:living lamp", "live-device-online"), |t| t == "online").await;
    browser
        .wait_for_text(&card("tasmota:plug-2", "live-device-fields"), |t| {
            let w = words(t);
            w.contains("POWER ON") && w.contains("ENERGY Power 40 W") && w.contains("ENERGY Voltage 230 V")
        })
        .await;
    browser.wait_for_text(&card("tasmota:plug-2", "live-device-online"), |t| t == "online").await;
    browser
        .wait_for_text(&card("shelly:shelly1-a1", "live-device-fields"), |t| words(t).contains("relay 0 power 8.5 W"))
        .await;
    let sources = browser.client.find_all(fantoccini::Locator::Css("[data-testid=live-device][data-source]")).await;
    let mut keys = Vec::new();
    for card in sources.expect("cards") {
        keys.push(card.attr("data-device").await.expect("attributes").unwrap_or_default());
    }
    keys.sort();
    assert_eq!(
        keys,
        ["shelly:shelly1-a1", "tasmota:plug-2", "z2m:bath", "z2m:living lamp"],
        "each is a live-device card"
    );

    press(
        &broker,
        &browser,
        &card("z2m:living lamp", "live-device-on"),
        "zigbee2mqtt/living lamp/set",
        r#"{"state":"ON"}"#,
    )
    .await;
    press(&broker, &browser, &card("tasmota:plug-2", "live-device-off"), "cmnd/plug-2/POWER", "OFF").await;
    press(
        &broker,
        &browser,
        &card("shelly:shelly1-a1", "live-device-off"),
        "shellies/shelly1-a1/relay/0/command",
        "off",
    )
    .await;
    // The device answers; the card follows.
    broker.mosquitto_pub(&["-r", "-t", "shellies/shelly1-a1/relay/0", "-m", "off"]);
    browser
        .wait_for_text(&card("shelly:shelly1-a1", "live-device-fields"), |t| words(t).starts_with("relay 0 off"))
        .await;
    browser.close().await;
}

/// The tree row of `topic`, and an element in it.
fn row(topic: &str, testid: &str) -> String {
    format!("[data-testid=tree-row][data-topic=\"{topic}\"] [data-testid={testid}]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topic_tree_keeps_its_history_across_filters_and_tabs_and_pauses() {
    let broker = Broker::start();
    retain(&broker, "garden/soil/moisture", "41");
    let browser = open_live(&broker).await;
    for value in ["10", "11.5", "12"] {
        broker.mosquitto_pub(&["-t", "garden/air/temp", "-m", value]);
    }
    browser.wait_for_text("[data-testid=tree-summary]", |t| t.starts_with("2 topics")).await;
    browser.click("[data-testid=tree-expand]").await;
    browser.wait_for_text(&row("garden/air/temp", "tree-count"), |t| t == "3").await;
    browser.wait_for_text(&row("garden/air/temp", "tree-value"), |t| t == "12").await;
    browser.wait_for_text(&row("garden/soil/moisture", "tree-retained"), |t| t == "retained").await;
    let time = browser.wait_for_text(&row("garden/air/temp", "tree-time"), |t| t.len() == 12).await;
    assert_eq!(time.matches(':').count(), 2, "a wall-clock time with milliseconds: {time}");

    browser.click(&row("garden/air/temp", "tree-label")).await;
    browser.wait_for_text("[data-testid=tree-detail-topic]", |t| t == "garden/air/temp").await;
    browser.wait_for_text("[data-testid=tree-chart-range]", |t| t == "10 … 12").await;
    assert_eq!(browser.texts("[data-testid=tree-history-row]").await.len(), 3);

    // Simulated devices run on while the Simulator tab is shown.
    browser.fill("[data-testid=fleet-count]", "2").await;
    browser.click("[data-testid=fleet-start]").await;
    browser.wait_for_text("[data-testid=fleet-status]", |t| t == "2 of 2 simulated devices connected").await;

    // A new filter in the subscribe panel leaves the tree as it was.
    browser.fill("[data-testid=live-filter]", "nothing/here/#").await;
    browser.click("form:has([data-testid=live-filter]) button[type=submit]").await;
    browser.wait_for_text("[data-testid=messages-summary]", |t| t.ends_with("0 received")).await;
    browser.wait_for_text(&row("garden/air/temp", "tree-count"), |t| t == "3").await;

    // Away on the Simulator tab, messages still arrive.
    browser.click("[data-testid=tab-simulator]").await;
    broker.mosquitto_pub(&["-t", "garden/air/temp", "-m", "13"]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    browser.click("[data-testid=tab-live]").await;
    browser.wait_for_text(&row("garden/air/temp", "tree-count"), |t| t == "4").await;
    assert_eq!(browser.texts("[data-testid=tree-history-row]").await.len(), 4, "the selection and history are kept");
    browser.wait_for_text("[data-testid=fleet-status]", |t| t == "2 of 2 simulated devices connected").await;
    let sensor = "home/sim/sensor-1/temperature";
    browser.click("[data-testid=tree-expand]").await;
    let before: u64 =
        browser.wait_for_text(&row(sensor, "tree-count"), |t| t.parse::<u64>().is_ok()).await.parse().expect("a count");
    assert!(before >= 2, "the simulated devices published while the Simulator tab was shown ({before})");

    // Pause freezes what is shown; Resume catches up.
    browser.click("[data-testid=tree-pause]").await;
    broker.mosquitto_pub(&["-t", "garden/air/temp", "-m", "14"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(browser.wait_for_text(&row("garden/air/temp", "tree-count"), |_| true).await, "4", "paused");
    browser.click("[data-testid=tree-pause]").await;
    browser.wait_for_text(&row("garden/air/temp", "tree-count"), |t| t == "5").await;
    browser.wait_for_text("[data-testid=tree-chart-range]", |t| t == "10 … 14").await;
    browser.click("[data-testid=fleet-stop]").await;
    browser.close().await;
}

/// The page's width and its window's, how many panels it shows, and the
/// panels whose content is wider than they are (a table that scrolls inside
/// its own box does not count: that is how wide tables are kept in).
const SPILLS: &str = r#"
const panels = [...document.querySelectorAll('.panel')].filter(p => p.offsetParent !== null);
const spilled = panels.filter(p => p.scrollWidth > p.clientWidth + 1)
  .map(p => `${p.getAttribute('aria-labelledby') || p.className}: ${p.scrollWidth} in ${p.clientWidth}`);
return [document.documentElement.scrollWidth, document.documentElement.clientWidth, panels.length, spilled];
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_are_formatted_and_nothing_spills_out_at_common_widths() {
    let broker = Broker::start();
    let long: String = (0..400).map(|n| format!("word{n} ")).collect();
    retain(&broker, "notes/long", &long);
    retain(&broker, "state/json", r#"{"on":true,"level":{"now":3,"max":10},"name":"a rather long value to wrap"}"#);
    retain(
        &broker,
        SENSOR,
        r#"{"name":"Temperature","stat_t":"kitchen/th/state","unit_of_meas":"°C","dev":{"ids":["k"],"name":"Kitchen"}}"#,
    );
    let port = broker.mqtt.port().to_string();
    // Binary: bytes that are not UTF-8.
    let status = Command::new("sh")
        .args(["-c", &format!("printf '\\377\\000\\001' | mosquitto_pub -h 127.0.0.1 -p {port} -r -t bin/blob -s")])
        .status()
        .expect("sh runs");
    assert!(status.success());
    let browser = open_live(&broker).await;
    browser.wait_for_text("[data-testid=tree-summary]", |t| t.starts_with("4 topics")).await;
    browser.click("[data-testid=tree-expand]").await;

    browser.click(&row("state/json", "tree-label")).await;
    browser
        .wait_for_text("[data-testid=payload-json]", |t| words(t).contains("level: {…} 2 keys max: 10 now: 3"))
        .await;
    browser.click("[data-testid=payload-json] details details summary").await;
    browser.wait_for_text("[data-testid=payload-json]", |t| !words(t).contains("now: 3")).await;

    browser.click(&row("bin/blob", "tree-label")).await;
    browser.wait_for_text("[data-testid=payload-hex]", |t| t == "ff 00 01").await;

    browser.click(&row("notes/long", "tree-label")).await;
    let cut = browser.wait_for_text("[data-testid=payload-text]", |t| t.ends_with('…')).await;
    assert!(cut.chars().count() < long.len(), "a long payload is cut");
    browser.click("[data-testid=payload-show-all]").await;
    browser.wait_for_text("[data-testid=payload-text]", |t| t.trim_end() == long.trim_end()).await;

    for tab in ["tab-live", "tab-simulator"] {
        browser.click(&format!("[data-testid={tab}]")).await;
        for width in [1024u32, 1280, 1440] {
            browser.client.set_window_size(width, 900).await.expect("window size");
            tokio::time::sleep(Duration::from_millis(400)).await;
            let sizes = browser.client.execute(SPILLS, vec![]).await.expect("sizes");
            let scroll = sizes[0].as_u64().expect("a width");
            let client = sizes[1].as_u64().expect("a width");
            let panels = sizes[2].as_u64().expect("a count");
            println!("{tab} at {width} px: scrollWidth {scroll}, clientWidth {client}, {panels} panels");
            assert!(scroll <= client, "{tab} at {width} px: the page is {scroll} px wide in {client}");
            assert!(panels >= 2, "{tab} has its panels");
            assert_eq!(sizes[3], serde_json::json!([]), "{tab} at {width} px: these panels spill");
        }
    }
    browser.close().await;
}

/// Takes `n` deliveries from `queue` over a WebSocket of its own, acking
/// automatically (so nothing comes back requeued after).
async fn consume(broker: &Broker, queue: &str, n: usize) -> Vec<serde_json::Value> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", broker.addr)).await.expect("connects");
    let frame = serde_json::json!({"type": "subscribe", "id": 1, "queue": queue, "ack": "auto"});
    ws.send(Message::Text(frame.to_string().into())).await.expect("send");
    let mut got = Vec::new();
    while got.len() < n {
        let next = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time");
        let Some(Ok(Message::Text(text))) = next else { panic!("the socket closed") };
        let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
        if value["type"] == "deliver" {
            got.push(value);
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_in_detail_peeked_without_taking_then_purged_and_deleted() {
    let broker = Broker::start();
    let options = serde_json::json!({"max_length": 100, "message_ttl_ms": 600000});
    broker
        .request(&[
            serde_json::json!({"type": "declare", "id": 1, "queue": "jobs", "options": options}),
            serde_json::json!({"type": "bind", "id": 2, "queue": "jobs", "filter": "work/#"}),
        ])
        .await;
    for job in ["wash", "dry", "fold"] {
        broker.mosquitto_pub(&["-q", "1", "-t", "work/laundry", "-m", job]);
    }
    let browser = open_live(&broker).await;
    browser
        .wait_for_text("[data-testid=queue-row]:has([data-testid=queue-own]) [data-testid=queue-name]", |t| {
            t.starts_with("hearth.sub.")
        })
        .await;
    browser.wait_for_text("[data-testid=queue-pick] option[value=jobs]", |t| t == "jobs").await;
    browser.click("[data-testid=queue-pick] option[value=jobs]").await;
    browser.wait_for_text("[data-testid=queue-bindings]", |t| t == "work/#").await;
    browser
        .wait_for_text("[data-testid=queue-policy]", |t| {
            t.contains("max_length 100") && t.contains("message_ttl_ms 600000")
        })
        .await;
    browser
        .wait_for_text("[data-testid=queue-losses]", |t| t.contains("dropped 0") && t.contains("dead-lettered 0"))
        .await;
    let own = browser.texts("[data-testid=queue-pick] option").await;
    assert!(own.iter().any(|o| o.ends_with("(this page's subscription)")), "{own:?}");

    browser.click("[data-testid=queue-peek]").await;
    browser.wait_for_text("[data-testid=peek-summary]", |t| t.starts_with("3 of 3 ready messages")).await;
    let payloads = browser.texts("[data-testid=peek-row] [data-testid=payload-text]").await;
    assert_eq!(payloads, ["wash", "dry", "fold"]);
    browser.click("[data-testid=queue-peek]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.wait_for_text("[data-testid=peek-summary]", |t| t.starts_with("3 of 3 ready messages")).await;
    // Still there, in order, and first deliveries: a peek takes nothing.
    let got = consume(&broker, "jobs", 3).await;
    let jobs: Vec<&str> = got.iter().map(|d| d["payload"].as_str().unwrap_or_default()).collect();
    assert_eq!(jobs, ["wash", "dry", "fold"]);
    for delivery in &got {
        assert!(delivery.get("redelivered").is_none_or(|r| r == false), "not redelivered: {delivery}");
        assert_eq!(delivery["delivery_count"], 1, "{delivery}");
    }

    // "Routed to" counts other clients' queues only: `jobs`, not the page's two.
    browser.fill("[data-testid=live-publish-topic]", "work/iron").await;
    browser.click("[data-testid=live-publish]").await;
    browser
        .wait_for_text("[data-testid=live-publish-result]", |t| {
            t == "published, routed to 1 queue (not counting this page's own)"
        })
        .await;

    // Purge and delete ask first.
    broker.mosquitto_pub(&["-q", "1", "-t", "work/laundry", "-m", "again"]);
    browser.click("[data-testid=queue-purge]").await;
    browser.wait_for_text("[data-testid=queue-confirm]", |t| t.starts_with("Drop the")).await;
    browser.click("[data-testid=queue-confirm-no]").await;
    gone(&browser, "[data-testid=queue-confirm]").await;
    browser.click("[data-testid=queue-purge]").await;
    browser.click("[data-testid=queue-confirm-yes]").await;
    browser.wait_for_text("[data-testid=queue-result]", |t| t == "purged 2 ready messages from jobs").await;
    browser.click("[data-testid=queue-delete]").await;
    browser.click("[data-testid=queue-confirm-yes]").await;
    browser.wait_for_text("[data-testid=queue-result]", |t| t == "deleted jobs").await;
    gone(&browser, "[data-testid=queue-pick] option[value=jobs]").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_5000_messages_is_counted_whole_kept_bounded_and_the_page_answers_throughout() {
    let broker = Broker::start();
    let browser = open_live(&broker).await;
    let (topics, each) = (20, 250);
    let burst = {
        let mqtt = broker.mqtt;
        tokio::task::spawn_blocking(move || hearth_e2e::mqtt_burst(mqtt, topics, each))
    };
    // The page answers while the burst goes on: Pause takes effect, and
    // what it froze stays as it was while the rest arrives.
    browser.click("[data-testid=tree-pause]").await;
    browser.wait_for_text("[data-testid=tree-pause]", |t| t == "Resume").await;
    let frozen = browser.wait_for_text("[data-testid=tree-summary]", |_| true).await;
    burst.await.expect("the burst ran");
    tokio::time::sleep(Duration::from_millis(800)).await;
    println!("paused at {frozen:?}");
    assert_eq!(browser.wait_for_text("[data-testid=tree-summary]", |_| true).await, frozen, "paused");
    browser.click("[data-testid=tree-pause]").await;

    // Every message is counted; each topic keeps only its last 60.
    browser.wait_for_text("[data-testid=tree-summary]", |t| t == "20 topics, 5000 messages").await;
    browser.wait_for_text("[data-testid=messages-summary]", |t| t.ends_with("; 5000 received")).await;
    assert_eq!(browser.texts("[data-testid=message-row]").await.len(), 25, "the messages panel shows one page");
    browser.click("[data-testid=tree-expand]").await;
    for t in [0, 7, 19] {
        let topic = format!("burst/t{t}");
        browser.wait_for_text(&row(&topic, "tree-count"), |c| c == "250").await;
        browser.wait_for_text(&row(&topic, "tree-value"), |v| v == "249").await;
    }
    browser.click(&row("burst/t7", "tree-label")).await;
    browser
        .wait_for_text("[data-testid=tree-detail-count]", |t| t == "250 messages; the last 60 kept (at most 60)")
        .await;
    assert_eq!(browser.texts("[data-testid=tree-history-row]").await.len(), 60);
    browser.wait_for_text("[data-testid=tree-chart-range]", |t| t == "190 … 249").await;

    // And it still does what it is asked: a tab and back, a publish.
    browser.click("[data-testid=tab-simulator]").await;
    browser.click("[data-testid=tab-live]").await;
    browser.wait_for_text("[data-testid=tree-summary]", |t| t == "20 topics, 5000 messages").await;
    browser.fill("[data-testid=live-publish-topic]", "burst/after").await;
    browser.click("[data-testid=live-publish]").await;
    browser.wait_for_text("[data-testid=live-publish-result]", |t| t.starts_with("published")).await;
    browser.wait_for_text("[data-testid=tree-summary]", |t| t == "21 topics, 5001 messages").await;

    browser.close().await;
}
