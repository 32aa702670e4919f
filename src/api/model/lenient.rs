//! How each field type reads a value of the wrong type: as `None` (or an empty list)
//! instead of failing the whole response, because one odd field must not blank the
//! dashboard. Everything streams: no `Value` is built for a known field, and a
//! value of the wrong shape (an object where a string belongs, …) is skipped with
//! `IgnoredAny`.
//!
//! | field type        | accepts                                                    |
//! |-------------------|------------------------------------------------------------|
//! | `Option<String>`  | string; number or bool, as their JSON text                 |
//! | `Option<Status>`  | the same, then [`Status::parse`]                           |
//! | `Option<i64>`     | integer (a `u64` above `i64::MAX` saturates); float, truncated; a string holding an integer |
//! | `Option<f64>`     | any number; a string holding a number                      |
//! | `Option<bool>`    | bool; the string `true`/`false` in any case                |
//! | `Option<T>`       | an object, read as `T` (a model struct)                    |
//! | `Vec<T>`          | an array; elements that are not objects are dropped        |
//! | `Vec<String>`     | an array of strings/numbers (others dropped); a comma-separated string |

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
pub(super) fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
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
