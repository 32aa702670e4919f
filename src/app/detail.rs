//! The detail pane's read of a whole record the tracker does not hold (see
//! [`crate::track::records`]): which read is wanted, in flight, or failed.

use crate::api::model::Notebook;
use crate::track::InstanceKey;
use crate::track::records::Records;

/// How long a failed read of a record waits before the pane asks again.
pub const DETAIL_RETRY_MS: i64 = 10_000;

/// The detail pane's read of a whole record the state does not hold.
#[derive(Debug, Default)]
pub(super) struct DetailRead {
    /// The key being read.
    in_flight: Option<InstanceKey>,
    /// The last failed read: key, message, when.
    failed: Option<(InstanceKey, String, i64)>,
}

/// A read the detail pane needs: the selected instance, whose record is not held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailWant {
    /// The instance (its source's client reads it).
    pub key: InstanceKey,
    pub id: String,
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
        self.track.set_record_cap(cap);
    }

    pub fn records(&self) -> &Records {
        self.track.records()
    }

    /// What the detail pane has of `key`'s whole record.
    pub fn record(&self, key: &InstanceKey, now_ms: i64) -> Record<'_> {
        if let Some(nb) = self.track.records().get(key) {
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
        if self.track.records().get(&t.key).is_some() {
            return None;
        }
        if matches!(self.record(&t.key, now_ms), Record::Failed(_)) {
            return None;
        }
        let id = t.id()?;
        Some(DetailWant {
            key: t.key.clone(),
            id: id.to_string(),
        })
    }

    /// The event loop sent the read for `key`.
    pub fn detail_read_started(&mut self, key: &InstanceKey) {
        self.detail_read.in_flight = Some(key.clone());
    }

    /// The answer to a detail read: the record (its row is updated too, as any
    /// read of the instance would), `Ok(None)` when the service says it no longer
    /// exists (the sweeps will confirm it is gone), or why it failed.
    pub fn apply_detail(
        &mut self,
        key: &InstanceKey,
        answer: Result<Option<Notebook>, String>,
        now_ms: i64,
    ) {
        if self.detail_read.in_flight.as_ref() == Some(key) {
            self.detail_read.in_flight = None;
        }
        match answer {
            Ok(Some(nb)) if self.track.get(key).is_some() => {
                self.detail_read.failed = None;
                self.apply_instance(key, nb, now_ms, true);
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                self.detail_read.failed = Some((
                    key.clone(),
                    "the service no longer knows this instance".into(),
                    now_ms,
                ));
            }
            Err(message) => {
                self.detail_read.failed = Some((key.clone(), message, now_ms));
            }
        }
    }
}
