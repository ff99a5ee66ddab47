//! Who may use a broker from a browser, end to end: a broker with users
//! shows its live view only after a login in the page (an HttpOnly cookie
//! the page never reads, kept across a reload, ended by "Log out"), and a
//! page from another origin cannot open a broker's WebSockets at all.

use hearth_e2e::{Broker, Browser};
use serde_json::{Value, json};

const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";

/// Opens the Live tab of the page already loaded (the wasm mounts after `load`).
async fn open_live(browser: &Browser) {
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    browser.click("[data-testid=tab-live]").await;
}

/// Logs in through the form; the caller checks what follows.
async fn log_in(browser: &Browser, user: &str, password: &str) {
    browser.fill("[data-testid=login-username]", user).await;
    browser.fill("[data-testid=login-password]", password).await;
    browser.click("[data-testid=login-submit]").await;
}

/// Waits until the live view works: the WebSocket is open and stats flow
/// (the page's own subscription queues are listed), and the admin API
/// lists the page among the broker's connections.
async fn wait_for_working_live_view(browser: &Browser) {
    browser.wait_for_text("[data-testid=status]", |t| t.starts_with("connected to ws://")).await;
    browser.wait_for_text("[data-testid=queue-name]", |t| t.starts_with("hearth.sub.")).await;
    browser.wait_for_text("[data-testid=connection-row]", |t| t.contains("hearth-dashboard")).await;
    browser.wait_for_text("[data-testid=live-user]", |t| t == format!("Logged in as {USER}")).await;
}

/// Whether an element matching `css` is in the page now.
async fn shown(browser: &Browser, css: &str) -> bool {
    browser.client.find(fantoccini::Locator::Css(css)).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_logs_in_keeps_the_login_across_a_reload_and_logs_out() {
    let broker = Broker::start_with_user(USER, PASSWORD, &[]);
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    // The simulator needs no broker and no login.
    browser.wait_for_text("[data-testid=counter-published]", |t| t.parse::<u64>().is_ok_and(|n| n > 0)).await;
    assert!(!shown(&browser, "[data-testid=login-form]").await, "the simulator asks for no login");

    // Live mode: the form, and nothing of the broker behind it.
    open_live(&browser).await;
    browser.wait_for_text("[data-testid=login-submit]", |t| t == "Log in").await;
    browser.wait_for_text("[data-testid=status]", |t| t.ends_with("wants a login")).await;
    assert_eq!(browser.attribute("[data-testid=login-password]", "type").await, "password");
    assert!(!shown(&browser, "[data-testid=queue-name]").await && !shown(&browser, "[data-testid=no-list]").await);

    // A wrong password: the error line, the password field emptied, still the form.
    log_in(&browser, USER, "not the password").await;
    browser.wait_for_text("[data-testid=login-error]", |t| t == "wrong username or password").await;
    assert_eq!(browser.value("[data-testid=login-password]").await, "", "the password field is emptied");
    assert!(!shown(&browser, "[data-testid=logout]").await, "nobody is logged in");

    // The right one: the live view, working over the cookie.
    log_in(&browser, USER, PASSWORD).await;
    wait_for_working_live_view(&browser).await;
    assert!(!shown(&browser, "[data-testid=login-form]").await, "the form is gone");
    // Publishing from the page goes over the logged-in WebSocket and comes back.
    browser.fill("[data-testid=live-publish-topic]", "home/hall/light/set").await;
    browser.click("[data-testid=live-publish]").await;
    browser.wait_for_text("[data-testid=live-publish-result]", |t| t.starts_with("published")).await;
    browser.wait_for_text("[data-testid=message-topic]", |t| t == "home/hall/light/set").await;

    // Nothing the page's scripts can read holds the password or the session.
    let seen = browser
        .client
        .execute(
            "return [location.href, JSON.stringify(localStorage), JSON.stringify(sessionStorage), document.cookie];",
            vec![],
        )
        .await
        .expect("script runs");
    let seen = seen.as_array().expect("a list").iter().filter_map(Value::as_str).collect::<Vec<_>>();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen.iter().all(|s| !s.contains(PASSWORD)), "the password is kept nowhere: {seen:?}");
    assert!(!seen[3].contains("hearth_session"), "the session cookie is HttpOnly: {seen:?}");

    // A reload keeps the login: straight to the live view.
    browser.client.refresh().await.expect("page reloads");
    open_live(&browser).await;
    wait_for_working_live_view(&browser).await;
    assert!(!shown(&browser, "[data-testid=login-form]").await, "no form after a reload");

    // "Log out": the form is back, the broker's API refuses again, and so
    // does a reload.
    browser.click("[data-testid=logout]").await;
    browser.wait_for_text("[data-testid=login-submit]", |t| t == "Log in").await;
    assert!(!shown(&browser, "[data-testid=logout]").await && !shown(&browser, "[data-testid=queue-name]").await);
    let status = browser
        .client
        .execute_async("fetch('/api/connections').then((r) => arguments[0](r.status))", vec![])
        .await
        .expect("script runs");
    assert_eq!(status, json!(401), "logged out, the admin API wants a login again");
    browser.client.refresh().await.expect("page reloads");
    open_live(&browser).await;
    browser.wait_for_text("[data-testid=login-submit]", |t| t == "Log in").await;
    browser.close().await;
}

/// Opens a WebSocket from the page to `url` (with `protocol`, if any) and
/// says what happened first: `open`, or `refused` (an error or a close
/// before any open).
async fn try_websocket(browser: &Browser, url: &str, protocol: Option<&str>) -> String {
    let script = "const [url, protocol, done] = arguments;
        const ws = protocol ? new WebSocket(url, protocol) : new WebSocket(url);
        let told = false;
        const tell = (what) => { if (!told) { told = true; done(what); } };
        ws.onopen = () => { tell('open'); ws.close(); };
        ws.onerror = () => tell('refused');
        ws.onclose = () => tell('refused');";
    let got = browser.client.execute_async(script, vec![json!(url), json!(protocol)]).await.expect("script runs");
    got.as_str().unwrap_or_default().to_string()
}

/// A page served by broker B cannot open a WebSocket to broker A, which
/// was started without `--allow-origin` (the browser sends B's origin with
/// the upgrade; A refuses it), neither A's `/ws` nor its `/mqtt`; the same
/// page opens both of B's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_from_another_origin_cannot_open_a_brokers_websockets() {
    let (a, b) = (Broker::start(), Broker::start());
    let browser = Browser::start().await;
    browser.client.goto(&b.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;

    assert_eq!(try_websocket(&browser, &format!("ws://{}/ws", a.addr), None).await, "refused");
    assert_eq!(try_websocket(&browser, &format!("ws://{}/mqtt", a.addr), Some("mqtt")).await, "refused");
    assert_eq!(try_websocket(&browser, &format!("ws://{}/ws", b.addr), None).await, "open");
    assert_eq!(try_websocket(&browser, &format!("ws://{}/mqtt", b.addr), Some("mqtt")).await, "open");
    browser.close().await;
}
