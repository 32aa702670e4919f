//! The exporter's HTTP side: `/metrics`, `/healthz` and a small index page.
//! Handlers only read the shared state; a scrape never calls the ModelArts API.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

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

pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/", get(index))
        .with_state(ctx)
}

async fn metrics(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let format = Format::negotiate(header_str(header::ACCEPT));
    let gzip = accepts_gzip(header_str(header::ACCEPT_ENCODING));
    // Rendering 10,000 instances takes milliseconds of CPU: off the async workers.
    let m = Arc::clone(&ctx.metrics);
    let parts = match tokio::task::spawn_blocking(move || m.render_parts(format)).await {
        Ok(parts) => parts,
        Err(e) => return failed(&e),
    };
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

fn failed(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "rendering the metrics failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "rendering the metrics failed; see the log\n",
    )
        .into_response()
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
