//! Getting into an instance over SSH, as ModelArts documents it: user
//! `ma-user`, host and port from the SSH endpoint's `uri`, the key pair's
//! `.pem` file named after it. Pure: no I/O but the caller's `exists` check, so
//! the dashboard's `c` key, `nbwatch ssh` and `nbwatch ssh-config` share it.
//!
//! ```text
//!  Notebook.endpoints ─► ssh_endpoint ─► Target { host, port, keys } ─┬► argv / shell line   (ssh, `c`)
//!                                                                     └► Host block          (ssh-config)
//! ```
//!
//! What the reference pages leave open: `uri` is "the private IP address of the
//! instance" in `ListAllNotebooks`, "the instance's address" in the SDK, and a
//! host and a port in the console and the guides. [`parse_uri`] accepts
//! `ssh://host:port`, `host:port` and a bare host; with no port ssh's default
//! (22) applies and nbwatch says so rather than guess another.

use std::path::{Path, PathBuf};

use crate::api::model::{Endpoint, Notebook, Status};

/// The user inside every notebook image.
pub const USER: &str = "ma-user";
/// What every `ssh-config` alias starts with, so the blocks never shadow a
/// host the user already has in `~/.ssh/config`.
pub const ALIAS_PREFIX: &str = "ma-";
/// Connections the service accepts to one instance at once.
pub const MAX_CONNECTIONS: u32 = 10;
/// The oldest OpenSSH the service supports, on both sides.
pub const MIN_OPENSSH: &str = "8.0";

/// Where the endpoint's `uri` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// A host name or an IP address (IPv6 without brackets).
    pub host: String,
    /// `None` when the uri gave none: ssh's default applies.
    pub port: Option<u16>,
}

/// Reads an SSH endpoint's `uri`: `ssh://host:port`, `host:port`, a bare host
/// (`[v6]:port` and `ssh://user@host:port` too; the user is always `ma-user`).
/// The error says what is wrong without repeating the value.
pub fn parse_uri(uri: &str) -> Result<Address, String> {
    let s = uri.trim();
    let rest = match s.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("ssh") => rest,
        Some(_) => return Err("the uri is not an ssh:// address".into()),
        None => s,
    };
    // A path after the authority means nothing to ssh.
    let rest = rest.split('/').next().unwrap_or_default();
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or("the uri has an unclosed [ around its IPv6 address")?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None => return Err("the uri has text after its IPv6 address".into()),
            },
        }
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err("the uri has no host".into());
    }
    let host_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    if !host.chars().all(host_ok) || host.starts_with('-') {
        return Err("the uri's host has characters no host name has".into());
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err("the uri's port is not a number from 1 to 65535".into()),
        },
    };
    Ok(Address {
        host: host.to_string(),
        port,
    })
}

/// The instance's SSH endpoint: `service` or `dev_service` is `SSH`.
pub fn ssh_endpoint(nb: &Notebook) -> Option<&Endpoint> {
    let ssh = |s: &Option<String>| s.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("SSH"));
    nb.endpoints
        .iter()
        .find(|e| ssh(&e.service) || ssh(&e.dev_service))
}

/// The endpoint's key pair names: `key_pair_names`, else (older answers) `ssh_keys`, each once.
pub fn key_names(e: &Endpoint) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for n in e.key_pair_names.iter().chain(&e.ssh_keys) {
        let n = n.trim();
        if !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// Why an instance cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoEndpoint,
    NotRunning(Status),
    BadUri(String),
    /// A key pair name that would leave the key directory (`/`, `..`).
    BadKeyName(String),
}

impl Refusal {
    /// One line: what is wrong with `name` and what to do.
    pub fn message(&self, name: &str) -> String {
        match self {
            Refusal::NoEndpoint => format!(
                "{name} has no SSH endpoint: remote SSH was not enabled for it; fix: enable remote SSH (with a key pair) in the instance's settings in the ModelArts console"
            ),
            Refusal::NotRunning(status) => format!(
                "{name} is {}, and SSH needs it RUNNING; fix: `nbwatch start {name} --wait`, then try again",
                if status.as_str().is_empty() {
                    "in no known status"
                } else {
                    status.as_str()
                }
            ),
            Refusal::BadUri(why) => format!(
                "{name}'s SSH endpoint cannot be used: {why}; fix: check the instance's remote SSH address in the ModelArts console"
            ),
            Refusal::BadKeyName(key) => format!(
                "{name}'s SSH endpoint names the key pair {key:?}, which is not a file name; fix: pass `-- -i KEYFILE` yourself"
            ),
        }
    }
}

