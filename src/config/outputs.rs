//! Whom nbwatch tells: the alerts (which kinds, bell, desktop, hook). (Where it
//! writes, the log file and the journal, are rows of `table::settings_rows!`.)

use toml::Spanned;

use super::error::ConfigError;
use super::layers::{Cx, env_value};
use super::table;
use super::vars;
use crate::alerts::AlertConfig;

impl Cx<'_> {
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
