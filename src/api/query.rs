//! Every query parameter of `ListAllNotebooks`, and the pairs a page request sends.

use std::fmt;

/// How the workspace filter is spelled on the wire. The SDKs send `workspace_id`;
/// the reference page documents `workspaceId`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WorkspaceParam {
    #[default]
    WorkspaceId,
    WorkspaceIdCamel,
}

impl WorkspaceParam {
    /// The query parameter name to send.
    pub fn key(self) -> &'static str {
        match self {
            WorkspaceParam::WorkspaceId => "workspace_id",
            WorkspaceParam::WorkspaceIdCamel => "workspaceId",
        }
    }

    /// Parses the spelling itself (`workspace_id` or `workspaceId`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "workspace_id" => Some(WorkspaceParam::WorkspaceId),
            "workspaceId" => Some(WorkspaceParam::WorkspaceIdCamel),
            _ => None,
        }
    }
}

/// A page size the service accepts: 10, 20 or 50.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub const ALLOWED: [u32; 3] = [10, 20, 50];
    pub const MAX: PageSize = PageSize(50);

    pub fn new(n: u32) -> Result<Self, QueryError> {
        if Self::ALLOWED.contains(&n) {
            Ok(PageSize(n))
        } else {
            Err(QueryError::PageSize(n))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// The allowed sizes as words: `10, 20 or 50` (with `conj` = "or").
    pub fn allowed_list(conj: &str) -> String {
        let (last, rest) = Self::ALLOWED.split_last().unwrap_or((&0, &[]));
        let rest: Vec<String> = rest.iter().map(u32::to_string).collect();
        format!("{} {conj} {last}", rest.join(", "))
    }
}

impl Default for PageSize {
    fn default() -> Self {
        PageSize::MAX
    }
}

impl fmt::Display for PageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("page size {0} is not accepted by ModelArts: use 10, 20 or 50")]
    PageSize(u32),
    #[error("sort direction '{0}' is not valid: use ASC or DESC")]
    SortDir(String),
    #[error("feature '{0}' is not valid: use NOTEBOOK (billed) or DEFAULT (free CodeLab)")]
    Feature(String),
    #[error("name filter is {0} characters long; ModelArts accepts at most 128")]
    NameTooLong(usize),
    #[error("'{0}' is not a query parameter ModelArts accepts; known: {1}")]
    UnknownParam(String, String),
    #[error("'{0}' should look like KEY=VALUE")]
    BadParam(String),
}

/// Extra parameters the official SDK also accepts.
pub const EXTRA_PARAMS: [&str; 10] = [
    "flavor",
    "image_id",
    "id",
    "billing",
    "tags",
    "swr_path",
    "pool_name",
    "description",
    "ip",
    "username",
];

/// The server-side filters and sort of a listing. `limit`/`offset` are added per page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub feature: Option<String>,
    pub name: Option<String>,
    pub pool_id: Option<String>,
    pub owner: Option<String>,
    pub sort_dir: Option<String>,
    /// Comma-separated field names.
    pub sort_key: Option<String>,
    pub status: Option<String>,
    pub workspace_id: Option<String>,
    pub workspace_param: WorkspaceParam,
    /// Other parameters the SDK accepts (see [`EXTRA_PARAMS`]), in the order given.
    pub extra: Vec<(String, String)>,
    pub page_size: PageSize,
}

impl ListQuery {
    /// Checks values the service would reject, so the user hears it before a request.
    pub fn validate(&self) -> Result<(), QueryError> {
        if let Some(d) = &self.sort_dir
            && !matches!(d.as_str(), "ASC" | "DESC")
        {
            return Err(QueryError::SortDir(d.clone()));
        }
        if let Some(f) = &self.feature
            && !matches!(f.as_str(), "NOTEBOOK" | "DEFAULT")
        {
            return Err(QueryError::Feature(f.clone()));
        }
        if let Some(n) = &self.name {
            let len = n.chars().count();
            if len > 128 {
                return Err(QueryError::NameTooLong(len));
            }
        }
        for (k, _) in &self.extra {
            if !EXTRA_PARAMS.contains(&k.as_str()) {
                return Err(QueryError::UnknownParam(k.clone(), EXTRA_PARAMS.join(", ")));
            }
        }
        Ok(())
    }

