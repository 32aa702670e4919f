//! Resolution end to end: temp dirs for files, injected environment, no process state.
//!
//! Why one long file: one test per layer, key and mistake, sharing a sandbox and
//! the full-file fixtures; split, each part would need the same setup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

// Distinctive fake secrets: no formatted output may ever contain them.
// SKs are 40 characters, like real ones.
const SK: &str = "SKZETA9f8e7d6c5b4a3210QWERTYuiopASDFghjk";
const SK2: &str = "SKKAPPA0a1b2c3d4e5f6789ZXCVbnmQWERtyuiop";
const ST: &str = "ST-SIGMA-77665544332211";
const TOKEN: &str = "TOK-OMEGA-1a2b3c4d5e6f";
const SECRETS: &[&str] = &[SK, SK2, ST, TOKEN];
const PID: &str = "0123456789abcdef0123456789abcdef";

fn assert_clean(s: &str) {
    for secret in SECRETS {
        assert!(!s.contains(secret), "secret leaked into: {s}");
    }
}

/// A temp directory standing in for $HOME, removed on drop.
struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("nbwatch-config-test-")
            .tempdir()
            .unwrap();
        Sandbox {
            root: dir.path().to_path_buf(),
            _dir: dir,
        }
    }

    fn dirs(&self) -> Dirs {
        Dirs::under(&self.root)
    }

    /// Writes a file private to the user (mode 600 on unix).
    fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        set_mode(&p, 0o600);
        p
    }

    /// Writes the default config file.
    fn config(&self, content: &str) -> PathBuf {
        self.write(".config/nbwatch/config.toml", content)
    }

    fn credentials(&self, content: &str) -> PathBuf {
        self.write(".huaweicloud/credentials", content)
    }

    fn resolve(&self, o: &Overrides, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = resolve(o, &env, &self.dirs());
        match &r {
            Ok(s) => {
                assert_clean(&format!("{s:?}"));
                assert_clean(&format!("{s:#?}"));
                for w in &s.warnings {
                    assert_clean(w);
                }
            }
            Err(e) => {
                assert_clean(&e.to_string());
                assert_clean(&format!("{e:?}"));
            }
        }
        r
    }

    fn err(&self, o: &Overrides, env: &[(&str, &str)]) -> ConfigError {
        match self.resolve(o, env) {
            Ok(s) => panic!("expected an error, got {s:?}"),
            Err(e) => e,
        }
    }
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_p: &Path, _mode: u32) {}

/// Environment with working AK/SK and a project id: enough to resolve.
const CREDS: [(&str, &str); 3] = [
    ("HUAWEICLOUD_SDK_AK", "AKENV"),
    ("HUAWEICLOUD_SDK_SK", SK),
    ("HUAWEICLOUD_SDK_PROJECT_ID", PID),
];

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = CREDS.to_vec();
    v.extend_from_slice(extra);
    v
}

fn cli_region(r: &str) -> Overrides {
    Overrides {
        region: Some(r.to_string()),
        ..Overrides::default()
    }
}

fn ak_sk(s: &Settings) -> &crate::api::sign::AkSk {
    match &s.auth {
        Auth::AkSk(a) => a,
        Auth::Token(_) => panic!("expected AK/SK, got a token"),
    }
}

fn token(s: &Settings) -> &str {
    match &s.auth {
        Auth::Token(t) => t.expose(),
        Auth::AkSk(_) => panic!("expected a token, got AK/SK"),
    }
}

/// Asserts a message starts at `path:line:col` and carries the problem and fix fragments.
fn assert_at(e: &ConfigError, path: &Path, line: usize, col: usize, problem: &str, fix: &str) {
    let m = e.to_string();
    let want = format!("{}:{line}:{col}: ", path.display());
    assert!(m.starts_with(&want), "expected prefix {want:?} in:\n{m}");
    let (first, second) = m.split_once('\n').expect("two lines");
    assert!(
        first.contains(problem),
        "problem {problem:?} missing in:\n{m}"
    );
    assert!(second.starts_with("  fix: "), "{m}");
    assert!(second.contains(fix), "fix {fix:?} missing in:\n{m}");
}

// ---------------------------------------------------------------- basics

