//! The model's decoding and encoding, against the reference example and odd inputs.

use super::*;

const REFERENCE_EXAMPLE: &str = include_str!("../../../tests/data/reference_example.json");

#[test]
fn parses_the_reference_example_verbatim() {
    let page: NotebookPage = serde_json::from_str(REFERENCE_EXAMPLE).unwrap();
    assert_eq!(page.current, Some(0));
    assert_eq!(page.total, Some(2));
    assert_eq!(page.pages, Some(1));
    assert_eq!(page.size, Some(10));
    assert_eq!(page.data.len(), 2);
    let nb = &page.data[0];
    assert_eq!(nb.id_str(), "f9937afa-ca78-45b6-bc12-7ecf42553c48");
    assert_eq!(nb.status, Some(Status::Creating));
    assert_eq!(nb.feature.as_deref(), Some("DEFAULT"));
    let img = nb.image.as_ref().unwrap();
    assert_eq!(img.kind.as_deref(), Some("BUILD_IN"));
    assert_eq!(
        img.label(),
        "notebook2.0-mul-kernel-cpu-cp36:3.3.2-release_v1"
    );
    let lease = nb.lease.as_ref().unwrap();
    assert_eq!(lease.end_ms(), Some(1638841805439 + 3600000));
    assert_eq!(lease.remaining_at(1638841805439 + 600_000), Some(3_000_000));
    let vol = nb.volume.as_ref().unwrap();
    assert_eq!(vol.capacity, Some(50));
    assert_eq!(vol.category.as_deref(), Some("EVS"));
    assert_eq!(nb.workspace_id.as_deref(), Some("0"));
}

#[test]
fn nulls_missing_objects_and_wrong_types_become_none() {
    let json = r#"{"data":[
        {"id":"a","status":null,"image":null,"lease":"oops","volume":{"capacity":"20"},
         "create_at":"1700000000000","endpoints":null,"tags":[{"key":"k"},7],
         "billing_items":"STORAGE,COMPUTE"},
        {}
    ]}"#;
    let page: NotebookPage = serde_json::from_str(json).unwrap();
    assert_eq!(page.total, None);
    let a = &page.data[0];
    assert_eq!(a.status, None);
    assert_eq!(a.status_or_unknown(), Status::Unknown(String::new()));
    assert!(a.image.is_none());
    assert!(a.lease.is_none());
    assert_eq!(a.volume.as_ref().unwrap().capacity, Some(20));
    assert_eq!(a.create_at, Some(1_700_000_000_000));
    assert_eq!(a.tags.len(), 1);
    assert_eq!(a.billing_items, vec!["STORAGE", "COMPUTE"]);
    assert_eq!(page.data[1], Notebook::default());
}

#[test]
fn unknown_statuses_and_fields_are_kept() {
    let json = r#"{"id":"x","status":"HIBERNATING","new_field":{"a":1},
                   "image":{"name":"i","future":"yes"}}"#;
    let nb: Notebook = serde_json::from_str(json).unwrap();
    assert_eq!(nb.status, Some(Status::Unknown("HIBERNATING".into())));
    assert_eq!(
        nb.extra.get("new_field"),
        Some(&serde_json::json!({"a": 1}))
    );
    let back = serde_json::to_value(&nb).unwrap();
    assert_eq!(back["status"], "HIBERNATING");
    assert_eq!(back["new_field"]["a"], 1);
    assert_eq!(back["image"]["future"], "yes");
}

#[test]
fn status_round_trips_every_documented_value() {
    for s in Status::ALL {
        assert_eq!(Status::parse(s.as_str()), s);
        assert!(s.is_known());
    }
    assert!(Status::Frozen.is_problem());
    assert!(Status::Creating.is_transitional());
    assert!(!Status::Running.is_transitional());
}

#[test]
fn lease_disabled_or_incomplete_has_no_end() {
    let l = Lease {
        create_at: Some(1),
        duration: Some(2),
        enable: Some(false),
        ..Default::default()
    };
    assert_eq!(l.end_ms(), None);
    let l = Lease {
        create_at: Some(1),
        duration: None,
        enable: Some(true),
        ..Default::default()
    };
    assert_eq!(l.end_ms(), None);
}