    /// Adds an extra `KEY=VALUE` parameter given on the command line.
    pub fn push_param(&mut self, kv: &str) -> Result<(), QueryError> {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| QueryError::BadParam(kv.to_string()))?;
        if !EXTRA_PARAMS.contains(&k) {
            return Err(QueryError::UnknownParam(
                k.to_string(),
                EXTRA_PARAMS.join(", "),
            ));
        }
        self.extra.push((k.to_string(), v.to_string()));
        Ok(())
    }

    /// The raw (unencoded) pairs for the page at `offset`. Empty filters are left out.
    pub fn pairs(&self, offset: u64) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(10 + self.extra.len());
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                out.push((k.to_string(), v.to_string()));
            }
        };
        put("feature", &self.feature);
        put("name", &self.name);
        put("pool_id", &self.pool_id);
        put("owner", &self.owner);
        put("sort_dir", &self.sort_dir);
        put("sort_key", &self.sort_key);
        put("status", &self.status);
        put(self.workspace_param.key(), &self.workspace_id);
        out.push(("limit".to_string(), self.page_size.get().to_string()));
        out.push(("offset".to_string(), offset.to_string()));
        out.extend(self.extra.iter().cloned());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::sign::canonical_query;

    #[test]
    fn page_size_is_10_20_or_50() {
        assert!(PageSize::new(10).is_ok());
        assert!(PageSize::new(20).is_ok());
        assert!(PageSize::new(50).is_ok());
        let e = PageSize::new(100).unwrap_err();
        assert_eq!(
            e.to_string(),
            "page size 100 is not accepted by ModelArts: use 10, 20 or 50"
        );
        assert_eq!(PageSize::default().get(), 50);
    }

    #[test]
    fn pairs_carry_every_filter_and_the_workspace_spelling() {
        let mut q = ListQuery {
            feature: Some("NOTEBOOK".into()),
            name: Some("my nb*中".into()),
            pool_id: Some("pool-1".into()),
            owner: Some("u1".into()),
            sort_dir: Some("ASC".into()),
            sort_key: Some("name,create_at".into()),
            status: Some("RUNNING".into()),
            workspace_id: Some("0".into()),
            page_size: PageSize::new(20).unwrap(),
            ..Default::default()
        };
        q.push_param("flavor=modelarts.vm.cpu.2u").unwrap();
        let wire = canonical_query(&q.pairs(40));
        assert_eq!(
            wire,
            "feature=NOTEBOOK&flavor=modelarts.vm.cpu.2u&limit=20&name=my%20nb%2A%E4%B8%AD&offset=40\
             &owner=u1&pool_id=pool-1&sort_dir=ASC&sort_key=name%2Ccreate_at&status=RUNNING&workspace_id=0"
        );
        q.workspace_param = WorkspaceParam::WorkspaceIdCamel;
        assert!(canonical_query(&q.pairs(0)).ends_with("&workspaceId=0"));
        assert!(q.validate().is_ok());
    }

    #[test]
    fn empty_filters_are_left_out() {
        let q = ListQuery {
            name: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(canonical_query(&q.pairs(0)), "limit=50&offset=0");
    }

    #[test]
    fn rejects_what_the_service_would() {
        let q = ListQuery {
            sort_dir: Some("UP".into()),
            ..Default::default()
        };
        assert!(matches!(q.validate(), Err(QueryError::SortDir(_))));
        let q = ListQuery {
            feature: Some("GPU".into()),
            ..Default::default()
        };
        assert!(matches!(q.validate(), Err(QueryError::Feature(_))));
        let q = ListQuery {
            name: Some("x".repeat(129)),
            ..Default::default()
        };
        assert!(matches!(q.validate(), Err(QueryError::NameTooLong(129))));
        let mut q = ListQuery::default();
        assert!(matches!(
            q.push_param("nope=1"),
            Err(QueryError::UnknownParam(..))
        ));
        assert!(matches!(
            q.push_param("flavor"),
            Err(QueryError::BadParam(_))
        ));
    }
}
