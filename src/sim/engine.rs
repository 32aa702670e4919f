//! The lifecycle engine: a population of instances and a schedule of their next
//! transitions. It is advanced lazily to "now" (on each request) by popping due
//! events from a heap, so the cost is proportional to what happened, not to the
//! population size or the time elapsed. Events are processed in time order with
//! one seeded generator, so the state at any instant depends only on the seed and
//! the start time, not on how often the engine was advanced.
//!
//! This file is the state machine (scheduling, transitions, the churn and
//! drift primitives); what users do to instances is in `engine/user.rs`, the
//! demo's script in `engine/script.rs`, the tests in `engine/tests.rs`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::catalog;
use super::instance::{self, Instance, Plan, State, Step};
use super::journal::{GroundTruth, Journal};
use super::rng::Rng;

mod script;
mod user;

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

/// Heap key of the "a new instance appears" event.
const ARRIVAL: u32 = u32::MAX;
/// Heap key of the demo script's appearing instance.
const SCRIPTED_ARRIVAL: u32 = u32::MAX - 1;

/// Initial status mix after the guaranteed one-of-each (weights per 10,000, in
/// the order of [`State::ALL`]). A population starts as it would be found: the
/// transitional statuses and DELETED hold the share the lifecycle below
/// sustains (about 1 %, measured over two simulated hours at 10,000), not a
/// start-up burst of instances all in transition at once that drains in two
/// minutes (11 % before, which made the first minutes of every live run a
/// burst of ~8 changes a second).
const STATUS_WEIGHTS: [u64; 14] = [
    2,    // INIT
    25,   // CREATING
    30,   // STARTING
    12,   // STOPPING
    5,    // DELETING
    5100, // RUNNING
    3600, // STOPPED
    5,    // SNAPSHOTTING
    300,  // CREATE_FAILED
    200,  // START_FAILED
    100,  // DELETE_FAILED
    200,  // ERROR
    25,   // DELETED
    200,  // FROZEN
];

#[derive(Debug)]
pub struct Engine {
    instances: BTreeMap<u32, Instance>,
    /// (due time, insertion sequence, serial, generation)
    heap: BinaryHeap<Reverse<(i64, u64, u32, u32)>>,
    seq: u64,
    next_serial: u32,
    rng: Rng,
    /// Separate stream for fault-driven changes, so faults do not perturb the script.
    drift_rng: Rng,
    drift_adds: bool,
    now: i64,
    target: usize,
    transitions: BTreeMap<(State, State), u64>,
    /// Every transition and removal with its time: the ground truth.
    journal: Journal,
}

impl Engine {
    /// A population of `n` instances living at `now`, deterministic for `seed`.
    /// `lively` adds the demo script (see [`Engine::add_script`]).
    pub fn new(seed: u64, n: usize, now: i64, lively: bool) -> Engine {
        let mut e = Engine {
            instances: BTreeMap::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            next_serial: 0,
            rng: Rng::derive(seed, 1),
            drift_rng: Rng::derive(seed, 2),
            drift_adds: true,
            now,
            target: n.max(1),
            transitions: BTreeMap::new(),
            journal: Journal::new(now),
        };
        let mut pop = Rng::derive(seed, 0);
        for i in 0..n {
            let serial = e.alloc_serial();
            let codelab = i == 0;
            let mut inst = instance::draw(&mut pop, serial, now, codelab);
            let state = if codelab {
                if pop.chance(70) {
                    State::Running
                } else {
                    State::Stopped
                }
            } else if n > State::ALL.len() && i <= State::ALL.len() {
                // One of each status first, so every status is on screen.
                State::ALL[i - 1]
            } else {
                State::ALL[pop.weighted(&STATUS_WEIGHTS)]
            };
            instance::age_into(&mut inst, &mut pop, state, now);
            e.insert_and_plan(inst, now, &mut pop);
        }
        if lively {
            e.add_script(now);
        }
        let first = now + e.arrival_gap();
        e.push(first, ARRIVAL, 0);
        e
    }