#[test]
fn debug_never_shows_the_token() {
    let nb = Notebook {
        token: Some("58ba50c6-e8ff-245c-4840-49e51aa70737".into()),
        ..Default::default()
    };
    let dbg = format!("{nb:?}");
    assert!(!dbg.contains("58ba50c6"), "{dbg}");
    assert_eq!(nb.masked_token().unwrap(), "••••••••0737");
}

fn page(json: &str) -> NotebookPage {
    serde_json::from_str(json).unwrap()
}

fn one(json: &str) -> Notebook {
    serde_json::from_str(json).unwrap()
}

#[test]
fn wrong_typed_nested_objects_become_none_and_parsing_goes_on() {
    let nb = one(
        r#"{"lease":5,"image":[],"volume":"big","pool":true,"custom_spec":null,
            "user":{"name":"u","domain":[{"id":"d"},[1,{"x":[]}]]},
            "image":[{"name":"not me"},[2]],
            "name":"after the junk"}"#,
    );
    assert_eq!(nb.lease, None);
    assert_eq!(nb.image, None);
    assert_eq!(nb.volume, None);
    assert_eq!(nb.pool, None);
    assert_eq!(nb.custom_spec, None);
    let user = nb.user.as_ref().unwrap();
    assert_eq!(user.name.as_deref(), Some("u"));
    assert_eq!(user.domain, None);
    assert_eq!(nb.name_str(), "after the junk");
    assert!(nb.extra.is_empty());
}

#[test]
fn wrong_typed_array_elements_are_dropped_and_wrong_typed_arrays_are_empty() {
    let nb = one(
        r#"{"endpoints":[1,"ssh",null,[],{"service":"NOTEBOOK","ssh_keys":["a",1,true,null,{"k":1},["b"],2.5,"c"]},true,{"dev_service":"SSH"}],
            "action_progress":{"step":1},
            "tags":"project=x",
            "data_volumes":[[{"category":"OBS"}],{"category":"EFS"}],
            "billing_items":{"a":"b"},
            "id":"x"}"#,
    );
    assert_eq!(nb.endpoints.len(), 2);
    assert_eq!(nb.endpoints[0].service.as_deref(), Some("NOTEBOOK"));
    assert_eq!(nb.endpoints[0].ssh_keys, vec!["a", "1", "2.5", "c"]);
    assert_eq!(nb.endpoints[1].dev_service.as_deref(), Some("SSH"));
    assert!(nb.action_progress.is_empty());
    assert!(nb.tags.is_empty());
    assert_eq!(nb.data_volumes.len(), 1);
    assert_eq!(nb.data_volumes[0].category.as_deref(), Some("EFS"));
    assert!(nb.billing_items.is_empty());
    assert_eq!(nb.id_str(), "x");
}

#[test]
fn numbers_as_strings_and_scalars_as_text() {
    let nb = one(
        r#"{"create_at":" 1700000000000 ","update_at":"+5","workspace_id":0,"id":12.5,
            "name":true,"status":5,"ip":"",
            "action_progress":[{"step":"3"},{"step":"three"},{"step":"2.0"}],
            "lease":{"enable":"TRUE","duration":"3600000","type":"idle"},
            "volume":{"read_only":"False","capacity":"x","id":1e20},
            "custom_spec":{"gpu":"1.5","cpu":" 8 ","memory":"lots","arch":64},
            "billing_items":" STORAGE, ,COMPUTE ,"}"#,
    );
    assert_eq!(nb.create_at, Some(1_700_000_000_000));
    assert_eq!(nb.update_at, Some(5));
    assert_eq!(nb.workspace_id.as_deref(), Some("0"));
    assert_eq!(nb.id.as_deref(), Some("12.5"));
    assert_eq!(nb.name.as_deref(), Some("true"));
    assert_eq!(nb.status, Some(Status::Unknown("5".into())));
    assert_eq!(nb.ip.as_deref(), Some(""));
    let steps: Vec<_> = nb.action_progress.iter().map(|p| p.step).collect();
    assert_eq!(steps, vec![Some(3), None, None]);
    let lease = nb.lease.as_ref().unwrap();
    assert_eq!(lease.enable, Some(true));
    assert_eq!(lease.duration, Some(3_600_000));
    assert_eq!(lease.kind.as_deref(), Some("idle"));
    let vol = nb.volume.as_ref().unwrap();
    assert_eq!(vol.read_only, Some(false));
    assert_eq!(vol.capacity, None);
    assert_eq!(vol.id.as_deref(), Some("1e+20"));
    let spec = nb.custom_spec.as_ref().unwrap();
    assert_eq!(spec.gpu, Some(1.5));
    assert_eq!(spec.cpu, Some(8.0));
    assert_eq!(spec.memory, None);
    assert_eq!(spec.arch.as_deref(), Some("64"));
    assert_eq!(nb.billing_items, vec!["STORAGE", "COMPUTE"]);
}

