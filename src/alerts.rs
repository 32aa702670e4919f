//! Alerts that reach you while you look elsewhere: when an instance enters a
//! problem status, becomes stuck, or its auto-stop comes within a lead time.
//!
//! Deciding ([`Detector`]) is pure: it scans the tracked instances and remembers
//! which conditions it has already announced, so each is announced once, and
//! again only after it cleared. What was already true when the watch started
//! is recorded, not announced, unless asked. Delivering ([`deliver`]) rings the
//! terminal bell (by returning it to the caller, who owns the terminal), sends a
//! desktop notification where the platform has a command for it (`notify-send`,
//! `osascript`), and runs an optional hook with the alert as one JSON object on
//! its standard input, in the background with a timeout: a slow or failing hook
//! is logged and never blocks the screen.

use crate::track::SourceId;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;

use crate::api::model::Status;
use crate::app::Tracked;
use crate::timefmt::iso_utc;

/// Which alerts, and how they are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertConfig {
    /// Entering CREATE_FAILED, START_FAILED, DELETE_FAILED, ERROR or FROZEN.
    pub problems: bool,
    /// In a transitional status longer than the stuck threshold.
    pub stuck: bool,
    /// The auto-stop of a running instance within `lease_lead`.
    pub lease: bool,
    pub lease_lead: Duration,
    /// Announce what was already true when the watch started.
    pub existing: bool,
    /// Ring the terminal bell.
    pub bell: bool,
    /// A desktop notification, where the platform offers one.
    pub desktop: bool,
    /// A shell command given each alert as JSON on standard input.
    pub hook: Option<String>,
    pub hook_timeout: Duration,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            problems: true,
            stuck: true,
            lease: true,
            lease_lead: crate::defaults::ALERT_LEASE_LEAD,
            existing: false,
            bell: true,
            desktop: true,
            hook: None,
            hook_timeout: crate::defaults::ALERT_HOOK_TIMEOUT,
        }
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    Problem,
    Stuck,
    LeaseEnding,
}

/// One alert: what the hook receives as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    /// When nbwatch noticed, RFC 3339 UTC.
    pub time: String,
    pub source: String,
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// For a lease alert: when the instance stops (RFC 3339 UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stops_at: Option<String>,
}

impl Alert {
    /// The one-line JSON object a hook receives.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `train-03: ERROR (OOM)`, for notifications and the log.
    pub fn summary(&self) -> String {
        let what = match self.kind {
            AlertKind::Problem => self.status.clone(),
            AlertKind::Stuck => format!("stuck in {}", self.status),
            AlertKind::LeaseEnding => match &self.stops_at {
                Some(at) => format!("auto-stop at {at}"),
                None => "auto-stop soon".to_string(),
            },
        };
        let reason = self
            .fail_reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        format!("{}: {what}{reason}", self.name)
    }
}

/// What the caller of [`Detector::scan`] knows changed since its last scan.
#[derive(Debug, Clone, Copy)]
pub struct Since<'a> {
    /// The tracker's revision now (`Tracker::revision`).
    pub revision: u64,
    /// Every instance that left since the last scan (its `Gone` events) and
    /// is not back.
    pub left: &'a [crate::track::InstanceKey],
}

/// The longest a scanning detector goes without reading every instance: a
/// partial scan (see `Detector::quiet`) does not see instances that left, and
/// what it remembers of them is dropped at the next whole scan.
const WHOLE_SCAN_MS: i64 = 60_000;

/// Remembers which conditions were announced, so each is announced once.
#[derive(Debug, Default)]
pub struct Detector {
    /// False until [`Detector::arm`]: conditions seen before are the baseline.
    armed: bool,
    /// Sources whose first listing is in (see [`Detector::arm_source`]).
    armed_sources: HashSet<SourceId>,
    /// What was announced of each instance with a condition: one entry per
    /// such instance, so a whole scan costs one lookup per instance with a
    /// condition and nothing else is kept.
    seen: crate::track::KeyMap<Conditions>,
    /// Scans so far: an entry not visited by the latest scan is of an
    /// instance no longer listed, and is forgotten.
    scans: u64,
    /// What the last scan with a revision saw (see [`Quiet`]).
    quiet: Option<Quiet>,
}

