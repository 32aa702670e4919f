//! Secrets never leak: distinctive canary credentials (AK, SK, security token, IAM
//! token, a wrong SK) and the simulator's notebook tokens are looked for in everything
//! a user or a log reader could see: stdout, stderr, the log file at the most verbose
//! level, the dashboard's screen and every raw byte written to the terminal. Through
//! success, authentication errors, server faults, broken bodies and a forced panic.

use crate::support::pty;

use std::time::Duration;

use crate::support::bin;
use crate::support::home::{Home, Out, nbwatch};
use nbwatch::api::model::mask_secret;
use nbwatch::api::sign::AkSk;
use nbwatch::api::{Auth, Client, ClientOptions, ListQuery};
use nbwatch::secret::Secret;
use nbwatch::sim::{Fault, SimConfig, SimHandle};

const AK: &str = "AKLEAKCANARY7Q2W9E4R";
const SK: &str = "SKleakCanary-5f1d8c2b9a7e4d3c6b0a-do-not-print";
const SECURITY_TOKEN: &str = "STleakCanary-temporary-3e9d7c1b5a";
const IAM_TOKEN: &str = "IAMleakCanary-token-8c4e2a6d0f";
const WRONG_SK: &str = "SKwrongCanary-1a2b3c4d5e6f7a8b9c0d";
const WRONG_IAM_TOKEN: &str = "IAMwrongCanary-token-77aa55cc33";

/// A simulator that accepts the canary credentials, and the notebook tokens it serves.
struct Fixture {
    /// Serves the simulator while the test thread blocks on processes.
    _rt: tokio::runtime::Runtime,
    sim: SimHandle,
    notebook_tokens: Vec<String>,
    names: Vec<String>,
}

impl Fixture {
    fn new() -> Fixture {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = rt.block_on(crate::support::sim::start(SimConfig {
            instances: 8,
            ak: AK.into(),
            sk: Secret::new(SK),
            token: Secret::new(IAM_TOKEN),
            ..SimConfig::manual_at(crate::support::sim::T0)
        }));
        // The tokens a signed request sees, security token included (temporary credentials).
        let listing = rt
            .block_on(async {
                let mut o = ClientOptions::new(
                    sim.endpoint(),
                    sim.project_id(),
                    Auth::AkSk(AkSk {
                        ak: AK.into(),
                        sk: Secret::new(SK),
                        security_token: Some(Secret::new(SECURITY_TOKEN)),
                    }),
                );
                o.retry = nbwatch::api::RetryPolicy::none();
                Client::new(o)
                    .unwrap()
                    .fetch_all(&ListQuery::default())
                    .await
            })
            .expect("the simulator accepts the signed X-Security-Token");
        let notebook_tokens: Vec<String> = listing
            .notebooks
            .iter()
            .filter_map(|n| n.token.clone())
            .collect();
        assert!(notebook_tokens.len() >= 3, "the simulator serves tokens");
        let names = listing
            .notebooks
            .iter()
            .map(|n| n.name_str().to_string())
            .collect();
        Fixture {
            _rt: rt,
            sim,
            notebook_tokens,
            names,
        }
    }

    fn faults(&self, specs: &[&str]) {
        let f: Vec<Fault> = specs.iter().map(|s| s.parse().unwrap()).collect();
        self.sim.set_faults(&f);
    }

    /// Every string that must never be seen.
    fn secrets(&self) -> Vec<String> {
        let mut s: Vec<String> = [SK, SECURITY_TOKEN, IAM_TOKEN, WRONG_SK, WRONG_IAM_TOKEN]
            .iter()
            .map(|s| s.to_string())
            .collect();
        s.extend(self.notebook_tokens.iter().cloned());
        s
    }

    /// Asserts no secret (nor the AK, nor the notebook tokens) is in `text`.
    fn assert_clean(&self, what: &str, text: &str) {
        for s in self.secrets() {
            assert!(
                !text.contains(&s),
                "{what} leaks the secret {s:?}:\n{}",
                excerpt(text, &s)
            );
        }
        assert!(
            !text.contains(AK),
            "{what} shows the access key id:\n{}",
            excerpt(text, AK)
        );
    }

    fn endpoint(&self) -> String {
        self.sim.endpoint()
    }
}

