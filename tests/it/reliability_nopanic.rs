//! No panic on any input: property tests over every parser that reads something from
//! outside (error bodies, the config file and environment, signing inputs and the
//! Authorization header, HTTP dates, fault specs). The notebook response parser has
//! its own property tests next to the model.
//!
//! Case counts are bounded so the whole file runs in a few seconds.

use std::collections::BTreeMap;

use nbwatch::api::client::parse_http_date;
use nbwatch::api::error::parse_error_body;
use nbwatch::api::sign;
use nbwatch::config::{self, Dirs, Overrides};
use nbwatch::sim::Fault;
use proptest::prelude::*;

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        // Shrinking a config-file case costs a file write each: keep it short.
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A body as a proxy or the service might send it: JSON-ish, HTML-ish or bytes.
fn error_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        "(\\PC|<title>|</title>|<html>|\\{|\\}|\"error_code\"|\"error_msg\"|:|,|\"|\\d){0,80}"
            .prop_map(String::into_bytes),
        (
            "\\PC{0,20}",
            "\\PC{0,300}",
            prop::collection::vec(any::<u8>(), 0..8)
        )
            .prop_map(|(a, title, tail)| {
                let mut b = format!("<HTML><head>{a}<TITLE>{title}</title>").into_bytes();
                b.extend(tail);
                b
            }),
        (
            prop_oneof![
                Just("error_code"),
                Just("errorCode"),
                Just("code"),
                Just("message")
            ],
            prop_oneof![
                "\\PC{0,40}".prop_map(serde_json::Value::String),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                Just(serde_json::Value::Null),
                Just(serde_json::json!([1, {"a": "b"}])),
            ]
        )
            .prop_map(|(k, v)| serde_json::to_vec(&serde_json::json!({ k: v })).unwrap()),
    ]
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn error_bodies_never_panic_and_give_one_short_line(body in error_body()) {
        let (code, msg) = parse_error_body(&body);
        let is_json_object = matches!(
            serde_json::from_slice::<serde_json::Value>(&body),
            Ok(serde_json::Value::Object(_))
        );
        if !is_json_object {
            // Text from a proxy becomes one short line for the status bar.
            prop_assert!(code.is_none());
            if let Some(m) = msg {
                prop_assert!(!m.chars().any(char::is_control), "{m:?}");
                prop_assert!(m.chars().count() <= 201 + " (HTML page from a proxy)".len(), "{m:?}");
            }
        }
    }

    #[test]
    fn percent_encoding_round_trips(s in "\\PC{0,60}|[%+&=/?#;*~ ]{0,20}") {
        let e = sign::encode(&s);
        prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)), "{e}");
        prop_assert_eq!(sign::decode(&e), s);
    }

    #[test]
    fn decode_parse_query_and_authorization_never_panic(s in "(\\PC|%|%[0-9a-fA-F]|&|=|,|;){0,80}") {
        let _ = sign::decode(&s);
        let pairs = sign::parse_query(&s);
        let _ = sign::canonical_query(&pairs);
        let _ = sign::canonical_uri(&s);
        let _ = sign::parse_authorization(&s);
        let _ = sign::parse_authorization(&format!("SDK-HMAC-SHA256 {s}"));
        let _ = sign::parse_sdk_date(&s);
        let _ = parse_http_date(&s);
    }

    #[test]
    fn the_canonical_query_is_what_parse_query_reads_back(
        pairs in prop::collection::vec(("\\PC{0,12}", "\\PC{0,12}"), 0..6)
    ) {
        let q = sign::canonical_query(&pairs);
        let mut sorted = pairs.clone();
        sorted.sort();
        prop_assert_eq!(sign::parse_query(&q), sorted);
    }

    #[test]
    fn authorization_headers_round_trip(
        ak in "[A-Za-z0-9]{1,30}",
        headers in prop::collection::vec("[a-z][a-z0-9-]{0,15}", 1..5),
        sig in "[0-9a-f]{64}",
    ) {
        let v = format!("SDK-HMAC-SHA256 Access={ak}, SignedHeaders={}, Signature={sig}", headers.join(";"));
        let parsed = sign::parse_authorization(&v).unwrap();
        prop_assert_eq!(parsed.access, ak);
        prop_assert_eq!(parsed.signed_headers, headers);
        prop_assert_eq!(parsed.signature, sig);
    }

    #[test]
    fn sdk_dates_round_trip_over_four_digit_years(t in 0i64..253_402_300_800) {
        let d = sign::sdk_date(t);
        prop_assert_eq!(d.len(), 16);
        prop_assert_eq!(sign::parse_sdk_date(&d), Some(t));
    }

    #[test]
    fn near_valid_dates_never_panic(
        y in "\\PC{0,6}|[0-9]{1,10}",
        mo in "\\PC{0,3}|[0-9]{1,3}",
        d in "\\PC{0,3}|[0-9]{1,11}",
        h in "\\PC{0,3}|[0-9]{1,3}",
        mi in "[0-9]{1,3}|\\PC{0,3}",
        mon in prop_oneof![Just("Nov".to_string()), "\\PC{0,4}"],
    ) {
        let _ = sign::parse_sdk_date(&format!("{y}{mo}{d}T{h}{mi}00Z"));
        let _ = parse_http_date(&format!("Sat, {d} {mon} {y} {h}:{mi}:00 GMT"));
        let _ = parse_http_date(&format!("Sat, {d} {mon} {y} {h}:{mi} GMT"));
    }

    #[test]
    fn http_dates_agree_with_sdk_dates(t in 0i64..253_402_300_800) {
        let s = sign::sdk_date(t);
        let months = ["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"];
        let m: usize = s[4..6].parse().unwrap();
        // A real server names the right weekday, and the parser checks it.
        let weekday = time::OffsetDateTime::from_unix_timestamp(t).unwrap().weekday().to_string();
        let http = format!("{}, {} {} {} {}:{}:{} GMT", &weekday[..3], &s[6..8], months[m - 1], &s[0..4], &s[9..11], &s[11..13], &s[13..15]);
        prop_assert_eq!(parse_http_date(&http), Some(t));
    }

    #[test]
    fn fault_specs_never_panic_and_round_trip(spec in fault_spec()) {
        if let Ok(f) = spec.parse::<Fault>() {
            let again: Fault = f.to_string().parse().unwrap();
            prop_assert_eq!(again, f);
        } else {
            prop_assert!(!spec.parse::<Fault>().unwrap_err().is_empty());
        }
        let _ = nbwatch::sim::faults::parse_list(&spec);
    }
}

