//! Serde types for the `ListAllNotebooks` response.
//!
//! Every field is optional and tolerant: a field that is absent, `null` or of an
//! unexpected type becomes `None` instead of failing the whole page, and fields we
//! do not know are kept in `extra` so JSON output can hand them back to the user.
//!
//! Parsing is streaming: a page of 10,000 instances is read straight into these
//! types without building a `serde_json::Value` first (only unknown fields become
//! `Value`s). The `model_struct!` macro writes the `Serialize`/`Deserialize` impls
//! and the `lenient` module decides, per field type, what a wrong-typed value
//! turns into.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Unknown fields, kept verbatim.
pub type Extra = BTreeMap<String, Value>;

/// Declares one tolerant model struct and its serde impls.
///
/// Write the struct as usual (every field `pub`, of a type that implements
/// `lenient::Field`); a field whose JSON name differs from its Rust name says so
/// with `as "name"` after its type. The macro appends `pub extra: Extra` and writes:
///
/// - `Deserialize`: one pass over the object; a known key goes through its
///   type's lenient reading (a wrong type gives `None` / an empty list), an
///   unknown key is kept in `extra` as a `Value`. A repeated key: the last one wins.
/// - `Serialize`: the fields in declaration order, skipping `None` and empty lists,
///   then the `extra` entries, all in one flat object (what `#[serde(flatten)]` gave).
macro_rules! model_struct {
    (@wire $field:ident) => {
        stringify!($field)
    };
    (@wire $field:ident $wire:literal) => {
        $wire
    };
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_attr:meta])*
                pub $field:ident : $ty:ty $(as $wire:literal)?
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        pub struct $name {
            $(
                $(#[$field_attr])*
                pub $field: $ty,
            )*
            /// Fields this version does not know, kept verbatim.
            pub extra: Extra,
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                $(
                    if !lenient::Field::is_absent(&self.$field) {
                        map.serialize_entry(model_struct!(@wire $field $($wire)?), &self.$field)?;
                    }
                )*
                for (key, value) in &self.extra {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[allow(non_camel_case_types)]
                enum Key {
                    $($field,)*
                    Unknown(String),
                }

                impl Key {
                    fn known(name: &str) -> Option<Key> {
                        Some(match name {
                            $(model_struct!(@wire $field $($wire)?) => Key::$field,)*
                            _ => return None,
                        })
                    }
                }

                struct KeyVisitor;

                impl<'de> Visitor<'de> for KeyVisitor {
                    type Value = Key;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a field name")
                    }

                    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                        Ok(Key::known(v).unwrap_or_else(|| Key::Unknown(v.to_owned())))
                    }

                    fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
                        Ok(Key::known(&v).unwrap_or(Key::Unknown(v)))
                    }
                }

                impl<'de> Deserialize<'de> for Key {
                    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
                        d.deserialize_identifier(KeyVisitor)
                    }
                }

                struct ObjectVisitor;

                impl<'de> Visitor<'de> for ObjectVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }

                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut out = $name {
                            $($field: Default::default(),)*
                            extra: Extra::new(),
                        };
                        while let Some(found) = map.next_key::<Key>()? {
                            match found {
                                $(
                                    Key::$field => {
                                        out.$field = map.next_value::<lenient::Lenient<$ty>>()?.0;
                                    }
                                )*
                                Key::Unknown(name) => {
                                    let value: Value = map.next_value()?;
                                    out.extra.insert(name, value);
                                }
                            }
                        }
                        Ok(out)
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }

        impl lenient::Object for $name {}
    };
}

/// One page of `GET /v1/{project_id}/notebooks/all`.
///
/// Unknown top-level keys are ignored; a repeated key: the last one wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NotebookPage {
    pub current: Option<i64>,
    pub data: Vec<Notebook>,
    pub pages: Option<i64>,
    pub size: Option<i64>,
    pub total: Option<i64>,
}

/// The keys of a listing page: one reading for the typed page and the text
/// pages (`wire::TextPage`), which take `total` and `data` only.
pub(super) enum PageKey {
    Current,
    Data,
    Pages,
    Size,
    Total,
    Other,
}

impl<'de> Deserialize<'de> for PageKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PageKey, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = PageKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<PageKey, E> {
                Ok(match v {
                    "current" => PageKey::Current,
                    "data" => PageKey::Data,
                    "pages" => PageKey::Pages,
                    "size" => PageKey::Size,
                    "total" => PageKey::Total,
                    _ => PageKey::Other,
                })
            }
        }

        d.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for NotebookPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PageVisitor;

        impl<'de> Visitor<'de> for PageVisitor {
            type Value = NotebookPage;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NotebookPage object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NotebookPage, A::Error> {
                use lenient::Lenient;
                let mut page = NotebookPage::default();
                while let Some(key) = map.next_key::<PageKey>()? {
                    match key {
                        PageKey::Current => page.current = map.next_value::<Lenient<_>>()?.0,
                        PageKey::Data => page.data = map.next_value::<Lenient<_>>()?.0,
                        PageKey::Pages => page.pages = map.next_value::<Lenient<_>>()?.0,
                        PageKey::Size => page.size = map.next_value::<Lenient<_>>()?.0,
                        PageKey::Total => page.total = map.next_value::<Lenient<_>>()?.0,
                        PageKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(page)
            }
        }

        deserializer.deserialize_map(PageVisitor)
    }
}

