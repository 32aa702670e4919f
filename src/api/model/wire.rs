//! Pages whose instances are kept as the JSON text the service sent, each
//! read into a [`Notebook`] only when someone asks.
//!
//! [`TextPage`] is one page of the listing with its instances as text: the
//! page is checked as JSON and cut into its instances, but no field is
//! decoded. Three kinds of instance text use it:
//!
//! - [`WireNotebook`] (the watchers' pages, [`WirePage`]): the text, its id and
//!   a fingerprint of the text. Most instances of a sweep are byte for byte
//!   what the last sweep read, so the tracker decodes only those whose
//!   fingerprint moved: the field-by-field decode (one allocation per string,
//!   2.6 KB an instance) was the largest cost of watching 10,000 instances.
//! - [`HotNotebook`] (the hot tier's pages, [`HotPage`]): the same, with the
//!   few fields the hot tier decides by read beside the id. A hot read
//!   returns the same moving instances tick after tick.
//! - `list`'s raw instances (`output::raw::RawNotebook`), printed as sent.
//!
//! The page is as tolerant as [`super::NotebookPage`]: a `total` of the wrong
//! type is no total, a `data` that is not an array is empty, and elements of
//! `data` that are not objects are dropped.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::lenient::{Lenient, drain_map};
use super::{Notebook, PageKey};

/// An instance kept as its JSON text.
pub trait ItemText: Sized + Send + 'static {
    /// The instance whose text is `raw` (valid JSON: serde_json read it);
    /// `None` unless `raw` is an object.
    fn from_raw(raw: Box<RawValue>) -> Option<Self>;
    /// Its id, if the service sent one.
    fn id(&self) -> Option<&str>;
    /// A fingerprint of its text, when it keeps one (see [`WireNotebook::fingerprint`]).
    fn print(&self) -> Option<u64> {
        None
    }
}

/// One page of the listing, its instances kept as text.
#[derive(Debug)]
pub struct TextPage<T> {
    pub total: Option<i64>,
    pub data: Vec<T>,
    /// The body had a `data` key (of any type).
    pub has_data: bool,
}

impl<T> Default for TextPage<T> {
    fn default() -> Self {
        TextPage {
            total: None,
            data: Vec::new(),
            has_data: false,
        }
    }
}

/// The watchers' page: see [`WireNotebook`].
pub type WirePage = TextPage<WireNotebook>;

impl<'de, T: ItemText> Deserialize<'de> for TextPage<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PageVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: ItemText> Visitor<'de> for PageVisitor<T> {
            type Value = TextPage<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a notebook listing")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TextPage<T>, A::Error> {
                let mut page = TextPage::default();
                while let Some(key) = map.next_key::<PageKey>()? {
                    match key {
                        PageKey::Total => page.total = map.next_value::<Lenient<_>>()?.0,
                        PageKey::Data => {
                            page.has_data = true;
                            page.data = map.next_value::<Items<T>>()?.0;
                        }
                        PageKey::Current | PageKey::Pages | PageKey::Size | PageKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(page)
            }
        }
        d.deserialize_map(PageVisitor(std::marker::PhantomData))
    }
}

/// The `data` array: its objects, as text. Anything but an array is no instance.
struct Items<T>(Vec<T>);

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items(Vec::new())
    }
}

impl<'de, T: ItemText> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: ItemText> Visitor<'de> for SeqVisitor<T> {
            type Value = Items<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of notebooks")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items<T>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(v) = seq.next_element::<Box<RawValue>>()? {
                    out.extend(T::from_raw(v));
                }
                Ok(Items(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Items<T>, A::Error> {
                drain_map(map).map(|()| Items::default())
            }
            skip_scalars!(Items<T>);
        }
        d.deserialize_any(SeqVisitor(std::marker::PhantomData))
    }
}

/// Whether valid JSON text is an object.
pub fn is_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// One instance as a page of the listing carried it: a fingerprint of its
/// text, its id (read as the model reads it, when first asked: a sweep knows
/// most instances by their fingerprint, see `api::sweep::IdMemo`), and the
/// text, decoded only by [`WireNotebook::decode`]. The text holds the
/// notebook's `token`: it is never printed (`Debug` shows the id, when read,
/// and the fingerprint only).
pub struct WireNotebook {
    id: std::cell::OnceCell<Option<String>>,
    fingerprint: u64,
    text: Box<str>,
}

impl fmt::Debug for WireNotebook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireNotebook")
            .field("id", &self.id.get())
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint))
            .finish_non_exhaustive()
    }
}

impl Clone for WireNotebook {
    fn clone(&self) -> Self {
        WireNotebook {
            id: self.id.clone(),
            fingerprint: self.fingerprint,
            text: self.text.clone(),
        }
    }
}

