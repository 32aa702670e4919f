//! A filter keystroke, a snapshot under a filter, and a re-sort over 10,000
//! instances, through the same key handling the dashboard uses, against a naive baseline that rebuilds the view
//! from scratch on every key (lowercase every name, filter, sort).
//!
//! `cargo bench --bench filter` (CI smoke: `cargo bench --bench filter -- --test`).

// A bench that cannot set up stops with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use nbwatch::app::sort::{self, Sort, SortColumn};
use nbwatch::app::{App, Tracked};

use common::NOW;

const N: usize = 10_000;

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), NOW);
}

/// What a straightforward implementation does on every key: lowercase every
/// name, keep the matches, sort them.
fn naive_view<'a>(all: &'a [Tracked], needle: &str, by: Sort) -> Vec<&'a Tracked> {
    let needle = needle.to_lowercase();
    let mut v: Vec<&Tracked> = all
        .iter()
        .filter(|t| t.name().to_lowercase().contains(&needle))
        .collect();
    v.sort_by(|a, b| sort::compare(a, b, by));
    v
}

/// Times `measured` only; `restore` brings the state back between iterations.
fn timed_pair(
    iters: u64,
    app: &mut App,
    measured: impl Fn(&mut App),
    restore: impl Fn(&mut App),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let t = Instant::now();
        measured(app);
        total += t.elapsed();
        restore(app);
    }
    total
}

fn bench_filter(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter_10k");
    let mut app = common::app(N);
    key(&mut app, KeyCode::Char('/'));
    for ch in "worker-0".chars() {
        key(&mut app, KeyCode::Char(ch));
    }
    let before = app.shown();
    key(&mut app, KeyCode::Char('1'));
    assert!(
        app.shown() < before && app.shown() > 0,
        "the keystroke narrows"
    );
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.shown(), before);

    g.bench_function("keystroke_type_char", |b| {
        b.iter_custom(|iters| {
            timed_pair(
                iters,
                &mut app,
                |a| key(a, KeyCode::Char('1')),
                |a| key(a, KeyCode::Backspace),
            )
        })
    });
    g.bench_function("keystroke_backspace", |b| {
        b.iter_custom(|iters| {
            timed_pair(
                iters,
                &mut app,
                |a| key(a, KeyCode::Backspace),
                |a| key(a, KeyCode::Char('0')),
            )
        })
    });
    // A poll's whole snapshot arriving while the filter is on (formerly an
    // ignored timing test that asserted nothing).
    let snapshot = common::many(N);
    g.bench_function("snapshot_while_filtered", |b| {
        b.iter_batched(
            || snapshot.clone(),
            |data| app.apply_all([common::whole_sweep(data)], NOW),
            criterion::BatchSize::LargeInput,
        )
    });
    assert_eq!(app.shown(), before, "the filter still holds");
    let all: Vec<Tracked> = app.instances().to_vec();
    g.bench_function("baseline_naive_refilter_sort", |b| {
        b.iter(|| std::hint::black_box(naive_view(&all, "worker-01", Sort::default()).len()))
    });
    g.finish();

    let mut g = c.benchmark_group("sort_10k");
    let mut app = common::app(N);
    g.bench_function("reverse_sort_key", |b| {
        b.iter(|| key(&mut app, KeyCode::Char('O')))
    });
    let by_status = Sort {
        column: SortColumn::Status,
        descending: false,
    };
    g.bench_function("baseline_naive_refilter_sort", |b| {
        b.iter(|| std::hint::black_box(naive_view(&all, "", by_status).len()))
    });
    g.finish();
}

criterion_group!(benches, bench_filter);
criterion_main!(benches);
