//! Instance → `NotebookResp` JSON, for the instances on the page being served only.
//!
//! Rendered through borrowed `Serialize` views straight into the response text:
//! no `serde_json::Value` tree is built per instance, so a page costs the
//! simulator little CPU and a refresh bench measures the client. Field order is
//! the service's.

use serde::Serialize;

use super::catalog;
use super::instance::{Instance, State, VolumeKind};
use super::rng::{mix, uuid_from};
use crate::api::model::JobProgress;

const REGION_HOST: &str = "cn-north-4";

/// The notebook's access token: derived from the instance seed, stable for its life.
pub fn token(inst: &Instance) -> String {
    uuid_from(mix(inst.seed ^ 0x70c3), mix(inst.seed ^ 0x7e11))
}

fn url(inst: &Instance) -> String {
    format!(
        "https://authoring-modelarts-{}.huaweicloud.com/{}/lab",
        REGION_HOST.replace('-', ""),
        inst.id
    )
}

/// The instance's private IP, present while it has a container.
pub fn ip(inst: &Instance) -> Option<String> {
    matches!(
        inst.state,
        State::Running | State::Snapshotting | State::Stopping | State::Starting
    )
    .then(|| ip_of(inst))
}

fn ip_of(inst: &Instance) -> String {
    let m = mix(inst.seed ^ 0x1b);
    format!("192.168.{}.{}", (m >> 8) % 250 + 1, m % 250 + 2)
}

fn key_pair(inst: &Instance) -> String {
    format!("KeyPair-{:04x}", mix(inst.seed ^ 0x55) & 0xFFFF)
}

pub fn swr_path(img: &catalog::ImageInfo) -> String {
    format!(
        "swr.{REGION_HOST}.myhuaweicloud.com/{}/{}:{}",
        img.namespace, img.name, img.tag
    )
}

/// The auto-stop settings (`LeaseResp`), as in an instance and as ShowLease answers.
pub fn lease(inst: &Instance) -> serde_json::Value {
    serde_json::to_value(lease_view(inst)).unwrap_or_default()
}

fn lease_view(inst: &Instance) -> LeaseView {
    LeaseView {
        create_at: inst.lease.create_at,
        duration: inst.lease.duration,
        enable: inst.lease.enable,
        kind: if inst.lease.idle { "idle" } else { "timing" },
        update_at: inst.lease.update_at,
    }
}

/// The full `NotebookResp` object at simulated time `now`, as a JSON value
/// (ShowNotebook and the actions answer one instance; pages use [`notebook`]).
pub fn notebook_value(inst: &Instance, now: i64) -> serde_json::Value {
    serde_json::to_value(notebook(inst, now)).unwrap_or_default()
}

/// The full `NotebookResp` object at simulated time `now`.
pub fn notebook(inst: &Instance, now: i64) -> NotebookView<'_> {
    let user = inst.user_info();
    let domain = catalog::DOMAINS
        .get(user.domain)
        .copied()
        .unwrap_or(catalog::DOMAINS[0]);
    let f = inst.flavor_info();
    NotebookView {
        id: &inst.id,
        name: &inst.name,
        description: inst.description_text(),
        status: inst.state.as_str(),
        feature: inst.feature(),
        flavor: f.name,
        url: url(inst),
        token: token(inst),
        workspace_id: inst.workspace_id(),
        fail_reason: inst.fail_reason,
        ip: ip(inst),
        user_id: user.id,
        create_at: inst.create_at,
        update_at: inst.update_at,
        action_progress: inst
            .steps
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let step = k as i64 + 1;
                ProgressView {
                    notebook_id: &inst.id,
                    status: s.as_str(),
                    step,
                    step_description: JobProgress::step_name(step),
                    description: if *s == super::instance::Step::Failed {
                        inst.fail_reason
                    } else {
                        None
                    },
                }
            })
            .collect(),
        endpoints: endpoints(inst),
        image: image(inst),
        lease: lease_view(inst),
        volume: volume(inst, now),
        data_volumes: data_volumes(inst),
        pool: inst.pool_info().map(|p| PoolView {
            id: p.id,
            name: p.name,
        }),
        custom_spec: inst.pool_info().map(|_| CustomSpecView {
            gpu: f.spec.0,
            cpu: f.spec.1,
            memory: f.spec.2 * 1024,
            gpu_type: f.spec.3,
            arch: f.arch.as_str(),
            category: f.category,
            resource_flavor: f.name,
        }),
        user: UserView {
            id: user.id,
            name: user.name,
            domain: DomainView {
                id: domain.0,
                name: domain.1,
            },
        },
        billing_items: if inst.codelab {
            &[]
        } else if inst.billing == 1 {
            &["ALL"]
        } else {
            &["STORAGE", "COMPUTE"]
        },
        tags: catalog::TAGS
            .iter()
            .enumerate()
            .filter(|(b, _)| inst.tags & (1 << b) != 0)
            .map(|(_, (k, v))| TagView { key: k, value: v })
            .collect(),
    }
}