#[test]
fn floats_where_integers_belong_are_truncated() {
    let nb = one(
        r#"{"volume":{"capacity":50.0},"lease":{"duration":3.6e6,"create_at":-1.9},
            "image":{"size":1e300},"create_at":-1e300,
            "custom_spec":{"gpu":1,"cpu":18446744073709551615}}"#,
    );
    assert_eq!(nb.volume.unwrap().capacity, Some(50));
    let lease = nb.lease.unwrap();
    assert_eq!(lease.duration, Some(3_600_000));
    assert_eq!(lease.create_at, Some(-1));
    assert_eq!(nb.image.unwrap().size, Some(i64::MAX));
    assert_eq!(nb.create_at, Some(i64::MIN));
    let spec = nb.custom_spec.unwrap();
    assert_eq!(spec.gpu, Some(1.0));
    assert_eq!(spec.cpu, Some(18446744073709551615.0));
}

#[test]
fn integers_beyond_i64_saturate() {
    let p = page(
        r#"{"current":9223372036854775808,"total":18446744073709551615,
            "pages":-9223372036854775809,"size":9223372036854775807,
            "data":[{"create_at":18446744073709551615,"id":18446744073709551615}]}"#,
    );
    assert_eq!(p.current, Some(i64::MAX));
    assert_eq!(p.total, Some(i64::MAX));
    assert_eq!(p.pages, Some(i64::MIN));
    assert_eq!(p.size, Some(i64::MAX));
    assert_eq!(p.data[0].create_at, Some(i64::MAX));
    assert_eq!(p.data[0].id_str(), "18446744073709551615");
    // Text that does not fit is not a number.
    let nb = one(r#"{"create_at":"9223372036854775808"}"#);
    assert_eq!(nb.create_at, None);
}

/// A notebook with every known field of every nested object set, plus unknown
/// fields at every level.
fn everything() -> Value {
    serde_json::from_str(
        r#"{
        "id": "f9937afa", "name": "训练-实验-1", "description": "d", "status": "RUNNING",
        "fail_reason": "", "feature": "NOTEBOOK", "flavor": "modelarts.vm.cpu.2u",
        "url": "https://x/lab", "token": "58ba50c6-e8ff-245c-4840-49e51aa70737",
        "workspace_id": "0", "ip": "192.168.0.1", "user_id": "u1", "jupyter_version": "3.4",
        "create_at": 1638841805439, "update_at": 1638841805440,
        "action_progress": [{"notebook_id": "f9937afa", "status": "COMPLETED", "step": 1,
                             "step_description": "STORAGE", "description": "ok", "eta": 0}],
        "endpoints": [{"service": "NOTEBOOK", "dev_service": "SSH", "uri": "1.2.3.4:22",
                       "ssh_keys": ["k"], "key_pair_names": ["kp"],
                       "allowed_access_ips": ["10.0.0.0/8"], "port": 22}],
        "image": {"id": "i", "name": "n", "namespace": "atelier", "swr_path": "swr/a/n:t",
                  "tag": "t", "type": "BUILD_IN", "arch": "X86_64", "description": "d",
                  "origin": "CUSTOMIZE", "service_type": "COMMON", "status": "ACTIVE",
                  "status_message": "m", "visibility": "PUBLIC", "workspace_id": "0",
                  "flavor_type": "CPU", "show_name": "n", "show_tag": "t",
                  "create_at": 1, "update_at": 2, "size": 3, "dev_services": ["SSH"],
                  "resource_categories": ["CPU"], "support_res_categories": ["GPU"],
                  "image_tags": [{"k": "v"}]},
        "lease": {"create_at": 1, "duration": 2, "enable": true, "type": "TIMING",
                  "update_at": 3, "lease_type": "soft"},
        "volume": {"capacity": 50, "category": "EVS", "mount_path": "/home/ma-user/work/",
                   "ownership": "MANAGED", "status": "USING", "read_only": false, "id": "v",
                   "uri": "obs://b/", "mount_type": "DYNAMIC", "iops": 3000},
        "data_volumes": [{"category": "OBS", "mount_path": "/data", "url": "obs://d/",
                          "status": "MOUNTED", "mount_type": "STATIC", "size": null}],
        "pool": {"id": "p", "name": "池", "type": "DEDICATED"},
        "user": {"id": "u1", "name": "alice",
                 "domain": {"id": "d1", "name": "acct", "level": 2}, "email": "a@x"},
        "billing_items": ["STORAGE", "COMPUTE"],
        "tags": [{"key": "k", "value": "v", "sys": true}],
        "custom_spec": {"gpu": 1.5, "cpu": 8.0, "memory": 32768.0, "gpu_type": "T4",
                        "arch": "X86_64", "category": "GPU", "resource_flavor": "f",
                        "numa": {"nodes": [0, 1]}},
        "affinity": {"zones": ["a", "b"], "nested": {"deeper": [{"deepest": [[[null]]]}]}},
        "hooks": null,
        "spec_version": 2
        }"#,
    )
    .unwrap()
}

