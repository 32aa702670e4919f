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

impl<'de> Deserialize<'de> for NotebookPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        enum Key {
            Current,
            Data,
            Pages,
            Size,
            Total,
            Other,
        }

        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "current" => Key::Current,
                    "data" => Key::Data,
                    "pages" => Key::Pages,
                    "size" => Key::Size,
                    "total" => Key::Total,
                    _ => Key::Other,
                })
            }
        }

        impl<'de> Deserialize<'de> for Key {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
                d.deserialize_identifier(KeyVisitor)
            }
        }

        struct PageVisitor;

        impl<'de> Visitor<'de> for PageVisitor {
            type Value = NotebookPage;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NotebookPage object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NotebookPage, A::Error> {
                use lenient::Lenient;
                let mut page = NotebookPage::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Current => page.current = map.next_value::<Lenient<_>>()?.0,
                        Key::Data => page.data = map.next_value::<Lenient<_>>()?.0,
                        Key::Pages => page.pages = map.next_value::<Lenient<_>>()?.0,
                        Key::Size => page.size = map.next_value::<Lenient<_>>()?.0,
                        Key::Total => page.total = map.next_value::<Lenient<_>>()?.0,
                        Key::Other => {
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

/// How each field type reads a value of the wrong type: as `None` (or an empty list)
/// instead of failing the whole response, because one odd field must not blank the
/// dashboard. Everything streams: no `Value` is built for a known field, and a
/// value of the wrong shape (an object where a string belongs, …) is skipped with
/// `IgnoredAny`.
///
/// | field type        | accepts                                                    |
/// |-------------------|------------------------------------------------------------|
/// | `Option<String>`  | string; number or bool, as their JSON text                 |
/// | `Option<Status>`  | the same, then [`Status::parse`]                           |
/// | `Option<i64>`     | integer (a `u64` above `i64::MAX` saturates); float, truncated; a string holding an integer |
/// | `Option<f64>`     | any number; a string holding a number                      |
/// | `Option<bool>`    | bool; the string `true`/`false` in any case                |
/// | `Option<T>`       | an object, read as `T` (a model struct)                    |
/// | `Vec<T>`          | an array; elements that are not objects are dropped        |
/// | `Vec<String>`     | an array of strings/numbers (others dropped); a comma-separated string |
mod lenient {
    use std::borrow::Cow;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    use super::Status;

    /// Visitor methods for the non-string scalars a field of this shape does not
    /// take: the value is dropped and the field keeps its default.
    macro_rules! skip_non_strings {
        ($out:ty) => {
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<$out, E> {
                Ok(Default::default())
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<$out, E> {
                Ok(Default::default())
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<$out, E> {
                Ok(Default::default())
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<$out, E> {
                Ok(Default::default())
            }

            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<$out, E> {
                Ok(Default::default())
            }

            fn visit_unit<E: de::Error>(self) -> Result<$out, E> {
                Ok(Default::default())
            }

            fn visit_none<E: de::Error>(self) -> Result<$out, E> {
                Ok(Default::default())
            }
        };
    }

    /// [`skip_non_strings!`], and strings too.
    macro_rules! skip_scalars {
        ($out:ty) => {
            skip_non_strings!($out);

            fn visit_str<E: de::Error>(self, _: &str) -> Result<$out, E> {
                Ok(Default::default())
            }
        };
    }

    /// A field type of the model: how it reads leniently, and when it is left out
    /// of the output.
    pub trait Field: Sized {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
        /// `None` or an empty list: not written on output.
        fn is_absent(&self) -> bool;
    }

    /// A model struct, read from an object (implemented by `model_struct!`).
    pub trait Object: for<'de> Deserialize<'de> {}

    /// Reads a `T` through [`Field::deserialize_lenient`].
    pub struct Lenient<T>(pub T);

    impl<'de, T: Field> Deserialize<'de> for Lenient<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            T::deserialize_lenient(d).map(Lenient)
        }
    }

    /// Drains whatever is left of an object or array of the wrong shape.
    fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    /// The scalar a field holds, or `Absent` for null and for any object/array.
    enum Scalar<'de> {
        Str(Cow<'de, str>),
        I64(i64),
        U64(u64),
        F64(f64),
        Bool(bool),
        Absent,
    }

    struct ScalarVisitor;

    impl<'de> Visitor<'de> for ScalarVisitor {
        type Value = Scalar<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Bool(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'de>, E> {
            Ok(Scalar::I64(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
            Ok(Scalar::U64(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar<'de>, E> {
            Ok(Scalar::F64(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Str(Cow::Owned(v.to_owned())))
        }

        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Str(Cow::Borrowed(v)))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Str(Cow::Owned(v)))
        }

        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Absent)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Absent)
        }

        fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
            Ok(Scalar::Absent)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
            drain_map(map).map(|()| Scalar::Absent)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar<'de>, A::Error> {
            drain_seq(seq).map(|()| Scalar::Absent)
        }
    }

    fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }

    /// A float as `serde_json::Value` would print it (`50.0`, `1e+20`).
    fn float_text(v: f64) -> Option<String> {
        serde_json::Number::from_f64(v).map(|n| n.to_string())
    }

    impl Scalar<'_> {
        fn into_text(self) -> Option<String> {
            match self {
                Scalar::Str(s) => Some(s.into_owned()),
                Scalar::I64(v) => Some(v.to_string()),
                Scalar::U64(v) => Some(v.to_string()),
                Scalar::F64(v) => float_text(v),
                Scalar::Bool(v) => Some(v.to_string()),
                Scalar::Absent => None,
            }
        }
    }

    impl Field for Option<String> {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            scalar(d).map(Scalar::into_text)
        }

        fn is_absent(&self) -> bool {
            self.is_none()
        }
    }

    impl Field for Option<Status> {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(match scalar(d)? {
                Scalar::Str(s) => Some(Status::parse(&s)),
                other => other.into_text().map(|s| Status::parse(&s)),
            })
        }

        fn is_absent(&self) -> bool {
            self.is_none()
        }
    }

    impl Field for Option<i64> {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(match scalar(d)? {
                Scalar::I64(v) => Some(v),
                Scalar::U64(v) => Some(i64::try_from(v).unwrap_or(i64::MAX)),
                // `as` saturates; JSON has no NaN.
                Scalar::F64(v) => Some(v as i64),
                Scalar::Str(s) => s.trim().parse().ok(),
                Scalar::Bool(_) | Scalar::Absent => None,
            })
        }

        fn is_absent(&self) -> bool {
            self.is_none()
        }
    }

    impl Field for Option<f64> {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(match scalar(d)? {
                Scalar::I64(v) => Some(v as f64),
                Scalar::U64(v) => Some(v as f64),
                Scalar::F64(v) => Some(v),
                Scalar::Str(s) => s.trim().parse().ok(),
                Scalar::Bool(_) | Scalar::Absent => None,
            })
        }

        fn is_absent(&self) -> bool {
            self.is_none()
        }
    }

    impl Field for Option<bool> {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(match scalar(d)? {
                Scalar::Bool(v) => Some(v),
                Scalar::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
                Scalar::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            })
        }

        fn is_absent(&self) -> bool {
            self.is_none()
        }
    }

    /// `Some(T)` from an object; `None` (the value skipped) from anything else.
    struct ObjectVisitor<T>(PhantomData<T>);

    impl<'de, T: Object> Visitor<'de> for ObjectVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<T>, A::Error> {
            drain_seq(seq).map(|()| None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            d.deserialize_any(self)
        }

        skip_scalars!(Option<T>);
    }

    impl<T: Object> Field for Option<T> {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ObjectVisitor(PhantomData))
        }

        fn is_absent(&self) -> bool {
            self.is_none()
        }
    }

    /// The objects of an array; anything else in it is skipped. Not an array: empty.
    struct ObjectListVisitor<T>(PhantomData<T>);

    impl<'de, T: Object> Visitor<'de> for ObjectListVisitor<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of objects")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(Lenient(item)) = seq.next_element::<Lenient<Option<T>>>()? {
                out.extend(item);
            }
            Ok(out)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
            drain_map(map).map(|()| Vec::new())
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
            d.deserialize_any(self)
        }

        skip_scalars!(Vec<T>);
    }

    impl<T: Object> Field for Vec<T> {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ObjectListVisitor(PhantomData))
        }

        fn is_absent(&self) -> bool {
            self.is_empty()
        }
    }

    /// One element of a string list: strings and numbers (as their JSON text).
    struct ListItem(Option<String>);

    impl<'de> Deserialize<'de> for ListItem {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(ListItem(match scalar(d)? {
                Scalar::Bool(_) => None,
                other => other.into_text(),
            }))
        }
    }

    /// An array of strings, or one comma-separated string. Anything else: empty.
    struct StringListVisitor;

    impl<'de> Visitor<'de> for StringListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of strings")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(ListItem(item)) = seq.next_element()? {
                out.extend(item);
            }
            Ok(out)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect())
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<String>, A::Error> {
            drain_map(map).map(|()| Vec::new())
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
            d.deserialize_any(self)
        }

        skip_non_strings!(Vec<String>);
    }

    impl Field for Vec<String> {
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StringListVisitor)
        }

        fn is_absent(&self) -> bool {
            self.is_empty()
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

    fn page(json: &str) -> NotebookPage {
        serde_json::from_str(json).unwrap()
    }

    fn one(json: &str) -> Notebook {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn wrong_typed_nested_objects_become_none_and_parsing_goes_on() {
        let nb = one(
            r#"{"lease":5,"image":[],"volume":"big","pool":true,"custom_spec":null,
                "user":{"name":"u","domain":[{"id":"d"},[1,{"x":[]}]]},
                "image":[{"name":"not me"},[2]],
                "name":"after the junk"}"#,
        );
        assert_eq!(nb.lease, None);
        assert_eq!(nb.image, None);
        assert_eq!(nb.volume, None);
        assert_eq!(nb.pool, None);
        assert_eq!(nb.custom_spec, None);
        let user = nb.user.as_ref().unwrap();
        assert_eq!(user.name.as_deref(), Some("u"));
        assert_eq!(user.domain, None);
        assert_eq!(nb.name_str(), "after the junk");
        assert!(nb.extra.is_empty());
    }

    #[test]
    fn wrong_typed_array_elements_are_dropped_and_wrong_typed_arrays_are_empty() {
        let nb = one(
            r#"{"endpoints":[1,"ssh",null,[],{"service":"NOTEBOOK","ssh_keys":["a",1,true,null,{"k":1},["b"],2.5,"c"]},true,{"dev_service":"SSH"}],
                "action_progress":{"step":1},
                "tags":"project=x",
                "data_volumes":[[{"category":"OBS"}],{"category":"EFS"}],
                "billing_items":{"a":"b"},
                "id":"x"}"#,
        );
        assert_eq!(nb.endpoints.len(), 2);
        assert_eq!(nb.endpoints[0].service.as_deref(), Some("NOTEBOOK"));
        assert_eq!(nb.endpoints[0].ssh_keys, vec!["a", "1", "2.5", "c"]);
        assert_eq!(nb.endpoints[1].dev_service.as_deref(), Some("SSH"));
        assert!(nb.action_progress.is_empty());
        assert!(nb.tags.is_empty());
        assert_eq!(nb.data_volumes.len(), 1);
        assert_eq!(nb.data_volumes[0].category.as_deref(), Some("EFS"));
        assert!(nb.billing_items.is_empty());
        assert_eq!(nb.id_str(), "x");
    }

    #[test]
    fn numbers_as_strings_and_scalars_as_text() {
        let nb = one(
            r#"{"create_at":" 1700000000000 ","update_at":"+5","workspace_id":0,"id":12.5,
                "name":true,"status":5,"ip":"",
                "action_progress":[{"step":"3"},{"step":"three"},{"step":"2.0"}],
                "lease":{"enable":"TRUE","duration":"3600000","type":"idle"},
                "volume":{"read_only":"False","capacity":"x","id":1e20},
                "custom_spec":{"gpu":"1.5","cpu":" 8 ","memory":"lots","arch":64},
                "billing_items":" STORAGE, ,COMPUTE ,"}"#,
        );
        assert_eq!(nb.create_at, Some(1_700_000_000_000));
        assert_eq!(nb.update_at, Some(5));
        assert_eq!(nb.workspace_id.as_deref(), Some("0"));
        assert_eq!(nb.id.as_deref(), Some("12.5"));
        assert_eq!(nb.name.as_deref(), Some("true"));
        assert_eq!(nb.status, Some(Status::Unknown("5".into())));
        assert_eq!(nb.ip.as_deref(), Some(""));
        let steps: Vec<_> = nb.action_progress.iter().map(|p| p.step).collect();
        assert_eq!(steps, vec![Some(3), None, None]);
        let lease = nb.lease.as_ref().unwrap();
        assert_eq!(lease.enable, Some(true));
        assert_eq!(lease.duration, Some(3_600_000));
        assert_eq!(lease.kind.as_deref(), Some("idle"));
        let vol = nb.volume.as_ref().unwrap();
        assert_eq!(vol.read_only, Some(false));
        assert_eq!(vol.capacity, None);
        assert_eq!(vol.id.as_deref(), Some("1e+20"));
        let spec = nb.custom_spec.as_ref().unwrap();
        assert_eq!(spec.gpu, Some(1.5));
        assert_eq!(spec.cpu, Some(8.0));
        assert_eq!(spec.memory, None);
        assert_eq!(spec.arch.as_deref(), Some("64"));
        assert_eq!(nb.billing_items, vec!["STORAGE", "COMPUTE"]);
    }

    #[test]
    fn floats_where_integers_belong_are_truncated() {
        let nb = one(
            r#"{"volume":{"capacity":50.0},"lease":{"duration":3.6e6,"create_at":-1.9},
                "image":{"size":1e300},"create_at":-1e300,
                "custom_spec":{"gpu":1,"cpu":18446744073709551615}}"#,
        );
        assert_eq!(nb.volume.unwrap().capacity, Some(50));
        let lease = nb.lease.unwrap();
        assert_eq!(lease.duration, Some(3_600_000));
        assert_eq!(lease.create_at, Some(-1));
        assert_eq!(nb.image.unwrap().size, Some(i64::MAX));
        assert_eq!(nb.create_at, Some(i64::MIN));
        let spec = nb.custom_spec.unwrap();
        assert_eq!(spec.gpu, Some(1.0));
        assert_eq!(spec.cpu, Some(18446744073709551615.0));
    }

    #[test]
    fn integers_beyond_i64_saturate() {
        let p = page(
            r#"{"current":9223372036854775808,"total":18446744073709551615,
                "pages":-9223372036854775809,"size":9223372036854775807,
                "data":[{"create_at":18446744073709551615,"id":18446744073709551615}]}"#,
        );
        assert_eq!(p.current, Some(i64::MAX));
        assert_eq!(p.total, Some(i64::MAX));
        assert_eq!(p.pages, Some(i64::MIN));
        assert_eq!(p.size, Some(i64::MAX));
        assert_eq!(p.data[0].create_at, Some(i64::MAX));
        assert_eq!(p.data[0].id_str(), "18446744073709551615");
        // Text that does not fit is not a number.
        let nb = one(r#"{"create_at":"9223372036854775808"}"#);
        assert_eq!(nb.create_at, None);
    }

    /// A notebook with every known field of every nested object set, plus unknown
    /// fields at every level.
    fn everything() -> Value {
        serde_json::from_str(
            r#"{
            "id": "f9937afa", "name": "训练-实验-1", "description": "d", "status": "RUNNING",
            "fail_reason": "", "feature": "NOTEBOOK", "flavor": "modelarts.vm.cpu.2u",
            "url": "https://x/lab", "token": "58ba50c6-e8ff-245c-4840-49e51aa70737",
            "workspace_id": "0", "ip": "192.168.0.1", "user_id": "u1", "jupyter_version": "3.4",
            "create_at": 1638841805439, "update_at": 1638841805440,
            "action_progress": [{"notebook_id": "f9937afa", "status": "COMPLETED", "step": 1,
                                 "step_description": "STORAGE", "description": "ok", "eta": 0}],
            "endpoints": [{"service": "NOTEBOOK", "dev_service": "SSH", "uri": "1.2.3.4:22",
                           "ssh_keys": ["k"], "key_pair_names": ["kp"],
                           "allowed_access_ips": ["10.0.0.0/8"], "port": 22}],
            "image": {"id": "i", "name": "n", "namespace": "atelier", "swr_path": "swr/a/n:t",
                      "tag": "t", "type": "BUILD_IN", "arch": "X86_64", "description": "d",
                      "origin": "CUSTOMIZE", "service_type": "COMMON", "status": "ACTIVE",
                      "status_message": "m", "visibility": "PUBLIC", "workspace_id": "0",
                      "flavor_type": "CPU", "show_name": "n", "show_tag": "t",
                      "create_at": 1, "update_at": 2, "size": 3, "dev_services": ["SSH"],
                      "resource_categories": ["CPU"], "support_res_categories": ["GPU"],
                      "image_tags": [{"k": "v"}]},
            "lease": {"create_at": 1, "duration": 2, "enable": true, "type": "TIMING",
                      "update_at": 3, "lease_type": "soft"},
            "volume": {"capacity": 50, "category": "EVS", "mount_path": "/home/ma-user/work/",
                       "ownership": "MANAGED", "status": "USING", "read_only": false, "id": "v",
                       "uri": "obs://b/", "mount_type": "DYNAMIC", "iops": 3000},
            "data_volumes": [{"category": "OBS", "mount_path": "/data", "url": "obs://d/",
                              "status": "MOUNTED", "mount_type": "STATIC", "size": null}],
            "pool": {"id": "p", "name": "池", "type": "DEDICATED"},
            "user": {"id": "u1", "name": "alice",
                     "domain": {"id": "d1", "name": "acct", "level": 2}, "email": "a@x"},
            "billing_items": ["STORAGE", "COMPUTE"],
            "tags": [{"key": "k", "value": "v", "sys": true}],
            "custom_spec": {"gpu": 1.5, "cpu": 8.0, "memory": 32768.0, "gpu_type": "T4",
                            "arch": "X86_64", "category": "GPU", "resource_flavor": "f",
                            "numa": {"nodes": [0, 1]}},
            "affinity": {"zones": ["a", "b"], "nested": {"deeper": [{"deepest": [[[null]]]}]}},
            "hooks": null,
            "spec_version": 2
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn unknown_fields_at_every_level_round_trip_exactly() {
        let input = everything();
        let nb: Notebook = serde_json::from_str(&input.to_string()).unwrap();
        assert_eq!(nb.status, Some(Status::Running));
        assert_eq!(nb.action_progress[0].extra["eta"], 0);
        assert_eq!(nb.endpoints[0].extra["port"], 22);
        assert_eq!(nb.image.as_ref().unwrap().kind.as_deref(), Some("BUILD_IN"));
        assert_eq!(nb.image.as_ref().unwrap().extra["image_tags"][0]["k"], "v");
        assert_eq!(nb.lease.as_ref().unwrap().extra["lease_type"], "soft");
        assert_eq!(nb.volume.as_ref().unwrap().extra["iops"], 3000);
        assert_eq!(nb.data_volumes[0].extra["size"], Value::Null);
        assert_eq!(nb.pool.as_ref().unwrap().extra["type"], "DEDICATED");
        let user = nb.user.as_ref().unwrap();
        assert_eq!(user.extra["email"], "a@x");
        assert_eq!(user.domain.as_ref().unwrap().extra["level"], 2);
        assert_eq!(nb.tags[0].extra["sys"], true);
        assert_eq!(
            nb.custom_spec.as_ref().unwrap().extra["numa"]["nodes"][1],
            1
        );
        assert_eq!(
            nb.extra["affinity"]["nested"]["deeper"][0]["deepest"],
            serde_json::json!([[[null]]])
        );
        assert_eq!(nb.extra["hooks"], Value::Null);
        // Every known field is set, so nothing is left out on the way back.
        assert_eq!(serde_json::to_value(&nb).unwrap(), input);
        // The same through a `Value` deserializer (owned strings, owned keys).
        assert_eq!(
            serde_json::from_value::<Notebook>(input.clone()).unwrap(),
            nb
        );
        // And through a reader (strings not borrowed from the input).
        let bytes = input.to_string().into_bytes();
        assert_eq!(
            serde_json::from_reader::<_, Notebook>(bytes.as_slice()).unwrap(),
            nb
        );
    }

    #[test]
    fn output_shape_is_unchanged() {
        let lease = Lease {
            create_at: Some(1),
            kind: Some("idle".into()),
            extra: [
                ("zz".to_string(), serde_json::json!([1])),
                ("a".into(), Value::Null),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&lease).unwrap(),
            r#"{"create_at":1,"type":"idle","a":null,"zz":[1]}"#
        );
        let nb = Notebook {
            id: Some("x".into()),
            billing_items: vec!["STORAGE".into()],
            lease: Some(Lease::default()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&nb).unwrap(),
            r#"{"id":"x","lease":{},"billing_items":["STORAGE"]}"#
        );
        assert_eq!(serde_json::to_string(&Notebook::default()).unwrap(), "{}");
        // The page keeps its nulls, as before.
        assert_eq!(
            serde_json::to_string(&NotebookPage::default()).unwrap(),
            r#"{"current":null,"data":[],"pages":null,"size":null,"total":null}"#
        );
    }

    #[test]
    fn deeply_nested_values_are_kept_or_skipped_and_too_deep_is_an_error() {
        let deep = |n: usize| format!("{}{}{}", "[{\"a\":".repeat(n), "1", "}]".repeat(n));
        // Kept verbatim when unknown, skipped when in a known field of the wrong shape.
        let nb = one(&format!(
            r#"{{"future":{},"lease":{},"image":{{"name":{}}},"id":"x"}}"#,
            deep(30),
            deep(30),
            deep(30)
        ));
        let mut v = &nb.extra["future"];
        for _ in 0..30 {
            v = &v[0]["a"];
        }
        assert_eq!(v, &serde_json::json!(1));
        assert_eq!(nb.lease, None);
        assert_eq!(nb.image.as_ref().unwrap().name, None);
        assert_eq!(nb.id_str(), "x");
        // An unknown field is kept as a `Value`: past serde_json's nesting limit
        // (128) that is an error, never a stack overflow.
        for field in ["future", "tags", "endpoints"] {
            let json = format!(r#"{{"data":[{{"{field}":{}}}]}}"#, deep(200));
            let err = serde_json::from_str::<NotebookPage>(&json).unwrap_err();
            assert!(
                err.to_string().contains("recursion limit"),
                "{field}: {err}"
            );
        }
        // A known field of the wrong shape is skipped without recursion, however deep.
        for field in [
            "lease",
            "image",
            "id",
            "create_at",
            "billing_items",
            "status",
        ] {
            let json = format!(r#"{{"data":[{{"{field}":{},"name":"n"}}]}}"#, deep(50_000));
            let p = serde_json::from_str::<NotebookPage>(&json).unwrap();
            let nb = Notebook {
                name: Some("n".into()),
                ..Default::default()
            };
            assert_eq!(p.data, vec![nb], "{field}");
        }
    }

    #[test]
    fn duplicate_keys_last_one_wins() {
        let p = page(
            r#"{"total":1,"total":2,"data":[{"id":"a"}],"data":[{"id":"b"},{"id":"c"}],
                "ignored":1,"ignored":{}}"#,
        );
        assert_eq!(p.total, Some(2));
        let ids: Vec<_> = p.data.iter().map(Notebook::id_str).collect();
        assert_eq!(ids, ["b", "c"]);
        let nb = one(r#"{"id":"a","id":"b","tags":[{"key":"k"}],"tags":[],
                "lease":{"duration":1},"lease":5,
                "volume":{"capacity":1,"capacity":2},
                "x":1,"x":{"y":2},"status":"RUNNING","status":null}"#);
        assert_eq!(nb.id_str(), "b");
        assert!(nb.tags.is_empty());
        assert_eq!(nb.lease, None);
        assert_eq!(nb.volume.unwrap().capacity, Some(2));
        assert_eq!(nb.extra["x"], serde_json::json!({"y": 2}));
        assert_eq!(nb.status, None);
    }

    #[test]
    fn escaped_keys_and_strings_are_read() {
        let nb = one(r#"{"i\u0064":"a\"b\u00e9","na\nme":1,"\u0074ype":"t"}"#);
        assert_eq!(nb.id.as_deref(), Some("a\"bé"));
        assert_eq!(nb.name, None);
        assert_eq!(nb.extra["na\nme"], 1);
        assert_eq!(nb.extra["type"], "t");
        let img: Image = serde_json::from_str(r#"{"\u0074ype":"BUILD_IN"}"#).unwrap();
        assert_eq!(img.kind.as_deref(), Some("BUILD_IN"));
    }

    #[test]
    fn broken_json_is_still_an_error() {
        let truncated = br#"{"data":[{"id":"a","lease":{"duration":1"#;
        let err = serde_json::from_slice::<NotebookPage>(truncated).unwrap_err();
        assert!(err.is_eof(), "{err}");
        // A syntax error inside a value that is being skipped is not swallowed.
        for json in [
            r#"{"data":[{"lease":[1,}]}"#,
            r#"{"data":[{"id":{"a" 1}}]}"#,
            r#"{"data":[{"tags":[{"key":"k"},]}]}"#,
            r#"{"data":[{"x":tru}]}"#,
            r#"{"data":[{"image":{"size":1e400}}]}"#,
        ] {
            assert!(
                serde_json::from_str::<NotebookPage>(json).is_err(),
                "{json}"
            );
        }
        // Not an object at the top: an error, not an empty page.
        for json in ["[]", "null", "1", "\"page\""] {
            assert!(
                serde_json::from_str::<NotebookPage>(json).is_err(),
                "{json}"
            );
            assert!(serde_json::from_str::<Notebook>(json).is_err(), "{json}");
        }
        // `data` of the wrong type is an empty page, not an error.
        assert!(page(r#"{"data":{"id":"a"},"total":"3"}"#).data.is_empty());
    }

    /// The reading rules of the first version of this model (through `Value`),
    /// kept as the reference the streaming reader must agree with.
    mod reference {
        use serde_json::Value;

        pub fn string(v: &Value) -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        }

        pub fn int(v: &Value) -> Option<i64> {
            match v {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        }

        pub fn float(v: &Value) -> Option<f64> {
            match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        }

        pub fn boolean(v: &Value) -> Option<bool> {
            match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) => match s.to_ascii_lowercase().as_str() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                },
                _ => None,
            }
        }

        pub fn string_vec(v: &Value) -> Vec<String> {
            match v {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect(),
                Value::String(s) => s
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                _ => Vec::new(),
            }
        }
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![
                Just("RUNNING".to_string()),
                Just(" true ".to_string()),
                Just("TRUE".to_string()),
                Just("a, b,,c".to_string()),
                Just(" 42 ".to_string()),
                Just("1.5e3".to_string()),
                ".{0,8}",
                "[0-9 +.-]{0,6}",
            ]
            .prop_map(Value::String),
        ];
        let keys = prop_oneof![
            Just("id".to_string()),
            Just("type".to_string()),
            Just("data".to_string()),
            Just("lease".to_string()),
            Just("create_at".to_string()),
            Just("tags".to_string()),
            Just("domain".to_string()),
            Just("ssh_keys".to_string()),
            "[a-z_]{1,6}",
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((keys.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Every known key of every level, so generated values land in typed fields.
    const KNOWN_KEYS: &[&str] = &[
        "id",
        "name",
        "description",
        "status",
        "fail_reason",
        "token",
        "create_at",
        "update_at",
        "action_progress",
        "endpoints",
        "image",
        "lease",
        "volume",
        "data_volumes",
        "pool",
        "user",
        "billing_items",
        "tags",
        "custom_spec",
        "step",
        "ssh_keys",
        "type",
        "size",
        "dev_services",
        "duration",
        "enable",
        "capacity",
        "read_only",
        "domain",
        "key",
        "value",
        "gpu",
        "cpu",
        "memory",
        "unknown",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn any_json_value_parses_without_panic(v in arb_json()) {
            let bytes = serde_json::to_vec(&v).unwrap();
            let _ = serde_json::from_slice::<NotebookPage>(&bytes);
            let _ = serde_json::from_slice::<Notebook>(&bytes);
        }

        #[test]
        fn any_bytes_parse_without_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            prefix in 0usize..4,
        ) {
            // Also behind a valid start, so the bytes reach the typed fields.
            let start: &[u8] = [&b""[..], b"{\"data\":[{\"lease\":", b"{\"data\":[{\"id\":", b"{\"data\":[{\"tags\":["][prefix];
            let _ = serde_json::from_slice::<NotebookPage>(&[start, &bytes].concat());
        }

        #[test]
        fn any_value_in_any_field_at_any_level(
            key in proptest::sample::select(KNOWN_KEYS),
            v in arb_json(),
        ) {
            // The same value under the same key in the notebook and in each nested object.
            let mut nb = serde_json::Map::new();
            for obj in ["image", "lease", "volume", "pool", "user", "custom_spec"] {
                nb.insert(obj.into(), serde_json::json!({ key: v.clone() }));
            }
            for list in ["action_progress", "endpoints", "tags", "data_volumes"] {
                nb.insert(list.into(), serde_json::json!([{ key: v.clone() }, v.clone()]));
            }
            nb.insert(key.into(), v.clone());
            let json = serde_json::json!({"data": [Value::Object(nb)], key: v.clone()});
            let parsed = serde_json::from_slice::<NotebookPage>(&serde_json::to_vec(&json).unwrap());
            proptest::prop_assert!(parsed.is_ok(), "{parsed:?}");
        }

        #[test]
        fn scalars_read_as_the_value_based_reader_did(v in arb_json()) {
            let json = serde_json::json!({
                "id": v, "status": v, "create_at": v, "billing_items": v,
                "lease": {"enable": v}, "custom_spec": {"gpu": v},
            });
            let text = json.to_string();
            let nb: Notebook = serde_json::from_str(&text).unwrap();
            // The reference reads the same text (floats may not survive the text exactly).
            let reparsed: Value = serde_json::from_str(&text).unwrap();
            let v = &reparsed["id"];
            proptest::prop_assert_eq!(nb.id, reference::string(v));
            proptest::prop_assert_eq!(nb.status, reference::string(v).map(|s| Status::parse(&s)));
            proptest::prop_assert_eq!(nb.create_at, reference::int(v));
            proptest::prop_assert_eq!(nb.billing_items, reference::string_vec(v));
            proptest::prop_assert_eq!(nb.lease.unwrap().enable, reference::boolean(v));
            let gpu = nb.custom_spec.unwrap().gpu;
            let want = reference::float(v);
            // NaN (from the text "NaN") is not equal to itself.
            proptest::prop_assert!(gpu == want || gpu.is_some_and(f64::is_nan) && want.is_some_and(f64::is_nan));
        }
    }
}
