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
