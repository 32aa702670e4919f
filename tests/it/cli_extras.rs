//! What a command-line user expects beyond `list`: completions for each shell,
//! a manual page, a first run that says what is missing, and `--demo` taking
//! the same flags as a real account.

use crate::support::home::{Home, nbwatch};

#[test]
fn completions_exist_for_every_shell_and_know_the_subcommands_and_flags() {
    let home = Home::new("compl");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = nbwatch(&home, &["completions", shell], &[]);
        assert_eq!(out.code, Some(0), "{shell}: {out:?}");
        // Flags by name: fish writes `-l demo` where the others write `--demo`.
        for word in ["list", "sim", "demo", "budget", "status"] {
            assert!(out.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    let bad = nbwatch(&home, &["completions", "tcsh"], &[]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("possible values"), "{bad:?}");
}

#[test]
fn the_man_page_documents_every_flag_with_its_default() {
    let home = Home::new("man");
    let out = nbwatch(&home, &["man"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.starts_with(".ie"),
        "roff: {:?}",
        &out.stdout[..40]
    );
    assert!(out.stdout.contains(".TH nbwatch 1"), "a section-1 page");
    // roff escapes the dashes of flags.
    for flag in [
        "budget",
        "fast\\-interval",
        "stuck\\-after",
        "demo",
        "page\\-size",
    ] {
        assert!(out.stdout.contains(flag), "man page lacks {flag}");
    }
    let budget = nbwatch::defaults::BUDGET_PER_MINUTE;
    assert!(
        out.stdout.contains(&format!("[default: {budget}]")),
        "defaults come from their one home"
    );
}

#[test]
fn help_shows_the_defaults_the_program_uses() {
    let home = Home::new("help");
    let out = nbwatch(&home, &["--help"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    // Written as a duration is read: the one reader and writer of durations.
    let d = nbwatch::timefmt::written_secs(nbwatch::defaults::INTERVAL.as_secs_f64());
    assert_eq!(d, "5s");
    assert!(
        out.stdout
            .contains(&format!("a bare number is seconds) [default: {d}]")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("10, 20 or 50 [default: 50]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_first_run_with_nothing_configured_says_what_is_missing_and_offers_the_demo() {
    let home = Home::new("first");
    for args in [&["list"][..], &[][..]] {
        let out = nbwatch(&home, args, &[]);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert_eq!(out.stdout, "");
        out.assert_no_panic();
        let line = out.stderr.trim_end();
        assert_eq!(line.lines().count(), 1, "one message: {line}");
        assert!(line.contains("no region (or endpoint)"), "{line}");
        assert!(line.contains("no credentials"), "{line}");
        assert!(line.contains("nbwatch --demo"), "{line}");
        assert!(line.contains("HUAWEICLOUD_SDK_AK"), "{line}");
    }
}

#[test]
fn with_credentials_but_no_region_only_the_region_is_asked_for() {
    let home = Home::new("noregion");
    let out = nbwatch(
        &home,
        &["list"],
        &[
            ("HUAWEICLOUD_SDK_AK", "AKNOREGION0000000001"),
            ("HUAWEICLOUD_SDK_SK", "no-region-secret-key-0000"),
        ],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("no region or endpoint"), "{out:?}");
    assert!(!out.stderr.contains("no credentials"), "{out:?}");
}

#[test]
fn the_demo_goes_through_the_config_resolver_like_any_account() {
    let home = Home::new("demo");
    // Flags the demo used to ignore are now checked, with the same messages.
    let out = nbwatch(&home, &["--demo", "--budget", "0", "list"], &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("request budget 0 per minute is out of range"),
        "{out:?}"
    );
    let out = nbwatch(&home, &["--demo", "--interval", "0.1", "list"], &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("interval 100ms is out of range"),
        "{out:?}"
    );
    let out = nbwatch(&home, &["--demo", "--timeout", "0", "list"], &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    // And the environment's settings apply to it too.
    let out = nbwatch(&home, &["--demo", "list"], &[("NBWATCH_PAGE_SIZE", "30")]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("page size 30 is not allowed"),
        "{out:?}"
    );
    // A good flag set lists the demo's instances, filtered server-side.
    let out = nbwatch(
        &home,
        &[
            "--demo",
            "--concurrency",
            "2",
            "--status",
            "RUNNING",
            "list",
            "-o",
            "csv",
        ],
        &[],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert!(!rows.is_empty(), "{out:?}");
    assert!(rows.iter().all(|r| r.contains("RUNNING")), "{}", out.stdout);
}

#[test]
fn the_journal_prints_as_a_filtered_timeline() {
    use nbwatch::journal::{Entry, Kind, Writer};
    let home = Home::new("journal");
    let path = home.join("j/nbwatch.jsonl");
    let now = nbwatch::timefmt::now_ms();
    let mut w = Writer::open(&path, 1 << 20).unwrap();
    for (ago_min, name, from, to) in [
        (300, "train-01", "RUNNING", "ERROR"),
        (30, "infer-02", "STOPPED", "STARTING"),
        (10, "train-03", "STARTING", "RUNNING"),
    ] {
        let mut e = Entry::new(now - ago_min * 60_000, "demo", name, name, Kind::Changed);
        e.from = Some(from.into());
        e.to = Some(to.into());
        w.append(&e).unwrap();
    }
    drop(w);
    let file = path.to_string_lossy().into_owned();
    let out = nbwatch(&home, &["journal", &file, "--color", "never"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(
        lines[0].contains("train-01  ● RUNNING → ✗ ERROR"),
        "{}",
        out.stdout
    );
    let out = nbwatch(
        &home,
        &["journal", &file, "--since", "1h", "--name", "TRAIN"],
        &[],
    );
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(!out.stdout.contains('\x1b'), "no colour into a pipe");
    let out = nbwatch(
        &home,
        &[
            "journal", &file, "--status", "starting", "--color", "always",
        ],
        &[],
    );
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("\x1b[34m◐ STARTING\x1b[0m"),
        "{:?}",
        out.stdout
    );
    let bad = nbwatch(&home, &["journal", &file, "--since", "yesterday"], &[]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(bad.stderr.contains("fix: write e.g. 30m"), "{bad:?}");
    let missing = nbwatch(&home, &["journal", &home.str("nope.jsonl")], &[]);
    assert_eq!(missing.code, Some(2), "{missing:?}");
    assert!(
        missing.stderr.contains("cannot read the journal"),
        "{missing:?}"
    );
}
