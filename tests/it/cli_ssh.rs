//! `nbwatch ssh` and `nbwatch ssh-config` as a user runs them: the real binary,
//! a clean environment, the simulator on 127.0.0.1 (whose instances carry SSH
//! endpoints in every documented shape), key files in a temporary directory,
//! and a stand-in `ssh` on PATH where the real one would connect somewhere.
use std::path::Path;

use crate::support::home::{Home, Out, nbwatch};
use crate::support::sim::*;
use nbwatch::api::{Client, ListQuery, Notebook, Status};
use nbwatch::sim::SimHandle;
use nbwatch::ssh;

async fn listed(sim: &SimHandle) -> Vec<Notebook> {
    Client::new(sim.client_options())
        .unwrap()
        .fetch_all(&ListQuery::default())
        .await
        .unwrap()
        .notebooks
}

/// An instance with a unique name in `status`, whose SSH endpoint `pick` accepts.
fn one(all: &[Notebook], status: Status, pick: impl Fn(Option<&str>) -> bool) -> Notebook {
    all.iter()
        .find(|n| {
            n.status.as_ref() == Some(&status)
                && all.iter().filter(|m| m.name == n.name).count() == 1
                && pick(ssh::ssh_endpoint(n).and_then(|e| e.uri.as_deref()))
        })
        .cloned()
        .unwrap_or_else(|| panic!("the simulator has no such {status} instance"))
}

fn with_port(uri: Option<&str>) -> bool {
    uri.is_some_and(|u| {
        u.rsplit(':')
            .next()
            .is_some_and(|p| p.parse::<u16>().is_ok())
    })
}

/// The key pair the instance's endpoint names, as the service sent it.
fn key_pair(nb: &Notebook) -> String {
    let e = ssh::ssh_endpoint(nb).unwrap();
    e.key_pair_names
        .first()
        .or(e.ssh_keys.first())
        .cloned()
        .unwrap()
}

/// Runs `nbwatch ARGS` against the simulator, keys in `HOME/keys`.
fn run(sim: &SimHandle, home: &Home, args: &[&str], path: Option<&str>) -> Out {
    let (ak, sk) = sim.credentials();
    let ep = sim.endpoint();
    let keys = home.str("keys");
    let log = home.str("nbwatch.log");
    // Global flags first: everything after `--` is ssh's.
    let mut all = vec![
        "--endpoint",
        &ep,
        "--project-id",
        sim.project_id(),
        "--log-file",
        &log,
    ];
    all.extend(args);
    let sys_path = std::env::var("PATH").unwrap_or_default();
    let out = nbwatch(
        home,
        &all,
        &[
            ("HUAWEICLOUD_SDK_AK", ak.as_str()),
            ("HUAWEICLOUD_SDK_SK", sk.expose()),
            ("NBWATCH_SSH_KEY_DIR", &keys),
            ("PATH", path.unwrap_or(&sys_path)),
        ],
    );
    out.assert_no_panic();
    out
}

