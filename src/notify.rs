//! What the dashboard tells the world about the changes it sees: each one as a
//! journal line, and the alerts (bell, desktop, hook) for problems, stuck
//! instances and auto-stops coming up. Fed from the state model after each
//! poll and each tick; it never blocks (hooks run in the background).

use crate::alerts::{self, AlertConfig, AlertKind, Detector};
use crate::app::{App, EventKind, RecentEvent};
use crate::journal::{self, Entry, Kind};

/// The dashboard's journal and alerts, for every source it watches.
#[derive(Debug)]
pub struct Notifier {
    /// Each source's name (profile or label), written with each entry and alert.
    sources: Vec<String>,
    journal: Option<journal::Writer>,
    /// Said once in the log when the journal cannot be written.
    journal_failed: bool,
    alerts: AlertConfig,
    detector: Detector,
}

impl Notifier {
    pub fn new(source: &str, journal: Option<journal::Writer>, alerts: AlertConfig) -> Notifier {
        Notifier {
            sources: vec![source.to_string()],
            journal,
            journal_failed: false,
            alerts,
            detector: Detector::new(),
        }
    }

    /// Names the sources, in poller order, when several are watched.
    pub fn with_sources(mut self, names: Vec<String>) -> Notifier {
        if !names.is_empty() {
            self.sources = names;
        }
        self
    }

    fn source(&self, n: crate::track::SourceId) -> &str {
        self.sources.get(n.index()).map_or("", String::as_str)
    }

    /// Journals what changed and delivers the alerts now due. `complete` says a
    /// whole listing has been applied: from the first one on, new conditions
    /// are news (what the first listing shows was already true). Returns
    /// whether to ring the terminal bell.
    pub fn after(&mut self, app: &mut App, now_ms: i64, complete: bool) -> bool {
        let events = app.take_events();
        for e in &events {
            let entry = self.entry(app, e);
            self.write(&entry);
        }
        // Every kind is detected (the journal records them all); the config
        // decides which are delivered.
        let all = AlertConfig {
            problems: true,
            stuck: true,
            lease: true,
            ..self.alerts.clone()
        };
        let names: Vec<&str> = self.sources.iter().map(String::as_str).collect();
        let left = app.left_of(&events);
        let since = alerts::Since {
            revision: app.revision(),
            left: &left,
        };
        let due = self.detector.scan(
            Some(since),
            app.instances(),
            &names,
            now_ms,
            app.stuck_after_ms(),
            &all,
        );
        // Each source's first listing is its baseline.
        if complete {
            for (n, f) in app.feeds().iter().enumerate() {
                if f.poll.last_ok_ms.is_some() {
                    self.detector.arm_source(crate::track::SourceId::nth(n));
                }
            }
        }
        let mut ring = false;
        for a in due {
            let kind = match a.kind {
                AlertKind::Stuck => Some(Kind::Stuck),
                AlertKind::LeaseEnding => Some(Kind::LeaseWarning),
                // Entering a problem status is already a `changed` line.
                AlertKind::Problem => None,
            };
            if let Some(kind) = kind {
                let mut entry = Entry::new(now_ms, &a.source, &a.id, &a.name, kind);
                entry.to = Some(a.status.clone());
                entry.stops_at = a.stops_at.clone();
                self.write(&entry);
            }
            let wanted = match a.kind {
                AlertKind::Problem => self.alerts.problems,
                AlertKind::Stuck => self.alerts.stuck,
                AlertKind::LeaseEnding => self.alerts.lease,
            };
            if wanted {
                ring |= alerts::deliver(&a, &self.alerts);
            }
        }
        ring
    }

    fn entry(&self, app: &App, e: &RecentEvent) -> Entry {
        let (kind, from, to) = match &e.kind {
            EventKind::Appeared(s) => (Kind::Appeared, None, Some(s)),
            EventKind::Changed { from, to } => (Kind::Changed, Some(from), Some(to)),
            EventKind::Gone { last } => (Kind::Gone, Some(last), None),
        };
        let mut entry = Entry::new(
            e.at_ms,
            self.source(e.key.source),
            e.key.id(),
            &e.name,
            kind,
        );
        entry.from = from.map(|s| s.as_str().to_string());
        entry.to = to.map(|s| s.as_str().to_string());
        if to.is_some_and(|s| s.is_problem()) {
            entry.fail_reason = app
                .get(&e.key)
                .and_then(|t| t.row.fail_reason().map(str::to_string))
                .filter(|r| !r.is_empty());
        }
        entry
    }

