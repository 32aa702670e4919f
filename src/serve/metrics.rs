//! `/metrics`: the exporter's state in the classic text format 0.0.4 or in
//! OpenMetrics. The exporter's own families are written with the
//! `prometheus-client` crate at every scrape; the instance families are kept
//! pre-rendered, re-rendered only where an instance changed (see
//! [`super::chunks`]), their headers written by the same crate.
//!
//! Naming follows the Prometheus guidelines: base units (seconds), timestamps
//! rather than ages, `_info` for descriptive labels, a 0/1 gauge per documented
//! status for the state set. No label carries a token, URL, IP or secret, and none
//! is called `owner`, `instance` or `job` (Prometheus' own target labels).

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::body::Bytes;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::registry::{Registry, Unit};

pub use super::chunks::StatusSeries;
use super::chunks::Store;
use super::gzip::{self, Inflate, Joined, Packed};
use super::state::Exporter;

/// The exporter's state, shared by the poller's side and the scrapes.
pub type Shared = Arc<RwLock<Exporter>>;

/// The two text formats a scraper may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`: older Prometheus servers, `promtool check metrics`.
    Classic,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header asks for it (with a non-zero quality),
    /// the classic format otherwise.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let asks = accept.unwrap_or("").split(',').any(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            media.eq_ignore_ascii_case("application/openmetrics-text") && q > 0.0
        });
        if asks {
            Format::OpenMetrics
        } else {
            Format::Classic
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Format::Classic => 0,
            Format::OpenMetrics => 1,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Classic => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// One metric family: its name as given to the encoder (the encoder appends the
/// unit, `_total` for counters and `_info` for infos), unit, type and help.
pub struct Family {
    pub name: &'static str,
    pub unit: Option<Unit>,
    pub kind: MetricType,
    pub help: &'static str,
}

impl Family {
    /// The name of its samples in the classic format (histograms: the base of
    /// `_bucket`, `_sum`, `_count`).
    pub fn exposed_name(&self) -> String {
        let mut n = self.name.to_string();
        if let Some(u) = &self.unit {
            n.push('_');
            n.push_str(u.as_str());
        }
        match self.kind {
            MetricType::Counter => n.push_str("_total"),
            MetricType::Info => n.push_str("_info"),
            _ => {}
        }
        n
    }
}

const fn family(
    name: &'static str,
    unit: Option<Unit>,
    kind: MetricType,
    help: &'static str,
) -> Family {
    Family {
        name,
        unit,
        kind,
        help,
    }
}

pub static NOTEBOOK_INFO: Family = family(
    "modelarts_notebook",
    None,
    MetricType::Info,
    "A notebook instance, with its descriptive labels",
);
pub static NOTEBOOK_STATUS: Family = family(
    "modelarts_notebook_status",
    None,
    MetricType::Gauge,
    "1 for the instance's current status, 0 for every other documented status",
);
pub static NOTEBOOK_CREATED: Family = family(
    "modelarts_notebook_created_timestamp",
    Some(Unit::Seconds),
    MetricType::Gauge,
    "When the instance was created",
);
pub static NOTEBOOK_STATUS_SINCE: Family = family(
    "modelarts_notebook_status_since_timestamp",
    Some(Unit::Seconds),
    MetricType::Gauge,
    "When nbwatch saw the current status begin; when it did not see the change, the latest time the status can have begun (the last update, or the first sighting)",
);
pub static NOTEBOOK_LEASE_EXPIRY: Family = family(
    "modelarts_notebook_lease_expiry_timestamp",
    Some(Unit::Seconds),
    MetricType::Gauge,
    "When auto-stop stops the instance; only while auto-stop is on and the instance is up (RUNNING or STARTING)",
);
pub static BUILD_INFO: Family = family(
    "nbwatch_build",
    None,
    MetricType::Info,
    "The nbwatch build serving these metrics",
);
pub static LAST_POLL_SUCCESS: Family = family(
    "nbwatch_last_poll_success",
    None,
    MetricType::Gauge,
    "1 if the last poll of the ModelArts API succeeded, 0 if it failed or none has finished yet",
);
pub static LAST_SUCCESSFUL_POLL: Family = family(
    "nbwatch_last_successful_poll_timestamp",
    Some(Unit::Seconds),
    MetricType::Gauge,
    "When the data served was fetched; 0 before the first successful poll",
);
pub static POLL_DURATION: Family = family(
    "nbwatch_poll_duration",
    Some(Unit::Seconds),
    MetricType::Histogram,
    "How long each poll (every page of the listing) took, failed polls included",
);
pub static REQUESTS: Family = family(
    "nbwatch_requests",
    None,
    MetricType::Counter,
    "HTTP requests sent to the ModelArts API, retries included",
);
pub static POLL_ERRORS: Family = family(
    "nbwatch_poll_errors",
    None,
    MetricType::Counter,
    "Failed polls, by reason",
);
pub static STUCK_THRESHOLD: Family = family(
    "nbwatch_stuck_threshold",
    Some(Unit::Seconds),
    MetricType::Gauge,
    "How long an instance may stay in a transitional status before it counts as stuck (stuck_after)",
);

/// The status family with `--status-series current`: the same name, its own help.
pub static NOTEBOOK_STATUS_CURRENT: Family = family(
    "modelarts_notebook_status",
    None,
    MetricType::Gauge,
    "1 for the instance's current status (one series per instance: --status-series current)",
);

/// Every family, in the order they are written.
pub static FAMILIES: [&Family; 12] = [
    &NOTEBOOK_INFO,
    &NOTEBOOK_STATUS,
    &NOTEBOOK_CREATED,
    &NOTEBOOK_STATUS_SINCE,
    &NOTEBOOK_LEASE_EXPIRY,
    &BUILD_INFO,
    &LAST_POLL_SUCCESS,
    &LAST_SUCCESSFUL_POLL,
    &POLL_DURATION,
    &REQUESTS,
    &POLL_ERRORS,
    &STUCK_THRESHOLD,
];

pub use super::chunks::MISSING_STATUS;

/// Renders the shared state. The instance families are kept pre-rendered and
/// compressed per group of instances ([`Store`]): what the state says may have
/// changed ([`Touched`]) is rendered again before a scrape joins them (and right
/// after a sweep, see [`Metrics::prerender`]), so a scrape costs what changed
/// since the last one. The plain text, 18 MB at 10,000 instances with every
/// status series, never exists whole. The exporter's own families (request
/// counter, health) are rendered at every scrape.
pub struct Metrics {
    shared: Shared,
    health: Registry,
    store: Mutex<Store>,
}

/// A scrape's body in two parts: the instance families (compressed, shared with
/// other scrapes until something changes) and the exporter's own (plain).
pub struct Rendered {
    pub instances: Arc<Joined>,
    pub health: Bytes,
}

impl Rendered {
    /// The length of the plain text.
    pub fn len(&self) -> usize {
        self.instances.plain_len + self.health.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body as one gzip member, in chunks (the instance parts not copied),
    /// and its length.
    pub fn gzip(&self) -> (Vec<Bytes>, usize) {
        gzip::gzip_member(&self.instances, &Packed::stored_last(&self.health))
    }

    /// The plain body, inflated chunk by chunk as it is sent.
    pub fn plain(&self) -> impl Iterator<Item = io::Result<Bytes>> + Send + 'static {
        Inflate::new(self.instances.parts.clone()).chain(std::iter::once(Ok(self.health.clone())))
    }

    /// The whole exposition as one string.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.len());
        for chunk in self.plain() {
            match chunk {
                Ok(c) => s.push_str(&String::from_utf8_lossy(&c)),
                Err(e) => tracing::error!(error = %e, "inflating the metrics failed"),
            }
        }
        s
    }
}

