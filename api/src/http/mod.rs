//! HTTP routes: `/graphql` (POST, GET, WebSocket), `/graphql/stream`
//! (Server-Sent Events), GraphiQL at `/`, health,
//! readiness, metrics and `/media/{id}`. Request ids and tracing spans are set here.

mod bearer;
mod budget;
mod documents;
mod graphiql;
mod graphql;
mod media;
mod sse;
pub mod websocket;

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{ConnectInfo, FromRequestParts, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header, request::Parts},
    response::IntoResponse,
    routing::get,
};
use tower_http::{
    cors::{AllowOrigin, Any, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{app::AppState, auth::ClientInfo, graphql::AppExecutor};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct HttpState {
    /// True once the server shuts down: open WebSockets close with 1001.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    pub app: AppState,
    pub schema: AppExecutor,
    pub sockets: std::sync::Arc<websocket::Sockets>,
    pub documents: std::sync::Arc<documents::Documents>,
}

/// `stopping` turns true when the server begins to shut down.
pub fn router(app: AppState, schema: AppExecutor, stopping: tokio::sync::watch::Receiver<bool>) -> Router {
    let cors = cors(&app.config.cors_origins);
    let graphiql = graphiql::routes(&app.config.graphiql_dir());
    let state = HttpState { app, schema, sockets: Default::default(), documents: Default::default(), stopping };
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/stream", get(sse::get).post(sse::post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/media/{id}", get(media::get))
        .with_state(state)
        .merge(graphiql)
        .layer(cors)
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<&String> = origins.iter().filter(|o| !o.is_empty()).collect();
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            graphql::REQUIRE_PREFLIGHT,
            graphql::APOLLO_REQUIRE_PREFLIGHT,
        ])
        .expose_headers([REQUEST_ID]);
    if origins.iter().any(|o| o.as_str() == "*") {
        layer.allow_origin(Any)
    } else {
        layer.allow_origin(AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok())))
    }
}

/// Ready when the database answers. The bus (Redis) is reported but doesn't
/// decide: a Redis outage degrades realtime only (events wait in the outbox),
/// so a load balancer must keep serving queries and mutations from every replica.
/// Readiness answers within a second whatever is down: a load balancer's
/// probe must not hang on an outage.
async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    const WITHIN: Duration = Duration::from_secs(1);
    let timed_out = |_| "no answer within a second".to_owned();
    let ping = state.app.db.ping();
    let database =
        tokio::time::timeout(WITHIN, ping).await.map_err(timed_out).and_then(|r| r.map_err(|e| e.to_string()));
    let bus = match state.app.redis.clone() {
        None => Ok("in-process"),
        Some(mut conn) => {
            let command = redis::cmd("PING");
            let ping = command.query_async::<String>(&mut conn);
            let pong = tokio::time::timeout(WITHIN, ping).await.map_err(timed_out);
            pong.and_then(|r| r.map(|_| "redis").map_err(|e| e.to_string()))
        }
    };
    if let Err(err) = &database {
        tracing::warn!(error = %err, "readiness: database unreachable");
    }
    if let Err(err) = &bus {
        tracing::warn!(error = %err, "readiness: Redis unreachable; realtime is degraded");
    }
    let status = if database.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "database": if database.is_ok() { "ok" } else { "unreachable" },
        "bus": bus.unwrap_or("unreachable"),
    });
    (status, Json(body))
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.app.metrics.render())
}

impl FromRequestParts<HttpState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        // Behind a proxy we run, its last `X-Forwarded-For` hop is the address it saw.
        let forwarded = state
            .app
            .config
            .trust_forwarded_for
            .then(|| parts.headers.get_all("x-forwarded-for").iter().next_back())
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(ClientInfo { ip: forwarded.or(peer), user_agent })
    }
}
