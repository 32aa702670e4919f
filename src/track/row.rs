//! The lean part of an instance the state model keeps for every row: what the
//! table, the sort, the filters, the alerts and the exporter read. Strings that
//! repeat across thousands of instances (flavor, image, pool, workspace, user)
//! are interned, so 10,000 rows share a handful of copies. The rest of the
//! record (storage, endpoints, creation steps…) is only needed by the detail
//! pane: see [`super::records`].

use std::collections::HashSet;
use std::sync::Arc;

use crate::api::model::{Lease, Notebook};

/// A shared, immutable string.
pub type Sym = Arc<str>;

/// One copy of each repeated string.
#[derive(Debug, Default)]
pub struct Interner {
    set: HashSet<Sym>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(sym) = self.set.get(s) {
            return sym.clone();
        }
        let sym: Sym = Arc::from(s);
        self.set.insert(sym.clone());
        sym
    }

    /// Drops the strings no row uses any more (called after a sweep removed instances).
    pub fn prune(&mut self) {
        self.set.retain(|s| Arc::strong_count(s) > 1);
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    fn opt(&mut self, s: Option<&str>) -> Option<Sym> {
        s.filter(|s| !s.is_empty()).map(|s| self.intern(s))
    }
}

/// The fields of an instance that every row needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Whether the service sent an id (the row's key is then that id).
    pub has_id: bool,
    pub name: Box<str>,
    pub feature: Option<Sym>,
    pub flavor: Option<Sym>,
    /// `name:tag` of the image; empty when unknown.
    pub image: Sym,
    /// The dedicated pool's name, or its id.
    pub pool: Option<Sym>,
    pub workspace_id: Option<Sym>,
    /// `user_id`, or the user object's id.
    pub user_id: Option<Sym>,
    pub user_name: Option<Sym>,
    pub create_at: Option<i64>,
    pub update_at: Option<i64>,
    pub lease: Option<Lease>,
    pub fail_reason: Option<Box<str>>,
}

impl Row {
    pub fn of(nb: &Notebook, strings: &mut Interner) -> Row {
        let mut row = Row::default();
        row.refresh(nb, strings);
        row
    }

    /// Takes the newer record's values, allocating only for what changed.
    /// Returns whether something the table shows changed.
    pub fn refresh(&mut self, nb: &Notebook, strings: &mut Interner) -> bool {
        let mut visible = false;
        self.has_id = nb.id.as_deref().is_some_and(|id| !id.is_empty());
        if *self.name != *nb.name_str() {
            self.name = nb.name_str().into();
            visible = true;
        }
        visible |= set_sym(&mut self.feature, nb.feature.as_deref(), strings);
        visible |= set_sym(&mut self.flavor, nb.flavor.as_deref(), strings);
        let image = nb.image.as_ref().map(|i| i.label()).unwrap_or_default();
        if *self.image != *image {
            self.image = strings.intern(&image);
            visible = true;
        }
        let pool = nb
            .pool
            .as_ref()
            .and_then(|p| p.name.as_deref().or(p.id.as_deref()));
        set_sym(&mut self.pool, pool, strings);
        set_sym(&mut self.workspace_id, nb.workspace_id.as_deref(), strings);
        let user = nb.user.as_ref();
        let user_id = nb
            .user_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(user.and_then(|u| u.id.as_deref()));
        set_sym(&mut self.user_id, user_id, strings);
        set_sym(
            &mut self.user_name,
            user.and_then(|u| u.name.as_deref()),
            strings,
        );
        visible |= self.create_at != nb.create_at;
        self.create_at = nb.create_at;
        self.update_at = nb.update_at;
        if self.lease != nb.lease {
            visible |= self.lease.as_ref().and_then(Lease::end_ms)
                != nb.lease.as_ref().and_then(Lease::end_ms)
                || self.lease.is_some() != nb.lease.is_some();
            self.lease = nb.lease.clone();
        }
        visible |= set_box(&mut self.fail_reason, nb.fail_reason.as_deref());
        visible
    }

    /// When the lease stops the instance, if auto-stop is on.
    pub fn lease_end_ms(&self) -> Option<i64> {
        self.lease.as_ref().and_then(Lease::end_ms)
    }

    /// Milliseconds since creation at `now_ms`, if the creation time is known.
    pub fn age_ms(&self, now_ms: i64) -> Option<i64> {
        self.create_at.map(|c| now_ms.saturating_sub(c).max(0))
    }

    /// The failure reason, when the service gave a non-empty one.
    pub fn fail_reason(&self) -> Option<&str> {
        self.fail_reason.as_deref()
    }
}

/// Sets an interned field; returns whether it changed.
fn set_sym(slot: &mut Option<Sym>, value: Option<&str>, strings: &mut Interner) -> bool {
    let value = value.filter(|s| !s.is_empty());
    if slot.as_deref() == value {
        return false;
    }
    *slot = strings.opt(value);
    true
}

/// Sets an owned field (a value that seldom repeats); returns whether it changed.
fn set_box(slot: &mut Option<Box<str>>, value: Option<&str>) -> bool {
    let value = value.filter(|s| !s.is_empty());
    if slot.as_deref() == value {
        return false;
    }
    *slot = value.map(Box::from);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{Image, User};

    fn nb(flavor: &str) -> Notebook {
        Notebook {
            id: Some("a".into()),
            name: Some("train".into()),
            flavor: Some(flavor.into()),
            image: Some(Image {
                name: Some("pytorch".into()),
                tag: Some("2.1".into()),
                ..Default::default()
            }),
            user: Some(User {
                id: Some("u1".into()),
                name: Some("zhang.wei".into()),
                ..Default::default()
            }),
            fail_reason: Some(String::new()),
            ..Default::default()
        }
    }

    #[test]
    fn repeated_strings_are_shared() {
        let mut strings = Interner::default();
        let a = Row::of(&nb("modelarts.vm.cpu.2u"), &mut strings);
        let b = Row::of(&nb("modelarts.vm.cpu.2u"), &mut strings);
        let (Some(fa), Some(fb)) = (&a.flavor, &b.flavor) else {
            panic!("flavor missing")
        };
        assert!(Arc::ptr_eq(fa, fb));
        assert!(Arc::ptr_eq(&a.image, &b.image));
        assert_eq!(&*a.image, "pytorch:2.1");
        assert_eq!(a.user_id.as_deref(), Some("u1"));
        assert_eq!(a.user_name.as_deref(), Some("zhang.wei"));
        // An empty failure reason is no failure reason.
        assert_eq!(a.fail_reason(), None);
    }

    #[test]
    fn refresh_reports_visible_changes_only() {
        let mut strings = Interner::default();
        let mut row = Row::of(&nb("modelarts.vm.cpu.2u"), &mut strings);
        assert!(!row.refresh(&nb("modelarts.vm.cpu.2u"), &mut strings));
        let mut later = nb("modelarts.vm.cpu.2u");
        later.update_at = Some(5);
        assert!(!row.refresh(&later, &mut strings), "update_at is not shown");
        assert_eq!(row.update_at, Some(5));
        assert!(row.refresh(&nb("modelarts.vm.gpu.t4"), &mut strings));
        assert_eq!(row.flavor.as_deref(), Some("modelarts.vm.gpu.t4"));
    }

    #[test]
    fn unused_strings_are_pruned() {
        let mut strings = Interner::default();
        let row = Row::of(&nb("modelarts.vm.cpu.2u"), &mut strings);
        let before = strings.len();
        drop(row);
        strings.prune();
        assert!(strings.len() < before);
        assert!(strings.is_empty());
    }
}
