//! One simulated notebook instance, stored compactly (catalog indices, small
//! enums) so a population of 10,000 costs a few megabytes. JSON is produced
//! only for the instances on the page being served (see `render`).

use super::catalog::{self, Arch};
use super::rng::Rng;

/// Instance status, as on the wire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum State {
    Init,
    Creating,
    Starting,
    Stopping,
    Deleting,
    Running,
    Stopped,
    Snapshotting,
    CreateFailed,
    StartFailed,
    DeleteFailed,
    Error,
    Deleted,
    Frozen,
}

impl State {
    pub const ALL: [State; 14] = [
        State::Init,
        State::Creating,
        State::Starting,
        State::Stopping,
        State::Deleting,
        State::Running,
        State::Stopped,
        State::Snapshotting,
        State::CreateFailed,
        State::StartFailed,
        State::DeleteFailed,
        State::Error,
        State::Deleted,
        State::Frozen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Creating => "CREATING",
            State::Starting => "STARTING",
            State::Stopping => "STOPPING",
            State::Deleting => "DELETING",
            State::Running => "RUNNING",
            State::Stopped => "STOPPED",
            State::Snapshotting => "SNAPSHOTTING",
            State::CreateFailed => "CREATE_FAILED",
            State::StartFailed => "START_FAILED",
            State::DeleteFailed => "DELETE_FAILED",
            State::Error => "ERROR",
            State::Deleted => "DELETED",
            State::Frozen => "FROZEN",
        }
    }

    /// Case-insensitive parse of a status name.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Status of one of the four creation steps (`action_progress`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    Waiting,
    Processing,
    Completed,
    Failed,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Waiting => "WAITING",
            Step::Processing => "PROCESSING",
            Step::Completed => "COMPLETED",
            Step::Failed => "FAILED",
        }
    }
}

/// What a RUNNING instance will do at its next event unless its lease ends first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Plan {
    Nothing,
    Snapshot,
    UserStop,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeaseState {
    pub create_at: i64,
    pub duration: i64,
    pub enable: bool,
    pub idle: bool,
    pub update_at: i64,
}

impl LeaseState {
    pub fn end(&self) -> Option<i64> {
        self.enable
            .then(|| self.create_at.saturating_add(self.duration))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VolumeKind {
    Evs,
    Sfs,
    Efs,
}

impl VolumeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeKind::Evs => "EVS",
            VolumeKind::Sfs => "SFS",
            VolumeKind::Efs => "EFS",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VolumeState {
    pub kind: VolumeKind,
    pub capacity: u32,
    /// The volume reports `RESIZING` until this time (no event needed).
    pub resizing_until: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// Engine-internal key, in creation order.
    pub serial: u32,
    pub id: String,
    pub name: String,
    pub description: u8,
    pub state: State,
    /// The free CodeLab instance (`feature` DEFAULT).
    pub codelab: bool,
    pub flavor: u8,
    pub image: u8,
    pub pool: Option<u8>,
    pub user: u8,
    pub workspace: u8,
    pub create_at: i64,
    pub update_at: i64,
    pub lease: LeaseState,
    pub steps: [Step; 4],
    pub fail_reason: Option<&'static str>,
    pub volume: VolumeState,
    /// Bit 0: an OBS data volume; bit 1: an SFS data volume.
    pub data_volumes: u8,
    pub ssh: bool,
    /// Bitmask over `catalog::TAGS`.
    pub tags: u8,
    /// 0: STORAGE+COMPUTE, 1: ALL.
    pub billing: u8,
    /// Source of derived values (token, ip, key names).
    pub seed: u64,
    pub plan: Plan,
    /// Step at which creation will fail, if it will.
    pub fail_step: Option<u8>,
    /// Scripted demo instances move quickly and never fail on their own.
    pub fast: bool,
    /// Bumped on every reschedule: stale heap entries are ignored.
    pub generation: u32,
}

impl Instance {
    pub fn flavor_info(&self) -> &'static catalog::Flavor {
        catalog::FLAVORS
            .get(usize::from(self.flavor))
            .unwrap_or(&catalog::FLAVORS[0])
    }

    pub fn image_info(&self) -> &'static catalog::ImageInfo {
        catalog::IMAGES
            .get(usize::from(self.image))
            .unwrap_or(&catalog::IMAGES[0])
    }

    pub fn user_info(&self) -> &'static catalog::UserInfo {
        catalog::USERS
            .get(usize::from(self.user))
            .unwrap_or(&catalog::USERS[0])
    }

    pub fn pool_info(&self) -> Option<&'static catalog::PoolInfo> {
        self.pool.and_then(|p| catalog::POOLS.get(usize::from(p)))
    }

    pub fn workspace_id(&self) -> &'static str {
        catalog::WORKSPACES
            .get(usize::from(self.workspace))
            .copied()
            .unwrap_or("0")
    }

    pub fn feature(&self) -> &'static str {
        if self.codelab { "DEFAULT" } else { "NOTEBOOK" }
    }

    pub fn description_text(&self) -> &'static str {
        catalog::DESCRIPTIONS
            .get(usize::from(self.description))
            .copied()
            .unwrap_or("")
    }
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