fn key_file(home: &Home, pair: &str) -> String {
    home.write(
        &format!("keys/{pair}.pem"),
        "-----BEGIN RSA PRIVATE KEY-----\n",
        0o600,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_gives_the_user_host_port_and_key_the_endpoint_names() {
    let sim = manual(60).await;
    let all = listed(&sim).await;
    let nb = one(&all, Status::Running, with_port);
    let uri = ssh::ssh_endpoint(&nb).unwrap().uri.clone().unwrap();
    let (host, port) = uri.trim_start_matches("ssh://").rsplit_once(':').unwrap();
    let home = Home::new("ssh-print");
    let key = key_file(&home, &key_pair(&nb));
    let out = run(&sim, &home, &["ssh", nb.name_str(), "--print"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "ssh -i {key} -p {port} -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o ServerAliveInterval=60 ma-user@{host}\n"
        )
    );
    // By id, with arguments for ssh and without the host-key check.
    let out = run(
        &sim,
        &home,
        &[
            "ssh",
            nb.id_str(),
            "--print",
            "--no-host-key-check",
            "--",
            "-L",
            "8888:localhost:8888",
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null")
            && out
                .stdout
                .ends_with(&format!("ma-user@{host} -L 8888:localhost:8888\n")),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_host_uri_is_used_as_is_and_the_missing_port_is_said() {
    let sim = manual(60).await;
    let all = listed(&sim).await;
    let nb = one(&all, Status::Running, |u| {
        u.is_some_and(|u| !u.contains(':'))
    });
    let host = ssh::ssh_endpoint(&nb).unwrap().uri.clone().unwrap();
    let home = Home::new("ssh-bare");
    key_file(&home, &key_pair(&nb));
    let out = run(&sim, &home, &["ssh", nb.name_str(), "--print"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stdout.contains(" -p "), "{out:?}");
    assert!(
        out.stdout.trim_end().ends_with(&format!("ma-user@{host}")),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("gives no port, so ssh's default (22) applies"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_runs_with_that_command_and_its_exit_code_comes_back() {
    let sim = manual(60).await;
    let all = listed(&sim).await;
    let nb = one(&all, Status::Running, with_port);
    let home = Home::new("ssh-run");
    let key = key_file(&home, &key_pair(&nb));
    // A stand-in ssh: records its arguments, one a line, and exits 7.
    let argv = home.str("argv");
    home.write(
        "bin/ssh",
        &format!("#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > '{argv}'\nexit 7\n"),
        0o755,
    );
    let path = format!(
        "{}:{}",
        home.str("bin"),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(
        &sim,
        &home,
        &["ssh", nb.name_str(), "--", "uptime"],
        Some(&path),
    );
    assert_eq!(out.code, Some(7), "{out:?}");
    let printed = run(
        &sim,
        &home,
        &["ssh", nb.name_str(), "--print", "--", "uptime"],
        None,
    );
    let want: Vec<String> = printed
        .stdout
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    let got: Vec<String> = std::fs::read_to_string(&argv)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(got, want);
    assert_eq!(got[..2], ["-i".to_string(), key]);
    assert_eq!(got.last().map(String::as_str), Some("uptime"));
    // No ssh at all: one line saying what to install.
    let out = run(
        &sim,
        &home,
        &["ssh", nb.name_str()],
        Some(&home.str("nowhere")),
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("ssh is not installed"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_is_one_line_saying_which_and_what_to_do() {
    let sim = manual(60).await;
    let all = listed(&sim).await;
    let home = Home::new("ssh-refuse");
    let stopped = one(&all, Status::Stopped, |u| u.is_some());
    key_file(&home, &key_pair(&stopped));
    let plain = one(&all, Status::Running, |u| u.is_none());
    let keyless = one(&all, Status::Running, with_port);
    for (name, want) in [
        (
            stopped.name_str(),
            format!(
                "nbwatch: {0} is STOPPED, and SSH needs it RUNNING; fix: `nbwatch start {0} --wait`, then try again\n",
                stopped.name_str()
            ),
        ),
        (
            plain.name_str(),
            format!(
                "nbwatch: {} has no SSH endpoint: remote SSH was not enabled for it; fix: enable remote SSH (with a key pair) in the instance's settings in the ModelArts console\n",
                plain.name_str()
            ),
        ),
        (
            keyless.name_str(),
            format!(
                "nbwatch: {}: its key file {}/{}.pem is missing; fix: save the .pem downloaded when key pair {} was created there (chmod 600), or set ssh_key_dir in profile `default` to the directory that holds it\n",
                keyless.name_str(),
                home.str("keys"),
                key_pair(&keyless),
                key_pair(&keyless)
            ),
        ),
        (
            "no-such-instance",
            "nbwatch: no instance has the id or name 'no-such-instance'; fix: check it with `nbwatch list`\n".to_string(),
        ),
    ] {
        let out = run(&sim, &home, &["ssh", name, "--print"], None);
        assert_eq!(out.code, Some(2), "{name}: {out:?}");
        assert_eq!(out.stdout, "", "{name}");
        assert_eq!(out.stderr, want, "{name}");
    }
}

/// What `ssh -G` makes of `alias` in config file `file`: (hostname, port, user, identityfile).
fn resolved(file: &Path, alias: &str) -> (String, String, String, String) {
    let out = std::process::Command::new("ssh")
        .args(["-G", "-F"])
        .arg(file)
        .arg(alias)
        .output()
        .expect("ssh -G runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let get = |k: &str| {
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    (
        get("hostname"),
        get("port"),
        get("user"),
        get("identityfile"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_config_blocks_resolve_to_the_right_host_port_user_and_key() {
    let sim = manual(60).await;
    let all = listed(&sim).await;
    let home = Home::new("ssh-config");
    let mut want: Vec<&Notebook> = all
        .iter()
        .filter(|n| n.status == Some(Status::Running) && ssh::ssh_endpoint(n).is_some())
        .collect();
    assert!(want.len() >= 3, "too few instances with SSH to test");
    want.sort_by(|a, b| (a.name_str(), a.id_str()).cmp(&(b.name_str(), b.id_str())));
    for nb in &want {
        key_file(&home, &key_pair(nb));
    }
    let out = run(&sim, &home, &["ssh-config"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let hosts: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Host "))
        .collect();
    assert_eq!(hosts.len(), want.len(), "{}", out.stdout);
    let file = home.join("ssh_config");
    std::fs::write(&file, &out.stdout).unwrap();
    if std::process::Command::new("ssh")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: ssh is not installed, so `ssh -G` cannot check the blocks");
        return;
    }
    for (alias, nb) in hosts.iter().zip(&want) {
        let addr = ssh::parse_uri(ssh::ssh_endpoint(nb).unwrap().uri.as_deref().unwrap()).unwrap();
        let (host, port, user, key) = resolved(&file, alias);
        assert_eq!(host, addr.host, "{alias}");
        assert_eq!(port, addr.port.unwrap_or(22).to_string(), "{alias}");
        assert_eq!(user, "ma-user", "{alias}");
        assert_eq!(
            key,
            home.str(&format!("keys/{}.pem", key_pair(nb))),
            "{alias}"
        );
        assert!(alias.starts_with("ma-"), "{alias}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_config_of_named_instances_writes_them_or_nothing() {
    let sim = manual(60).await;
    let all = listed(&sim).await;
    let home = Home::new("ssh-config-named");
    let stopped = one(&all, Status::Stopped, |u| u.is_some());
    let plain = one(&all, Status::Running, |u| u.is_none());
    let out = run(&sim, &home, &["ssh-config", stopped.name_str()], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout.matches("\nHost ").count(), 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "{} is STOPPED: its block is written",
            stopped.name_str()
        )) && out.stderr.contains("is missing"),
        "{out:?}"
    );
    let out = run(
        &sim,
        &home,
        &["ssh-config", stopped.name_str(), plain.name_str()],
        None,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("has no SSH endpoint"), "{out:?}");
}
