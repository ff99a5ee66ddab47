//! HTTP routes: the dashboard, `/ws`, MQTT over WebSocket at `/mqtt`, the
//! JSON admin API, metrics, health.

use crate::driver::{Command, Snapshot};
use crate::login;
use crate::metrics;
use crate::mqtt::websocket::serve_mqtt_socket;
use crate::server::AppState;
use crate::tls::Peer;
use crate::ws::serve_socket;
use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::oneshot;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};

/// The broker's routes.
pub fn router(state: AppState) -> Router {
    let admin = Router::new()
        .route("/api/overview", get(overview))
        .route("/api/queues", get(queues))
        .route("/api/connections", get(connections))
        .route("/api/bridges", get(bridges));
    // Pages from the origins the operator allows (a dashboard served by
    // another broker) may read the JSON API; by default only our own pages.
    let allowed: Vec<HeaderValue> =
        state.config.allow_origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    let admin = if allowed.is_empty() {
        admin
    } else {
        admin.layer(CorsLayer::new().allow_origin(AllowOrigin::list(allowed)).allow_methods([Method::GET]))
    };
    let admin = admin.layer(axum::middleware::from_fn_with_state(state.clone(), login::require_login));
    // Credentials are a few hundred bytes: a larger body is not a login.
    let login_routes = Router::new()
        .route("/api/session", get(login::session))
        .route("/api/login", post(login::login))
        .route("/api/logout", post(login::logout))
        .layer(DefaultBodyLimit::max(4096));
    let api = Router::new()
        .merge(login_routes)
        .route("/ws", get(upgrade))
        .route("/mqtt", get(upgrade_mqtt))
        .merge(admin)
        .route("/metrics", get(prometheus))
        .route("/healthz", get(|| async { "ok\n" }));
    let api = match &state.config.dist {
        // A file with a `.gz` beside it (`cargo xtask dist` writes them) is
        // sent from that, as `Content-Encoding: gzip`, to clients that accept it.
        Some(dist) => {
            let index = ServeFile::new(dist.join("index.html")).precompressed_gzip();
            api.fallback_service(ServeDir::new(dist).precompressed_gzip().fallback(index))
        }
        None if !embedded::FILES.is_empty() => api.fallback(embedded::serve),
        None => api.fallback(no_dashboard),
    };
    api.with_state(state)
}

/// Bytes a WebSocket reads at a time, held by every connection for its
/// life (tungstenite's read buffer). The library's default, 128 KiB, made
/// an idle connection cost 120 KiB; 1 KiB cost 5.7 KiB (10 000 idle
/// `/ws`). The reads come from [`LazyRead`](crate::lazy_read::LazyRead)'s
/// 4 KiB buffer, which exists only while bytes arrive: a small one here
/// costs copies, not system calls (docs/benchmarks.md).
const WS_READ_BUFFER: usize = 256;

async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(mut peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = login::origin_refusal(&state, &headers) {
        return refusal;
    }
    // A browser logged in to the dashboard is logged in on its WebSocket.
    if peer.cert_user.is_none() {
        peer.cert_user = login::cookie_user(&state, &headers);
    }
    // Frames up to 8 × the limit are read and answered with `frame_too_large`;
    // beyond that the socket itself refuses them.
    let hard_cap = state.config.max_frame_bytes.saturating_mul(8);
    ws.read_buffer_size(WS_READ_BUFFER).max_message_size(hard_cap).max_frame_size(hard_cap).on_upgrade(move |socket| {
        // A task of its own, sized for the connection: axum's upgrade
        // task, which also holds the handshake's states, ends here
        // (its ~1.4 KiB were each idle connection's otherwise).
        state.sockets.clone().spawn(serve_socket(socket, state, peer));
        std::future::ready(())
    })
}

