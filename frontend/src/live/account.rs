//! The dashboard's login on this page's own broker, as three requests.
//!
//! `GET /api/session` says whether the broker wants a login and who this
//! browser is logged in as; `POST /api/login` sends the credentials as JSON
//! in the body; `POST /api/logout` ends the login. All three go to the
//! page's own origin, never to another broker. The broker answers a login
//! with an HttpOnly cookie that the browser keeps and sends with every later
//! request, the `/ws` upgrade included: this code never sees the cookie and
//! keeps no credentials (not in the URL, not in storage, not in a signal).

use leptos::prelude::window;
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCredentials, RequestInit, Response};

/// What a 401 from `POST /api/login` means, for a person.
pub const WRONG_CREDENTIALS: &str = "wrong username or password";

/// What `GET /api/session` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// The broker shows nothing to a browser that has not logged in.
    pub required: bool,
    /// Who this browser is logged in as.
    pub user: Option<String>,
}

impl Account {
    /// Reads the body of `GET /api/session`. Anything else reads as "no
    /// login needed": a broker from before logins answers that path with
    /// its page, and an unreachable one is better explained by the live
    /// view than by a login form.
    pub fn from_json(text: &str) -> Self {
        let Ok(value) = serde_json::from_str::<Value>(text) else { return Self::default() };
        Self {
            required: value.get("login_required").and_then(Value::as_bool).unwrap_or(false),
            user: value.get("user").and_then(Value::as_str).map(str::to_string),
        }
    }

    /// Whether the live view must wait for a login.
    pub fn locked(&self) -> bool {
        self.required && self.user.is_none()
    }
}

/// Asks this page's broker whether it wants a login.
pub async fn session() -> Account {
    match send("GET", "/api/session", None).await {
        Ok((200, text)) => Account::from_json(&text),
        _ => Account::default(),
    }
}

/// Logs in; `Ok` is the user the broker logged in, `Err` says why not.
pub async fn log_in(username: &str, password: &str) -> Result<String, String> {
    let body = json!({"username": username, "password": password}).to_string();
    match send("POST", "/api/login", Some(body)).await {
        Ok((200, text)) => {
            let value = serde_json::from_str::<Value>(&text).unwrap_or_default();
            Ok(value.get("user").and_then(Value::as_str).unwrap_or(username).to_string())
        }
        Ok((401, _)) => Err(WRONG_CREDENTIALS.to_string()),
        Ok((status, _)) => Err(format!("the broker answered HTTP {status}")),
        Err(()) => Err("the broker cannot be reached".to_string()),
    }
}

/// Logs out; `false` when the broker could not be told.
pub async fn log_out() -> bool {
    matches!(send("POST", "/api/logout", None).await, Ok((204 | 200, _)))
}

/// One same-origin request (the browser sends and stores the cookie);
/// the status and the body's text, or `Err` when it did not complete.
async fn send(method: &str, path: &str, json_body: Option<String>) -> Result<(u16, String), ()> {
    let init = RequestInit::new();
    init.set_method(method);
    // The default, said out loud: the cookie goes to this origin only.
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = json_body {
        let headers = Headers::new().map_err(drop)?;
        headers.set("Content-Type", "application/json").map_err(drop)?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
    let response = JsFuture::from(window().fetch_with_str_and_init(path, &init)).await.map_err(drop)?;
    let response: Response = response.dyn_into().map_err(drop)?;
    let text = JsFuture::from(response.text().map_err(drop)?).await.map_err(drop)?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}
