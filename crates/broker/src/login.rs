//! The dashboard's login, and who may open a WebSocket.
//!
//! With logins required (a password file, no `allow_anonymous`), `/api/*`
//! answers 401 until the browser has logged in with `POST /api/login`; the
//! reply sets an HttpOnly, SameSite=Strict cookie (Secure under TLS), and
//! `/ws` takes that cookie as the connection's login. `/api/session` says
//! whether a login is needed and who is logged in; `/healthz` stays open and
//! `/metrics` has its own token.
//!
//! A WebSocket upgrade that carries an `Origin` (every browser sends one)
//! must come from a page of this broker or of an origin in `allow_origins`:
//! otherwise any web page a user opens could talk to the broker on their
//! behalf (cross-site WebSocket hijacking).

use crate::auth::Verdict;
use crate::auth::sessions::{SESSION_TTL, token_from_cookies};
use crate::server::AppState;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// What `POST /api/login` reads.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

/// The user the request's session cookie is logged in as.
pub fn cookie_user(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    state.sessions.user(token_from_cookies(cookies, &state.cookie)?)
}

/// `GET /api/session`: whether this broker needs a login, and who this
/// browser is logged in as.
pub async fn session(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = cookie_user(&state, &headers);
    Json(json!({"login_required": state.auth.required(), "user": user})).into_response()
}

/// `POST /api/login`: checks the credentials; sets the session cookie.
pub async fn login(State(state): State<AppState>, Json(credentials): Json<Credentials>) -> Response {
    let verdict = state.auth.check(Some(&credentials.username), Some(credentials.password.as_bytes())).await;
    if verdict != Verdict::Allowed {
        tracing::info!(user = credentials.username, "dashboard login refused");
        let body = json!({"error": "bad_credentials", "message": "wrong username or password"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let Some(token) = state.sessions.create(&credentials.username) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no randomness for a session token\n").into_response();
    };
    let secure = if state.tls.is_some() { "; Secure" } else { "" };
    let (name, ttl) = (&state.cookie, SESSION_TTL.as_secs());
    let cookie = format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{secure}");
    ([(header::SET_COOKIE, cookie)], Json(json!({"user": credentials.username}))).into_response()
}

/// `POST /api/logout`: ends the login and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let cookies = headers.get(header::COOKIE).and_then(|c| c.to_str().ok());
    if let Some(token) = cookies.and_then(|c| token_from_cookies(c, &state.cookie)) {
        state.sessions.remove(token);
    }
    let secure = if state.tls.is_some() { "; Secure" } else { "" };
    let clear = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", state.cookie);
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response()
}

/// Lets a request through when no login is needed or its cookie is one.
pub async fn require_login(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.auth.required() || cookie_user(&state, request.headers()).is_some() {
        return next.run(request).await;
    }
    let message = "log in first: POST /api/login with {\"username\": …, \"password\": …}";
    (StatusCode::UNAUTHORIZED, Json(json!({"error": "login_required", "message": message}))).into_response()
}

/// Checks a WebSocket upgrade's `Origin` against the page origin this
/// broker serves and `allow_origins`: `Some` is the refusal to send, which
/// says what to allow.
pub fn origin_refusal(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    // Programs (Mosquitto's tools, paho, Hearth's CLI) send no Origin.
    let origin = headers.get(header::ORIGIN)?;
    let origin = origin.to_str().unwrap_or("");
    let scheme = if state.tls.is_some() { "https" } else { "http" };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let own = host.is_some_and(|host| origin.strip_prefix(scheme).and_then(|r| r.strip_prefix("://")) == Some(host));
    if own || state.config.allow_origins.iter().any(|allowed| allowed == origin) {
        return None;
    }
    tracing::info!(origin, "WebSocket from a foreign page refused");
    let message = format!(
        "a WebSocket from a page at {origin} is refused: this broker serves its own pages only. \
         To let pages from {origin} connect, start it with --allow-origin {origin}\n"
    );
    Some((StatusCode::FORBIDDEN, message).into_response())
}
