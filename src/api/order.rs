//! The order of a listing read as several: `list` prints one listing in the
//! order the user asked, though it reads more than one.
//!
//! Without a `feature` filter the service lists only `NOTEBOOK` instances, so
//! the free CodeLab ones are a second listing (see
//! [`FEATURE_CODELAB`](super::sweep::FEATURE_CODELAB)); several sources are
//! separate listings too. Each arrives in the service's order (its `sort_key` and
//! `sort_dir`, newest first by default); they are merged here by the same keys.
//! A merge, not a sort: the service's order within each listing is kept as sent,
//! and only where two listings interleave do we compare as the service would.
//!
//! What the service's reference leaves open, and what we chose (the simulator
//! does the same):
//! - ties on every key: broken by `id`, in the same direction as the keys (a
//!   listing paged by offset must have a total order; the id is the one field
//!   every instance has). Still equal: the earlier listing first.
//! - an absent or `null` field: before every value in `ASC`, so after them in
//!   `DESC` (as SQL databases commonly do).
//! - text compares by its UTF-8 bytes; the real service may use a database
//!   collation (case-insensitive, say). Then the kinds interleave slightly
//!   differently from the service's own order, each kind's order still as sent.
//! - a field of different JSON types across instances: absent < boolean <
//!   number < text.

use std::cmp::Ordering;
use std::collections::{HashSet, VecDeque};

use super::model::Notebook;
use super::query::ListQuery;
use super::sweep::{Collect, PagePlace, PageSink};

/// The sort key the service uses when none is given.
pub const DEFAULT_SORT_KEY: &str = "create_at";

/// One field's value, as far as ordering goes.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Absent,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl SortValue {
    /// The value of a JSON field as the service sent it (`None` when absent).
    pub fn of_json(v: Option<&serde_json::Value>) -> SortValue {
        use serde_json::Value;
        match v {
            None | Some(Value::Null) => SortValue::Absent,
            Some(Value::Bool(b)) => SortValue::Bool(*b),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => SortValue::Int(i),
                None => SortValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Some(Value::String(s)) => SortValue::Text(s.clone()),
            // Objects and arrays are not sort fields: compare them as their text.
            Some(other) => SortValue::Text(other.to_string()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            SortValue::Absent => 0,
            SortValue::Bool(_) => 1,
            SortValue::Int(_) | SortValue::Float(_) => 2,
            SortValue::Text(_) => 3,
        }
    }

    fn cmp(&self, other: &SortValue) -> Ordering {
        use SortValue::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Int(a), Float(b)) => (*a as f64).total_cmp(b),
            (Float(a), Int(b)) => a.total_cmp(&(*b as f64)),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

/// An item that can say what it holds in a top-level field.
pub trait SortFields {
    /// The value of the top-level field `key` (`Absent` when not sent).
    fn sort_value(&self, key: &str) -> SortValue;
    /// The id, for ties and for seeing one instance in two listings.
    fn sort_id(&self) -> Option<&str>;
}

impl SortFields for Notebook {
    fn sort_value(&self, key: &str) -> SortValue {
        let text = |v: &Option<String>| match v {
            Some(s) => SortValue::Text(s.clone()),
            None => SortValue::Absent,
        };
        match key {
            "create_at" => self.create_at.map_or(SortValue::Absent, SortValue::Int),
            "update_at" => self.update_at.map_or(SortValue::Absent, SortValue::Int),
            "name" => text(&self.name),
            "status" => text(&self.status.as_ref().map(|s| s.as_str().to_string())),
            "flavor" => text(&self.flavor),
            "feature" => text(&self.feature),
            "id" => text(&self.id),
            "description" => text(&self.description),
            "workspace_id" => text(&self.workspace_id),
            // Any other field the model knows, as it would be printed.
            other => {
                let v = serde_json::to_value(self).ok();
                SortValue::of_json(v.as_ref().and_then(|v| v.get(other)))
            }
        }
    }

    fn sort_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// The order a query asks for: its sort keys (several, comma-separated) and
/// direction, or the service's default, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    keys: Vec<String>,
    desc: bool,
}

impl Order {
    pub fn of(q: &ListQuery) -> Order {
        let mut keys: Vec<String> = q
            .sort_key
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        if keys.is_empty() {
            keys.push(DEFAULT_SORT_KEY.to_string());
        }
        // `sort_dir` is validated to ASC or DESC; the service's default is DESC.
        let desc = !q
            .sort_dir
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case("ASC"));
        Order { keys, desc }
    }

    /// The values an item is ordered by: each key's, then the id.
    fn values_of<T: SortFields>(&self, item: &T) -> Vec<SortValue> {
        let mut v: Vec<SortValue> = self.keys.iter().map(|k| item.sort_value(k)).collect();
        v.push(match item.sort_id() {
            Some(id) => SortValue::Text(id.to_string()),
            None => SortValue::Absent,
        });
        v
    }

    fn compare(&self, a: &[SortValue], b: &[SortValue]) -> Ordering {
        let o = a
            .iter()
            .zip(b)
            .map(|(x, y)| x.cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal);
        if self.desc { o.reverse() } else { o }
    }

    /// One listing of several, each already in this order: merged, each
    /// listing's own order kept.
    pub fn merge<T: SortFields>(&self, listings: Vec<Vec<T>>) -> Vec<T> {
        let total = listings.iter().map(Vec::len).sum();
        let mut heads: Vec<VecDeque<(Vec<SortValue>, T)>> = listings
            .into_iter()
            .map(|l| {
                l.into_iter()
                    .map(|item| (self.values_of(&item), item))
                    .collect()
            })
            .collect();
        let mut out = Vec::with_capacity(total);
        loop {
            // Few listings (two kinds per source): a scan of the heads is enough.
            // On a tie the earlier listing goes first.
            let mut best: Option<(usize, &[SortValue])> = None;
            for (i, h) in heads.iter().enumerate() {
                let Some((v, _)) = h.front() else { continue };
                if best.is_none_or(|(_, b)| self.compare(v, b).is_lt()) {
                    best = Some((i, v));
                }
            }
            let Some((i, _)) = best else { break };
            let Some((_, item)) = heads[i].pop_front() else {
                break;
            };
            out.push(item);
        }
        out
    }
}

