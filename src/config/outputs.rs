//! Where nbwatch writes and whom it tells: the log file, the journal of changes,
//! and the alerts (which kinds, bell, desktop, hook).

use std::path::PathBuf;

use toml::Spanned;

use super::error::ConfigError;
use super::file::ConfigFile;
use super::resolve::{Cx, env_value};
use super::table;
use super::values::expand_path;
use super::{Dirs, Overrides, vars};
use crate::alerts::AlertConfig;

impl Cx<'_> {
    pub(super) fn log_file(&self, o: &Overrides, dirs: &Dirs) -> Option<PathBuf> {
        if let Some(p) = &o.log_file {
            return Some(p.clone());
        }
        if let Some(v) = env_value(self.env, vars::LOG_FILE) {
            return Some(expand_path(&v, self.home, None));
        }
        if let Some(v) = self
            .profile
            .log_file
            .as_ref()
            .filter(|v| !v.get_ref().trim().is_empty())
        {
            return Some(expand_path(
                v.get_ref().trim(),
                self.home,
                self.file.map(ConfigFile::dir),
            ));
        }
        dirs.log_file.clone()
    }

    /// A path from the environment or the profile, with `~` and relative paths
    /// (to the file's directory) expanded; empty means unset.
    fn path_setting(&self, var: &str, file: Option<&Spanned<String>>) -> Option<PathBuf> {
        if let Some(v) = env_value(self.env, var) {
            return Some(expand_path(&v, self.home, None));
        }
        let v = file.map(|v| v.get_ref().trim()).filter(|v| !v.is_empty())?;
        Some(expand_path(v, self.home, self.file.map(ConfigFile::dir)))
    }

    /// `--journal`, else `NBWATCH_JOURNAL`, else the profile's `journal`.
    pub(super) fn journal(&self, o: &Overrides) -> Option<PathBuf> {
        if let Some(p) = &o.journal {
            return Some(p.clone());
        }
        self.path_setting(vars::JOURNAL, self.profile.journal.as_ref())
    }

    /// `NBWATCH_SSH_KEY_DIR`, else the profile's `ssh_key_dir`, else `~/.ssh`.
    pub(super) fn ssh_key_dir(&self) -> Option<PathBuf> {
        self.path_setting(vars::SSH_KEY_DIR, self.profile.ssh_key_dir.as_ref())
            .or_else(|| self.home.map(|h| h.join(".ssh")))
    }

    /// The profile's `[alerts]` table over the defaults; the hook may also come
    /// from `NBWATCH_ALERT_HOOK`.
    pub(super) fn alerts(&self) -> Result<AlertConfig, ConfigError> {
        let a = &self.profile.alerts;
        let d = AlertConfig::default();
        let flag =
            |v: &Option<Spanned<bool>>, default: bool| v.as_ref().map_or(default, |v| *v.get_ref());
        let hook = env_value(self.env, vars::ALERT_HOOK).or_else(|| {
            a.hook
                .as_ref()
                .map(|h| h.get_ref().trim().to_string())
                .filter(|h| !h.is_empty())
        });
        Ok(AlertConfig {
            problems: flag(&a.problems, d.problems),
            stuck: flag(&a.stuck, d.stuck),
            lease: flag(&a.lease, d.lease),
            lease_lead: self.secs(&table::ALERT_LEASE_LEAD, None, a.lease_lead.as_ref())?,
            existing: flag(&a.existing, d.existing),
            bell: flag(&a.bell, d.bell),
            desktop: flag(&a.desktop, d.desktop),
            hook,
            hook_timeout: self.secs(&table::ALERT_HOOK_TIMEOUT, None, a.hook_timeout.as_ref())?,
        })
    }
}
