//! The numeric settings, each described once: the flag, the environment
//! variable and the file key that set it, its default and its range. The
//! resolver reads every one of them the same way from these rows.

use std::time::Duration;

use super::vars;
use crate::defaults;

/// A setting measured in seconds (`5`, `2.5`, or `"90s"`, `"10m"` in text).
pub(super) struct Secs {
    /// The key in a profile, also the name errors use.
    pub key: &'static str,
    /// The command-line flag; `None` where there is none.
    pub flag: Option<&'static str>,
    pub var: &'static str,
    pub default: Duration,
    /// Allowed values, in seconds, both ends included.
    pub min: f64,
    pub max: f64,
}

/// A setting that is a whole number.
pub(super) struct Count {
    pub key: &'static str,
    /// What errors call a value: `{noun} {value}{per} is out of range`.
    pub noun: &'static str,
    pub per: &'static str,
    pub flag: &'static str,
    pub var: &'static str,
    pub default: u64,
    /// What one unit is, for the message about the range ("parallel page requests").
    pub unit: &'static str,
    /// Allowed values: a range, or a list (page sizes).
    pub allowed: Allowed,
}

pub(super) enum Allowed {
    Range(u64, u64),
    OneOf(&'static [u32]),
}

const DAY: f64 = 86_400.0;

pub(super) const INTERVAL: Secs = Secs {
    key: "interval",
    flag: Some("--interval"),
    var: vars::INTERVAL,
    default: defaults::INTERVAL,
    min: 0.5,
    max: DAY,
};

pub(super) const FAST_INTERVAL: Secs = Secs {
    key: "fast_interval",
    flag: Some("--fast-interval"),
    var: vars::FAST_INTERVAL,
    default: defaults::FAST_INTERVAL,
    min: 0.5,
    max: DAY,
};

pub(super) const TIMEOUT: Secs = Secs {
    key: "timeout",
    flag: Some("--timeout"),
    var: vars::TIMEOUT,
    default: defaults::TIMEOUT,
    min: 0.5,
    max: 600.0,
};

pub(super) const CONNECT_TIMEOUT: Secs = Secs {
    key: "connect_timeout",
    flag: None,
    var: vars::CONNECT_TIMEOUT,
    default: defaults::CONNECT_TIMEOUT,
    min: 0.5,
    max: 600.0,
};

pub(super) const STUCK_AFTER: Secs = Secs {
    key: "stuck_after",
    flag: Some("--stuck-after"),
    var: vars::STUCK_AFTER,
    default: defaults::STUCK_AFTER,
    min: 1.0,
    max: 7.0 * DAY,
};

pub(super) const ALERT_LEASE_LEAD: Secs = Secs {
    key: "alerts.lease_lead",
    flag: None,
    var: "NBWATCH_ALERT_LEASE_LEAD",
    default: defaults::ALERT_LEASE_LEAD,
    min: 0.0,
    max: DAY,
};

pub(super) const ALERT_HOOK_TIMEOUT: Secs = Secs {
    key: "alerts.hook_timeout",
    flag: None,
    var: "NBWATCH_ALERT_HOOK_TIMEOUT",
    default: defaults::ALERT_HOOK_TIMEOUT,
    min: 0.1,
    max: 600.0,
};

pub(super) const JOURNAL_MAX_MB: Count = Count {
    key: "journal_max_mb",
    noun: "journal size",
    per: " MB",
    flag: "",
    var: "NBWATCH_JOURNAL_MAX_MB",
    default: crate::journal::DEFAULT_MAX_BYTES / (1024 * 1024),
    unit: "megabytes",
    allowed: Allowed::Range(1, 100_000),
};

pub(super) const CONCURRENCY: Count = Count {
    key: "concurrency",
    noun: "concurrency",
    per: "",
    flag: "--concurrency",
    var: vars::CONCURRENCY,
    default: defaults::CONCURRENCY as u64,
    unit: "parallel page requests",
    allowed: Allowed::Range(1, 32),
};

pub(super) const PAGE_SIZE: Count = Count {
    key: "page_size",
    noun: "page size",
    per: "",
    flag: "--page-size",
    var: vars::PAGE_SIZE,
    default: defaults::PAGE_SIZE as u64,
    unit: "instances per page",
    allowed: Allowed::OneOf(&crate::api::PageSize::ALLOWED),
};

pub(super) const FIRST_SWEEP_BURST: Count = Count {
    key: "first_sweep_burst",
    noun: "first-sweep burst",
    per: "",
    flag: "--first-burst",
    var: vars::FIRST_SWEEP_BURST,
    default: defaults::FIRST_SWEEP_BURST as u64,
    unit: "requests",
    allowed: Allowed::Range(0, 100_000),
};

pub(super) const BUDGET_PER_MINUTE: Count = Count {
    key: "budget_per_minute",
    noun: "request budget",
    per: " per minute",
    flag: "--budget",
    var: vars::BUDGET_PER_MINUTE,
    default: defaults::BUDGET_PER_MINUTE as u64,
    unit: "requests per minute",
    allowed: Allowed::Range(1, 100_000),
};