fn fault_spec() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        Just("500"),
        Just("429"),
        Just("malformed"),
        Just("truncated"),
        Just("html502"),
        Just("502"),
        Just("hang"),
        Just("flap"),
        Just("latency"),
        Just("drift"),
        Just("HANG"),
        Just(""),
        Just("nope"),
    ];
    let arg = prop_oneof![
        "[0-9]{1,25}",
        "-[0-9]{1,3}",
        "(count|ms|every|retry-after|cl)=[0-9a-z]{0,25}",
        Just("cl=cut".to_string()),
        Just("cl=full".to_string()),
        "\\PC{0,6}",
        Just("=".to_string()),
        Just(String::new()),
    ];
    prop_oneof![
        (kind, prop::collection::vec(arg, 0..4)).prop_map(|(k, args)| std::iter::once(
            k.to_string()
        )
        .chain(args)
        .collect::<Vec<_>>()
        .join(":")),
        "\\PC{0,30}",
        "(\\PC|:|=|,| ){0,30}",
    ]
}

// ---- the config loader -------------------------------------------------------------

/// TOML-ish text built from the file's real vocabulary, so most cases get past the
/// syntax and into the checks that come after it.
fn config_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(
            [
                nbwatch::config::PROFILE_KEYS,
                nbwatch::config::FILTER_KEYS,
                nbwatch::config::ROOT_KEYS
            ]
            .concat()
        )
        .prop_map(str::to_string),
        "[a-z_]{1,12}",
    ];
    let value = prop_oneof![
        "\"\\PC{0,24}\"",
        "\"(cn-north-4|ap-southeast-1|~/x|/tmp/none|http://127.0.0.1:1|1h30m|500ms|RUNNING|workspaceId|default|p)\"",
        "-?[0-9]{1,22}",
        "-?[0-9]{1,4}\\.[0-9]{1,4}",
        Just("true".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("[1, \"a\"]".to_string()),
        Just("{ x = 1 }".to_string()),
        "'\\PC{0,10}'",
        "\"\\PC{0,10}",
    ];
    let line = prop_oneof![
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => "\\[profiles\\.[a-z]{1,6}\\]".prop_map(|s| s),
        1 => "\\[profiles\\.[a-z]{1,6}\\.filters\\]",
        1 => "\\[\\[?\\PC{0,10}\\]?\\]?",
        1 => "\\PC{0,30}",
        1 => Just("default_profile = \"p\"".to_string()),
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

/// Well-formed TOML: one profile with known keys (each once) and values of every
/// type, plus a filters table, so most cases reach the checks after the syntax.
fn structured_config_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "\"(cn-north-4|cn-nowhere-1|ap-southeast-1|~/x|/tmp/none|http://127.0.0.1:1|https://h/p|ftp://x|1h30m|500ms|0s|RUNNING|NOTEBOOK|DESC|workspaceId|workspace_id|p|)\"",
        "\"[a-zA-Z0-9 ._:/-]{0,16}\"",
        "-?[0-9]{1,12}",
        "-?[0-9]{1,4}\\.[0-9]{1,3}",
        Just("true".to_string()),
        Just("nan".to_string()),
        Just("-inf".to_string()),
    ];
    let profile_keys = prop::collection::btree_map(
        prop::sample::select(nbwatch::config::PROFILE_KEYS.to_vec())
            .prop_filter("set below", |k| {
                !["filters", "region", "project_id"].contains(k)
            }),
        value.clone(),
        0..3,
    );
    let filter_keys = prop::collection::btree_map(
        prop::sample::select(nbwatch::config::FILTER_KEYS.to_vec()),
        value,
        0..3,
    );
    (any::<bool>(), profile_keys, filter_keys).prop_map(|(named, keys, filters)| {
        let mut s = String::new();
        if named {
            s.push_str("default_profile = \"p\"\n");
        }
        s.push_str("[profiles.p]\nregion = \"cn-north-4\"\n");
        s.push_str("project_id = \"0123456789abcdef0123456789abcdef\"\n");
        for (k, v) in keys {
            s.push_str(&format!("{k} = {v}\n"));
        }
        s.push_str("[profiles.p.filters]\n");
        for (k, v) in filters {
            s.push_str(&format!("{k} = {v}\n"));
        }
        s
    })
}

