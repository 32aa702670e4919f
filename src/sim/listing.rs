//! The listing service: query parameters → filter, sort, page. Validation
//! follows the reference page and what the real service answers.

use std::cmp::Ordering;

use serde_json::json;

use super::catalog;
use super::engine::Engine;
use super::instance::{Instance, State};
use super::render;

/// An error answer: HTTP status, `error_code`, `error_msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub msg: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, msg: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            msg: msg.into(),
        }
    }

    fn bad_param(msg: impl Into<String>) -> Self {
        ApiError::new(400, "ModelArts.0101", msg)
    }

    pub fn body(&self) -> String {
        json!({"error_code": self.code, "error_msg": self.msg}).to_string()
    }
}

/// Fields `sort_key` accepts.
pub const SORT_KEYS: &[&str] = &[
    "create_at",
    "update_at",
    "name",
    "status",
    "flavor",
    "feature",
    "id",
    "description",
    "workspace_id",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    CreateAt,
    UpdateAt,
    Name,
    Status,
    Flavor,
    Feature,
    Id,
    Description,
    Workspace,
}

/// A validated listing query.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub limit: usize,
    pub offset: usize,
    status: Option<State>,
    /// Lowercased.
    name: Option<String>,
    codelab: bool,
    pool_id: Option<String>,
    pool_name: Option<String>,
    owner: Option<String>,
    workspaces: Vec<String>,
    flavor: Option<String>,
    image_id: Option<String>,
    id: Option<String>,
    swr_path: Option<String>,
    description: Option<String>,
    ip: Option<String>,
    username: Option<String>,
    tags: Vec<(String, String)>,
    sort: Vec<SortKey>,
    desc: bool,
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

