//! What users do to the population through the simulator's API (start, stop,
//! delete, renew) and the faults that act on many instances at once (a burst of
//! starts, failing running instances). The API decides what is allowed
//! (`sim::actions`); this file moves the instances.

use super::{Engine, MIN, SEC, rng_split};
use crate::sim::catalog;
use crate::sim::instance::{self, Instance, State};

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
    pub(super) const START_FAILS: u8 = 4;

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