#[test]
fn environment_alone_is_enough_and_defaults_fill_the_rest() {
    let sb = Sandbox::new();
    let s = sb.resolve(&cli_region("cn-north-4"), &CREDS).unwrap();
    assert_eq!(s.profile, "default");
    assert_eq!(s.region.as_deref(), Some("cn-north-4"));
    assert_eq!(s.endpoint, "https://modelarts.cn-north-4.myhuaweicloud.com");
    assert_eq!(s.project_id, PID);
    let a = ak_sk(&s);
    assert_eq!((a.ak.as_str(), a.sk.expose()), ("AKENV", SK));
    assert!(a.security_token.is_none());
    assert_eq!(
        s.auth_source,
        "environment (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK)"
    );
    assert_eq!(s.interval, Duration::from_secs(5));
    assert_eq!(s.fast_interval, Duration::from_secs(2));
    assert_eq!(s.concurrency, 4);
    assert_eq!(s.timeout, Duration::from_secs(10));
    assert_eq!(s.connect_timeout, Duration::from_secs(5));
    assert_eq!(s.page_size, 50);
    assert_eq!(s.stuck_after, Duration::from_secs(600));
    assert_eq!(s.workspace_param, WorkspaceParam::WorkspaceId);
    assert_eq!(s.workspace_param.key(), "workspace_id");
    assert_eq!(s.budget_per_minute, 900);
    assert_eq!(s.filters, Filters::default());
    assert_eq!(s.config_file, None);
    assert_eq!(
        s.log_file,
        Some(sb.root.join(".local/share/nbwatch/nbwatch.log"))
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn security_token_from_the_environment_rides_along() {
    let sb = Sandbox::new();
    let env = with(&[
        ("HUAWEICLOUD_SDK_SECURITY_TOKEN", ST),
        ("NBWATCH_REGION", "cn-east-3"),
    ]);
    let s = sb.resolve(&Overrides::default(), &env).unwrap();
    assert_eq!(
        ak_sk(&s).security_token.as_ref().map(|t| t.expose()),
        Some(ST)
    );
    assert_eq!(s.endpoint, "https://modelarts.cn-east-3.myhuaweicloud.com");
}

#[test]
fn empty_environment_values_count_as_unset() {
    let sb = Sandbox::new();
    let env = with(&[
        ("NBWATCH_REGION", "  "),
        ("NBWATCH_PAGE_SIZE", ""),
        ("NBWATCH_AUTH_TOKEN", ""),
    ]);
    let s = sb.resolve(&cli_region("cn-north-1"), &env).unwrap();
    assert_eq!(s.page_size, 50);
    assert!(matches!(s.auth, Auth::AkSk(_)));
}

// ---------------------------------------------------------------- layering

/// One config file setting every layered key to a "file" value.
const FILE_ALL: &str = r#"
[profiles.p]
region = "cn-north-4"
project_id = "fileproject"
interval = 30
fast_interval = 3
timeout = 20
connect_timeout = 7
stuck_after = "15m"
concurrency = 2
page_size = 10
budget_per_minute = 60
workspace_param = "workspaceId"
log_file = "file.log"

[profiles.p.filters]
status = "running"
name = "file-name"
feature = "default"
pool_id = "file-pool"
owner = "file-owner"
workspace_id = "file-ws"
sort_key = "create_at"
sort_dir = "asc"
"#;

const ENV_ALL: &[(&str, &str)] = &[
    ("NBWATCH_REGION", "cn-north-1"),
    ("NBWATCH_PROJECT_ID", "envproject"),
    ("NBWATCH_INTERVAL", "40s"),
    ("NBWATCH_FAST_INTERVAL", "4"),
    ("NBWATCH_TIMEOUT", "25"),
    ("NBWATCH_CONNECT_TIMEOUT", "8"),
    ("NBWATCH_STUCK_AFTER", "20m"),
    ("NBWATCH_CONCURRENCY", "3"),
    ("NBWATCH_PAGE_SIZE", "20"),
    ("NBWATCH_BUDGET_PER_MINUTE", "90"),
    ("NBWATCH_WORKSPACE_PARAM", "workspace_id"),
    ("NBWATCH_LOG_FILE", "/env/nbwatch.log"),
    ("NBWATCH_STATUS", "stopped"),
    ("NBWATCH_NAME", "env-name"),
    ("NBWATCH_FEATURE", "notebook"),
    ("NBWATCH_POOL_ID", "env-pool"),
    ("NBWATCH_OWNER", "env-owner"),
    ("NBWATCH_WORKSPACE_ID", "env-ws"),
    ("NBWATCH_SORT_KEY", "name"),
    ("NBWATCH_SORT_DIR", "desc"),
];

fn cli_all() -> Overrides {
    let s = |v: &str| Some(v.to_string());
    Overrides {
        region: s("cn-east-3"),
        project_id: s("cliproject"),
        interval_secs: Some(50.0),
        fast_interval_secs: Some(1.5),
        timeout_secs: Some(30.0),
        stuck_after_secs: Some(60.0),
        concurrency: Some(8),
        page_size: Some(50),
        budget_per_minute: Some(30),
        workspace_param: s("workspaceId"),
        log_file: Some(PathBuf::from("/cli/nbwatch.log")),
        status: s("ERROR"),
        name: s("cli-name"),
        feature: s("DEFAULT"),
        pool_id: s("cli-pool"),
        owner: s("cli-owner"),
        workspace_id: s("cli-ws"),
        sort_key: s("status,name"),
        sort_dir: s("ASC"),
        ..Overrides::default()
    }
}

fn creds_only() -> Vec<(&'static str, &'static str)> {
    vec![("HUAWEICLOUD_SDK_AK", "AKENV"), ("HUAWEICLOUD_SDK_SK", SK)]
}

#[test]
fn file_beats_defaults_for_every_key() {
    let sb = Sandbox::new();
    let path = sb.config(FILE_ALL);
    let s = sb.resolve(&Overrides::default(), &creds_only()).unwrap();
    assert_eq!(s.profile, "p", "the only profile is used");
    assert_eq!(s.config_file.as_deref(), Some(path.as_path()));
    assert_eq!(s.region.as_deref(), Some("cn-north-4"));
    assert_eq!(s.project_id, "fileproject");
    assert_eq!(s.interval, Duration::from_secs(30));
    assert_eq!(s.fast_interval, Duration::from_secs(3));
    assert_eq!(s.timeout, Duration::from_secs(20));
    assert_eq!(s.connect_timeout, Duration::from_secs(7));
    assert_eq!(s.stuck_after, Duration::from_secs(900));
    assert_eq!(
        (s.concurrency, s.page_size, s.budget_per_minute),
        (2, 10, 60)
    );
    assert_eq!(s.workspace_param, WorkspaceParam::WorkspaceIdCamel);
    assert_eq!(s.workspace_param.key(), "workspaceId");
    // Relative paths in the file start at the file's directory.
    assert_eq!(s.log_file, Some(path.parent().unwrap().join("file.log")));
    assert_eq!(
        s.filters,
        Filters {
            status: Some("RUNNING".into()),
            name: Some("file-name".into()),
            feature: Some("DEFAULT".into()),
            pool_id: Some("file-pool".into()),
            owner: Some("file-owner".into()),
            workspace_id: Some("file-ws".into()),
            sort_key: Some("create_at".into()),
            sort_dir: Some("ASC".into()),
        }
    );
}

#[test]
fn environment_beats_file_for_every_key() {
    let sb = Sandbox::new();
    sb.config(FILE_ALL);
    let mut env = creds_only();
    env.extend_from_slice(ENV_ALL);
    let s = sb.resolve(&Overrides::default(), &env).unwrap();
    assert_eq!(s.region.as_deref(), Some("cn-north-1"));
    assert_eq!(s.endpoint, "https://modelarts.cn-north-1.myhuaweicloud.com");
    assert_eq!(s.project_id, "envproject");
    assert_eq!(s.interval, Duration::from_secs(40));
    assert_eq!(s.fast_interval, Duration::from_secs(4));
    assert_eq!(s.timeout, Duration::from_secs(25));
    assert_eq!(s.connect_timeout, Duration::from_secs(8));
    assert_eq!(s.stuck_after, Duration::from_secs(1200));
    assert_eq!(
        (s.concurrency, s.page_size, s.budget_per_minute),
        (3, 20, 90)
    );
    assert_eq!(s.workspace_param, WorkspaceParam::WorkspaceId);
    assert_eq!(s.log_file, Some(PathBuf::from("/env/nbwatch.log")));
    assert_eq!(
        s.filters,
        Filters {
            status: Some("STOPPED".into()),
            name: Some("env-name".into()),
            feature: Some("NOTEBOOK".into()),
            pool_id: Some("env-pool".into()),
            owner: Some("env-owner".into()),
            workspace_id: Some("env-ws".into()),
            sort_key: Some("name".into()),
            sort_dir: Some("DESC".into()),
        }
    );
}

#[test]
fn command_line_beats_environment_for_every_key() {
    let sb = Sandbox::new();
    sb.config(FILE_ALL);
    let mut env = creds_only();
    env.extend_from_slice(ENV_ALL);
    let s = sb.resolve(&cli_all(), &env).unwrap();
    assert_eq!(s.region.as_deref(), Some("cn-east-3"));
    assert_eq!(s.endpoint, "https://modelarts.cn-east-3.myhuaweicloud.com");
    assert_eq!(s.project_id, "cliproject");
    assert_eq!(s.interval, Duration::from_secs(50));
    assert_eq!(s.fast_interval, Duration::from_millis(1500));
    assert_eq!(s.timeout, Duration::from_secs(30));
    // No flag for the connect timeout: the environment's value stands.
    assert_eq!(s.connect_timeout, Duration::from_secs(8));
    assert_eq!(s.stuck_after, Duration::from_secs(60));
    assert_eq!(
        (s.concurrency, s.page_size, s.budget_per_minute),
        (8, 50, 30)
    );
    assert_eq!(s.workspace_param, WorkspaceParam::WorkspaceIdCamel);
    assert_eq!(s.log_file, Some(PathBuf::from("/cli/nbwatch.log")));
    assert_eq!(
        s.filters,
        Filters {
            status: Some("ERROR".into()),
            name: Some("cli-name".into()),
            feature: Some("DEFAULT".into()),
            pool_id: Some("cli-pool".into()),
            owner: Some("cli-owner".into()),
            workspace_id: Some("cli-ws".into()),
            sort_key: Some("status,name".into()),
            sort_dir: Some("ASC".into()),
        }
    );
}

#[test]
fn an_empty_filter_on_the_command_line_clears_the_file_default() {
    let sb = Sandbox::new();
    sb.config(FILE_ALL);
    let o = Overrides {
        status: Some(String::new()),
        sort_dir: Some(" ".into()),
        ..Overrides::default()
    };
    let s = sb.resolve(&o, &creds_only()).unwrap();
    assert_eq!(s.filters.status, None);
    assert_eq!(s.filters.sort_dir, None);
    assert_eq!(s.filters.name.as_deref(), Some("file-name"));
}

#[test]
fn project_id_layers_cli_nbwatch_env_sdk_env_file_credentials_file() {
    let sb = Sandbox::new();
    sb.config("[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"fromfile\"\n");
    sb.credentials("[basic]\nak = AKINI\nsk = SKINI\nproject_id = fromini\n");
    let base = creds_only();
    type Case<'a> = (Overrides, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 4] = [
        (
            Overrides {
                project_id: Some("fromcli".into()),
                ..Overrides::default()
            },
            vec![
                ("NBWATCH_PROJECT_ID", "fromnb"),
                ("HUAWEICLOUD_SDK_PROJECT_ID", "fromsdk"),
            ],
            "fromcli",
        ),
        (
            Overrides::default(),
            vec![
                ("NBWATCH_PROJECT_ID", "fromnb"),
                ("HUAWEICLOUD_SDK_PROJECT_ID", "fromsdk"),
            ],
            "fromnb",
        ),
        (
            Overrides::default(),
            vec![("HUAWEICLOUD_SDK_PROJECT_ID", "fromsdk")],
            "fromsdk",
        ),
        (Overrides::default(), vec![], "fromfile"),
    ];
    for (o, extra, want) in cases {
        let mut env = base.clone();
        env.extend(extra);
        assert_eq!(sb.resolve(&o, &env).unwrap().project_id, want);
    }
    sb.config("[profiles.p]\nregion = \"cn-north-4\"\n");
    assert_eq!(
        sb.resolve(&Overrides::default(), &base).unwrap().project_id,
        "fromini"
    );
}

#[test]
fn credentials_layer_env_then_profile_then_credentials_file() {
    let sb = Sandbox::new();
    sb.write("keys/p.sk", &format!("{SK2}\n"));
    sb.config(&format!(
        "[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\nak = \"AKFILE\"\nsk_file = \"~/keys/p.sk\"\n"
    ));
    sb.credentials("[basic]\nak = AKINI\nsk = SKINI\n");
    let s = sb.resolve(&Overrides::default(), &creds_only()).unwrap();
    assert_eq!(ak_sk(&s).ak, "AKENV");
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(
        (ak_sk(&s).ak.as_str(), ak_sk(&s).sk.expose()),
        ("AKFILE", SK2)
    );
    assert_eq!(s.auth_source, "profile `p`");
    sb.config(&format!(
        "[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\n"
    ));
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(
        (ak_sk(&s).ak.as_str(), ak_sk(&s).sk.expose()),
        ("AKINI", "SKINI")
    );
    assert!(
        s.auth_source.ends_with(".huaweicloud/credentials [basic]"),
        "{}",
        s.auth_source
    );
}

#[test]
fn profile_secrets_can_come_from_inline_file_or_env_indirection() {
    let sb = Sandbox::new();
    sb.write("st.txt", ST);
    sb.config(&format!(
        "[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\nak = \"AKFILE\"\nsk_env = \"MY_SK\"\nsecurity_token_file = \"../../st.txt\"\n"
    ));
    let s = sb.resolve(&Overrides::default(), &[("MY_SK", SK)]).unwrap();
    let a = ak_sk(&s);
    assert_eq!(a.sk.expose(), SK);
    assert_eq!(a.security_token.as_ref().map(|t| t.expose()), Some(ST));

    sb.config(&format!(
        "[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\nak = \"AKFILE\"\nsk = \"{SK}\"\n"
    ));
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(ak_sk(&s).sk.expose(), SK);
}

// ---------------------------------------------------------------- credentials file

#[test]
fn sdk_credentials_file_provides_everything() {
    let sb = Sandbox::new();
    sb.credentials(&format!(
        "# written by hcloud\n[basic]\nak = AKINI\nsk = {SK}\nproject_id = {PID}\nsecurity_token = {ST}\n"
    ));
    let s = sb.resolve(&cli_region("cn-north-4"), &[]).unwrap();
    let a = ak_sk(&s);
    assert_eq!(a.ak, "AKINI");
    assert_eq!(a.sk.expose(), SK);
    assert_eq!(a.security_token.as_ref().map(|t| t.expose()), Some(ST));
    assert_eq!(s.project_id, PID);
}

#[test]
fn sdk_credentials_file_location_follows_its_env_var() {
    let sb = Sandbox::new();
    let p = sb.write(
        "elsewhere/creds.ini",
        &format!("[basic]\nak = AKX\nsk = {SK}\nproject_id = {PID}\n"),
    );
    let env = [("HUAWEICLOUD_SDK_CREDENTIALS_FILE", p.to_str().unwrap())];
    let s = sb.resolve(&cli_region("cn-north-4"), &env).unwrap();
    assert_eq!(ak_sk(&s).ak, "AKX");
    assert_eq!(s.auth_source, format!("{} [basic]", p.display()));

    let missing = sb.root.join("nope.ini");
    let env = [(
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
        missing.to_str().unwrap(),
    )];
    let e = sb.err(&cli_region("cn-north-4"), &env);
    assert_eq!(e.kind, ErrorKind::Unreadable);
    let m = e.to_string();
    assert!(
        m.starts_with(
            "environment variable HUAWEICLOUD_SDK_CREDENTIALS_FILE: cannot read credentials file"
        ),
        "{m}"
    );
    assert!(m.contains("no such file"), "{m}");
}

#[test]
fn a_half_filled_credentials_file_says_what_is_missing() {
    let sb = Sandbox::new();
    let p = sb.credentials(&format!("[basic]\nproject_id = {PID}\nsk = {SK}\n"));
    let e = sb.err(&cli_region("cn-north-4"), &[]);
    assert_eq!(e.kind, ErrorKind::MissingCredentials);
    assert_at(&e, &p, 3, 1, "[basic] has an sk but no ak", "ak = YOUR_AK");
}

#[test]
fn a_malformed_credentials_file_names_its_line() {
    let sb = Sandbox::new();
    let p = sb.credentials(&format!("[basic]\nak = A\n{SK}\n"));
    let e = sb.err(
        &cli_region("cn-north-4"),
        &[("HUAWEICLOUD_SDK_PROJECT_ID", PID)],
    );
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_at(
        &e,
        &p,
        3,
        1,
        "neither `[section]` nor `key = value`",
        "[basic]",
    );
}

#[test]
fn the_credentials_file_is_not_read_when_not_needed() {
    let sb = Sandbox::new();
    sb.credentials("garbage that would not parse\n");
    sb.resolve(&cli_region("cn-north-4"), &CREDS).unwrap();
}

// ---------------------------------------------------------------- IAM token

#[test]
fn iam_token_from_the_environment_wins_over_sdk_keys() {
    let sb = Sandbox::new();
    let s = sb
        .resolve(
            &cli_region("cn-north-4"),
            &with(&[("NBWATCH_AUTH_TOKEN", TOKEN)]),
        )
        .unwrap();
    assert_eq!(token(&s), TOKEN);
    assert_eq!(s.auth_source, "environment (NBWATCH_AUTH_TOKEN)");
}

#[test]
fn iam_token_from_the_profile() {
    let sb = Sandbox::new();
    sb.write("tok", &format!("\n{TOKEN}\n\n"));
    sb.config(&format!(
        "[profiles.t]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\nauth_token_file = \"{}\"\n",
        sb.root.join("tok").display()
    ));
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(token(&s), TOKEN);
    assert_eq!(s.auth_source, "profile `t` (IAM token)");

    sb.config(&format!(
        "[profiles.t]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\nauth_token = \"{TOKEN}\"\n"
    ));
    assert_eq!(
        token(&sb.resolve(&Overrides::default(), &[]).unwrap()),
        TOKEN
    );
}

#[test]
fn iam_token_and_ak_in_one_profile_conflict() {
    let sb = Sandbox::new();
    let p = sb.config(&format!(
        "[profiles.t]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\nak = \"AK\"\nsk = \"{SK}\"\nauth_token = \"{TOKEN}\"\n"
    ));
    let e = sb.err(&Overrides::default(), &[]);
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert_at(
        &e,
        &p,
        4,
        6,
        "both an IAM token and an AK/SK pair",
        "keep either auth_token",
    );
}

// ---------------------------------------------------------------- profiles

const TWO_PROFILES: &str = r#"default_profile = "prod"

[profiles.prod]
region = "cn-north-4"

[profiles.staging]
region = "ap-southeast-1"
"#;

#[test]
fn default_profile_then_env_then_cli_choose_the_profile() {
    let sb = Sandbox::new();
    sb.config(TWO_PROFILES);
    let s = sb.resolve(&Overrides::default(), &CREDS).unwrap();
    assert_eq!(
        (s.profile.as_str(), s.region.as_deref()),
        ("prod", Some("cn-north-4"))
    );
    let s = sb
        .resolve(
            &Overrides::default(),
            &with(&[("NBWATCH_PROFILE", "staging")]),
        )
        .unwrap();
    assert_eq!(s.profile, "staging");
    assert_eq!(
        s.endpoint,
        "https://modelarts.ap-southeast-1.myhuaweicloud.cn"
    );
    let o = Overrides {
        profile: Some("prod".into()),
        ..Overrides::default()
    };
    let s = sb
        .resolve(&o, &with(&[("NBWATCH_PROFILE", "staging")]))
        .unwrap();
    assert_eq!(s.profile, "prod");
}

#[test]
fn a_profile_called_default_is_used_when_none_is_chosen() {
    let sb = Sandbox::new();
    sb.config(
        "[profiles.other]\nregion = \"cn-north-1\"\n[profiles.default]\nregion = \"cn-north-9\"\n",
    );
    let s = sb.resolve(&Overrides::default(), &CREDS).unwrap();
    assert_eq!(
        (s.profile.as_str(), s.region.as_deref()),
        ("default", Some("cn-north-9"))
    );
}

#[test]
fn several_profiles_and_no_choice_is_an_error() {
    let sb = Sandbox::new();
    let p =
        sb.config("[profiles.a]\nregion = \"cn-north-1\"\n[profiles.b]\nregion = \"cn-north-9\"\n");
    let e = sb.err(&Overrides::default(), &CREDS);
    assert_eq!(e.kind, ErrorKind::UnknownProfile);
    assert_at(
        &e,
        &p,
        1,
        1,
        "several profiles are defined (a, b)",
        "default_profile = \"a\"",
    );
    assert!(e.fix.contains("--profile NAME") && e.fix.contains("NBWATCH_PROFILE"));
}

#[test]
fn a_missing_profile_names_the_ones_that_exist() {
    let sb = Sandbox::new();
    let p = sb.config(TWO_PROFILES);
    let o = Overrides {
        profile: Some("stagign".into()),
        ..Overrides::default()
    };
    let e = sb.err(&o, &CREDS);
    assert_eq!(e.kind, ErrorKind::UnknownProfile);
    let m = e.to_string();
    assert!(
        m.starts_with(&format!(
            "command-line option --profile: profile `stagign` does not exist in {}",
            p.display()
        )),
        "{m}"
    );
    assert!(
        m.contains("fix: did you mean `staging`? profiles defined there: prod, staging"),
        "{m}"
    );

    // A bad default_profile points at its own line.
    let p = sb.config("default_profile = \"qa\"\n[profiles.prod]\n");
    let e = sb.err(&Overrides::default(), &CREDS);
    assert_at(
        &e,
        &p,
        1,
        19,
        "profile `qa` does not exist",
        "profiles defined there: prod",
    );
}

#[test]
fn a_profile_without_a_config_file_says_where_it_looked() {
    let sb = Sandbox::new();
    let o = Overrides {
        profile: Some("prod".into()),
        ..cli_region("cn-north-4")
    };
    let e = sb.err(&o, &CREDS);
    assert_eq!(e.kind, ErrorKind::UnknownProfile);
    let m = e.to_string();
    assert!(m.contains("there is no config file (looked for"), "{m}");
    assert!(m.contains(".config/nbwatch/config.toml"), "{m}");
    assert!(
        m.contains("fix: create the file with a [profiles.prod] table"),
        "{m}"
    );
    // `--profile default` without a file is simply the default.
    let o = Overrides {
        profile: Some("default".into()),
        ..cli_region("cn-north-4")
    };
    assert_eq!(sb.resolve(&o, &CREDS).unwrap().profile, "default");
}

#[test]
fn config_path_can_be_given_on_the_command_line_or_in_the_environment() {
    let sb = Sandbox::new();
    let alt = sb.write("alt.toml", "[profiles.alt]\nregion = \"cn-south-1\"\n");
    sb.config("[profiles.main]\nregion = \"cn-north-4\"\n");
    let s = sb.resolve(&Overrides::default(), &CREDS).unwrap();
    assert_eq!(s.profile, "main");
    let s = sb
        .resolve(
            &Overrides::default(),
            &with(&[("NBWATCH_CONFIG", alt.to_str().unwrap())]),
        )
        .unwrap();
    assert_eq!(
        (s.profile.as_str(), s.config_file.as_deref()),
        ("alt", Some(alt.as_path()))
    );
    let o = Overrides {
        config_path: Some(alt.clone()),
        ..Overrides::default()
    };
    let s = sb
        .resolve(&o, &with(&[("NBWATCH_CONFIG", "/nonexistent.toml")]))
        .unwrap();
    assert_eq!(s.profile, "alt");
}

#[test]
fn an_explicit_config_path_must_exist() {
    let sb = Sandbox::new();
    let missing = sb.root.join("missing.toml");
    let o = Overrides {
        config_path: Some(missing.clone()),
        ..cli_region("cn-north-4")
    };
    let e = sb.err(&o, &CREDS);
    assert_eq!(e.kind, ErrorKind::Unreadable);
    let m = e.to_string();
    assert_eq!(
        m,
        format!(
            "command-line option --config: cannot read config file {}: no such file\n  fix: check the path, or leave it out to use the default {}",
            missing.display(),
            sb.root.join(".config/nbwatch/config.toml").display()
        )
    );
}

// ---------------------------------------------------------------- region and endpoint

#[test]
fn regions_map_to_endpoints_including_the_cn_exception() {
    let sb = Sandbox::new();
    for (r, want) in [
        (
            "cn-north-4",
            "https://modelarts.cn-north-4.myhuaweicloud.com",
        ),
        (
            "CN-SOUTH-1",
            "https://modelarts.cn-south-1.myhuaweicloud.com",
        ),
        (
            "ap-southeast-1",
            "https://modelarts.ap-southeast-1.myhuaweicloud.cn",
        ),
        (
            "ap-southeast-3",
            "https://modelarts.ap-southeast-3.myhuaweicloud.com",
        ),
    ] {
        let s = sb.resolve(&cli_region(r), &CREDS).unwrap();
        assert_eq!(s.endpoint, want);
        assert_eq!(s.region.as_deref(), Some(r.to_ascii_lowercase().as_str()));
    }
}

#[test]
fn endpoint_override_accepts_a_plain_http_simulator() {
    let sb = Sandbox::new();
    let o = Overrides {
        endpoint: Some("http://127.0.0.1:18080/".into()),
        ..Overrides::default()
    };
    let s = sb.resolve(&o, &CREDS).unwrap();
    assert_eq!(s.endpoint, "http://127.0.0.1:18080");
    assert_eq!(s.region, None);
}

#[test]
fn endpoint_and_region_follow_their_layers() {
    let sb = Sandbox::new();
    sb.config(
        "[profiles.p]\nregion = \"cn-north-4\"\nendpoint = \"https://proxy.corp/modelarts\"\n",
    );
    // Same layer: the endpoint wins, the region is kept for display.
    let s = sb.resolve(&Overrides::default(), &CREDS).unwrap();
    assert_eq!(s.endpoint, "https://proxy.corp/modelarts");
    assert_eq!(s.region.as_deref(), Some("cn-north-4"));
    // A region from a higher layer beats the file's endpoint.
    let s = sb
        .resolve(
            &Overrides::default(),
            &with(&[("NBWATCH_REGION", "cn-east-3")]),
        )
        .unwrap();
    assert_eq!(s.endpoint, "https://modelarts.cn-east-3.myhuaweicloud.com");
    // And an endpoint from a higher layer beats that region.
    let o = Overrides {
        endpoint: Some("http://127.0.0.1:9999".into()),
        ..Overrides::default()
    };
    let s = sb
        .resolve(&o, &with(&[("NBWATCH_REGION", "cn-east-3")]))
        .unwrap();
    assert_eq!(s.endpoint, "http://127.0.0.1:9999");
    // A private-cloud region name is fine next to an endpoint.
    sb.config("[profiles.p]\nregion = \"my-private-1\"\nendpoint = \"https://ma.private\"\n");
    let s = sb.resolve(&Overrides::default(), &CREDS).unwrap();
    assert_eq!(s.region.as_deref(), Some("my-private-1"));
}

#[test]
fn a_bad_endpoint_names_its_source_and_the_expected_form() {
    let sb = Sandbox::new();
    let o = Overrides {
        endpoint: Some("modelarts.cn-north-4.myhuaweicloud.com".into()),
        ..Overrides::default()
    };
    let e = sb.err(&o, &CREDS);
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    let m = e.to_string();
    assert!(m.starts_with("command-line option --endpoint: endpoint `modelarts.cn-north-4.myhuaweicloud.com` has no scheme"), "{m}");
    assert!(
        m.contains("fix: write the endpoint as a URL such as https://"),
        "{m}"
    );

    let p = sb.config(&format!(
        "[profiles.p]\nendpoint = \"https://AK:{SK}@host\"\n"
    ));
    let e = sb.err(&Overrides::default(), &CREDS);
    assert_at(
        &e,
        &p,
        2,
        12,
        "must not contain a user name or password",
        "http://127.0.0.1:8080",
    );
}

#[test]
fn an_unknown_region_suggests_the_nearest_and_lists_all() {
    let sb = Sandbox::new();
    let p = sb.config("[profiles.p]\nregion = \"cn-nort-4\"\n");
    let e = sb.err(&Overrides::default(), &CREDS);
    assert_eq!(e.kind, ErrorKind::UnknownRegion);
    assert_at(
        &e,
        &p,
        2,
        10,
        "unknown region `cn-nort-4`",
        "did you mean `cn-north-4`? known regions: cn-north-1, ",
    );
    assert!(
        e.fix.contains("sa-brazil-1") && e.fix.contains("endpoint"),
        "{e}"
    );
    let e = sb.err(&cli_region("mars-1"), &CREDS);
    assert!(
        e.to_string().starts_with(
            "command-line option --region: unknown region `mars-1`\n  fix: known regions:"
        ),
        "{e}"
    );
}

#[test]
fn no_region_and_no_endpoint_says_how_to_set_one() {
    let sb = Sandbox::new();
    let e = sb.err(&Overrides::default(), &CREDS);
    assert_eq!(e.kind, ErrorKind::MissingRegion);
    let m = e.to_string();
    assert!(
        m.starts_with("no region or endpoint is configured\n  fix: pass --region REGION"),
        "{m}"
    );
    assert!(
        m.contains("NBWATCH_REGION")
            && m.contains("[profiles.default] in ")
            && m.contains("--endpoint URL"),
        "{m}"
    );
}

// ---------------------------------------------------------------- bad configuration

fn bad_file(content: &str) -> (Sandbox, PathBuf, ConfigError) {
    let sb = Sandbox::new();
    let p = sb.config(content);
    let e = sb.err(
        &Overrides::default(),
        &with(&[("NBWATCH_AUTH_TOKEN", TOKEN)]),
    );
    (sb, p, e)
}

#[test]
fn toml_syntax_errors_name_file_line_column() {
    let (_sb, p, e) = bad_file("[profiles.p]\nregion = cn-north-4\n");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_at(
        &e,
        &p,
        2,
        10,
        "TOML syntax error",
        "strings need double quotes",
    );

    let (_sb, p, e) = bad_file("[profiles.p\nregion = \"x\"\n");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_at(
        &e,
        &p,
        1,
        12,
        "TOML syntax error",
        "tables look like [profiles.NAME]",
    );

    let (_sb, p, e) = bad_file("[profiles.p]\nregion = \"a\"\nregion = \"b\"\n");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(e.problem.contains("duplicate key"), "{e}");
    assert!(e.fix.contains("remove or rename one of the two"), "{e}");
    assert!(
        e.to_string().starts_with(&format!("{}:3:", p.display())),
        "{e}"
    );
}

#[test]
fn a_syntax_error_on_a_secret_line_quotes_nothing() {
    let (_sb, p, e) = bad_file(&format!("[profiles.p]\nsk = \"{SK}\nak = \"x\"\n"));
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(
        e.to_string().starts_with(&format!("{}:2:", p.display())),
        "{e}"
    );
}

#[test]
fn unknown_keys_suggest_the_closest_valid_key() {
    let (_sb, p, e) = bad_file("[profiles.p]\nregoin = \"cn-north-4\"\n");
    assert_eq!(e.kind, ErrorKind::UnknownKey);
    assert_at(
        &e,
        &p,
        2,
        1,
        "unknown key `regoin` in [profiles.p]",
        "did you mean `region`?",
    );
    assert!(e.fix.contains("valid keys here: region, endpoint"), "{e}");

    let (_sb, p, e) = bad_file(
        "[profiles.p]\nregion = \"cn-north-4\"\n\n[profiles.p.filters]\nstauts = \"RUNNING\"\n",
    );
    assert_at(
        &e,
        &p,
        5,
        1,
        "unknown key `stauts` in [profiles.p.filters]",
        "did you mean `status`?",
    );

    let (_sb, p, e) = bad_file("default_profil = \"p\"\n");
    assert_at(
        &e,
        &p,
        1,
        1,
        "unknown key `default_profil` at the top level",
        "did you mean `default_profile`?",
    );
}

#[test]
fn keys_in_the_wrong_table_say_where_they_belong() {
    let (_sb, p, e) = bad_file("region = \"cn-north-4\"\n");
    assert_eq!(e.kind, ErrorKind::UnknownKey);
    assert_at(
        &e,
        &p,
        1,
        1,
        "unknown key `region` at the top level",
        "profile settings belong in a [profiles.NAME] table",
    );

    let (_sb, p, e) = bad_file("[profiles.p]\nstatus = \"RUNNING\"\n");
    assert_at(
        &e,
        &p,
        2,
        1,
        "unknown key `status`",
        "[profiles.NAME.filters]",
    );

    let (_sb, p, e) = bad_file("[profiles.p.filters]\nstatus = \"RUNNING\"\npage_size = 20\n");
    assert_at(
        &e,
        &p,
        3,
        1,
        "unknown key `page_size`",
        "move it above the [profiles.NAME.filters] header",
    );
}

#[test]
fn wrong_types_name_the_key_and_never_the_value() {
    let (_sb, p, e) = bad_file("[profiles.p]\npage_size = \"50\"\n");
    assert_eq!(e.kind, ErrorKind::WrongType);
    assert_at(
        &e,
        &p,
        2,
        13,
        "wrong type for `page_size`: expected a whole number, found a string",
        "page_size = 50",
    );

    let (_sb, p, e) = bad_file("[profiles.p]\nconcurrency = 2.5\n");
    assert_at(
        &e,
        &p,
        2,
        15,
        "wrong type for `concurrency`",
        "concurrency = 4",
    );

    let (_sb, p, e) = bad_file("[profiles.p]\ninterval = true\n");
    assert_at(
        &e,
        &p,
        2,
        12,
        "wrong type for `interval`",
        "interval = 5 or interval = \"10m\"",
    );

    let (_sb, p, e) = bad_file("[profiles.p]\nsk = 98765432123456789\n");
    assert_at(
        &e,
        &p,
        2,
        6,
        "wrong type for `sk`: expected a string (in quotes), found an integer",
        "sk = \"...\"",
    );
    assert!(!e.to_string().contains("98765432123456789"), "{e}");

    let (_sb, p, e) = bad_file("[profiles]\np = 3\n");
    assert_at(
        &e,
        &p,
        2,
        5,
        "wrong type for profile `p`: expected a profile table",
        "write [profiles.p] on its own line",
    );
}

#[test]
fn bad_page_sizes_are_rejected_with_the_allowed_values() {
    let (_sb, p, e) = bad_file("[profiles.p]\nregion = \"cn-north-4\"\npage_size = 30\n");
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert_at(
        &e,
        &p,
        3,
        13,
        "page size 30 is not allowed",
        "use 10, 20 or 50",
    );

    let sb = Sandbox::new();
    let o = Overrides {
        page_size: Some(100),
        ..cli_region("cn-north-4")
    };
    let e = sb.err(&o, &CREDS);
    assert!(
        e.to_string().starts_with(
            "command-line option --page-size: page size 100 is not allowed\n  fix: use 10, 20 or 50"
        ),
        "{e}"
    );
    let e = sb.err(
        &cli_region("cn-north-4"),
        &with(&[("NBWATCH_PAGE_SIZE", "fifty")]),
    );
    assert!(
        e.to_string().starts_with(
            "environment variable NBWATCH_PAGE_SIZE: page_size must be a whole number"
        ),
        "{e}"
    );
}

#[test]
fn bad_intervals_are_rejected_with_the_range() {
    let (_sb, p, e) = bad_file("[profiles.p]\nregion = \"cn-north-4\"\ninterval = 0\n");
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert_at(
        &e,
        &p,
        3,
        12,
        "interval 0ms is out of range",
        "use a duration from 500ms to 24h (default 5s)",
    );

    let (_sb, p, e) =
        bad_file("[profiles.p]\nregion = \"cn-north-4\"\ninterval = \"10 minutes\"\n");
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert_at(
        &e,
        &p,
        3,
        12,
        "bad value for `interval`: duration has an unknown unit",
        "\"10m\"",
    );

    let sb = Sandbox::new();
    let e = sb.err(
        &cli_region("cn-north-4"),
        &with(&[("NBWATCH_INTERVAL", "soon")]),
    );
    assert!(
        e.to_string()
            .starts_with("environment variable NBWATCH_INTERVAL: interval: duration"),
        "{e}"
    );
    assert!(e.fix.contains("NBWATCH_INTERVAL"), "{e}");
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let o = Overrides {
            interval_secs: Some(bad),
            ..cli_region("cn-north-4")
        };
        let e = sb.err(&o, &CREDS);
        assert!(
            e.to_string()
                .starts_with("command-line option --interval: interval "),
            "{e}"
        );
        assert!(e.problem.ends_with("is out of range"), "{e}");
    }
}

