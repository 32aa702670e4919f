//! What a scrape of `nbwatch serve` costs with 10,000 instances, with each
//! `--status-series`: rendering everything (the first scrape after start),
//! a scrape after one instance changed (its group's parts compressed again), a
//! scrape after a sweep page that changed nothing, a repeated scrape (gzip as
//! Prometheus asks, and plain), the same over HTTP, the bytes a scrape
//! allocates against the size of its output, and the group size's trade
//! between compression ratio and the CPU of a change. Baselines in the same
//! run: copying an output-sized buffer (the floor for producing that many
//! bytes), the usual way of using prometheus-client (a `Family` per metric,
//! registered and kept up to date at poll time, encoded at scrape time), and 60
//! instances.
//!
//! `cargo bench --bench serve` (CI smoke: `cargo bench --bench serve -- --test`).
//! The exporter's resident memory at 10,000 instances: `benches/serve_rss.rs`.

// A bench that unwraps fails with the reason, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::System;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group};
use nbwatch::api::Listing;
use nbwatch::api::model::{Notebook, Pool, Status, User, WireNotebook};
use nbwatch::app;
use nbwatch::serve::chunks::Store;
use nbwatch::serve::{Exporter, Format, Metrics, Shared, StatusSeries};
use nbwatch::watch::{Message, Stats};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

use common::NOW;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The bench population with the labels a real team has: users and pools.
fn population(n: usize) -> Vec<Notebook> {
    let users = [
        "li.wei",
        "zhang.wei",
        "jürgen.müller",
        "priya_n",
        "ma-user-demo",
    ];
    common::many(n)
        .into_iter()
        .enumerate()
        .map(|(i, mut nb)| {
            nb.user_id = Some(format!("{:032x}", i % 40));
            nb.user = Some(User {
                id: nb.user_id.clone(),
                name: Some(users[i % users.len()].to_string()),
                ..User::default()
            });
            if i % 4 == 0 {
                nb.pool = Some(Pool {
                    id: Some("pool-7f3a".into()),
                    name: Some("pool-gpu-team-a".into()),
                    ..Pool::default()
                });
            }
            nb
        })
        .collect()
}

/// The hot tier brings news of instance `i`: its status flips between
/// RUNNING and STOPPED.
fn hot_change(shared: &Shared, pop: &mut [Notebook], i: usize, at: i64) {
    let nb = &mut pop[i % pop.len()];
    nb.status = Some(if nb.status == Some(Status::Running) {
        Status::Stopped
    } else {
        Status::Running
    });
    nb.update_at = Some(at);
    shared.write().unwrap().apply(
        Message::Hot {
            seen: vec![(at, vec![nbwatch::api::model::WireNotebook::of(nb)])],
            gone: vec![],
            error: None,
            stats: Stats::default(),
        },
        at,
    );
}

/// A sweep page of `pop[start..start + 50]` that changes nothing (each
/// instance as the service sent it before).
fn same_page(shared: &Shared, pop: &[WireNotebook], start: usize, at: i64) {
    let start = start % pop.len();
    let page = pop[start..(start + 50).min(pop.len())].to_vec();
    shared.write().unwrap().apply(
        Message::Page {
            notebooks: page,
            loaded: 50,
            total: Some(pop.len() as u64),
            read_at_ms: at,
        },
        at,
    );
}

const MODES: [StatusSeries; 2] = [StatusSeries::Current, StatusSeries::All];

fn exporter(n: usize) -> Shared {
    let shared = Arc::new(RwLock::new(Exporter::new(
        app::Timing::default(),
        Arc::new(|| 200),
    )));
    shared.write().unwrap().apply(
        Message::Snapshot {
            listing: Listing {
                notebooks: population(n),
                total: None,
                requests: 200,
                passes: 1,
                complete: true,
            },
            took: Duration::from_secs(2),
            stats: Stats::default(),
        },
        NOW,
    );
    shared
}

