//! `nbwatch ssh INSTANCE [-- SSH_ARGS…]` runs `ssh` into one instance (or
//! prints the command with `--print`); `nbwatch ssh-config [INSTANCE…]` prints
//! `Host` blocks for `~/.ssh/config`, which VS Code's Remote-SSH lists. Both
//! list the instances once, find one the way `nbwatch stop NAME` does, and
//! refuse with one line saying what to do. Exit codes: ssh's own once it ran;
//! 2 when nbwatch refuses first; 1 when the service cannot be listed.

use std::path::{Path, PathBuf};

use super::act::{list_all, pick};
use super::{CmdError, Kind};
use crate::api::ListQuery;
use crate::api::model::{Notebook, Status};
use crate::cli::{SshArgs, SshConfigArgs};
use crate::config::Settings;
use crate::ssh::{self as access, HostKeys, MAX_CONNECTIONS, MIN_OPENSSH, Target};

fn usage(message: impl Into<String>) -> CmdError {
    CmdError::usage(message)
}

fn host_keys(unchecked: bool) -> HostKeys {
    if unchecked {
        HostKeys::Unchecked
    } else {
        HostKeys::AcceptNew
    }
}

/// `nbwatch ssh`.
pub async fn ssh(settings: &Settings, query: &ListQuery, args: &SshArgs) -> Result<(), CmdError> {
    let prepared = async {
        let dir = key_dir(settings)?;
        let all = list_all(settings, query).await?.1;
        let nb = pick(&all, &args.instance)?;
        let target = Target::of(nb, &dir, true).map_err(|r| usage(r.message(&args.instance)))?;
        // A key given after `--` replaces the endpoint's.
        let own_key = args.ssh_args.iter().any(|a| a.starts_with("-i"));
        let key = if own_key {
            None
        } else {
            target.key(Path::is_file).map(Path::to_path_buf)
        };
        if let Some(k) = &key {
            if !k.is_file() {
                return Err(usage(missing_key(&target, k, settings)));
            }
            if let Some(w) = crate::config::permission_warning(k, "the key file") {
                eprintln!("nbwatch: warning: {w} (ssh refuses such a key)");
            }
        } else if !own_key {
            eprintln!(
                "nbwatch: note: {}'s SSH endpoint names no key pair: ssh tries your default keys",
                target.name
            );
        }
        if let Some(note) = target.no_port_note() {
            eprintln!("nbwatch: note: {note}");
        }
        Ok((target, key))
    };
    let (target, key) = prepared.await?;
    let hk = host_keys(args.no_host_key_check);
    if args.print {
        println!(
            "{}",
            target.command_line(key.as_deref(), hk, &args.ssh_args)
        );
        return Ok(());
    }
    run_ssh(&target, target.argv(key.as_deref(), hk, &args.ssh_args)).await
}

