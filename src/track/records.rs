//! Whole records, for the detail pane. Every row keeps its lean [`super::row::Row`];
//! the full record (storage, endpoints, creation steps, image details…) is held
//! for at most `cap` instances: all of them in a project that small (pages fill
//! and refresh it, no request is ever made for it), and at scale the ones the
//! user looked at most recently, read with ShowNotebook when the selection rests
//! on an instance whose record is not held (see `App::detail_wanted`).

use super::key::InstanceKey;
use crate::api::model::Notebook;

/// Whole records held.
#[derive(Debug)]
pub struct Records {
    cap: usize,
    map: crate::track::KeyMap<Held>,
    clock: u64,
}

#[derive(Debug)]
struct Held {
    notebook: Notebook,
    /// When this record was last looked at or fetched ([`Records::clock`]).
    used: u64,
}

impl Records {
    pub fn new(cap: usize) -> Records {
        Records {
            cap,
            map: crate::track::KeyMap::default(),
            clock: 0,
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get(&self, key: &InstanceKey) -> Option<&Notebook> {
        self.map.get(key).map(|h| &h.notebook)
    }

    /// Whether a page's record of `key` would be kept: it is not held and
    /// there is room.
    pub fn wants(&self, key: &InstanceKey) -> bool {
        self.map.len() < self.cap && !self.map.contains_key(key)
    }

    /// A record from a sweep page or a hot read: refreshes a held one, or is kept
    /// while there is room. Never evicts: pages do not push out what the user
    /// looked at.
    pub fn offer(&mut self, key: &InstanceKey, notebook: Notebook) {
        if let Some(h) = self.map.get_mut(key) {
            h.notebook = notebook;
        } else if self.map.len() < self.cap {
            self.clock += 1;
            let used = self.clock;
            self.map.insert(key.clone(), Held { notebook, used });
        }
    }

    /// A record read for the detail pane: always kept, evicting the record
    /// looked at longest ago when full.
    pub fn insert(&mut self, key: &InstanceKey, notebook: Notebook) {
        self.clock += 1;
        let used = self.clock;
        if self.map.len() >= self.cap.max(1) && !self.map.contains_key(key) {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, h)| h.used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.map.remove(&k);
            }
        }
        self.map.insert(key.clone(), Held { notebook, used });
    }

    /// The user is looking at `key`: it is the last to be evicted.
    pub fn touch(&mut self, key: &InstanceKey) {
        if let Some(h) = self.map.get_mut(key) {
            self.clock += 1;
            h.used = self.clock;
        }
    }

    /// Changes a held record in place (an action's answer, such as a new lease).
    pub fn edit(&mut self, key: &InstanceKey, f: impl FnOnce(&mut Notebook)) {
        if let Some(h) = self.map.get_mut(key) {
            f(&mut h.notebook);
        }
    }

    pub fn remove(&mut self, key: &InstanceKey) {
        self.map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::SourceId;

    fn k(id: &str) -> InstanceKey {
        InstanceKey::new(SourceId(0), id)
    }

    fn nb(name: &str) -> Notebook {
        Notebook {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn pages_fill_up_to_the_cap_and_refresh_what_is_held() {
        let mut r = Records::new(2);
        r.offer(&k("a"), nb("a1"));
        r.offer(&k("b"), nb("b1"));
        r.offer(&k("c"), nb("c1"));
        assert_eq!(r.len(), 2);
        assert!(r.get(&k("c")).is_none(), "no room: not kept");
        r.offer(&k("a"), nb("a2"));
        assert_eq!(r.get(&k("a")).and_then(|n| n.name.as_deref()), Some("a2"));
    }

    #[test]
    fn a_fetched_record_evicts_the_one_looked_at_longest_ago() {
        let mut r = Records::new(2);
        r.offer(&k("a"), nb("a"));
        r.offer(&k("b"), nb("b"));
        r.touch(&k("a"));
        r.insert(&k("c"), nb("c"));
        assert!(r.get(&k("b")).is_none(), "b was looked at longest ago");
        assert!(r.get(&k("a")).is_some() && r.get(&k("c")).is_some());
        // A cap of zero still holds the record being looked at.
        let mut z = Records::new(0);
        z.insert(&k("x"), nb("x"));
        z.insert(&k("y"), nb("y"));
        assert!(z.get(&k("x")).is_none() && z.get(&k("y")).is_some());
        z.offer(&k("q"), nb("q"));
        assert_eq!(z.len(), 1);
    }
}
