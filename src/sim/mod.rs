//! The built-in ModelArts simulator: `nbwatch sim` serves it for people testing
//! their own scripts, `nbwatch --demo` runs the dashboard against an in-process
//! instance, and every HTTP test talks to it.
//!
//! ```text
//!  request ──► server (routing, X-Request-Id, faults, gateway auth)
//!                 │
//!                 ▼
//!              listing (validate query, filter, sort, page) ──► render (page only)
//!                 │
//!                 ▼
//!              engine (population + event heap, advanced lazily to clock.now())
//! ```
//!
//! Serves `GET /v1/{project_id}/notebooks/all` and `GET /v1/{project_id}/notebooks`
//! (the caller's own instances), and one instance's ShowNotebook, start, stop,
//! lease and delete (see `actions`). A path project id other than the configured one is
//! answered 403 `ModelArts.0108`, as IAM does for credentials scoped to another
//! project; any other path or method is 404 `APIGW.0101`, as the gateway does.
//! Control endpoints (no auth): `GET|POST|PUT|DELETE /_sim/faults`,
//! `POST /_sim/advance?ms=N`, `GET /_sim/stats`, `GET /_sim/journal?from&to`
//! (the ground truth), `POST /_sim/fail?n=N` (running instances fail now),
//! `POST /_sim/start?n=N` (a burst: stopped instances start at once).

pub mod actions;
pub mod auth;
pub mod catalog;
pub mod churn;
pub mod clock;
pub mod engine;
pub mod faults;
pub mod instance;
pub mod journal;
pub mod listing;
pub mod render;
pub mod rng;
pub mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use churn::{Churn, ChurnMode};
pub use clock::SimClock;
pub use faults::{Fault, FaultKind};

use crate::secret::Secret;

/// Demo credentials: test values, safe to print.
pub const DEMO_AK: &str = "NBWATCHSIMDEMOAK0001";
pub const DEMO_SK: &str = "nbwatchSimulatorDemoSecretKey00000000000";
pub const DEMO_PROJECT_ID: &str = "5e1f0c0a2b3d4e5f60718293a4b5c6d7";
/// The project of the demo's second simulated region (ap-southeast-3).
pub const DEMO_SECOND_PROJECT_ID: &str = "9c8b7a6f5e4d3c2b1a09f8e7d6c5b4a3";
pub const DEMO_TOKEN: &str = "nbwatch-sim-demo-token";
/// The default `--listen` of `nbwatch sim`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Largest population accepted.
pub const MAX_INSTANCES: usize = 200_000;

/// The fault syntax, for `nbwatch sim --help`.
pub const FAULT_HELP: &str = "\
Fault specs (--fault, repeatable; or at runtime via the control endpoint):
  500                       500 ModelArts.0010
  401                       401 APIGW.0301, as when the credentials are revoked mid-run
  429[:retry-after=S]       429 APIGW.0308 with Retry-After: S seconds (default 2)
  malformed                 200 with a body that is not valid JSON
  truncated[:cl=full|cut]   200 cut mid-body: cl=full (default) declares the whole length and
                            drops the connection; cl=cut declares the cut length (JSON parse error)
  html502                   502 text/html page from an nginx proxy
  hang[:ms=N]               answer only after N ms (default: an hour, i.e. never)
  flap:N                    every Nth request fails with 500
  latency:MS                delay every answer by MS
  drift                     an instance appears or disappears before each page (total moves)
  Append :count=N to fire only N times, e.g. 500:count=2 or 429:retry-after=1:count=1.

