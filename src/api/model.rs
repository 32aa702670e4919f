//! Serde types for the `ListAllNotebooks` response.
//!
//! Every field is optional and tolerant: a field that is absent, `null` or of an
//! unexpected type becomes `None` instead of failing the whole page, and fields we
//! do not know are kept in `extra` so JSON output can hand them back to the user.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Unknown fields, kept verbatim.
pub type Extra = BTreeMap<String, Value>;

/// One page of `GET /v1/{project_id}/notebooks/all`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotebookPage {
    #[serde(default, deserialize_with = "lenient::int")]
    pub current: Option<i64>,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub data: Vec<Notebook>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub pages: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub total: Option<i64>,
}

/// One notebook instance (`NotebookResp`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notebook {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub description: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::status"
    )]
    pub status: Option<Status>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub fail_reason: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub feature: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub flavor: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub url: Option<String>,
    /// Authenticates to the running notebook: a secret. Never displayed in clear.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub token: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub workspace_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub ip: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub user_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub jupyter_version: Option<String>,
    /// Epoch milliseconds, UTC.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub create_at: Option<i64>,
    /// Epoch milliseconds, UTC.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub update_at: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::vec"
    )]
    pub action_progress: Vec<JobProgress>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::vec"
    )]
    pub endpoints: Vec<Endpoint>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::object"
    )]
    pub image: Option<Image>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::object"
    )]
    pub lease: Option<Lease>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::object"
    )]
    pub volume: Option<Volume>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::vec"
    )]
    pub data_volumes: Vec<DataVolume>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::object"
    )]
    pub pool: Option<Pool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::object"
    )]
    pub user: Option<User>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::string_vec"
    )]
    pub billing_items: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::vec"
    )]
    pub tags: Vec<Tag>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::object"
    )]
    pub custom_spec: Option<CustomSpec>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for Notebook {
    // Hand-written so the notebook token can never reach a log line through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notebook")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("status", &self.status)
            .field("feature", &self.feature)
            .field("flavor", &self.flavor)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("create_at", &self.create_at)
            .field("update_at", &self.update_at)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl Notebook {
    /// The id, or an empty string when the service left it out.
    pub fn id_str(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }

    pub fn name_str(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The status, `Unknown("")` when absent.
    pub fn status_or_unknown(&self) -> Status {
        self.status
            .clone()
            .unwrap_or(Status::Unknown(String::new()))
    }

    /// Milliseconds since creation at `now_ms`, if the creation time is known.
    pub fn age_ms(&self, now_ms: i64) -> Option<i64> {
        self.create_at.map(|c| now_ms.saturating_sub(c).max(0))
    }

    /// When the lease stops the instance, if auto-stop is on.
    pub fn lease_end_ms(&self) -> Option<i64> {
        self.lease.as_ref().and_then(Lease::end_ms)
    }

    /// The notebook token, masked for display: `58ba…(36)` becomes `••••0737`.
    pub fn masked_token(&self) -> Option<String> {
        self.token.as_deref().map(mask_secret)
    }
}

/// Masks a secret for display: only the last 4 characters of a long value survive.
pub fn mask_secret(s: &str) -> String {
    let n = s.chars().count();
    if n < 12 {
        return "••••••••".to_string();
    }
    let tail: String = s.chars().skip(n - 4).collect();
    format!("••••••••{tail}")
}

/// Instance status: the 14 documented values, and whatever new one the service invents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
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
    /// A value this version does not know, kept as the service sent it.
    Unknown(String),
}

impl Status {
    /// Every documented status, in lifecycle order.
    pub const ALL: [Status; 14] = [
        Status::Init,
        Status::Creating,
        Status::Starting,
        Status::Running,
        Status::Snapshotting,
        Status::Stopping,
        Status::Stopped,
        Status::Deleting,
        Status::Deleted,
        Status::CreateFailed,
        Status::StartFailed,
        Status::DeleteFailed,
        Status::Error,
        Status::Frozen,
    ];

    pub fn parse(s: &str) -> Status {
        match s {
            "INIT" => Status::Init,
            "CREATING" => Status::Creating,
            "STARTING" => Status::Starting,
            "STOPPING" => Status::Stopping,
            "DELETING" => Status::Deleting,
            "RUNNING" => Status::Running,
            "STOPPED" => Status::Stopped,
            "SNAPSHOTTING" => Status::Snapshotting,
            "CREATE_FAILED" => Status::CreateFailed,
            "START_FAILED" => Status::StartFailed,
            "DELETE_FAILED" => Status::DeleteFailed,
            "ERROR" => Status::Error,
            "DELETED" => Status::Deleted,
            "FROZEN" => Status::Frozen,
            other => Status::Unknown(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Status::Init => "INIT",
            Status::Creating => "CREATING",
            Status::Starting => "STARTING",
            Status::Stopping => "STOPPING",
            Status::Deleting => "DELETING",
            Status::Running => "RUNNING",
            Status::Stopped => "STOPPED",
            Status::Snapshotting => "SNAPSHOTTING",
            Status::CreateFailed => "CREATE_FAILED",
            Status::StartFailed => "START_FAILED",
            Status::DeleteFailed => "DELETE_FAILED",
            Status::Error => "ERROR",
            Status::Deleted => "DELETED",
            Status::Frozen => "FROZEN",
            Status::Unknown(s) => s,
        }
    }

    /// A status the instance is expected to leave on its own.
    pub fn is_transitional(&self) -> bool {
        matches!(
            self,
            Status::Init
                | Status::Creating
                | Status::Starting
                | Status::Stopping
                | Status::Deleting
                | Status::Snapshotting
        )
    }

    /// A status that needs a human: failed, errored or frozen.
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            Status::CreateFailed
                | Status::StartFailed
                | Status::DeleteFailed
                | Status::Error
                | Status::Frozen
        )
    }

    pub fn is_known(&self) -> bool {
        !matches!(self, Status::Unknown(_))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Status::parse(s))
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(Status::parse(&s))
    }
}

