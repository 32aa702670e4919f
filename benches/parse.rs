//! Parsing one 10,000-instance `ListAllNotebooks` page: the typed, tolerant model
//! (`NotebookPage`) and the watchers' page of instance texts (`WirePage`) against a
//! plain `serde_json::Value`, on the same bytes, in the same run. The results are
//! meant to be compared as ratios.
//!
//! ```text
//! cargo bench --bench parse -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! The page is built in code, deterministically (no files, no randomness): every
//! field of the model is populated the way a real ModelArts response fills it, with
//! a few fields the model does not know and some non-ASCII names.

// A bench that cannot set up stops with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// One `json!` literal per instance is deep enough to need more macro recursion.
#![recursion_limit = "512"]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nbwatch::api::model::{NotebookPage, WirePage};
use serde_json::{Value, json};
use std::hint::black_box;

const INSTANCES: usize = 10_000;

/// A small deterministic generator (SplitMix64), so the page is the same on every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }
}

const STATUSES: [&str; 8] = [
    "RUNNING",
    "RUNNING",
    "RUNNING",
    "STOPPED",
    "STOPPED",
    "CREATING",
    "STARTING",
    "CREATE_FAILED",
];

const NAMES: [&str; 8] = [
    "notebook",
    "训练-实验",
    "llm-finetune",
    "café-analyse",
    "数据清洗",
    "bert-base",
    "résumé-parser",
    "yolo-v8",
];

const CAPACITIES: [i64; 4] = [5, 50, 100, 500];

const STEPS: [&str; 4] = ["STORAGE", "COMPUTE", "NETWORK", "INIT"];

const FLAVORS: [&str; 4] = [
    "modelarts.vm.cpu.2u",
    "modelarts.vm.cpu.8u",
    "modelarts.vm.gpu.t4",
    "modelarts.bm.npu.arm.8snt9b3.d",
];

const IMAGES: [(&str, &str, &str); 3] = [
    (
        "notebook2.0-mul-kernel-cpu-cp36",
        "3.3.2-release_v1",
        "X86_64",
    ),
    ("pytorch1.8-cuda10.2-cudnn7-ubuntu18.04", "v1", "X86_64"),
    (
        "mindspore_2.2.0-cann_7.0.1-py_3.9-euler_2.8.3",
        "v2",
        "AARCH64",
    ),
];

