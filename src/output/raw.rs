//! `list --output json` as the service sent it: each instance's JSON text is
//! kept byte for byte (keys and their escapes, numbers, empty lists, key order,
//! unknown fields, spacing) except the value of the notebook `token`, which is
//! masked. Nothing is decoded into the model, so 10,000 instances cost their
//! text and little more.

use std::ops::Range;

use serde_json::value::RawValue;

use crate::api::model::mask_secret;
use crate::api::model::wire::{ItemText, TextPage};
use crate::api::order::{SortFields, SortValue};

/// One instance: its id and its JSON text (token masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawNotebook {
    pub id: Option<String>,
    pub json: Box<str>,
}

impl RawNotebook {
    /// An instance from its JSON text (valid JSON, as serde_json read it):
    /// `None` unless an object. The text is kept as is but for the `token`'s
    /// value, masked wherever the key says `token` (escaped or not).
    fn from_text(text: &str) -> Option<RawNotebook> {
        let members = members(text)?;
        let mut json = String::with_capacity(text.len());
        let mut id = None;
        let mut copied = 0;
        for (key, value) in members {
            let Ok(key) = serde_json::from_str::<String>(key) else {
                continue;
            };
            match key.as_str() {
                "token" => {
                    if let Ok(token) = serde_json::from_str::<String>(&text[value.clone()]) {
                        // The credential never leaves: only its last characters.
                        let masked = serde_json::to_string(&mask_secret(&token)).ok()?;
                        json.push_str(&text[copied..value.start]);
                        json.push_str(&masked);
                        copied = value.end;
                    }
                }
                "id" if id.is_none() => {
                    id = serde_json::from_str::<String>(&text[value]).ok();
                }
                _ => {}
            }
        }
        json.push_str(&text[copied..]);
        Some(RawNotebook {
            id,
            json: json.into_boxed_str(),
        })
    }
}

impl SortFields for RawNotebook {
    fn sort_value(&self, key: &str) -> SortValue {
        let found = members(&self.json).and_then(|m| {
            m.into_iter()
                .find(|(k, _)| serde_json::from_str::<String>(k).is_ok_and(|k| k == key))
                .and_then(|(_, v)| serde_json::from_str::<serde_json::Value>(&self.json[v]).ok())
        });
        SortValue::of_json(found.as_ref())
    }

    fn sort_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// The top-level members of a JSON object's text: each key's text (quotes and
/// escapes as sent) and where its value's text lies. `text` is valid JSON, read
/// by serde_json already; `None` when it is not an object. Bytes are scanned:
/// every byte this looks for is ASCII, which never occurs inside a multi-byte
/// UTF-8 character, so every cut is on a character boundary.
fn members(text: &str) -> Option<Vec<(&str, Range<usize>)>> {
    let b = text.as_bytes();
    let ws = |mut i: usize| {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    let mut i = ws(0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(i + 1);
    let mut out = Vec::new();
    if b.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        let key_end = string_end(b, i)?;
        let key = &text[i..key_end];
        i = ws(key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = ws(i + 1);
        let end = value_end(b, start)?;
        out.push((key, start..end));
        i = ws(end);
        match b.get(i) {
            Some(b',') => i = ws(i + 1),
            Some(b'}') => return Some(out),
            _ => return None,
        }
    }
}

/// The end (one past the closing quote) of the string starting at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while let Some(c) = b.get(j) {
        match c {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The end of the JSON value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(c) = b.get(j) {
                match c {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// A page whose instances are kept as text (see [`crate::api::model::wire`]).
pub type RawPage = TextPage<RawNotebook>;

impl ItemText for RawNotebook {
    fn from_raw(raw: Box<RawValue>) -> Option<RawNotebook> {
        RawNotebook::from_text(raw.get())
    }
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
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
                if !rest.trim_start().starts_with('}') {
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
    use crate::api::sweep::ListPage;

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
    fn whole_items_byte_for_byte_escaped_and_non_ascii_keys_included() {
        // Keys with escapes (`\u00e9`, `\"`, `\/`), raw non-ASCII keys, a key that
        // is `token` only once unescaped, numbers in every spelling, empty
        // containers, spacing and a duplicate key: all as sent, but the token.
        let items = [
            r#"{"id":"a","caf\u00e9":"cr\u00e8me","训练":"中文","q\"k":"v\\\/","n":1.50,"e":1E+2,"neg":-0,"big":12345678901234567890,"l":[],"o":{},"t":true,"z":null,"tok\u0065n":"58ba50c6-e8ff-245c-4840-49e51aa70737","id":"dup"}"#,
            "{ \"id\" : \"b\" ,\n  \"token\" :\"secret-token-value-0738\", \"nested\": {\"token\": \"kept, not top-level\", \"s\": \"}]\\\"{\"} }",
            r#"{}"#,
            r#"{"token":null,"id":7}"#,
        ];
        let body = format!(r#"{{"total":4,"data":[{}]}}"#, items.join(" , "));
        let page: RawPage = serde_json::from_str(&body).unwrap();
        let got: Vec<&str> = page.data.iter().map(|i| &*i.json).collect();
        assert_eq!(
            got,
            [
                items[0]
                    .replace("58ba50c6-e8ff-245c-4840-49e51aa70737", "••••••••0737")
                    .as_str(),
                &items[1].replace("secret-token-value-0738", "••••••••0738"),
                items[2],
                items[3],
            ]
        );
        let ids: Vec<Option<&str>> = page.data.iter().map(|i| i.id.as_deref()).collect();
        assert_eq!(
            ids,
            [Some("a"), Some("b"), None, None],
            "the first id, if text"
        );
        let out = json(&page.data);
        assert!(!out.contains("58ba50c6") && !out.contains("secret-token-value-0738"));
        serde_json::from_str::<serde_json::Value>(&out).expect("still one JSON array");
        let mut sourced = Vec::new();
        write_json_sourced(&mut sourced, &page.data, &["s"; 4]).unwrap();
        serde_json::from_str::<serde_json::Value>(std::str::from_utf8(&sourced).unwrap())
            .expect("sourced output is JSON, spacing and empty objects included");
    }

    #[test]
    fn sort_values_are_read_from_the_text_as_sent() {
        let page: RawPage = serde_json::from_str(
            r#"{"data":[{"na\u006de":"x","create_at":1700000000000,"f":2.5,"s":null}]}"#,
        )
        .unwrap();
        let item = &page.data[0];
        assert_eq!(item.sort_value("name"), SortValue::Text("x".into()));
        assert_eq!(
            item.sort_value("create_at"),
            SortValue::Int(1_700_000_000_000)
        );
        assert_eq!(item.sort_value("f"), SortValue::Float(2.5));
        assert_eq!(item.sort_value("s"), SortValue::Absent);
        assert_eq!(item.sort_value("missing"), SortValue::Absent);
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