fn excerpt(text: &str, needle: &str) -> String {
    let i = text.find(needle).unwrap_or(0);
    let start = text[..i]
        .char_indices()
        .rev()
        .nth(200)
        .map_or(0, |(j, _)| j);
    let end = (i + needle.len() + 200).min(text.len());
    let end = (end..=text.len())
        .find(|e| text.is_char_boundary(*e))
        .unwrap_or(text.len());
    text[start..end].to_string()
}

/// Credentials in the environment: AK/SK with a security token.
fn temporary_creds(sk: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("HUAWEICLOUD_SDK_AK", AK),
        ("HUAWEICLOUD_SDK_SK", sk),
        ("HUAWEICLOUD_SDK_SECURITY_TOKEN", SECURITY_TOKEN),
    ]
}

/// `nbwatch -vv --log-file … list -o FORMAT` with every crate logging at trace.
fn list(fx: &Fixture, format: &str, creds: &[(&str, &str)]) -> (Out, String) {
    let home = Home::new("secrets");
    let log = home.str("logs/nbwatch.log");
    let ep = fx.endpoint();
    let env = [creds, &[("NBWATCH_LOG", "trace")]].concat();
    let out = nbwatch(
        &home,
        &[
            "-vv",
            "--log-file",
            &log,
            "--endpoint",
            &ep,
            "--project-id",
            fx.sim.project_id(),
            "list",
            "-o",
            format,
        ],
        &env,
    );
    out.assert_no_panic();
    let written = home.written();
    assert!(
        written.contains("notebooks/all"),
        "the log was written at trace level: {written:?}"
    );
    (out, written)
}

fn check(fx: &Fixture, what: &str, out: &Out, log: &str) {
    fx.assert_clean(&format!("{what}: stdout"), &out.stdout);
    fx.assert_clean(&format!("{what}: stderr"), &out.stderr);
    fx.assert_clean(&format!("{what}: log file"), log);
}

#[test]
fn list_output_in_every_format_shows_no_secret_and_masks_notebook_tokens() {
    let fx = Fixture::new();
    for format in ["table", "json", "csv"] {
        let (out, log) = list(&fx, format, &temporary_creds(SK));
        assert_eq!(out.code, Some(0), "{format}: {out:?}");
        check(&fx, format, &out, &log);
        assert!(
            fx.names.iter().any(|n| out.stdout.contains(n.as_str())),
            "{format}: the listing is there"
        );
    }
    // The JSON output carries each token masked: the tokens were there to leak.
    let (out, _) = list(&fx, "json", &temporary_creds(SK));
    for t in &fx.notebook_tokens {
        assert!(out.stdout.contains(&mask_secret(t)), "{t} masked");
    }
}

#[test]
fn list_through_auth_errors_shows_no_secret() {
    let fx = Fixture::new();
    // A wrong SK (with a security token): 401.
    let (out, log) = list(&fx, "json", &temporary_creds(WRONG_SK));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("HTTP 401"), "{out:?}");
    check(&fx, "wrong SK", &out, &log);
    // A wrong IAM token: 401; the right one works.
    let (out, log) = list(&fx, "table", &[("NBWATCH_AUTH_TOKEN", WRONG_IAM_TOKEN)]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("IAM token"), "{out:?}");
    check(&fx, "wrong IAM token", &out, &log);
    let (out, log) = list(&fx, "csv", &[("NBWATCH_AUTH_TOKEN", IAM_TOKEN)]);
    assert_eq!(out.code, Some(0), "{out:?}");
    check(&fx, "IAM token", &out, &log);
}

#[test]
fn list_through_server_faults_and_broken_bodies_shows_no_secret() {
    let fx = Fixture::new();
    // Retried once each, then served: the failed requests are logged.
    for spec in [
        "500:count=1",
        "malformed:count=1",
        "truncated:count=1",
        "html502:count=1",
    ] {
        fx.faults(&[spec]);
        let (out, log) = list(&fx, "json", &temporary_creds(SK));
        assert_eq!(out.code, Some(0), "{spec}: {out:?}");
        assert!(log.contains("retrying"), "{spec}: the retry is logged");
        check(&fx, spec, &out, &log);
    }
    // Throttled for good: every retry fails, then the error is printed.
    fx.faults(&["429:retry-after=0"]);
    let (out, log) = list(&fx, "table", &temporary_creds(SK));
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("HTTP 429"), "{out:?}");
    check(&fx, "429", &out, &log);
    fx.faults(&[]);
}

