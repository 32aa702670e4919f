//! Whole records, for the detail pane. Every row keeps its lean [`super::row::Row`];
//! the full record (storage, endpoints, creation steps, image details…) is held
//! for at most `cap` instances: all of them in a project that small (pages fill
//! and refresh it, no request is ever made for it), and at scale the ones the
//! user looked at most recently, read with ShowNotebook when the selection rests
//! on an instance whose record is not held (see [`super::App::detail_wanted`]).

use std::collections::HashMap;

use crate::api::model::Notebook;

/// Whole records held.
#[derive(Debug)]
pub struct Records {
    cap: usize,
    map: HashMap<String, Held>,
    clock: u64,
}

#[derive(Debug)]
struct Held {
    notebook: Notebook,
    /// When this record was last looked at or fetched ([`Records::clock`]).
    used: u64,
}

impl Records {
    pub fn new(cap: usize) -> Records {
        Records {
            cap,
            map: HashMap::new(),
            clock: 0,
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Notebook> {
        self.map.get(key).map(|h| &h.notebook)
    }

    /// A record from a sweep page or a hot read: refreshes a held one, or is kept
    /// while there is room. Never evicts: pages do not push out what the user
    /// looked at.
    pub fn offer(&mut self, key: &str, notebook: Notebook) {
        if let Some(h) = self.map.get_mut(key) {
            h.notebook = notebook;
        } else if self.map.len() < self.cap {
            self.clock += 1;
            let used = self.clock;
            self.map.insert(key.to_string(), Held { notebook, used });
        }
    }

    /// A record read for the detail pane: always kept, evicting the record
    /// looked at longest ago when full.
    pub fn insert(&mut self, key: &str, notebook: Notebook) {
        self.clock += 1;
        let used = self.clock;
        if self.map.len() >= self.cap.max(1) && !self.map.contains_key(key) {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, h)| h.used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.map.remove(&k);
            }
        }
        self.map.insert(key.to_string(), Held { notebook, used });
    }

    /// The user is looking at `key`: it is the last to be evicted.
    pub fn touch(&mut self, key: &str) {
        if let Some(h) = self.map.get_mut(key) {
            self.clock += 1;
            h.used = self.clock;
        }
    }

    /// Changes a held record in place (an action's answer, such as a new lease).
    pub fn edit(&mut self, key: &str, f: impl FnOnce(&mut Notebook)) {
        if let Some(h) = self.map.get_mut(key) {
            f(&mut h.notebook);
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.map.remove(key);
    }
}

/// How long a failed read of a record waits before the pane asks again.
pub const DETAIL_RETRY_MS: i64 = 10_000;

/// The detail pane's read of a whole record the state does not hold.
#[derive(Debug, Default)]
pub(super) struct DetailRead {
    /// The key being read.
    in_flight: Option<String>,
    /// The last failed read: key, message, when.
    failed: Option<(String, String, i64)>,
}

/// A read the detail pane needs: the selected instance, whose record is not held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailWant {
    pub key: String,
    pub id: String,
    /// The source whose client reads it.
    pub source: u16,
}

/// What the detail pane can show of the rest of a record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Record<'a> {
    Held(&'a Notebook),
    /// Asked for, not answered yet (or about to be asked for).
    Reading,
    /// The last read failed with this message.
    Failed(&'a str),
}

impl super::App {
    /// Whole records to keep (see `defaults::FULL_RECORDS`).
    pub fn set_record_cap(&mut self, cap: usize) {
        self.records = Records::new(cap);
    }

    pub fn records(&self) -> &Records {
        &self.records
    }

    /// What the detail pane has of `key`'s whole record.
    pub fn record(&self, key: &str, now_ms: i64) -> Record<'_> {
        if let Some(nb) = self.records.get(key) {
            return Record::Held(nb);
        }
        match &self.detail_read.failed {
            Some((k, message, at)) if k == key && now_ms - at < DETAIL_RETRY_MS => {
                Record::Failed(message)
            }
            _ => Record::Reading,
        }
    }

    /// The read the detail pane needs now, if any: it is shown, the selected
    /// instance's record is not held, no read is in flight and none failed for
    /// it in the last [`DETAIL_RETRY_MS`]. The event loop waits for the selection
    /// to rest before sending it, so scrolling through rows costs nothing.
    pub fn detail_wanted(&self, now_ms: i64) -> Option<DetailWant> {
        let shown = self.viewport.detail.width > 0 && self.viewport.detail.height > 0;
        if !shown || self.detail_read.in_flight.is_some() {
            return None;
        }
        let t = self.selected()?;
        if self.records.get(&t.key).is_some() {
            return None;
        }
        if matches!(self.record(&t.key, now_ms), Record::Failed(_)) {
            return None;
        }
        let id = t.id()?;
        Some(DetailWant {
            key: t.key.clone(),
            id: id.to_string(),
            source: t.source,
        })
    }

    /// The event loop sent the read for `key`.
    pub fn detail_read_started(&mut self, key: &str) {
        self.detail_read.in_flight = Some(key.to_string());
    }

    /// The answer to a detail read: the record (its row is updated too, as any
    /// read of the instance would), `Ok(None)` when the service says it no longer
    /// exists (the sweeps will confirm it is gone), or why it failed.
    pub fn apply_detail(
        &mut self,
        key: &str,
        answer: Result<Option<Notebook>, String>,
        now_ms: i64,
    ) {
        if self.detail_read.in_flight.as_deref() == Some(key) {
            self.detail_read.in_flight = None;
        }
        match answer {
            Ok(Some(nb)) if self.index.contains_key(key) => {
                self.detail_read.failed = None;
                self.records.insert(key, nb.clone());
                self.apply_instance(key, nb, now_ms);
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                self.detail_read.failed = Some((
                    key.to_string(),
                    "the service no longer knows this instance".into(),
                    now_ms,
                ));
            }
            Err(message) => {
                self.detail_read.failed = Some((key.to_string(), message, now_ms));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(name: &str) -> Notebook {
        Notebook {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn pages_fill_up_to_the_cap_and_refresh_what_is_held() {
        let mut r = Records::new(2);
        r.offer("a", nb("a1"));
        r.offer("b", nb("b1"));
        r.offer("c", nb("c1"));
        assert_eq!(r.len(), 2);
        assert!(r.get("c").is_none(), "no room: not kept");
        r.offer("a", nb("a2"));
        assert_eq!(r.get("a").and_then(|n| n.name.as_deref()), Some("a2"));
    }

    #[test]
    fn a_fetched_record_evicts_the_one_looked_at_longest_ago() {
        let mut r = Records::new(2);
        r.offer("a", nb("a"));
        r.offer("b", nb("b"));
        r.touch("a");
        r.insert("c", nb("c"));
        assert!(r.get("b").is_none(), "b was looked at longest ago");
        assert!(r.get("a").is_some() && r.get("c").is_some());
        // A cap of zero still holds the record being looked at.
        let mut z = Records::new(0);
        z.insert("x", nb("x"));
        z.insert("y", nb("y"));
        assert!(z.get("x").is_none() && z.get("y").is_some());
        z.offer("q", nb("q"));
        assert_eq!(z.len(), 1);
    }
}