Control endpoint (no auth):
  GET /_sim/faults          list active faults          DELETE /_sim/faults   clear them
  POST /_sim/faults?spec=500:count=1   add (or a JSON body [\"500\",\"latency:200\"]; PUT replaces)
  POST /_sim/advance?ms=N   move simulated time forward  GET /_sim/stats       request count, clock
  POST /_sim/deny?action=modelarts:notebook:stop      answer 403 to that IAM action (DELETE lifts all)
  POST /_sim/resources?available=false                starts fail with ModelArts.6360
                          (available=late: starts are accepted, then end in START_FAILED)
  GET /_sim/journal?from=MS&to=MS   every transition, creation and removal in the window
  POST /_sim/fail?n=N       N running instances fail now (RUNNING -> ERROR)
  POST /_sim/start?n=N      a burst: N stopped instances start at once (STOPPED -> STARTING)";

/// The furthest `--clock-skew` may move the simulator's clock: a year.
const MAX_CLOCK_SKEW_SECS: i64 = 366 * 24 * 3600;

/// How to start a simulator in-process.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    pub instances: usize,
    pub seed: u64,
    /// Simulated time multiplier for the real-time clock.
    pub speed: f64,
    /// A manual clock: time moves only with [`SimHandle::advance`].
    pub manual_clock: bool,
    /// Simulated time at start (epoch ms); `None`: the wall clock at spawn.
    pub start_ms: Option<i64>,
    /// Delay added to every API answer.
    pub latency_ms: u64,
    pub ak: String,
    pub sk: Secret,
    pub project_id: String,
    pub token: Secret,
    pub faults: Vec<Fault>,
    /// Seconds the simulator's wall clock (its `Date` headers, the signature
    /// date check) runs ahead of this machine's; negative: behind.
    pub clock_skew_secs: i64,
    /// Creations and deletions after each listing request (`None`: none).
    pub churn: Option<Churn>,
    /// Add the demo script: a creation finishing in ~20 s, leases ending in 45 s
    /// and 100 s, an instance appearing at 30 s, a CREATE_FAILED and a FROZEN one.
    pub lively: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            instances: 60,
            seed: 1,
            speed: 1.0,
            manual_clock: false,
            start_ms: None,
            latency_ms: 0,
            ak: DEMO_AK.to_string(),
            sk: Secret::new(DEMO_SK),
            project_id: DEMO_PROJECT_ID.to_string(),
            token: Secret::new(DEMO_TOKEN),
            faults: Vec::new(),
            clock_skew_secs: 0,
            churn: None,
            lively: false,
        }
    }
}

impl SimConfig {
    /// For `nbwatch --demo`: real time, demo credentials, something visibly
    /// changing within the first minute.
    pub fn demo() -> Self {
        SimConfig {
            lively: true,
            ..SimConfig::default()
        }
    }

    /// The second region of `nbwatch --demo`: its own project and a smaller
    /// population, without the first region's script.
    pub fn demo_second_region() -> Self {
        SimConfig {
            instances: 24,
            seed: 7,
            project_id: DEMO_SECOND_PROJECT_ID.to_string(),
            ..SimConfig::default()
        }
    }

    /// For tests: a manual clock standing at `start_ms`, so everything is
    /// deterministic for the seed.
    pub fn manual_at(start_ms: i64) -> Self {
        SimConfig {
            manual_clock: true,
            start_ms: Some(start_ms),
            ..SimConfig::default()
        }
    }

    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.instances <= MAX_INSTANCES,
            "--instances {} is too many (at most {MAX_INSTANCES})",
            self.instances
        );
        anyhow::ensure!(
            self.speed.is_finite() && self.speed > 0.0,
            "--speed must be a positive number, not {}",
            self.speed
        );
        anyhow::ensure!(
            self.clock_skew_secs.abs() <= MAX_CLOCK_SKEW_SECS,
            "--clock-skew {} is out of range (at most {MAX_CLOCK_SKEW_SECS} seconds either way)",
            self.clock_skew_secs
        );
        if let Some(c) = &self.churn {
            c.validate()?;
        }
        anyhow::ensure!(!self.ak.is_empty(), "--ak must not be empty");
        anyhow::ensure!(!self.sk.is_empty(), "--sk must not be empty");
        anyhow::ensure!(
            !self.project_id.is_empty() && !self.project_id.contains('/'),
            "--project-id must be a non-empty path segment"
        );
        Ok(())
    }
}

/// A running simulator. Dropping it stops the server (without waiting).
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