#[test]
fn other_out_of_range_values() {
    let sb = Sandbox::new();
    let cases: [(Overrides, &str); 5] = [
        (
            Overrides {
                concurrency: Some(0),
                ..cli_region("cn-north-4")
            },
            "concurrency 0 is out of range",
        ),
        (
            Overrides {
                budget_per_minute: Some(0),
                ..cli_region("cn-north-4")
            },
            "request budget 0 per minute",
        ),
        (
            Overrides {
                timeout_secs: Some(0.0),
                ..cli_region("cn-north-4")
            },
            "timeout 0ms is out of range",
        ),
        (
            Overrides {
                stuck_after_secs: Some(0.5),
                ..cli_region("cn-north-4")
            },
            "stuck_after 500ms is out of range",
        ),
        (
            Overrides {
                workspace_param: Some("workspace-id".into()),
                ..cli_region("cn-north-4")
            },
            "workspace parameter spelling `workspace-id` is not known",
        ),
    ];
    for (o, want) in cases {
        let e = sb.err(&o, &CREDS);
        assert_eq!(e.kind, ErrorKind::InvalidValue);
        assert!(e.problem.contains(want), "{want}: {e}");
        assert!(e.to_string().starts_with("command-line option --"), "{e}");
    }
}

#[test]
fn bad_filters_are_rejected_and_unknown_statuses_warned() {
    let (_sb, p, e) = bad_file(
        "[profiles.p]\nregion = \"cn-north-4\"\n[profiles.p.filters]\nfeature = \"FREE\"\n",
    );
    assert_at(&e, &p, 4, 11, "feature `FREE` is not known", "use NOTEBOOK");
    let (_sb, p, e) = bad_file(
        "[profiles.p]\nregion = \"cn-north-4\"\n[profiles.p.filters]\nsort_dir = \"up\"\n",
    );
    assert_at(
        &e,
        &p,
        4,
        12,
        "sort direction `up` is not known",
        "use ASC or DESC",
    );
    let (_sb, p, e) = bad_file(
        "[profiles.p]\nregion = \"cn-north-4\"\n[profiles.p.filters]\nsort_key = \"name;drop\"\n",
    );
    assert_at(
        &e,
        &p,
        4,
        12,
        "sort key `name;drop` is malformed",
        "separated by commas",
    );

    let sb = Sandbox::new();
    let o = Overrides {
        name: Some("x".repeat(129)),
        ..cli_region("cn-north-4")
    };
    assert!(sb.err(&o, &CREDS).problem.contains("129 characters"));
    let o = Overrides {
        status: Some("runing".into()),
        ..cli_region("cn-north-4")
    };
    let s = sb.resolve(&o, &CREDS).unwrap();
    assert_eq!(s.filters.status.as_deref(), Some("RUNING"));
    assert_eq!(s.warnings.len(), 1);
    assert!(
        s.warnings[0]
            .contains("status filter `RUNING` is not a documented status; did you mean RUNNING?"),
        "{:?}",
        s.warnings
    );
}