impl WireNotebook {
    /// Two instances' texts with the same fingerprint are the same text, byte
    /// for byte (64 bits of XXH3: a change that keeps it has a chance of about
    /// 2^-64), so the record it holds is the one already taken.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The whole record. The text is an object (see [`ItemText::from_raw`])
    /// and the model reads any object, so this cannot fail; were it to, the
    /// record is the id alone.
    pub fn decode(&self) -> Notebook {
        serde_json::from_str(&self.text).unwrap_or_else(|_| Notebook {
            id: self.id().map(str::to_owned),
            ..Notebook::default()
        })
    }

    /// Its id, if the service sent one (read from the text the first time).
    pub fn id(&self) -> Option<&str> {
        self.id
            .get_or_init(|| Head::read(&self.text, false).and_then(|h| h.id))
            .as_deref()
    }

    /// The instance `nb` as the service would send it (tests, the simulator's
    /// in-process demo, sources that read records some other way).
    pub fn of(nb: &Notebook) -> WireNotebook {
        // Writing the model to a string cannot fail (string keys, and
        // serde_json writes what JSON cannot hold as null).
        let text = serde_json::to_string(nb).unwrap_or_else(|_| "{}".to_owned());
        WireNotebook {
            id: nb.id.clone().into(),
            fingerprint: fingerprint(&text),
            text: text.into_boxed_str(),
        }
    }
}

