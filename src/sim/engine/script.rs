//! The demo's script (`--demo`): a few instances set up so that changes are
//! visible within the first minute at speed 1 (a creation finishing, leases
//! running out, a failed creation, a frozen instance, one appearing after 30 s).

use super::{Engine, HOUR, MIN, SCRIPTED_ARRIVAL, SEC};
use crate::sim::catalog;
use crate::sim::instance::{self, State, Step};
use crate::sim::rng::Rng;

impl Engine {
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

    pub(super) fn scripted_arrival(&mut self, at: i64) {
        let serial = self.create_at(at, None);
        if let Some(i) = self.instances.get_mut(&serial) {
            i.name = "just-created-notebook".to_string();
            i.user = catalog::CALLER as u8;
            i.fail_step = None;
            i.fast = true;
        }
    }
}
