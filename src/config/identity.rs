//! Who nbwatch is and which project it watches: credentials and the project id
//! from the environment, the profile, or the official SDKs' credentials file.

use super::credentials::{self, BasicCredentials};
use super::error::{ConfigError, ErrorKind, Origin};
use super::file::ConfigFile;
use super::file::RawSecret;
use super::layers::{Cx, Got, env_value};
use super::resolve::io_reason;
use super::values::{expand_path, permission_warning};
use super::{Auth, Overrides, vars};
use crate::api::sign::AkSk;
use crate::secret::Secret;
use toml::Spanned;

impl Cx<'_> {
    /// The credentials and project from the environment, the profile or the SDK's
    /// credentials file, with where they came from.
    pub(super) fn identity(
        &self,
        o: &Overrides,
        warnings: &mut Vec<String>,
    ) -> Result<(Auth, String, String), ConfigError> {
        let cx = self;
        let p = cx.profile;
        // The profile's credentials are checked even when the environment's win, so a broken
        // profile is reported now rather than the day the variables are unset.
        let env_creds = cx.env_credentials()?;
        let profile_creds = cx.profile_credentials(warnings)?;
        let upper_creds = env_creds.or(profile_creds);
        let upper_project = cx
            .pick(
                o.project_id.as_deref(),
                "--project-id",
                vars::PROJECT_ID,
                None,
            )
            .or_else(|| cx.env_var(vars::SDK_PROJECT_ID))
            .or_else(|| cx.pick(None, "", "", p.project_id.as_ref()));
        let ini = if upper_creds.is_none() || upper_project.is_none() {
            cx.credentials_file(warnings)?
        } else {
            None
        };
        let (auth, auth_source) = match upper_creds {
            Some(c) => c,
            None => cx.ini_credentials(ini.as_ref())?,
        };
        let project = upper_project.or_else(|| {
            let b = ini.as_ref()?;
            let (v, line) = b.project_id.as_ref()?;
            Some(Got {
                value: v.clone(),
                at: b.origin(*line),
            })
        });
        let project_id = cx.project_id(project, ini.as_ref())?;
        Ok((auth, auth_source, project_id))
    }

    /// Credentials from the environment: `NBWATCH_AUTH_TOKEN`, else the SDK's variables.
    fn env_credentials(&self) -> Result<Option<(Auth, String)>, ConfigError> {
        if let Some(t) = env_value(self.env, vars::AUTH_TOKEN) {
            return Ok(Some((
                Auth::Token(Secret::new(t)),
                format!("environment ({})", vars::AUTH_TOKEN),
            )));
        }
        let ak = env_value(self.env, vars::SDK_AK);
        let sk = env_value(self.env, vars::SDK_SK);
        let st = env_value(self.env, vars::SDK_SECURITY_TOKEN);
        match (ak, sk) {
            (Some(ak), Some(sk)) => Ok(Some((
                Auth::AkSk(AkSk {
                    ak,
                    sk: Secret::new(sk),
                    security_token: st.map(Secret::new),
                }),
                format!("environment ({}, {})", vars::SDK_AK, vars::SDK_SK),
            ))),
            (None, None) if st.is_none() => Ok(None),
            (ak, _) => {
                let (set, unset) = if ak.is_some() {
                    (vars::SDK_AK, vars::SDK_SK)
                } else if st.is_some() && env_value(self.env, vars::SDK_SK).is_none() {
                    (vars::SDK_SECURITY_TOKEN, vars::SDK_AK)
                } else {
                    (vars::SDK_SK, vars::SDK_AK)
                };
                Err(ConfigError::new(
                    ErrorKind::MissingCredentials,
                    Some(Origin::Env(set.to_string())),
                    format!("{set} is set but {unset} is not"),
                    format!(
                        "export both {} and {} (plus {} for temporary credentials), or unset {set} to use the config file",
                        vars::SDK_AK,
                        vars::SDK_SK,
                        vars::SDK_SECURITY_TOKEN
                    ),
                ))
            }
        }
    }

    /// One secret of the profile, given inline, by file or by environment variable.
    fn profile_secret(
        &self,
        key: &str,
        inline: Option<&Spanned<RawSecret>>,
        file: Option<&Spanned<String>>,
        env: Option<&Spanned<String>>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Got<Secret>>, ConfigError> {
        let mut set: Vec<(String, Origin)> = Vec::new();
        if let Some(v) = inline {
            set.push((key.to_string(), self.origin(v)));
        }
        if let Some(v) = file {
            set.push((format!("{key}_file"), self.origin(v)));
        }
        if let Some(v) = env {
            set.push((format!("{key}_env"), self.origin(v)));
        }
        if set.len() > 1 {
            let names: Vec<&str> = set.iter().map(|(n, _)| n.as_str()).collect();
            return Err(ConfigError::at(
                ErrorKind::Conflict,
                &set[1].1,
                format!(
                    "{} are all set in [profiles.{}]",
                    names.join(" and "),
                    self.profile_name
                ),
                format!("keep only one of {key}, {key}_file, {key}_env"),
            ));
        }
        let empty = |at: &Origin, what: String| {
            ConfigError::at(
                ErrorKind::InvalidValue,
                at,
                what,
                format!("give the {key} value, or remove the key"),
            )
        };
        if let Some(v) = inline {
            let at = self.origin(v);
            let s = v.get_ref().0.expose().trim();
            if s.is_empty() {
                return Err(empty(&at, format!("`{key}` is empty")));
            }
            return Ok(Some(Got {
                value: Secret::new(s),
                at,
            }));
        }
        if let Some(v) = file {
            let at = self.origin(v);
            let path = expand_path(
                v.get_ref().trim(),
                self.home,
                self.file.map(ConfigFile::dir),
            );
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::at(
                    ErrorKind::Unreadable,
                    &at,
                    format!("cannot read {key}_file {}: {}", path.display(), io_reason(&e)),
                    format!(
                        "check the path (relative paths start at the config file's directory) and that the file holds only the {key}"
                    ),
                )
            })?;
            let s = text.trim();
            if s.is_empty() {
                return Err(empty(
                    &at,
                    format!("{key}_file {} is empty", path.display()),
                ));
            }
            warnings.extend(permission_warning(&path, &format!("{key}_file")));
            return Ok(Some(Got {
                value: Secret::new(s),
                at,
            }));
        }
        if let Some(v) = env {
            let at = self.origin(v);
            let var = v.get_ref().trim();
            return match env_value(self.env, var) {
                Some(s) => Ok(Some(Got {
                    value: Secret::new(s),
                    at: Origin::Env(var.to_string()),
                })),
                None => Err(ConfigError::at(
                    ErrorKind::MissingCredentials,
                    &at,
                    format!("{key}_env names the environment variable {var}, which is not set"),
                    format!("export {var}, or point {key}_env at a variable that is set"),
                )),
            };
        }
        Ok(None)
    }

    fn profile_credentials(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<Option<(Auth, String)>, ConfigError> {
        let p = self.profile;
        let token = self.profile_secret(
            "auth_token",
            p.auth_token.as_ref(),
            p.auth_token_file.as_ref(),
            p.auth_token_env.as_ref(),
            warnings,
        )?;
        let sk = self.profile_secret(
            "sk",
            p.sk.as_ref(),
            p.sk_file.as_ref(),
            p.sk_env.as_ref(),
            warnings,
        )?;
        let st = self.profile_secret(
            "security_token",
            p.security_token.as_ref(),
            p.security_token_file.as_ref(),
            p.security_token_env.as_ref(),
            warnings,
        )?;
        let ak = p.ak.as_ref().filter(|a| !a.get_ref().trim().is_empty());
        let source = format!("profile `{}`", self.profile_name);
        if let Some(t) = token {
            if let Some(a) = ak {
                return Err(ConfigError::at(
                    ErrorKind::Conflict,
                    &self.origin(a),
                    format!(
                        "[profiles.{}] sets both an IAM token and an AK/SK pair",
                        self.profile_name
                    ),
                    "keep either auth_token (IAM-token mode, no signing) or ak with sk (signed requests)",
                ));
            }
            return Ok(Some((
                Auth::Token(t.value),
                format!("{source} (IAM token)"),
            )));
        }
        match (ak, sk) {
            (Some(ak), Some(sk)) => Ok(Some((
                Auth::AkSk(AkSk {
                    ak: ak.get_ref().trim().to_string(),
                    sk: sk.value,
                    security_token: st.map(|g| g.value),
                }),
                source,
            ))),
            (None, None) => match st {
                None => Ok(None),
                Some(g) => Err(ConfigError::at(
                    ErrorKind::MissingCredentials,
                    &g.at,
                    "a security token is set without an AK and SK",
                    format!(
                        "temporary credentials need ak and sk too: add them to {}",
                        self.profile_table()
                    ),
                )),
            },
            (Some(ak), None) => Err(ConfigError::at(
                ErrorKind::MissingCredentials,
                &self.origin(ak),
                format!("[profiles.{}] sets ak but no sk", self.profile_name),
                "add sk_file = \"PATH\" (a file holding only the SK) or sk_env = \"VAR\"; sk = \"...\" works too but keeps the secret in this file",
            )),
            (None, Some(sk)) => Err(ConfigError::at(
                ErrorKind::MissingCredentials,
                &sk.at,
                format!("[profiles.{}] sets an sk but no ak", self.profile_name),
                "add ak = \"YOUR_AK\" next to it",
            )),
        }
    }

    /// The SDK credentials file: `HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else `~/.huaweicloud/credentials`.
    fn credentials_file(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<Option<BasicCredentials>, ConfigError> {
        let (path, named_by) = match env_value(self.env, vars::SDK_CREDENTIALS_FILE) {
            Some(v) => (
                expand_path(&v, self.home, None),
                Some(Origin::Env(vars::SDK_CREDENTIALS_FILE.to_string())),
            ),
            None => match self.home {
                Some(h) => (h.join(".huaweicloud").join("credentials"), None),
                None => return Ok(None),
            },
        };
        let src = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && named_by.is_none() => {
                return Ok(None);
            }
            Err(e) => {
                return Err(ConfigError::new(
                    ErrorKind::Unreadable,
                    named_by,
                    format!(
                        "cannot read credentials file {}: {}",
                        path.display(),
                        io_reason(&e)
                    ),
                    format!(
                        "fix the path or the file's permissions (chmod 600 {})",
                        path.display()
                    ),
                ));
            }
        };
        let basic = credentials::parse(&path, &src)?;
        if basic.holds_secret() {
            warnings.extend(permission_warning(&path, "credentials file"));
        }
        Ok(Some(basic))
    }

    fn ini_credentials(
        &self,
        ini: Option<&BasicCredentials>,
    ) -> Result<(Auth, String), ConfigError> {
        let none = || {
            ConfigError::new(
                ErrorKind::MissingCredentials,
                None,
                format!("no credentials found for profile `{}`", self.profile_name),
                format!(
                    "export {} and {} (or {} for an IAM token), or set ak and sk_file in {}, or put ak and sk under [basic] in ~/.huaweicloud/credentials",
                    vars::SDK_AK,
                    vars::SDK_SK,
                    vars::AUTH_TOKEN,
                    self.profile_table()
                ),
            )
        };
        let b = ini.ok_or_else(none)?;
        let source = format!("{} [basic]", b.path.display());
        match (&b.ak, &b.sk) {
            (Some((ak, _)), Some((sk, _))) => Ok((
                Auth::AkSk(AkSk {
                    ak: ak.clone(),
                    sk: sk.clone(),
                    security_token: b.security_token.as_ref().map(|(s, _)| s.clone()),
                }),
                source,
            )),
            (None, None) => Err(none()),
            (Some((_, line)), None) => Err(ConfigError::at(
                ErrorKind::MissingCredentials,
                &b.origin(*line),
                "[basic] has an ak but no sk",
                "add a line `sk = YOUR_SK` under [basic]",
            )),
            (None, Some((_, line))) => Err(ConfigError::at(
                ErrorKind::MissingCredentials,
                &b.origin(*line),
                "[basic] has an sk but no ak",
                "add a line `ak = YOUR_AK` under [basic]",
            )),
        }
    }

    fn project_id(
        &self,
        got: Option<Got<String>>,
        ini: Option<&BasicCredentials>,
    ) -> Result<String, ConfigError> {
        let Some(g) = got else {
            let ini_path = ini
                .map(|b| b.path.display().to_string())
                .unwrap_or_else(|| "~/.huaweicloud/credentials".to_string());
            return Err(ConfigError::new(
                ErrorKind::MissingProjectId,
                None,
                "no project id is configured",
                format!(
                    "pass --project-id ID, export {} or {}, set project_id in {}, or add project_id under [basic] in {ini_path} (find it in the console under My Credentials > API Credentials, for your region)",
                    vars::PROJECT_ID,
                    vars::SDK_PROJECT_ID,
                    self.profile_table()
                ),
            ));
        };
        let ok = g.value.len() <= 64
            && g.value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(ConfigError::at(
                ErrorKind::InvalidValue,
                &g.at,
                "the project id contains characters that cannot be part of a project id",
                "copy the project id (32 hex characters) from the console: My Credentials > API Credentials",
            ));
        }
        Ok(g.value)
    }
}