/// Runs the dashboard in a terminal with the canaries, `-vv` and a log file; `drive`
/// interacts and returns the screens it saw. Checks every screen, the raw bytes and the log.
fn dashboard(
    bin: &str,
    fx: &Fixture,
    creds: &[(&str, &str)],
    extra_env: &[(&str, &str)],
    drive: impl FnOnce(&mut pty::Pty) -> Vec<String>,
) -> String {
    let home = Home::new("secrets-pty");
    let log = home.str("logs/nbwatch.log");
    let ep = fx.endpoint();
    let xdg_config = home.str(".config");
    let xdg_data = home.str(".local/share");
    let home_dir = home.str("");
    let mut env: Vec<(&str, &str)> = vec![
        ("HOME", &home_dir),
        ("XDG_CONFIG_HOME", &xdg_config),
        ("XDG_DATA_HOME", &xdg_data),
        ("NBWATCH_LOG", "trace"),
        ("RUST_BACKTRACE", "1"),
    ];
    env.extend_from_slice(creds);
    env.extend_from_slice(extra_env);
    let mut term = pty::Pty::spawn(
        bin,
        &[
            "-vv",
            "--log-file",
            &log,
            "--endpoint",
            &ep,
            "--project-id",
            fx.sim.project_id(),
            "--interval",
            "1",
        ],
        140,
        70,
        &env,
    );
    let screens = drive(&mut term);
    assert!(term.wait_exit(Duration::from_secs(10)).is_some(), "exits");
    for (i, s) in screens.iter().enumerate() {
        fx.assert_clean(&format!("screen {i}"), s);
    }
    fx.assert_clean("final screen", &term.screen());
    let raw = String::from_utf8_lossy(&term.raw()).into_owned();
    fx.assert_clean("raw terminal bytes", &raw);
    let written = home.written();
    assert!(written.contains("notebooks/all"), "{written:?}");
    fx.assert_clean("log file", &written);
    raw
}

#[test]
fn the_dashboard_through_faults_detail_and_a_panic_shows_no_secret() {
    let fx = Fixture::new();
    // A broken body and a 500 (a failed poll), then a 500 absorbed by the retry.
    fx.faults(&["malformed:count=1", "500:count=2"]);
    let first = fx.names[0].clone();
    // The test-only target runs the same dashboard and panics on its thread
    // (the shipped binary has no such hook).
    let raw = dashboard(
        &crate::support::dash::example("panic_dashboard"),
        &fx,
        &temporary_creds(SK),
        &[("NBWATCH_PANIC_AFTER_MS", "6000")],
        |t| {
            // The failed first poll is on screen, then the data.
            let mut screens = vec![t.wait_text("ModelArts.0010", Duration::from_secs(15))];
            screens.push(t.wait_text(&first, Duration::from_secs(15)));
            // Full-screen detail of the selected instance: the token row is masked.
            t.send("\r");
            screens.push(t.wait_text("••••", Duration::from_secs(5)));
            t.send("\x1b");
            screens.push(t.screen());
            screens
        },
    );
    assert!(
        raw.contains("test panic requested"),
        "the panic happened: {}",
        raw.len()
    );
}

#[test]
fn the_dashboard_after_a_401_shows_no_secret() {
    let fx = Fixture::new();
    dashboard(bin(), &fx, &temporary_creds(WRONG_SK), &[], |t| {
        let mut screens = vec![t.wait_text("401", Duration::from_secs(15))];
        // Ask again (one more request), then quit.
        // Once the stop is a second old, r's answer shows as a new stop.
        t.wait_for("the stop ages", Duration::from_secs(15), |s| {
            s.contains("polling stopped") && !s.contains("polling stopped 0s ago")
        });
        t.send("r");
        screens.push(
            t.wait_for("the retry's answer", Duration::from_secs(15), |s| {
                s.contains("polling stopped 0s ago")
            }),
        );
        t.send("q");
        screens
    });
    dashboard(
        bin(),
        &fx,
        &[("NBWATCH_AUTH_TOKEN", WRONG_IAM_TOKEN)],
        &[],
        |t| {
            let screens = vec![t.wait_text("401", Duration::from_secs(15))];
            t.send("q");
            screens
        },
    );
}
