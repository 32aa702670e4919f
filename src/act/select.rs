//! Which instances `nbwatch start|stop|extend|delete` act on: the ones named
//! (each an id or an exact name), or the ones the selectors pick.
//!
//! The selectors are `list`'s filters with `list`'s meaning, so
//! `nbwatch list --status RUNNING --name exp` shows what
//! `nbwatch stop --status RUNNING --name exp` acts on. Two additions the service
//! cannot do, matched here on the complete listing instead:
//! - `--status` given several times: the service filters on one status, so the
//!   listing is read without it and each instance's status is compared.
//! - `--name` with a `*`: the service's name filter is a fuzzy substring match
//!   that gives `*` no meaning, so a glob is matched by nbwatch (`*` any run of
//!   characters, anchored at both ends, case-insensitive: the reference page
//!   does not say whether the service's match heeds case) and the listing is
//!   read without the name filter, so nothing depends on how the service matches.
//!
//! A selected instance whose status the action does not apply to is skipped,
//! with why ([`Verb::skip_reason`]). A named one is sent as named: the service
//! decides, and its refusal (code, meaning, request id) is reported.

use std::collections::HashSet;

use crate::api::ListQuery;
use crate::api::actions::Verb;
use crate::api::model::{Notebook, Status};
use crate::cli::FilterArgs;

/// What the command line picks instances by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Each an id or an exact name.
    Named(Vec<String>),
    /// Everything the listing query returns that [`Matcher`] keeps.
    Selected(Matcher),
}

/// The part of a selection matched by nbwatch rather than the service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    /// Several `--status`: any of these (empty: the service filtered, or none).
    pub statuses: Vec<Status>,
    /// A `--name` glob (with `*`).
    pub glob: Option<String>,
}

impl Matcher {
    pub fn keeps(&self, nb: &Notebook) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&nb.status_or_unknown()))
            && self
                .glob
                .as_deref()
                .is_none_or(|g| glob_matches(g, nb.name_str()))
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters
/// (none included) and everything else for itself, ignoring case.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    // The classic two-pointer match with one backtrack point (the last `*`).
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == n[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// Whether the command line selects by any of `--status`, `--name`, `--feature`.
pub fn has_selectors(f: &FilterArgs) -> bool {
    !f.status.is_empty() || f.name.is_some() || f.feature.is_some()
}

/// The listing query and the pick: `query` is the one `list` would send (the
/// profile's filters with the command line's over them), less what nbwatch
/// matches itself. Warnings (an undocumented status) go to `warn`.
pub fn pick(
    query: &ListQuery,
    f: &FilterArgs,
    instances: &[String],
    mut warn: impl FnMut(String),
) -> Result<(ListQuery, Pick), String> {
    let mut q = query.clone();
    if !instances.is_empty() {
        if has_selectors(f) {
            return Err(
                "name the instances or select them with --status/--name/--feature, not both; fix: drop the names, or the selectors"
                    .into(),
            );
        }
        return Ok((q, Pick::Named(instances.to_vec())));
    }
    if !has_selectors(f) {
        return Err(
            "no instance given; fix: name them (id or exact name), or select them with --status (repeatable), --name (a substring, or a glob with '*') or --feature, and try --dry-run first"
                .into(),
        );
    }
    let mut m = Matcher::default();
    if f.status.len() > 1 {
        // The single-status case went through the configuration, which
        // normalised it (and warned) already.
        q.status = None;
        for s in &f.status {
            let (v, problem) = crate::config::status_filter(s);
            if let Some(p) = problem {
                warn(format!("--status: {p}"));
            }
            let status = Status::parse(&v);
            if !m.statuses.contains(&status) {
                m.statuses.push(status);
            }
        }
    }
    if let Some(name) = q.name.take_if(|n| n.contains('*')) {
        m.glob = Some(name);
    }
    Ok((q, Pick::Selected(m)))
}

/// An instance to act on, or one skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub nb: Notebook,
    /// Why the action does not apply to its status: a selected instance is
    /// then skipped; a named one is sent and the service decides.
    pub refused: Option<&'static str>,
    pub named: bool,
}

impl Target {
    /// Whether the action is sent for it.
    pub fn acted_on(&self) -> bool {
        self.named || self.refused.is_none()
    }
}