    fn alloc_serial(&mut self) -> u32 {
        let s = self.next_serial;
        self.next_serial = self.next_serial.saturating_add(1).min(SCRIPTED_ARRIVAL - 1);
        s
    }

    /// Mean gap between arrivals: the population turns over in a few hours.
    fn arrival_gap(&mut self) -> i64 {
        let mean = (4 * HOUR / self.target as i64).clamp(2 * SEC, 20 * MIN);
        self.rng.range(mean / 2, mean * 3 / 2)
    }

    fn push(&mut self, at: i64, serial: u32, generation: u32) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, serial, generation)));
    }

    /// Replaces the pending event of an instance.
    fn schedule(&mut self, serial: u32, at: i64) {
        let generation = match self.instances.get_mut(&serial) {
            Some(i) => {
                i.generation = i.generation.wrapping_add(1);
                i.generation
            }
            None => return,
        };
        self.push(at, serial, generation);
    }

    /// Inserts an instance already in its status and schedules its next event
    /// as if it had been in that status for a while.
    fn insert_and_plan(&mut self, inst: Instance, now: i64, rng: &mut Rng) {
        let serial = inst.serial;
        let state = inst.state;
        self.instances.insert(serial, inst);
        let at = match state {
            State::Running => return self.plan_running(serial, now, rng_split(rng)),
            State::Stopped => now + rng.range(MIN, 30 * MIN),
            State::Init => now + rng.range(SEC, 8 * SEC),
            State::Creating => now + rng.range(2 * SEC, 20 * SEC),
            State::Starting => now + rng.range(3 * SEC, 30 * SEC),
            State::Stopping | State::Deleting => now + rng.range(2 * SEC, 15 * SEC),
            State::Snapshotting => now + rng.range(10 * SEC, 90 * SEC),
            State::Deleted => now + rng.range(20 * SEC, 90 * SEC),
            State::CreateFailed | State::StartFailed | State::Error | State::DeleteFailed => {
                now + rng.range(2 * MIN, 40 * MIN)
            }
            State::Frozen => now + rng.range(HOUR, 6 * HOUR),
        };
        self.schedule(serial, at);
    }

    /// Picks what a RUNNING instance does next and when (its lease end, unless
    /// something else comes first).
    fn plan_running(&mut self, serial: u32, now: i64, mut rng: Rng) {
        let Some(inst) = self.instances.get_mut(&serial) else {
            return;
        };
        let lease_end = inst.lease.end();
        let (plan, after) = if inst.fast || inst.codelab {
            (Plan::Nothing, 0)
        } else {
            match rng.weighted(&[12, 18, 2, 68]) {
                0 => (Plan::Snapshot, rng.range(5 * MIN, 3 * HOUR)),
                1 => (Plan::UserStop, rng.range(10 * MIN, 6 * HOUR)),
                2 => (Plan::Fail, rng.range(10 * MIN, 12 * HOUR)),
                _ => (Plan::Nothing, 0),
            }
        };
        // Without a lease something must end the run eventually.
        let (plan, after) = match (plan, lease_end) {
            (Plan::Nothing, None) => (Plan::UserStop, rng.range(HOUR, 12 * HOUR)),
            (plan, _) => (plan, after),
        };
        inst.plan = plan;
        let planned = (plan != Plan::Nothing).then(|| now + after);
        let at = match (planned, lease_end) {
            (Some(p), Some(l)) => p.min(l),
            (Some(p), None) => p,
            (None, Some(l)) => l,
            (None, None) => now + HOUR,
        };
        self.schedule(serial, at.max(now));
    }

    /// The simulated time the engine has caught up to.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Catches up with every event due at or before `t`.
    pub fn advance_to(&mut self, t: i64) {
        while let Some(Reverse((at, _, serial, generation))) = self.heap.peek().copied() {
            if at > t {
                break;
            }
            self.heap.pop();
            if serial == ARRIVAL {
                self.arrive(at);
                continue;
            }
            if serial == SCRIPTED_ARRIVAL {
                self.scripted_arrival(at);
                continue;
            }
            let current = self
                .instances
                .get(&serial)
                .is_some_and(|i| i.generation == generation);
            if current {
                self.fire(serial, at);
            }
        }
        self.now = self.now.max(t);
    }

    fn arrive(&mut self, at: i64) {
        if self.instances.len() < self.target + self.target / 4 + 1 {
            self.create_at(at, None);
        }
        let next = at + self.arrival_gap();
        self.push(next, ARRIVAL, 0);
    }

    /// A new instance appears in INIT at `at`. Uses the drift stream when given.
    fn create_at(&mut self, at: i64, drift: Option<()>) -> u32 {
        let rng = if drift.is_some() {
            rng_split(&mut self.drift_rng)
        } else {
            rng_split(&mut self.rng)
        };
        self.create_from(at, rng)
    }

    /// A new instance appears in INIT at `at`, drawn from `rng`.
    fn create_from(&mut self, at: i64, mut rng: Rng) -> u32 {
        let serial = self.alloc_serial();
        let mut inst = instance::draw(&mut rng, serial, at, false);
        if rng.chance(8) {
            inst.fail_step = Some(rng.below(4) as u8);
        }
        self.journal.created(&inst, at);
        self.instances.insert(serial, inst);
        let first = at + rng.range(SEC, 6 * SEC);
        self.schedule(serial, first);
        serial
    }

    fn transition(&mut self, serial: u32, to: State, at: i64) {
        if let Some(inst) = self.instances.get_mut(&serial) {
            let from = inst.state;
            inst.state = to;
            inst.update_at = at;
            *self.transitions.entry((from, to)).or_insert(0) += 1;
            self.journal.changed(inst, from, to, at);
        }
    }

    fn fire(&mut self, serial: u32, at: i64) {
        let Some(inst) = self.instances.get(&serial) else {
            return;
        };
        let (state, fast, codelab, fail_step) =
            (inst.state, inst.fast, inst.codelab, inst.fail_step);
        let mut rng = rng_split(&mut self.rng);
        let step_gap = |rng: &mut Rng, k: usize| {
            if fast {
                rng.range(3 * SEC, 4 * SEC)
            } else if k == 1 {
                rng.range(10 * SEC, 40 * SEC)
            } else {
                rng.range(4 * SEC, 15 * SEC)
            }
        };
        match state {
            State::Init => {
                self.transition(serial, State::Creating, at);
                self.set_step(serial, 0, Step::Processing);
                let gap = step_gap(&mut rng, 0);
                self.schedule(serial, at + gap);
            }
            State::Creating => {
                let k = self
                    .instances
                    .get(&serial)
                    .and_then(|i| i.steps.iter().position(|s| *s == Step::Processing))
                    .unwrap_or(0);
                if fail_step == Some(k as u8) && !fast {
                    let reason = catalog::CREATE_FAILURES
                        .iter()
                        .find(|(s, _)| *s == k + 1)
                        .map(|(_, r)| *r)
                        .unwrap_or("Instance creation failed.");
                    self.transition(serial, State::CreateFailed, at);
                    if let Some(i) = self.instances.get_mut(&serial) {
                        instance::fail_creation(i, k, reason);
                    }
                    self.schedule(serial, at + rng.range(5 * MIN, 40 * MIN));
                } else if k < 3 {
                    self.set_step(serial, k, Step::Completed);
                    self.set_step(serial, k + 1, Step::Processing);
                    if let Some(i) = self.instances.get_mut(&serial) {
                        i.update_at = at;
                    }
                    let gap = step_gap(&mut rng, k + 1);
                    self.schedule(serial, at + gap);
                } else {
                    self.set_step(serial, 3, Step::Completed);
                    self.transition(serial, State::Starting, at);
                    let gap = if fast {
                        rng.range(4 * SEC, 5 * SEC)
                    } else {
                        rng.range(5 * SEC, 30 * SEC)
                    };
                    self.schedule(serial, at + gap);
                }
            }
            State::Starting => {
                let doomed = fail_step == Some(Self::START_FAILS);
                if doomed || (!fast && !codelab && rng.chance(5)) {
                    self.transition(serial, State::StartFailed, at);
                    if let Some(i) = self.instances.get_mut(&serial) {
                        i.steps = [Step::Completed, Step::Failed, Step::Waiting, Step::Waiting];
                        i.fail_reason =
                            Some(catalog::START_FAILURES[rng.index(catalog::START_FAILURES.len())]);
                    }
                    self.schedule(serial, at + rng.range(MIN, 10 * MIN));
                } else {
                    self.transition(serial, State::Running, at);
                    if let Some(i) = self.instances.get_mut(&serial) {
                        i.steps = [Step::Completed; 4];
                        i.fail_reason = None;
                        // Starting renews the lease.
                        i.lease.create_at = at;
                        i.lease.update_at = at;
                    }
                    self.plan_running(serial, at, rng);
                }
            }
            State::Running => {
                let (lease_end, plan) = match self.instances.get(&serial) {
                    Some(i) => (i.lease.end(), i.plan),
                    None => return,
                };
                if lease_end.is_some_and(|end| at >= end) || plan == Plan::UserStop {
                    self.transition(serial, State::Stopping, at);
                    self.schedule(serial, at + rng.range(5 * SEC, 20 * SEC));
                } else if plan == Plan::Snapshot {
                    self.transition(serial, State::Snapshotting, at);
                    self.schedule(serial, at + rng.range(20 * SEC, 2 * MIN));
                } else if plan == Plan::Fail {
                    self.transition(serial, State::Error, at);
                    if let Some(i) = self.instances.get_mut(&serial) {
                        i.fail_reason =
                            Some(catalog::ERROR_REASONS[rng.index(catalog::ERROR_REASONS.len())]);
                    }
                    self.schedule(serial, at + rng.range(5 * MIN, 40 * MIN));
                } else {
                    self.plan_running(serial, at, rng);
                }
            }
            State::Snapshotting => {
                self.transition(serial, State::Running, at);
                if let Some(i) = self.instances.get_mut(&serial) {
                    i.plan = Plan::Nothing;
                }
                self.plan_running(serial, at, rng);
            }
            State::Stopping => {
                self.transition(serial, State::Stopped, at);
                self.schedule(serial, at + rng.range(MIN, 20 * MIN));
            }
            // Instances a user acted on (and the demo's) stay stopped until told.
            State::Stopped if fast => self.schedule(serial, at + 6 * HOUR),
            State::Stopped => match rng.weighted(&[35, 10, 55]) {
                0 => {
                    self.transition(serial, State::Starting, at);
                    self.schedule(serial, at + rng.range(5 * SEC, 30 * SEC));
                }
                1 if !codelab => {
                    self.transition(serial, State::Deleting, at);
                    self.schedule(serial, at + rng.range(5 * SEC, 20 * SEC));
                }
                _ => self.schedule(serial, at + rng.range(5 * MIN, HOUR)),
            },
            State::Deleting => {
                if !fast && rng.chance(3) {
                    self.transition(serial, State::DeleteFailed, at);
                    if let Some(i) = self.instances.get_mut(&serial) {
                        i.fail_reason =
                            Some("Failed to release the EVS volume. Retry the deletion.");
                    }
                    self.schedule(serial, at + rng.range(2 * MIN, 10 * MIN));
                } else {
                    self.transition(serial, State::Deleted, at);
                    self.schedule(serial, at + rng.range(30 * SEC, 2 * MIN));
                }
            }
            State::DeleteFailed => {
                self.transition(serial, State::Deleting, at);
                self.schedule(serial, at + rng.range(5 * SEC, 20 * SEC));
            }
            State::Deleted => {
                if let Some(gone) = self.instances.remove(&serial) {
                    self.journal.removed(&gone, at);
                }
                *self
                    .transitions
                    .entry((State::Deleted, State::Deleted))
                    .or_insert(0) += 1;
            }
            State::CreateFailed => {
                // The owner cleans up half of the failures; the rest linger.
                if rng.chance(50) {
                    self.transition(serial, State::Deleting, at);
                    self.schedule(serial, at + rng.range(5 * SEC, 20 * SEC));
                }
            }
            State::StartFailed => match rng.weighted(&[50, 25, 25]) {
                0 => {
                    self.transition(serial, State::Starting, at);
                    self.schedule(serial, at + rng.range(5 * SEC, 30 * SEC));
                }
                1 => {
                    self.transition(serial, State::Deleting, at);
                    self.schedule(serial, at + rng.range(5 * SEC, 20 * SEC));
                }
                _ => {}
            },
            State::Error => {
                if rng.chance(40) {
                    self.transition(serial, State::Stopping, at);
                    self.schedule(serial, at + rng.range(5 * SEC, 20 * SEC));
                }
            }
            State::Frozen => {
                if rng.chance(20) {
                    self.transition(serial, State::Stopped, at);
                    if let Some(i) = self.instances.get_mut(&serial) {
                        i.fail_reason = None;
                    }
                    self.schedule(serial, at + rng.range(10 * MIN, HOUR));
                }
            }
        }
    }

    /// Inserts a scripted instance, possibly over an existing one: the
    /// generation carries on so the old instance's pending event is ignored.
    fn replace(&mut self, mut inst: Instance) {
        if let Some(old) = self.instances.get(&inst.serial) {
            inst.generation = old.generation.wrapping_add(1);
        }
        self.instances.insert(inst.serial, inst);
    }

    fn set_step(&mut self, serial: u32, k: usize, s: Step) {
        if let Some(step) = self
            .instances
            .get_mut(&serial)
            .and_then(|i| i.steps.get_mut(k))
        {
            *step = s;
        }
    }

    pub fn len(&self) -> usize {
        self.instances.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.values()
    }

    /// How many times each transition happened (DELETED→DELETED counts removals).
    pub fn transitions(&self) -> &BTreeMap<(State, State), u64> {
        &self.transitions
    }

    /// What happened between `from_ms` and `to_ms` (call after advancing past `to_ms`).
    pub fn ground_truth(&self, from_ms: i64, to_ms: i64) -> GroundTruth {
        self.journal.window(self.instances.values(), from_ms, to_ms)
    }

    pub fn count_by_state(&self) -> BTreeMap<State, usize> {
        let mut m = BTreeMap::new();
        for i in self.instances.values() {
            *m.entry(i.state).or_insert(0) += 1;
        }
        m
    }

    /// One step of `total` drift: alternately a new instance appears (newest, so it
    /// shifts every page sorted by creation time) or an existing one disappears.
    pub fn drift(&mut self, at: i64) {
        if self.drift_adds || self.instances.len() < 2 {
            self.create_at(at, Some(()));
        } else {
            let pick = self.drift_rng.index(self.instances.len());
            self.remove_nth(pick, at);
        }
        self.drift_adds = !self.drift_adds;
    }

    /// The instance (not CodeLab) at about the `pick`th place in creation
    /// order is gone at `at`, as if deleted.
    fn remove_nth(&mut self, pick: usize, at: i64) {
        let n = self.instances.len();
        let victim = self
            .instances
            .iter()
            .filter(|(_, i)| !i.codelab)
            .nth(pick.min(n.saturating_sub(2)))
            .map(|(k, _)| *k);
        if let Some(gone) = victim.and_then(|k| self.instances.remove(&k)) {
            self.journal.removed(&gone, at);
        }
    }

    /// Churn ([`super::churn`]): the newest instance appears at `at`, from `rng`.
    pub fn create_newest(&mut self, rng: &mut Rng, at: i64) {
        self.create_from(at, rng_split(rng));
    }

    /// Churn: an instance at a random place is gone at `at` (none is taken
    /// from a population of two or fewer).
    pub fn remove_random(&mut self, rng: &mut Rng, at: i64) {
        if self.instances.len() > 2 {
            let pick = rng.index(self.instances.len());
            self.remove_nth(pick, at);
        }
    }
}

/// An independent generator drawn from `rng`, so one event's draws never shift
/// another's.
fn rng_split(rng: &mut Rng) -> Rng {
    Rng::new(rng.next_u64())
}

#[cfg(test)]
mod tests;