/// A sweep's pages kept per listing (the `part` of each page), so the
/// listings can be merged in [`Order`] rather than printed one after another.
#[derive(Debug)]
pub struct ByListing<T> {
    parts: Vec<Collect<T>>,
}

impl<T> Default for ByListing<T> {
    fn default() -> Self {
        ByListing { parts: Vec::new() }
    }
}

impl<T: Send> PageSink<T> for ByListing<T> {
    fn page(&mut self, items: Vec<T>, place: PagePlace) {
        let part = place.part as usize;
        while self.parts.len() <= part {
            self.parts.push(Collect::default());
        }
        self.parts[part].page(items, place);
    }
}

impl<T: SortFields> ByListing<T> {
    /// Each listing in the service's order, each id once.
    pub fn into_listings(self) -> Vec<Vec<T>> {
        self.parts
            .into_iter()
            .map(|c| c.into_ordered(|t: &T| t.sort_id()))
            .collect()
    }

    /// Every listing merged into one in `order`; an id in two listings is
    /// kept once, in its first place.
    pub fn into_merged(self, order: &Order) -> Vec<T> {
        let mut seen = HashSet::new();
        let mut merged = order.merge(self.into_listings());
        merged.retain(|item| match item.sort_id() {
            Some(id) => seen.insert(id.to_string()),
            None => true,
        });
        merged
    }
}

