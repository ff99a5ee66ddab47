//! Reading lists from the connected broker's admin API (`GET {base}/api/…`).
//!
//! The stats stream carries what every snapshot needs; a few things only the
//! admin API lists (connections, each queue's bytes on disk). The panels that
//! show them poll it through [`fetch_list`], which turns every way a fetch
//! can go wrong into a [`Failure`] the panel can explain, never a panic (and
//! a 401 of this page's own broker into its login form, see [`super::login`]).

use leptos::prelude::window;
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Why there is no list: the fetch failed, or the broker refused.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The request did not complete (unreachable, or not allowed cross-origin).
    Unreadable,
    /// The broker wants a login first (HTTP 401).
    LoginRequired,
    /// The broker answered, but not with a list (status or reason).
    Answered(String),
}

/// Fetches `url` and reads its body as a JSON array.
pub async fn fetch_list(url: &str) -> Result<Vec<Value>, Failure> {
    let unreadable = |_| Failure::Unreadable;
    let response = JsFuture::from(window().fetch_with_str(url)).await.map_err(unreadable)?;
    let response: web_sys::Response = response.dyn_into().map_err(unreadable)?;
    if response.status() == 401 {
        return Err(Failure::LoginRequired);
    }
    if !response.ok() {
        return Err(Failure::Answered(format!("HTTP {}", response.status())));
    }
    let text = JsFuture::from(response.text().map_err(unreadable)?).await.map_err(unreadable)?;
    let value: Value = serde_json::from_str(&text.as_string().unwrap_or_default())
        .map_err(|_| Failure::Answered("something that is not JSON".to_string()))?;
    match value {
        Value::Array(list) => Ok(list),
        _ => Err(Failure::Answered("JSON that is not a list".to_string())),
    }
}
