//! Settings from four layers, highest first: command line > environment > config file > defaults.
//!
//! The config file is TOML with named profiles (`[profiles.NAME]`, chosen by `--profile`,
//! `NBWATCH_PROFILE` or `default_profile`). Credentials follow the Huawei Cloud SDKs:
//! `HUAWEICLOUD_SDK_AK`/`_SK`/`_SECURITY_TOKEN` (or `NBWATCH_AUTH_TOKEN` for an IAM token),
//! then the profile, then `~/.huaweicloud/credentials` `[basic]`. The SK is never taken from
//! the command line (it would show in `ps`) and never printed: every secret is a [`Secret`].
//!
//! Every problem becomes one [`ConfigError`] naming where (file:line:column, variable or
//! option), what, and the fix. Nothing here reads the process environment or the real home
//! directory unless asked to ([`ProcessEnv`], [`Dirs::platform`]), so tests inject both.

mod credentials;
mod error;
mod file;
mod filters;
mod identity;
mod layers;
mod outputs;
mod resolve;
mod sources;
mod table;
mod values;
mod views;

#[cfg(test)]
mod sources_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod views_tests;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use table::{overrides_view, settings_view};

pub use error::{ConfigError, ErrorKind, Origin};
pub use file::{ALERT_KEYS, FILTER_KEYS, PROFILE_KEYS, ROOT_KEYS, VIEW_KEYS};
pub use filters::status_filter;
pub use resolve::resolve;
pub use sources::{labels as source_labels, resolve_fixed, resolve_sources};
pub use table::{RowFlag, flags};
pub use values::{parse_endpoint, permission_warning};

table::settings_rows!(overrides_view [
/// Values given on the command line; `None` means "not given". Error messages name the
/// option as written in each field's doc, so the CLI should use those spellings.
/// There is deliberately no field for the SK, the security token or an IAM token.
/// The flags of the settings in `table::settings_rows!` come after these fields.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--config PATH`
    pub config_path: Option<PathBuf>,
    /// `--profile NAME` (or `--profile a,b,c`: several sources, see [`resolve_sources`])
    pub profile: Option<String>,
    /// `--all-profiles`
    pub all_profiles: bool,
    /// `--region NAME`
    pub region: Option<String>,
    /// `--endpoint URL`
    pub endpoint: Option<String>,
    /// `--project-id ID`
    pub project_id: Option<String>,
    /// Filters, `--status` … `--sort-dir`. An empty string clears a default from the file.
    pub status: Option<String>,
    pub name: Option<String>,
    pub feature: Option<String>,
    pub pool_id: Option<String>,
    pub owner: Option<String>,
    pub workspace_id: Option<String>,
    pub sort_key: Option<String>,
    pub sort_dir: Option<String>,
    /// `--view NAME`: the dashboard starts with this view of the config file.
    pub view: Option<String>,
    /// Where to connect and as whom, given by the program instead of the user's
    /// region, endpoint and credentials: `--demo`'s simulator. Everything else
    /// still comes from the layers.
    pub fixed_source: Option<FixedSource>,
}
]);

/// An endpoint, project and credentials that replace the layers' (see [`Overrides::fixed_source`]).
#[derive(Clone, Debug)]
pub struct FixedSource {
    /// Shown as the profile and as where the credentials came from, e.g. `demo`.
    pub label: String,
    /// The region it stands for, if any (the demo's simulated regions).
    pub region: Option<String>,
    pub endpoint: String,
    pub project_id: String,
    pub auth: Auth,
}

table::settings_rows!(settings_view [
/// Everything the rest of nbwatch needs, validated. `Debug` shows no secret.
/// The settings of `table::settings_rows!` come after these fields.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The profile in use (`default` when the file names none).
    pub profile: String,
    /// The region, when one was given (an endpoint alone needs none).
    pub region: Option<String>,
    /// Base URL without a trailing slash, e.g. `https://modelarts.cn-north-4.myhuaweicloud.com`.
    pub endpoint: String,
    pub project_id: String,
    pub auth: Auth,
    /// Where the credentials came from, for the status line and `--debug` output.
    pub auth_source: String,
    pub filters: Filters,
    pub alerts: crate::alerts::AlertConfig,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The dashboard's views (`[views.NAME]`), in the file's order.
    pub views: Vec<crate::app::View>,
    /// The table's columns, in order (`columns`); empty for every column.
    pub columns: Vec<crate::app::SortColumn>,
    /// The view to start with (`--view NAME`), by its place in `views`.
    pub start_view: Option<usize>,
    /// Things the user should know but that do not stop nbwatch (e.g. file permissions).
    pub warnings: Vec<String>,
}
/// Defaults for one endpoint, project and credentials, with no file or
/// environment involved: what demo mode and tests start from.
pub fn for_endpoint(
    endpoint: impl Into<String>,
    project_id: impl Into<String>,
    auth: Auth,
) -> Settings {
    profile: crate::defaults::PROFILE.to_string(),
    region: None,
    endpoint: endpoint.into(),
    project_id: project_id.into(),
    auth,
    auth_source: "built in".to_string(),
    filters: Filters::default(),
    alerts: crate::alerts::AlertConfig::default(),
    config_file: None,
    views: Vec::new(),
    columns: Vec::new(),
    start_view: None,
    warnings: Vec::new(),
}
]);