/// Environment values for every NBWATCH_* variable the loader reads (and the SDK ones).
fn env_values() -> impl Strategy<Value = BTreeMap<String, String>> {
    let names = [
        "NBWATCH_PROFILE",
        "NBWATCH_REGION",
        "NBWATCH_ENDPOINT",
        "NBWATCH_PROJECT_ID",
        "NBWATCH_INTERVAL",
        "NBWATCH_FAST_INTERVAL",
        "NBWATCH_CONCURRENCY",
        "NBWATCH_TIMEOUT",
        "NBWATCH_CONNECT_TIMEOUT",
        "NBWATCH_PAGE_SIZE",
        "NBWATCH_STUCK_AFTER",
        "NBWATCH_WORKSPACE_PARAM",
        "NBWATCH_BUDGET_PER_MINUTE",
        "NBWATCH_LOG_FILE",
        "NBWATCH_STATUS",
        "NBWATCH_NAME",
        "NBWATCH_FEATURE",
        "NBWATCH_POOL_ID",
        "NBWATCH_OWNER",
        "NBWATCH_WORKSPACE_ID",
        "NBWATCH_SORT_KEY",
        "NBWATCH_SORT_DIR",
        "NBWATCH_AUTH_TOKEN",
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
    ];
    let value = prop_oneof![
        "\\PC{0,20}",
        "-?[0-9]{1,20}(\\.[0-9]{1,3})?",
        "[0-9]{1,3}(ms|s|m|h)",
        Just(String::new()),
        Just(" ".to_string()),
        Just("cn-north-4".to_string()),
        Just("http://127.0.0.1:9".to_string()),
        Just("0123456789abcdef0123456789abcdef".to_string()),
    ];
    prop::collection::btree_map(prop::sample::select(names.to_vec()), value, 0..4).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>()
    })
}