/// What a scan saw, so the next need not read everything again.
#[derive(Debug, Clone, Copy)]
struct Quiet {
    /// The population's revision it read.
    revision: u64,
    stuck_after_ms: i64,
    /// The first moment time alone can change a condition it saw (an instance
    /// becoming stuck, a lease entering or leaving the warning): until then,
    /// at the same revision, a scan would find what this one did.
    until: i64,
    /// When it ran: a later scan looks only at the instances stamped since
    /// (`Tracked::stamp`) and those whose stuck or lease condition differs
    /// between then and now.
    at: i64,
    /// When the next whole scan is due (at most [`WHOLE_SCAN_MS`] after the last).
    whole_by: i64,
}

/// The conditions announced for one instance.
#[derive(Debug, Default)]
struct Conditions {
    problem: Option<Status>,
    stuck: bool,
    lease: bool,
    /// The scan that last visited it.
    scan: u64,
}

impl Conditions {
    fn any(&self) -> bool {
        self.problem.is_some() || self.stuck || self.lease
    }
}

impl Detector {
    pub fn new() -> Detector {
        Detector::default()
    }

    /// From now on new conditions are announced (call it once the first
    /// complete sweep is in: everything before it was already true).
    pub fn arm(&mut self) {
        self.armed = true;
    }

    /// From now on new conditions of source `source`'s instances are announced:
    /// with several sources, each one's first listing is its own baseline.
    pub fn arm_source(&mut self, source: SourceId) {
        self.armed_sources.insert(source);
    }

    pub fn is_armed(&self) -> bool {
        self.armed
    }

    /// The alerts due at `now_ms` for `instances`; `sources` names them by
    /// their source number.
    ///
    /// With `since` (see [`Since`]), the scan looks up only what can have
    /// changed since the last one (see [`Quiet`]): nothing at the same
    /// revision before a condition can come with time alone; else the
    /// instances stamped since and those whose stuck or lease condition time
    /// moved, forgetting those that left; everything at least every
    /// [`WHOLE_SCAN_MS`]. The dashboard scans after every hot tick and sweep
    /// end and every second; at 10,000 instances a whole scan costs a few
    /// hundred µs, one lookup per instance with a condition (a thousand failed
    /// ones in the simulator), and most scans would find what the one before
    /// did. `None` always reads everything.
    pub fn scan<'a>(
        &mut self,
        since: Option<Since<'_>>,
        instances: impl IntoIterator<Item = &'a Tracked>,
        sources: &[&str],
        now_ms: i64,
        stuck_after_ms: i64,
        cfg: &AlertConfig,
    ) -> Vec<Alert> {
        let revision = since.map(|s| s.revision);
        // Since the last scan (at revision `r`, time `then`): only rows stamped
        // later, or whose stuck or lease condition time alone moved, can have
        // changed what is announced of them.
        let since = match (since, self.quiet) {
            (Some(now), Some(q)) if q.stuck_after_ms == stuck_after_ms && now_ms < q.whole_by => {
                if q.revision == now.revision && now_ms < q.until {
                    return Vec::new();
                }
                for key in now.left {
                    self.seen.remove(key);
                }
                Some((q.revision, q.at, q.whole_by))
            }
            _ => None,
        };
        let all_armed = self.armed || cfg.existing;
        let lead_ms = i64::try_from(cfg.lease_lead.as_millis()).unwrap_or(i64::MAX);
        // A running instance's lease left at `at`; in the warning within `lead_ms`.
        let remaining_at = |t: &Tracked, at: i64| {
            matches!(t.status, Status::Running)
                .then(|| t.lease_remaining_ms(at))
                .flatten()
        };
        let warns = |r: &i64| (0..=lead_ms).contains(r);
        self.scans += 1;
        let scan = self.scans;
        let mut out = Vec::new();
        let whole_by = match since {
            Some((.., whole_by)) => whole_by,
            None => now_ms.saturating_add(WHOLE_SCAN_MS),
        };
        // The first moment time alone changes a condition (see `quiet`).
        let mut until = whole_by;
        for t in instances {
            let problem = t.status.is_problem().then(|| t.status.clone());
            let stuck = t.is_stuck(now_ms, stuck_after_ms);
            if !stuck && let Some(at) = t.stuck_at_ms(stuck_after_ms) {
                until = until.min(at);
            }
            let remaining = remaining_at(t, now_ms);
            if let Some(r) = remaining {
                // Into the warning at `lead_ms` left, out of it past the end.
                let next = if r > lead_ms {
                    r - lead_ms
                } else {
                    r.saturating_add(1)
                };
                if next > 0 {
                    until = until.min(now_ms.saturating_add(next));
                }
            }
            let ending = remaining.filter(warns);
            if let Some((r, then, _)) = since
                && t.stamp <= r
                && t.is_stuck(then, stuck_after_ms) == stuck
                && remaining_at(t, then).filter(warns).is_some() == ending.is_some()
            {
                // As it was at the last scan: what is remembered of it holds.
                continue;
            }
            if problem.is_none() && !stuck && ending.is_none() {
                // Nothing to announce, the common case: not even looked up. What
                // was announced of it is forgotten (a whole scan drops what it
                // did not visit), so a condition that comes back is news again.
                if since.is_some() {
                    self.seen.remove(&t.key);
                }
                continue;
            }
            let c = match self.seen.get_mut(&t.key) {
                Some(c) => c,
                None => self.seen.entry(t.key.clone()).or_default(),
            };
            c.scan = scan;
            let announce = all_armed || self.armed_sources.contains(&t.key.source);
            let source = sources.get(t.key.source.index()).copied().unwrap_or("");
            let alert = |kind| Alert {
                kind,
                time: iso_utc(now_ms),
                source: source.to_string(),
                id: t.key.id().to_string(),
                name: t.name().to_string(),
                status: t.status.as_str().to_string(),
                fail_reason: t.row.fail_reason().map(str::to_string),
                stops_at: None,
            };

            // A problem status, announced on entry (again if it changes to another).
            let new_problem = problem.is_some() && c.problem != problem;
            c.problem = problem;
            if new_problem && announce && cfg.problems {
                out.push(alert(AlertKind::Problem));
            }

            let new_stuck = stuck && !c.stuck;
            c.stuck = stuck;
            if new_stuck && announce && cfg.stuck {
                out.push(alert(AlertKind::Stuck));
            }

            // Extended, stopped or gone: a later approach is news again.
            let new_lease = ending.is_some() && !c.lease;
            c.lease = ending.is_some();
            if let Some(remaining) = ending.filter(|_| new_lease && announce && cfg.lease) {
                let mut a = alert(AlertKind::LeaseEnding);
                a.stops_at = Some(iso_utc(now_ms.saturating_add(remaining)));
                out.push(a);
            }
        }
        // Forget instances no longer listed or with nothing left to announce,
        // so the memory stays bounded (a partial scan does not see who left).
        if since.is_none() {
            self.seen.retain(|_, c| c.scan == scan && c.any());
        }
        self.quiet = revision.map(|revision| Quiet {
            revision,
            stuck_after_ms,
            until,
            at: now_ms,
            whole_by,
        });
        out
    }
}

