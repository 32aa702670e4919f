//! `list --output json` as the service sent it: each instance's JSON text is
//! kept verbatim (numbers, empty lists, key order, unknown fields) except the
//! notebook `token`, which is masked. Nothing is decoded into the model, so
//! 10,000 instances cost their text and little more.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::api::model::mask_secret;
use crate::api::sweep::ListPage;

/// One instance: its id and its JSON text (token masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawNotebook {
    pub id: Option<String>,
    pub json: Box<str>,
}

impl<'de> Deserialize<'de> for RawNotebook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = RawNotebook;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a notebook object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNotebook, A::Error> {
        let mut json = String::with_capacity(2048);
        let mut id = None;
        json.push('{');
        while let Some(key) = map.next_key::<String>()? {
            let value: Box<RawValue> = map.next_value()?;
            if json.len() > 1 {
                json.push(',');
            }
            json.push_str(&serde_json::to_string(&key).map_err(de::Error::custom)?);
            json.push(':');
            match key.as_str() {
                "token" => match serde_json::from_str::<String>(value.get()) {
                    // The credential never leaves: only its last characters.
                    Ok(token) => json.push_str(
                        &serde_json::to_string(&mask_secret(&token)).map_err(de::Error::custom)?,
                    ),
                    Err(_) => json.push_str(value.get()),
                },
                "id" => {
                    id = serde_json::from_str::<String>(value.get()).ok();
                    json.push_str(value.get());
                }
                _ => json.push_str(value.get()),
            }
        }
        json.push('}');
        Ok(RawNotebook {
            id,
            json: json.into_boxed_str(),
        })
    }
}

/// A page whose instances are kept as text.
#[derive(Debug, Default)]
pub struct RawPage {
    pub total: Option<i64>,
    pub data: Vec<RawNotebook>,
    has_data: bool,
}

impl<'de> Deserialize<'de> for RawPage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PageVisitor;
        impl<'de> Visitor<'de> for PageVisitor {
            type Value = RawPage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a notebook listing")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPage, A::Error> {
                let mut page = RawPage::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "total" => {
                            // Lenient like the model: a total of the wrong type is no total.
                            let v: Box<RawValue> = map.next_value()?;
                            page.total = serde_json::from_str::<i64>(v.get()).ok();
                        }
                        "data" => {
                            page.has_data = true;
                            page.data = map.next_value::<Items>()?.0;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(page)
            }
        }
        d.deserialize_map(PageVisitor)
    }
}

/// The `data` array: elements that are not objects are dropped (as the model does).
struct Items(Vec<RawNotebook>);

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SeqVisitor;
        impl<'de> Visitor<'de> for SeqVisitor {
            type Value = Items;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of notebooks")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element::<Box<RawValue>>()? {
                    if let Ok(item) = serde_json::from_str::<RawNotebook>(v.get()) {
                        out.push(item);
                    }
                }
                Ok(Items(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Items, E> {
                Ok(Items(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Items, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Items(Vec::new()))
            }
        }
        d.deserialize_any(SeqVisitor)
    }
}

impl ListPage for RawPage {
    type Item = RawNotebook;
    fn total(&self) -> Option<i64> {
        self.total
    }
    fn into_items(self) -> Vec<RawNotebook> {
        self.data
    }
    fn looks_like_listing(&self) -> bool {
        self.total.is_some() || self.has_data
    }
    fn id_of(item: &RawNotebook) -> Option<&str> {
        item.id.as_deref()
    }
}

/// One JSON array, one instance a line, each as the service sent it.
#[cfg(test)]
pub fn json(items: &[RawNotebook]) -> String {
    let mut out = Vec::with_capacity(items.iter().map(|i| i.json.len() + 4).sum::<usize>() + 4);
    // Writing to a Vec cannot fail.
    let _ = write_json(&mut out, items);
    String::from_utf8(out).unwrap_or_default()
}

/// [`json`], written straight to `w`: the items are the only copy in memory.
pub fn write_json(w: &mut impl std::io::Write, items: &[RawNotebook]) -> std::io::Result<()> {
    write_items(w, items, |_| None)
}

/// [`write_json`] for instances of several sources, `sources[i]` naming the
/// source of `items[i]`: each object gains a `"source"` field, first, and the
/// rest is the service's text untouched.
pub fn write_json_sourced(
    w: &mut impl std::io::Write,
    items: &[RawNotebook],
    sources: &[&str],
) -> std::io::Result<()> {
    write_items(w, items, |k| {
        Some(sources.get(k).copied().unwrap_or_default())
    })
}

fn write_items<'s>(
    w: &mut impl std::io::Write,
    items: &[RawNotebook],
    source: impl Fn(usize) -> Option<&'s str>,
) -> std::io::Result<()> {
    w.write_all(b"[")?;
    for (k, item) in items.iter().enumerate() {
        w.write_all(if k == 0 { b"\n  " } else { b",\n  " })?;
        match source(k) {
            None => w.write_all(item.json.as_bytes())?,
            Some(name) => {
                // The item's text is `{…}`, written by `ItemVisitor`.
                let rest = item.json.strip_prefix('{').unwrap_or(&item.json);
                let name = serde_json::to_string(name).unwrap_or_else(|_| "\"\"".into());
                w.write_all(b"{\"source\":")?;
                w.write_all(name.as_bytes())?;
                if rest != "}" {
                    w.write_all(b",")?;
                }
                w.write_all(rest.as_bytes())?;
            }
        }
    }
    w.write_all(if items.is_empty() { b"]\n" } else { b"\n]\n" })?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_numbers_empty_lists_order_and_unknown_fields_masks_the_token() {
        let body = r#"{"total":1,"data":[{"id":"a","custom_spec":{"cpu":24,"memory":1.5},"tags":[],"billing_items":[],"zeta":{"x":[1,2]},"token":"58ba50c6-e8ff-245c-4840-49e51aa70737","name":"n\u00fc"}, 7]}"#;
        let page: RawPage = serde_json::from_str(body).unwrap();
        assert_eq!(page.total, Some(1));
        assert_eq!(page.data.len(), 1, "the non-object element is dropped");
        let item = &page.data[0];
        assert_eq!(item.id.as_deref(), Some("a"));
        assert_eq!(
            &*item.json,
            r#"{"id":"a","custom_spec":{"cpu":24,"memory":1.5},"tags":[],"billing_items":[],"zeta":{"x":[1,2]},"token":"••••••••0737","name":"n\u00fc"}"#
        );
        let out = json(&page.data);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["custom_spec"]["cpu"], serde_json::json!(24));
        assert!(!out.contains("49e51aa70737"));
        assert_eq!(json(&[]), "[]\n");
    }

    #[test]
    fn several_sources_put_the_source_first_and_leave_the_rest_as_sent() {
        let body = r#"{"data":[{"id":"a","custom_spec":{"cpu":24}},{}]}"#;
        let page: RawPage = serde_json::from_str(body).unwrap();
        let mut out = Vec::new();
        write_json_sourced(&mut out, &page.data, &["bj", "s\"g"]).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "[\n  {\"source\":\"bj\",\"id\":\"a\",\"custom_spec\":{\"cpu\":24}},\n  {\"source\":\"s\\\"g\"}\n]\n"
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[1]["source"], "s\"g");
    }

    #[test]
    fn a_body_without_data_or_total_is_not_a_listing() {
        let page: RawPage = serde_json::from_str(r#"{"unexpected":"shape"}"#).unwrap();
        assert!(!page.looks_like_listing());
        let page: RawPage = serde_json::from_str(r#"{"data":[]}"#).unwrap();
        assert!(page.looks_like_listing());
    }
}
