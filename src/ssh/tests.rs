use std::path::{Path, PathBuf};

use super::*;
use crate::api::model::Endpoint;

fn addr(host: &str, port: Option<u16>) -> Address {
    Address {
        host: host.into(),
        port,
    }
}

#[test]
fn every_documented_uri_shape_parses() {
    let h = "dev-modelarts-cnnorth4.huaweicloud.com";
    assert_eq!(
        parse_uri(&format!("ssh://{h}:31205")),
        Ok(addr(h, Some(31205)))
    );
    assert_eq!(
        parse_uri(&format!("SSH://{h}:31205/")),
        Ok(addr(h, Some(31205)))
    );
    assert_eq!(parse_uri(&format!("{h}:31205")), Ok(addr(h, Some(31205))));
    assert_eq!(parse_uri(h), Ok(addr(h, None)));
    assert_eq!(parse_uri(" 192.168.3.7 "), Ok(addr("192.168.3.7", None)));
    assert_eq!(
        parse_uri("ssh://ma-user@10.0.0.1:22"),
        Ok(addr("10.0.0.1", Some(22)))
    );
    assert_eq!(parse_uri("[fd00::1]:2222"), Ok(addr("fd00::1", Some(2222))));
    assert_eq!(parse_uri("ssh://[fd00::1]"), Ok(addr("fd00::1", None)));
}

#[test]
fn bad_uris_say_what_is_wrong() {
    for (uri, want) in [
        ("", "no host"),
        ("ssh://", "no host"),
        (":22", "no host"),
        ("https://host:22", "not an ssh://"),
        ("host:", "port"),
        ("host:0", "port"),
        ("host:70000", "port"),
        ("host:22x", "port"),
        ("ho st:22", "characters"),
        ("host\nProxyCommand x:22", "characters"),
        ("-oProxyCommand=x", "characters"),
        ("[fd00::1", "unclosed"),
        ("[fd00::1]x", "after its IPv6"),
    ] {
        let e = parse_uri(uri).expect_err(uri);
        assert!(e.contains(want), "{uri:?}: {e}");
    }
}

fn notebook(status: Status, endpoint: Option<Endpoint>) -> Notebook {
    Notebook {
        id: Some("f9937afa-ca78-4b1a-8c5e-000000000001".into()),
        name: Some("Train BERT".into()),
        status: Some(status),
        endpoints: [Endpoint {
            service: Some("NOTEBOOK".into()),
            uri: Some("https://example/lab".into()),
            ..Default::default()
        }]
        .into_iter()
        .chain(endpoint)
        .collect(),
        ..Default::default()
    }
}

fn ssh_endpoint_at(uri: &str) -> Endpoint {
    Endpoint {
        dev_service: Some("SSH".into()),
        uri: Some(uri.into()),
        key_pair_names: vec!["KeyPair-bert".into()],
        ssh_keys: vec!["KeyPair-bert".into(), "KeyPair-old".into()],
        allowed_access_ips: vec!["203.0.113.0/24".into()],
        ..Default::default()
    }
}

#[test]
fn a_target_takes_host_port_and_keys_from_the_endpoint() {
    let nb = notebook(Status::Running, Some(ssh_endpoint_at("h.example:31205")));
    let t = Target::of(&nb, Path::new("/keys"), true).unwrap();
    assert_eq!(t.address, addr("h.example", Some(31205)));
    assert_eq!(
        t.keys,
        [
            PathBuf::from("/keys/KeyPair-bert.pem"),
            PathBuf::from("/keys/KeyPair-old.pem")
        ]
    );
    assert_eq!(t.destination(), "ma-user@h.example");
    // The first key that exists, else the first named.
    assert_eq!(
        t.key(|p| p.ends_with("KeyPair-old.pem")),
        Some(Path::new("/keys/KeyPair-old.pem"))
    );
    assert_eq!(t.key(|_| false), Some(Path::new("/keys/KeyPair-bert.pem")));
    assert_eq!(t.no_port_note(), None);
}

#[test]
fn older_answers_name_keys_in_ssh_keys_only() {
    let e = Endpoint {
        service: Some("ssh".into()),
        uri: Some("h:1".into()),
        ssh_keys: vec!["KeyPair-a".into(), " ".into()],
        ..Default::default()
    };
    assert_eq!(key_names(&e), ["KeyPair-a"]);
}