/// Everything needed to reach one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The instance's name (its id when it has none).
    pub name: String,
    pub id: String,
    pub status: Status,
    pub address: Address,
    /// The endpoint's `uri` as sent, for messages.
    pub uri: String,
    /// `{key_dir}/{key pair name}.pem` for each key pair name, in the endpoint's order.
    pub keys: Vec<PathBuf>,
    pub allowed_access_ips: Vec<String>,
}

impl Target {
    /// The instance's target, keys looked for in `key_dir`. Refuses an instance
    /// with no SSH endpoint or an unusable one; `running` also refuses one that
    /// is not RUNNING (`ssh-config` lists named stopped instances, with a warning).
    pub fn of(nb: &Notebook, key_dir: &Path, running: bool) -> Result<Target, Refusal> {
        let e = ssh_endpoint(nb).ok_or(Refusal::NoEndpoint)?;
        let status = nb.status_or_unknown();
        if running && status != Status::Running {
            return Err(Refusal::NotRunning(status));
        }
        let uri = e.uri.clone().unwrap_or_default();
        if uri.trim().is_empty() {
            return Err(Refusal::BadUri("it has no uri".into()));
        }
        let address = parse_uri(&uri).map_err(Refusal::BadUri)?;
        let mut keys = Vec::new();
        for k in key_names(e) {
            if k.contains(['/', '\\']) || k.starts_with('.') || k.chars().any(char::is_control) {
                return Err(Refusal::BadKeyName(k.to_string()));
            }
            keys.push(key_dir.join(format!("{k}.pem")));
        }
        Ok(Target {
            name: if nb.name_str().is_empty() {
                nb.id_str().to_string()
            } else {
                nb.name_str().to_string()
            },
            id: nb.id_str().to_string(),
            status,
            address,
            uri,
            keys,
            allowed_access_ips: e.allowed_access_ips.clone(),
        })
    }

    /// The key to use: the first that `exists`, else the first named (so a
    /// message can say where it was looked for). `None`: the endpoint names none.
    pub fn key(&self, exists: impl Fn(&Path) -> bool) -> Option<&Path> {
        self.keys
            .iter()
            .find(|k| exists(k))
            .or(self.keys.first())
            .map(PathBuf::as_path)
    }

    /// `ma-user@host` (an IPv6 host in brackets is not needed: ssh splits at the last `@`).
    pub fn destination(&self) -> String {
        format!("{USER}@{}", self.address.host)
    }

    /// The note when the uri gave no port, for stderr or a config comment.
    pub fn no_port_note(&self) -> Option<String> {
        self.address.port.is_none().then(|| {
            format!(
                "{}'s SSH endpoint ({}) gives no port, so ssh's default (22) applies: the reference pages do not say which the service means",
                self.name, self.uri
            )
        })
    }

    /// The `ssh` argument list (without `ssh` itself), then `extra`.
    pub fn argv(&self, key: Option<&Path>, host_keys: HostKeys, extra: &[String]) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(k) = key {
            v.push("-i".into());
            v.push(k.display().to_string());
        }
        if let Some(p) = self.address.port {
            v.push("-p".into());
            v.push(p.to_string());
        }
        for (k, val) in options(host_keys) {
            v.push("-o".into());
            v.push(format!("{k}={val}"));
        }
        v.push(self.destination());
        v.extend(extra.iter().cloned());
        v
    }

    /// The command as one line a shell reads back the same: what `--print`
    /// prints and `c` copies.
    pub fn command_line(
        &self,
        key: Option<&Path>,
        host_keys: HostKeys,
        extra: &[String],
    ) -> String {
        std::iter::once("ssh".to_string())
            .chain(
                self.argv(key, host_keys, extra)
                    .iter()
                    .map(|a| shell_quote(a)),
            )
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How ssh treats the instance's host key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeys {
    /// `StrictHostKeyChecking accept-new`: trusted on first use, refused if it
    /// changes (which it does when an instance is recreated behind the same
    /// address: `ssh-keygen -R '[host]:port'` then clears the old one).
    #[default]
    AcceptNew,
    /// What the service's VS Code guide does: `StrictHostKeyChecking no` and
    /// `UserKnownHostsFile /dev/null`. No host-key check at all.
    Unchecked,
}

