//! Instance → `NotebookResp` JSON, for the instances on the page being served only.

use serde_json::{Map, Value, json};

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
pub fn lease(inst: &Instance) -> Value {
    json!({
        "create_at": inst.lease.create_at,
        "duration": inst.lease.duration,
        "enable": inst.lease.enable,
        "type": if inst.lease.idle { "idle" } else { "timing" },
        "update_at": inst.lease.update_at,
    })
}

/// The full `NotebookResp` object at simulated time `now`.
pub fn notebook(inst: &Instance, now: i64) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(inst.id));
    o.insert("name".into(), json!(inst.name));
    o.insert("description".into(), json!(inst.description_text()));
    o.insert("status".into(), json!(inst.state.as_str()));
    o.insert("feature".into(), json!(inst.feature()));
    o.insert("flavor".into(), json!(inst.flavor_info().name));
    o.insert("url".into(), json!(url(inst)));
    o.insert("token".into(), json!(token(inst)));
    o.insert("workspace_id".into(), json!(inst.workspace_id()));
    if let Some(r) = inst.fail_reason {
        o.insert("fail_reason".into(), json!(r));
    }
    if let Some(ip) = ip(inst) {
        o.insert("ip".into(), json!(ip));
    }
    let user = inst.user_info();
    o.insert("user_id".into(), json!(user.id));
    o.insert("create_at".into(), json!(inst.create_at));
    o.insert("update_at".into(), json!(inst.update_at));
    o.insert(
        "action_progress".into(),
        Value::Array(
            inst.steps
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let step = k as i64 + 1;
                    let mut p = json!({
                        "notebook_id": inst.id,
                        "status": s.as_str(),
                        "step": step,
                        "step_description": JobProgress::step_name(step),
                    });
                    if *s == super::instance::Step::Failed
                        && let (Some(r), Some(m)) = (inst.fail_reason, p.as_object_mut())
                    {
                        m.insert("description".into(), json!(r));
                    }
                    p
                })
                .collect(),
        ),
    );
    o.insert("endpoints".into(), endpoints(inst));
    o.insert("image".into(), image(inst));
    o.insert("lease".into(), lease(inst));
    o.insert("volume".into(), volume(inst, now));
    o.insert("data_volumes".into(), data_volumes(inst));
    if let Some(p) = inst.pool_info() {
        o.insert("pool".into(), json!({"id": p.id, "name": p.name}));
        let f = inst.flavor_info();
        o.insert(
            "custom_spec".into(),
            json!({
                "gpu": f.spec.0,
                "cpu": f.spec.1,
                "memory": f.spec.2 * 1024,
                "gpu_type": f.spec.3,
                "arch": f.arch.as_str(),
                "category": f.category,
                "resource_flavor": f.name,
            }),
        );
    }
    let domain = catalog::DOMAINS
        .get(user.domain)
        .copied()
        .unwrap_or(catalog::DOMAINS[0]);
    o.insert(
        "user".into(),
        json!({"id": user.id, "name": user.name, "domain": {"id": domain.0, "name": domain.1}}),
    );
    o.insert(
        "billing_items".into(),
        if inst.codelab {
            json!([])
        } else if inst.billing == 1 {
            json!(["ALL"])
        } else {
            json!(["STORAGE", "COMPUTE"])
        },
    );
    o.insert(
        "tags".into(),
        Value::Array(
            catalog::TAGS
                .iter()
                .enumerate()
                .filter(|(b, _)| inst.tags & (1 << b) != 0)
                .map(|(_, (k, v))| json!({"key": k, "value": v}))
                .collect(),
        ),
    );
    Value::Object(o)
}

fn endpoints(inst: &Instance) -> Value {
    let mut v = vec![json!({
        "service": "NOTEBOOK",
        "dev_service": "NOTEBOOK",
        "uri": url(inst),
    })];
    if inst.ssh {
        let kp = key_pair(inst);
        v.push(json!({
            "service": "SSH",
            "dev_service": "SSH",
            "uri": format!(
                "ssh://dev-modelarts-{}.huaweicloud.com:{}",
                REGION_HOST.replace('-', ""),
                30000 + (mix(inst.seed ^ 0x22) % 2000)
            ),
            "ssh_keys": [kp],
            "key_pair_names": [kp],
            "allowed_access_ips": if inst.seed.is_multiple_of(2) {
                json!(["203.0.113.0/24", "198.51.100.7"])
            } else {
                json!([])
            },
        }));
    }
    Value::Array(v)
}

fn image(inst: &Instance) -> Value {
    let img = inst.image_info();
    let categories = match inst.flavor_info().category {
        "ASCEND" => json!(["ASCEND"]),
        "GPU" => json!(["GPU"]),
        _ => json!(["CPU"]),
    };
    json!({
        "id": img.id,
        "name": img.name,
        "namespace": img.namespace,
        "swr_path": swr_path(img),
        "tag": img.tag,
        "type": if img.dedicated { "DEDICATED" } else { "BUILD_IN" },
        "arch": img.arch.as_str(),
        "description": img.description,
        "origin": if img.dedicated { "CUSTOMIZE" } else { "IMAGE_SAVE" },
        "service_type": "COMMON",
        "status": "ACTIVE",
        "visibility": if img.dedicated { "PRIVATE" } else { "PUBLIC" },
        "workspace_id": "0",
        "create_at": img.create_at,
        "update_at": img.create_at,
        "size": img.size,
        "dev_services": ["NOTEBOOK", "SSH"],
        "resource_categories": categories,
    })
}

fn volume(inst: &Instance, now: i64) -> Value {
    let v = inst.volume;
    let mut o = json!({
        "capacity": v.capacity,
        "category": v.kind.as_str(),
        "mount_path": "/home/ma-user/work/",
        "ownership": if v.kind == VolumeKind::Evs { "MANAGED" } else { "DEDICATED" },
        "read_only": false,
    });
    if let Some(m) = o.as_object_mut() {
        if v.kind != VolumeKind::Evs {
            m.insert(
                "id".into(),
                json!(uuid_from(mix(inst.seed ^ 0x5f5), mix(inst.seed ^ 0x5f6))),
            );
            m.insert(
                "uri".into(),
                json!(format!(
                    "{}://192.168.0.{}:/share-{:04x}",
                    if v.kind == VolumeKind::Sfs {
                        "sfs-turbo"
                    } else {
                        "efs"
                    },
                    mix(inst.seed ^ 3) % 200 + 10,
                    mix(inst.seed ^ 4) & 0xFFFF
                )),
            );
            m.insert("mount_type".into(), json!("STATIC"));
        }
        if now < v.resizing_until {
            m.insert("status".into(), json!("RESIZING"));
        }
    }
    o
}

fn data_volumes(inst: &Instance) -> Value {
    let mut v = Vec::new();
    if inst.data_volumes & 1 != 0 {
        v.push(json!({
            "category": "OBS",
            "mount_path": "/data/datasets/",
            "url": "obs://ml-datasets-acme/coco2017/",
            "status": "MOUNTED",
            "mount_type": "DYNAMIC",
        }));
    }
    if inst.data_volumes & 2 != 0 {
        v.push(json!({
            "category": "SFS",
            "mount_path": "/data/shared/",
            "url": "sfs-turbo://192.168.0.45:/team-share",
            "status": "MOUNTED",
            "mount_type": "STATIC",
        }));
    }
    Value::Array(v)
}