#[test]
fn missing_credentials_say_every_way_to_provide_them() {
    let sb = Sandbox::new();
    sb.config("[profiles.p]\nregion = \"cn-north-4\"\n");
    let e = sb.err(
        &Overrides::default(),
        &[("HUAWEICLOUD_SDK_PROJECT_ID", PID)],
    );
    assert_eq!(e.kind, ErrorKind::MissingCredentials);
    let m = e.to_string();
    assert!(
        m.starts_with("no credentials found for profile `p`\n  fix: "),
        "{m}"
    );
    for needle in [
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "NBWATCH_AUTH_TOKEN",
        "ak and sk_file in [profiles.p] in ",
        "config.toml",
        "[basic] in ~/.huaweicloud/credentials",
    ] {
        assert!(m.contains(needle), "{needle} missing in {m}");
    }
}

#[test]
fn half_set_credentials_say_what_is_missing() {
    let sb = Sandbox::new();
    let e = sb.err(&cli_region("cn-north-4"), &[("HUAWEICLOUD_SDK_AK", "AK")]);
    assert_eq!(e.kind, ErrorKind::MissingCredentials);
    assert!(e.to_string().starts_with("environment variable HUAWEICLOUD_SDK_AK: HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not\n  fix: export both"), "{e}");
    let e = sb.err(&cli_region("cn-north-4"), &[("HUAWEICLOUD_SDK_SK", SK)]);
    assert!(
        e.problem
            .starts_with("HUAWEICLOUD_SDK_SK is set but HUAWEICLOUD_SDK_AK is not"),
        "{e}"
    );

    let p = sb.config("[profiles.p]\nregion = \"cn-north-4\"\nak = \"AK\"\n");
    let e = sb.err(&Overrides::default(), &[]);
    assert_at(
        &e,
        &p,
        3,
        6,
        "[profiles.p] sets ak but no sk",
        "sk_file = \"PATH\"",
    );
}