    fn write(&mut self, entry: &Entry) {
        let Some(w) = &mut self.journal else { return };
        match w.append(entry) {
            Ok(()) => self.journal_failed = false,
            Err(e) if !self.journal_failed => {
                self.journal_failed = true;
                tracing::warn!(error = %e, path = %w.path().display(), "cannot write the journal");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::{self, MIN, NOW, nb};

    #[test]
    fn the_journal_gets_a_line_per_change_and_the_first_listing_is_the_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let w = journal::Writer::open(&path, 1 << 20).unwrap();
        let cfg = AlertConfig {
            desktop: false,
            ..AlertConfig::default()
        };
        let mut n = Notifier::new("prod", Some(w), cfg);
        let mut app = App::new(fixtures::timing());
        n.after(&mut app, NOW, false); // starts the feed
        app.sweep(
            vec![nb("a", "nb-a", "RUNNING"), nb("b", "nb-b", "ERROR")],
            NOW,
        );
        assert!(
            !n.after(&mut app, NOW, true),
            "what was true at the start rings nothing"
        );
        let mut failed = nb("a", "nb-a", "START_FAILED");
        failed.fail_reason = Some("no resources".into());
        app.sweep(vec![failed, nb("c", "nb-c", "CREATING")], NOW + MIN);
        assert!(
            n.after(&mut app, NOW + MIN, true),
            "a new failure rings the bell"
        );
        // Missing from one sweep is not yet gone: a second sweep confirms it.
        let mut failed = nb("a", "nb-a", "START_FAILED");
        failed.fail_reason = Some("no resources".into());
        app.sweep(vec![failed, nb("c", "nb-c", "CREATING")], NOW + 2 * MIN);
        n.after(&mut app, NOW + 2 * MIN, true);
        let back = journal::read(&path).unwrap();
        let lines: Vec<String> = back
            .entries
            .iter()
            .map(|e| {
                format!(
                    "{} {} {:?} {:?} {:?}",
                    e.name,
                    e.kind.as_str(),
                    e.from,
                    e.to,
                    e.fail_reason
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                r#"nb-a changed Some("RUNNING") Some("START_FAILED") Some("no resources")"#,
                r#"nb-c appeared None Some("CREATING") None"#,
                r#"nb-b gone Some("ERROR") None None"#,
            ]
        );
        assert!(back.entries.iter().all(|e| e.source == "prod"));
    }

    #[test]
    fn stuck_and_lease_warnings_are_journaled_even_when_their_alerts_are_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let w = journal::Writer::open(&path, 1 << 20).unwrap();
        let cfg = AlertConfig {
            desktop: false,
            stuck: false,
            ..AlertConfig::default()
        };
        let mut n = Notifier::new("p", Some(w), cfg);
        let mut app = App::new(fixtures::timing());
        app.sweep(vec![nb("a", "nb-a", "RUNNING")], NOW);
        n.after(&mut app, NOW, true);
        app.sweep(vec![nb("a", "nb-a", "STARTING")], NOW + MIN);
        n.after(&mut app, NOW + MIN, true);
        let ring = n.after(&mut app, NOW + 12 * MIN, false);
        assert!(!ring, "stuck alerts are off");
        let back = journal::read(&path).unwrap();
        let kinds: Vec<&str> = back.entries.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["changed", "stuck"]);
    }

    #[test]
    fn with_several_sources_each_line_names_its_source_and_each_first_listing_is_a_baseline() {
        use crate::app::SweepProgress;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let w = journal::Writer::open(&path, 1 << 20).unwrap();
        let cfg = AlertConfig {
            desktop: false,
            ..AlertConfig::default()
        };
        let names = vec!["bj".to_string(), "sg".to_string()];
        let mut n = Notifier::new("bj", Some(w), cfg).with_sources(names.clone());
        let mut app = App::new(fixtures::timing());
        app.set_sources(names);
        n.after(&mut app, NOW, false);
        let sweep = |app: &mut App,
                     src: crate::track::SourceId,
                     nbs: Vec<crate::api::model::Notebook>,
                     at| {
            app.page(src, nbs, SweepProgress::default(), at);
            app.sweep_end(src, true, at);
        };
        sweep(
            &mut app,
            crate::track::SourceId(0),
            vec![nb("same", "bj-nb", "RUNNING"), nb("x", "bj-err", "ERROR")],
            NOW,
        );
        assert!(
            !n.after(&mut app, NOW, true),
            "bj's first listing is its baseline"
        );
        // Singapore answers a minute later, with a problem it already had.
        sweep(
            &mut app,
            crate::track::SourceId(1),
            vec![
                nb("same", "sg-nb", "RUNNING"),
                nb("y", "sg-frozen", "FROZEN"),
            ],
            NOW + MIN,
        );
        assert!(
            !n.after(&mut app, NOW + MIN, true),
            "sg's first listing is its own baseline: no alert for what was already true"
        );
        sweep(
            &mut app,
            crate::track::SourceId(1),
            vec![nb("same", "sg-nb", "ERROR"), nb("y", "sg-frozen", "FROZEN")],
            NOW + 2 * MIN,
        );
        assert!(
            n.after(&mut app, NOW + 2 * MIN, true),
            "a new failure in sg rings"
        );
        let back = journal::read(&path).unwrap();
        let lines: Vec<String> = back
            .entries
            .iter()
            .map(|e| format!("{} {} {} {}", e.source, e.id, e.name, e.kind.as_str()))
            .collect();
        assert_eq!(
            lines,
            ["sg same sg-nb changed"],
            "the id as the service knows it"
        );
    }
}
