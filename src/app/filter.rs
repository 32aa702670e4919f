//! The three combinable filters: name substring, a set of statuses, problems only.

use std::collections::BTreeSet;

use crate::api::model::Status;

use super::tracked::Tracked;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Case-insensitive substring of the name; empty matches everything.
    pub name: String,
    /// Empty means every status.
    pub statuses: BTreeSet<Status>,
    /// Failed, errored, frozen or stuck instances only.
    pub problems_only: bool,
}

impl Filter {
    pub fn is_active(&self) -> bool {
        !self.name.is_empty() || !self.statuses.is_empty() || self.problems_only
    }

    /// `needle` is `self.name` lowercased, computed once per pass by the caller.
    pub(crate) fn matches(
        &self,
        t: &Tracked,
        needle: &str,
        now_ms: i64,
        stuck_after_ms: i64,
    ) -> bool {
        (needle.is_empty() || t.name_lower().contains(needle))
            && (self.statuses.is_empty() || self.statuses.contains(&t.status))
            && (!self.problems_only || t.needs_attention(now_ms, stuck_after_ms))
    }

    /// True when every instance matching `self` also matched `before`: then the
    /// new view is a subset of the old one and can be found by narrowing it.
    pub(crate) fn narrows(&self, before: &Filter) -> bool {
        self.statuses == before.statuses
            && self.problems_only == before.problems_only
            && self
                .name
                .to_lowercase()
                .contains(&before.name.to_lowercase())
    }
}
