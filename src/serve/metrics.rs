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
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::registry::Registry;

pub use super::chunks::StatusSeries;
use super::chunks::Store;
use super::gzip::{self, Inflate, Joined, Packed};
use super::state::Exporter;

/// The exporter's state, shared by the poller's side and the scrapes.
pub type Shared = Arc<RwLock<Exporter>>;

pub use super::families::*;

pub use super::chunks::MISSING_STATUS;

/// Renders the shared state. The instance families are kept pre-rendered and
/// compressed per group of instances ([`Store`]): what the state says may have
/// changed ([`super::state::Touched`]) is rendered again before a scrape joins them (and right
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
