//! The web configuration as a user writes it: what is accepted, and what each
//! mistake says. Certificates are made at run time.

use super::*;

/// A directory with a self-signed `server.crt`/`server.key` and a `ca.crt`.
fn dir_with_certs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.path().join("server.crt"), server.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("server.key"),
        server.signing_key.serialize_pem(),
    )
    .unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["scrapers".to_string()]).unwrap();
    std::fs::write(dir.path().join("ca.crt"), ca.cert.pem()).unwrap();
    dir
}

const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

fn err(text: &str) -> String {
    let dir = dir_with_certs();
    match parse(text, dir.path()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

fn ok(text: &str) -> WebConfig {
    let dir = dir_with_certs();
    parse(text, dir.path()).unwrap_or_else(|e| panic!("refused ({e}):\n{text}"))
}

#[test]
fn an_empty_file_or_only_comments_changes_nothing() {
    for text in [
        "",
        "# nothing yet\n",
        "tls_server_config:\nbasic_auth_users:\n",
    ] {
        let w = ok(text);
        assert!(w.tls.is_none() && w.users.is_none() && w.headers.is_empty());
        assert_eq!(w.summary, "no TLS, no authentication");
    }
}

#[test]
fn tls_with_relative_paths_read_from_the_files_directory() {
    let w = ok(TLS);
    assert!(w.tls.is_some());
    assert!(!w.client_certs_required);
    assert_eq!(w.summary, "TLS");
    let tls = w.tls.unwrap();
    assert_eq!(tls.alpn_protocols, vec![b"http/1.1".to_vec()]);
}

#[test]
fn the_five_client_auth_types_and_their_answers() {
    let with = |t: &str| format!("{TLS}  client_ca_file: ca.crt\n  client_auth_type: {t}\n");
    let w = ok(&with("RequireAndVerifyClientCert"));
    assert!(w.client_certs_required);
    assert_eq!(w.summary, "TLS, client certificates required");
    let w = ok(&with("VerifyClientCertIfGiven"));
    assert!(!w.client_certs_required);
    assert_eq!(w.summary, "TLS, client certificates checked when given");
    for insecure in ["RequestClientCert", "RequireAnyClientCert"] {
        let e = err(&with(insecure));
        assert!(
            e.contains(&format!("client_auth_type {insecure} is not supported"))
                && e.contains("fix: use RequireAndVerifyClientCert"),
            "{e}"
        );
    }
    let e = err(&with("NoClientCert"));
    assert!(
        e.contains("client CA is set but client_auth_type is NoClientCert"),
        "{e}"
    );
    let e = err(&with("requireandverifyclientcert"));
    assert!(
        e.contains("\"requireandverifyclientcert\" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"),
        "{e}"
    );
    let e = err(&format!(
        "{TLS}  client_auth_type: RequireAndVerifyClientCert\n"
    ));
    assert!(
        e.contains("needs the CA") && e.contains("client_ca_file"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let e = err("tls_server_config:\n  cert_file: server.crt\n  keyfile: server.key\n");
    assert!(
        e.contains("unknown field `keyfile`") && e.contains("line 3"),
        "{e}"
    );
    let e = err("basic_auth_user:\n  a: b\n");
    assert!(e.contains("unknown field `basic_auth_user`"), "{e}");
    let e = err("tls_server_config: [1, 2]\n");
    assert!(e.contains("tls_server_config"), "{e}");
}

#[test]
fn known_keys_nbwatch_cannot_honour_are_refused_by_name() {
    for (text, key) in [
        (
            format!("{TLS}  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"),
            "tls_server_config.cipher_suites",
        ),
        (
            format!("{TLS}  curve_preferences: [X25519]\n"),
            "tls_server_config.curve_preferences",
        ),
        (
            format!("{TLS}  client_allowed_sans: [a]\n"),
            "tls_server_config.client_allowed_sans",
        ),
        (
            "rate_limit:\n  interval: 1s\n  burst: 5\n".to_string(),
            "rate_limit",
        ),
    ] {
        let e = err(&text);
        assert!(
            e.starts_with(&format!("{key} is not supported by nbwatch")),
            "{e}"
        );
        assert!(e.contains("fix: remove it"), "{e}");
    }
}

#[test]
fn tls_versions() {
    assert!(ok(&format!("{TLS}  min_version: TLS13\n")).tls.is_some());
    assert!(
        ok(&format!(
            "{TLS}  min_version: TLS12\n  max_version: TLS12\n"
        ))
        .tls
        .is_some()
    );
    let e = err(&format!("{TLS}  min_version: TLS10\n"));
    assert!(
        e.contains("min_version TLS10 is not supported") && e.contains("TLS12 or TLS13"),
        "{e}"
    );
    let e = err(&format!("{TLS}  max_version: TLS14\n"));
    assert!(e.contains("\"TLS14\" is not a TLS version"), "{e}");
    let e = err(&format!(
        "{TLS}  min_version: TLS13\n  max_version: TLS12\n"
    ));
    assert!(e.contains("min_version is above max_version"), "{e}");
    let e = err("tls_server_config:\n  min_version: TLS13\n");
    assert!(e.contains("TLS is off"), "{e}");
}

#[test]
fn missing_or_broken_certificates_say_which_file() {
    let e = err("tls_server_config:\n  cert_file: server.crt\n");
    assert!(e.contains("missing one of key or key_file"), "{e}");
    let e = err("tls_server_config:\n  key_file: server.key\n");
    assert!(e.contains("missing one of cert or cert_file"), "{e}");
    let e = err("tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n");
    assert!(
        e.contains("tls_server_config.cert_file ") && e.contains("nope.crt: cannot read it"),
        "{e}"
    );
    let e = err("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n");
    assert!(e.contains("server.key: no certificate in it"), "{e}");
    let e = err("tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n");
    assert!(e.contains("server.crt: no readable PEM private key"), "{e}");
    let e =
        err("tls_server_config:\n  cert_file: server.crt\n  cert: abc\n  key_file: server.key\n");
    assert!(e.contains("sets both cert_file and cert"), "{e}");
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused() {
    let dir = dir_with_certs();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(
        dir.path().join("other.key"),
        other.signing_key.serialize_pem(),
    )
    .unwrap();
    let e = parse(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
        dir.path(),
    )
    .err()
    .unwrap();
    assert!(e.contains("not a usable certificate and key"), "{e}");
}

#[test]
fn inline_certificate_and_key_work_as_the_files_do() {
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let indent = |s: String| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
    let text = format!(
        "tls_server_config:\n  cert: |\n{}  key: |\n{}",
        indent(server.cert.pem()),
        indent(server.signing_key.serialize_pem())
    );
    assert!(ok(&text).tls.is_some());
}

#[test]
fn headers_as_the_toolkit_allows_them() {
    let w = ok(
        "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    X-XSS-Protection: \"\"\n    Strict-Transport-Security: max-age=31536000\n",
    );
    let names: Vec<_> = w
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            "strict-transport-security: max-age=31536000",
            "x-frame-options: deny"
        ]
    );
    let e = err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n");
    assert!(
        e.contains("X-Frame-Options \"allow\" is not one of deny, sameorigin"),
        "{e}"
    );
    let e = err("http_server_config:\n  headers:\n    Server: nbwatch\n");
    assert!(e.contains("\"Server\" cannot be set"), "{e}");
}

#[test]
fn users_with_bcrypt_hashes() {
    let hash = bcrypt::hash("pw", 4).unwrap();
    let w = ok(&format!("{TLS}basic_auth_users:\n  prometheus: {hash}\n"));
    assert_eq!(w.users.as_ref().map(|u| u.len()), Some(1));
    assert_eq!(w.summary, "TLS, basic auth (1 user)");
    let e = err("basic_auth_users:\n  prometheus: pw\n");
    assert!(
        e.starts_with("basic_auth_users.prometheus: not a bcrypt hash"),
        "{e}"
    );
}

#[test]
fn load_names_the_file() {
    let dir = dir_with_certs();
    let path = dir.path().join("web.yml");
    let e = WebConfig::load(&path).err().unwrap();
    assert!(
        e.starts_with(&format!(
            "--web.config.file {}: cannot read it",
            path.display()
        )),
        "{e}"
    );
    std::fs::write(&path, "tls_server_config:\n  cert_file: x\n  bogus: 1\n").unwrap();
    let e = WebConfig::load(&path).err().unwrap();
    assert!(
        e.starts_with(&format!("--web.config.file {}: ", path.display())),
        "{e}"
    );
    assert!(e.contains("bogus"), "{e}");
    std::fs::write(&path, TLS).unwrap();
    let w = WebConfig::load(&path).unwrap();
    assert_eq!(w.path, path);
}