/// The options nbwatch adds, for `ssh -o` and the config blocks alike.
/// `IdentitiesOnly`: only the instance's key is offered (an agent holding many
/// keys otherwise uses up the server's tries); `ServerAliveInterval`: an idle
/// VS Code session is not dropped by the gateway.
pub fn options(host_keys: HostKeys) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("IdentitiesOnly", "yes")];
    match host_keys {
        HostKeys::AcceptNew => v.push(("StrictHostKeyChecking", "accept-new")),
        HostKeys::Unchecked => {
            v.push(("StrictHostKeyChecking", "no"));
            v.push(("UserKnownHostsFile", "/dev/null"));
        }
    }
    v.push(("ServerAliveInterval", "60"));
    v
}

/// `s` quoted for a POSIX shell, only when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-~".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The `Host` alias for an instance name: [`ALIAS_PREFIX`] and the name
/// lower-cased, every run of characters outside `a-z0-9._-` made one `-`,
/// ends trimmed; a name with nothing left uses the id's first 8 characters.
pub fn alias(name: &str, id: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let body = out.trim_matches(['-', '.']);
    let body = if body.is_empty() {
        short_id(id)
    } else {
        body.to_string()
    };
    format!("{ALIAS_PREFIX}{body}")
}

fn short_id(id: &str) -> String {
    let s: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    if s.is_empty() { "instance".into() } else { s }
}

/// One alias per target, in the targets' order. Two instances whose names give
/// the same alias both get their id's first 8 characters appended (the full
/// id if that still collides), so an alias never depends on which other
/// instances happen to be listed.
pub fn aliases(targets: &[Target]) -> Vec<String> {
    let plain: Vec<String> = targets.iter().map(|t| alias(&t.name, &t.id)).collect();
    let mut out: Vec<String> = plain
        .iter()
        .zip(targets)
        .map(|(a, t)| {
            if plain.iter().filter(|b| *b == a).count() > 1 {
                format!("{a}-{}", short_id(&t.id))
            } else {
                a.clone()
            }
        })
        .collect();
    // A suffixed alias may still meet another (ids sharing a prefix, a name
    // that already ends so): the later one then takes its position too.
    for i in 1..out.len() {
        if out[..i].contains(&out[i]) {
            out[i] = format!("{}-{}", out[i], i + 1);
        }
    }
    out
}

/// A value in an ssh config file: `%` is ssh's token character, and a value
/// with spaces goes in double quotes.
fn config_value(s: &str) -> String {
    let s = s.replace('%', "%%");
    if s.contains(char::is_whitespace) {
        format!("\"{s}\"")
    } else {
        s
    }
}

/// One `Host` block for `~/.ssh/config`, ending in a blank line.
pub fn host_block(alias: &str, t: &Target, key: Option<&Path>, host_keys: HostKeys) -> String {
    let mut b = format!("Host {alias}\n");
    b.push_str(&format!(
        "    # {} ({}), {}\n",
        t.name.replace(['\r', '\n'], " "),
        t.id,
        t.status
    ));
    if !t.allowed_access_ips.is_empty() {
        b.push_str(&format!(
            "    # reachable only from {}\n",
            t.allowed_access_ips.join(", ")
        ));
    }
    b.push_str(&format!("    HostName {}\n", t.address.host));
    match t.address.port {
        Some(p) => b.push_str(&format!("    Port {p}\n")),
        None => b.push_str(&format!(
            "    # the endpoint's uri ({}) gives no port: ssh's default (22) applies\n",
            t.uri
        )),
    }
    b.push_str(&format!("    User {USER}\n"));
    match key {
        Some(k) => b.push_str(&format!(
            "    IdentityFile {}\n",
            config_value(&k.display().to_string())
        )),
        None => b.push_str("    # the endpoint names no key pair: ssh tries your default keys\n"),
    }
    for (k, v) in options(host_keys) {
        b.push_str(&format!("    {k} {v}\n"));
    }
    b.push('\n');
    b
}

#[cfg(test)]
mod tests;
