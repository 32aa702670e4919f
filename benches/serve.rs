//! What a scrape of `nbwatch serve` costs with 10,000 instances: rendering
//! `/metrics` in both formats (the first scrape after a poll renders the instance
//! families, kept gzip-compressed; later scrapes of the same snapshot reuse them),
//! gzip as Prometheus asks and plain, the same over HTTP, and the bytes a scrape
//! allocates against the size of its output. Baselines in
//! the same run: copying
//! an output-sized buffer (the floor for producing that many bytes), the usual
//! way of using prometheus-client (a `Family` per metric, registered and kept up
//! to date at poll time, encoded at scrape time), and 60 instances.
//!
//! `cargo bench --bench serve` (CI smoke: `cargo bench --bench serve -- --test`).
//! The exporter's resident memory at 10,000 instances: `benches/serve_rss.rs`.

// A bench that unwraps fails with the reason, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::System;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group};
use nbwatch::api::Listing;
use nbwatch::api::model::{Notebook, Pool, Status, User};
use nbwatch::app;
use nbwatch::serve::{Exporter, Format, Metrics, Shared};
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

/// A poll bringing `notebooks`: the next scrape renders the instances anew.
fn new_snapshot(shared: &Shared, notebooks: Vec<Notebook>) {
    shared.write().unwrap().apply(
        Message::Snapshot {
            listing: Listing {
                notebooks,
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
}

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
    println!("allocations of one scrape (after one warm-up scrape of an earlier snapshot):");
    println!(
        "{:<56} {:>11} {:>12} {:>7} {:>9}",
        "case", "output", "allocated", "allocs", "÷ output"
    );
    let row = |case: String, out: usize, bytes: usize, count: usize| {
        println!(
            "{case:<56} {out:>11} {bytes:>12} {count:>7} {:>9.3}",
            bytes as f64 / out as f64
        )
    };
    for n in [60, 10_000] {
        let shared = exporter(n);
        let m = Metrics::new(Arc::clone(&shared));
        for format in [Format::Classic, Format::OpenMetrics] {
            drop(m.render_parts(format));
            new_snapshot(&shared, population(n));
            // As Prometheus scrapes: gzip; the output is the compressed body.
            let gzip_scrape = || {
                let r = m.render_parts(format);
                r.gzip().1
            };
            let (bytes, count, len) = allocations(gzip_scrape);
            row(
                format!("first gzip scrape after a poll, {format:?}, {n}"),
                len,
                bytes,
                count,
            );
            let (bytes, count, len) = allocations(gzip_scrape);
            row(
                format!("next gzip scrapes, same snapshot, {format:?}, {n}"),
                len,
                bytes,
                count,
            );
            // A scraper without gzip: the text inflated chunk by chunk as sent.
            let (bytes, count, len) = allocations(|| {
                m.render_parts(format)
                    .plain()
                    .map(|c| c.map_or(0, |c| c.len()))
                    .sum::<usize>()
            });
            row(
                format!("plain scrapes, same snapshot, {format:?}, {n}"),
                len,
                bytes,
                count,
            );
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
    g.sample_size(30);
    for n in [60, 10_000] {
        let shared = exporter(n);
        let m = Metrics::new(Arc::clone(&shared));
        let pop = population(n);
        for format in [Format::Classic, Format::OpenMetrics] {
            drop(m.render_parts(format));
            g.bench_function(
                BenchmarkId::new(format!("first_after_poll_{format:?}"), n),
                |b| {
                    b.iter_batched(
                        || new_snapshot(&shared, pop.clone()),
                        |()| m.render_parts(format),
                        BatchSize::PerIteration,
                    )
                },
            );
            g.bench_function(
                BenchmarkId::new(format!("repeat_gzip_{format:?}"), n),
                |b| b.iter(|| m.render_parts(format).gzip()),
            );
            g.bench_function(
                BenchmarkId::new(format!("repeat_plain_{format:?}"), n),
                |b| {
                    b.iter(|| {
                        m.render_parts(format)
                            .plain()
                            .map(|c| c.map_or(0, |c| c.len()))
                            .sum::<usize>()
                    })
                },
            );
        }
        let out = m.render(Format::Classic);
        g.bench_with_input(BenchmarkId::new("baseline_copy_output", n), &out, |b, o| {
            b.iter(|| o.clone())
        });
        let reg = naive_registry(&pop);
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
        metrics: Arc::new(Metrics::new(shared)),
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
    benches();
    Criterion::default().configure_from_args().final_summary();
}