impl Metrics {
    pub fn new(shared: Shared, status_series: StatusSeries) -> Metrics {
        let mut health = Registry::default();
        health.register_collector(Box::new(HealthCollector(Arc::clone(&shared))));
        Metrics {
            shared,
            health,
            store: Mutex::new(Store::new(status_series)),
        }
    }

    /// The whole exposition in `format`, as one string.
    pub fn render(&self, format: Format) -> String {
        self.render_parts(format).to_text()
    }

    /// The exposition in `format`, in two parts (no copy of the kept one).
    pub fn render_parts(&self, format: Format) -> Rendered {
        let mut health = String::with_capacity(4096);
        if !encode(&self.health, format, &mut health) {
            health.clear();
        }
        Rendered {
            instances: self.instance_part(format),
            health: Bytes::from(health),
        }
    }

    /// Renders what changed now, so the next scrape finds it ready (after a
    /// sweep, when much may have changed). Returns how many parts were
    /// compressed again.
    pub fn prerender(&self) -> usize {
        self.refresh(&mut self.store.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Renders what the state says may have changed.
    fn refresh(&self, store: &mut Store) -> usize {
        // Taken under the store's lock: what is taken is rendered before
        // anyone else looks.
        let touched = self
            .shared
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take_touched();
        let ex = self.shared.read().unwrap_or_else(PoisonError::into_inner);
        store.update(touched, &ex)
    }

    fn instance_part(&self, format: Format) -> Arc<Joined> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&mut store);
        store.joined(format)
    }
}

