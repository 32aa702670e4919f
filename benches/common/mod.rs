//! Shared by the criterion benches: a realistic population and a dashboard state
//! built from it, outside any timing loop.
#![allow(dead_code)]

use nbwatch::api::model::{Image, Lease, Notebook, Status};
use nbwatch::app::{self, App};

/// 2024-05-29 16:26:40 UTC: the "now" of every bench.
pub const NOW: i64 = 1_717_000_000_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// `n` instances with the mix of a large team: mostly running, some stopped, a
/// few creating (transitional) and failed; leases spread over four hours.
pub fn many(n: usize) -> Vec<Notebook> {
    (0..n)
        .map(|i| {
            let status = match i % 37 {
                0 => "CREATE_FAILED",
                1 | 5 | 9 => "STOPPED",
                2 => "CREATING",
                3 => "STARTING",
                _ => "RUNNING",
            };
            let team = ["nlp", "vision", "speech", "rec", "infra"][i % 5];
            Notebook {
                id: Some(format!("{:08x}-aaaa-4bbb-8ccc-{:012x}", i * 7919, i)),
                name: Some(format!("{team}-worker-{i:05}-job")),
                status: Some(Status::parse(status)),
                feature: Some("NOTEBOOK".into()),
                flavor: Some(
                    [
                        "modelarts.vm.cpu.8u",
                        "modelarts.vm.gpu.v100",
                        "modelarts.vm.cpu.2u",
                    ][i % 3]
                        .into(),
                ),
                description: Some(String::new()),
                create_at: Some(NOW - (i as i64 % 500) * HOUR),
                update_at: Some(NOW - (i as i64 % 90) * MIN),
                workspace_id: Some("0".into()),
                image: Some(Image {
                    name: Some("pytorch1.8-cuda10.2-cudnn7-ubuntu18.04".into()),
                    tag: Some("2.0.0-release".into()),
                    kind: Some("BUILD_IN".into()),
                    arch: Some("X86_64".into()),
                    ..Default::default()
                }),
                lease: Some(Lease {
                    create_at: Some(NOW - HOUR),
                    duration: Some(HOUR + (i as i64 % 240) * MIN),
                    enable: Some(true),
                    kind: Some("timing".into()),
                    update_at: Some(NOW - HOUR),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect()
}

/// A dashboard state with `n` instances, after one snapshot.
pub fn app(n: usize) -> App {
    let mut a = App::new(app::Timing::default());
    a.apply_all([whole_sweep(many(n))], NOW);
    a
}

/// A whole sweep of the first source in one message, as a poller without
/// pages sends it.
#[allow(dead_code)] // not every bench uses every helper
pub fn whole_sweep(
    notebooks: Vec<Notebook>,
) -> (nbwatch::track::SourceId, nbwatch::watch::Message) {
    let message = nbwatch::watch::Message::Snapshot {
        listing: nbwatch::api::Listing {
            total: Some(notebooks.len() as i64),
            notebooks,
            requests: 1,
            passes: 1,
            complete: true,
        },
        took: std::time::Duration::ZERO,
        stats: nbwatch::watch::Stats::default(),
    };
    (nbwatch::track::SourceId(0), message)
}
