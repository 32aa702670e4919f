//! The lifecycle engine: a population of instances and a schedule of their next
//! transitions. It is advanced lazily to "now" (on each request) by popping due
//! events from a heap, so the cost is proportional to what happened, not to the
//! population size or the time elapsed. Events are processed in time order with
//! one seeded generator, so the state at any instant depends only on the seed and
//! the start time, not on how often the engine was advanced.
//!
//! Why one file of ~800 lines: the engine is ~580 lines of one state machine
//! (scheduling, transitions, the scripted demo) that reads best in one place;
//! the rest are its tests, kept beside it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::catalog;
use super::instance::{self, Instance, Plan, State, Step};
use super::journal::{GroundTruth, Journal};
use super::rng::Rng;

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

    /// The demo script: changes visible within the first minute at speed 1.
    /// Overwrites the first few instances (after the CodeLab one) so the
    /// population size stays what was asked, adding instances when it is small.
    pub fn add_script(&mut self, now: i64) {
        let mut rng = Rng::derive(0x5c21_7e11, 3);
        let slot = |e: &mut Engine, k: u32| -> u32 {
            if e.instances.contains_key(&k) && k != 0 {
                k
            } else {
                e.alloc_serial()
            }
        };
        // 1: creating, RUNNING in about 20 s.
        let s = slot(self, 1);
        let mut i = instance::draw(&mut rng, s, now - 4 * SEC, false);
        i.name = "demo-创建中-gpu".to_string();
        i.user = catalog::CALLER as u8;
        i.fast = true;
        i.state = State::Creating;
        i.steps = [
            Step::Processing,
            Step::Waiting,
            Step::Waiting,
            Step::Waiting,
        ];
        i.lease.enable = true;
        i.lease.duration = 2 * HOUR;
        i.update_at = now - 2 * SEC;
        self.replace(i);
        self.schedule(s, now + 2 * SEC);

        // 2 and 3: leases ending in 45 s and 100 s.
        for (k, left, name, idle) in [
            (2u32, 45 * SEC, "lease-ends-soon_ü", false),
            (3, 100 * SEC, "idle-stop-in-2min", true),
        ] {
            let s = slot(self, k);
            let mut i = instance::draw(&mut rng, s, now - 3 * HOUR, false);
            i.name = name.to_string();
            i.user = catalog::CALLER as u8;
            i.fast = true;
            i.state = State::Running;
            i.steps = [Step::Completed; 4];
            i.lease = instance::LeaseState {
                create_at: now + left - HOUR,
                duration: HOUR,
                enable: true,
                idle,
                update_at: now + left - HOUR,
            };
            i.update_at = i.lease.create_at;
            self.replace(i);
            self.plan_running(s, now, Rng::new(u64::from(k)));
        }

        // 4: a creation that failed at step 2.
        let s = slot(self, 4);
        let mut i = instance::draw(&mut rng, s, now - 25 * MIN, false);
        i.name = "train-a100-sold-out".to_string();
        let (step, reason) = catalog::CREATE_FAILURES[1];
        instance::fail_creation(&mut i, step - 1, reason);
        i.update_at = now - 24 * MIN;
        self.replace(i);
        self.schedule(s, now + 2 * HOUR);

        // 5: frozen.
        let s = slot(self, 5);
        let mut i = instance::draw(&mut rng, s, now - 40 * HOUR, false);
        i.name = "frozen_账户欠费".to_string();
        i.state = State::Frozen;
        i.steps = [Step::Completed; 4];
        i.fail_reason = Some(catalog::FROZEN_REASONS[0]);
        i.update_at = now - 3 * HOUR;
        self.replace(i);
        self.schedule(s, now + 24 * HOUR);

        // A new instance appears after 30 s.
        self.push(now + 30 * SEC, SCRIPTED_ARRIVAL, 0);
    }

    fn scripted_arrival(&mut self, at: i64) {
        let serial = self.create_at(at, None);
        if let Some(i) = self.instances.get_mut(&serial) {
            i.name = "just-created-notebook".to_string();
            i.user = catalog::CALLER as u8;
            i.fail_step = None;
            i.fast = true;
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

/// User actions (the simulator's API decides what is allowed, see
/// `sim::actions`): each moves the instance into its transitional status and
/// schedules the rest. An instance a user acted on never fails on its own, so
/// what follows an action is predictable.
impl Engine {
    /// Time in STARTING, STOPPING or DELETING after a user action.
    pub const ACTION_MS: i64 = 4 * SEC;

    /// The instance with this id.
    pub fn find(&self, id: &str) -> Option<&Instance> {
        self.instances.values().find(|i| i.id == id)
    }

    /// `fail_step` of a start that will fail (creation steps are 0 to 3).
    const START_FAILS: u8 = 4;

    /// Start: STARTING now, RUNNING after [`Self::ACTION_MS`] with a fresh
    /// lease of `duration_ms` (auto-stop when idle if `idle`), or START_FAILED
    /// then if `fails` (resources gone while starting).
    pub fn user_start(&mut self, serial: u32, at: i64, duration_ms: i64, idle: bool, fails: bool) {
        if let Some(i) = self.instances.get_mut(&serial) {
            i.fast = true;
            i.fail_step = fails.then_some(Self::START_FAILS);
            i.fail_reason = None;
            i.lease.enable = true;
            i.lease.duration = duration_ms;
            i.lease.idle = idle;
        }
        self.transition(serial, State::Starting, at);
        self.schedule(serial, at + Self::ACTION_MS);
    }

    /// Stop: STOPPING now, STOPPED after [`Self::ACTION_MS`].
    pub fn user_stop(&mut self, serial: u32, at: i64) {
        if let Some(i) = self.instances.get_mut(&serial) {
            i.fast = true;
        }
        self.transition(serial, State::Stopping, at);
        self.schedule(serial, at + Self::ACTION_MS);
    }

    /// Delete: DELETING now, DELETED after [`Self::ACTION_MS`], then gone.
    pub fn user_delete(&mut self, serial: u32, at: i64) {
        if let Some(i) = self.instances.get_mut(&serial) {
            i.fast = true;
        }
        self.transition(serial, State::Deleting, at);
        self.schedule(serial, at + Self::ACTION_MS);
    }

    /// A burst: `n` stopped instances (owners' billed ones, not CodeLab) are
    /// started at once, as when a class or a batch of jobs starts at nine; each
    /// then goes its own way from STARTING (5–30 s, some fail). Returns their ids.
    pub fn start_stopped(&mut self, n: usize, at: i64) -> Vec<String> {
        let mut candidates: Vec<u32> = self
            .instances
            .iter()
            .filter(|(_, i)| i.state == State::Stopped && !i.codelab && !i.fast)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        while out.len() < n && !candidates.is_empty() {
            let pick = candidates.swap_remove(self.drift_rng.index(candidates.len()));
            self.transition(pick, State::Starting, at);
            if let Some(i) = self.instances.get(&pick) {
                out.push(i.id.clone());
            }
            let after = self.drift_rng.range(5 * SEC, 30 * SEC);
            self.schedule(pick, at + after);
        }
        out
    }

    /// Test control: up to `n` RUNNING instances (not CodeLab, not acted on)
    /// fail now, RUNNING → ERROR, as a running instance fails on its own (a
    /// journaled transition); their ids. Benchmarks use it for failures that
    /// come straight from a stable status, rare on their own.
    pub fn fail_running(&mut self, n: usize, at: i64) -> Vec<String> {
        let candidates: Vec<u32> = self
            .instances
            .iter()
            .filter(|(_, i)| i.state == State::Running && !i.codelab && !i.fast)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::new();
        for _ in 0..n {
            if candidates.is_empty() {
                break;
            }
            let pick = candidates[self.drift_rng.index(candidates.len())];
            if self
                .instances
                .get(&pick)
                .is_none_or(|i| i.state != State::Running)
            {
                continue;
            }
            self.transition(pick, State::Error, at);
            let reason = catalog::ERROR_REASONS[self.drift_rng.index(catalog::ERROR_REASONS.len())];
            if let Some(i) = self.instances.get_mut(&pick) {
                i.fail_reason = Some(reason);
                out.push(i.id.clone());
            }
            let after = self.drift_rng.range(5 * MIN, 40 * MIN);
            self.schedule(pick, at + after);
        }
        out
    }

    /// Renew the lease: the instance now stops at `at + duration_ms`.
    pub fn user_renew(&mut self, serial: u32, at: i64, duration_ms: i64, idle: bool) {
        let Some(i) = self.instances.get_mut(&serial) else {
            return;
        };
        i.lease = instance::LeaseState {
            create_at: at,
            duration: duration_ms,
            enable: true,
            idle,
            update_at: at,
        };
        let rng = rng_split(&mut self.drift_rng);
        self.plan_running(serial, at, rng);
    }
}

/// An independent generator drawn from `rng`, so one event's draws never shift
/// another's.
fn rng_split(rng: &mut Rng) -> Rng {
    Rng::new(rng.next_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::render;

    const T0: i64 = 1_795_854_600_000;

    fn snapshot(e: &Engine) -> Vec<String> {
        e.instances()
            .map(|i| serde_json::to_string(&render::notebook(i, e.now())).unwrap())
            .collect()
    }

    #[test]
    fn same_seed_same_history_however_it_is_advanced() {
        let mut a = Engine::new(42, 200, T0, true);
        let mut b = Engine::new(42, 200, T0, true);
        assert_eq!(snapshot(&a), snapshot(&b));
        a.advance_to(T0 + 6 * HOUR);
        let mut t = T0;
        let mut step = 1;
        while t < T0 + 6 * HOUR {
            t = (t + step).min(T0 + 6 * HOUR);
            step = step * 7 % 100_003 + 1;
            b.advance_to(t);
        }
        assert_eq!(snapshot(&a), snapshot(&b));
        assert_eq!(a.transitions(), b.transitions());
        let c = Engine::new(43, 200, T0, true);
        assert_ne!(snapshot(&Engine::new(42, 200, T0, true)), snapshot(&c));
    }

    #[test]
    fn every_lifecycle_path_is_reached() {
        // Large enough that rare paths (a FROZEN instance thawing, one chance
        // in five each of a handful) happen whatever the seed's draw.
        let mut e = Engine::new(7, 1000, T0, false);
        let first_new_serial = e.next_serial;
        e.advance_to(T0 + 48 * HOUR);
        let t = e.transitions();
        use State::*;
        for pair in [
            (Init, Creating),
            (Creating, Starting),
            (Creating, CreateFailed),
            (Starting, Running),
            (Starting, StartFailed),
            (Running, Stopping),
            (Running, Snapshotting),
            (Snapshotting, Running),
            (Running, Error),
            (Stopping, Stopped),
            (Stopped, Starting),
            (Stopped, Deleting),
            (Deleting, Deleted),
            (Deleting, DeleteFailed),
            (DeleteFailed, Deleting),
            (CreateFailed, Deleting),
            (StartFailed, Starting),
            (Error, Stopping),
            (Frozen, Stopped),
            (Deleted, Deleted),
        ] {
            assert!(t.get(&pair).copied().unwrap_or(0) > 0, "never saw {pair:?}");
        }
        assert!(
            e.instances().any(|i| i.serial >= first_new_serial),
            "new instances appeared"
        );
        // The population stays around its target.
        assert!((750..=1300).contains(&e.len()), "{}", e.len());
    }

    #[test]
    fn a_lease_stops_the_instance_exactly_at_its_end() {
        let mut e = Engine::new(3, 200, T0, false);
        let (serial, end) = e
            .instances()
            .filter(|i| i.state == State::Running && i.plan == Plan::Nothing)
            .filter_map(|i| i.lease.end().map(|end| (i.serial, end)))
            .min_by_key(|(_, end)| *end)
            .expect("a running instance with a lease");
        e.advance_to(end - 1);
        assert_eq!(e.instances[&serial].state, State::Running);
        e.advance_to(end);
        let i = &e.instances[&serial];
        assert_eq!(i.state, State::Stopping);
        assert_eq!(i.update_at, end, "update_at moves with the transition");
        e.advance_to(end + 20 * SEC);
        let i = &e.instances[&serial];
        assert_eq!(i.state, State::Stopped);
        assert!(i.update_at > end);
    }

    #[test]
    fn restarting_renews_the_lease() {
        let mut e = Engine::new(11, 300, T0, false);
        e.advance_to(T0 + 12 * HOUR);
        let restarted: Vec<&Instance> = e
            .instances()
            .filter(|i| i.state == State::Running && i.lease.create_at > T0)
            .collect();
        assert!(!restarted.is_empty());
        for i in restarted {
            assert!(i.lease.create_at <= i.update_at);
            assert_eq!(i.lease.update_at, i.lease.create_at);
            if let Some(end) = i.lease.end() {
                assert!(end > e.now(), "a running lease has not ended");
            }
        }
    }

    #[test]
    fn creation_walks_the_four_steps_and_the_demo_is_lively() {
        use Step::*;
        let mut e = Engine::new(1, 60, T0, true);
        let states: Vec<State> = e.instances().map(|i| i.state).collect();
        assert!(states.contains(&State::CreateFailed));
        assert!(states.contains(&State::Frozen));
        let n0 = e.len();
        let mut seen_steps = Vec::new();
        let mut running_at = None;
        for s in 0..=60 {
            e.advance_to(T0 + s * SEC);
            let i = &e.instances[&1];
            if seen_steps.last() != Some(&(i.state, i.steps)) {
                seen_steps.push((i.state, i.steps));
            }
            if i.state == State::Running && running_at.is_none() {
                running_at = Some(s);
                assert_eq!(i.lease.create_at, i.update_at);
            }
        }
        assert_eq!(
            seen_steps[..5],
            [
                (State::Creating, [Processing, Waiting, Waiting, Waiting]),
                (State::Creating, [Completed, Processing, Waiting, Waiting]),
                (State::Creating, [Completed, Completed, Processing, Waiting]),
                (
                    State::Creating,
                    [Completed, Completed, Completed, Processing]
                ),
                (State::Starting, [Completed; 4]),
            ]
        );
        assert_eq!(seen_steps[5], (State::Running, [Completed; 4]));
        let t = running_at.expect("running within a minute");
        assert!((12..=30).contains(&t), "running after {t} s");
        // By one minute: the 45 s lease has stopped and a new instance appeared.
        assert!(matches!(
            e.instances[&2].state,
            State::Stopping | State::Stopped
        ));
        assert!(e.instances().any(|i| i.name == "just-created-notebook"));
        assert!(
            e.len() > n0
                || e.transitions()
                    .contains_key(&(State::Deleted, State::Deleted))
        );
        e.advance_to(T0 + 2 * MIN);
        assert!(matches!(
            e.instances[&3].state,
            State::Stopping | State::Stopped
        ));
        // The scripted failures stay put: the events of the instances they
        // replaced do not fire on them.
        e.advance_to(T0 + 30 * MIN);
        assert_eq!(e.instances[&4].state, State::CreateFailed);
        assert_eq!(e.instances[&4].update_at, T0 - 24 * MIN);
        assert_eq!(e.instances[&5].state, State::Frozen);
    }

    #[test]
    fn a_small_population_shows_every_status_and_a_large_one_is_mostly_running_or_stopped() {
        let e = Engine::new(9, 60, T0, false);
        let by = e.count_by_state();
        for s in State::ALL {
            assert!(by.get(&s).copied().unwrap_or(0) > 0, "{s:?} missing");
        }
        let big = Engine::new(9, 10_000, T0, false);
        let by = big.count_by_state();
        let settled = by[&State::Running] + by[&State::Stopped];
        assert!(settled > 7_000, "{by:?}");
        assert!(by[&State::Running] > by[&State::Stopped]);
        assert_eq!(big.instances().filter(|i| i.codelab).count(), 1);
        // Some leases end within ten minutes, so countdowns have something to show.
        let soon = big
            .instances()
            .filter(|i| i.state == State::Running)
            .filter_map(|i| i.lease.end())
            .filter(|end| *end - T0 < 10 * MIN)
            .count();
        assert!(soon > 100, "{soon}");
    }

    #[test]
    fn ten_thousand_instances_are_compact_and_cheap_to_advance() {
        assert!(
            std::mem::size_of::<Instance>() <= 200,
            "{}",
            std::mem::size_of::<Instance>()
        );
        let mut e = Engine::new(5, 10_000, T0, true);
        e.advance_to(T0 + HOUR);
        assert!(
            e.heap.len() < 3 * e.len(),
            "the schedule holds about one event per instance"
        );
        assert!((9_000..=12_600).contains(&e.len()));
    }

    #[test]
    fn drift_alternately_adds_and_removes() {
        let mut e = Engine::new(5, 30, T0, false);
        let n = e.len();
        e.drift(T0);
        assert_eq!(e.len(), n + 1);
        e.drift(T0);
        assert_eq!(e.len(), n);
        assert!(
            e.instances().any(|i| i.codelab),
            "the CodeLab instance is never drifted away"
        );
    }

    #[test]
    fn the_journal_has_every_transition_creation_and_removal_with_its_time() {
        let mut e = Engine::new(11, 500, T0, true);
        let start: BTreeMap<String, &'static str> = e
            .instances()
            .map(|i| (i.id.clone(), i.state.as_str()))
            .collect();
        let mut t = T0;
        while t < T0 + 2 * HOUR {
            t += 7_919;
            e.advance_to(t);
        }
        let truth = e.ground_truth(T0, t);
        assert!(truth.complete);
        let counted: u64 = e
            .transitions()
            .iter()
            .filter(|((from, to), _)| !(*from == State::Deleted && *to == State::Deleted))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(truth.changes.len() as u64, counted, "every transition");
        assert!(truth.changes.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        assert!(!truth.creations.is_empty() && !truth.removals.is_empty());
        // Replaying the journal from the start gives each instance's status now.
        let mut state: BTreeMap<String, &'static str> = start;
        for c in &truth.creations {
            state.insert(c.id.clone(), State::Init.as_str());
        }
        for c in &truth.changes {
            assert_eq!(state.get(&c.id), Some(&c.from), "{c:?}");
            state.insert(c.id.clone(), c.to);
        }
        for r in &truth.removals {
            assert!(state.remove(&r.id).is_some());
        }
        let now: BTreeMap<String, &'static str> = e
            .instances()
            .map(|i| (i.id.clone(), i.state.as_str()))
            .collect();
        assert_eq!(state, now);
    }

    #[test]
    fn fail_running_moves_running_instances_to_error_in_the_journal() {
        let mut e = Engine::new(5, 200, T0, false);
        e.advance_to(T0 + 1_000);
        let ids = e.fail_running(3, T0 + 1_000);
        assert_eq!(ids.len(), 3);
        for id in &ids {
            let i = e.find(id).unwrap();
            assert_eq!(i.state, State::Error);
            assert!(i.fail_reason.is_some());
        }
        let truth = e.ground_truth(T0 + 1_000, T0 + 1_000);
        let failed: Vec<_> = truth
            .changes
            .iter()
            .filter(|c| c.from == "RUNNING" && c.to == "ERROR")
            .map(|c| c.id.clone())
            .collect();
        assert_eq!(failed.len(), 3);
        assert!(ids.iter().all(|id| failed.contains(id)));
    }

    #[test]
    fn a_burst_starts_that_many_distinct_stopped_instances_and_each_goes_on() {
        let mut e = Engine::new(5, 400, T0, false);
        e.advance_to(T0 + 1_000);
        let stopped = e.instances().filter(|i| i.state == State::Stopped).count();
        let ids = e.start_stopped(40, T0 + 1_000);
        assert_eq!(ids.len(), 40);
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), 40);
        for id in &ids {
            assert_eq!(e.find(id).unwrap().state, State::Starting);
        }
        let truth = e.ground_truth(T0 + 1_000, T0 + 1_000);
        let started = truth
            .changes
            .iter()
            .filter(|c| c.from == "STOPPED" && c.to == "STARTING" && ids.contains(&c.id))
            .count();
        assert_eq!(started, 40, "journaled");
        // Within 30 s each has left STARTING (RUNNING, or START_FAILED).
        e.advance_to(T0 + 32_000);
        assert!(
            ids.iter()
                .all(|id| e.find(id).is_none_or(|i| i.state != State::Starting))
        );
        // Asking for more than there are starts them all.
        let all = e.start_stopped(stopped * 10, T0 + 33_000);
        assert!(all.len() < stopped * 10);
        assert_eq!(
            e.instances()
                .filter(|i| i.state == State::Stopped && !i.codelab && !i.fast)
                .count(),
            0
        );
    }
}