/// Encodes `registry` in `format` into `out`, with the OpenMetrics `# EOF`
/// line that ends the exposition.
fn encode<W: fmt::Write>(registry: &Registry, format: Format, out: &mut W) -> bool {
    let written = match format {
        Format::Classic => prometheus_client::encoding::prometheus_text::encode(out, registry),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(out, registry),
    };
    if written.is_err() {
        // Writing to memory cannot fail; an encoder error would be a bug.
        tracing::error!("encoding the metrics failed");
    }
    written.is_ok()
}

struct HealthCollector(Shared);

impl fmt::Debug for HealthCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HealthCollector")
    }
}

// A panic while the lock was held cannot leave the state half-written in a way a
// scrape could not read: the collector serves what is there.

impl Collector for HealthCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), fmt::Error> {
        let ex = self.0.read().unwrap_or_else(PoisonError::into_inner);
        encode_health(&mut enc, &ex)
    }
}

fn descriptor<'s>(
    enc: &'s mut DescriptorEncoder,
    f: &'s Family,
) -> Result<prometheus_client::encoding::MetricEncoder<'s>, fmt::Error> {
    enc.encode_descriptor(f.name, f.help, f.unit.as_ref(), f.kind)
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn encode_health(enc: &mut DescriptorEncoder, ex: &Exporter) -> Result<(), fmt::Error> {
    descriptor(enc, &BUILD_INFO)?.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;
    descriptor(enc, &LAST_POLL_SUCCESS)?.encode_gauge(&i64::from(ex.last_poll_ok()))?;
    descriptor(enc, &LAST_SUCCESSFUL_POLL)?
        .encode_gauge(&ex.last_ok_ms().map(seconds).unwrap_or(0.0))?;
    ex.poll_durations()
        .encode(descriptor(enc, &POLL_DURATION)?)?;
    ConstCounter::new(ex.requests_sent()).encode(descriptor(enc, &REQUESTS)?)?;
    {
        let mut m = descriptor(enc, &POLL_ERRORS)?;
        for (reason, n) in ex.poll_errors() {
            let labels = [("reason", reason.label())];
            ConstCounter::new(n).encode(m.encode_family(&labels)?)?;
        }
    }
    descriptor(enc, &STUCK_THRESHOLD)?.encode_gauge(&ex.stuck_after().as_secs_f64())?;
    Ok(())
}