model_struct! {
    /// One notebook instance (`NotebookResp`).
    #[derive(Clone, Default, PartialEq)]
    pub struct Notebook {
        pub id: Option<String>,
        pub name: Option<String>,
        pub description: Option<String>,
        pub status: Option<Status>,
        pub fail_reason: Option<String>,
        pub feature: Option<String>,
        pub flavor: Option<String>,
        pub url: Option<String>,
        /// Authenticates to the running notebook: a secret. Never displayed in clear.
        pub token: Option<String>,
        pub workspace_id: Option<String>,
        pub ip: Option<String>,
        pub user_id: Option<String>,
        pub jupyter_version: Option<String>,
        /// Epoch milliseconds, UTC.
        pub create_at: Option<i64>,
        /// Epoch milliseconds, UTC.
        pub update_at: Option<i64>,
        pub action_progress: Vec<JobProgress>,
        pub endpoints: Vec<Endpoint>,
        pub image: Option<Image>,
        pub lease: Option<Lease>,
        pub volume: Option<Volume>,
        pub data_volumes: Vec<DataVolume>,
        pub pool: Option<Pool>,
        pub user: Option<User>,
        pub billing_items: Vec<String>,
        pub tags: Vec<Tag>,
        pub custom_spec: Option<CustomSpec>,
    }
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
        Status::or_unknown(self.status.as_ref())
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
///
/// ```
/// use nbwatch::api::model::mask_secret;
/// assert_eq!(mask_secret("58ba50c6-e8ff-245c-4840-49e51aa70737"), "••••••••0737");
/// assert_eq!(mask_secret("short"), "••••••••");
/// ```
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

    /// The status sent, or an unknown one with no name when none was.
    pub fn or_unknown(status: Option<&Status>) -> Status {
        status.cloned().unwrap_or(Status::Unknown(String::new()))
    }

    /// Its place in [`Status::ALL`]; `None` for a status this version does not know.
    pub fn place(&self) -> Option<usize> {
        Status::ALL.iter().position(|s| s == self)
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

model_struct! {
    /// One of the four creation steps (`JobProgress`).
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct JobProgress {
        pub notebook_id: Option<String>,
        /// `WAITING`, `PROCESSING`, `FAILED` or `COMPLETED`.
        pub status: Option<String>,
        /// 1 prepare storage, 2 prepare compute, 3 configure network, 4 initialise instance.
        pub step: Option<i64>,
        pub step_description: Option<String>,
        pub description: Option<String>,
    }
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

model_struct! {
    /// An access endpoint (`EndpointsRes`).
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Endpoint {
        pub service: Option<String>,
        pub dev_service: Option<String>,
        pub uri: Option<String>,
        pub ssh_keys: Vec<String>,
        pub key_pair_names: Vec<String>,
        pub allowed_access_ips: Vec<String>,
    }
}

model_struct! {
    /// The instance's image.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Image {
        pub id: Option<String>,
        pub name: Option<String>,
        pub namespace: Option<String>,
        pub swr_path: Option<String>,
        pub tag: Option<String>,
        /// `BUILD_IN` or `DEDICATED`.
        pub kind: Option<String> as "type",
        /// `X86_64` or `AARCH64`.
        pub arch: Option<String>,
        pub description: Option<String>,
        pub origin: Option<String>,
        pub service_type: Option<String>,
        pub status: Option<String>,
        pub status_message: Option<String>,
        pub visibility: Option<String>,
        pub workspace_id: Option<String>,
        pub flavor_type: Option<String>,
        pub show_name: Option<String>,
        pub show_tag: Option<String>,
        pub create_at: Option<i64>,
        pub update_at: Option<i64>,
        /// Size in KB.
        pub size: Option<i64>,
        pub dev_services: Vec<String>,
        pub resource_categories: Vec<String>,
        pub support_res_categories: Vec<String>,
    }
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

model_struct! {
    /// Auto-stop settings.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Lease {
        pub create_at: Option<i64>,
        /// Milliseconds.
        pub duration: Option<i64>,
        pub enable: Option<bool>,
        /// `timing` or `idle`, in any case.
        pub kind: Option<String> as "type",
        pub update_at: Option<i64>,
    }
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

model_struct! {
    /// The instance's storage (`VolumeRes`).
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Volume {
        /// GB.
        pub capacity: Option<i64>,
        pub category: Option<String>,
        pub mount_path: Option<String>,
        pub ownership: Option<String>,
        pub status: Option<String>,
        pub read_only: Option<bool>,
        pub id: Option<String>,
        pub uri: Option<String>,
        pub mount_type: Option<String>,
    }
}

model_struct! {
    /// An extra data volume.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct DataVolume {
        pub category: Option<String>,
        pub mount_path: Option<String>,
        pub url: Option<String>,
        pub status: Option<String>,
        pub mount_type: Option<String>,
    }
}

model_struct! {
    /// A dedicated resource pool.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Pool {
        pub id: Option<String>,
        pub name: Option<String>,
    }
}

model_struct! {
    /// The owner of the instance.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct User {
        pub id: Option<String>,
        pub name: Option<String>,
        pub domain: Option<Domain>,
    }
}

model_struct! {
    /// The account a user belongs to.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Domain {
        pub id: Option<String>,
        pub name: Option<String>,
    }
}

model_struct! {
    /// A resource tag.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Tag {
        pub key: Option<String>,
        pub value: Option<String>,
    }
}

model_struct! {
    /// A custom compute spec.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct CustomSpec {
        pub gpu: Option<f64>,
        pub cpu: Option<f64>,
        pub memory: Option<f64>,
        pub gpu_type: Option<String>,
        pub arch: Option<String>,
        pub category: Option<String>,
        pub resource_flavor: Option<String>,
    }
}

#[macro_use]
mod lenient;
pub mod wire;

pub use wire::{HotNotebook, HotPage, WireNotebook, WirePage};

#[cfg(test)]
mod tests;
