//! Several sources: which profiles are asked for, each resolved through the
//! one resolver, and the errors that name the source at fault.

use std::collections::BTreeMap;

use super::*;

const SK: &str = "SKZETA9f8e7d6c5b4a3210QWERTYuiopASDFghjk";

const TWO: &str = r#"
[profiles.beijing]
region = "cn-north-4"
project_id = "0123456789abcdef0123456789abcdef"
ak = "AKBEIJING0000000001"
sk = "SKZETA9f8e7d6c5b4a3210QWERTYuiopASDFghjk"
interval = 5

[profiles.singapore]
region = "ap-southeast-3"
project_id = "fedcba9876543210fedcba9876543210"
ak = "AKSINGAPORE00000001"
sk = "SKZETA9f8e7d6c5b4a3210QWERTYuiopASDFghjk"
budget_per_minute = 30
"#;

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn with_config(text: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".config/nbwatch/config.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Home { dir }
    }

    fn resolve(&self, o: &Overrides, env: &[(&str, &str)]) -> Result<Vec<Settings>, ConfigError> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve_sources(o, &env, &Dirs::under(self.dir.path()))
    }
}

fn profile(list: &str) -> Overrides {
    Overrides {
        profile: Some(list.into()),
        ..Overrides::default()
    }
}

fn profiles(all: &[Settings]) -> Vec<&str> {
    all.iter().map(|s| s.profile.as_str()).collect()
}

#[test]
fn a_comma_list_resolves_each_profile_with_its_own_settings() {
    let home = Home::with_config(TWO);
    let all = home.resolve(&profile("singapore, beijing"), &[]).unwrap();
    assert_eq!(profiles(&all), ["singapore", "beijing"]);
    assert_eq!(all[0].region.as_deref(), Some("ap-southeast-3"));
    assert_eq!(all[0].budget_per_minute, 30);
    assert_eq!(all[1].project_id, "0123456789abcdef0123456789abcdef");
    assert_eq!(all[1].interval.as_secs(), 5);
    assert_eq!(source_labels(&all), ["singapore", "beijing"]);
}

#[test]
fn all_profiles_and_the_environment_and_the_file_list_ask_for_several() {
    let home = Home::with_config(TWO);
    let all = home
        .resolve(
            &Overrides {
                all_profiles: true,
                ..Overrides::default()
            },
            &[],
        )
        .unwrap();
    assert_eq!(profiles(&all), ["beijing", "singapore"]);
    let all = home
        .resolve(
            &Overrides::default(),
            &[("NBWATCH_PROFILE", "singapore,beijing")],
        )
        .unwrap();
    assert_eq!(profiles(&all), ["singapore", "beijing"]);
    let home = Home::with_config(&format!("sources = [\"singapore\", \"beijing\"]\n{TWO}"));
    let all = home.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(profiles(&all), ["singapore", "beijing"]);
    // The command line still chooses one.
    let one = home.resolve(&profile("beijing"), &[]).unwrap();
    assert_eq!(profiles(&one), ["beijing"]);
}

#[test]
fn one_profile_resolves_exactly_as_before() {
    let home = Home::with_config(TWO);
    let one = home.resolve(&profile("beijing"), &[]).unwrap();
    let before = resolve(
        &profile("beijing"),
        &BTreeMap::<String, String>::new(),
        &Dirs::under(home.dir.path()),
    )
    .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(format!("{:?}", one[0]), format!("{before:?}"));
}

#[test]
fn an_error_names_the_source_at_fault() {
    let home = Home::with_config(
        &TWO.replace("region = \"ap-southeast-3\"", "region = \"ap-southeast-9\""),
    );
    let e = home
        .resolve(&profile("beijing,singapore"), &[])
        .unwrap_err();
    assert!(e.problem.starts_with("source `singapore`: "), "{e}");
    assert!(e.to_string().contains("ap-southeast-9"), "{e}");
    let e = home.resolve(&profile("beijing,singapor"), &[]).unwrap_err();
    assert!(e.problem.starts_with("source `singapor`: "), "{e}");
    assert!(e.fix.contains("did you mean `singapore`"), "{e}");
    assert!(!format!("{e:?}").contains(SK));
}