#[test]
fn secret_indirection_errors_point_at_the_key() {
    let sb = Sandbox::new();
    let p = sb.config(&format!(
        "[profiles.p]\nregion = \"cn-north-4\"\nak = \"AK\"\nsk = \"{SK}\"\nsk_file = \"x\"\n"
    ));
    let e = sb.err(&Overrides::default(), &[]);
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert_at(
        &e,
        &p,
        5,
        11,
        "sk and sk_file are all set",
        "keep only one of sk, sk_file, sk_env",
    );

    let p = sb.config("[profiles.p]\nregion = \"cn-north-4\"\nak = \"AK\"\nsk_env = \"PROD_SK\"\n");
    let e = sb.err(&Overrides::default(), &[]);
    assert_at(
        &e,
        &p,
        4,
        10,
        "sk_env names the environment variable PROD_SK, which is not set",
        "export PROD_SK",
    );

    let p = sb
        .config("[profiles.p]\nregion = \"cn-north-4\"\nak = \"AK\"\nsk_file = \"~/no/such.sk\"\n");
    let e = sb.err(&Overrides::default(), &[]);
    assert_eq!(e.kind, ErrorKind::Unreadable);
    assert_at(&e, &p, 4, 11, "cannot read sk_file", "check the path");
    assert!(
        e.problem
            .contains(&sb.root.join("no/such.sk").display().to_string()),
        "{e}"
    );

    sb.write("empty.sk", "\n");
    let p =
        sb.config("[profiles.p]\nregion = \"cn-north-4\"\nak = \"AK\"\nsk_file = \"~/empty.sk\"\n");
    let e = sb.err(&Overrides::default(), &[]);
    assert_at(&e, &p, 4, 11, "is empty", "give the sk value");
}

