//! The exporter's HTTP side: `/metrics`, `/healthz` and a small index page.
//! Handlers only read the shared state; a scrape never calls the ModelArts API.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::auth::Users;
use super::gzip::accepts_gzip;
use super::metrics::{Format, Metrics, Shared};
use crate::timefmt::now_ms;

/// What the handlers share.
#[derive(Clone)]
pub struct Ctx {
    pub shared: Shared,
    pub metrics: Arc<Metrics>,
    /// `/healthz` stays 200 while the data is younger than this, even if polls fail.
    pub max_age: Duration,
}

/// What the web configuration puts in front of every path.
#[derive(Clone, Default)]
pub struct Guard {
    /// Basic authentication, when configured.
    pub users: Option<Arc<Users>>,
    /// Added to every response, 401s included.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub fn router(ctx: Ctx, guard: Guard) -> Router {
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/", get(index))
        .with_state(ctx);
    if guard.users.is_none() && guard.headers.is_empty() {
        return router;
    }
    router.layer(middleware::from_fn_with_state(Arc::new(guard), guarded))
}

/// Basic authentication and the configured headers. A refusal says nothing but
/// `Unauthorized`: not whether the user exists, nor what was wrong.
async fn guarded(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let allowed = match &guard.users {
        None => true,
        Some(users) => {
            let auth = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            users.allows(auth).await
        }
    };
    let mut resp = if allowed {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"))],
            "Unauthorized\n",
        )
            .into_response()
    };
    for (name, value) in &guard.headers {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    resp
}

async fn metrics(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let format = Format::negotiate(header_str(header::ACCEPT));
    let gzip = accepts_gzip(header_str(header::ACCEPT_ENCODING));
    // The instances' part is kept rendered (`serve::chunks`): joining it is
    // cheap, so it is done here, on the runtime's one thread.
    let parts = ctx.metrics.render_parts(format);
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let vary = (
        header::VARY,
        HeaderValue::from_static("accept, accept-encoding"),
    );
    if gzip {
        // Prometheus: the compressed instance part as kept, not copied.
        let (chunks, len) = parts.gzip();
        (
            [
                content_type,
                vary,
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                (header::CONTENT_LENGTH, HeaderValue::from(len)),
            ],
            Body::from_stream(futures::stream::iter(
                chunks.into_iter().map(Ok::<_, std::io::Error>),
            )),
        )
            .into_response()
    } else {
        // Anyone else: inflated as it is sent, never whole in memory.
        (
            [
                content_type,
                vary,
                (header::CONTENT_LENGTH, HeaderValue::from(parts.len())),
            ],
            Body::from_stream(futures::stream::iter(parts.plain())),
        )
            .into_response()
    }
}

async fn healthz(State(ctx): State<Ctx>) -> Response {
    let health = ctx
        .shared
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .health(now_ms(), ctx.max_age);
    let status = if health.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, format!("{}\n", health.text)).into_response()
}

async fn index() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        "<!doctype html><title>nbwatch exporter</title>\
         <h1>nbwatch exporter</h1>\
         <p>ModelArts notebook instances for Prometheus.</p>\
         <ul><li><a href=\"/metrics\">/metrics</a></li>\
         <li><a href=\"/healthz\">/healthz</a></li></ul>\n",
    )
        .into_response()
}
