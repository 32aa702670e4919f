//! `nbwatch serve --web.config.file` as a team runs it: HTTPS with a certificate
//! and a bcrypt password made here at run time, client certificates, a bad file,
//! and a `/healthz` that never shows the endpoint. All on 127.0.0.1.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::serve_e2e::{Serve, until};
use crate::support::home::{Home, nbwatch};
use crate::support::sim::*;
use nbwatch::sim::SimHandle;

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Ca {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate and its key (PEM) for `names`, signed by this CA.
    fn issue(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// An HTTPS client that trusts `ca`, presenting `identity` (PEM cert, key) if given.
fn client(ca: &Ca, identity: Option<&(String, String)>) -> reqwest::Client {
    client_builder(ca, identity).build().unwrap()
}

fn client_builder(ca: &Ca, identity: Option<&(String, String)>) -> reqwest::ClientBuilder {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
}

/// Writes the server's certificate, key, the client CA and `web.yml` (with `extra`
/// appended) into `home`; returns the path of `web.yml`.
fn web_config(home: &Home, ca: &Ca, extra: &str) -> String {
    let (cert, key) = ca.issue(&["127.0.0.1", "localhost"]);
    home.write("tls/server.crt", &cert, 0o644);
    home.write("tls/server.key", &key, 0o600);
    home.write("tls/ca.crt", &ca.pem(), 0o644);
    // Relative paths: read from the file's own directory, as the exporter toolkit does.
    home.write(
        "tls/web.yml",
        &format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"),
        0o600,
    )
}

async fn start(web_yml: &str) -> (SimHandle, Serve) {
    let sim = manual(20).await;
    let (ak, sk) = sim.credentials();
    let serve = Serve::launch(
        &sim.endpoint(),
        &ak,
        sk.expose(),
        sim.project_id(),
        &["--web.config.file", web_yml],
    )
    .await;
    (sim, serve)
}

/// The raw answer to `request` sent over plain TCP to `base`'s port (empty if closed).
fn raw(base: &str, request: &[u8]) -> String {
    let addr = base.split("://").nth(1).unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn https_with_a_password_serves_only_the_right_scraper() {
    let home = Home::new("web-auth");
    let ca = Ca::new("nbwatch test CA");
    let password = format!("pw-{}", std::process::id());
    let hash = bcrypt::hash(&password, 4).unwrap();
    let yml = web_config(
        &home,
        &ca,
        &format!("basic_auth_users:\n  prometheus: {hash}\n"),
    );
    let (_sim, serve) = start(&yml).await;
    assert!(
        serve.base.starts_with("https://127.0.0.1:"),
        "{}",
        serve.line
    );
    assert!(
        serve
            .line
            .contains(&format!("web config {yml}: TLS, basic auth (1 user)")),
        "{}",
        serve.line
    );
    let base = serve.base.clone();
    let url = |path: &str| format!("{base}{path}");
    let https = client(&ca, None);

    // No password, a wrong one, an unknown user: 401, the challenge, and nothing else.
    for (user, pass) in [
        (None, None),
        (Some("prometheus"), Some("wrong")),
        (Some("nobody"), Some(password.as_str())),
        (Some("prometheus"), None),
    ] {
        for path in ["/metrics", "/healthz", "/"] {
            let mut req = https.get(url(path));
            if let Some(u) = user {
                req = req.basic_auth(u, pass);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 401, "{user:?} {path}");
            assert_eq!(
                resp.headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some("Basic")
            );
            assert_eq!(resp.text().await.unwrap(), "Unauthorized\n");
        }
    }

    // The right one, on every request: the metrics and the health, every time.
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert(
        "authorization",
        base64_basic("prometheus", &password).parse().unwrap(),
    );
    let good = client_builder(&ca, None)
        .default_headers(auth)
        .build()
        .unwrap();
    let serve = serve.with_client(good);
    until("a healthy /healthz over HTTPS", 30, || async {
        let (status, _, _) = serve.get("/healthz", None).await;
        (status == 200).then_some(())
    })
    .await;
    for _ in 0..3 {
        let (status, _, body) = serve.get("/metrics", None).await;
        assert_eq!(status, 200);
        assert!(body.contains("modelarts_notebook_info{"), "{body:.300}");
    }

    // Plain HTTP to the HTTPS port: turned away, no page.
    let plain = raw(&serve.base, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        plain.starts_with("HTTP/1.0 400 Bad Request")
            && plain.ends_with("Client sent an HTTP request to an HTTPS server.\n"),
        "{plain}"
    );
    assert!(!plain.contains("modelarts_"));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = http
        .get(url("/metrics").replacen("https://", "http://", 1))
        .basic_auth("prometheus", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // Garbage, and a client that does not trust the certificate: the handshake
    // fails, and the server goes on serving.
    let garbage = raw(&serve.base, b"\x00\x01\x02 not tls");
    assert!(!garbage.contains("HTTP/"), "{garbage}");
    let stranger = client(&Ca::new("another CA"), None);
    assert!(stranger.get(url("/metrics")).send().await.is_err());
    let (status, _, _) = serve.get("/metrics", None).await;
    assert_eq!(status, 200);
    // And it stops cleanly, as over plain HTTP.
    assert_eq!(serve.terminate().await, 0);
}

/// `Basic base64(user:password)`.
fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn client_certificates_from_the_client_ca_only() {
    let home = Home::new("web-mtls");
    let ca = Ca::new("scrapers CA");
    let yml = web_config(
        &home,
        &ca,
        "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n  min_version: TLS13\n",
    );
    let (_sim, serve) = start(&yml).await;
    assert!(
        serve.line.contains("TLS, client certificates required"),
        "{}",
        serve.line
    );
    let metrics = format!("{}/metrics", serve.base);

    // No certificate, or one from another CA: the handshake fails.
    assert!(client(&ca, None).get(&metrics).send().await.is_err());
    let other = Ca::new("another CA").issue(&["prometheus"]);
    assert!(
        client(&ca, Some(&other))
            .get(&metrics)
            .send()
            .await
            .is_err()
    );

    let mine = ca.issue(&["prometheus"]);
    let serve = serve.with_client(client(&ca, Some(&mine)));
    until("metrics with a client certificate", 30, || async {
        let (status, _, body) = serve.get("/metrics", None).await;
        (status == 200 && body.contains("modelarts_notebook_info{")).then_some(())
    })
    .await;
}

#[test]
fn a_bad_web_config_exits_2_naming_the_file_and_the_problem() {
    let home = Home::new("web-bad");
    let ca = Ca::new("ca");
    let cases = [
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n",
            "client_auth_type RequireAnyClientCert is not supported",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  keyfile: server.key\n",
            "unknown field `keyfile`",
        ),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
            "missing.crt: cannot read it",
        ),
        (
            "basic_auth_users:\n  prometheus: hunter2\n",
            "basic_auth_users.prometheus: not a bcrypt hash",
        ),
    ];
    let refused = |yml: &str| {
        let out = nbwatch(
            &home,
            &[
                "serve",
                "--web.config.file",
                yml,
                "--listen",
                "127.0.0.1:0",
                "--endpoint",
                "http://127.0.0.1:9",
            ],
            &[
                ("HUAWEICLOUD_SDK_AK", "AK"),
                ("HUAWEICLOUD_SDK_SK", "SK"),
                ("HUAWEICLOUD_SDK_PROJECT_ID", "p1"),
            ],
        );
        assert_eq!(out.code, Some(2), "{yml}\n{}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("nbwatch serve: --web.config.file {yml}: ")),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "it never listened: {}", out.stdout);
        out.stderr
    };
    for (text, problem) in cases {
        web_config(&home, &ca, "");
        let yml = home.write("tls/web.yml", text, 0o600);
        let stderr = refused(&yml);
        assert!(stderr.contains(problem), "{text}\n{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    let missing = home.str("nope.yml");
    let stderr = refused(&missing);
    assert!(
        stderr.contains(&format!("{missing}: cannot read it")),
        "{stderr}"
    );
}

/// `/healthz` after polls that failed against `endpoint`: the body, once it names the failure.
async fn health_after_failures(endpoint: &str, failure: &str) -> String {
    let serve = Serve::launch(
        endpoint,
        "NBWATCHSIMDEMOAK0001",
        "sk",
        "5e1f0c0a2b3d4e5f60718293a4b5c6d7",
        &["--timeout", "1"],
    )
    .await;
    until(failure, 40, || async {
        let (status, _, body) = serve.get("/healthz", None).await;
        (status == 503 && body.contains(failure)).then_some(body)
    })
    .await
}

#[tokio::test]
async fn healthz_never_shows_the_endpoint_after_a_connection_error_or_a_timeout() {
    // Refused: a port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = format!("http://127.0.0.1:{port}/v1");
    let body = health_after_failures(&refused, "cannot connect to the endpoint").await;
    for leak in [refused.as_str(), "http://", &format!("127.0.0.1:{port}")] {
        assert!(!body.contains(leak), "{leak} in {body}");
    }

    // Silent: a listener that takes the connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            open.push(s);
        }
    });
    let endpoint = format!("http://{addr}/v1");
    let body = health_after_failures(&endpoint, "no answer from the endpoint within 1s").await;
    for leak in [endpoint.as_str(), "http://", &addr.to_string()] {
        assert!(!body.contains(leak), "{leak} in {body}");
    }
    held.abort();
}

#[test]
fn the_shipped_example_is_refused_until_its_hash_is_filled_in_then_read() {
    let home = Home::new("web-example");
    let ca = Ca::new("ca");
    web_config(&home, &ca, "");
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/web.example.yml"),
    )
    .unwrap();
    let dir = home.join("tls");
    let e = nbwatch::serve::web::parse(&example, &dir).err().unwrap();
    assert!(
        e.starts_with("basic_auth_users.prometheus: not a bcrypt hash"),
        "{e}"
    );
    let hash = bcrypt::hash("pw", 4).unwrap();
    let filled = example.replace("REPLACE-WITH-THE-BCRYPT-HASH-FROM-HTPASSWD", &hash);
    let web = nbwatch::serve::web::parse(&filled, &dir).unwrap();
    assert_eq!(web.summary, "TLS, basic auth (1 user)");
    // The systemd drop-in hands over the files the example names.
    let dropin = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/systemd/nbwatch-serve.service.d/web.conf"),
    )
    .unwrap();
    for file in ["web.yml", "server.crt", "server.key"] {
        assert!(
            dropin.contains(&format!("LoadCredential={file}:/etc/nbwatch/web/{file}")),
            "{file}"
        );
        assert!(example.contains(file) || file == "web.yml", "{file}");
    }
    assert!(dropin.contains("NBWATCH_WEB_CONFIG_FILE=%d/web.yml"));
}
