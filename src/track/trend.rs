//! Counts per status group over time, for the trends view: one sample per
//! listing this session, and, when a journal is given, the journal's span
//! rebuilt backwards from the first listing.

use std::collections::{HashMap, VecDeque};

use super::key::{InstanceKey, SourceId};
use crate::api::model::Status;
use crate::journal::{Entry, Kind};

/// Samples kept: a day of listings every 10 s, or a week at one a minute.
pub const MAX_SAMPLES: usize = 10_080;

/// The four groups a glance needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    Running,
    /// Creating, starting, stopping, deleting, snapshotting, and unknown statuses.
    Moving,
    Stopped,
    /// Failed, error, frozen.
    Problems,
}

impl Group {
    pub const ALL: [Group; 4] = [
        Group::Running,
        Group::Moving,
        Group::Stopped,
        Group::Problems,
    ];

    pub fn of(s: &Status) -> Group {
        match s {
            Status::Running => Group::Running,
            Status::Stopped | Status::Deleted => Group::Stopped,
            s if s.is_problem() => Group::Problems,
            _ => Group::Moving,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Group::Running => "running",
            Group::Moving => "moving",
            Group::Stopped => "stopped",
            Group::Problems => "problems",
        }
    }

    /// A status of the group, to colour it as the table colours that status.
    pub fn example(self) -> Status {
        match self {
            Group::Running => Status::Running,
            Group::Moving => Status::Starting,
            Group::Stopped => Status::Stopped,
            Group::Problems => Status::Error,
        }
    }
}

/// How many instances were in each group at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample {
    pub at_ms: i64,
    /// In the order of [`Group::ALL`].
    pub counts: [u32; 4],
}

impl Sample {
    pub fn of<'a>(at_ms: i64, statuses: impl IntoIterator<Item = &'a Status>) -> Sample {
        let mut counts = [0u32; 4];
        for s in statuses {
            counts[Group::of(s) as usize] += 1;
        }
        Sample { at_ms, counts }
    }

    pub fn get(&self, g: Group) -> u32 {
        self.counts[g as usize]
    }
}

/// The series the trends view draws, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Trend {
    samples: VecDeque<Sample>,
    /// Journal entries (of the sources watched, each with its instance's key)
    /// waiting for the first listing to be rebuilt from.
    pending_journal: Option<Vec<(InstanceKey, Entry)>>,
}

impl Trend {
    /// The journal's entries of the sources named `sources` (in poller
    /// order; an entry names its source), to rebuild the past from once the
    /// first listing is in. Entries of other sources are left out.
    pub fn with_journal(mut self, entries: Vec<Entry>, sources: &[String]) -> Trend {
        let keyed = entries
            .into_iter()
            .filter_map(|e| {
                let n = sources.iter().position(|s| *s == e.source)?;
                Some((InstanceKey::new(SourceId::nth(n), &e.id), e))
            })
            .collect();
        self.pending_journal = Some(keyed);
        self
    }

    /// A listing at `at_ms`: each instance's id and status.
    pub fn record<'a>(
        &mut self,
        at_ms: i64,
        population: impl IntoIterator<Item = (&'a InstanceKey, &'a Status)>,
    ) {
        match self.pending_journal.take() {
            Some(entries) => {
                let population: Vec<(&InstanceKey, &Status)> = population.into_iter().collect();
                for s in rebuild(&entries, at_ms, &population) {
                    self.push(s);
                }
                self.push(Sample::of(at_ms, population.iter().map(|(_, s)| *s)));
            }
            None => self.push(Sample::of(at_ms, population.into_iter().map(|(_, s)| s))),
        }
    }

    fn push(&mut self, s: Sample) {
        // Same counts as the last sample but one: keep the ends, drop the middle,
        // so a quiet night does not crowd out the day.
        let n = self.samples.len();
        if n >= 2
            && self.samples[n - 1].counts == s.counts
            && self.samples[n - 2].counts == s.counts
        {
            self.samples[n - 1] = s;
            return;
        }
        if n == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
    }

    pub fn samples(&self) -> &VecDeque<Sample> {
        &self.samples
    }
}

