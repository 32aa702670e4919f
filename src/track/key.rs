//! Which instance is which: ids are unique within a source (a profile or
//! region), not across sources, so an instance is known by both.

use std::fmt;
use std::sync::Arc;

/// A map by instance key, hashed with foldhash (seeded per process) rather
/// than SipHash: the tracker, the alert scan and the exporter look keys up
/// for every instance of every page, and SipHash was 4 % of the dashboard's
/// CPU at 10,000 instances.
pub type KeyMap<V> = std::collections::HashMap<InstanceKey, V, foldhash::fast::RandomState>;

/// A source the dashboard or exporter watches: its poller's number, in the
/// order the sources were configured (the first is 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u16);

impl SourceId {
    /// The source numbered `n` (its place among the pollers).
    pub fn nth(n: usize) -> SourceId {
        SourceId(u16::try_from(n).unwrap_or(u16::MAX))
    }

    /// Its place among the sources, to index per-source lists.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One instance: its source and the id the service gave it (or a stand-in
/// when the service gave none, see `Tracked::id`). The id is shared, so the
/// index, the marks and the selection hold it without copying it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceKey {
    pub source: SourceId,
    pub id: Arc<str>,
}

impl InstanceKey {
    pub fn new(source: SourceId, id: &str) -> InstanceKey {
        InstanceKey {
            source,
            id: Arc::from(id),
        }
    }

    /// The id within its source.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// For logs and messages: the id, after its source's number for every source
/// but the first (`2/notebook-id`). Never parsed back.
impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source.0 == 0 {
            f.write_str(&self.id)
        } else {
            write!(f, "{}/{}", self.source, self.id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_id_in_two_sources_is_two_instances() {
        let a = InstanceKey::new(SourceId(0), "x");
        let b = InstanceKey::new(SourceId(1), "x");
        assert_ne!(a, b);
        assert_eq!(a.id(), b.id());
        assert_eq!(a.to_string(), "x");
        assert_eq!(b.to_string(), "1/x");
        assert_eq!(SourceId::nth(70_000), SourceId(u16::MAX));
    }
}
