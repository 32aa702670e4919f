//! Bad configuration through the binary: each mistake a user can make in the config
//! file (or the environment) ends `nbwatch list` with exit code 2, a message on
//! stderr that names the file and line (where one line is to blame) and the fix,
//! nothing on stdout, and never a panic or a backtrace (RUST_BACKTRACE=1 is set).

use crate::support::home::{Home, Out, nbwatch};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

/// `nbwatch --config <file> list` with `text` as the file (mode 600) and `env`.
fn list_with(text: &str, extra_args: &[&str], env: &[(&str, &str)]) -> (Out, String) {
    let home = Home::new("cfg");
    let path = home.write("conf/nbwatch.toml", text, 0o600);
    let mut args = vec!["--config", path.as_str()];
    args.extend_from_slice(extra_args);
    args.push("list");
    let out = nbwatch(&home, &args, env);
    (out, path)
}

/// Exit 2, nothing on stdout, no panic, and a `fix:` that says `fix_has`.
fn usage_error(out: &Out, fix_has: &str) {
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(out.stdout, "", "nothing on stdout: {out:?}");
    out.assert_no_panic();
    assert!(out.stderr.starts_with("nbwatch: "), "{out:?}");
    let fix = out
        .stderr
        .split_once("fix: ")
        .unwrap_or_else(|| panic!("no fix in {:?}", out.stderr))
        .1;
    assert!(fix.contains(fix_has), "fix {fix:?} should say {fix_has:?}");
}

/// The message starts with `path:line:col: ` and says `problem`.
fn located(out: &Out, path: &str, line: usize, problem: &str) {
    let prefix = format!("nbwatch: {path}:{line}:");
    assert!(
        out.stderr.starts_with(&prefix),
        "expected {prefix:?}: {:?}",
        out.stderr
    );
    assert!(
        out.stderr.contains(problem),
        "{problem:?}: {:?}",
        out.stderr
    );
}

const CREDS: &[(&str, &str)] = &[
    ("HUAWEICLOUD_SDK_AK", "AKCONFIGTEST00000001"),
    ("HUAWEICLOUD_SDK_SK", "config-test-secret-key-000000"),
];

#[test]
fn a_toml_syntax_error_names_file_line_and_fix() {
    let (out, path) = list_with(
        "[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"abc\n",
        &[],
        CREDS,
    );
    usage_error(&out, "fix the TOML syntax on this line");
    located(&out, &path, 3, "TOML syntax error");
}

#[test]
fn an_unknown_key_suggests_the_closest_one() {
    let (out, path) = list_with(
        "[profiles.default]\nproject_id = \"0123456789abcdef0123456789abcdef\"\nregoin = \"cn-north-4\"\n",
        &[],
        CREDS,
    );
    usage_error(&out, "did you mean `region`?");
    located(&out, &path, 3, "unknown key `regoin` in [profiles.default]");
    // And in the filters table.
    let (out, path) = list_with(
        "[profiles.default]\nregion = \"cn-north-4\"\n[profiles.default.filters]\nstatuss = \"RUNNING\"\n",
        &[],
        CREDS,
    );
    usage_error(&out, "did you mean `status`?");
    located(&out, &path, 4, "unknown key `statuss`");
}