/// `nbwatch ssh-config`: every block, or (when any instance cannot be
/// written) nothing on stdout and each reason on stderr.
pub async fn ssh_config(
    settings: &Settings,
    query: &ListQuery,
    args: &SshConfigArgs,
) -> Result<(), CmdError> {
    let built = async {
        let dir = key_dir(settings)?;
        let all = list_all(settings, query).await?.1;
        targets(&all, &args.instances, &dir)
    };
    let (targets, warnings) = built.await?;
    for w in warnings {
        eprintln!("nbwatch: warning: {w}");
    }
    if targets.is_empty() {
        eprintln!(
            "nbwatch: no RUNNING instance has an SSH endpoint in profile `{}`; fix: start one (`nbwatch start NAME --wait`) or name instances: `nbwatch ssh-config NAME…`",
            settings.profile
        );
        return Ok(());
    }
    let hk = host_keys(args.no_host_key_check);
    let mut out = format!(
        "# ModelArts notebook instances of profile `{}`, written by `nbwatch ssh-config`.\n\
         # Paste into ~/.ssh/config (or save as a file and `Include` it); then `ssh ALIAS`,\n\
         # or pick ALIAS in VS Code's Remote-SSH. Regenerate when an instance is recreated.\n",
        settings.profile
    );
    if hk == HostKeys::Unchecked {
        out.push_str(
            "# Host keys are NOT checked (--no-host-key-check): anyone on the path could pose as the instance.\n",
        );
    }
    out.push('\n');
    // Said once for all the blocks: each block carries its own comment too.
    let mut missing: Vec<String> = Vec::new();
    let mut portless: Vec<&str> = Vec::new();
    for (alias, t) in access::aliases(&targets).iter().zip(&targets) {
        let key = t.key(Path::is_file);
        match key {
            Some(k) if !k.is_file() => missing.push(k.display().to_string()),
            Some(k) => {
                if let Some(w) = crate::config::permission_warning(k, "the key file") {
                    eprintln!("nbwatch: warning: {w} (ssh refuses such a key)");
                }
            }
            None => {}
        }
        if t.address.port.is_none() {
            portless.push(&t.name);
        }
        out.push_str(&access::host_block(alias, t, key, hk));
    }
    match missing.as_slice() {
        [] => {}
        [one] => eprintln!(
            "nbwatch: warning: the key file {one} is missing (its block names it anyway); fix: save the .pem downloaded when the key pair was created there (chmod 600), or set ssh_key_dir in profile `{}` to the directory that holds it",
            settings.profile
        ),
        many => eprintln!(
            "nbwatch: warning: {} key files are missing ({}; the blocks name them anyway); fix: save each .pem downloaded when its key pair was created there (chmod 600), or set ssh_key_dir in profile `{}` to the directory that holds them",
            many.len(),
            many.join(", "),
            settings.profile
        ),
    }
    if !portless.is_empty() {
        eprintln!(
            "nbwatch: note: the SSH endpoint of {} gives no port, so ssh's default (22) applies: the reference pages do not say which the service means",
            portless.join(", ")
        );
    }
    use std::io::Write;
    // A closed pipe (`| head`) is not an error worth a message.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush());
    Ok(())
}

/// The targets `ssh-config` writes, and warnings. None named: every RUNNING
/// instance with an SSH endpoint, by name then id (one whose endpoint cannot
/// be used is skipped with a warning). Named: each, or every reason one
/// cannot be written.
fn targets(
    all: &[Notebook],
    wanted: &[String],
    dir: &Path,
) -> Result<(Vec<Target>, Vec<String>), CmdError> {
    let mut warnings = Vec::new();
    if wanted.is_empty() {
        let mut listed: Vec<&Notebook> = all
            .iter()
            .filter(|n| n.status == Some(Status::Running) && access::ssh_endpoint(n).is_some())
            .collect();
        listed.sort_by(|a, b| (a.name_str(), a.id_str()).cmp(&(b.name_str(), b.id_str())));
        let mut targets = Vec::new();
        for nb in listed {
            match Target::of(nb, dir, true) {
                Ok(t) => targets.push(t),
                Err(r) => warnings.push(format!("skipped: {}", r.message(nb.name_str()))),
            }
        }
        return Ok((targets, warnings));
    }
    let mut targets = Vec::new();
    let mut refused = Vec::new();
    for w in wanted {
        match pick(all, w) {
            Err(e) => refused.push(e.message().to_string()),
            Ok(nb) => match Target::of(nb, dir, false) {
                Err(r) => refused.push(r.message(w)),
                Ok(t) => {
                    if t.status != Status::Running {
                        warnings.push(format!(
                            "{w} is {}: its block is written, but ssh reaches it only once it is RUNNING (and its address may change when it starts)",
                            t.status
                        ));
                    }
                    if !targets
                        .iter()
                        .any(|x: &Target| x.id == t.id && !t.id.is_empty())
                    {
                        targets.push(t);
                    }
                }
            },
        }
    }
    if refused.is_empty() {
        Ok((targets, warnings))
    } else {
        Err(usage(format!(
            "nothing written: {}",
            refused.join("\nnbwatch: ")
        )))
    }
}

/// The profile's key directory: `ssh_key_dir`, else `~/.ssh`.
fn key_dir(settings: &Settings) -> Result<PathBuf, CmdError> {
    settings.ssh_key_dir.clone().ok_or_else(|| {
        usage(format!(
            "no home directory to look for ~/.ssh in; fix: set ssh_key_dir in profile `{}` (or NBWATCH_SSH_KEY_DIR) to the directory of your .pem key files",
            settings.profile
        ))
    })
}