#[test]
fn unknown_fields_at_every_level_round_trip_exactly() {
    let input = everything();
    let nb: Notebook = serde_json::from_str(&input.to_string()).unwrap();
    assert_eq!(nb.status, Some(Status::Running));
    assert_eq!(nb.action_progress[0].extra["eta"], 0);
    assert_eq!(nb.endpoints[0].extra["port"], 22);
    assert_eq!(nb.image.as_ref().unwrap().kind.as_deref(), Some("BUILD_IN"));
    assert_eq!(nb.image.as_ref().unwrap().extra["image_tags"][0]["k"], "v");
    assert_eq!(nb.lease.as_ref().unwrap().extra["lease_type"], "soft");
    assert_eq!(nb.volume.as_ref().unwrap().extra["iops"], 3000);
    assert_eq!(nb.data_volumes[0].extra["size"], Value::Null);
    assert_eq!(nb.pool.as_ref().unwrap().extra["type"], "DEDICATED");
    let user = nb.user.as_ref().unwrap();
    assert_eq!(user.extra["email"], "a@x");
    assert_eq!(user.domain.as_ref().unwrap().extra["level"], 2);
    assert_eq!(nb.tags[0].extra["sys"], true);
    assert_eq!(
        nb.custom_spec.as_ref().unwrap().extra["numa"]["nodes"][1],
        1
    );
    assert_eq!(
        nb.extra["affinity"]["nested"]["deeper"][0]["deepest"],
        serde_json::json!([[[null]]])
    );
    assert_eq!(nb.extra["hooks"], Value::Null);
    // Every known field is set, so nothing is left out on the way back.
    assert_eq!(serde_json::to_value(&nb).unwrap(), input);
    // The same through a `Value` deserializer (owned strings, owned keys).
    assert_eq!(
        serde_json::from_value::<Notebook>(input.clone()).unwrap(),
        nb
    );
    // And through a reader (strings not borrowed from the input).
    let bytes = input.to_string().into_bytes();
    assert_eq!(
        serde_json::from_reader::<_, Notebook>(bytes.as_slice()).unwrap(),
        nb
    );
}

#[test]
fn output_shape_is_unchanged() {
    let lease = Lease {
        create_at: Some(1),
        kind: Some("idle".into()),
        extra: [
            ("zz".to_string(), serde_json::json!([1])),
            ("a".into(), Value::Null),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&lease).unwrap(),
        r#"{"create_at":1,"type":"idle","a":null,"zz":[1]}"#
    );
    let nb = Notebook {
        id: Some("x".into()),
        billing_items: vec!["STORAGE".into()],
        lease: Some(Lease::default()),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&nb).unwrap(),
        r#"{"id":"x","lease":{},"billing_items":["STORAGE"]}"#
    );
    assert_eq!(serde_json::to_string(&Notebook::default()).unwrap(), "{}");
    // The page keeps its nulls, as before.
    assert_eq!(
        serde_json::to_string(&NotebookPage::default()).unwrap(),
        r#"{"current":null,"data":[],"pages":null,"size":null,"total":null}"#
    );
}

