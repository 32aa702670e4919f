//! What the hot tier learnt (see `watch::hot`), applied to the state: the
//! instances it read update or join the table, and only those ShowNotebook
//! said no longer exist leave it. An instance missing from a hot read is not
//! touched: its absence alone proves nothing.

use super::{App, Tracked};
use crate::api::model::Notebook;
use crate::track::{InstanceKey, SourceId};

impl App {
    /// A hot tick's news: batches of instances, each with when its answer came
    /// (epoch ms); ids ShowNotebook answered 404 / `ModelArts.6309` for, with
    /// when; what failed, if anything. News older than what an instance already
    /// had is ignored. Returns whether any instance changed.
    pub fn apply_hot(
        &mut self,
        seen: Vec<(i64, Vec<Notebook>)>,
        gone: Vec<(String, i64)>,
        error: Option<String>,
        now_ms: i64,
    ) -> bool {
        self.apply_hot_from(SourceId(0), seen, gone, error, now_ms)
    }

    /// [`App::apply_hot`] for the source numbered `source`.
    pub fn apply_hot_from(
        &mut self,
        source: SourceId,
        seen: Vec<(i64, Vec<Notebook>)>,
        gone: Vec<(String, i64)>,
        error: Option<String>,
        now_ms: i64,
    ) -> bool {
        let Some(feed) = self.feeds.get(source.index()) else {
            return false;
        };
        let neighbours = self.neighbour_keys();
        let old_cursor = self.cursor;
        // As for a sweep page: only after a complete sweep is a new id news.
        let announce = feed.sweeps_complete > 0 && feed.last_sweep_complete;
        let mut dirty = false;
        for (at, batch) in seen {
            for nb in batch {
                let Some(key) = nb
                    .id
                    .as_deref()
                    .filter(|id| !id.is_empty())
                    .map(|id| InstanceKey::new(source, id))
                else {
                    continue;
                };
                let taken = self.take_record(key, nb, at, announce);
                if !taken.older {
                    self.instances[taken.index].missed = 0;
                }
                dirty |= taken.dirty;
            }
        }
        let mut gone_idx: Vec<usize> = gone
            .iter()
            .filter_map(|(id, _)| self.index.get(&InstanceKey::new(source, id)).copied())
            .collect();
        gone_idx.sort_unstable();
        gone_idx.dedup();
        if !gone_idx.is_empty() {
            let at = gone.iter().map(|(_, at)| *at).max().unwrap_or(now_ms);
            self.remove(&gone_idx, at);
            dirty = true;
        }
        if let Some(f) = self.feeds.get_mut(source.index()) {
            f.poll.last_hot_ms = Some(now_ms);
            f.poll.hot_error = error;
        }
        self.combine_feeds();
        if dirty {
            self.recompute(now_ms, &neighbours, old_cursor);
        }
        dirty
    }

    /// Whether a row has gone unconfirmed for longer than the sweep's period
    /// allows (see [`super::PollState::unconfirmed_after_ms`]); never before
    /// the first complete sweep.
    pub fn is_unconfirmed(&self, t: &Tracked, now_ms: i64) -> bool {
        self.feeds.get(t.key.source.index()).is_some_and(|f| {
            f.sweeps_complete > 0 && t.unconfirmed_for_ms(now_ms) > f.poll.unconfirmed_after_ms()
        })
    }
}
