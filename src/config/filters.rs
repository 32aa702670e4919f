//! The default query filters (status, name, feature, pool, owner, workspace,
//! sort), from the first layer that sets each; a status or feature the service
//! does not document is a warning, not an error.

use toml::Spanned;

use super::error::{ConfigError, ErrorKind, Origin};
use super::layers::{Cx, Got};
use super::{Filters, Overrides, vars};
use crate::api::model::Status;
use crate::region;

/// A status filter as the service spells it (upper case), and the warning
/// when it is not a documented status (the service may have new ones, so it
/// is kept). The one reading of `--status`, for the listing and the actions.
pub fn status_filter(value: &str) -> (String, Option<String>) {
    let v = value.trim().to_ascii_uppercase();
    let documented = || Status::ALL.iter().map(Status::as_str);
    if documented().any(|s| s == v) {
        return (v, None);
    }
    let hint = region::closest(&v, documented())
        .map(|s| format!("did you mean {s}? "))
        .unwrap_or_default();
    let problem = format!(
        "status filter `{v}` is not a documented status; {hint}documented: {} (the service may reject it)",
        documented().collect::<Vec<_>>().join(", ")
    );
    (v, Some(problem))
}

impl Cx<'_> {
    /// A filter from the first layer that sets it; an empty `--flag ""` clears it.
    fn filter(
        &self,
        cli: Option<&String>,
        flag: &'static str,
        var: &str,
        file: Option<&Spanned<String>>,
    ) -> Option<Got<String>> {
        if let Some(v) = cli {
            let v = v.trim();
            return (!v.is_empty()).then(|| Got {
                value: v.to_string(),
                at: Origin::Cli(flag),
            });
        }
        self.pick(None, flag, var, file)
    }

    pub(super) fn filters(
        &self,
        o: &Overrides,
        warnings: &mut Vec<String>,
    ) -> Result<Filters, ConfigError> {
        let f = &self.profile.filters;
        let bad = |g: &Got<String>, problem: String, fix: &str| {
            ConfigError::at(ErrorKind::InvalidValue, &g.at, problem, fix)
        };

        let status = self.filter(
            o.status.as_ref(),
            "--status",
            vars::STATUS,
            f.status.as_ref(),
        );
        let status = status.map(|g| {
            let (v, problem) = status_filter(&g.value);
            if let Some(problem) = problem {
                warnings.push(format!("{}: {problem}", g.at));
            }
            v
        });

        let name = self.filter(o.name.as_ref(), "--name", vars::NAME, f.name.as_ref());
        if let Some(g) = &name
            && g.value.chars().count() > 128
        {
            return Err(bad(
                g,
                format!("name filter is {} characters long", g.value.chars().count()),
                "the service matches names of at most 128 characters: shorten it",
            ));
        }

        let feature = self.filter(
            o.feature.as_ref(),
            "--feature",
            vars::FEATURE,
            f.feature.as_ref(),
        );
        let feature = match feature {
            None => None,
            Some(g) => {
                let v = g.value.to_ascii_uppercase();
                if v != "DEFAULT" && v != "NOTEBOOK" {
                    return Err(bad(
                        &g,
                        format!("feature `{}` is not known", g.value),
                        "use NOTEBOOK (billed instances, the service's default) or DEFAULT (free CodeLab)",
                    ));
                }
                Some(v)
            }
        };

        let sort_dir = self.filter(
            o.sort_dir.as_ref(),
            "--sort-dir",
            vars::SORT_DIR,
            f.sort_dir.as_ref(),
        );
        let sort_dir = match sort_dir {
            None => None,
            Some(g) => {
                let v = g.value.to_ascii_uppercase();
                if v != "ASC" && v != "DESC" {
                    return Err(bad(
                        &g,
                        format!("sort direction `{}` is not known", g.value),
                        "use ASC or DESC",
                    ));
                }
                Some(v)
            }
        };

        let sort_key = self.filter(
            o.sort_key.as_ref(),
            "--sort-key",
            vars::SORT_KEY,
            f.sort_key.as_ref(),
        );
        if let Some(g) = &sort_key {
            let ok = g.value.split(',').all(|k| {
                let k = k.trim();
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !ok {
                return Err(bad(
                    g,
                    format!("sort key `{}` is malformed", g.value),
                    "use field names separated by commas, e.g. create_at or status,name",
                ));
            }
        }

        let pool_id = self.filter(
            o.pool_id.as_ref(),
            "--pool-id",
            vars::POOL_ID,
            f.pool_id.as_ref(),
        );
        let owner = self.filter(o.owner.as_ref(), "--owner", vars::OWNER, f.owner.as_ref());
        let workspace_id = self.filter(
            o.workspace_id.as_ref(),
            "--workspace-id",
            vars::WORKSPACE_ID,
            f.workspace_id.as_ref(),
        );
        Ok(Filters {
            status,
            name: name.map(|g| g.value),
            feature,
            pool_id: pool_id.map(|g| g.value),
            owner: owner.map(|g| g.value),
            workspace_id: workspace_id.map(|g| g.value),
            sort_key: sort_key.map(|g| g.value.replace(' ', "")),
            sort_dir,
        })
    }
}
