//! The metric families `serve` exports (name, unit, type, help: one home for
//! each) and the two text formats a scraper may ask for. Plain definitions:
//! the pre-rendered instance parts (`chunks.rs`) and the scrape (`metrics.rs`)
//! both use them.

use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

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