#[test]
fn missing_project_id_says_where_to_find_and_set_it() {
    let sb = Sandbox::new();
    let e = sb.err(&cli_region("cn-north-4"), &creds_only());
    assert_eq!(e.kind, ErrorKind::MissingProjectId);
    let m = e.to_string();
    assert!(
        m.starts_with("no project id is configured\n  fix: pass --project-id ID"),
        "{m}"
    );
    for needle in [
        "NBWATCH_PROJECT_ID",
        "HUAWEICLOUD_SDK_PROJECT_ID",
        "project_id in [profiles.default]",
        "[basic]",
        "console",
    ] {
        assert!(m.contains(needle), "{needle} missing in {m}");
    }
    let o = Overrides {
        project_id: Some("abc/../def".into()),
        ..cli_region("cn-north-4")
    };
    let e = sb.err(&o, &creds_only());
    assert!(
        e.to_string()
            .starts_with("command-line option --project-id: the project id contains characters"),
        "{e}"
    );
}

#[test]
fn a_config_file_that_is_not_utf8_is_reported() {
    let sb = Sandbox::new();
    let p = sb.config("");
    std::fs::write(&p, b"[profiles.p]\nregion = \"\xff\"\n").unwrap();
    let e = sb.err(&Overrides::default(), &CREDS);
    assert_eq!(e.kind, ErrorKind::Unreadable);
    assert_at(&e, &p, 2, 11, "not valid UTF-8", "save it as UTF-8");
}