/// One of the four creation steps (`JobProgress`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub notebook_id: Option<String>,
    /// `WAITING`, `PROCESSING`, `FAILED` or `COMPLETED`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub status: Option<String>,
    /// 1 prepare storage, 2 prepare compute, 3 configure network, 4 initialise instance.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub step: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub step_description: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl JobProgress {
    /// The documented name of a step number.
    pub fn step_name(step: i64) -> &'static str {
        match step {
            1 => "prepare storage",
            2 => "prepare compute",
            3 => "configure network",
            4 => "initialise instance",
            _ => "step",
        }
    }
}

/// An access endpoint (`EndpointsRes`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub service: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub dev_service: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub uri: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::string_vec"
    )]
    pub ssh_keys: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::string_vec"
    )]
    pub key_pair_names: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::string_vec"
    )]
    pub allowed_access_ips: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The instance's image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub namespace: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub swr_path: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub tag: Option<String>,
    /// `BUILD_IN` or `DEDICATED`.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub kind: Option<String>,
    /// `X86_64` or `AARCH64`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub arch: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub description: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub origin: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub service_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub status: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub status_message: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub visibility: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub workspace_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub flavor_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub show_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub show_tag: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub create_at: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub update_at: Option<i64>,
    /// Size in KB.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub size: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::string_vec"
    )]
    pub dev_services: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::string_vec"
    )]
    pub resource_categories: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::string_vec"
    )]
    pub support_res_categories: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Image {
    /// A short label: `name:tag`, or the last part of the SWR path.
    pub fn label(&self) -> String {
        match (&self.name, &self.tag, &self.swr_path) {
            (Some(n), Some(t), _) => format!("{n}:{t}"),
            (_, _, Some(p)) => p.rsplit('/').next().unwrap_or(p).to_string(),
            (Some(n), None, None) => n.clone(),
            _ => String::new(),
        }
    }
}

/// Auto-stop settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub create_at: Option<i64>,
    /// Milliseconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub duration: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::boolean"
    )]
    pub enable: Option<bool>,
    /// `timing` or `idle`, in any case.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub kind: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub update_at: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Lease {
    pub fn enabled(&self) -> bool {
        self.enable.unwrap_or(false)
    }

    /// Auto-stop time (`create_at + duration`) when the lease is enabled.
    pub fn end_ms(&self) -> Option<i64> {
        if !self.enabled() {
            return None;
        }
        Some(self.create_at?.saturating_add(self.duration?))
    }

    /// Milliseconds left before auto-stop at `now_ms` (negative once overdue).
    pub fn remaining_at(&self, now_ms: i64) -> Option<i64> {
        self.end_ms().map(|end| end.saturating_sub(now_ms))
    }
}

/// The instance's storage (`VolumeRes`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// GB.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::int"
    )]
    pub capacity: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub category: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub mount_path: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub ownership: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub status: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::boolean"
    )]
    pub read_only: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub uri: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub mount_type: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An extra data volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataVolume {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub category: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub mount_path: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub url: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub status: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub mount_type: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A dedicated resource pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The owner of the instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::object"
    )]
    pub domain: Option<Domain>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The account a user belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A resource tag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub key: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub value: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A custom compute spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::float"
    )]
    pub gpu: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::float"
    )]
    pub cpu: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::float"
    )]
    pub memory: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub gpu_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub arch: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub category: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::string"
    )]
    pub resource_flavor: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Deserializers that turn a value of the wrong type into `None` (or an empty list)
