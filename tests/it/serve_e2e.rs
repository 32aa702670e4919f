//! `nbwatch serve` as an operator runs it: the real binary in a clean environment,
//! polling a simulator in this test process, scraped over HTTP.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::bin;
use crate::support::home::Home;
use crate::support::sim::*;
use nbwatch::api::{Client, ListQuery, RetryPolicy};
use nbwatch::sim::{Fault, SimHandle};

/// A running `nbwatch serve`, killed when dropped.
pub(crate) struct Serve {
    child: Child,
    /// `http://ADDR` or `https://ADDR`, as its start-up line says.
    pub(crate) base: String,
    /// The first line it printed.
    pub(crate) line: String,
    client: reqwest::Client,
    _home: Home,
}

impl Serve {
    /// Starts `nbwatch serve` on a free loopback port against `sim`, with `sk` as
    /// the secret key, and waits for the line that says where it listens.
    async fn start(sim: &SimHandle, sk: &str, extra: &[&str]) -> Serve {
        let (ak, _) = sim.credentials();
        Serve::launch(&sim.endpoint(), &ak, sk, sim.project_id(), extra).await
    }

    /// Starts `nbwatch serve` polling `endpoint` and waits for where it listens.
    pub(crate) async fn launch(
        endpoint: &str,
        ak: &str,
        sk: &str,
        project_id: &str,
        extra: &[&str],
    ) -> Serve {
        let home = Home::new("serve");
        let mut cmd = Command::new(bin());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("HUAWEICLOUD_SDK_AK", ak)
            .env("HUAWEICLOUD_SDK_SK", sk)
            .args([
                "serve",
                "--endpoint",
                endpoint,
                "--project-id",
                project_id,
                "--listen",
                "127.0.0.1:0",
                "--interval",
                "1",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("nbwatch starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let line = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line)
            }),
        )
        .await
        .expect("nbwatch serve says where it listens within 20 s")
        .unwrap()
        .unwrap();
        let base = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .filter(|b| b.starts_with("http://") || b.starts_with("https://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Serve {
            child,
            base,
            line,
            client: reqwest::Client::new(),
            _home: home,
        }
    }

    /// Scrapes with `client` from now on (its own roots, certificate, password).
    pub(crate) fn with_client(mut self, client: reqwest::Client) -> Serve {
        self.client = client;
        self
    }

    pub(crate) async fn get(&self, path: &str, accept: Option<&str>) -> (u16, String, String) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let resp = req.send().await.expect("nbwatch serve answers");
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, ctype, resp.text().await.unwrap())
    }

    async fn metrics(&self) -> String {
        let (status, _, body) = self.get("/metrics", None).await;
        assert_eq!(status, 200);
        body
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} worked");
    }

    /// Exit code after SIGTERM, waiting up to 10 s.
    pub(crate) async fn terminate(mut self) -> i32 {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "nbwatch serve did not stop on SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of the simulator with its own credentials, no retries.
fn sim_client(sim: &SimHandle) -> Client {
    let mut o = sim.client_options();
    o.retry = RetryPolicy::none();
    Client::new(o).unwrap()
}

/// Polls `check` every 50 ms until it gives a value, failing after `secs`.
pub(crate) async fn until<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Instances per status, from the status series set to 1.
fn counts(metrics: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in metrics.lines() {
        if line.starts_with("modelarts_notebook_status{") && line.ends_with("} 1") {
            let status = line
                .split("status=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap();
            *out.entry(status.to_string()).or_default() += 1;
        }
    }
    out
}

fn instance_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("modelarts_"))
        .collect()
}