#[test]
fn deeply_nested_values_are_kept_or_skipped_and_too_deep_is_an_error() {
    let deep = |n: usize| format!("{}{}{}", "[{\"a\":".repeat(n), "1", "}]".repeat(n));
    // Kept verbatim when unknown, skipped when in a known field of the wrong shape.
    let nb = one(&format!(
        r#"{{"future":{},"lease":{},"image":{{"name":{}}},"id":"x"}}"#,
        deep(30),
        deep(30),
        deep(30)
    ));
    let mut v = &nb.extra["future"];
    for _ in 0..30 {
        v = &v[0]["a"];
    }
    assert_eq!(v, &serde_json::json!(1));
    assert_eq!(nb.lease, None);
    assert_eq!(nb.image.as_ref().unwrap().name, None);
    assert_eq!(nb.id_str(), "x");
    // An unknown field is kept as a `Value`: past serde_json's nesting limit
    // (128) that is an error, never a stack overflow.
    for field in ["future", "tags", "endpoints"] {
        let json = format!(r#"{{"data":[{{"{field}":{}}}]}}"#, deep(200));
        let err = serde_json::from_str::<NotebookPage>(&json).unwrap_err();
        assert!(
            err.to_string().contains("recursion limit"),
            "{field}: {err}"
        );
    }
    // A known field of the wrong shape is skipped without recursion, however deep.
    for field in [
        "lease",
        "image",
        "id",
        "create_at",
        "billing_items",
        "status",
    ] {
        let json = format!(r#"{{"data":[{{"{field}":{},"name":"n"}}]}}"#, deep(50_000));
        let p = serde_json::from_str::<NotebookPage>(&json).unwrap();
        let nb = Notebook {
            name: Some("n".into()),
            ..Default::default()
        };
        assert_eq!(p.data, vec![nb], "{field}");
    }
}

#[test]
fn duplicate_keys_last_one_wins() {
    let p = page(
        r#"{"total":1,"total":2,"data":[{"id":"a"}],"data":[{"id":"b"},{"id":"c"}],
            "ignored":1,"ignored":{}}"#,
    );
    assert_eq!(p.total, Some(2));
    let ids: Vec<_> = p.data.iter().map(Notebook::id_str).collect();
    assert_eq!(ids, ["b", "c"]);
    let nb = one(r#"{"id":"a","id":"b","tags":[{"key":"k"}],"tags":[],
            "lease":{"duration":1},"lease":5,
            "volume":{"capacity":1,"capacity":2},
            "x":1,"x":{"y":2},"status":"RUNNING","status":null}"#);
    assert_eq!(nb.id_str(), "b");
    assert!(nb.tags.is_empty());
    assert_eq!(nb.lease, None);
    assert_eq!(nb.volume.unwrap().capacity, Some(2));
    assert_eq!(nb.extra["x"], serde_json::json!({"y": 2}));
    assert_eq!(nb.status, None);
}

#[test]
fn escaped_keys_and_strings_are_read() {
    let nb = one(r#"{"i\u0064":"a\"b\u00e9","na\nme":1,"\u0074ype":"t"}"#);
    assert_eq!(nb.id.as_deref(), Some("a\"bé"));
    assert_eq!(nb.name, None);
    assert_eq!(nb.extra["na\nme"], 1);
    assert_eq!(nb.extra["type"], "t");
    let img: Image = serde_json::from_str(r#"{"\u0074ype":"BUILD_IN"}"#).unwrap();
    assert_eq!(img.kind.as_deref(), Some("BUILD_IN"));
}

#[test]
fn broken_json_is_still_an_error() {
    let truncated = br#"{"data":[{"id":"a","lease":{"duration":1"#;
    let err = serde_json::from_slice::<NotebookPage>(truncated).unwrap_err();
    assert!(err.is_eof(), "{err}");
    // A syntax error inside a value that is being skipped is not swallowed.
    for json in [
        r#"{"data":[{"lease":[1,}]}"#,
        r#"{"data":[{"id":{"a" 1}}]}"#,
        r#"{"data":[{"tags":[{"key":"k"},]}]}"#,
        r#"{"data":[{"x":tru}]}"#,
        r#"{"data":[{"image":{"size":1e400}}]}"#,
    ] {
        assert!(
            serde_json::from_str::<NotebookPage>(json).is_err(),
            "{json}"
        );
    }
    // Not an object at the top: an error, not an empty page.
    for json in ["[]", "null", "1", "\"page\""] {
        assert!(
            serde_json::from_str::<NotebookPage>(json).is_err(),
            "{json}"
        );
        assert!(serde_json::from_str::<Notebook>(json).is_err(), "{json}");
    }
    // `data` of the wrong type is an empty page, not an error.
    assert!(page(r#"{"data":{"id":"a"},"total":"3"}"#).data.is_empty());
}

/// The reading rules of the first version of this model (through `Value`),
/// kept as the reference the streaming reader must agree with.
mod reference {
    use serde_json::Value;

    pub fn string(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn int(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn float(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn boolean(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn string_vec(v: &Value) -> Vec<String> {
        match v {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("RUNNING".to_string()),
            Just(" true ".to_string()),
            Just("TRUE".to_string()),
            Just("a, b,,c".to_string()),
            Just(" 42 ".to_string()),
            Just("1.5e3".to_string()),
            ".{0,8}",
            "[0-9 +.-]{0,6}",
        ]
        .prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("id".to_string()),
        Just("type".to_string()),
        Just("data".to_string()),
        Just("lease".to_string()),
        Just("create_at".to_string()),
        Just("tags".to_string()),
        Just("domain".to_string()),
        Just("ssh_keys".to_string()),
        "[a-z_]{1,6}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every known key of every level, so generated values land in typed fields.
const KNOWN_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "status",
    "fail_reason",
    "token",
    "create_at",
    "update_at",
    "action_progress",
    "endpoints",
    "image",
    "lease",
    "volume",
    "data_volumes",
    "pool",
    "user",
    "billing_items",
    "tags",
    "custom_spec",
    "step",
    "ssh_keys",
    "type",
    "size",
    "dev_services",
    "duration",
    "enable",
    "capacity",
    "read_only",
    "domain",
    "key",
    "value",
    "gpu",
    "cpu",
    "memory",
    "unknown",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    #[test]
    fn any_json_value_parses_without_panic(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let _ = serde_json::from_slice::<NotebookPage>(&bytes);
        let _ = serde_json::from_slice::<Notebook>(&bytes);
    }

    #[test]
    fn any_bytes_parse_without_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        prefix in 0usize..4,
    ) {
        // Also behind a valid start, so the bytes reach the typed fields.
        let start: &[u8] = [&b""[..], b"{\"data\":[{\"lease\":", b"{\"data\":[{\"id\":", b"{\"data\":[{\"tags\":["][prefix];
        let _ = serde_json::from_slice::<NotebookPage>(&[start, &bytes].concat());
    }

    #[test]
    fn any_value_in_any_field_at_any_level(
        key in proptest::sample::select(KNOWN_KEYS),
        v in arb_json(),
    ) {
        // The same value under the same key in the notebook and in each nested object.
        let mut nb = serde_json::Map::new();
        for obj in ["image", "lease", "volume", "pool", "user", "custom_spec"] {
            nb.insert(obj.into(), serde_json::json!({ key: v.clone() }));
        }
        for list in ["action_progress", "endpoints", "tags", "data_volumes"] {
            nb.insert(list.into(), serde_json::json!([{ key: v.clone() }, v.clone()]));
        }
        nb.insert(key.into(), v.clone());
        let json = serde_json::json!({"data": [Value::Object(nb)], key: v.clone()});
        let parsed = serde_json::from_slice::<NotebookPage>(&serde_json::to_vec(&json).unwrap());
        proptest::prop_assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn scalars_read_as_the_value_based_reader_did(v in arb_json()) {
        let json = serde_json::json!({
            "id": v, "status": v, "create_at": v, "billing_items": v,
            "lease": {"enable": v}, "custom_spec": {"gpu": v},
        });
        let text = json.to_string();
        let nb: Notebook = serde_json::from_str(&text).unwrap();
        // The reference reads the same text (floats may not survive the text exactly).
        let reparsed: Value = serde_json::from_str(&text).unwrap();
        let v = &reparsed["id"];
        proptest::prop_assert_eq!(nb.id, reference::string(v));
        proptest::prop_assert_eq!(nb.status, reference::string(v).map(|s| Status::parse(&s)));
        proptest::prop_assert_eq!(nb.create_at, reference::int(v));
        proptest::prop_assert_eq!(nb.billing_items, reference::string_vec(v));
        proptest::prop_assert_eq!(nb.lease.unwrap().enable, reference::boolean(v));
        let gpu = nb.custom_spec.unwrap().gpu;
        let want = reference::float(v);
        // NaN (from the text "NaN") is not equal to itself.
        proptest::prop_assert!(gpu == want || gpu.is_some_and(f64::is_nan) && want.is_some_and(f64::is_nan));
    }
}