/// instead of failing the whole response: one odd field must not blank the dashboard.
mod lenient {
    use super::Status;
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
    }

    pub fn status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Status>, D::Error> {
        Ok(string(d)?.map(|s| Status::parse(&s)))
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        })
    }

    pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        match Value::deserialize(d)? {
            v @ Value::Object(_) => Ok(serde_json::from_value(v).ok()),
            _ => Ok(None),
        }
    }

    pub fn vec<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
        match Value::deserialize(d)? {
            Value::Array(items) => Ok(items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect()),
            _ => Ok(Vec::new()),
        }
    }

    pub fn string_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Array(items) => Ok(items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()),
            Value::String(s) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()),
            _ => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE_EXAMPLE: &str = include_str!("../../tests/data/reference_example.json");

    #[test]
    fn parses_the_reference_example_verbatim() {
        let page: NotebookPage = serde_json::from_str(REFERENCE_EXAMPLE).unwrap();
        assert_eq!(page.current, Some(0));
        assert_eq!(page.total, Some(2));
        assert_eq!(page.pages, Some(1));
        assert_eq!(page.size, Some(10));
        assert_eq!(page.data.len(), 2);
        let nb = &page.data[0];
        assert_eq!(nb.id_str(), "f9937afa-ca78-45b6-bc12-7ecf42553c48");
        assert_eq!(nb.status, Some(Status::Creating));
        assert_eq!(nb.feature.as_deref(), Some("DEFAULT"));
        let img = nb.image.as_ref().unwrap();
        assert_eq!(img.kind.as_deref(), Some("BUILD_IN"));
        assert_eq!(
            img.label(),
            "notebook2.0-mul-kernel-cpu-cp36:3.3.2-release_v1"
        );
        let lease = nb.lease.as_ref().unwrap();
        assert_eq!(lease.end_ms(), Some(1638841805439 + 3600000));
        assert_eq!(lease.remaining_at(1638841805439 + 600_000), Some(3_000_000));
        let vol = nb.volume.as_ref().unwrap();
        assert_eq!(vol.capacity, Some(50));
        assert_eq!(vol.category.as_deref(), Some("EVS"));
        assert_eq!(nb.workspace_id.as_deref(), Some("0"));
    }

    #[test]
    fn nulls_missing_objects_and_wrong_types_become_none() {
        let json = r#"{"data":[
            {"id":"a","status":null,"image":null,"lease":"oops","volume":{"capacity":"20"},
             "create_at":"1700000000000","endpoints":null,"tags":[{"key":"k"},7],
             "billing_items":"STORAGE,COMPUTE"},
            {}
        ]}"#;
        let page: NotebookPage = serde_json::from_str(json).unwrap();
        assert_eq!(page.total, None);
        let a = &page.data[0];
        assert_eq!(a.status, None);
        assert_eq!(a.status_or_unknown(), Status::Unknown(String::new()));
        assert!(a.image.is_none());
        assert!(a.lease.is_none());
        assert_eq!(a.volume.as_ref().unwrap().capacity, Some(20));
        assert_eq!(a.create_at, Some(1_700_000_000_000));
        assert_eq!(a.tags.len(), 1);
        assert_eq!(a.billing_items, vec!["STORAGE", "COMPUTE"]);
        assert_eq!(page.data[1], Notebook::default());
    }

    #[test]
    fn unknown_statuses_and_fields_are_kept() {
        let json = r#"{"id":"x","status":"HIBERNATING","new_field":{"a":1},
                       "image":{"name":"i","future":"yes"}}"#;
        let nb: Notebook = serde_json::from_str(json).unwrap();
        assert_eq!(nb.status, Some(Status::Unknown("HIBERNATING".into())));
        assert_eq!(
            nb.extra.get("new_field"),
            Some(&serde_json::json!({"a": 1}))
        );
        let back = serde_json::to_value(&nb).unwrap();
        assert_eq!(back["status"], "HIBERNATING");
        assert_eq!(back["new_field"]["a"], 1);
        assert_eq!(back["image"]["future"], "yes");
    }

    #[test]
    fn status_round_trips_every_documented_value() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), s);
            assert!(s.is_known());
        }
        assert!(Status::Frozen.is_problem());
        assert!(Status::Creating.is_transitional());
        assert!(!Status::Running.is_transitional());
    }

    #[test]
    fn lease_disabled_or_incomplete_has_no_end() {
        let l = Lease {
            create_at: Some(1),
            duration: Some(2),
            enable: Some(false),
            ..Default::default()
        };
        assert_eq!(l.end_ms(), None);
        let l = Lease {
            create_at: Some(1),
            duration: None,
            enable: Some(true),
            ..Default::default()
        };
        assert_eq!(l.end_ms(), None);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let nb = Notebook {
            token: Some("58ba50c6-e8ff-245c-4840-49e51aa70737".into()),
            ..Default::default()
        };
        let dbg = format!("{nb:?}");
        assert!(!dbg.contains("58ba50c6"), "{dbg}");
        assert_eq!(nb.masked_token().unwrap(), "••••••••0737");
    }
}