impl ListQuery {
    /// Validates decoded query pairs. Empty values count as absent; unknown
    /// parameters are ignored, as the service does.
    pub fn parse(pairs: &[(String, String)]) -> Result<ListQuery, ApiError> {
        let get = |k: &str| first(pairs, k);
        let limit = match get("limit") {
            None => 10,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n @ (10 | 20 | 50)) => n,
                _ => {
                    return Err(ApiError::bad_param(format!(
                        "Invalid parameter limit: {v}. It must be 10, 20 or 50."
                    )));
                }
            },
        };
        let offset = match get("offset") {
            None => 0,
            Some(v) => v.trim().parse::<usize>().map_err(|_| {
                ApiError::bad_param(format!(
                    "Invalid parameter offset: {v}. It must be a non-negative integer."
                ))
            })?,
        };
        let status =
            match get("status") {
                None => None,
                Some(v) => Some(State::parse(v).ok_or_else(|| {
                    ApiError::bad_param(format!("Invalid parameter status: {v}."))
                })?),
            };
        let name = match get("name") {
            Some(v) if v.chars().count() > 128 => {
                return Err(ApiError::bad_param(
                    "Invalid parameter name: at most 128 characters.",
                ));
            }
            other => other.map(str::to_lowercase),
        };
        let codelab = match get("feature") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("NOTEBOOK") => false,
            Some(v) if v.eq_ignore_ascii_case("DEFAULT") => true,
            Some(v) => {
                return Err(ApiError::bad_param(format!(
                    "Invalid parameter feature: {v}. It must be DEFAULT or NOTEBOOK."
                )));
            }
        };
        let mut workspaces = Vec::new();
        for key in ["workspace_id", "workspaceId"] {
            if let Some(w) = get(key) {
                if !catalog::WORKSPACES.contains(&w) {
                    return Err(ApiError::new(
                        400,
                        "ModelArts.0102",
                        format!("Workspace {w} does not exist."),
                    ));
                }
                workspaces.push(w.to_string());
            }
        }
        let desc = match get("sort_dir") {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("DESC") => true,
            Some(v) if v.eq_ignore_ascii_case("ASC") => false,
            Some(v) => {
                return Err(ApiError::bad_param(format!(
                    "Invalid parameter sort_dir: {v}. It must be ASC or DESC."
                )));
            }
        };
        let mut sort = Vec::new();
        for field in get("sort_key").unwrap_or("").split(',') {
            let field = field.trim();
            if field.is_empty() {
                continue;
            }
            let key = match field {
                "create_at" => SortKey::CreateAt,
                "update_at" => SortKey::UpdateAt,
                "name" => SortKey::Name,
                "status" => SortKey::Status,
                "flavor" => SortKey::Flavor,
                "feature" => SortKey::Feature,
                "id" => SortKey::Id,
                "description" => SortKey::Description,
                "workspace_id" => SortKey::Workspace,
                other => {
                    return Err(ApiError::new(
                        400,
                        "ModelArts.6303",
                        format!("Field {other} does not support sorting."),
                    ));
                }
            };
            sort.push(key);
        }
        if sort.is_empty() {
            sort.push(SortKey::CreateAt);
        }
        let tags = get("tags")
            .map(|t| {
                t.split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| match p.split_once('|') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (p.to_string(), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let own = |k: &str| get(k).map(str::to_string);
        Ok(ListQuery {
            limit,
            offset,
            status,
            name,
            codelab,
            pool_id: own("pool_id"),
            pool_name: own("pool_name"),
            owner: own("owner"),
            workspaces,
            flavor: own("flavor"),
            image_id: own("image_id"),
            id: own("id"),
            swr_path: own("swr_path"),
            description: get("description").map(str::to_lowercase),
            ip: own("ip"),
            username: own("username"),
            tags,
            sort,
            desc,
        })
    }

    fn matches(&self, i: &Instance, owner_only: Option<&str>) -> bool {
        if i.codelab != self.codelab {
            return false;
        }
        if let Some(u) = owner_only
            && i.user_info().id != u
        {
            return false;
        }
        if self.status.is_some_and(|s| s != i.state) {
            return false;
        }
        if let Some(n) = &self.name
            && !i.name.to_lowercase().contains(n.as_str())
        {
            return false;
        }
        if let Some(p) = &self.pool_id
            && i.pool_info().is_none_or(|pool| pool.id != p)
        {
            return false;
        }
        if let Some(p) = &self.pool_name
            && i.pool_info().is_none_or(|pool| pool.name != p)
        {
            return false;
        }
        if self.owner.as_deref().is_some_and(|o| i.user_info().id != o) {
            return false;
        }
        if self.workspaces.iter().any(|w| w != i.workspace_id()) {
            return false;
        }
        if self
            .flavor
            .as_deref()
            .is_some_and(|f| i.flavor_info().name != f)
        {
            return false;
        }
        if self
            .image_id
            .as_deref()
            .is_some_and(|x| i.image_info().id != x)
        {
            return false;
        }
        if self.id.as_deref().is_some_and(|x| i.id != x) {
            return false;
        }
        if let Some(s) = &self.swr_path
            && render::swr_path(i.image_info()) != *s
        {
            return false;
        }
        if let Some(d) = &self.description
            && !i.description_text().to_lowercase().contains(d.as_str())
        {
            return false;
        }
        if self
            .username
            .as_deref()
            .is_some_and(|u| i.user_info().name != u)
        {
            return false;
        }
        if self.ip.is_some() && render::ip(i) != self.ip {
            return false;
        }
        for (k, v) in &self.tags {
            let has = catalog::TAGS.iter().enumerate().any(|(b, (tk, tv))| {
                i.tags & (1 << b) != 0 && tk == k && (v.is_empty() || tv == v)
            });
            if !has {
                return false;
            }
        }
        true
    }

    fn compare(&self, a: &Instance, b: &Instance) -> Ordering {
        let mut o = Ordering::Equal;
        for key in &self.sort {
            o = o.then_with(|| match key {
                SortKey::CreateAt => a.create_at.cmp(&b.create_at),
                SortKey::UpdateAt => a.update_at.cmp(&b.update_at),
                SortKey::Name => a.name.cmp(&b.name),
                SortKey::Status => a.state.as_str().cmp(b.state.as_str()),
                SortKey::Flavor => a.flavor_info().name.cmp(b.flavor_info().name),
                SortKey::Feature => a.feature().cmp(b.feature()),
                SortKey::Id => a.id.cmp(&b.id),
                SortKey::Description => a.description_text().cmp(b.description_text()),
                SortKey::Workspace => a.workspace_id().cmp(b.workspace_id()),
            });
        }
        // Ties broken by id, so paging is stable.
        let o = o.then_with(|| a.id.cmp(&b.id));
        if self.desc { o.reverse() } else { o }
    }
}

/// One page, as the service answers it (the response body). `owner_only`
/// restricts to one user id (`GET /v1/{project_id}/notebooks`).
pub fn page(engine: &Engine, q: &ListQuery, owner_only: Option<&str>) -> String {
    let mut hits: Vec<&Instance> = engine
        .instances()
        .filter(|i| q.matches(i, owner_only))
        .collect();
    let total = hits.len();
    let end = q.offset.saturating_add(q.limit).min(total);
    let data: Vec<render::NotebookView<'_>> = if q.offset < total {
        // Only the page needs a full order: partition around its last and first
        // ranks (linear on average), then sort the page alone. Sorting everything
        // before it made late pages O(n log n) under the engine lock.
        if end < total {
            hits.select_nth_unstable_by(end - 1, |a, b| q.compare(a, b));
            hits.truncate(end);
        }
        if q.offset > 0 {
            hits.select_nth_unstable_by(q.offset, |a, b| q.compare(a, b));
        }
        hits[q.offset..].sort_unstable_by(|a, b| q.compare(a, b));
        hits[q.offset..end]
            .iter()
            .map(|i| render::notebook(i, engine.now()))
            .collect()
    } else {
        Vec::new()
    };
    #[derive(serde::Serialize)]
    struct PageView<'a> {
        current: usize,
        data: Vec<render::NotebookView<'a>>,
        pages: usize,
        size: usize,
        total: usize,
    }
    serde_json::to_string(&PageView {
        current: q.offset / q.limit.max(1),
        data,
        pages: total.div_ceil(q.limit.max(1)),
        size: q.limit,
        total,
    })
    .unwrap_or_default()
}