/// The counts over the journal's span, from its entries and the population at
/// `now_ms`: each entry before `now_ms` is undone, newest first (a change goes
/// back to its `from`, an appearance is removed, a departure comes back), and
/// the counts are taken just before each one.
fn rebuild(
    entries: &[(InstanceKey, Entry)],
    now_ms: i64,
    population: &[(&InstanceKey, &Status)],
) -> Vec<Sample> {
    let mut state: HashMap<InstanceKey, Status> = population
        .iter()
        .map(|(k, s)| ((*k).clone(), (*s).clone()))
        .collect();
    let mut past: Vec<&(InstanceKey, Entry)> = entries
        .iter()
        .filter(|(_, e)| e.at_ms().is_some_and(|t| t <= now_ms))
        .collect();
    past.sort_by_key(|(_, e)| e.at_ms());
    let mut out = Vec::with_capacity(past.len());
    for (key, e) in past.into_iter().rev() {
        let key = key.clone();
        let status = |v: &Option<String>| v.as_deref().map(Status::parse);
        match e.kind {
            Kind::Changed | Kind::Gone => match status(&e.from) {
                Some(from) => {
                    state.insert(key, from);
                }
                None => continue,
            },
            Kind::Appeared => {
                state.remove(&key);
            }
            Kind::Stuck | Kind::LeaseWarning => continue,
        }
        let at = e.at_ms().unwrap_or(now_ms);
        out.push(Sample::of(at.saturating_sub(1), state.values()));
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_854_600_000;

    fn k(id: &str) -> InstanceKey {
        InstanceKey::new(SourceId(0), id)
    }

    fn e(at: i64, id: &str, kind: Kind, from: Option<&str>, to: Option<&str>) -> Entry {
        let mut e = Entry::new(at, "", id, id, kind);
        e.from = from.map(String::from);
        e.to = to.map(String::from);
        e
    }

    #[test]
    fn statuses_fall_into_four_groups() {
        let s = Sample::of(
            T0,
            &[
                Status::Running,
                Status::Starting,
                Status::Creating,
                Status::Stopped,
                Status::Error,
                Status::Frozen,
                Status::parse("NEW_THING"),
            ],
        );
        assert_eq!(s.counts, [1, 3, 1, 2]);
    }

    #[test]
    fn the_journal_is_undone_backwards_from_the_first_listing() {
        // 08:30 a RUNNING, b STOPPED. 08:40 b starts; 08:50 c appears; 09:00 a fails.
        let journal = vec![
            e(
                T0 + 10 * 60_000,
                "b",
                Kind::Changed,
                Some("STOPPED"),
                Some("STARTING"),
            ),
            e(
                T0 + 11 * 60_000,
                "b",
                Kind::Changed,
                Some("STARTING"),
                Some("RUNNING"),
            ),
            e(
                T0 + 20 * 60_000,
                "c",
                Kind::Appeared,
                None,
                Some("CREATING"),
            ),
            e(
                T0 + 30 * 60_000,
                "a",
                Kind::Changed,
                Some("RUNNING"),
                Some("ERROR"),
            ),
            e(T0 + 31 * 60_000, "a", Kind::Stuck, None, Some("ERROR")),
        ];
        let mut t = Trend::default().with_journal(journal, &[String::new()]);
        let now = T0 + 40 * 60_000;
        let a = Status::Error;
        let b = Status::Running;
        let c = Status::Creating;
        t.record(now, [(&k("a"), &a), (&k("b"), &b), (&k("c"), &c)]);
        let got: Vec<[u32; 4]> = t.samples().iter().map(|s| s.counts).collect();
        assert_eq!(
            got,
            [
                [1, 0, 1, 0], // before b started: a running, b stopped
                [1, 1, 0, 0], // b starting
                [2, 0, 0, 0], // before c appeared
                [2, 1, 0, 0], // c creating, before a failed
                [1, 1, 0, 1], // now
            ]
        );
        assert!(
            t.samples()
                .iter()
                .zip(t.samples().iter().skip(1))
                .all(|(x, y)| x.at_ms <= y.at_ms)
        );
    }

    #[test]
    fn quiet_stretches_keep_their_ends_only() {
        let mut t = Trend::default();
        let r = Status::Running;
        for i in 0..100 {
            t.record(T0 + i * 10_000, [(&k("a"), &r)]);
        }
        let s = Status::Stopped;
        t.record(T0 + 1_000_000, [(&k("a"), &s)]);
        let at: Vec<i64> = t.samples().iter().map(|s| s.at_ms - T0).collect();
        assert_eq!(at, [0, 990_000, 1_000_000]);
    }
}