/// One `NotebookResp`, borrowed from the instance and the catalog.
#[derive(Serialize)]
pub struct NotebookView<'a> {
    id: &'a str,
    name: &'a str,
    description: &'static str,
    status: &'static str,
    feature: &'static str,
    flavor: &'static str,
    url: String,
    token: String,
    workspace_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fail_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    user_id: &'static str,
    create_at: i64,
    update_at: i64,
    action_progress: Vec<ProgressView<'a>>,
    endpoints: Vec<EndpointView>,
    image: ImageView,
    lease: LeaseView,
    volume: VolumeView,
    data_volumes: Vec<DataVolumeView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<PoolView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_spec: Option<CustomSpecView>,
    user: UserView,
    billing_items: &'static [&'static str],
    tags: Vec<TagView>,
}

#[derive(Serialize)]
struct ProgressView<'a> {
    notebook_id: &'a str,
    status: &'static str,
    step: i64,
    step_description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'static str>,
}

#[derive(Serialize)]
struct EndpointView {
    service: &'static str,
    dev_service: &'static str,
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssh_keys: Option<[String; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_pair_names: Option<[String; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_access_ips: Option<&'static [&'static str]>,
}

#[derive(Serialize)]
struct ImageView {
    id: &'static str,
    name: &'static str,
    namespace: &'static str,
    swr_path: String,
    tag: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    arch: &'static str,
    description: &'static str,
    origin: &'static str,
    service_type: &'static str,
    status: &'static str,
    visibility: &'static str,
    workspace_id: &'static str,
    create_at: i64,
    update_at: i64,
    size: i64,
    dev_services: [&'static str; 2],
    resource_categories: [&'static str; 1],
}

#[derive(Serialize)]
struct LeaseView {
    create_at: i64,
    duration: i64,
    enable: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    update_at: i64,
}

#[derive(Serialize)]
struct VolumeView {
    capacity: u32,
    category: &'static str,
    mount_path: &'static str,
    ownership: &'static str,
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mount_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

#[derive(Serialize)]
struct DataVolumeView {
    category: &'static str,
    mount_path: &'static str,
    url: &'static str,
    status: &'static str,
    mount_type: &'static str,
}

#[derive(Serialize)]
struct PoolView {
    id: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
struct CustomSpecView {
    gpu: u32,
    cpu: u32,
    memory: u32,
    gpu_type: &'static str,
    arch: &'static str,
    category: &'static str,
    resource_flavor: &'static str,
}

#[derive(Serialize)]
struct UserView {
    id: &'static str,
    name: &'static str,
    domain: DomainView,
}

#[derive(Serialize)]
struct DomainView {
    id: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
struct TagView {
    key: &'static str,
    value: &'static str,
}

fn endpoints(inst: &Instance) -> Vec<EndpointView> {
    let mut v = vec![EndpointView {
        service: "NOTEBOOK",
        dev_service: "NOTEBOOK",
        uri: url(inst),
        ssh_keys: None,
        key_pair_names: None,
        allowed_access_ips: None,
    }];
    if inst.ssh {
        let kp = key_pair(inst);
        // The reference pages leave the shapes open (see `crate::ssh`): the
        // uri is `ssh://host:port`, `host:port` or the bare private IP the
        // reference page describes, and the key pair comes in
        // `key_pair_names`, `ssh_keys` (older answers) or both.
        let port = 30000 + (mix(inst.seed ^ 0x22) % 2000);
        let host = format!(
            "dev-modelarts-{}.huaweicloud.com",
            REGION_HOST.replace('-', "")
        );
        let shape = mix(inst.seed ^ 0x5a);
        let uri = match shape % 5 {
            0 | 1 => format!("ssh://{host}:{port}"),
            2 | 3 => format!("{host}:{port}"),
            _ => ip_of(inst),
        };
        let (ssh_keys, key_pair_names) = match (shape >> 8) % 3 {
            0 => (Some([kp.clone()]), Some([kp])),
            1 => (None, Some([kp])),
            _ => (Some([kp]), None),
        };
        v.push(EndpointView {
            service: "SSH",
            dev_service: "SSH",
            uri,
            ssh_keys,
            key_pair_names,
            allowed_access_ips: Some(if inst.seed.is_multiple_of(2) {
                &["203.0.113.0/24", "198.51.100.7"]
            } else {
                &[]
            }),
        });
    }
    v
}

fn image(inst: &Instance) -> ImageView {
    let img = inst.image_info();
    let category = match inst.flavor_info().category {
        "ASCEND" => "ASCEND",
        "GPU" => "GPU",
        _ => "CPU",
    };
    ImageView {
        id: img.id,
        name: img.name,
        namespace: img.namespace,
        swr_path: swr_path(img),
        tag: img.tag,
        kind: if img.dedicated {
            "DEDICATED"
        } else {
            "BUILD_IN"
        },
        arch: img.arch.as_str(),
        description: img.description,
        origin: if img.dedicated {
            "CUSTOMIZE"
        } else {
            "IMAGE_SAVE"
        },
        service_type: "COMMON",
        status: "ACTIVE",
        visibility: if img.dedicated { "PRIVATE" } else { "PUBLIC" },
        workspace_id: "0",
        create_at: img.create_at,
        update_at: img.create_at,
        size: img.size,
        dev_services: ["NOTEBOOK", "SSH"],
        resource_categories: [category],
    }
}

fn volume(inst: &Instance, now: i64) -> VolumeView {
    let v = inst.volume;
    let shared = v.kind != VolumeKind::Evs;
    VolumeView {
        capacity: v.capacity,
        category: v.kind.as_str(),
        mount_path: "/home/ma-user/work/",
        ownership: if shared { "DEDICATED" } else { "MANAGED" },
        read_only: false,
        id: shared.then(|| uuid_from(mix(inst.seed ^ 0x5f5), mix(inst.seed ^ 0x5f6))),
        uri: shared.then(|| {
            format!(
                "{}://192.168.0.{}:/share-{:04x}",
                if v.kind == VolumeKind::Sfs {
                    "sfs-turbo"
                } else {
                    "efs"
                },
                mix(inst.seed ^ 3) % 200 + 10,
                mix(inst.seed ^ 4) & 0xFFFF
            )
        }),
        mount_type: shared.then_some("STATIC"),
        status: (now < v.resizing_until).then_some("RESIZING"),
    }
}

fn data_volumes(inst: &Instance) -> Vec<DataVolumeView> {
    let mut v = Vec::new();
    if inst.data_volumes & 1 != 0 {
        v.push(DataVolumeView {
            category: "OBS",
            mount_path: "/data/datasets/",
            url: "obs://ml-datasets-acme/coco2017/",
            status: "MOUNTED",
            mount_type: "DYNAMIC",
        });
    }
    if inst.data_volumes & 2 != 0 {
        v.push(DataVolumeView {
            category: "SFS",
            mount_path: "/data/shared/",
            url: "sfs-turbo://192.168.0.45:/team-share",
            status: "MOUNTED",
            mount_type: "STATIC",
        });
    }
    v
}