type Labels = Vec<(&'static str, String)>;

/// The baseline: prometheus-client as its examples use it, one registered
/// `Family` per metric filled when a poll arrives, encoded at scrape time.
fn naive_registry(notebooks: &[Notebook]) -> Registry {
    let mut reg = Registry::default();
    let info: Family<Labels, Gauge> = Family::default();
    let status: Family<Labels, Gauge> = Family::default();
    let created: Family<Labels, Gauge<f64, AtomicU64>> = Family::default();
    let since: Family<Labels, Gauge<f64, AtomicU64>> = Family::default();
    let lease: Family<Labels, Gauge<f64, AtomicU64>> = Family::default();
    for nb in notebooks {
        let id = nb.id_str().to_string();
        let s = nb.status_or_unknown();
        info.get_or_create(&vec![
            ("id", id.clone()),
            ("name", nb.name_str().to_string()),
            ("feature", nb.feature.clone().unwrap_or_default()),
            ("flavor", nb.flavor.clone().unwrap_or_default()),
            (
                "image",
                nb.image.as_ref().map(|i| i.label()).unwrap_or_default(),
            ),
            (
                "pool",
                nb.pool
                    .as_ref()
                    .and_then(|p| p.name.clone())
                    .unwrap_or_default(),
            ),
            ("workspace_id", nb.workspace_id.clone().unwrap_or_default()),
            ("user_id", nb.user_id.clone().unwrap_or_default()),
            (
                "user_name",
                nb.user
                    .as_ref()
                    .and_then(|u| u.name.clone())
                    .unwrap_or_default(),
            ),
        ])
        .set(1);
        for st in &Status::ALL {
            status
                .get_or_create(&vec![
                    ("id", id.clone()),
                    ("status", st.as_str().to_string()),
                ])
                .set(i64::from(*st == s));
        }
        let secs = |ms: i64| ms as f64 / 1000.0;
        if let Some(c) = nb.create_at {
            created
                .get_or_create(&vec![("id", id.clone())])
                .set(secs(c));
        }
        since
            .get_or_create(&vec![("id", id.clone())])
            .set(secs(nb.update_at.unwrap_or(NOW)));
        if let Some(end) = nb.lease_end_ms() {
            lease
                .get_or_create(&vec![("id", id.clone())])
                .set(secs(end));
        }
    }
    reg.register("modelarts_notebook_info", "A notebook instance", info);
    reg.register("modelarts_notebook_status", "status", status);
    reg.register_with_unit(
        "modelarts_notebook_created_timestamp",
        "created",
        Unit::Seconds,
        created,
    );
    reg.register_with_unit(
        "modelarts_notebook_status_since_timestamp",
        "since",
        Unit::Seconds,
        since,
    );
    reg.register_with_unit(
        "modelarts_notebook_lease_expiry_timestamp",
        "lease",
        Unit::Seconds,
        lease,
    );
    reg
}

fn naive_render(reg: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, reg).unwrap();
    out
}

fn allocation_report() {
    println!("allocations of one scrape (gzip, as Prometheus asks; OpenMetrics):");
    println!(
        "{:<60} {:>11} {:>12} {:>7} {:>9}",
        "case", "output", "allocated", "allocs", "÷ output"
    );
    let row = |case: String, out: usize, bytes: usize, count: usize| {
        println!(
            "{case:<60} {out:>11} {bytes:>12} {count:>7} {:>9.3}",
            bytes as f64 / out as f64
        )
    };
    let format = Format::OpenMetrics;
    for n in [60, 10_000] {
        for mode in MODES {
            let shared = exporter(n);
            let mut pop = population(n);
            let m = Metrics::new(Arc::clone(&shared), mode);
            let gzip_scrape = || m.render_parts(format).gzip().1;
            let (bytes, count, len) = allocations(gzip_scrape);
            row(
                format!("first scrape (renders all), {mode:?}, {n}"),
                len,
                bytes,
                count,
            );
            hot_change(&shared, &mut pop, n / 2, NOW + 1_000);
            let (bytes, count, len) = allocations(gzip_scrape);
            row(
                format!("after one instance changed, {mode:?}, {n}"),
                len,
                bytes,
                count,
            );
            let (bytes, count, len) = allocations(gzip_scrape);
            row(format!("nothing changed, {mode:?}, {n}"), len, bytes, count);
            // A scraper without gzip: the text inflated chunk by chunk as sent.
            let (bytes, count, len) = allocations(|| {
                m.render_parts(format)
                    .plain()
                    .map(|c| c.map_or(0, |c| c.len()))
                    .sum::<usize>()
            });
            row(format!("plain, {mode:?}, {n}"), len, bytes, count);
        }
        let reg = naive_registry(&population(n));
        let (bytes, count, out) = allocations(|| naive_render(&reg));
        row(
            format!("baseline: a Family per metric, {n}"),
            out.len(),
            bytes,
            count,
        );
    }
}

/// The group size's trade: a bigger group compresses better (a part shares
/// no history with the others) and costs more CPU when one of its instances
/// changes. 10,000 instances, OpenMetrics.
fn group_size_report() {
    let n = 10_000;
    println!("group size: compressed size and the CPU of a change, {n} instances:");
    println!(
        "{:<8} {:>6} {:>11} {:>10} {:>7} {:>12} {:>12} {:>12}",
        "mode", "group", "text", "gzip", "ratio", "render all", "one change", "join"
    );
    for mode in MODES {
        for group in [16, 32, 64, 128, 256] {
            let shared = exporter(n);
            let mut pop = population(n);
            let mut store = Store::with_group_size(mode, group);
            let take = |shared: &Shared| shared.write().unwrap().take_touched();
            let t = Instant::now();
            store.update(take(&shared), &shared.read().unwrap());
            let all = t.elapsed();
            let j = store.joined(Format::OpenMetrics);
            let (plain, packed) = (j.plain_len, j.len());
            // A change is rendered when the poller brings it; the parts are
            // joined (their CRCs combined) only when a scrape asks.
            let changes = 200;
            let (mut spent, mut joining) = (Duration::ZERO, Duration::ZERO);
            for i in 0..changes {
                hot_change(&shared, &mut pop, i * 97, NOW + 1_000 + i as i64);
                let touched = take(&shared);
                let t = Instant::now();
                store.update(touched, &shared.read().unwrap());
                spent += t.elapsed();
                let t = Instant::now();
                drop(store.joined(Format::OpenMetrics));
                joining += t.elapsed();
            }
            let per = |d: Duration| d.as_secs_f64() * 1e6 / changes as f64;
            println!(
                "{:<8} {group:>6} {plain:>11} {packed:>10} {:>6.1}× {:>9.1} ms {:>9.0} µs {:>9.0} µs",
                format!("{mode:?}"),
                plain as f64 / packed as f64,
                all.as_secs_f64() * 1000.0,
                per(spent),
                per(joining)
            );
        }
    }
}

