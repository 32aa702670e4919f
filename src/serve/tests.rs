//! The exporter's state and rendering, without a network: messages in, text out.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::metrics::{FAMILIES, Format, Metrics, Shared, StatusSeries};
use super::state::Exporter;
use crate::api::error::HttpError;
use crate::api::model::{Notebook, Pool, Status, User};
use crate::api::{ApiError, Listing};
use crate::app::{self, fixtures::*};
use crate::watch::{Message, Stats};

fn exporter(requests: u64) -> Shared {
    Arc::new(RwLock::new(Exporter::new(
        app::Timing {
            interval: Duration::from_secs(5),
            stuck_after: Duration::from_secs(600),
        },
        Arc::new(move || requests),
    )))
}

fn snapshot(notebooks: Vec<Notebook>) -> Message {
    Message::Snapshot {
        listing: Listing {
            notebooks,
            total: None,
            requests: 1,
            passes: 1,
            complete: true,
        },
        took: Duration::from_millis(300),
        stats: Stats::default(),
    }
}

fn failed(status: u16) -> Message {
    Message::Failed {
        error: ApiError::Http(HttpError {
            status,
            code: Some("ModelArts.0010".into()),
            message: Some("Internal server error".into()),
            ..HttpError::default()
        }),
        consecutive: 1,
        next_in: Some(Duration::from_secs(5)),
        stats: Stats::default(),
    }
}

fn apply(shared: &Shared, msg: Message, now_ms: i64) {
    shared.write().unwrap().apply(msg, now_ms);
}

fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn openmetrics_only_for_a_scraper_that_asks_for_it() {
    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                      version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
    assert_eq!(
        Format::negotiate(Some("Application/OpenMetrics-Text")),
        Format::OpenMetrics
    );
    assert_eq!(Format::negotiate(None), Format::Classic);
    assert_eq!(Format::negotiate(Some("*/*")), Format::Classic);
    assert_eq!(
        Format::negotiate(Some("text/plain;version=0.0.4")),
        Format::Classic
    );
    assert_eq!(
        Format::negotiate(Some("application/openmetrics-text;q=0, text/plain")),
        Format::Classic
    );
    assert_eq!(
        Format::Classic.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(
        Format::OpenMetrics
            .content_type()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
}

#[test]
fn every_family_is_written_in_both_formats_with_the_names_of_the_guidelines() {
    let shared = exporter(7);
    apply(&shared, Message::Started, NOW - 1000);
    apply(&shared, snapshot(notebooks()), NOW);
    let m = Metrics::new(shared, StatusSeries::All);
    let classic = m.render(Format::Classic);
    let om = m.render(Format::OpenMetrics);
    for f in FAMILIES {
        let name = f.exposed_name();
        assert!(
            classic.contains(&format!("# TYPE {name} ")),
            "{name} missing in:\n{classic}"
        );
        // OpenMetrics names the family without the _total/_info suffix.
        assert!(
            om.contains(&format!("# TYPE {} ", f.name)) || om.contains(&format!("# TYPE {name} ")),
            "{name} missing in:\n{om}"
        );
    }
    assert!(om.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    assert!(!classic.contains("# EOF"));
    assert!(om.contains("# TYPE modelarts_notebook info\n"));
    assert!(classic.contains("# TYPE modelarts_notebook_info gauge\n"));
    assert!(classic.contains("# TYPE nbwatch_requests_total counter\nnbwatch_requests_total 7\n"));
    assert!(om.contains("# UNIT nbwatch_poll_duration_seconds seconds\n"));
    assert!(classic.contains("nbwatch_poll_duration_seconds_count 1\n"));
    assert!(classic.contains("nbwatch_last_poll_success 1\n"));
    assert!(classic.contains("nbwatch_stuck_threshold_seconds 600.0\n"));
    // Base units and timestamps: no ages, no milliseconds.
    assert!(!classic.contains("_ms") && !classic.contains("_age"));
    for forbidden in ["instance=", "job=", "owner=", "url=", "ip=", "token="] {
        assert!(
            !classic.contains(&format!(",{forbidden}"))
                && !classic.contains(&format!("{{{forbidden}")),
            "label {forbidden} must not exist"
        );
    }
}

#[test]
fn one_status_series_is_1_and_every_other_documented_status_0() {
    let shared = exporter(1);
    let mut odd = nb("odd", "odd", "RUNNING");
    odd.status = Some(Status::Unknown("HIBERNATING".into()));
    let mut none = nb("none", "none", "RUNNING");
    none.status = None;
    apply(
        &shared,
        snapshot(vec![nb("a", "a", "CREATE_FAILED"), odd, none]),
        NOW,
    );
    let text = Metrics::new(shared, StatusSeries::All).render(Format::Classic);
    let a = lines_starting(&text, "modelarts_notebook_status{id=\"a\"");
    assert_eq!(a.len(), Status::ALL.len());
    assert_eq!(
        a.into_iter()
            .filter(|l| l.ends_with(" 1"))
            .collect::<Vec<_>>(),
        ["modelarts_notebook_status{id=\"a\",status=\"CREATE_FAILED\"} 1"]
    );
    // A status this version does not know gets a series of its own, set to 1.
    let odd = lines_starting(&text, "modelarts_notebook_status{id=\"odd\"");
    assert_eq!(odd.len(), Status::ALL.len() + 1);
    assert!(odd.contains(&"modelarts_notebook_status{id=\"odd\",status=\"HIBERNATING\"} 1"));
    assert!(
        lines_starting(&text, "modelarts_notebook_status{id=\"none\"")
            .contains(&"modelarts_notebook_status{id=\"none\",status=\"UNKNOWN\"} 1")
    );
}

#[test]
fn info_labels_are_escaped_and_carry_no_secret() {
    let shared = exporter(1);
    let mut n = nb("x1", "quote\" back\\slash\nnewline", "RUNNING");
    n.token = Some("58ba50c6-e8ff-245c-4840-49e51aa70737".into());
    n.url = Some("https://authoring-modelarts.example.com/x1/lab".into());
    n.ip = Some("192.168.10.77".into());
    n.pool = Some(Pool {
        id: Some("pool-id-1".into()),
        name: Some("pool-a".into()),
        ..Pool::default()
    });
    n.user = Some(User {
        id: Some("u-1".into()),
        name: Some("jürgen".into()),
        ..User::default()
    });
    apply(&shared, snapshot(vec![n]), NOW);
    let shared2 = Arc::clone(&shared);
    // Nothing secret is even kept in memory: the exporter holds the rows'
    // fields only, never a whole record (which has the token).
    assert!(shared2.read().unwrap().records().is_empty());
    let m = Metrics::new(shared, StatusSeries::All);
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = m.render(format);
        let info = lines_starting(&text, "modelarts_notebook_info{");
        assert_eq!(
            info,
            [
                "modelarts_notebook_info{id=\"x1\",name=\"quote\\\" back\\\\slash\\nnewline\",\
                 feature=\"NOTEBOOK\",flavor=\"modelarts.vm.cpu.8u\",\
                 image=\"pytorch1.8-cuda10.2-cudnn7-ubuntu18.04:2.0.0-release\",pool=\"pool-a\",\
                 workspace_id=\"0\",user_id=\"u-1\",user_name=\"jürgen\"} 1"
            ]
        );
        for secret in ["58ba50c6", "0737", "authoring-modelarts", "192.168.10.77"] {
            assert!(!text.contains(secret), "{secret} leaked into {format:?}");
        }
    }
}

#[test]
fn timestamps_are_seconds_and_the_lease_only_while_auto_stop_is_on() {
    let shared = exporter(1);
    let mut on = nb("on", "on", "RUNNING");
    on.lease = Some(lease(5 * MIN));
    let mut off = nb("off", "off", "RUNNING");
    off.lease = Some(app::fixtures::lease(5 * MIN));
    if let Some(l) = off.lease.as_mut() {
        l.enable = Some(false);
    }
    apply(&shared, snapshot(vec![on, off]), NOW);
    let text = Metrics::new(shared, StatusSeries::All).render(Format::Classic);
    let secs = |ms: i64| format!("{:.1}", ms as f64 / 1000.0);
    assert_eq!(
        lines_starting(&text, "modelarts_notebook_lease_expiry_timestamp_seconds{"),
        [format!(
            "modelarts_notebook_lease_expiry_timestamp_seconds{{id=\"on\"}} {}",
            secs(NOW + 5 * MIN)
        )]
    );
    assert!(text.contains(&format!(
        "modelarts_notebook_created_timestamp_seconds{{id=\"off\"}} {}\n",
        secs(NOW - 2 * DAY)
    )));
    assert!(text.contains(&format!(
        "nbwatch_last_successful_poll_timestamp_seconds {}\n",
        secs(NOW)
    )));
}

#[test]
fn status_since_is_when_the_change_was_seen_or_the_bound_known() {
    let shared = exporter(1);
    let mut first = nb("a", "a", "CREATING");
    first.update_at = Some(NOW - 3 * MIN);
    apply(&shared, snapshot(vec![first]), NOW);
    let since = |shared: &Shared| {
        let text = Metrics::new(Arc::clone(shared), StatusSeries::All).render(Format::Classic);
        lines_starting(&text, "modelarts_notebook_status_since_timestamp_seconds{")
            .concat()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    // Not seen changing: the last update is the latest the status can have begun.
    assert_eq!(
        since(&shared),
        format!("{:.1}", (NOW - 3 * MIN) as f64 / 1000.0)
    );
    apply(&shared, snapshot(vec![nb("a", "a", "RUNNING")]), NOW + MIN);
    assert_eq!(
        since(&shared),
        format!("{:.1}", (NOW + MIN) as f64 / 1000.0)
    );
}

#[test]
fn a_failed_poll_keeps_the_series_and_flips_the_health_gauge() {
    let shared = exporter(1);
    apply(&shared, Message::Started, NOW - 500);
    apply(&shared, snapshot(notebooks()), NOW);
    let m = Metrics::new(Arc::clone(&shared), StatusSeries::All);
    let before = m.render(Format::Classic);
    apply(&shared, Message::Started, NOW + 5_000);
    apply(&shared, failed(500), NOW + 7_000);
    apply(&shared, Message::Started, NOW + 12_000);
    apply(&shared, failed(429), NOW + 12_500);
    let after = m.render(Format::Classic);
    let series = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("modelarts_"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        series(&before),
        series(&after),
        "the last snapshot is still served"
    );
    assert!(after.contains("nbwatch_last_poll_success 0\n"));
    assert!(after.contains(&format!(
        "nbwatch_last_successful_poll_timestamp_seconds {:.1}\n",
        NOW as f64 / 1000.0
    )));
    assert!(after.contains("nbwatch_poll_errors_total{reason=\"server_error\"} 1\n"));
    assert!(after.contains("nbwatch_poll_errors_total{reason=\"throttled\"} 1\n"));
    assert!(after.contains("nbwatch_poll_errors_total{reason=\"auth\"} 0\n"));
    // Failed polls are timed too: 0.3 s (the poller's own measure of the good one),
    // then 2 s and 0.5 s from their start.
    assert!(after.contains("nbwatch_poll_duration_seconds_count 3\n"));
    assert!(
        after.contains("nbwatch_poll_duration_seconds_sum 2.8\n"),
        "{after}"
    );

    // Recovery.
    apply(&shared, snapshot(notebooks()), NOW + 20_000);
    assert!(
        m.render(Format::Classic)
            .contains("nbwatch_last_poll_success 1\n")
    );
}

#[test]
fn health_follows_the_last_poll_and_the_data_age() {
    let max_age = Duration::from_secs(60);
    let shared = exporter(1);
    let health = |now: i64| shared.read().unwrap().health(now, max_age);
    let h = health(NOW);
    assert!(!h.ok);
    assert!(h.text.starts_with("starting:"), "{}", h.text);

    apply(&shared, snapshot(notebooks()), NOW);
    let h = health(NOW + 10 * MIN);
    assert!(h.ok, "the last poll succeeded: healthy whatever the age");
    assert!(h.text.contains("13 instances"), "{}", h.text);

    apply(&shared, failed(500), NOW + 30_000);
    let h = health(NOW + 50_000);
    assert!(
        h.ok,
        "failing, but the data is younger than the limit: {}",
        h.text
    );
    assert!(h.text.contains("HTTP 500"), "{}", h.text);
    let h = health(NOW + 61_000);
    assert!(!h.ok);
    assert!(
        h.text
            .starts_with("stale: last successful poll 1m01s ago (limit 1m00s)"),
        "{}",
        h.text
    );
    assert!(h.text.contains("retries by itself"), "{}", h.text);

    apply(&shared, failed(401), NOW + 62_000);
    let h = health(NOW + 62_000);
    assert!(!h.ok);
    assert!(h.text.contains("SIGHUP"), "says what to do: {}", h.text);

    apply(&shared, snapshot(notebooks()), NOW + 70_000);
    assert!(health(NOW + 70_000).ok);
}

#[test]
fn no_data_yet_and_failing_is_unhealthy_with_the_error() {
    let shared = exporter(0);
    apply(&shared, failed(403), NOW);
    let h = shared.read().unwrap().health(NOW, Duration::from_secs(60));
    assert!(!h.ok);
    assert!(
        h.text
            .starts_with("no data: no poll has succeeded yet; last poll failed: HTTP 403"),
        "{}",
        h.text
    );
    // The class the metric's `reason` gives, on the same line.
    assert!(h.text.contains(" [reason auth]"), "{}", h.text);
    let text = Metrics::new(Arc::clone(&shared), StatusSeries::All).render(Format::Classic);
    assert!(text.contains("nbwatch_last_poll_success 0\n"));
    assert!(text.contains("nbwatch_last_successful_poll_timestamp_seconds 0.0\n"));
    assert!(text.contains("nbwatch_poll_errors_total{reason=\"auth\"} 1\n"));
    assert!(lines_starting(&text, "modelarts_notebook_info{").is_empty());
}

/// The compressed parts of a rendering, by address: the same address is the
/// same part, shared, not compressed again.
fn part_addresses(m: &Metrics, format: Format) -> Vec<usize> {
    m.render_parts(format)
        .instances
        .parts
        .iter()
        .map(|b| b.as_ptr() as usize)
        .collect()
}

#[test]
fn only_what_changed_is_compressed_again_and_health_at_every_scrape() {
    let shared = exporter(1);
    apply(&shared, snapshot(many(500)), NOW);
    let m = Metrics::new(Arc::clone(&shared), StatusSeries::All);
    let first = m.render_parts(Format::Classic);
    let om = m.render_parts(Format::OpenMetrics);
    let again = m.render_parts(Format::Classic);
    // The same parts, not a copy: a repeated scrape allocates only the small part.
    assert!(Arc::ptr_eq(&first.instances, &again.instances));
    assert!(!Arc::ptr_eq(&first.instances, &om.instances));
    // Both formats share the instance parts: only the headers differ.
    let shared_parts = om
        .instances
        .parts
        .iter()
        .filter(|p| {
            first
                .instances
                .parts
                .iter()
                .any(|q| q.as_ptr() == p.as_ptr())
        })
        .count();
    assert!(shared_parts * 10 > first.instances.parts.len() * 8);
    // Kept compressed: a small fraction of the text it holds.
    assert!(first.instances.len() * 8 < first.instances.plain_len);
    assert!(first.health.len() < 4096, "{}", first.health.len());
    assert!(String::from_utf8_lossy(&om.health).ends_with("# EOF\n"));
    // One `# EOF`, at the end: the instance part has none.
    let om_text = om.to_text();
    assert!(om_text.ends_with("# EOF\n"));
    assert_eq!(om_text.matches("# EOF").count(), 1);

    // A failed poll: same instances, new health.
    apply(&shared, failed(500), NOW + 5_000);
    let failing = m.render_parts(Format::Classic);
    assert!(Arc::ptr_eq(&failing.instances, &first.instances));
    assert!(String::from_utf8_lossy(&failing.health).contains("nbwatch_last_poll_success 0\n"));

    // A sweep that changes nothing compresses nothing.
    apply(&shared, snapshot(many(500)), NOW + 6_000);
    assert_eq!(m.prerender(), 0);
    assert!(Arc::ptr_eq(
        &m.render_parts(Format::Classic).instances,
        &first.instances
    ));

    // One instance changes status: its group's status and status-since parts
    // (and lease expiry, which only an instance up has) are compressed again,
    // nothing else.
    let before = part_addresses(&m, Format::Classic);
    let mut changed = many(500);
    let was_up = app::tracked::lease_applies(&changed[250].status_or_unknown())
        && changed[250].lease_end_ms().is_some();
    changed[250].status = Some(Status::Stopped);
    apply(&shared, snapshot(changed.clone()), NOW + 7_000);
    let compressed = m.prerender();
    assert_eq!(compressed, 2 + usize::from(was_up));
    let after = part_addresses(&m, Format::Classic);
    assert_eq!(before.len(), after.len());
    let differ = before.iter().zip(&after).filter(|(a, b)| a != b).count();
    assert_eq!(differ, compressed);
    let text = m.render(Format::Classic);
    let id = changed[250].id.clone().unwrap();
    assert!(text.contains(&format!(
        "modelarts_notebook_status{{id=\"{id}\",status=\"STOPPED\"}} 1\n"
    )));
    assert_eq!(text, fresh_render(&shared, Format::Classic));

    // Instances missing from two complete sweeps are gone.
    apply(&shared, snapshot(many(20)), NOW + 8_000);
    apply(&shared, snapshot(many(20)), NOW + 9_000);
    for format in [Format::Classic, Format::OpenMetrics] {
        let text = m.render(format);
        assert_eq!(lines_starting(&text, "modelarts_notebook_info{").len(), 20);
        assert!(text.contains("nbwatch_last_poll_success 1\n"));
        assert_eq!(text, fresh_render(&shared, format));
    }
}

/// What a store that starts now renders: the reference for one kept up to date.
fn fresh_render(shared: &Shared, format: Format) -> String {
    Metrics::new(Arc::clone(shared), StatusSeries::All).render(format)
}

/// Prometheus scrapes with `Accept-Encoding: gzip`: it gets the same exposition,
/// gzip-compressed, in both formats; a scraper without gzip gets it plain.
#[tokio::test]
async fn a_gzip_scrape_decodes_to_exactly_the_plain_scrape_in_both_formats() {
    use std::io::Read as _;
    let shared = exporter(42);
    apply(&shared, snapshot(many(2_000)), NOW);
    let metrics = Arc::new(Metrics::new(Arc::clone(&shared), StatusSeries::All));
    let ctx = super::http::Ctx {
        shared,
        metrics,
        max_age: Duration::from_secs(60),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/metrics", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            super::http::router(ctx, super::http::Guard::default()),
        )
        .await
        .unwrap();
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    for (accept, format) in [
        ("text/plain;version=0.0.4", Format::Classic),
        (
            "application/openmetrics-text;version=1.0.0",
            Format::OpenMetrics,
        ),
    ] {
        let get = |gzip: bool| {
            let mut req = client.get(&base).header("accept", accept);
            if gzip {
                req = req.header("accept-encoding", "gzip");
            }
            req.send()
        };
        let plain = get(false).await.unwrap();
        assert_eq!(plain.status(), 200);
        assert_eq!(plain.headers().get("content-encoding"), None);
        assert_eq!(
            plain.headers()["content-type"].to_str().unwrap(),
            format.content_type()
        );
        let plain = plain.text().await.unwrap();
        let zipped = get(true).await.unwrap();
        assert_eq!(zipped.headers()["content-encoding"], "gzip");
        assert_eq!(
            zipped.headers()["content-type"].to_str().unwrap(),
            format.content_type()
        );
        let body = zipped.bytes().await.unwrap();
        assert!(
            body.len() * 10 < plain.len(),
            "{} of {}",
            body.len(),
            plain.len()
        );
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain);
        assert_eq!(
            lines_starting(&plain, "modelarts_notebook_info{").len(),
            2_000
        );
        assert!(plain.contains("nbwatch_requests_total 42\n"));
    }
    server.abort();
}

/// An incomplete sweep (the listing moved faster than its repairs) proves
/// nothing gone: however many of them lack an instance, its metrics stay, and
/// no gone is counted; two complete sweeps without it then confirm it gone.
#[test]
fn an_incomplete_sweep_never_takes_an_instance_out_of_the_metrics() {
    let shared = exporter(1);
    let m = Metrics::new(shared.clone(), StatusSeries::All);
    let info =
        |m: &Metrics| lines_starting(&m.render(Format::Classic), "modelarts_notebook_info{").len();
    apply(&shared, snapshot(many(20)), NOW);
    assert_eq!(info(&m), 20);
    for k in 1..=4 {
        let Message::Snapshot {
            mut listing,
            took,
            stats,
        } = snapshot(many(10))
        else {
            unreachable!()
        };
        listing.complete = false;
        apply(
            &shared,
            Message::Snapshot {
                listing,
                took,
                stats,
            },
            NOW + k * 1_000,
        );
        assert_eq!(info(&m), 20, "after incomplete sweep {k}");
    }
    apply(&shared, snapshot(many(10)), NOW + 6_000);
    apply(&shared, snapshot(many(10)), NOW + 7_000);
    assert_eq!(info(&m), 10, "two complete sweeps confirm them gone");
}
