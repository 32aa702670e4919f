//! `/metrics`: the exporter's state written with the `prometheus-client` crate at
//! scrape time, in the classic text format 0.0.4 or in OpenMetrics.
//!
//! Collectors write every family straight from the tracked instances: no
//! per-series metric objects are kept, so rendering allocates its output and the
//! encoder's small buffer, and nothing per instance; and the instance families
//! are rendered once per snapshot (see [`Metrics`]).
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

use super::gzip::{self, Deflater, Inflate, Packed};
use super::state::Exporter;
use crate::api::model::Status;
use crate::app::Tracked;
use crate::app::tracked::lease_applies;

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

    fn index(self) -> usize {
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

/// The status label of an instance whose status the service left out.
pub const MISSING_STATUS: &str = "UNKNOWN";

/// Renders the shared state. The instance families change only when a poll
/// brings a snapshot, and every value in them is a timestamp, not an age: so they
/// are rendered once per snapshot and format (right after the poll for
/// OpenMetrics and for a format scraped before, see [`Metrics::prerender`]; else
/// at the first scrape), and every
/// scrape of that snapshot shares them. They are kept only gzip-compressed (see
/// [`super::gzip`]): the plain text, 18 MB at 10,000 instances, never exists
/// whole. The exporter's own families (request counter, health) are rendered at
/// every scrape.
pub struct Metrics {
    shared: Shared,
    instances: Registry,
    health: Registry,
    /// Per format: the snapshot generation rendered and its compressed text.
    cache: [Mutex<Option<Cached>>; 2],
}

/// The snapshot generation rendered, and its compressed instance families.
type Cached = (u64, Arc<Packed>);

/// A scrape's body in two parts: the instance families (compressed, shared with
/// other scrapes of the same snapshot) and the exporter's own (plain).
pub struct Rendered {
    pub instances: Arc<Packed>,
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

    /// The body as one gzip member, in chunks (the instance part not copied),
    /// and its length.
    pub fn gzip(&self) -> (Vec<Bytes>, usize) {
        gzip::gzip_member(&self.instances, &Packed::stored_last(&self.health))
    }

    /// The plain body, inflated chunk by chunk as it is sent.
    pub fn plain(&self) -> impl Iterator<Item = io::Result<Bytes>> + Send + 'static {
        Inflate::new(self.instances.deflate.clone()).chain(std::iter::once(Ok(self.health.clone())))
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
    pub fn new(shared: Shared) -> Metrics {
        let mut instances = Registry::default();
        instances.register_collector(Box::new(InstanceCollector(Arc::clone(&shared))));
        let mut health = Registry::default();
        health.register_collector(Box::new(HealthCollector(Arc::clone(&shared))));
        Metrics {
            shared,
            instances,
            health,
            cache: [Mutex::new(None), Mutex::new(None)],
        }
    }

    /// The whole exposition in `format`, as one string.
    pub fn render(&self, format: Format) -> String {
        self.render_parts(format).to_text()
    }

    /// The exposition in `format`, in two parts (no copy of the cached one).
    pub fn render_parts(&self, format: Format) -> Rendered {
        let mut health = String::with_capacity(4096);
        if !encode(&self.health, format, &mut health, true) {
            health.clear();
        }
        Rendered {
            instances: self.instance_part(format),
            health: Bytes::from(health),
        }
    }

    /// After a snapshot: renders the instance families anew in OpenMetrics (what
    /// Prometheus asks for, so even its first scrape finds them ready) and in each
    /// other format that has been scraped.
    pub fn prerender(&self) {
        for format in [Format::Classic, Format::OpenMetrics] {
            if format == Format::OpenMetrics || self.is_cached(format) {
                drop(self.instance_part(format));
            }
        }
    }

    /// Whether `format` has a rendering of some snapshot (not necessarily the
    /// latest) kept.
    pub fn is_cached(&self, format: Format) -> bool {
        self.cache[format.index()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn instance_part(&self, format: Format) -> Arc<Packed> {
        // The generation is read before rendering: if a snapshot lands meanwhile,
        // the text is newer than its tag and is rendered again next time, never
        // the other way round.
        let generation = self
            .shared
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .generation();
        let slot = &self.cache[format.index()];
        // Held while rendering: two scrapes after a poll render once.
        let mut cached = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((g, packed)) = cached.as_ref()
            && *g == generation
        {
            return Arc::clone(packed);
        }
        // Sized from the last rendering: allocated once, not grown by doubling.
        let hint = cached.as_ref().map_or(0, |(_, p)| p.deflate.len());
        // The old text is dropped before the new one is written.
        *cached = None;
        let mut out = Deflater::new(hint + hint / 16 + 1024);
        // Serve no instances rather than half of them.
        let packed = Arc::new(if encode(&self.instances, format, &mut out, false) {
            out.finish_part().unwrap_or_else(|e| {
                tracing::error!(error = %e, "compressing the metrics failed");
                Packed::empty()
            })
        } else {
            Packed::empty()
        });
        *cached = Some((generation, Arc::clone(&packed)));
        packed
    }
}

/// Encodes `registry` in `format` into `out`; `last` adds the OpenMetrics
/// `# EOF` line that ends the exposition.
fn encode<W: fmt::Write>(registry: &Registry, format: Format, out: &mut W, last: bool) -> bool {
    let written = match format {
        Format::Classic => prometheus_client::encoding::prometheus_text::encode(out, registry),
        Format::OpenMetrics if last => prometheus_client::encoding::text::encode(out, registry),
        Format::OpenMetrics => prometheus_client::encoding::text::encode_registry(out, registry),
    };
    if written.is_err() {
        // Writing to memory cannot fail; an encoder error would be a bug.
        tracing::error!("encoding the metrics failed");
    }
    written.is_ok()
}

struct InstanceCollector(Shared);
struct HealthCollector(Shared);

impl fmt::Debug for InstanceCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InstanceCollector")
    }
}

impl fmt::Debug for HealthCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HealthCollector")
    }
}