/// The targets of `pick` in `all` (the listing, in its order, each id once).
pub fn targets(verb: Verb, all: &[Notebook], pick: &Pick) -> Result<Vec<Target>, String> {
    let target = |nb: &Notebook, named| Target {
        refused: verb.skip_reason(&nb.status_or_unknown()),
        nb: nb.clone(),
        named,
    };
    match pick {
        Pick::Selected(m) => Ok(all
            .iter()
            .filter(|nb| m.keeps(nb))
            .map(|nb| target(nb, false))
            .collect()),
        Pick::Named(names) => {
            let mut out = Vec::new();
            let mut seen = HashSet::new();
            let mut problems = Vec::new();
            for wanted in names {
                match find(all, wanted) {
                    Ok(nb) => {
                        if seen.insert(nb.id_str().to_string()) {
                            out.push(target(nb, true));
                        }
                    }
                    Err(e) => problems.push(e),
                }
            }
            if problems.is_empty() {
                Ok(out)
            } else {
                Err(problems.join("\n"))
            }
        }
    }
}

/// The instance `wanted` names: an id, else an exact name that only one has.
pub fn find<'a>(all: &'a [Notebook], wanted: &str) -> Result<&'a Notebook, String> {
    if let Some(nb) = all.iter().find(|n| n.id.as_deref() == Some(wanted)) {
        return Ok(nb);
    }
    let named: Vec<&Notebook> = all
        .iter()
        .filter(|n| n.name.as_deref() == Some(wanted))
        .collect();
    match named.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no instance has the id or name '{wanted}'; fix: check it with `nbwatch list`"
        )),
        many => {
            let mut msg = format!(
                "{} instances are named '{wanted}'; fix: give the id of one of them:",
                many.len()
            );
            for n in many {
                msg.push_str(&format!(
                    "\n  {}  {}  {}",
                    n.id_str(),
                    n.status_or_unknown(),
                    n.flavor.as_deref().unwrap_or("-")
                ));
            }
            Err(msg)
        }
    }
}

/// What the listing was asked for, in words: `status RUNNING, name exp*`.
pub fn describe(q: &ListQuery, m: &Matcher) -> String {
    let mut parts = Vec::new();
    if !m.statuses.is_empty() {
        let s: Vec<&str> = m.statuses.iter().map(Status::as_str).collect();
        parts.push(format!("status {}", s.join(" or ")));
    } else if let Some(s) = &q.status {
        parts.push(format!("status {s}"));
    }
    match (&m.glob, &q.name) {
        (Some(g), _) => parts.push(format!("name {g} (glob)")),
        (None, Some(n)) => parts.push(format!("name containing {n}")),
        _ => {}
    }
    if let Some(f) = &q.feature {
        parts.push(format!("feature {f}"));
    }
    for (label, v) in [
        ("pool", &q.pool_id),
        ("owner", &q.owner),
        ("workspace", &q.workspace_id),
    ] {
        if let Some(v) = v {
            parts.push(format!("{label} {v}"));
        }
    }
    for (k, v) in &q.extra {
        parts.push(format!("{k} {v}"));
    }
    parts.join(", ")
}