const LEASE_DURATIONS: &[i64] = &[HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 24 * HOUR, 72 * HOUR];

/// Draws a new instance with realistic attributes, created at `created`.
/// Status-specific fields are set by the engine afterwards.
pub fn draw(rng: &mut Rng, serial: u32, created: i64, codelab: bool) -> Instance {
    let seed = rng.next_u64();
    let id = rng.uuid();
    let user = if codelab {
        catalog::CALLER
    } else {
        rng.weighted(catalog::USER_WEIGHTS)
    } as u8;
    let on_pool = !codelab && rng.chance(20);
    let flavor = if codelab {
        catalog::FREE_FLAVOR
    } else if on_pool {
        // Dedicated pools host the accelerator flavors.
        [3u8, 4, 6, 7][rng.index(4)]
    } else {
        rng.weighted(catalog::FLAVOR_WEIGHTS) as u8
    };
    let arch = catalog::FLAVORS[usize::from(flavor)].arch;
    let image = if codelab {
        0
    } else {
        let dedicated = rng.chance(25);
        let fitting: Vec<usize> = catalog::IMAGES
            .iter()
            .enumerate()
            .filter(|(_, i)| i.arch == arch && i.dedicated == dedicated)
            .map(|(n, _)| n)
            .collect();
        fitting.get(rng.index(fitting.len())).copied().unwrap_or(0) as u8
    };
    let pool = if on_pool {
        Some(if arch == Arch::Arm {
            1
        } else {
            [0u8, 2][rng.index(2)]
        })
    } else {
        None
    };
    let name = if codelab {
        format!("notebook_{}", rng.hex(8))
    } else {
        let stem = catalog::NAME_STEMS[rng.index(catalog::NAME_STEMS.len())];
        match rng.below(3) {
            0 => format!("{stem}-{:02}", rng.below(100)),
            1 => format!("{stem}_{}", rng.hex(4)),
            _ => format!("{stem}-v{}", rng.range(1, 9)),
        }
    };
    let description = rng.index(catalog::DESCRIPTIONS.len()) as u8;
    let workspace = if codelab {
        0
    } else {
        rng.weighted(catalog::WORKSPACE_WEIGHTS) as u8
    };
    let duration = if codelab {
        HOUR
    } else {
        LEASE_DURATIONS[rng.index(LEASE_DURATIONS.len())]
    };
    let lease = LeaseState {
        create_at: created,
        duration,
        enable: codelab || rng.chance(85),
        idle: !codelab && rng.chance(20),
        update_at: created,
    };
    let volume = if codelab {
        VolumeState {
            kind: VolumeKind::Evs,
            capacity: 5,
            resizing_until: 0,
        }
    } else {
        let kind = [VolumeKind::Evs, VolumeKind::Sfs, VolumeKind::Efs][rng.weighted(&[70, 20, 10])];
        let capacity = match kind {
            VolumeKind::Evs => [5, 20, 50, 100, 500][rng.index(5)],
            _ => [500, 1024, 2048][rng.index(3)],
        };
        VolumeState {
            kind,
            capacity,
            resizing_until: 0,
        }
    };
    let data_volumes = if !codelab && rng.chance(30) {
        rng.range(1, 3) as u8
    } else {
        0
    };
    let ssh = !codelab && rng.chance(40);
    let mut tags = 0u8;
    for bit in 0..catalog::TAGS.len() {
        if !codelab && rng.chance(30) {
            tags |= 1 << bit;
        }
    }
    let billing = u8::from(rng.chance(30));
    Instance {
        serial,
        id,
        name,
        description,
        state: State::Init,
        codelab,
        flavor,
        image,
        pool,
        user,
        workspace,
        create_at: created,
        update_at: created,
        lease,
        steps: [Step::Waiting; 4],
        fail_reason: None,
        volume,
        data_volumes,
        ssh,
        tags,
        billing,
        seed,
        plan: Plan::Nothing,
        fail_step: None,
        fast: false,
        generation: 0,
    }
}