#[tokio::test]
async fn counts_per_status_equal_the_simulators_and_a_failed_poll_keeps_the_series() {
    let sim = manual(150).await;
    let (_, sk) = sim.credentials();
    let serve = Serve::start(&sim, sk.expose(), &["--max-age", "2"]).await;

    until("a healthy /healthz", 20, || async {
        let (status, _, body) = serve.get("/healthz", None).await;
        (status == 200).then_some(body)
    })
    .await;

    let (status, ctype, classic) = serve.get("/metrics", None).await;
    assert_eq!(status, 200);
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");

    // nbwatch watches both kinds (NOTEBOOK and the free CodeLab, DEFAULT) by
    // default: every instance the simulator has.
    let mut want: BTreeMap<String, u64> = sim.stats()["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(s, n)| (s.clone(), n.as_u64().unwrap()))
        .collect();
    want.retain(|_, n| *n > 0);
    assert_eq!(
        counts(&classic),
        want,
        "one status per instance, as the simulator has them"
    );
    assert_eq!(
        classic
            .lines()
            .filter(|l| l.starts_with("modelarts_notebook_info{"))
            .count(),
        sim.instance_count()
    );
    assert!(classic.contains("nbwatch_last_poll_success 1\n"));

    let (_, ctype, om) = serve
        .get(
            "/metrics",
            Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
        )
        .await;
    assert_eq!(
        ctype,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(om.ends_with("# EOF\n"));
    assert_eq!(counts(&om), counts(&classic));

    // No secret in any label: not the SK, no notebook token, URL or IP.
    let listing = sim_client(&sim)
        .fetch_all(&ListQuery::default())
        .await
        .unwrap();
    let (_, sk) = sim.credentials();
    assert!(!classic.contains(sk.expose()));
    for nb in &listing.notebooks {
        for secret in [&nb.token, &nb.url, &nb.ip].into_iter().flatten() {
            assert!(
                !classic.contains(secret.as_str()),
                "{secret} is in /metrics"
            );
        }
    }

    // The API fails: the last snapshot stays, the health gauge flips, then /healthz.
    sim.set_faults(&["500".parse::<Fault>().unwrap()]);
    let failing = until("nbwatch_last_poll_success 0", 20, || async {
        let m = serve.metrics().await;
        m.contains("nbwatch_last_poll_success 0\n").then_some(m)
    })
    .await;
    assert_eq!(instance_series(&failing), instance_series(&classic));
    assert!(!failing.contains("nbwatch_poll_errors_total{reason=\"server_error\"} 0\n"));
    let body = until(
        "/healthz 503 once the data is older than --max-age",
        20,
        || async {
            let (status, _, body) = serve.get("/healthz", None).await;
            (status == 503).then_some(body)
        },
    )
    .await;
    assert!(body.starts_with("stale: last successful poll"), "{body}");
    assert!(body.contains("HTTP 500"), "{body}");
    assert_eq!(
        instance_series(&serve.metrics().await),
        instance_series(&classic)
    );

    // It recovers by itself.
    sim.clear_faults();
    until("recovery", 30, || async {
        let (status, _, _) = serve.get("/healthz", None).await;
        let m = serve.metrics().await;
        (status == 200 && m.contains("nbwatch_last_poll_success 1\n")).then_some(())
    })
    .await;

    assert_eq!(serve.terminate().await, 0, "SIGTERM is a clean stop");
}

#[tokio::test]
async fn refused_credentials_stop_polling_until_sighup() {
    let sim = manual(5).await;
    let serve = Serve::start(&sim, "not-the-secret-key-at-all-0000000000000", &[]).await;
    let body = until("/healthz says what to do", 20, || async {
        let (status, _, body) = serve.get("/healthz", None).await;
        (status == 503 && body.contains("no data")).then_some(body)
    })
    .await;
    assert!(body.contains("HTTP 401"), "{body}");
    assert!(
        body.contains("fix the credentials, then send SIGHUP"),
        "{body}"
    );
    assert!(!body.contains("not-the-secret-key"), "{body}");
    let m = serve.metrics().await;
    assert!(
        m.contains("nbwatch_poll_errors_total{reason=\"auth\"} 1\n"),
        "{m}"
    );
    // One request, never repeated behind the operator's back; SIGHUP asks again.
    assert_eq!(sim.request_count(), 1);
    serve.signal("-HUP");
    until("a second poll after SIGHUP", 20, || async {
        (sim.request_count() == 2).then_some(())
    })
    .await;
    until("the second failure counted", 20, || async {
        let m = serve.metrics().await;
        m.contains("nbwatch_poll_errors_total{reason=\"auth\"} 2\n")
            .then_some(())
    })
    .await;
}

/// `nbwatch serve` against `sim` on a port already taken, so it ends right after
/// reading its settings; its output.
async fn serve_on_a_taken_port(
    sim: &SimHandle,
    tag: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> (std::process::Output, String) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let home = Home::new(tag);
    let (ak, sk) = sim.credentials();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking({
        let endpoint = sim.endpoint();
        let project = sim.project_id().to_string();
        let home = home.path().to_path_buf();
        let addr = addr.clone();
        move || {
            Command::new(bin())
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", home)
                .env("HUAWEICLOUD_SDK_AK", ak)
                .env("HUAWEICLOUD_SDK_SK", sk.expose())
                .envs(env)
                .args(["serve", "--endpoint", &endpoint, "--project-id", &project])
                .args(["--listen", &addr])
                .args(args)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    drop(taken);
    (out, addr)
}

#[tokio::test]
async fn a_busy_port_is_a_usage_error_that_names_the_fix() {
    let sim = manual(1).await;
    let (out, _) = serve_on_a_taken_port(&sim, "serve-port", &[], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("nbwatch serve: cannot listen on 127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.contains("fix: choose a free address with --listen"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(sim.request_count(), 0, "no poll before the port is had");
}

#[tokio::test]
async fn a_journal_or_alert_hook_given_to_serve_is_said_to_be_the_dashboards() {
    let sim = manual(1).await;
    let home = Home::new("serve-journal-file");
    let journal = home.str("j.jsonl");
    let (out, _) = serve_on_a_taken_port(
        &sim,
        "serve-journal",
        &[("NBWATCH_ALERT_HOOK", "cat > /dev/null")],
        &["--journal", &journal],
    )
    .await;
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warning: the journal (") && err.contains("is written by the dashboard only"),
        "{err}"
    );
    assert!(
        err.contains("warning: the alert hook runs from the dashboard only"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
}