#[test]
fn mistakes_in_the_list_are_errors_that_say_how_to_write_it() {
    let home = Home::with_config(TWO);
    for (list, says) in [
        ("beijing,,singapore", "empty profile name"),
        ("beijing,beijing", "listed twice"),
    ] {
        let e = home.resolve(&profile(list), &[]).unwrap_err();
        assert!(e.problem.contains(says), "{list}: {e}");
        assert_eq!(e.at, Some(Origin::Cli("--profile")));
    }
    let e = home
        .resolve(
            &Overrides {
                profile: Some("beijing".into()),
                all_profiles: true,
                ..Overrides::default()
            },
            &[],
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    let both = Home::with_config(&format!(
        "default_profile = \"beijing\"\nsources = [\"beijing\", \"singapore\"]\n{TWO}"
    ));
    let e = both.resolve(&Overrides::default(), &[]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.to_string().contains("config.toml:1:"), "{e}");
    let empty = Home::with_config(&format!("sources = []\n{TWO}"));
    let e = empty.resolve(&Overrides::default(), &[]).unwrap_err();
    assert!(e.problem.contains("empty list"), "{e}");
    let none = Home::with_config("");
    let e = none
        .resolve(
            &Overrides {
                all_profiles: true,
                ..Overrides::default()
            },
            &[],
        )
        .unwrap_err();
    assert!(e.problem.contains("defines no profiles"), "{e}");
}

#[test]
fn two_sources_on_one_project_are_refused() {
    let home = Home::with_config(TWO);
    // --region applies to every source: both would watch the same thing.
    let o = Overrides {
        region: Some("cn-north-4".into()),
        project_id: Some("0123456789abcdef0123456789abcdef".into()),
        ..profile("beijing,singapore")
    };
    let e = home.resolve(&o, &[]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(
        e.problem
            .contains("sources `beijing` and `singapore` both watch project"),
        "{e}"
    );
    assert!(e.fix.contains("--region"), "{e}");
}

#[test]
fn labels_fall_back_to_regions_then_hosts_when_profiles_do_not_tell_apart() {
    let home = Home::with_config(TWO);
    let mut all = home.resolve(&profile("beijing,singapore"), &[]).unwrap();
    for s in &mut all {
        s.profile = "demo".into();
    }
    assert_eq!(source_labels(&all), ["cn-north-4", "ap-southeast-3"]);
    for s in &mut all {
        s.region = None;
    }
    let labels = source_labels(&all);
    assert_eq!(
        labels,
        [
            "modelarts.cn-north-4.myhuaweicloud.com/01234567",
            "modelarts.ap-southeast-3.myhuaweicloud.com/fedcba98"
        ]
    );
}

#[test]
fn fixed_sources_take_every_other_setting_from_the_first_profile_asked_for() {
    let home = Home::with_config(TWO);
    let fixed = |region: &str, project: &str| FixedSource {
        label: "demo".into(),
        region: Some(region.into()),
        endpoint: "http://127.0.0.1:9".into(),
        project_id: project.into(),
        auth: crate::sim::demo_auth(),
    };
    let all = resolve_fixed(
        &profile("beijing,singapore"),
        &[
            fixed("cn-north-4", "0123456789abcdef0123456789abcdef"),
            fixed("ap-southeast-3", "fedcba9876543210fedcba9876543210"),
        ],
        &BTreeMap::<String, String>::new(),
        &Dirs::under(home.dir.path()),
    )
    .unwrap();
    assert_eq!(all.len(), 2);
    assert!(
        all.iter().all(|s| s.interval.as_secs() == 5),
        "beijing's interval"
    );
    assert_eq!(source_labels(&all), ["cn-north-4", "ap-southeast-3"]);
}