fn missing_key(t: &Target, key: &Path, settings: &Settings) -> String {
    let pair = key
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "{}: its key file {} is missing; fix: save the .pem downloaded when key pair {pair} was created there (chmod 600), or set ssh_key_dir in profile `{}` to the directory that holds it",
        t.name,
        key.display(),
        settings.profile
    )
}

/// Runs ssh with this terminal, and passes its exit code on.
async fn run_ssh(target: &Target, argv: Vec<String>) -> Result<(), CmdError> {
    // Ctrl-C belongs to ssh (it shares the terminal's foreground group):
    // nbwatch only waits for it, so holding the signal keeps nbwatch alive.
    #[cfg(unix)]
    let _interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    let status = tokio::process::Command::new("ssh")
        .args(&argv)
        .status()
        .await;
    match status {
        Ok(st) => match st.code() {
            Some(code) => {
                if code == 255 {
                    let only = if target.allowed_access_ips.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", and it accepts connections only from {}",
                            target.allowed_access_ips.join(", ")
                        )
                    };
                    eprintln!(
                        "nbwatch: ssh could not connect or log in to {} (exit 255); the service refuses clients older than OpenSSH {MIN_OPENSSH} and more than {MAX_CONNECTIONS} connections to one instance at once{only}",
                        target.name
                    );
                }
                match u8::try_from(code).unwrap_or(1) {
                    0 => Ok(()),
                    code => Err(CmdError::said(Kind::Passed(code))),
                }
            }
            None => {
                #[cfg(unix)]
                {
                    use std::os::unix::process::ExitStatusExt;
                    let sig = st.signal().unwrap_or(0);
                    Err(CmdError::said(Kind::Passed(
                        u8::try_from(128 + sig).unwrap_or(1),
                    )))
                }
                #[cfg(not(unix))]
                Err(CmdError::said(Kind::Passed(1)))
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(usage(format!(
            "ssh is not installed (or not on PATH); fix: install OpenSSH {MIN_OPENSSH} or newer (e.g. `apt install openssh-client`), or print the command with --print"
        ))),
        Err(e) => Err(usage(format!("cannot run ssh: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::Endpoint;

    fn nb(id: &str, name: &str, status: Status, uri: Option<&str>) -> Notebook {
        Notebook {
            id: Some(id.into()),
            name: Some(name.into()),
            status: Some(status),
            endpoints: uri
                .map(|u| Endpoint {
                    service: Some("SSH".into()),
                    uri: Some(u.into()),
                    key_pair_names: vec!["KeyPair-1".into()],
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn none_named_means_every_running_instance_with_an_endpoint_by_name() {
        let all = [
            nb("3", "zeta", Status::Running, Some("h:1")),
            nb("1", "alpha", Status::Running, Some("h:2")),
            nb("2", "beta", Status::Stopped, Some("h:3")),
            nb("4", "gamma", Status::Running, None),
            nb("5", "delta", Status::Running, Some("h:notaport")),
        ];
        let (t, warnings) = targets(&all, &[], Path::new("/k")).unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("delta"), "{warnings:?}");
    }

    #[test]
    fn named_instances_each_or_every_reason_none_is_written() {
        let all = [
            nb("1", "alpha", Status::Running, Some("h:2")),
            nb("2", "beta", Status::Stopped, Some("h:3")),
            nb("4", "gamma", Status::Running, None),
        ];
        let dir = Path::new("/k");
        let (t, w) = targets(&all, &["beta".into(), "1".into()], dir).unwrap();
        assert_eq!(t.len(), 2);
        assert!(w[0].contains("beta is STOPPED"), "{w:?}");
        let e = targets(&all, &["gamma".into(), "nope".into()], dir).unwrap_err();
        let msg = e.message();
        assert_eq!(e.kind, Kind::Usage);
        assert!(msg.contains("gamma has no SSH endpoint"), "{msg}");
        assert!(
            msg.contains("no instance has the id or name 'nope'"),
            "{msg}"
        );
    }
}