/// Starts a simulator on `cfg.listen` and serves it on the current tokio runtime.
pub async fn spawn(cfg: SimConfig) -> anyhow::Result<SimHandle> {
    cfg.validate()?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let start = cfg.start_ms.unwrap_or_else(clock::wall_now_ms);
    let clock = if cfg.manual_clock {
        SimClock::manual(start)
    } else {
        SimClock::real(start, cfg.speed)
    };
    let engine = engine::Engine::new(cfg.seed, cfg.instances, start, cfg.lively);
    let (stop, stop_rx) = watch::channel(false);
    let shared = Arc::new(server::Shared::new(engine, clock, &cfg, stop_rx.clone()));
    let app = server::router(shared.clone());
    let mut signal = stop_rx;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = signal.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!("simulator stopped: {e}");
        }
    });
    Ok(SimHandle {
        addr,
        shared,
        stop,
        task: Some(task),
    })
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`: the endpoint to give a client.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn project_id(&self) -> &str {
        &self.shared.project_id
    }

    /// The accepted AK and SK.
    pub fn credentials(&self) -> (String, Secret) {
        (self.shared.creds.ak.clone(), self.shared.creds.sk.clone())
    }

    /// Client options for this simulator, signed with its AK/SK (defaults otherwise).
    pub fn client_options(&self) -> crate::api::ClientOptions {
        let (ak, sk) = self.credentials();
        crate::api::ClientOptions::new(
            self.endpoint(),
            self.project_id(),
            crate::api::Auth::AkSk(crate::api::sign::AkSk {
                ak,
                sk,
                security_token: None,
            }),
        )
    }

    /// Answers 403 to requests needing this IAM action (e.g. `modelarts:notebook:stop`).
    pub fn deny(&self, iam_action: &str) {
        self.shared.policy.deny(iam_action);
    }

    /// Lifts every denial made with [`SimHandle::deny`].
    pub fn allow_all(&self) {
        self.shared.policy.allow_all();
    }

    /// Start, stop, extend and delete requests answered (accepted or refused).
    pub fn action_requests(&self) -> u64 {
        self.shared.policy.action_requests()
    }

    /// Whether there are resources to start instances (6360 when not).
    pub fn set_resources(&self, available: bool) {
        self.shared.policy.set_resources(available);
    }

    /// Starts are accepted, then end in START_FAILED (resources gone meanwhile).
    pub fn fail_starts_late(&self) {
        self.shared.policy.fail_starts_late();
    }

    /// Replaces the active faults.
    pub fn set_faults(&self, faults: &[Fault]) {
        self.shared.faults().set(faults);
    }

    /// Adds faults to the active ones.
    pub fn add_faults(&self, faults: &[Fault]) {
        self.shared.faults().add(faults);
    }

    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// The active faults, as specs.
    pub fn faults(&self) -> Vec<String> {
        self.shared
            .faults()
            .active()
            .iter()
            .map(|a| a.fault.to_string())
            .collect()
    }

    /// Moves simulated time forward by `ms` (works with either clock).
    pub fn advance(&self, ms: i64) {
        self.shared.clock.advance(ms);
    }

    /// Current simulated time, epoch ms.
    pub fn now_ms(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    /// API requests received (everything but `/_sim/*`), whatever their outcome.
    pub fn request_count(&self) -> u64 {
        self.shared.api_requests.load(Ordering::SeqCst)
    }

    /// Instances alive now (all features, all owners).
    pub fn instance_count(&self) -> usize {
        self.shared.engine_now().len()
    }

    /// The ground truth of `[from_ms, to_ms]` (simulated time): which instances
    /// existed throughout, every transition and removal with its time. What
    /// `GET /_sim/journal?from=MS&to=MS` answers.
    pub fn ground_truth(&self, from_ms: i64, to_ms: i64) -> journal::GroundTruth {
        self.shared.engine_now().ground_truth(from_ms, to_ms)
    }

    /// What `GET /_sim/stats` answers.
    pub fn stats(&self) -> serde_json::Value {
        server::stats(&self.shared)
    }

    /// Stops accepting, lets in-flight answers finish (hangs are cut short) and
    /// waits up to `grace` for the server task.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(grace, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// How to connect, printed by `nbwatch sim` on start. Test credentials only.
pub fn banner(h: &SimHandle, cfg: &SimConfig) -> String {
    let ep = h.endpoint();
    let pid = h.project_id();
    let clock = if cfg.manual_clock {
        "manual (POST /_sim/advance?ms=N)".to_string()
    } else {
        format!("{}x real time", cfg.speed)
    };
    let faults = if cfg.faults.is_empty() {
        "none".to_string()
    } else {
        cfg.faults
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "nbwatch sim: ModelArts simulator on {ep}  ({} instances, seed {}, clock {clock}, faults {faults})

  endpoint    {ep}
  project id  {pid}
  AK          {ak}
  SK          {sk}
  token       {token}   (X-Auth-Token)
These are test credentials of this simulator only.

Point a client at it:
  export HUAWEICLOUD_SDK_AK={ak}
  export HUAWEICLOUD_SDK_SK={sk}
  export HUAWEICLOUD_SDK_PROJECT_ID={pid}
  nbwatch --endpoint {ep} list
  curl -H 'X-Auth-Token: {token}' '{ep}/v1/{pid}/notebooks/all?limit=50'

Control: GET/POST/DELETE {ep}/_sim/faults  POST {ep}/_sim/advance?ms=N  GET {ep}/_sim/stats
Ctrl-C to stop.",
        cfg.instances,
        cfg.seed,
        ak = cfg.ak,
        sk = cfg.sk.expose(),
        token = cfg.token.expose(),
    )
}

/// The regions `nbwatch --demo` simulates, each with its simulator's
/// configuration: a first-time user sees two sources merged in one table.
pub fn demo_regions() -> Vec<(&'static str, SimConfig)> {
    vec![
        ("cn-north-4", SimConfig::demo()),
        ("ap-southeast-3", SimConfig::demo_second_region()),
    ]
}

/// The demo simulator's credentials (every simulator accepts them unless told
/// otherwise): for `--demo` and for benches that start `nbwatch sim`.
pub fn demo_auth() -> crate::api::Auth {
    crate::api::Auth::AkSk(crate::api::sign::AkSk {
        ak: DEMO_AK.into(),
        sk: Secret::new(DEMO_SK),
        security_token: None,
    })
}

/// `nbwatch sim`: serve until Ctrl-C.
pub async fn run(cfg: SimConfig) -> anyhow::Result<()> {
    let handle = spawn(cfg.clone()).await?;
    // A closed stdout (`nbwatch sim | head`) must not stop the server.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", banner(&handle, &cfg)).and_then(|()| out.flush());
    }
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    eprintln!("nbwatch sim: stopping");
    handle.shutdown(Duration::from_secs(2)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn config_is_validated() {
        let bad = [
            SimConfig {
                speed: 0.0,
                ..SimConfig::default()
            },
            SimConfig {
                speed: f64::INFINITY,
                ..SimConfig::default()
            },
            SimConfig {
                instances: MAX_INSTANCES + 1,
                ..SimConfig::default()
            },
            SimConfig {
                project_id: "a/b".into(),
                ..SimConfig::default()
            },
            SimConfig {
                sk: Secret::new(""),
                ..SimConfig::default()
            },
        ];
        for cfg in bad {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
        assert!(SimConfig::demo().validate().is_ok());
        // Debug never shows the SK or token.
        let dbg = format!("{:?}", SimConfig::default());
        assert!(!dbg.contains(DEMO_SK) && !dbg.contains(DEMO_TOKEN));
    }

    #[tokio::test]
    async fn the_banner_says_how_to_connect() {
        let cfg = SimConfig {
            faults: vec!["latency:5".parse().unwrap()],
            ..SimConfig::manual_at(0)
        };
        let h = spawn(cfg.clone()).await.unwrap();
        let b = banner(&h, &cfg);
        for needle in [
            h.endpoint().as_str(),
            DEMO_PROJECT_ID,
            DEMO_AK,
            DEMO_SK,
            DEMO_TOKEN,
            "HUAWEICLOUD_SDK_AK=",
            "nbwatch --endpoint http://127.0.0.1:",
            "faults latency:5",
            "manual",
        ] {
            assert!(b.contains(needle), "banner lacks {needle}:\n{b}");
        }
        h.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn spawn_reports_a_busy_port() {
        let first = spawn(SimConfig::manual_at(0)).await.unwrap();
        let err = spawn(SimConfig {
            listen: first.addr,
            ..SimConfig::manual_at(0)
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("cannot listen on"), "{err}");
    }
}