pub use crate::api::Auth;
pub use crate::api::WorkspaceParam;

impl Settings {
    /// A client for these settings.
    pub fn client(
        &self,
        retry: crate::api::RetryPolicy,
    ) -> Result<crate::api::Client, crate::api::ApiError> {
        let mut opts = crate::api::ClientOptions::new(
            self.endpoint.clone(),
            self.project_id.clone(),
            self.auth.clone(),
        );
        opts.timeout = self.timeout;
        opts.connect_timeout = self.connect_timeout;
        opts.concurrency = self.concurrency;
        opts.retry = retry;
        crate::api::Client::new(opts)
    }
}

/// Default query filters. Values are normalised: `status`, `feature` and `sort_dir` upper-case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub status: Option<String>,
    pub name: Option<String>,
    pub feature: Option<String>,
    pub pool_id: Option<String>,
    pub owner: Option<String>,
    pub workspace_id: Option<String>,
    pub sort_key: Option<String>,
    pub sort_dir: Option<String>,
}

/// Environment variables, injectable so tests never touch the process environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Env for [(&str, &str)] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.as_slice().var(name)
    }
}

/// The home directory and default file locations, injectable for tests.
#[derive(Clone, Debug, Default)]
pub struct Dirs {
    /// For `~/.huaweicloud/credentials` and `~` in paths.
    pub home: Option<PathBuf>,
    /// The config file read when neither `--config` nor `NBWATCH_CONFIG` names one.
    pub config_file: Option<PathBuf>,
    /// The log file used when none is configured.
    pub log_file: Option<PathBuf>,
}

impl Dirs {
    /// The platform's locations (`directories`).
    pub fn platform() -> Dirs {
        Dirs {
            home: directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()),
            config_file: default_config_path(),
            log_file: default_log_path(),
        }
    }

    /// Locations under one root directory, as on Linux with `HOME=root`. For tests.
    pub fn under(root: &std::path::Path) -> Dirs {
        Dirs {
            home: Some(root.to_path_buf()),
            config_file: Some(root.join(".config/nbwatch/config.toml")),
            log_file: Some(root.join(".local/share/nbwatch/nbwatch.log")),
        }
    }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "nbwatch")
}

/// `config.toml` in the platform config dir (e.g. `~/.config/nbwatch/config.toml`).
pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// `nbwatch.log` in the platform data dir (e.g. `~/.local/share/nbwatch/nbwatch.log`).
pub fn default_log_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_dir().join("nbwatch.log"))
}

/// Environment variable names read by [`resolve`] (besides those of the rows
/// of `table::settings_rows!`, which name their own).
pub mod vars {
    pub const CONFIG: &str = "NBWATCH_CONFIG";
    pub const PROFILE: &str = "NBWATCH_PROFILE";
    pub const REGION: &str = "NBWATCH_REGION";
    pub const ENDPOINT: &str = "NBWATCH_ENDPOINT";
    pub const PROJECT_ID: &str = "NBWATCH_PROJECT_ID";
    pub const ALERT_HOOK: &str = "NBWATCH_ALERT_HOOK";
    pub const STATUS: &str = "NBWATCH_STATUS";
    pub const NAME: &str = "NBWATCH_NAME";
    pub const FEATURE: &str = "NBWATCH_FEATURE";
    pub const POOL_ID: &str = "NBWATCH_POOL_ID";
    pub const OWNER: &str = "NBWATCH_OWNER";
    pub const WORKSPACE_ID: &str = "NBWATCH_WORKSPACE_ID";
    pub const SORT_KEY: &str = "NBWATCH_SORT_KEY";
    pub const SORT_DIR: &str = "NBWATCH_SORT_DIR";
    pub const AUTH_TOKEN: &str = "NBWATCH_AUTH_TOKEN";
    pub const SDK_AK: &str = "HUAWEICLOUD_SDK_AK";
    pub const SDK_SK: &str = "HUAWEICLOUD_SDK_SK";
    pub const SDK_PROJECT_ID: &str = "HUAWEICLOUD_SDK_PROJECT_ID";
    pub const SDK_SECURITY_TOKEN: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";
    pub const SDK_CREDENTIALS_FILE: &str = "HUAWEICLOUD_SDK_CREDENTIALS_FILE";
}