/// Delivers an alert's desktop notification and hook in the background.
/// Returns whether the caller should ring the terminal bell.
pub fn deliver(alert: &Alert, cfg: &AlertConfig) -> bool {
    tracing::info!(
        kind = ?alert.kind,
        id = %alert.id,
        source = %alert.source,
        "alert: {}",
        alert.summary()
    );
    if cfg.desktop
        && let Some(cmd) = desktop_command(alert)
    {
        spawn_bounded(cmd, None, cfg.hook_timeout, "desktop notification");
    }
    if let Some(hook) = cfg.hook.as_deref().filter(|h| !h.trim().is_empty()) {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c").arg(hook);
        spawn_bounded(cmd, Some(alert.to_json()), cfg.hook_timeout, "alert hook");
    }
    cfg.bell
}

/// The platform's notification command, if it has one on PATH.
fn desktop_command(alert: &Alert) -> Option<tokio::process::Command> {
    let title = format!("nbwatch · {}", alert.source);
    let body = alert.summary();
    if cfg!(target_os = "macos") {
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut cmd = tokio::process::Command::new(on_path("osascript")?);
        cmd.arg("-e").arg(format!(
            "display notification \"{}\" with title \"{}\"",
            quote(&body),
            quote(&title)
        ));
        Some(cmd)
    } else if cfg!(unix) {
        let mut cmd = tokio::process::Command::new(on_path("notify-send")?);
        // `--` so a name starting with '-' is never read as an option.
        cmd.arg("--app-name=nbwatch").arg("--").arg(title).arg(body);
        Some(cmd)
    } else {
        None
    }
}