/// MQTT over WebSocket: binary messages, subprotocol `mqtt`.
async fn upgrade_mqtt(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = login::origin_refusal(&state, &headers) {
        return refusal;
    }
    // A packet may span messages; the MQTT codec enforces the packet size.
    let cap = state.config.max_frame_bytes.saturating_mul(2);
    ws.protocols(["mqtt"]).read_buffer_size(WS_READ_BUFFER).max_message_size(cap).max_frame_size(cap).on_upgrade(
        move |socket| state.sockets.clone().track_future(serve_mqtt_socket(socket, state, peer.addr, peer.cert_user)),
    )
}

async fn snapshot(state: &AppState) -> Result<Snapshot, Response> {
    let (tx, rx) = oneshot::channel();
    let unavailable = || (StatusCode::SERVICE_UNAVAILABLE, "the broker is shutting down\n").into_response();
    state.commands.send(Command::Snapshot(tx)).await.map_err(|_| unavailable())?;
    rx.await.map_err(|_| unavailable())
}

async fn overview(State(state): State<AppState>) -> Result<Response, Response> {
    let s = snapshot(&state).await?;
    let body = json!({
        "server": "hearth",
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": s.started_at,
        "now": s.stats.now,
        "counters": s.stats.counters,
        "connections": s.stats.connections,
        "consumers": s.stats.consumers,
        "queues": s.stats.queues.len(),
        "retained": s.stats.retained,
        "messages_ready": s.stats.queues.iter().map(|q| q.ready).sum::<u64>(),
        "messages_unacked": s.stats.queues.iter().map(|q| q.unacked).sum::<u64>(),
        "memory": s.stats.memory,
        "blocked_connections": s.connections.iter().filter(|c| c.stats.blocked).map(|c| c.stats.id).collect::<Vec<_>>(),
        "slow_consumers_cut": s.slow_consumers_cut,
        "store": s.store,
    });
    Ok(Json(body).into_response())
}

/// A queue as `/api/queues` shows it: the engine's view and its bytes on disk.
#[derive(serde::Serialize)]
struct QueueInfo {
    #[serde(flatten)]
    stats: queue_core::QueueStats,
    /// Bytes of its records in the store (0: not durable, or in memory).
    disk_bytes: u64,
}

async fn queues(State(state): State<AppState>) -> Result<Response, Response> {
    let s = snapshot(&state).await?;
    let queues: Vec<QueueInfo> = s
        .stats
        .queues
        .into_iter()
        .map(|stats| QueueInfo { disk_bytes: s.disk_bytes.get(stats.name.as_str()).copied().unwrap_or(0), stats })
        .collect();
    Ok(Json(queues).into_response())
}

async fn connections(State(state): State<AppState>) -> Result<Response, Response> {
    Ok(Json(snapshot(&state).await?.connections).into_response())
}

async fn bridges(State(state): State<AppState>) -> Result<Response, Response> {
    let snapshot = snapshot(&state).await?;
    Ok(Json(state.bridges.views(&snapshot)).into_response())
}