/// The rows of a plan, aligned: `stop  NAME  ID  STATUS  [why skipped]`.
pub fn plan_lines(verb: Verb, targets: &[Target]) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let rows: Vec<[String; 5]> = targets
        .iter()
        .map(|t| {
            let (what, why) = match (t.refused, t.named) {
                (None, _) => (verb.name().to_string(), String::new()),
                (Some(r), true) => (
                    verb.name().to_string(),
                    format!("the service will likely refuse it: {r}"),
                ),
                (Some(r), false) => ("skip".to_string(), r.to_string()),
            };
            [
                what,
                t.nb.name_str().to_string(),
                t.nb.id_str().to_string(),
                t.nb.status_or_unknown().to_string(),
                why,
            ]
        })
        .collect();
    let mut widths = [0usize; 4];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.width());
        }
    }
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (i, cell) in r.iter().enumerate() {
                if i == 4 && cell.is_empty() {
                    break;
                }
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                if i < 4 {
                    let pad = widths[i].saturating_sub(cell.width());
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(id: &str, name: &str, status: Status) -> Notebook {
        Notebook {
            id: Some(id.into()),
            name: Some(name.into()),
            status: Some(status),
            ..Default::default()
        }
    }

    fn filters(status: &[&str], name: Option<&str>) -> FilterArgs {
        FilterArgs {
            status: status.iter().map(|s| s.to_string()).collect(),
            name: name.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn globs_match_whole_names_with_stars_anywhere_ignoring_case() {
        assert!(glob_matches("exp*", "exp-1"));
        assert!(glob_matches("exp*", "EXP"));
        assert!(!glob_matches("exp*", "my-exp-1"));
        assert!(glob_matches("*exp*", "my-exp-1"));
        assert!(glob_matches("*-v?", "a-v?"));
        assert!(!glob_matches("*-v?", "a-v1"), "only * is special");
        assert!(glob_matches("a*b*c", "a-xx-b-yy-c"));
        assert!(!glob_matches("a*b*c", "a-xx-b-yy-cd"));
        assert!(glob_matches("中文*", "中文实验-01"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("a", ""));
        assert!(glob_matches("**x", "x"));
    }

    #[test]
    fn names_and_selectors_are_one_or_the_other() {
        let q = ListQuery::default();
        let names = vec!["a".to_string()];
        let err = pick(&q, &filters(&["RUNNING"], None), &names, |_| {}).unwrap_err();
        assert!(err.contains("not both"), "{err}");
        let err = pick(&q, &FilterArgs::default(), &[], |_| {}).unwrap_err();
        assert!(err.contains("--dry-run"), "{err}");
        let (q2, p) = pick(&q, &FilterArgs::default(), &names, |_| {}).unwrap();
        assert_eq!(q2, q);
        assert_eq!(p, Pick::Named(names));
    }

    #[test]
    fn a_glob_and_several_statuses_are_matched_here_not_sent() {
        let q = ListQuery {
            status: Some("RUNNING".into()),
            name: Some("exp*".into()),
            ..Default::default()
        };
        let mut warned = Vec::new();
        let (sent, p) = pick(
            &q,
            &filters(&["running", "ERROR", "RUNING"], Some("exp*")),
            &[],
            |w| warned.push(w),
        )
        .unwrap();
        assert_eq!((sent.status, sent.name), (None, None));
        let Pick::Selected(m) = p else {
            panic!("selected")
        };
        assert_eq!(m.glob.as_deref(), Some("exp*"));
        assert_eq!(m.statuses.len(), 3);
        assert!(warned[0].contains("did you mean RUNNING"), "{warned:?}");
        assert!(m.keeps(&nb("1", "exp-1", Status::Error)));
        assert!(!m.keeps(&nb("2", "exp-2", Status::Stopped)));
        assert!(!m.keeps(&nb("3", "my-exp", Status::Running)));
        // One status and a plain name are the service's to filter.
        let q = ListQuery {
            status: Some("RUNNING".into()),
            name: Some("exp".into()),
            ..Default::default()
        };
        let (sent, p) = pick(&q, &filters(&["RUNNING"], Some("exp")), &[], |_| {}).unwrap();
        assert_eq!(sent, q);
        assert_eq!(p, Pick::Selected(Matcher::default()));
        assert_eq!(
            describe(&sent, &Matcher::default()),
            "status RUNNING, name containing exp"
        );
    }

    #[test]
    fn selected_instances_in_the_wrong_status_are_skipped_named_ones_are_sent() {
        let all = [
            nb("a1", "exp-1", Status::Running),
            nb("b2", "exp-2", Status::Stopped),
            nb("c3", "dup", Status::Running),
            nb("d4", "dup", Status::Running),
        ];
        let t = targets(Verb::Stop, &all, &Pick::Selected(Matcher::default())).unwrap();
        let acted: Vec<&str> = t
            .iter()
            .filter(|t| t.acted_on())
            .map(|t| t.nb.id_str())
            .collect();
        assert_eq!(acted, ["a1", "c3", "d4"]);
        assert_eq!(t[1].refused, Some("not RUNNING or ERROR"));
        let lines = plan_lines(Verb::Stop, &t);
        assert_eq!(lines[0], "stop  exp-1  a1  RUNNING");
        assert_eq!(lines[1], "skip  exp-2  b2  STOPPED  not RUNNING or ERROR");

        let named = |n: &[&str]| Pick::Named(n.iter().map(|s| s.to_string()).collect());
        let t = targets(Verb::Stop, &all, &named(&["exp-2", "a1", "exp-1"])).unwrap();
        assert_eq!(t.len(), 2, "the same instance twice is acted on once");
        assert!(t.iter().all(Target::acted_on));
        assert!(
            plan_lines(Verb::Stop, &t)[0].ends_with("will likely refuse it: not RUNNING or ERROR")
        );
        let exact = [
            nb("a1", "train", Status::Running),
            nb("d4", "Train", Status::Running),
        ];
        assert_eq!(find(&exact, "Train").unwrap().id_str(), "d4");
        assert_eq!(find(&exact, "train").unwrap().id_str(), "a1");
        assert!(
            find(&exact, "tra").is_err(),
            "a name is exact, not a prefix"
        );
        let err = targets(Verb::Stop, &all, &named(&["nope", "dup", "a1"])).unwrap_err();
        assert!(
            err.contains("no instance has the id or name 'nope'"),
            "{err}"
        );
        assert!(err.contains("c3") && err.contains("d4"), "{err}");
    }
}