// A panic while the lock was held cannot leave the state half-written in a way a
// scrape could not read: both collectors serve what is there.
impl Collector for InstanceCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), fmt::Error> {
        let ex = self.0.read().unwrap_or_else(PoisonError::into_inner);
        encode_instances(&mut enc, ex.instances())
    }
}

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

fn status_label(s: &Status) -> &str {
    match s.as_str() {
        "" => MISSING_STATUS,
        other => other,
    }
}

/// An optional label's value: empty when absent.
fn or_empty(v: &Option<crate::app::row::Sym>) -> &str {
    v.as_deref().unwrap_or("")
}

fn encode_instances(enc: &mut DescriptorEncoder, all: &[Tracked]) -> Result<(), fmt::Error> {
    {
        let mut m = descriptor(enc, &NOTEBOOK_INFO)?;
        for t in all {
            let r = &t.row;
            let labels = [
                ("id", t.key.id()),
                ("name", t.name()),
                ("feature", or_empty(&r.feature)),
                ("flavor", or_empty(&r.flavor)),
                ("image", &*r.image),
                ("pool", or_empty(&r.pool)),
                ("workspace_id", or_empty(&r.workspace_id)),
                ("user_id", or_empty(&r.user_id)),
                ("user_name", or_empty(&r.user_name)),
            ];
            m.encode_info(&labels)?;
        }
    }
    {
        let mut m = descriptor(enc, &NOTEBOOK_STATUS)?;
        for t in all {
            let id = t.key.id();
            for s in &Status::ALL {
                let labels = [("id", id), ("status", s.as_str())];
                m.encode_family(&labels)?
                    .encode_gauge(&i64::from(*s == t.status))?;
            }
            if !t.status.is_known() {
                let labels = [("id", id), ("status", status_label(&t.status))];
                m.encode_family(&labels)?.encode_gauge(&1i64)?;
            }
        }
    }
    {
        let mut m = descriptor(enc, &NOTEBOOK_CREATED)?;
        for t in all {
            if let Some(c) = t.row.create_at {
                let labels = [("id", t.key.id())];
                m.encode_family(&labels)?.encode_gauge(&seconds(c))?;
            }
        }
    }
    {
        let mut m = descriptor(enc, &NOTEBOOK_STATUS_SINCE)?;
        for t in all {
            let labels = [("id", t.key.id())];
            m.encode_family(&labels)?
                .encode_gauge(&seconds(t.status_since_ms))?;
        }
    }
    {
        let mut m = descriptor(enc, &NOTEBOOK_LEASE_EXPIRY)?;
        for t in all.iter().filter(|t| lease_applies(&t.status)) {
            if let Some(end) = t.row.lease_end_ms() {
                let labels = [("id", t.key.id())];
                m.encode_family(&labels)?.encode_gauge(&seconds(end))?;
            }
        }
    }
    Ok(())
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