/// Puts a freshly drawn instance into `state` as if it had been living for a
/// while before `now`: creation time in the past, consistent steps, lease, reason.
pub fn age_into(inst: &mut Instance, rng: &mut Rng, state: State, now: i64) {
    let age = rng.range(20 * MIN, 120 * DAY);
    inst.create_at = now - age;
    inst.state = state;
    inst.steps = [Step::Completed; 4];
    inst.fail_reason = None;
    // When this status was entered.
    let entered = match state {
        State::Running | State::Stopped | State::Frozen | State::Error | State::CreateFailed => {
            now - rng.range(MIN, (age - MIN).clamp(MIN, 30 * DAY))
        }
        _ => now - rng.range(1_000, 8_000),
    };
    inst.update_at = entered.max(inst.create_at);
    match state {
        State::Init => {
            inst.create_at = inst.update_at;
            inst.steps = [Step::Waiting; 4];
        }
        State::Creating => {
            inst.create_at = inst.update_at - rng.range(0, 40_000);
            let k = rng.index(4);
            for (i, s) in inst.steps.iter_mut().enumerate() {
                *s = match i.cmp(&k) {
                    std::cmp::Ordering::Less => Step::Completed,
                    std::cmp::Ordering::Equal => Step::Processing,
                    std::cmp::Ordering::Greater => Step::Waiting,
                };
            }
            if rng.chance(8) {
                inst.fail_step = Some(rng.range(k as i64, 3) as u8);
            }
        }
        State::CreateFailed => {
            let (step, reason) =
                catalog::CREATE_FAILURES[rng.index(catalog::CREATE_FAILURES.len())];
            fail_creation(inst, step - 1, reason);
            inst.create_at = inst.update_at - rng.range(20_000, 90_000);
        }
        State::StartFailed => {
            inst.steps[1] = Step::Failed;
            inst.fail_reason =
                Some(catalog::START_FAILURES[rng.index(catalog::START_FAILURES.len())]);
        }
        State::Error => {
            inst.fail_reason =
                Some(catalog::ERROR_REASONS[rng.index(catalog::ERROR_REASONS.len())]);
        }
        State::Frozen => {
            inst.fail_reason =
                Some(catalog::FROZEN_REASONS[rng.index(catalog::FROZEN_REASONS.len())]);
        }
        State::DeleteFailed => {
            inst.fail_reason = Some("Failed to release the EVS volume. Retry the deletion.");
        }
        State::Running | State::Snapshotting | State::Stopping => {
            let d = inst.lease.duration;
            // Some leases end within minutes so countdowns have something to show.
            let elapsed = if rng.chance(15) {
                d - rng.range(MIN, 10 * MIN)
            } else {
                rng.range(0, d - 2 * MIN)
            };
            inst.lease.create_at = now - elapsed.max(0);
            inst.lease.update_at = inst.lease.create_at;
            if state == State::Running {
                inst.update_at = inst.update_at.max(inst.lease.create_at);
            }
        }
        State::Stopped => {
            inst.lease.create_at = inst.update_at - inst.lease.duration;
            inst.lease.update_at = inst.lease.create_at;
        }
        _ => {}
    }
    if inst.create_at > inst.update_at {
        inst.create_at = inst.update_at;
    }
    if inst.volume.kind == VolumeKind::Evs && rng.chance(5) {
        inst.volume.resizing_until = now + rng.range(MIN, 15 * MIN);
    }
}

/// Marks creation as failed at step index `k` (0-based).
pub fn fail_creation(inst: &mut Instance, k: usize, reason: &'static str) {
    for (i, s) in inst.steps.iter_mut().enumerate() {
        *s = match i.cmp(&k) {
            std::cmp::Ordering::Less => Step::Completed,
            std::cmp::Ordering::Equal => Step::Failed,
            std::cmp::Ordering::Greater => Step::Waiting,
        };
    }
    inst.state = State::CreateFailed;
    inst.fail_reason = Some(reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
            assert_eq!(State::parse(&s.as_str().to_lowercase()), Some(s));
        }
        assert_eq!(State::parse("SLEEPING"), None);
    }

    #[test]
    fn drawn_instances_are_consistent() {
        let mut rng = Rng::new(5);
        for serial in 0..500 {
            let codelab = serial == 0;
            let mut i = draw(&mut rng, serial, 1_700_000_000_000, codelab);
            let st = State::ALL[serial as usize % State::ALL.len()];
            age_into(&mut i, &mut rng, st, 1_700_000_000_000);
            assert_eq!(i.flavor_info().arch, i.image_info().arch, "{}", i.name);
            assert!(i.create_at <= i.update_at);
            assert!(i.update_at <= 1_700_000_000_000);
            if codelab {
                assert_eq!(i.flavor_info().name, "modelarts.vm.cpu.free");
                assert_eq!(i.feature(), "DEFAULT");
            }
            if i.pool.is_some() {
                assert!(i.flavor_info().spec.0 > 0);
            }
            match st {
                State::CreateFailed => {
                    assert!(i.steps.contains(&Step::Failed));
                    assert!(i.fail_reason.is_some());
                }
                State::Running => {
                    let end = i.lease.end();
                    if let Some(end) = end {
                        assert!(end > 1_700_000_000_000);
                    }
                }
                _ => {}
            }
        }
    }
}