#[test]
fn a_wrong_type_says_what_was_expected() {
    let (out, path) = list_with(
        "[profiles.default]\nregion = \"cn-north-4\"\npage_size = \"fifty\"\n",
        &[],
        CREDS,
    );
    usage_error(&out, "page_size = 50");
    located(
        &out,
        &path,
        3,
        "wrong type for `page_size`: expected a whole number, found a string",
    );
    let (out, path) = list_with(
        "[profiles.default]\nregion = \"cn-north-4\"\ninterval = true\n",
        &[],
        CREDS,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    located(&out, &path, 3, "interval");
}

#[test]
fn an_unknown_region_lists_the_known_ones() {
    let (out, path) = list_with(
        &format!("[profiles.default]\nproject_id = \"{PROJECT}\"\nregion = \"cn-nowhere-9\"\n"),
        &[],
        CREDS,
    );
    usage_error(&out, "cn-north-4");
    located(&out, &path, 3, "unknown region `cn-nowhere-9`");
    // A near miss is suggested.
    let (out, _) = list_with(
        &format!("[profiles.default]\nproject_id = \"{PROJECT}\"\nregion = \"cn-north4\"\n"),
        &[],
        CREDS,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("cn-north-4"), "{out:?}");
}

#[test]
fn a_missing_profile_names_the_file_and_the_profiles_there() {
    let text = format!("[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\n");
    let (out, path) = list_with(&text, &["--profile", "staging"], CREDS);
    usage_error(&out, "profiles defined there: default");
    assert!(
        out.stderr
            .contains(&format!("profile `staging` does not exist in {path}")),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("--profile"),
        "names the option: {out:?}"
    );
    // Chosen in the file itself: the line of default_profile is named.
    let (out, path) = list_with(&format!("default_profile = \"prod\"\n{text}"), &[], CREDS);
    usage_error(&out, "profiles defined there: default");
    located(&out, &path, 1, "profile `prod` does not exist");
    // Chosen by the environment: the variable is named.
    let (out, _) = list_with(&text, &[], &[CREDS, &[("NBWATCH_PROFILE", "qa")]].concat());
    usage_error(&out, "profiles defined there: default");
    assert!(out.stderr.contains("NBWATCH_PROFILE"), "{out:?}");
}

#[test]
fn missing_credentials_say_every_place_they_can_go() {
    let (out, path) = list_with(
        &format!("[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\n"),
        &[],
        &[],
    );
    usage_error(&out, "HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK");
    assert!(out.stderr.contains("no credentials found"), "{out:?}");
    assert!(out.stderr.contains(&path), "names the file: {out:?}");
    assert!(out.stderr.contains("~/.huaweicloud/credentials"), "{out:?}");
    // An AK without its SK is named as such.
    let (out, _) = list_with(
        &format!(
            "[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\nak = \"AKONLY\"\n"
        ),
        &[],
        &[],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    out.assert_no_panic();
    assert!(out.stderr.contains("sk"), "{out:?}");
}

#[test]
fn a_missing_project_id_says_where_to_find_one() {
    let (out, path) = list_with("[profiles.default]\nregion = \"cn-north-4\"\n", &[], CREDS);
    usage_error(&out, "--project-id");
    assert!(out.stderr.contains("no project id"), "{out:?}");
    assert!(out.stderr.contains(&path), "names the file: {out:?}");
    assert!(out.stderr.contains("My Credentials"), "{out:?}");
}

#[test]
fn a_bad_page_size_is_refused_wherever_it_comes_from() {
    let base = format!("[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\n");
    let (out, path) = list_with(&format!("{base}page_size = 30\n"), &[], CREDS);
    usage_error(&out, "use 10, 20 or 50");
    located(&out, &path, 4, "page size 30 is not allowed");
    let (out, _) = list_with(
        &base,
        &[],
        &[CREDS, &[("NBWATCH_PAGE_SIZE", "500")]].concat(),
    );
    usage_error(&out, "use 10, 20 or 50");
    assert!(
        out.stderr
            .starts_with("nbwatch: environment variable NBWATCH_PAGE_SIZE: "),
        "{out:?}"
    );
    let (out, _) = list_with(&base, &["--page-size", "0"], CREDS);
    usage_error(&out, "use 10, 20 or 50");
    assert!(out.stderr.contains("--page-size"), "{out:?}");
}

#[test]
fn an_unreadable_config_file_is_named() {
    let home = Home::new("cfg");
    let missing = home.str("nope/config.toml");
    let out = nbwatch(&home, &["--config", &missing, "list"], CREDS);
    usage_error(&out, "check the path");
    assert!(out.stderr.contains(&missing), "{out:?}");
    // A directory, and bytes that are not UTF-8.
    let dir = home.str("");
    let out = nbwatch(&home, &["--config", &dir, "list"], CREDS);
    assert_eq!(out.code, Some(2), "{out:?}");
    out.assert_no_panic();
    let bin = home.join("bin.toml");
    std::fs::write(&bin, b"\xff\xfe[profiles.default]\n").unwrap();
    let out = nbwatch(&home, &["--config", bin.to_str().unwrap(), "list"], CREDS);
    assert_eq!(out.code, Some(2), "{out:?}");
    out.assert_no_panic();
    assert!(out.stderr.contains("bin.toml"), "{out:?}");
}

#[test]
fn a_wrong_type_or_misplaced_secret_is_never_quoted() {
    let sk = "Sk-never-quote-me-9f8e7d6c5b4a";
    // A secret pasted into a field that is then rejected.
    let (out, _) = list_with(
        &format!(
            "[profiles.default]\nproject_id = \"{PROJECT}\"\nak = \"AK1\"\nsk = \"{sk}\"\nregion = \"{sk}\"\n"
        ),
        &[],
        &[],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("unknown region"), "{out:?}");
    assert!(!out.stderr.contains(sk), "secret quoted: {out:?}");
    // A number where the SK belongs: the message names the key, not the value.
    let (out, path) = list_with(
        &format!(
            "[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\nak = \"AK1\"\nsk = 918273645546372819\n"
        ),
        &[],
        &[],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    located(&out, &path, 5, "sk");
    assert!(!out.stderr.contains("918273645546372819"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_readable_by_others_that_holds_a_secret_is_warned_about() {
    let sim = crate::support::sim::manual(3).await;
    let (ak, sk) = sim.credentials();
    let text = format!(
        "[profiles.default]\nendpoint = \"{}\"\nproject_id = \"{}\"\nak = \"{ak}\"\nsk = \"{}\"\n",
        sim.endpoint(),
        sim.project_id(),
        sk.expose()
    );
    let home = Home::new("perm");
    let open = home.write("open.toml", &text, 0o644);
    let out = nbwatch(&home, &["--config", &open, "list"], &[]);
    assert_eq!(
        out.code,
        Some(0),
        "the warning does not stop nbwatch: {out:?}"
    );
    out.assert_no_panic();
    assert!(out.stdout.lines().count() > 1, "{out:?}");
    let warning = out
        .stderr
        .lines()
        .find(|l| l.contains("warning"))
        .unwrap_or_else(|| panic!("no warning: {out:?}"));
    assert!(warning.contains(&open), "{warning}");
    assert!(warning.contains(&format!("chmod 600 {open}")), "{warning}");
    assert!(!out.stderr.contains(sk.expose()), "{out:?}");

    // Private (600): no warning. A secret kept in another file: no warning for this one.
    let private = home.write("private.toml", &text, 0o600);
    let out = nbwatch(&home, &["--config", &private, "list"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
    let no_secret = text.replace(
        &format!("sk = \"{}\"", sk.expose()),
        "sk_file = \"private.sk\"",
    );
    home.write("private.sk", sk.expose(), 0o600);
    let readable = home.write("readable.toml", &no_secret, 0o644);
    let out = nbwatch(&home, &["--config", &readable, "list"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
}

const VIEWS: &str = "[views.failing]\nproblems = true\n\n[views.training]\nname = \"train\"\n";

#[test]
fn an_unknown_view_exits_2_naming_the_views_that_exist() {
    let home = Home::new("cfg");
    let path = home.write("conf/nbwatch.toml", VIEWS, 0o600);
    // The dashboard itself: the error comes before the terminal is touched.
    let out = nbwatch(
        &home,
        &[
            "--config",
            &path,
            "--endpoint",
            "http://127.0.0.1:9",
            "--project-id",
            PROJECT,
            "--view",
            "trainng",
        ],
        CREDS,
    );
    usage_error(&out, "did you mean `training`?");
    assert!(
        out.stderr
            .starts_with("nbwatch: command-line option --view: view `trainng` is not defined"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains(&format!("the views of {path}: failing, training")),
        "{out:?}"
    );
}

#[test]
fn an_unknown_column_names_file_line_and_the_valid_columns() {
    let (out, path) = list_with(
        &format!(
            "[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\ncolumns = [\"name\", \"leese\"]\n"
        ),
        &[],
        CREDS,
    );
    usage_error(&out, "did you mean `lease`?");
    located(&out, &path, 4, "unknown column `leese`");
    assert!(
        out.stderr.contains(
            "valid columns: source, name, status, feature, flavor, image, lease, age, in_status"
        ),
        "{out:?}"
    );
    // A view's unknown status, too.
    let (out, path) = list_with(
        &format!(
            "[profiles.default]\nregion = \"cn-north-4\"\nproject_id = \"{PROJECT}\"\n[views.v]\nstatus = [\"STOPED\"]\n"
        ),
        &[],
        CREDS,
    );
    usage_error(&out, "did you mean STOPPED?");
    located(&out, &path, 5, "unknown status `STOPED`");
}