/// Several sources' listings, each in its own order, as one listing of
/// `(source index, item)`: merged when every source asks the same order (the
/// command line's `--sort-key`/`--sort-dir`, or none), else one source after
/// another, since no one order was asked. An instance seen by two sources (two
/// profiles of one project) stays twice: each row is a source's view.
pub fn merge_sources<T: SortFields>(orders: &[Order], listings: Vec<Vec<T>>) -> Vec<(usize, T)> {
    struct Sourced<T>(usize, T);
    impl<T: SortFields> SortFields for Sourced<T> {
        fn sort_value(&self, key: &str) -> SortValue {
            self.1.sort_value(key)
        }
        fn sort_id(&self) -> Option<&str> {
            self.1.sort_id()
        }
    }
    let tagged: Vec<Vec<Sourced<T>>> = listings
        .into_iter()
        .enumerate()
        .map(|(i, l)| l.into_iter().map(|item| Sourced(i, item)).collect())
        .collect();
    let merged = match orders.split_first() {
        Some((first, rest)) if rest.iter().all(|o| o == first) => first.merge(tagged),
        _ => tagged.into_iter().flatten().collect(),
    };
    merged
        .into_iter()
        .map(|Sourced(i, item)| (i, item))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(id: &str, name: &str, status: &str, create_at: Option<i64>) -> Notebook {
        Notebook {
            id: Some(id.into()),
            name: Some(name.into()),
            status: Some(status.parse().unwrap()),
            create_at,
            ..Default::default()
        }
    }

    fn ids(v: &[Notebook]) -> Vec<&str> {
        v.iter().map(Notebook::id_str).collect()
    }

    fn query(key: Option<&str>, dir: Option<&str>) -> ListQuery {
        ListQuery {
            sort_key: key.map(str::to_string),
            sort_dir: dir.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn no_sort_given_is_newest_first_across_both_listings() {
        // Each listing newest first, as the service sends it.
        let notebooks = vec![
            nb("a", "x", "RUNNING", Some(50)),
            nb("b", "x", "RUNNING", Some(10)),
        ];
        let codelab = vec![
            nb("c", "x", "STOPPED", Some(30)),
            nb("d", "x", "STOPPED", None),
        ];
        let merged = Order::of(&ListQuery::default()).merge(vec![notebooks, codelab]);
        assert_eq!(
            ids(&merged),
            ["a", "c", "b", "d"],
            "absent sorts last in DESC"
        );
    }

    #[test]
    fn several_keys_ascending_then_ties_by_id() {
        let order = Order::of(&query(Some("name, status"), Some("ASC")));
        let first = vec![
            nb("2", "alpha", "RUNNING", None),
            nb("9", "beta", "STOPPED", None),
            nb("3", "gamma", "RUNNING", None),
        ];
        let second = vec![
            nb("1", "alpha", "RUNNING", None),
            nb("5", "beta", "RUNNING", None),
            nb("4", "训练", "CREATING", None),
        ];
        let merged = order.merge(vec![first, second]);
        assert_eq!(ids(&merged), ["1", "2", "5", "9", "3", "4"]);
        let desc = Order::of(&query(Some("name,status"), Some("DESC")));
        let merged = desc.merge(vec![
            vec![nb("3", "b", "RUNNING", None), nb("2", "a", "RUNNING", None)],
            vec![nb("1", "b", "RUNNING", None)],
        ]);
        assert_eq!(ids(&merged), ["3", "1", "2"], "ties by id, descending too");
    }

    #[test]
    fn each_listing_keeps_its_own_order_and_an_id_appears_once() {
        // The service's collation may differ from ours (here: case-insensitive);
        // a merge never reorders within a listing.
        let order = Order::of(&query(Some("name"), Some("ASC")));
        let place = |part, offset| PagePlace {
            part,
            offset,
            seq: 0,
            loaded: 0,
            total: None,
            read_at_ms: 0,
        };
        let mut sink = ByListing::default();
        // Pages arrive out of order; the second listing repeats instance 2.
        sink.page(
            vec![nb("4", "b", "RUNNING", None), nb("2", "B", "RUNNING", None)],
            place(1, 0),
        );
        sink.page(vec![nb("3", "c", "RUNNING", None)], place(0, 2));
        sink.page(
            vec![nb("1", "a", "RUNNING", None), nb("2", "B", "RUNNING", None)],
            place(0, 0),
        );
        assert_eq!(ids(&sink.into_merged(&order)), ["1", "2", "4", "3"]);
        assert!(order.merge::<Notebook>(vec![vec![], vec![]]).is_empty());
    }

    #[test]
    fn sources_merge_when_they_ask_one_order_else_follow_each_other() {
        let listings = || {
            vec![
                vec![
                    nb("a", "x", "RUNNING", Some(30)),
                    nb("b", "x", "RUNNING", Some(10)),
                ],
                vec![
                    nb("a", "x", "RUNNING", Some(30)),
                    nb("c", "x", "RUNNING", Some(20)),
                ],
            ]
        };
        let newest = Order::of(&ListQuery::default());
        let got: Vec<(usize, String)> =
            merge_sources(&[newest.clone(), newest.clone()], listings())
                .into_iter()
                .map(|(s, n)| (s, n.id_str().to_string()))
                .collect();
        let want = [(0, "a"), (1, "a"), (1, "c"), (0, "b")];
        assert_eq!(
            got,
            want.map(|(s, i)| (s, i.to_string())),
            "both sources' `a` stay"
        );
        let by_name = Order::of(&query(Some("name"), None));
        let got: Vec<usize> = merge_sources(&[newest, by_name], listings())
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(got, [0, 0, 1, 1]);
    }

    #[test]
    fn values_of_different_types_and_fields_beyond_the_known_ones() {
        use serde_json::json;
        let v = |j: serde_json::Value| SortValue::of_json(Some(&j));
        assert!(v(json!(null)).cmp(&v(json!(false))).is_lt());
        assert!(v(json!(true)).cmp(&v(json!(0))).is_lt());
        assert!(v(json!(2)).cmp(&v(json!(2.5))).is_lt());
        assert!(v(json!(3.5)).cmp(&v(json!(3))).is_gt());
        assert!(v(json!(99)).cmp(&v(json!("1"))).is_lt());
        let mut a = nb("a", "n", "RUNNING", Some(1));
        a.jupyter_version = Some("3".into());
        assert_eq!(a.sort_value("jupyter_version"), SortValue::Text("3".into()));
        assert_eq!(a.sort_value("no_such_field"), SortValue::Absent);
        assert_eq!(a.sort_value("status"), SortValue::Text("RUNNING".into()));
    }
}