#[test]
fn fast_interval_longer_than_interval_is_capped_with_a_warning() {
    let sb = Sandbox::new();
    let o = Overrides {
        interval_secs: Some(3.0),
        fast_interval_secs: Some(10.0),
        ..cli_region("cn-north-4")
    };
    let s = sb.resolve(&o, &CREDS).unwrap();
    assert_eq!(s.fast_interval, Duration::from_secs(3));
    assert_eq!(
        s.warnings,
        vec!["fast_interval (10s) is longer than interval (3s); polling every 3s during transitions too".to_string()]
    );
}

// ---------------------------------------------------------------- permissions

#[cfg(unix)]
#[test]
fn files_holding_secrets_readable_by_others_are_warned_about() {
    let sb = Sandbox::new();
    let cfg = sb.config(&format!("[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\nak = \"AK\"\nsk = \"{SK}\"\n"));
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert!(s.warnings.is_empty(), "mode 600 is fine: {:?}", s.warnings);

    set_mode(&cfg, 0o644);
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(
        s.warnings,
        vec![format!(
            "config file {0} holds a secret and is readable by group and others (mode 644); run `chmod 600 {0}`",
            cfg.display()
        )]
    );

    // A config file without secrets may be world-readable.
    let cfg = sb.config(&format!(
        "[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\n"
    ));
    set_mode(&cfg, 0o644);
    let creds = sb.credentials(&format!("[basic]\nak = AK\nsk = {SK}\n"));
    set_mode(&creds, 0o604);
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(
        s.warnings,
        vec![format!(
            "credentials file {0} holds a secret and is readable by others (mode 604); run `chmod 600 {0}`",
            creds.display()
        )]
    );

    let skf = sb.write("p.sk", SK);
    set_mode(&skf, 0o640);
    sb.config(&format!("[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"{PID}\"\nak = \"AK\"\nsk_file = \"~/p.sk\"\n"));
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.warnings[0].starts_with(&format!(
        "sk_file {} holds a secret and is readable by its group (mode 640)",
        skf.display()
    )));
}

// ---------------------------------------------------------------- secrets never printed

#[test]
fn debug_of_settings_shows_no_secret() {
    let sb = Sandbox::new();
    let s = sb
        .resolve(
            &cli_region("cn-north-4"),
            &with(&[("HUAWEICLOUD_SDK_SECURITY_TOKEN", ST)]),
        )
        .unwrap();
    let d = format!("{s:?}");
    assert!(d.contains("AKENV") && d.contains("Secret(***)"), "{d}");
    assert_clean(&d);
    let s = sb
        .resolve(
            &cli_region("cn-north-4"),
            &with(&[("NBWATCH_AUTH_TOKEN", TOKEN)]),
        )
        .unwrap();
    let d = format!("{s:#?}");
    assert!(d.contains("Token(\n        Secret(***)"), "{d}");
    assert_clean(&d);
}

#[test]
fn no_error_shows_a_secret() {
    // Each case puts every fake secret where the resolver can see it, then fails.
    let sb = Sandbox::new();
    sb.credentials(&format!(
        "[basic]\nak = AKINI\nsk = {SK2}\nsecurity_token = {ST}\n"
    ));
    let env = with(&[("HUAWEICLOUD_SDK_SECURITY_TOKEN", ST), ("PROD_SK", SK2)]);
    let files = [
        format!("[profiles.p]\nsk = {SK}\n"),
        format!("[profiles.p]\nsk = \"{SK}\"\nregoin = \"{SK2}\"\n"),
        format!("[profiles.p]\nauth_token = [\"{TOKEN}\"]\n"),
        format!("[profiles.p]\nauth_token = {{ v = \"{TOKEN}\" }}\n"),
        format!("[profiles.p]\nregion = \"{SK}\"\nsk = \"{SK2}\"\n"),
        format!(
            "[profiles.p]\nregion = \"cn-north-4\"\nak = \"A\"\nsk = \"{SK}\"\nsk_env = \"PROD_SK\"\n"
        ),
        format!("[profiles.p]\nregion = \"cn-north-4\"\nsecurity_token = \"{ST}\"\n"),
        format!(
            "[profiles.p]\nregion = \"cn-north-4\"\nauth_token = \"{TOKEN}\"\npage_size = 11\n"
        ),
        format!("[profiles.p]\nendpoint = \"http://x:{SK}@h\"\n"),
        format!("[profiles.p]\nsk = \"{SK}\"\n\"{SK2}\" = 1\n"),
        format!(
            "[profiles.p]\nregion = \"cn-north-4\"\nsk = \"{SK2}\"\n[profiles.p.filters]\nfeature = \"{SK2}\"\n"
        ),
        format!(
            "[profiles.p]\nregion = \"cn-north-4\"\nsk_env = \"PROD_SK\"\n[profiles.p.filters]\nsort_key = \"{SK2}!\"\n"
        ),
        format!(
            "[profiles.q]\nauth_token = \"{TOKEN}\"\n[profiles.p]\nregion = \"cn-north-4\"\n[profiles.p.filters]\nsort_dir = \"{TOKEN}\"\n"
        ),
    ];
    for f in &files {
        sb.config(f);
        // `err` itself asserts Display and Debug are clean.
        let o = Overrides {
            profile: Some("p".into()),
            ..Overrides::default()
        };
        let e = sb.err(&o, &env);
        assert_clean(&e.problem);
        assert_clean(&e.fix);
    }
    sb.config("");
    let e = sb.err(&Overrides::default(), &[("HUAWEICLOUD_SDK_SK", SK)]);
    assert_clean(&format!("{e:?}"));
}