fn notebook(g: &mut Gen, i: usize) -> Value {
    let id = g.uuid();
    let user_id = g.hex32();
    let domain_id = g.hex32();
    let image_id = g.uuid();
    let pool_id = format!("pool-{:08x}", g.below(1 << 32));
    let created: i64 = 1_638_841_805_439 + (i as i64) * 61_013 + g.below(60_000) as i64;
    let updated = created + g.below(86_400_000) as i64;
    let status = STATUSES[i % STATUSES.len()];
    let name = format!("{}-{:05}", NAMES[i % NAMES.len()], i);
    let flavor = FLAVORS[i % FLAVORS.len()];
    let (img_name, img_tag, arch) = IMAGES[i % IMAGES.len()];
    let progress_status = |step: usize| {
        if status == "CREATE_FAILED" && step == 4 {
            "FAILED"
        } else {
            "COMPLETED"
        }
    };
    let action_progress: Vec<Value> = (1..=4)
        .map(|step| {
            json!({
                "notebook_id": id,
                "status": progress_status(step),
                "step": step,
                "step_description": STEPS[step - 1],
                "description": format!("step {step} of 4 done"),
            })
        })
        .collect();
    let ip = format!("192.168.{}.{}", g.below(256), g.below(254) + 1);
    json!({
        "id": id,
        "name": name,
        "description": format!("实验 {i}: fine-tune run, owner ops-team"),
        "status": status,
        "fail_reason": if status == "CREATE_FAILED" { "ModelArts.6309: insufficient resources in the pool" } else { "" },
        "feature": if i.is_multiple_of(5) { "DEFAULT" } else { "NOTEBOOK" },
        "flavor": flavor,
        "url": format!("https://authoring-modelarts-cnnorth4.huaweicloud.com/{id}/lab"),
        "token": g.uuid(),
        "workspace_id": if i.is_multiple_of(3) { "0".to_string() } else { g.hex32() },
        "ip": ip,
        "user_id": user_id,
        "jupyter_version": "3.4.8",
        "create_at": created,
        "update_at": updated,
        "action_progress": action_progress,
        "endpoints": [
            {
                "service": "NOTEBOOK",
                "dev_service": "JUPYTERLAB",
                "uri": format!("https://authoring-modelarts-cnnorth4.huaweicloud.com/{id}/lab"),
                "ssh_keys": [],
                "key_pair_names": [],
                "allowed_access_ips": [],
            },
            {
                "service": "NOTEBOOK",
                "dev_service": "SSH",
                "uri": format!("{ip}:{}", 30_000 + g.below(2_000)),
                "ssh_keys": [format!("KeyPair-{:04x}", g.below(65_536))],
                "key_pair_names": [format!("KeyPair-{:04x}", g.below(65_536))],
                "allowed_access_ips": ["10.0.0.0/8", format!("203.0.113.{}", g.below(255))],
            },
        ],
        "image": {
            "id": image_id,
            "name": img_name,
            "namespace": "atelier",
            "swr_path": format!("swr.cn-north-4.myhuaweicloud.com/atelier/{img_name}:{img_tag}"),
            "tag": img_tag,
            "type": "BUILD_IN",
            "arch": arch,
            "description": "Preset image, python 3 with common kernels",
            "origin": "CUSTOMIZE",
            "service_type": "COMMON",
            "status": "ACTIVE",
            "status_message": "",
            "visibility": "PUBLIC",
            "workspace_id": "0",
            "flavor_type": if arch == "AARCH64" { "ASCEND" } else { "CPU" },
            "show_name": img_name,
            "show_tag": img_tag,
            "create_at": 1_630_000_000_000i64,
            "update_at": 1_631_000_000_000i64,
            "size": 4_833_297 + g.below(1_000_000) as i64,
            "dev_services": ["NOTEBOOK", "SSH"],
            "resource_categories": ["CPU", "GPU"],
            "support_res_categories": ["CPU", "GPU"],
            "image_tags": [{"key": "os", "value": "ubuntu18.04"}],
        },
        "lease": {
            "create_at": created,
            "duration": 3_600_000 * (1 + g.below(8) as i64),
            "enable": !i.is_multiple_of(4),
            "type": "TIMING",
            "update_at": updated,
        },
        "volume": {
            "capacity": CAPACITIES[i % 4],
            "category": if i.is_multiple_of(2) { "EVS" } else { "EFS" },
            "mount_path": "/home/ma-user/work/",
            "ownership": "MANAGED",
            "status": "USING",
            "read_only": false,
            "id": g.uuid(),
            "uri": format!("obs://bucket-{}/notebooks/{id}/", i % 17),
            "mount_type": "DYNAMIC",
        },
        "data_volumes": [
            {
                "category": "OBS",
                "mount_path": "/data/datasets/",
                "url": format!("obs://datasets-{}/imagenet/", i % 7),
                "status": "MOUNTED",
                "mount_type": "DYNAMIC",
            },
        ],
        "pool": {
            "id": pool_id,
            "name": format!("训练资源池-{}", i % 3),
            "type": "DEDICATED",
        },
        "user": {
            "id": user_id,
            "name": format!("user_{}", i % 113),
            "domain": {
                "id": domain_id,
                "name": "hw_team_account",
            },
        },
        "billing_items": ["STORAGE", "COMPUTE"],
        "tags": [
            {"key": "project", "value": format!("项目-{}", i % 11)},
            {"key": "cost-center", "value": format!("cc-{:04}", i % 97)},
        ],
        "custom_spec": {
            "gpu": if arch == "AARCH64" { 1.0 } else { 0.0 },
            "cpu": 8.0,
            "memory": 32768.0,
            "gpu_type": if arch == "AARCH64" { "Ascend-snt9b" } else { "" },
            "arch": arch,
            "category": if arch == "AARCH64" { "ASCEND" } else { "CPU" },
            "resource_flavor": flavor,
        },
        // Fields this version of the model does not know.
        "affinity": {"type": "soft", "zones": ["cn-north-4a", "cn-north-4b"]},
        "hooks": null,
        "storage_class": "ssd",
        "spec_version": 2,
    })
}

/// The page as the service would send it: compact JSON, 10,000 instances.
fn page_bytes() -> Vec<u8> {
    let mut g = Gen(0x6e62_7761_7463_6800);
    let data: Vec<Value> = (0..INSTANCES).map(|i| notebook(&mut g, i)).collect();
    let page = json!({
        "current": 0,
        "data": data,
        "pages": 1,
        "size": INSTANCES,
        "total": INSTANCES,
    });
    serde_json::to_vec(&page).expect("a Value always serializes")
}

/// The typed model sees every instance and every nested part (so the benchmark
/// does not time a parse that fails or drops data).
fn check_typed(bytes: &[u8]) {
    let page: NotebookPage = serde_json::from_slice(bytes).expect("typed parse");
    assert_eq!(page.data.len(), INSTANCES);
    let nb = &page.data[1];
    assert!(nb.image.as_ref().is_some_and(|i| i.swr_path.is_some()));
    assert_eq!(nb.action_progress.len(), 4);
    assert_eq!(nb.endpoints.len(), 2);
    assert!(nb.user.as_ref().is_some_and(|u| u.domain.is_some()));
    assert!(nb.extra.contains_key("affinity"));
}

/// `Value` runs first: parsing with the old typed model left the allocator in a
/// state that made a following `Value` parse 2-3x slower, so the typed parse (and
/// its check) must not run before the baseline.
fn parse(c: &mut Criterion) {
    let bytes = page_bytes();
    let mut group = c.benchmark_group("parse_10k_instances");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(10);
    group.bench_function("serde_json_Value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&bytes)).map(|v| v.is_object()))
    });
    // Criterion runs each benchmark as it is added: this is after the baseline.
    check_typed(&bytes);
    group.bench_function("typed_NotebookPage", |b| {
        b.iter(|| serde_json::from_slice::<NotebookPage>(black_box(&bytes)).map(|p| p.data.len()))
    });
    // What the watchers read: each instance's text, id and fingerprint, no field
    // decoded (an instance is decoded only when its text changed since the last
    // sweep: none of the page's, in a quiet project).
    group.bench_function("wire_page", |b| {
        b.iter(|| serde_json::from_slice::<WirePage>(black_box(&bytes)).map(|p| p.data.len()))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
