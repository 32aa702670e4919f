//! Realistic notebooks for tests: every kind of status, a failed creation with its
//! failed step, a frozen one, leases about to end, non-ASCII names, a status this
//! version does not know.

use crate::api::model::{
    DataVolume, Domain, Endpoint, Image, JobProgress, Lease, Notebook, Pool, Status, Tag, User,
    Volume, WireNotebook,
};

/// 2024-05-29 16:26:40 UTC: the "now" of every fixture.
pub const NOW: i64 = 1_717_000_000_000;
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

/// The timing the fixtures' snapshots and assertions are written for: a 10 s
/// interval and a 10 min stuck threshold, pinned so that changing a default does
/// not silently change what a test checks.
pub fn timing() -> crate::app::Timing {
    crate::app::Timing {
        interval: std::time::Duration::from_secs(10),
        stuck_after: std::time::Duration::from_secs(10 * 60),
    }
}

pub fn nb(id: &str, name: &str, status: &str) -> Notebook {
    Notebook {
        id: Some(id.into()),
        name: Some(name.into()),
        status: Some(Status::parse(status)),
        feature: Some("NOTEBOOK".into()),
        flavor: Some("modelarts.vm.cpu.8u".into()),
        description: Some(String::new()),
        create_at: Some(NOW - 2 * DAY),
        update_at: Some(NOW),
        workspace_id: Some("0".into()),
        image: Some(Image {
            name: Some("pytorch1.8-cuda10.2-cudnn7-ubuntu18.04".into()),
            tag: Some("2.0.0-release".into()),
            kind: Some("BUILD_IN".into()),
            arch: Some("X86_64".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A lease that stops the instance `remaining_ms` after `NOW`.
pub fn lease(remaining_ms: i64) -> Lease {
    Lease {
        create_at: Some(NOW - HOUR),
        duration: Some(HOUR + remaining_ms),
        enable: Some(true),
        kind: Some("timing".into()),
        update_at: Some(NOW - HOUR),
        ..Default::default()
    }
}

fn step(n: i64, status: &str) -> JobProgress {
    JobProgress {
        notebook_id: None,
        status: Some(status.into()),
        step: Some(n),
        step_description: Some(JobProgress::step_name(n).into()),
        description: None,
        ..Default::default()
    }
}

/// The full fixture set: 13 instances.
pub fn notebooks() -> Vec<Notebook> {
    let mut bert = nb(
        "3f6a2c1e-0b7d-4e8a-9c55-1d2e3f4a5b6c",
        "train-bert-large",
        "RUNNING",
    );
    bert.flavor = Some("modelarts.vm.gpu.v100".into());
    bert.description = Some("BERT-large pretraining on wiki-zh".into());
    bert.lease = Some(lease(3 * HOUR + 12 * MIN));
    bert.token = Some("58ba50c6-e8ff-245c-4840-49e51aa70737".into());
    bert.url = Some("https://authoring-modelarts-cnnorth4.huaweicloud.com/3f6a2c1e/lab".into());
    bert.create_at = Some(NOW - 3 * DAY - 4 * HOUR);
    bert.endpoints = vec![
        Endpoint {
            service: Some("NOTEBOOK".into()),
            uri: Some("https://authoring-modelarts-cnnorth4.huaweicloud.com/3f6a2c1e".into()),
            ..Default::default()
        },
        Endpoint {
            service: Some("SSH".into()),
            uri: Some("ssh://dev-modelarts-cnnorth4.huaweicloud.com:31205".into()),
            key_pair_names: vec!["KeyPair-bert".into()],
            allowed_access_ips: vec!["203.0.113.7".into(), "198.51.100.0/24".into()],
            ..Default::default()
        },
    ];
    bert.volume = Some(Volume {
        capacity: Some(100),
        category: Some("EVS".into()),
        mount_path: Some("/home/ma-user/work".into()),
        ownership: Some("MANAGED".into()),
        status: Some("RESIZING".into()),
        ..Default::default()
    });
    bert.data_volumes = vec![DataVolume {
        category: Some("OBSFS".into()),
        mount_path: Some("/data/wiki".into()),
        url: Some("obs://corpus/wiki-zh/".into()),
        status: Some("MOUNTED".into()),
        ..Default::default()
    }];
    bert.pool = Some(Pool {
        id: Some("pool-7f3e21".into()),
        name: Some("gpu-dedicated-a".into()),
        ..Default::default()
    });
    bert.user = Some(User {
        id: Some("9a8b7c6d5e4f".into()),
        name: Some("li.wei".into()),
        domain: Some(Domain {
            id: Some("d0d0".into()),
            name: Some("acme-ai".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    bert.billing_items = vec!["STORAGE".into(), "COMPUTE".into()];
    bert.tags = vec![Tag {
        key: Some("team".into()),
        value: Some("nlp".into()),
        ..Default::default()
    }];
    bert.action_progress = (1..=4).map(|n| step(n, "COMPLETED")).collect();

    let mut ds = nb(
        "5b1c9d20-aaaa-4bbb-8ccc-000000000002",
        "ds-exploration",
        "RUNNING",
    );
    ds.lease = Some(lease(8 * MIN));
    ds.create_at = Some(NOW - 5 * HOUR);

    let mut quick = nb(
        "7c2d0e31-aaaa-4bbb-8ccc-000000000003",
        "quick-test",
        "RUNNING",
    );
    quick.lease = Some(lease(90_000));
    quick.create_at = Some(NOW - 70 * MIN);
    quick.flavor = Some("modelarts.vm.cpu.2u".into());

    let mut zh = nb(
        "8d3e1f42-aaaa-4bbb-8ccc-000000000004",
        "训练-中文-ü",
        "RUNNING",
    );
    zh.lease = Some(Lease {
        enable: Some(false),
        ..lease(HOUR)
    });
    zh.flavor = Some("modelarts.bm.npu.arm.8snt9b3.d".into());
    zh.image = Some(Image {
        swr_path: Some("swr.cn-north-4.myhuaweicloud.com/acme/mindspore-2.2-cann7:v3".into()),
        kind: Some("DEDICATED".into()),
        arch: Some("AARCH64".into()),
        ..Default::default()
    });

    let mut prep = nb(
        "9e4f2053-aaaa-4bbb-8ccc-000000000005",
        "data-prep-01",
        "STOPPED",
    );
    prep.lease = Some(lease(2 * HOUR));
    prep.create_at = Some(NOW - 40 * DAY);

    let mut failed = nb(
        "a0502164-aaaa-4bbb-8ccc-000000000006",
        "llm-finetune-a100",
        "CREATE_FAILED",
    );
    failed.fail_reason = Some("Insufficient resources: no A100 available in pool".into());
    failed.flavor = Some("modelarts.vm.gpu.a100x8".into());
    failed.create_at = Some(NOW - 25 * MIN);
    failed.action_progress = vec![
        step(1, "COMPLETED"),
        step(2, "FAILED"),
        step(3, "WAITING"),
        step(4, "WAITING"),
    ];

    let mut frozen = nb(
        "b1613275-aaaa-4bbb-8ccc-000000000007",
        "frozen-account-nb",
        "FROZEN",
    );
    frozen.fail_reason = Some("Account in arrears".into());
    frozen.create_at = Some(NOW - 90 * DAY);

    let mut creating = nb(
        "c2724386-aaaa-4bbb-8ccc-000000000008",
        "new-instance",
        "CREATING",
    );
    creating.create_at = Some(NOW - 3 * MIN);
    creating.action_progress = vec![
        step(1, "COMPLETED"),
        step(2, "PROCESSING"),
        step(3, "WAITING"),
        step(4, "WAITING"),
    ];

    let snap = nb(
        "d3835497-aaaa-4bbb-8ccc-000000000009",
        "snapshot-job",
        "SNAPSHOTTING",
    );
    let mystery = nb(
        "e49465a8-aaaa-4bbb-8ccc-00000000000a",
        "mystery-box",
        "HIBERNATING",
    );
    let starting = nb(
        "f5a576b9-aaaa-4bbb-8ccc-00000000000b",
        "starting-up",
        "STARTING",
    );
    let mut broken = nb(
        "06b687ca-aaaa-4bbb-8ccc-00000000000c",
        "broken-kernel",
        "ERROR",
    );
    broken.fail_reason = Some("Container exited with code 137 (OOM)".into());
    let mut codelab = nb(
        "17c798db-aaaa-4bbb-8ccc-00000000000d",
        "codelab-free",
        "RUNNING",
    );
    codelab.feature = Some("DEFAULT".into());
    codelab.flavor = Some("modelarts.vm.cpu.free".into());
    codelab.create_at = Some(NOW - 12 * MIN);

    vec![
        bert, ds, quick, zh, prep, failed, frozen, creating, snap, mystery, starting, broken,
        codelab,
    ]
}

/// `n` plain instances, a few percent of them failed: for size and speed tests.
pub fn many(n: usize) -> Vec<Notebook> {
    (0..n)
        .map(|i| {
            let status = match i % 37 {
                0 => "CREATE_FAILED",
                1 => "STOPPED",
                2 => "CREATING",
                _ => "RUNNING",
            };
            let mut x = nb(&format!("id-{i:06}"), &format!("worker-{i:06}-job"), status);
            x.lease = Some(lease((i as i64 % 240) * MIN));
            x
        })
        .collect()
}

/// Presses `code` (no modifiers) at [`NOW`].
pub fn key(app: &mut crate::app::App, code: crossterm::event::KeyCode) -> Vec<crate::app::Effect> {
    app.handle_key(
        crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE),
        NOW,
    )
}

/// Types character `c` at [`NOW`].
pub fn chr(app: &mut crate::app::App, c: char) -> Vec<crate::app::Effect> {
    key(app, crossterm::event::KeyCode::Char(c))
}

/// Moves the selection to the row named `name` (which must be in the table).
pub fn select(app: &mut crate::app::App, name: &str) {
    chr(app, 'g');
    while app.selected().map(|t| t.name()) != Some(name) {
        chr(app, 'j');
    }
}

/// The key of instance `id` of the first source.
pub fn k(id: &str) -> crate::track::InstanceKey {
    crate::track::InstanceKey::new(crate::track::SourceId(0), id)
}

/// The key of instance `id` of source `source`.
pub fn ks(source: u16, id: &str) -> crate::track::InstanceKey {
    crate::track::InstanceKey::new(crate::track::SourceId(source), id)
}

/// Test drivers: each builds the message a poller sends and applies it
/// through [`App::apply_all`], the one path the product takes.
impl crate::app::App {
    /// A whole sweep of the first source at `at_ms`: every instance on one
    /// page, then the sweep's end (complete).
    pub fn sweep(&mut self, notebooks: Vec<Notebook>, at_ms: i64) {
        let n = notebooks.len() as u64;
        let src = crate::track::SourceId(0);
        self.apply_all(
            [
                (src, page_msg(notebooks, n, Some(n), at_ms)),
                (src, end_msg(true)),
            ],
            at_ms,
        );
    }

    /// One page of `source`'s sweep, read at `at_ms`. Returns whether the
    /// screen may show something new.
    pub fn page(
        &mut self,
        source: crate::track::SourceId,
        notebooks: Vec<Notebook>,
        progress: crate::app::SweepProgress,
        at_ms: i64,
    ) -> bool {
        let msg = page_msg(notebooks, progress.loaded, progress.total, at_ms);
        self.apply_all([(source, msg)], at_ms).visible()
    }

    /// The end of `source`'s sweep at `at_ms`.
    pub fn sweep_end(&mut self, source: crate::track::SourceId, complete: bool, at_ms: i64) {
        self.apply_all([(source, end_msg(complete))], at_ms);
    }

    /// A hot tick of `source` ending at `now_ms`. Returns whether a row changed.
    pub fn hot(
        &mut self,
        source: crate::track::SourceId,
        seen: Vec<(i64, Vec<Notebook>)>,
        gone: Vec<(String, i64)>,
        error: Option<crate::api::ApiError>,
        now_ms: i64,
    ) -> bool {
        let msg = crate::watch::Message::Hot {
            seen: seen
                .into_iter()
                .map(|(at, nbs)| (at, nbs.iter().map(WireNotebook::of).collect()))
                .collect(),
            gone,
            error,
            stats: crate::watch::Stats::default(),
        };
        self.apply_all([(source, msg)], now_ms).rows()
    }

    /// A poll of `source` started at `at_ms`.
    pub fn started(&mut self, source: crate::track::SourceId, at_ms: i64) {
        self.apply_all([(source, crate::watch::Message::Started)], at_ms);
    }

    /// A failed poll of `source`, as the poller describes it (the state keeps
    /// the description as given, so tests set each field they show).
    pub fn failed(
        &mut self,
        source: crate::track::SourceId,
        info: crate::app::PollErrorInfo,
        at_ms: i64,
    ) {
        self.track.fail(source, info, at_ms);
    }
}

fn page_msg(
    notebooks: Vec<Notebook>,
    loaded: u64,
    total: Option<u64>,
    at_ms: i64,
) -> crate::watch::Message {
    crate::watch::Message::Page {
        notebooks: notebooks.iter().map(WireNotebook::of).collect(),
        loaded,
        total,
        read_at_ms: at_ms,
    }
}

/// A sweep's end whose pages were all sent as pages.
fn end_msg(complete: bool) -> crate::watch::Message {
    crate::watch::Message::Snapshot {
        listing: crate::api::Listing {
            notebooks: Vec::new(),
            total: None,
            requests: 0,
            passes: 1,
            complete,
        },
        took: std::time::Duration::ZERO,
        stats: crate::watch::Stats::default(),
    }
}