// ---------------------------------------------------------------- the example file

#[test]
fn the_example_config_is_valid_and_documents_every_key() {
    let example = include_str!("../../config.example.toml");
    for key in ROOT_KEYS
        .iter()
        .chain(PROFILE_KEYS)
        .chain(FILTER_KEYS)
        .chain(ALERT_KEYS)
        .chain(VIEW_KEYS)
    {
        let documented = example.lines().any(|l| {
            l.trim_start_matches(['#', ' '])
                .starts_with(&format!("{key} ="))
                || l.contains(&format!("[profiles.prod.{key}]"))
                || (*key == "profiles" && l.starts_with("[profiles."))
                || (*key == "views" && l.starts_with("[views."))
        });
        assert!(documented, "config.example.toml does not document `{key}`");
    }
    let sb = Sandbox::new();
    sb.config(example);
    sb.write(".config/nbwatch/prod.sk", SK);
    let s = sb.resolve(&Overrides::default(), &[]).unwrap();
    assert_eq!(s.profile, "prod");
    assert_eq!(ak_sk(&s).sk.expose(), SK);
    assert_eq!(
        s.filters.feature, None,
        "copied as it is, the example watches both kinds: a feature would hide the CodeLab instance"
    );
    let o = Overrides {
        profile: Some("sim".into()),
        ..Overrides::default()
    };
    let s = sb.resolve(&o, &[("NBWATCH_SIM_TOKEN", TOKEN)]).unwrap();
    assert_eq!(s.endpoint, "http://127.0.0.1:8080");
    assert_eq!(s.fast_interval, Duration::from_millis(500));
    assert_eq!(token(&s), TOKEN);
}

#[test]
fn read_only_comes_from_the_profile_or_the_flag() {
    let sb = Sandbox::new();
    sb.config(
        "[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"p1\"\nread_only = true\n",
    );
    let s = sb.resolve(&Overrides::default(), &creds_only()).unwrap();
    assert!(s.read_only);
    sb.config("[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"p1\"\n");
    let s = sb.resolve(&Overrides::default(), &creds_only()).unwrap();
    assert!(!s.read_only);
    let o = Overrides {
        read_only: true,
        ..Overrides::default()
    };
    assert!(sb.resolve(&o, &creds_only()).unwrap().read_only);
    sb.config(
        "[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"p1\"\nread_only = \"yes\"\n",
    );
    let e = sb
        .resolve(&Overrides::default(), &creds_only())
        .unwrap_err();
    assert!(e.fix.contains("read_only = true"), "{e:?}");
}

// ---------------------------------------------------------------- journal and alerts

#[test]
fn journal_and_alerts_come_from_the_profile_and_the_environment() {
    let sb = Sandbox::new();
    let path = sb.config(
        "[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"abc\"\njournal = \"j/changes.jsonl\"\njournal_max_mb = 2\n\
         [profiles.p.alerts]\nstuck = false\nlease_lead = \"5m\"\nbell = false\nhook = \"cat >> /tmp/x\"\nhook_timeout = 3\n",
    );
    let s = sb.resolve(&Overrides::default(), &creds_only()).unwrap();
    assert_eq!(
        s.journal,
        Some(path.parent().unwrap().join("j/changes.jsonl"))
    );
    assert_eq!(s.journal_max_bytes, 2 * 1024 * 1024);
    let a = &s.alerts;
    assert!(a.problems && !a.stuck && a.lease && !a.bell && a.desktop && !a.existing);
    assert_eq!(a.lease_lead, Duration::from_secs(300));
    assert_eq!(a.hook.as_deref(), Some("cat >> /tmp/x"));
    assert_eq!(a.hook_timeout, Duration::from_secs(3));
    // The command line and the environment win.
    let o = Overrides {
        journal: Some(PathBuf::from("/cli/j.jsonl")),
        ..Overrides::default()
    };
    let mut env = creds_only();
    env.push(("NBWATCH_ALERT_HOOK", "logger nbwatch"));
    let s = sb.resolve(&o, &env).unwrap();
    assert_eq!(s.journal, Some(PathBuf::from("/cli/j.jsonl")));
    assert_eq!(s.alerts.hook.as_deref(), Some("logger nbwatch"));
    // Nothing configured: no journal, every alert on, bell and desktop on.
    let bare = Sandbox::new();
    let s = bare
        .resolve(
            &Overrides::default(),
            &[
                &creds_only()[..],
                &[
                    ("NBWATCH_REGION", "cn-north-4"),
                    ("HUAWEICLOUD_SDK_PROJECT_ID", "abc"),
                ],
            ]
            .concat(),
        )
        .unwrap();
    assert_eq!(s.journal, None);
    assert_eq!(s.alerts, crate::alerts::AlertConfig::default());
}

#[test]
fn a_mistake_in_the_alerts_table_names_its_line() {
    let sb = Sandbox::new();
    sb.config("[profiles.p]\nregion = \"cn-north-4\"\n\n[profiles.p.alerts]\nbel = true\n");
    let e = sb
        .resolve(&Overrides::default(), &creds_only())
        .unwrap_err();
    assert!(e.to_string().contains(":5:"), "{e}");
    assert!(e.problem.contains("unknown key `bel`"), "{e}");
    assert!(e.fix.contains("did you mean `bell`?"), "{e}");
    let sb = Sandbox::new();
    sb.config("[profiles.p]\nregion = \"cn-north-4\"\n[profiles.p.alerts]\nlease_lead = \"25h\"\n");
    let e = sb
        .resolve(&Overrides::default(), &creds_only())
        .unwrap_err();
    assert!(
        e.problem.contains("alerts.lease_lead 25h is out of range"),
        "{e}"
    );
}

// ---------------------------------------------------------------- ssh key directory

#[test]
fn ssh_key_dir_comes_from_the_environment_the_profile_or_home() {
    let sb = Sandbox::new();
    let path = sb.config(
        "[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"abc\"\nssh_key_dir = \"keys\"\n",
    );
    let s = sb.resolve(&Overrides::default(), &creds_only()).unwrap();
    assert_eq!(s.ssh_key_dir, Some(path.parent().unwrap().join("keys")));
    let mut env = creds_only();
    env.push(("NBWATCH_SSH_KEY_DIR", "/env/keys"));
    let s = sb.resolve(&Overrides::default(), &env).unwrap();
    assert_eq!(s.ssh_key_dir, Some(PathBuf::from("/env/keys")));
    let sb = Sandbox::new();
    sb.config("[profiles.p]\nregion = \"cn-north-4\"\nproject_id = \"abc\"\n");
    let s = sb.resolve(&Overrides::default(), &creds_only()).unwrap();
    let dir = s.ssh_key_dir.expect("a default under home");
    assert!(dir.ends_with(".ssh"), "{dir:?}");
    // A wrong type names its line and the fix.
    let sb = Sandbox::new();
    sb.config("[profiles.p]\nregion = \"cn-north-4\"\nssh_key_dir = 5\n");
    let e = sb
        .resolve(&Overrides::default(), &creds_only())
        .unwrap_err();
    assert!(e.to_string().contains(":3:"), "{e}");
    assert!(e.fix.contains("ssh_key_dir = \""), "{e}");
}