/// A temporary directory, removed when dropped.
fn temp_root() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("nbwatch-rel-prop-")
        .tempdir()
        .unwrap()
}

/// The SK in every generated environment: it must never appear in what resolve returns.
const PROP_SK: &str = "propSecretKeyCanary-4b7d1f";

proptest! {
    #![proptest_config(cases(250))]

    #[test]
    fn the_config_loader_returns_settings_or_one_error_never_a_panic(
        text in prop_oneof![1 => config_text(), 2 => structured_config_text()],
        mut env in env_values(),
        profile in prop::option::weighted(0.15, prop_oneof!["[a-z]{1,6}", Just("p".to_string())]),
        page_size in prop::option::weighted(0.2, prop_oneof![Just(10u32), Just(50), any::<u32>()]),
        interval in prop::option::weighted(
            0.2,
            prop_oneof![1.0f64..60.0, any::<f64>(), Just(f64::NAN), Just(-0.0), Just(f64::INFINITY)],
        ),
    ) {
        let dir = temp_root();
        let root = dir.path();
        let path = root.join("config.toml");
        std::fs::write(&path, &text).unwrap();
        env.insert("HUAWEICLOUD_SDK_SK".into(), PROP_SK.into());
        env.entry("HUAWEICLOUD_SDK_AK".into()).or_insert_with(|| "AKPROP".into());
        let o = Overrides {
            config_path: Some(path.clone()),
            profile,
            page_size,
            interval_secs: interval,
            ..Overrides::default()
        };
        let result = config::resolve(&o, &env, &Dirs::under(root));
        match &result {
            Ok(s) => {
                prop_assert!(!format!("{s:?}").contains(PROP_SK), "Debug shows the SK");
                for w in &s.warnings {
                    prop_assert!(!w.contains(PROP_SK), "{w}");
                }
                prop_assert!(nbwatch::api::PageSize::ALLOWED.contains(&s.page_size));
                prop_assert!(!s.interval.is_zero());
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("fix: "), "{msg}");
                prop_assert!(!msg.contains(PROP_SK), "{msg}");
            }
        }
    }
}

/// The property above exercised by hand: the same path yields settings for a good file,
/// and an error that would quote the SK (pasted as a region) masks it.
#[test]
fn the_config_property_harness_reaches_both_outcomes() {
    let dir = temp_root();
    let root = dir.path();
    let path = root.join("config.toml");
    let env: BTreeMap<String, String> = [
        ("HUAWEICLOUD_SDK_AK".to_string(), "AK1".to_string()),
        ("HUAWEICLOUD_SDK_SK".to_string(), PROP_SK.to_string()),
    ]
    .into();
    let o = Overrides {
        config_path: Some(path.clone()),
        ..Overrides::default()
    };
    std::fs::write(
        &path,
        "[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"0123456789abcdef0123456789abcdef\"\n",
    )
    .unwrap();
    let s = config::resolve(&o, &env, &Dirs::under(root)).unwrap();
    assert_eq!(s.profile, "p");
    std::fs::write(
        &path,
        format!("[profiles.p]\nregion = \"{PROP_SK}\"\nproject_id = \"0123456789abcdef0123456789abcdef\"\n"),
    )
    .unwrap();
    let e = config::resolve(&o, &env, &Dirs::under(root)).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("unknown region"), "{msg}");
    assert!(!msg.contains(PROP_SK), "{msg}");
}
