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
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let format = Format::negotiate(accept.as_deref());
    // Rendering 10,000 instances takes milliseconds of CPU: off the async workers.
    let m = Arc::clone(&ctx.metrics);
    match tokio::task::spawn_blocking(move || m.render_parts(format)).await {
        Ok(parts) => {
            let len = parts.len();
            // The instance part is shared with other scrapes of the same snapshot:
            // sent as is, not copied into one buffer.
            let chunks = [Ok::<_, std::io::Error>(parts.instances), Ok(parts.health)];
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(format.content_type()),
                    ),
                    (header::CONTENT_LENGTH, HeaderValue::from(len)),
                ],
                Body::from_stream(futures::stream::iter(chunks)),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering the metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "rendering the metrics failed; see the log\n",
            )
                .into_response()
        }
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