/// XXH3 (64 bits) of the text: a fingerprint, not a defence (the text comes
/// from the service nbwatch asks), and several times cheaper than SipHash on
/// 2.6 KB: with SipHash it was 5 % of the dashboard's CPU at 10,000 instances.
fn fingerprint(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

impl WireNotebook {
    /// The instance whose object text is `text`; its id when known.
    fn with_id(text: Box<RawValue>, id: Option<Option<String>>) -> WireNotebook {
        let cell = std::cell::OnceCell::new();
        if let Some(id) = id {
            let _ = cell.set(id);
        }
        WireNotebook {
            id: cell,
            fingerprint: fingerprint(text.get()),
            text: text.into(),
        }
    }
}

impl ItemText for WireNotebook {
    fn from_raw(text: Box<RawValue>) -> Option<WireNotebook> {
        if !is_object(text.get()) {
            return None;
        }
        Some(WireNotebook::with_id(text, None))
    }

    fn id(&self) -> Option<&str> {
        WireNotebook::id(self)
    }

    fn print(&self) -> Option<u64> {
        Some(self.fingerprint)
    }
}

/// One instance as a hot read carries it: what the hot tier decides by (its
/// id, status, kind and last update, read as the model reads them), and the
/// instance as text, decoded only when the tracker finds it changed. A hot
/// read returns the same moving instances tick after tick, and decoding each
/// in whole was the hot tier's largest cost.
#[derive(Debug, Clone)]
pub struct HotNotebook {
    pub status: Option<super::Status>,
    pub feature: Option<String>,
    pub update_at: Option<i64>,
    pub wire: WireNotebook,
}

/// A hot read's page.
pub type HotPage = TextPage<HotNotebook>;

impl HotNotebook {
    /// The instance as the model would hold it (tests, the in-process demo).
    pub fn of(nb: &Notebook) -> HotNotebook {
        HotNotebook {
            status: nb.status.clone(),
            feature: nb.feature.clone(),
            update_at: nb.update_at,
            wire: WireNotebook::of(nb),
        }
    }

    pub fn id(&self) -> Option<&str> {
        self.wire.id()
    }

    /// As [`Notebook::status_or_unknown`].
    pub fn status_or_unknown(&self) -> super::Status {
        super::Status::or_unknown(self.status.as_ref())
    }
}

impl ItemText for HotNotebook {
    fn from_raw(text: Box<RawValue>) -> Option<HotNotebook> {
        if !is_object(text.get()) {
            return None;
        }
        let head = Head::read(text.get(), true)?;
        Some(HotNotebook {
            status: head.status,
            feature: head.feature,
            update_at: head.update_at,
            wire: WireNotebook::with_id(text, Some(head.id)),
        })
    }

    fn id(&self) -> Option<&str> {
        self.wire.id()
    }
}

/// A few fields of an instance's object, read leniently as the model reads
/// them (a number id becomes its text; a repeated key: the last one wins),
/// nothing else decoded: the id, and with `all` the status, feature and
/// `update_at` too.
#[derive(Default)]
struct Head {
    id: Option<String>,
    status: Option<super::Status>,
    feature: Option<String>,
    update_at: Option<i64>,
}

impl Head {
    /// `None` unless `text` is an object.
    fn read(text: &str, all: bool) -> Option<Head> {
        let mut d = serde_json::Deserializer::from_str(text);
        de::DeserializeSeed::deserialize(HeadSeed(all), &mut d).ok()
    }
}

#[derive(Clone, Copy)]
enum HeadKey {
    Id,
    Status,
    Feature,
    UpdateAt,
    Other,
}

impl<'de> Deserialize<'de> for HeadKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = HeadKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HeadKey, E> {
                Ok(match v {
                    "id" => HeadKey::Id,
                    "status" => HeadKey::Status,
                    "feature" => HeadKey::Feature,
                    "update_at" => HeadKey::UpdateAt,
                    _ => HeadKey::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// Reads a [`Head`]; `.0`: all of it, not only the id.
struct HeadSeed(bool);

impl<'de> de::DeserializeSeed<'de> for HeadSeed {
    type Value = Head;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Head, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeadSeed {
    type Value = Head;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a notebook object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
        let all = self.0;
        let mut head = Head::default();
        while let Some(key) = map.next_key::<HeadKey>()? {
            match key {
                HeadKey::Id => head.id = map.next_value::<Lenient<_>>()?.0,
                HeadKey::Status if all => head.status = map.next_value::<Lenient<_>>()?.0,
                HeadKey::Feature if all => head.feature = map.next_value::<Lenient<_>>()?.0,
                HeadKey::UpdateAt if all => head.update_at = map.next_value::<Lenient<_>>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::Status;

    fn page(body: &str) -> WirePage {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn an_instance_decodes_to_what_the_model_reads() {
        let body = r#"{"total": 2, "data": [
            {"id": "a", "name": "train", "status": "RUNNING", "token": "secret-token-1234",
             "image": {"name": "pytorch", "tag": "2.1"}, "lease": {"duration": 3600000},
             "unknown": {"x": [1, 2]}},
            {"id": 42, "id": 43, "name": "n"}
        ]}"#;
        let p = page(body);
        assert_eq!(p.total, Some(2));
        assert_eq!(p.data.len(), 2);
        let full: super::super::NotebookPage = serde_json::from_str(body).unwrap();
        for (w, nb) in p.data.iter().zip(&full.data) {
            assert_eq!(&w.decode(), nb);
            assert_eq!(
                w.id(),
                nb.id.as_deref(),
                "the id is read as the model reads it"
            );
        }
        assert_eq!(p.data[1].id(), Some("43"), "the last key wins");
        let shown = format!("{:?}", p.data[0]);
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn a_hot_item_reads_its_head_as_the_model_reads_it() {
        let body = r#"{"total": 3, "data": [
            {"id": "a", "status": "STARTING", "feature": "DEFAULT", "update_at": "17",
             "token": "secret-token-1234", "image": {"id": "img", "status": "ACTIVE"}},
            {"id": 42, "status": 5, "update_at": 1.5, "feature": null, "status": "ERROR"},
            {"name": "no id"}
        ]}"#;
        let p: HotPage = serde_json::from_str(body).unwrap();
        let full: super::super::NotebookPage = serde_json::from_str(body).unwrap();
        assert_eq!(p.data.len(), 3);
        for (h, nb) in p.data.iter().zip(&full.data) {
            assert_eq!(h.id(), nb.id.as_deref());
            assert_eq!(h.status, nb.status);
            assert_eq!(h.status_or_unknown(), nb.status_or_unknown());
            assert_eq!(h.feature, nb.feature);
            assert_eq!(h.update_at, nb.update_at);
            assert_eq!(&h.wire.decode(), nb);
        }
        assert_eq!(p.data[0].status, Some(Status::Starting), "not the image's");
        assert!(!format!("{:?}", p.data[0]).contains("secret"));
    }

    #[test]
    fn the_fingerprint_follows_the_bytes() {
        let a = page(r#"{"data": [{"id": "a", "status": "RUNNING"}]}"#);
        let b = page(r#"{"data": [{"id": "a", "status": "RUNNING"}], "total": 1}"#);
        let c = page(r#"{"data": [{"id": "a", "status": "STOPPING"}]}"#);
        assert_eq!(a.data[0].fingerprint(), b.data[0].fingerprint());
        assert_ne!(a.data[0].fingerprint(), c.data[0].fingerprint());
    }

    #[test]
    fn a_page_of_the_wrong_shape_is_read_as_the_model_reads_it() {
        for body in [
            r#"{"data": "x", "total": "7"}"#,
            r#"{"data": {"a": 1}, "total": 7.5}"#,
            r#"{"data": null}"#,
            r#"{"data": [1, "two", null, [3], {"id": "x"}], "total": 1}"#,
        ] {
            let p = page(body);
            let full: super::super::NotebookPage = serde_json::from_str(body).unwrap();
            assert_eq!(p.total, full.total, "{body}");
            let ids: Vec<_> = p.data.iter().map(|w| w.id().map(str::to_owned)).collect();
            let want: Vec<_> = full.data.iter().map(|n| n.id.clone()).collect();
            assert_eq!(ids, want, "{body}");
            assert!(p.has_data);
        }
    }

    #[test]
    fn a_notebook_survives_the_trip_through_its_text() {
        let nb = Notebook {
            id: Some("x".into()),
            name: Some("n".into()),
            token: Some("t".into()),
            ..Notebook::default()
        };
        let w = WireNotebook::of(&nb);
        assert_eq!(w.decode(), nb);
        assert_eq!(w.id(), Some("x"));
    }
}
