//! The broker's admin API, as seen from the page that it served.

use gloo_net::http::Request;

use crate::model::QueueInfo;

/// Where the broker lists its queues (same origin as the dashboard).
pub const QUEUES_URL: &str = "/api/queues";

/// Fetches the queue list; the error is a sentence for the status line.
pub async fn fetch_queues() -> Result<Vec<QueueInfo>, String> {
    let response = Request::get(QUEUES_URL)
        .send()
        .await
        .map_err(|err| format!("cannot reach the broker: {err}"))?;
    if !response.ok() {
        return Err(format!(
            "no broker API here: GET {QUEUES_URL} answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    response
        .json::<Vec<QueueInfo>>()
        .await
        .map_err(|err| format!("the broker sent a queue list this page cannot read: {err}"))
}
