//! What the event loop must do because the state changed, not because of a key:
//! poll a source's hot tier while an instance of it on screen is changing
//! state (and say so in the status bar), and read the whole record the detail
//! pane shows once the selection has rested on it. The state decides; the loop
//! only carries out the [`Effect`]s (see [`App::due_effects`]).

use std::time::Duration;

use super::{App, Effect, Pace};
use crate::track::SourceId;

/// How long the selection must rest on an instance before the detail pane reads
/// its whole record: scrolling through rows costs nothing.
pub const DETAIL_SETTLE_MS: i64 = 300;

/// The loop's duties as last decided.
#[derive(Debug, Default)]
pub(super) struct Duties {
    /// Each source's fast interval, by source number (see [`App::set_fast_intervals`]).
    fast: Vec<Duration>,
    /// Whether each source was last told to run hot.
    hot: Vec<bool>,
    /// The detail read wanted, and since when (epoch ms).
    detail: Option<(super::DetailWant, i64)>,
}

impl App {
    /// Each source's fast interval, in poller order: the pace shown while
    /// one of its instances on screen is changing state. Sources without one
    /// are never told to run hot.
    pub fn set_fast_intervals(&mut self, fast: Vec<Duration>) {
        self.duties.hot = vec![false; fast.len()];
        self.duties.fast = fast;
    }

    /// What the event loop must do now (call it after every event, before and
    /// after drawing: the detail pane's size comes from the drawing).
    /// - `SetHot` for each source whose visible rows started or stopped
    ///   changing state; its pace for the status bar is recorded here.
    /// - `ReadRecord` once the selection has rested [`DETAIL_SETTLE_MS`] on an
    ///   instance whose whole record the detail pane needs; the read is then
    ///   in flight until [`App::apply_detail`].
    pub fn due_effects(&mut self, now_ms: i64) -> Vec<Effect> {
        let mut out = Vec::new();
        for n in 0..self.duties.fast.len() {
            let source = SourceId::nth(n);
            let hot = self.visible_transitional_in(source);
            if self.duties.hot[n] == hot {
                continue;
            }
            self.duties.hot[n] = hot;
            let poll = self.feeds().get(n).map(|f| f.poll.pace);
            let budget = poll.and_then(|p| p.budget);
            let hot_pace = poll.and_then(|p| p.hot);
            let pace = Pace {
                // While the hot tier runs, the sweep keeps its interval.
                fast: (hot && hot_pace.is_none()).then_some(self.duties.fast[n]),
                budget,
                hot: hot_pace,
            };
            self.track.record_pace(source, pace);
            out.push(Effect::SetHot { source, hot });
        }
        match self.detail_wanted(now_ms) {
            Some(want) => match &self.duties.detail {
                Some((w, since)) if *w == want => {
                    if now_ms.saturating_sub(*since) >= DETAIL_SETTLE_MS {
                        self.duties.detail = None;
                        self.detail_read_started(&want.key);
                        out.push(Effect::ReadRecord(want));
                    }
                }
                _ => self.duties.detail = Some((want, now_ms)),
            },
            None => self.duties.detail = None,
        }
        out
    }

    /// When [`App::due_effects`] will next have something to do without any
    /// event (a detail read coming due), epoch ms.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.duties
            .detail
            .as_ref()
            .map(|(_, since)| since.saturating_add(DETAIL_SETTLE_MS))
    }
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;

    use super::*;
    use crate::app::Viewport;
    use crate::app::fixtures::{NOW, k, nb, select, timing};

    #[test]
    fn a_source_runs_hot_while_a_visible_instance_changes_state_and_the_pace_says_so() {
        let mut app = App::new(timing());
        app.set_fast_intervals(vec![Duration::from_secs(2)]);
        app.sweep(vec![nb("a", "alpha", "RUNNING")], NOW);
        assert_eq!(app.due_effects(NOW), vec![], "nothing changing");
        app.sweep(vec![nb("a", "alpha", "STOPPING")], NOW + 1_000);
        let on = Effect::SetHot {
            source: SourceId(0),
            hot: true,
        };
        assert_eq!(app.due_effects(NOW + 1_000), vec![on]);
        assert_eq!(app.poll().pace.fast, Some(Duration::from_secs(2)));
        assert_eq!(app.due_effects(NOW + 1_100), vec![], "told once");
        app.sweep(vec![nb("a", "alpha", "STOPPED")], NOW + 3_000);
        let off = Effect::SetHot {
            source: SourceId(0),
            hot: false,
        };
        assert_eq!(app.due_effects(NOW + 3_000), vec![off]);
        assert_eq!(app.poll().pace.fast, None);
    }

    #[test]
    fn the_detail_pane_reads_a_record_not_held_once_the_selection_rests() {
        let mut app = App::new(timing());
        app.set_record_cap(0);
        app.sweep(
            vec![nb("a", "alpha", "RUNNING"), nb("b", "beta", "RUNNING")],
            NOW,
        );
        app.set_viewport(Viewport {
            table_body: Rect::new(0, 0, 60, 10),
            detail: Rect::new(60, 0, 40, 10),
            ..Viewport::default()
        });
        select(&mut app, "alpha");
        assert_eq!(app.due_effects(NOW), vec![], "not rested yet");
        assert_eq!(app.next_due_ms(), Some(NOW + DETAIL_SETTLE_MS));
        // Moved on before it rested: the wait starts again for the new row.
        select(&mut app, "beta");
        assert_eq!(app.due_effects(NOW + 200), vec![]);
        assert_eq!(app.due_effects(NOW + 400), vec![], "beta rested 200 ms");
        let effects = app.due_effects(NOW + 200 + DETAIL_SETTLE_MS);
        match effects.as_slice() {
            [Effect::ReadRecord(want)] => assert_eq!(want.key, k("b")),
            other => panic!("expected one read of beta: {other:?}"),
        }
        assert_eq!(
            app.due_effects(NOW + 2_000),
            vec![],
            "in flight: asked once"
        );
        assert_eq!(app.next_due_ms(), None);
    }
}