/// `name` found in a directory of PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Runs `cmd` in the background (stdin `input`, output discarded), killed after
/// `timeout`; a failure is logged, never shown or fatal. Needs a tokio runtime;
/// without one the alert is only logged.
fn spawn_bounded(
    mut cmd: tokio::process::Command,
    input: Option<String>,
    timeout: Duration,
    what: &'static str,
) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("{what} skipped: no runtime");
        return;
    };
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    rt.spawn(async move {
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "{what} could not start");
                return;
            }
        };
        let run = async {
            if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
                use tokio::io::AsyncWriteExt;
                // A hook that does not read its input is its own business.
                let _ = stdin.write_all(text.as_bytes()).await;
                let _ = stdin.write_all(b"\n").await;
            }
            child.wait().await
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => tracing::warn!(%status, "{what} failed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "{what} failed"),
            Err(_) => tracing::warn!(?timeout, "{what} timed out and was killed"),
        }
        // Dropping `child` kills it if it is still running (kill_on_drop).
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::{HOUR, MIN, NOW, lease, nb};
    use crate::track::{InstanceKey, Tracker};
    use crate::watch::{Message, Stats};

    fn tracked(id: &str, status: &str, at: i64) -> Tracked {
        Tracked::of(id, nb(id, &format!("nb-{id}"), status), at, false)
    }

    /// A hot tick at `at`: these instances read, these ids gone.
    fn hot(seen: &[crate::api::model::Notebook], gone: &[&str], at: i64) -> Message {
        Message::Hot {
            seen: vec![(
                at,
                seen.iter()
                    .map(crate::api::model::WireNotebook::of)
                    .collect(),
            )],
            gone: gone.iter().map(|id| (id.to_string(), at)).collect(),
            error: None,
            stats: Stats::default(),
        }
    }

    /// A scan as the notifier makes it: the tracker's revision, and the
    /// instances that left since the last one and are not back.
    fn scan_as_notifier(
        d: &mut Detector,
        t: &mut Tracker,
        at: i64,
        cfg: &AlertConfig,
    ) -> Vec<Alert> {
        let events = t.take_events();
        let left = t.left_of(&events);
        let since = Since {
            revision: t.revision(),
            left: &left,
        };
        d.scan(Some(since), t.instances(), &["p"], at, 10 * MIN, cfg)
    }

    /// A population at revision `n` from which nothing left.
    fn rev(revision: u64) -> Since<'static> {
        Since {
            revision,
            left: &[],
        }
    }

    fn kinds(alerts: &[Alert]) -> Vec<(String, AlertKind)> {
        alerts.iter().map(|a| (a.id.clone(), a.kind)).collect()
    }

    #[test]
    fn what_was_true_at_the_start_is_not_announced_unless_asked() {
        let cfg = AlertConfig::default();
        let all = [tracked("a", "ERROR", NOW), tracked("b", "RUNNING", NOW)];
        let mut d = Detector::new();
        assert!(d.scan(None, &all, &["p"], NOW, 10 * MIN, &cfg).is_empty());
        d.arm();
        assert!(
            d.scan(None, &all, &["p"], NOW, 10 * MIN, &cfg).is_empty(),
            "still the same problem"
        );
        let mut d = Detector::new();
        let asked = AlertConfig {
            existing: true,
            ..cfg
        };
        assert_eq!(
            kinds(&d.scan(None, &all, &["p"], NOW, 10 * MIN, &asked)),
            [("a".to_string(), AlertKind::Problem)]
        );
    }

    #[test]
    fn a_problem_is_announced_once_on_entry_and_again_after_it_clears() {
        let cfg = AlertConfig::default();
        let mut d = Detector::new();
        d.arm();
        let mut a = tracked("a", "RUNNING", NOW);
        assert!(d.scan(None, [&a], &["p"], NOW, 10 * MIN, &cfg).is_empty());
        a.take(nb("a", "nb-a", "ERROR"), NOW + 1000);
        let got = d.scan(None, [&a], &["p"], NOW + 1000, 10 * MIN, &cfg);
        assert_eq!(kinds(&got), [("a".to_string(), AlertKind::Problem)]);
        assert_eq!(got[0].summary(), "nb-a: ERROR");
        assert!(
            d.scan(None, [&a], &["p"], NOW + 2000, 10 * MIN, &cfg)
                .is_empty(),
            "once"
        );
        a.take(nb("a", "nb-a", "FROZEN"), NOW + 3000);
        assert_eq!(
            d.scan(None, [&a], &["p"], NOW + 3000, 10 * MIN, &cfg).len(),
            1,
            "another problem"
        );
        a.take(nb("a", "nb-a", "RUNNING"), NOW + 4000);
        assert!(
            d.scan(None, [&a], &["p"], NOW + 4000, 10 * MIN, &cfg)
                .is_empty()
        );
        a.take(nb("a", "nb-a", "ERROR"), NOW + 5000);
        assert_eq!(
            d.scan(None, [&a], &["p"], NOW + 5000, 10 * MIN, &cfg).len(),
            1,
            "again"
        );
        let off = AlertConfig {
            problems: false,
            ..cfg
        };
        a.take(nb("a", "nb-a", "RUNNING"), NOW + 6000);
        d.scan(None, [&a], &["p"], NOW + 6000, 10 * MIN, &off);
        a.take(nb("a", "nb-a", "ERROR"), NOW + 7000);
        assert!(
            d.scan(None, [&a], &["p"], NOW + 7000, 10 * MIN, &off)
                .is_empty(),
            "kind off"
        );
    }

    #[test]
    fn stuck_is_announced_when_the_threshold_passes() {
        let cfg = AlertConfig::default();
        let mut d = Detector::new();
        d.arm();
        let mut a = tracked("a", "RUNNING", NOW);
        a.take(nb("a", "nb-a", "STARTING"), NOW);
        assert!(
            d.scan(None, [&a], &["p"], NOW + 9 * MIN, 10 * MIN, &cfg)
                .is_empty()
        );
        let got = d.scan(None, [&a], &["p"], NOW + 11 * MIN, 10 * MIN, &cfg);
        assert_eq!(kinds(&got), [("a".to_string(), AlertKind::Stuck)]);
        assert_eq!(got[0].summary(), "nb-a: stuck in STARTING");
        assert!(
            d.scan(None, [&a], &["p"], NOW + 12 * MIN, 10 * MIN, &cfg)
                .is_empty()
        );
    }

    #[test]
    fn a_lease_within_the_lead_is_announced_once_and_again_after_an_extension() {
        let cfg = AlertConfig::default(); // 10 min lead
        let mut d = Detector::new();
        d.arm();
        let mut n = nb("a", "nb-a", "RUNNING");
        n.lease = Some(lease(30 * MIN));
        let a = Tracked::of("a", n.clone(), NOW, false);
        assert!(
            d.scan(None, [&a], &["p"], NOW, 10 * MIN, &cfg).is_empty(),
            "30 min left"
        );
        let got = d.scan(None, [&a], &["p"], NOW + 21 * MIN, 10 * MIN, &cfg);
        assert_eq!(kinds(&got), [("a".to_string(), AlertKind::LeaseEnding)]);
        assert_eq!(
            got[0].stops_at.as_deref(),
            Some(iso_utc(NOW + 30 * MIN).as_str())
        );
        assert!(
            d.scan(None, [&a], &["p"], NOW + 22 * MIN, 10 * MIN, &cfg)
                .is_empty()
        );
        // Extended by an hour: quiet, and news again when the new end nears.
        n.lease = Some(lease(HOUR + 22 * MIN));
        let a = Tracked::of("a", n, NOW + 22 * MIN, false);
        assert!(
            d.scan(None, [&a], &["p"], NOW + 23 * MIN, 10 * MIN, &cfg)
                .is_empty()
        );
        assert_eq!(
            d.scan(None, [&a], &["p"], NOW + HOUR + 20 * MIN, 10 * MIN, &cfg)
                .len(),
            1
        );
    }

    proptest::proptest! {
        /// Skipping a scan at an unchanged revision never loses or delays an
        /// alert that comes with time alone (stuck, a lease entering or leaving
        /// its warning): a detector that skips and one that always scans say
        /// the same thing at every moment, wherever the thresholds fall.
        #[test]
        fn skipping_unchanged_scans_loses_no_alert_that_comes_with_time(
            since in 0i64..30 * MIN,
            leases in proptest::collection::vec(1i64..90 * MIN, 1..4),
            steps in proptest::collection::vec(1i64..7 * MIN, 1..40),
        ) {
            let cfg = AlertConfig::default();
            let mut all = vec![
                tracked("stuck", "RUNNING", NOW),
                tracked("err", "ERROR", NOW),
            ];
            all[0].take(nb("stuck", "nb-stuck", "STARTING"), NOW - since);
            for (i, l) in leases.iter().enumerate() {
                let mut n = nb(&format!("l{i}"), &format!("nb-l{i}"), "RUNNING");
                n.lease = Some(lease(*l));
                all.push(Tracked::of(&format!("l{i}"), n, NOW, false));
            }
            let (mut every, mut skipping) = (Detector::new(), Detector::new());
            every.arm();
            skipping.arm();
            let mut now = NOW;
            for step in steps {
                let a = every.scan(None, &all, &["p"], now, 10 * MIN, &cfg);
                let b = skipping.scan(Some(rev(7)), &all, &["p"], now, 10 * MIN, &cfg);
                proptest::prop_assert_eq!(kinds(&a), kinds(&b), "at +{} ms", now - NOW);
                now += step;
            }
            proptest::prop_assert!(skipping.scans <= every.scans);
        }
    }

    /// What happens to the population between two scans.
    #[derive(Debug, Clone)]
    enum Op {
        /// Instance `n` read with a status (and, running, a lease with this
        /// much left); it joins if it was not there.
        Read(usize, &'static str, i64),
        /// Instance `n` deleted.
        Gone(usize),
        /// Its lease extended by an hour.
        Extend(usize),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let status = prop_oneof![
            Just("RUNNING"),
            Just("ERROR"),
            Just("STARTING"),
            Just("STOPPED"),
            Just("CREATE_FAILED"),
        ];
        prop_oneof![
            3 => (0usize..6, status, 1i64..40 * MIN).prop_map(|(n, s, l)| Op::Read(n, s, l)),
            1 => (0usize..6).prop_map(Op::Gone),
            1 => (0usize..6).prop_map(Op::Extend),
        ]
    }

    proptest::proptest! {
        /// A detector that reads only what changed since its last scan (the
        /// tracker's stamps) says what one that reads everything says, at
        /// every moment, however instances change, leave and come back.
        #[test]
        fn reading_only_what_changed_loses_and_invents_no_alert(
            steps in proptest::collection::vec(
                (proptest::collection::vec(op(), 0..3), 1i64..4 * MIN), 1..40),
        ) {
            let cfg = AlertConfig::default();
            let mut t = Tracker::new(Duration::from_secs(10), 0);
            t.take_events();
            let src = SourceId(0);
            let (mut every, mut partial) = (Detector::new(), Detector::new());
            every.arm();
            partial.arm();
            let mut now = NOW;
            for (ops, step) in steps {
                for op in ops {
                    match op {
                        Op::Read(n, status, left) => {
                            let id = format!("i{n}");
                            let mut b = nb(&id, &format!("nb-{id}"), status);
                            b.update_at = Some(now);
                            b.lease = Some(lease(left + (now - NOW)));
                            t.apply(src, hot(&[b], &[], now), now);
                        }
                        Op::Gone(n) => {
                            t.apply(src, hot(&[], &[&format!("i{n}")], now), now);
                        }
                        Op::Extend(n) => {
                            let key = InstanceKey::new(src, &format!("i{n}"));
                            if let Some(l) = t.get(&key).and_then(|x| x.row.lease.clone()) {
                                let mut l = l;
                                l.duration = l.duration.map(|d| d + HOUR);
                                t.take_lease(&key, l, now);
                            }
                        }
                    }
                }
                let a = every.scan(None, t.instances(), &["p"], now, 10 * MIN, &cfg);
                let b = scan_as_notifier(&mut partial, &mut t, now, &cfg);
                proptest::prop_assert_eq!(kinds(&a), kinds(&b), "at +{} ms", now - NOW);
                now += step;
            }
        }
    }

    #[test]
    fn an_instance_back_before_the_next_scan_is_not_news_again_nor_one_that_left() {
        let cfg = AlertConfig::default();
        let mut t = Tracker::new(Duration::from_secs(10), 0);
        t.take_events();
        let mut d = Detector::new();
        d.arm();
        let mut scan = |t: &mut Tracker, at: i64| kinds(&scan_as_notifier(&mut d, t, at, &cfg));
        let src = SourceId(0);
        let (a, b) = (nb("a", "nb-a", "ERROR"), nb("b", "nb-b", "ERROR"));
        t.apply(src, hot(&[a.clone(), b.clone()], &[], NOW), NOW);
        assert_eq!(scan(&mut t, NOW).len(), 2);
        // `a` leaves and is back, `b` leaves, in one batch.
        let at = NOW + 1000;
        t.apply_all(
            [(src, hot(&[], &["a", "b"], at)), (src, hot(&[a], &[], at))],
            at,
        );
        assert_eq!(scan(&mut t, at), [], "a whole scan would not see `a` leave");
        // `b` comes back later: its failure is news again, as it is to a whole scan.
        let at = NOW + 2000;
        t.apply(src, hot(&[b], &[], at), at);
        assert_eq!(scan(&mut t, at), [("b".to_string(), AlertKind::Problem)]);
    }

    #[test]
    fn a_new_revision_is_scanned_and_the_same_one_is_not_until_time_says() {
        let cfg = AlertConfig::default();
        let mut d = Detector::new();
        d.arm();
        let mut a = tracked("a", "RUNNING", NOW);
        assert!(
            d.scan(Some(rev(1)), [&a], &["p"], NOW, 10 * MIN, &cfg)
                .is_empty()
        );
        assert!(
            d.scan(Some(rev(1)), [&a], &["p"], NOW + 1000, 10 * MIN, &cfg)
                .is_empty()
        );
        assert_eq!(d.scans, 1, "nothing changed, nothing can come with time");
        a.take(nb("a", "nb-a", "ERROR"), NOW + 2000);
        // As the tracker stamps a row whose record it takes.
        a.stamp = 2;
        let got = d.scan(Some(rev(2)), [&a], &["p"], NOW + 2000, 10 * MIN, &cfg);
        assert_eq!(kinds(&got), [("a".to_string(), AlertKind::Problem)]);
        // The stuck threshold changed: scanned again.
        d.scan(Some(rev(2)), [&a], &["p"], NOW + 3000, 5 * MIN, &cfg);
        assert_eq!(d.scans, 3);
    }

    #[test]
    fn the_hook_gets_one_json_object_without_secrets() {
        let mut n = nb("a", "nb-a", "ERROR");
        n.fail_reason = Some("OOM".into());
        n.token = Some("notebook-token-must-not-leak".into());
        let a = Tracked::of("a", n, NOW, false);
        let mut d = Detector::new();
        let got = d.scan(
            None,
            [&a],
            &["prod"],
            NOW,
            10 * MIN,
            &AlertConfig {
                existing: true,
                ..AlertConfig::default()
            },
        );
        let json = got[0].to_json();
        assert!(json.starts_with(r#"{"kind":"problem","time":""#), "{json}");
        assert!(
            json.contains(
                r#""source":"prod","id":"a","name":"nb-a","status":"ERROR","fail_reason":"OOM""#
            ),
            "{json}"
        );
        assert!(!json.contains("notebook-token"), "{json}");
        assert!(!json.contains('\n'));
    }

    #[tokio::test]
    async fn the_hook_runs_in_the_background_and_a_hanging_one_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got.json");
        let alert = Alert {
            kind: AlertKind::Problem,
            time: iso_utc(NOW),
            source: "p".into(),
            id: "a".into(),
            name: "nb-a".into(),
            status: "ERROR".into(),
            fail_reason: None,
            stops_at: None,
        };
        let cfg = AlertConfig {
            desktop: false,
            bell: false,
            hook: Some(format!("cat > '{}'", out.display())),
            ..AlertConfig::default()
        };
        assert!(!deliver(&alert, &cfg), "no bell when it is off");
        // Wait for the file, not a fixed time.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&out).map_or(true, |s| !s.ends_with('\n')) {
            assert!(std::time::Instant::now() < deadline, "the hook never ran");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            format!("{}\n", alert.to_json())
        );

        // A hook that hangs does not hold up the caller, and is killed at its timeout.
        let marker = dir.path().join("late");
        let hanging = AlertConfig {
            hook: Some(format!("sleep 30; touch '{}'", marker.display())),
            hook_timeout: Duration::from_millis(200),
            ..cfg
        };
        let t = std::time::Instant::now();
        deliver(&alert, &hanging);
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "deliver returns at once"
        );
        assert!(!marker.exists());
    }
}