async fn prometheus(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Result<Response, Response> {
    if let Some(token) = &state.config.metrics_token {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.is_some_and(|given| subtle::ConstantTimeEq::ct_eq(given.as_bytes(), token.as_bytes()).into());
        if !ok {
            let refusal = (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs `Authorization: Bearer TOKEN` (the broker's metrics_token)\n",
            );
            return Err(refusal.into_response());
        }
    }
    let snapshot = snapshot(&state).await?;
    let mut body = metrics::render(&snapshot);
    metrics::render_bridges(&mut body, &state.bridges.views(&snapshot));
    let help = "Connections refused for a wrong or missing login";
    metrics::metric(&mut body, "hearth_logins_refused_total", "counter", help, state.auth.refused());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

/// Whether this `hearth` was built with the dashboard inside (see
/// `build.rs`): then it serves it at `/` when `--dist` is not given.
pub fn has_embedded_dashboard() -> bool {
    !embedded::FILES.is_empty()
}

async fn no_dashboard() -> impl IntoResponse {
    let page = "<!doctype html><title>Hearth</title><h1>Hearth is running</h1>\
        <p>The dashboard is not being served: this broker was built before its dashboard \
        (<code>dist/</code> did not exist) and started without <code>--dist</code>. \
        Run <code>cargo xtask run</code>; or <code>cargo xtask dist</code>, which builds \
        <code>dist/</code> and then a <code>hearth</code> that carries it; or start \
        <code>hearth serve --dist dist</code>.</p>\
        <p>The broker works without it: WebSocket at <code>/ws</code>, JSON at \
        <a href=\"/api/overview\">/api/overview</a>, metrics at <a href=\"/metrics\">/metrics</a>.</p>";
    (StatusCode::NOT_FOUND, Html(page))
}

/// The dashboard built into the binary: what `--dist` serves, from memory.
mod embedded {
    use axum::body::Body;
    use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
    use axum::response::{IntoResponse, Response};

    /// One file of the dashboard, with its gzip twin if `dist/` had one.
    pub struct Asset {
        /// Its path under `dist/`, `/`-separated.
        pub path: &'static str,
        /// Its bytes.
        pub raw: &'static [u8],
        /// The bytes of `path.gz`, sent to clients that accept gzip.
        pub gzip: Option<&'static [u8]>,
        /// A weak ETag of `raw` (both encodings are the same content).
        pub etag: &'static str,
    }

    include!(concat!(env!("OUT_DIR"), "/dashboard.rs"));

    /// Serves `uri`'s file as `ServeDir` serves `--dist`: `/` and unknown
    /// paths get `index.html`, a gzip twin goes to clients that accept gzip.
    pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
        if method != Method::GET && method != Method::HEAD {
            return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
        }
        let find = |path: &str| FILES.iter().find(|asset| asset.path == path);
        let Some(asset) = find(uri.path().trim_start_matches('/')).or_else(|| find("index.html")) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let mut response =
            Response::builder().header(header::CONTENT_TYPE, content_type(asset.path)).header(header::ETAG, asset.etag);
        if asset.gzip.is_some() {
            response = response.header(header::VARY, "accept-encoding");
        }
        let not_modified = headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|tag| tag.trim() == asset.etag || tag.trim() == "*");
        let (status, body) = match asset.gzip {
            _ if not_modified => (StatusCode::NOT_MODIFIED, &[][..]),
            Some(gzip) if accepts_gzip(&headers) => {
                response = response.header(header::CONTENT_ENCODING, "gzip");
                (StatusCode::OK, gzip)
            }
            _ => (StatusCode::OK, asset.raw),
        };
        let body = Body::from(bytes::Bytes::from_static(body));
        response.status(status).body(body).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }

    /// Whether `Accept-Encoding` gives `gzip` (or else `*`) a q-value above 0.
    fn accepts_gzip(headers: &HeaderMap) -> bool {
        let (mut gzip, mut any) = (None, None);
        let values = headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|value| value.to_str().ok());
        for item in values.flat_map(|value| value.split(',')) {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let q = parts.find_map(|p| p.strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            if coding.eq_ignore_ascii_case("gzip") {
                gzip = Some(q);
            } else if coding == "*" {
                any = Some(q);
            }
        }
        gzip.or(any).is_some_and(|q| q > 0.0)
    }

    /// The media type `ServeDir` gives the same file name.
    fn content_type(path: &str) -> &'static str {
        match path.rsplit_once('.').map(|(_, ext)| ext) {
            Some("html") => "text/html",
            Some("js") => "text/javascript",
            Some("wasm") => "application/wasm",
            Some("css") => "text/css",
            Some("json") => "application/json",
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            Some("ico") => "image/x-icon",
            Some("txt") => "text/plain",
            _ => "application/octet-stream",
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    #[tokio::test]
    async fn the_page_without_a_dashboard_says_what_to_run() {
        let response = super::no_dashboard().await.into_response();
        assert_eq!(response.status(), 404);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("the page is read");
        let page = String::from_utf8_lossy(&body);
        for needle in ["cargo xtask run", "cargo xtask dist", "--dist", "/api/overview", "/metrics"] {
            assert!(page.contains(needle), "{needle:?} missing: {page}");
        }
    }
}