/// Bytes and allocations of one call.
fn allocations<T>(mut f: impl FnMut() -> T) -> (usize, usize, T) {
    let region = Region::new(GLOBAL);
    let out = f();
    let c = region.change();
    (
        c.bytes_allocated + c.bytes_reallocated.max(0) as usize,
        c.allocations + c.reallocations,
        out,
    )
}

fn scrape(c: &mut Criterion) {
    let mut g = c.benchmark_group("scrape");
    g.sample_size(20);
    let format = Format::OpenMetrics;
    for n in [60, 10_000] {
        let shared = exporter(n);
        for mode in MODES {
            g.bench_function(BenchmarkId::new(format!("render_all_{mode:?}"), n), |b| {
                b.iter_batched(
                    || Metrics::new(Arc::clone(&shared), mode),
                    |m| m.render_parts(format),
                    BatchSize::PerIteration,
                )
            });
            let m = Metrics::new(Arc::clone(&shared), mode);
            drop(m.render_parts(format));
            let mut pop = population(n);
            let mut i = 0;
            g.bench_function(BenchmarkId::new(format!("one_change_{mode:?}"), n), |b| {
                b.iter_batched(
                    || {
                        i += 1;
                        hot_change(&shared, &mut pop, i * 97, NOW + i as i64);
                    },
                    |()| m.render_parts(format).gzip(),
                    BatchSize::PerIteration,
                )
            });
            let pop: Vec<WireNotebook> = population(n).iter().map(WireNotebook::of).collect();
            let mut i = 0;
            g.bench_function(
                BenchmarkId::new(format!("page_unchanged_{mode:?}"), n),
                |b| {
                    b.iter_batched(
                        || {
                            i += 1;
                            same_page(&shared, &pop, i * 50, NOW + i as i64);
                        },
                        |()| m.render_parts(format).gzip(),
                        BatchSize::PerIteration,
                    )
                },
            );
            g.bench_function(BenchmarkId::new(format!("repeat_gzip_{mode:?}"), n), |b| {
                b.iter(|| m.render_parts(format).gzip())
            });
            g.bench_function(BenchmarkId::new(format!("repeat_plain_{mode:?}"), n), |b| {
                b.iter(|| {
                    m.render_parts(format)
                        .plain()
                        .map(|c| c.map_or(0, |c| c.len()))
                        .sum::<usize>()
                })
            });
        }
        let out = Metrics::new(Arc::clone(&shared), StatusSeries::All).render(Format::Classic);
        g.bench_with_input(BenchmarkId::new("baseline_copy_output", n), &out, |b, o| {
            b.iter(|| o.clone())
        });
        let reg = naive_registry(&population(n));
        g.bench_with_input(
            BenchmarkId::new("baseline_family_per_metric", n),
            &reg,
            |b, r| b.iter(|| naive_render(r)),
        );
    }
    g.finish();
}

/// The whole path a scraper sees: HTTP GET /metrics on a loopback server.
fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let shared = exporter(10_000);
    let ctx = nbwatch::serve::http::Ctx {
        shared: Arc::clone(&shared),
        metrics: Arc::new(Metrics::new(shared, StatusSeries::All)),
        max_age: Duration::from_secs(300),
    };
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    rt.spawn(async move {
        axum::serve(
            listener,
            nbwatch::serve::http::router(ctx, Default::default()),
        )
        .await
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut g = c.benchmark_group("http");
    g.sample_size(20);
    for (name, accept, gzip) in [
        ("classic_same_snapshot", "text/plain;version=0.0.4", false),
        (
            "openmetrics_same_snapshot",
            "application/openmetrics-text;version=1.0.0",
            false,
        ),
        (
            "openmetrics_gzip_same_snapshot",
            "application/openmetrics-text;version=1.0.0",
            true,
        ),
        (
            "classic_gzip_same_snapshot",
            "text/plain;version=0.0.4",
            true,
        ),
    ] {
        g.bench_function(BenchmarkId::new(name, 10_000), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut req = client.get(&url).header("accept", accept);
                    if gzip {
                        // Not decoded here (reqwest is built without gzip): the
                        // bytes Prometheus receives.
                        req = req.header("accept-encoding", "gzip");
                    }
                    let r = req.send().await.unwrap();
                    r.bytes().await.unwrap().len()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, scrape, http);

fn main() {
    allocation_report();
    // Not in CI's smoke run (`-- --test`): ten stores of 10,000 instances.
    if !std::env::args().any(|a| a == "--test") {
        group_size_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
