//! Sort columns and the comparison behind them. Every key is time-invariant (an
//! absolute timestamp rather than an age), so the sorted order only changes when
//! data or the sort change, never with the clock.

use std::cmp::Ordering;

use crate::api::model::Status;

use super::tracked::Tracked;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortColumn {
    /// Where the instance comes from, when several sources are watched.
    Source,
    Name,
    Status,
    Feature,
    Flavor,
    Image,
    Lease,
    Age,
    InStatus,
}

impl SortColumn {
    /// Table order; `o` cycles through it (past `Source` while one source is watched).
    pub const ALL: [SortColumn; 9] = [
        SortColumn::Source,
        SortColumn::Name,
        SortColumn::Status,
        SortColumn::Feature,
        SortColumn::Flavor,
        SortColumn::Image,
        SortColumn::Lease,
        SortColumn::Age,
        SortColumn::InStatus,
    ];

    pub fn next(self) -> SortColumn {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// The column's name in the config file (`columns`, a view's `sort`), in
    /// `--help` and in the README: the one list of names, [`SortColumn::ALL`].
    pub fn key(self) -> &'static str {
        match self {
            SortColumn::Source => "source",
            SortColumn::Name => "name",
            SortColumn::Status => "status",
            SortColumn::Feature => "feature",
            SortColumn::Flavor => "flavor",
            SortColumn::Image => "image",
            SortColumn::Lease => "lease",
            SortColumn::Age => "age",
            SortColumn::InStatus => "in_status",
        }
    }

    /// The column named `name` ([`SortColumn::key`], any case).
    pub fn parse(name: &str) -> Option<SortColumn> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.key().eq_ignore_ascii_case(name))
    }

    /// Every column's name, joined with `sep`: what errors and help list.
    pub fn keys(sep: &str) -> String {
        Self::ALL.map(SortColumn::key).join(sep)
    }

    /// How the table's title names the sort: the key, in words.
    pub fn label(self) -> &'static str {
        match self {
            SortColumn::InStatus => "in status",
            c => c.key(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            column: SortColumn::Name,
            descending: false,
        }
    }
}

/// Where a status sorts: what needs a human first, then what is moving, then what is settled.
pub fn status_rank(s: &Status) -> u8 {
    match s {
        Status::CreateFailed
        | Status::StartFailed
        | Status::DeleteFailed
        | Status::Error
        | Status::Frozen => 0,
        Status::Unknown(_) => 1,
        Status::Init
        | Status::Creating
        | Status::Starting
        | Status::Stopping
        | Status::Deleting
        | Status::Snapshotting => 2,
        Status::Running => 3,
        Status::Stopped => 4,
        Status::Deleted => 5,
    }
}

/// Orders two instances; ties fall back to name then key so the order is total
/// and stable across polls. Missing values sort last in either direction.
pub fn compare(a: &Tracked, b: &Tracked, sort: Sort) -> Ordering {
    let primary = match sort.column {
        // In the order the sources were given.
        SortColumn::Source => Some(a.key.source.cmp(&b.key.source)),
        SortColumn::Name => Some(a.name_lower().cmp(b.name_lower())),
        SortColumn::Status => Some(
            status_rank(&a.status)
                .cmp(&status_rank(&b.status))
                .then_with(|| a.status.as_str().cmp(b.status.as_str())),
        ),
        SortColumn::Feature => opt(&a.row.feature, &b.row.feature),
        SortColumn::Flavor => opt(&a.row.flavor, &b.row.flavor),
        SortColumn::Image => opt(&non_empty(&a.row.image), &non_empty(&b.row.image)),
        SortColumn::Lease => opt(&lease_end(a), &lease_end(b)),
        // Youngest first: a later creation time means a smaller age.
        SortColumn::Age => opt(&b.row.create_at, &a.row.create_at),
        SortColumn::InStatus => Some(b.status_since_ms.cmp(&a.status_since_ms)),
    };
    let primary = match primary {
        Some(o) if sort.descending => o.reverse(),
        Some(o) => o,
        None => missing_last(sort.column, a, b),
    };
    primary
        .then_with(|| a.name_lower().cmp(b.name_lower()))
        .then_with(|| a.key.cmp(&b.key))
}

/// `Some` ordering when both are present, `None` when at least one is missing.
fn opt<T: Ord>(a: &Option<T>, b: &Option<T>) -> Option<Ordering> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn missing_last(column: SortColumn, a: &Tracked, b: &Tracked) -> Ordering {
    let has = |t: &Tracked| match column {
        SortColumn::Feature => t.row.feature.is_some(),
        SortColumn::Flavor => t.row.flavor.is_some(),
        SortColumn::Image => !t.row.image.is_empty(),
        SortColumn::Lease => lease_end(t).is_some(),
        SortColumn::Age => t.row.create_at.is_some(),
        SortColumn::Source | SortColumn::Name | SortColumn::Status | SortColumn::InStatus => true,
    };
    has(b).cmp(&has(a))
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn lease_end(t: &Tracked) -> Option<i64> {
    if super::tracked::lease_applies(&t.status) {
        t.row.lease_end_ms()
    } else {
        None
    }
}