#[test]
fn refusals_name_the_instance_and_the_fix() {
    let dir = Path::new("/keys");
    let none = Target::of(&notebook(Status::Running, None), dir, true).unwrap_err();
    assert_eq!(none, Refusal::NoEndpoint);
    assert!(none.message("bert").starts_with("bert has no SSH endpoint"));
    let stopped = notebook(Status::Stopped, Some(ssh_endpoint_at("h:1")));
    let r = Target::of(&stopped, dir, true).unwrap_err();
    assert_eq!(
        r.message("bert"),
        "bert is STOPPED, and SSH needs it RUNNING; fix: `nbwatch start bert --wait`, then try again"
    );
    // ssh-config writes a named stopped instance.
    assert!(Target::of(&stopped, dir, false).is_ok());
    let bad = notebook(Status::Running, Some(ssh_endpoint_at("h:port")));
    let r = Target::of(&bad, dir, true).unwrap_err();
    assert!(r.message("bert").contains("port is not a number"), "{r:?}");
    let mut e = ssh_endpoint_at("h:1");
    e.key_pair_names = vec!["../../etc/passwd".into()];
    let r = Target::of(&notebook(Status::Running, Some(e)), dir, true).unwrap_err();
    assert!(matches!(r, Refusal::BadKeyName(_)), "{r:?}");
}

#[test]
fn the_command_line_quotes_what_a_shell_would_split() {
    let nb = notebook(Status::Running, Some(ssh_endpoint_at("h.example:31205")));
    let t = Target::of(&nb, Path::new("/my keys"), true).unwrap();
    let key = t.key(|_| true);
    assert_eq!(
        t.command_line(key, HostKeys::AcceptNew, &["nvidia-smi".into()]),
        "ssh -i '/my keys/KeyPair-bert.pem' -p 31205 -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o ServerAliveInterval=60 ma-user@h.example nvidia-smi"
    );
    let bare = notebook(Status::Running, Some(ssh_endpoint_at("192.168.0.4")));
    let t = Target::of(&bare, Path::new("/k"), true).unwrap();
    let argv = t.argv(None, HostKeys::Unchecked, &[]);
    assert!(!argv.contains(&"-p".to_string()), "{argv:?}");
    assert!(argv.contains(&"UserKnownHostsFile=/dev/null".to_string()));
    assert!(t.no_port_note().unwrap().contains("gives no port"));
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}

#[test]
fn aliases_are_safe_and_never_collide() {
    assert_eq!(alias("Train BERT (v2)", "x"), "ma-train-bert-v2");
    assert_eq!(alias("notebook_01.a", "x"), "ma-notebook_01.a");
    assert_eq!(alias("训练", "F9937AFA-ca78"), "ma-f9937afa");
    assert_eq!(alias("--..--", ""), "ma-instance");
    for name in ["a b", "Ünïcode", "x\ny", "*?!", "-lead", "host%h"] {
        let a = alias(name, "id");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)),
            "{a}"
        );
    }
    let t = |name: &str, id: &str| Target {
        name: name.into(),
        id: id.into(),
        status: Status::Running,
        address: addr("h", Some(1)),
        uri: "h:1".into(),
        keys: Vec::new(),
        allowed_access_ips: Vec::new(),
    };
    let list = [
        t("train", "aaaaaaaa-1"),
        t("Train", "bbbbbbbb-2"),
        t("eval", "cccccccc-3"),
        t("x", "dddddddd-1"),
        t("X", "dddddddd-2"),
    ];
    let a = aliases(&list);
    assert_eq!(
        a,
        [
            "ma-train-aaaaaaaa",
            "ma-train-bbbbbbbb",
            "ma-eval",
            "ma-x-dddddddd",
            "ma-x-dddddddd-5"
        ]
    );
    // The same instances in another order keep their aliases (but the last resort).
    let mut rev = list[..3].to_vec();
    rev.reverse();
    assert_eq!(
        aliases(&rev),
        ["ma-eval", "ma-train-bbbbbbbb", "ma-train-aaaaaaaa"]
    );
}

#[test]
fn a_host_block_has_every_line_ssh_needs() {
    let nb = notebook(
        Status::Running,
        Some(ssh_endpoint_at("ssh://h.example:31205")),
    );
    let t = Target::of(&nb, Path::new("/home/u/my keys%"), true).unwrap();
    let block = host_block("ma-train-bert", &t, t.key(|_| true), HostKeys::AcceptNew);
    assert_eq!(
        block,
        "Host ma-train-bert\n\
         \x20   # Train BERT (f9937afa-ca78-4b1a-8c5e-000000000001), RUNNING\n\
         \x20   # reachable only from 203.0.113.0/24\n\
         \x20   HostName h.example\n\
         \x20   Port 31205\n\
         \x20   User ma-user\n\
         \x20   IdentityFile \"/home/u/my keys%%/KeyPair-bert.pem\"\n\
         \x20   IdentitiesOnly yes\n\
         \x20   StrictHostKeyChecking accept-new\n\
         \x20   ServerAliveInterval 60\n\n"
    );
    let bare = notebook(Status::Running, Some(ssh_endpoint_at("10.1.2.3")));
    let t = Target::of(&bare, Path::new("/k"), true).unwrap();
    let block = host_block("ma-x", &t, None, HostKeys::Unchecked);
    assert!(block.contains("gives no port"), "{block}");
    assert!(!block.contains("Port "), "{block}");
    assert!(block.contains("StrictHostKeyChecking no\n"), "{block}");
    assert!(block.contains("UserKnownHostsFile /dev/null\n"), "{block}");
}
