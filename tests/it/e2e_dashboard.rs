//! End to end: the real `nbwatch` binary in a pseudo-terminal, its screen read
//! through a terminal emulator, keys typed as a user types them. Every test checks
//! that the terminal is given back (alternate screen left, cursor shown, mouse off,
//! cooked mode with echo) however the dashboard ends: `q`, SIGTERM, SIGHUP, a panic.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::support::dash::{
    Dash, Launch, Sim, WAIT, row_marked, row_of, row_status, table_rows, title_counts, title_line,
};
use crate::support::pty::{self, find_col, rows_text};
use nbwatch::api::model::Status;
use nbwatch::app::keys::{KEYMAP, keys_label};
use nbwatch::sim::Fault;

const ESC: &str = "\x1b";
const ENTER: &str = "\r";

fn is_problem(status: &str) -> bool {
    Status::parse(status).is_problem()
}

/// `(first, last, total)` from a scroll footer such as `1–36 of 56 · j/k scroll`.
fn scroll_range(screen: &str, marker: &str) -> Option<(usize, usize, usize)> {
    let line = screen.lines().find(|l| l.contains(marker))?;
    let (range, rest) = line.split_once(" of ")?;
    let range = range
        .rsplit(|c: char| !(c.is_ascii_digit() || c == '–'))
        .next()?;
    let (a, b) = range.split_once('–')?;
    let total: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((a.parse().ok()?, b.parse().ok()?, total.parse().ok()?))
}

/// Scrolls a pane with `key` until its footer (found by `marker`) says the end is
/// shown, collecting every line seen on the way.
fn read_scrolling(d: &mut Dash, marker: &str, key: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut last = None;
    for _ in 0..100 {
        let s = d.wait(&format!("a footer with {marker:?}"), |s| {
            scroll_range(s, marker).is_some()
        });
        let range = scroll_range(&s, marker).unwrap();
        for l in s.lines() {
            if !seen.iter().any(|x| x == l) {
                seen.push(l.to_string());
            }
        }
        if range.1 >= range.2 {
            return seen.join("\n");
        }
        assert_ne!(last, Some(range), "scrolling does not move:\n{s}");
        last = Some(range);
        d.send(&key.repeat(4));
        d.wait("the pane to scroll", |s| {
            scroll_range(s, marker).is_some_and(|r| r != range)
        });
    }
    panic!("never reached the end of the pane marked {marker:?}");
}

/// The user's walk through the demo: table, live name filter, problems only,
/// clearing, detail, help, quit.
fn walkthrough(cols: u16, rows: u16, fragment: &str) {
    let mut d = Launch::demo(cols, rows).start();
    let frag = fragment.to_lowercase();

    // The table appears with every instance shown, once both simulated
    // regions have answered.
    d.wait_table();
    let s = d.wait("every source loaded", |s| {
        let header = s.lines().next().unwrap_or_default();
        header.contains("cn-north-4") && header.contains("ap-southeast-3") && !header.contains('◌')
    });
    let (shown, total) = title_counts(&s).unwrap();
    assert_eq!(shown, total, "{}", d.screen());
    assert!(total > 10, "the demo shows its population: {total}");
    let s = d.screen();
    assert!(s.contains("DEMO"), "the header says it is a demo:\n{s}");
    let header = s.lines().find(|l| l.contains("NAME")).unwrap();
    assert!(header.contains("STATUS"), "{header}");

    // `/` and a fragment: the table filters while typing.
    d.send("/");
    d.wait("the filter prompt", |s| {
        s.lines().any(|l| l.trim_start().starts_with('/'))
    });
    d.send(fragment);
    // Wait for the whole fragment: the table filters on each character, so a
    // screen after the first one is filtered too, but not yet by all of it.
    let label = format!("name ~ \"{fragment}\"");
    let s = d.wait("the table to filter by the whole fragment", |s| {
        title_counts(s).is_some_and(|(n, t)| n < t && t == total)
            && !table_rows(s).is_empty()
            && s.contains(&label)
            && s.lines()
                .last()
                .is_some_and(|l| l.contains(&format!("/{fragment}")))
    });
    let typed = s.lines().last().unwrap_or_default();
    assert!(
        typed.contains(&format!("/{fragment}")),
        "the prompt shows what was typed: {typed:?}"
    );
    let filtered = table_rows(&s);
    for r in &filtered {
        let name = r.split_whitespace().next().unwrap();
        assert!(
            name.to_lowercase().contains(&frag),
            "{name:?} does not match {fragment:?}:\n{s}"
        );
    }
    let (n, _) = title_counts(&s).unwrap();
    assert!(
        n >= filtered.len(),
        "the title counts every matching row:\n{s}"
    );
    assert!(s.contains(&label), "the active filter is shown:\n{s}");
    assert!(title_line(&s).contains("filtered"), "{}", title_line(&s));

    // Enter keeps the filter and leaves the prompt.
    d.send(ENTER);
    let s = d.wait("the prompt to close", |s| {
        !s.lines()
            .any(|l| l.trim_start().starts_with(&format!("/{fragment}")))
    });
    assert!(s.contains(&label), "the filter stays after Enter:\n{s}");
    assert_eq!(title_counts(&s).map(|c| c.0), Some(n), "{s}");

    // `!`: problems only, on top of the name filter.
    d.send("!");
    let s = d.wait("problems only", |s| s.contains("problems only"));
    let problems = table_rows(&s);
    if problems.is_empty() {
        assert!(
            s.contains(&format!("None of the {total} instances match the filters")),
            "{s}"
        );
        let msg = s
            .lines()
            .find(|l| l.contains("problems only") && l.contains(&label));
        assert!(
            msg.is_some(),
            "the empty table names the active filters:\n{s}"
        );
    } else {
        for r in &problems {
            let st = row_status(r).unwrap();
            let name = r.split_whitespace().next().unwrap();
            assert!(is_problem(&st) || r.contains("stuck"), "not a problem: {r}");
            assert!(name.to_lowercase().contains(&frag), "{r}");
        }
    }

    // Esc clears every filter.
    d.send(ESC);
    let s = d.wait("the filters to clear", |s| {
        title_counts(s).is_some_and(|(n, t)| n == t) && !s.contains("problems only")
    });
    assert!(!s.contains(&label), "{s}");
    assert!(!title_line(&s).contains("filtered"), "{}", title_line(&s));

    // Enter: the full detail of the selected instance.
    d.send(ENTER);
    d.wait("the detail view", |s| {
        s.contains("── Image") && s.contains("Esc back")
    });
    let detail = read_scrolling(&mut d, "j/k scroll · Esc back", "j");
    for needle in [
        " id ",
        "── Image",
        "── Lease",
        "── Storage",
        "volume",
        "── Progress",
        "1 prepare storage",
        "2 prepare compute",
        "3 configure network",
        "4 initialise instance",
        "── Endpoints",
    ] {
        assert!(
            detail.contains(needle),
            "the detail lacks {needle:?}:\n{detail}"
        );
    }
    // The notebook's token: masked, only the last four characters shown.
    let token = detail
        .lines()
        .find_map(|l| {
            l.trim_matches(|c: char| c == '│' || c.is_whitespace())
                .strip_prefix("token")
        })
        .unwrap_or_else(|| panic!("no token line:\n{detail}"))
        .trim();
    let tail = token
        .strip_prefix("••••••••")
        .unwrap_or_else(|| panic!("token not masked: {token:?}"));
    assert!(
        tail.chars().count() <= 4 && !tail.contains('•'),
        "token shows too much: {token:?}"
    );

    // Back, then the help: generated from the keymap.
    d.send(ESC);
    d.wait("the table again", |s| s.contains("Enter detail"));
    d.send("?");
    d.wait("the help", |s| {
        s.contains("Keys") && s.contains("Esc closes")
    });
    let help = read_scrolling(&mut d, "j/k scroll · Esc closes", "j");
    for b in KEYMAP {
        let keys = keys_label(b);
        let found = help.lines().any(|l| {
            l.split('│').any(|cell| {
                let cell = cell.trim();
                cell.starts_with(&keys)
                    && cell[keys.len()..].trim_start().starts_with(b.description)
            })
        });
        assert!(found, "help lacks {keys:?} {:?}:\n{help}", b.description);
    }
    // `q` closes the help, a second `q` quits.
    d.send("q");
    d.wait("the help to close", |s| {
        !s.contains("Esc closes") && s.contains("Enter detail")
    });
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0, "{f:?}");
    f.assert_restored();
}

#[test]
fn demo_walkthrough_120x40() {
    walkthrough(120, 40, "demo");
}

#[test]
fn demo_walkthrough_80x24_with_a_cjk_fragment() {
    // "账户" matches the demo's frozen instance "frozen_账户欠费".
    walkthrough(80, 24, "账户");
}

#[test]
fn quit_gives_the_terminal_back() {
    let mut d = Launch::demo(100, 30).start();
    d.wait_table();
    assert!(
        d.pty.alternate_screen(),
        "the dashboard runs on the alternate screen"
    );
    let mouse_on = d.pty.with_screen(|s| s.mouse_protocol_mode());
    assert_ne!(
        mouse_on,
        vt100::MouseProtocolMode::None,
        "the mouse is captured while running"
    );
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();
    // The shell's report is on the normal screen, nothing of the dashboard is.
    assert!(f.screen.contains("EXIT=0"), "{}", f.screen);
    assert!(!f.screen.contains("Notebooks"), "{}", f.screen);
}

fn dies_cleanly_on(sig: &str) {
    let mut d = Launch::demo(100, 30).start();
    d.wait_table();
    let pid = d.nbwatch_pid();
    pty::signal(pid, sig);
    let f = d.finish();
    // Exit code 0: the signal was handled (an unhandled SIGTERM would give 143).
    assert_eq!(f.code, 0, "exit after SIG{sig}; {f:?}");
    assert!(!pty::alive(pid));
    f.assert_restored();
}

#[test]
fn sigterm_gives_the_terminal_back() {
    dies_cleanly_on("TERM");
}

#[test]
fn sighup_gives_the_terminal_back() {
    dies_cleanly_on("HUP");
}

#[test]
fn a_panic_gives_the_terminal_back_and_stays_readable() {
    // The shipped dashboard has no panic hook for tests: a test-only target runs
    // the same dashboard and terminal guard and panics on the dashboard's thread.
    let mut d = Launch::demo(100, 30).panicking_after(800).start();
    d.wait_table();
    let f = d.finish();
    assert_eq!(f.code, 101, "a panic exits with 101; {f:?}");
    f.assert_restored();
    let msg = "test panic requested by NBWATCH_PANIC_AFTER_MS";
    assert!(
        f.screen.contains(msg),
        "the panic message is on the normal screen:\n{}",
        f.screen
    );
    // It was printed after the alternate screen was left, not lost on it.
    assert!(
        f.raw.rfind(msg) > f.raw.rfind("\x1b[?1049l"),
        "printed before leaving the alternate screen"
    );
}

#[test]
fn a_creation_reaches_running_on_screen() {
    let sim = Sim::manual(true);
    let mut d = Launch::against(&sim, 120, 40).start();
    let name = "demo-创建中-gpu";
    let s = d.wait("the scripted creation", |s| row_of(s, name).is_some());
    assert_eq!(
        row_of(&s, name).and_then(|r| row_status(&r)).as_deref(),
        Some("CREATING"),
        "{s}"
    );
    // Move simulated time on, a few seconds per poll the dashboard makes.
    let start = Instant::now();
    let mut polled = sim.handle.request_count();
    let mut advanced = 0;
    loop {
        let s = d.screen();
        if row_of(&s, name).and_then(|r| row_status(&r)).as_deref() == Some("RUNNING") {
            // The change is pointed out, not just redrawn.
            assert!(
                row_marked(&s, name),
                "the row is not marked as changed:\n{s}"
            );
            break;
        }
        assert!(
            start.elapsed() < WAIT && advanced <= 60_000,
            "never RUNNING:\n{s}"
        );
        let now = sim.handle.request_count();
        if now > polled {
            polled = now;
            sim.handle.advance(4_000);
            advanced += 4_000;
        }
        std::thread::sleep(pty::POLL);
    }
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();
}

fn name_status(screen: &str) -> Vec<(String, String)> {
    table_rows(screen)
        .iter()
        .map(|r| {
            let name = r.split_whitespace().next().unwrap_or_default().to_string();
            (name, row_status(r).unwrap_or_default())
        })
        .collect()
}

#[test]
fn a_failing_service_keeps_the_last_data_and_recovers_unattended() {
    let sim = Sim::manual(false);
    let mut d = Launch::against(&sim, 120, 40).start();
    let (_, total) = d.wait_table();
    // Names and statuses: ages keep counting on screen while the data stands still.
    let before = name_status(&d.screen());
    assert!(!before.is_empty());

    sim.handle.set_faults(&["500".parse::<Fault>().unwrap()]);
    let s = d.wait("the error", |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("✗ 500 ModelArts.0010"))
            && s.lines()
                .any(|l| l.contains("✗ 500 ModelArts.0010 · attempt"))
    });
    // The last good data stays on screen, and the header says how old it is.
    assert_eq!(name_status(&s), before, "the rows stay while failing:\n{s}");
    assert_eq!(title_counts(&s), Some((total, total)));
    assert!(s.lines().next().unwrap().contains("data "), "{s}");

    sim.handle.clear_faults();
    let s = d.wait("recovery", |s| {
        let h = s.lines().next().unwrap_or_default();
        h.contains("last complete sweep ") && h.contains(" ago") && !s.contains("✗ 500")
    });
    assert_eq!(title_counts(&s), Some((total, total)), "{s}");
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();
}

/// Seconds in the status bar's `polling stopped Ns ago` (0 when absent).
fn stopped_secs_ago(screen: &str) -> u64 {
    screen
        .split("polling stopped ")
        .skip(1)
        .find_map(|rest| rest.split("s ago").next()?.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_wrong_secret_stops_polling_until_r() {
    let sim = Sim::manual(false);
    let mut d = Launch::against(&sim, 120, 40)
        .env(
            "HUAWEICLOUD_SDK_SK",
            "not-the-right-secret-key-0000000000000000",
        )
        .start();
    let s = d.wait("the auth stop", |s| s.contains("polling stopped"));
    let bar = s
        .lines()
        .find(|l| l.contains("press r"))
        .unwrap_or_else(|| panic!("no hint:\n{s}"));
    assert!(
        bar.contains("✗ 401 APIGW.0301"),
        "the bar says what failed: {bar}"
    );
    assert!(
        bar.contains("polling stopped 0s ago so the AK is not locked"),
        "and why it stopped: {bar}"
    );
    assert!(s.lines().next().unwrap().contains("no data yet"), "{s}");
    assert!(
        !s.contains("not-the-right-secret"),
        "the SK never reaches the screen"
    );
    assert_eq!(sim.handle.request_count(), 1);
    // Several 1 s intervals pass on the dashboard's own clock, which says how
    // long ago it stopped: nothing is sent (five bad signatures lock an AK).
    d.wait("three intervals since the stop", |s| {
        stopped_secs_ago(s) >= 3
    });
    assert_eq!(sim.handle.request_count(), 1, "polling did not stop");

    d.send("r");
    sim.wait_requests(2);
    d.wait("the auth stop again", |s| {
        s.contains("polling stopped") && stopped_secs_ago(s) < 3
    });
    d.wait("two intervals since the second stop", |s| {
        stopped_secs_ago(s) >= 2
    });
    assert_eq!(sim.handle.request_count(), 2, "r sends exactly one request");
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();
}

#[test]
fn no_color_keeps_statuses_apart_by_symbol() {
    let sim = Sim::manual(true);
    let mut d = Launch::against(&sim, 120, 40).env("NO_COLOR", "1").start();
    d.wait_table();
    let s = d.wait("the header counts", |s| s.contains("problems"));
    let rows = table_rows(&s);
    let symbols: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| {
            crate::support::dash::SYMBOLS
                .iter()
                .find(|sym| r.split_whitespace().any(|w| w == **sym))
        })
        .copied()
        .collect();
    assert!(
        symbols.len() >= 4,
        "statuses need distinct symbols: {symbols:?}\n{s}"
    );
    for sym in ["●", "○", "◐", "✗"] {
        assert!(
            s.lines().nth(1).unwrap().contains(sym),
            "header lacks {sym}:\n{s}"
        );
    }
    let coloured = d.pty.with_screen(|sc| {
        let (rows, cols) = sc.size();
        let mut out = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let cell = sc.cell(r, c).unwrap();
                if cell.fgcolor() != vt100::Color::Default
                    || cell.bgcolor() != vt100::Color::Default
                {
                    out.push((r, c, cell.contents(), cell.fgcolor(), cell.bgcolor()));
                }
            }
        }
        out
    });
    assert!(
        coloured.is_empty(),
        "NO_COLOR, yet coloured cells: {:?}",
        &coloured[..coloured.len().min(10)]
    );
    d.send("q");
    d.finish().assert_restored();
}

/// The colour of each visible table row's status cell: (status, colour).
fn status_colours(d: &Dash) -> Vec<(String, vt100::Color)> {
    d.pty.with_screen(|sc| {
        let lines = rows_text(sc);
        let Some(top) = lines.iter().position(|l| l.contains("┌ Notebooks ")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (r, line) in lines.iter().enumerate().skip(top + 1) {
            if line.starts_with('└') {
                break;
            }
            let Some(st) = row_status(line.trim_matches(|c: char| c == '│' || c.is_whitespace()))
            else {
                continue;
            };
            let col = crate::support::dash::SYMBOLS
                .iter()
                .find_map(|sym| find_col(line, &format!("{sym} {st}")));
            if let Some(cell) = col.and_then(|c| sc.cell(u16::try_from(r).unwrap(), c)) {
                out.push((st, cell.fgcolor()));
            }
        }
        out
    })
}

fn is_red(c: vt100::Color) -> bool {
    match c {
        vt100::Color::Idx(1) | vt100::Color::Idx(9) => true,
        vt100::Color::Rgb(r, g, b) => r > 150 && g < 100 && b < 100,
        _ => false,
    }
}

#[test]
fn problem_statuses_are_red() {
    let sim = Sim::manual(true);
    let mut d = Launch::against(&sim, 120, 40).start();
    d.wait_table();
    // Problems only: every row left is a problem and drawn in red.
    d.send("!");
    let s = d.wait("problem rows", |s| {
        s.contains("problems only") && !table_rows(s).is_empty()
    });
    let colours = status_colours(&d);
    assert!(!colours.is_empty(), "{s}");
    assert!(
        colours
            .iter()
            .any(|(st, _)| st == "FROZEN" || st == "CREATE_FAILED"),
        "the scripted FROZEN / CREATE_FAILED instances are shown:\n{s}"
    );
    for (st, c) in &colours {
        assert!(is_problem(st), "{st} under problems only:\n{s}");
        assert!(is_red(*c), "{st} is drawn in {c:?}, not red");
    }
    // And not everything is red: a running instance is not.
    d.send(ESC);
    d.wait("all rows", |s| title_counts(s).is_some_and(|(n, t)| n == t));
    let colours = status_colours(&d);
    let running: Vec<_> = colours.iter().filter(|(st, _)| st == "RUNNING").collect();
    assert!(!running.is_empty(), "{}", d.screen());
    assert!(
        running
            .iter()
            .all(|(_, c)| !is_red(*c) && *c != vt100::Color::Default),
        "{running:?}"
    );
    d.send("q");
    d.finish().assert_restored();
}

/// At scale the state keeps each row's fields only; the detail pane reads the
/// whole record of the instance it shows (one ShowNotebook once the selection
/// rests), and shows it. Twice as many instances as whole records kept
/// (`defaults::FULL_RECORDS`) leave half the rows with their fields only, as
/// in a large project; polling is paused, so the one request the simulator
/// gets for such a row is the pane's read.
#[test]
fn the_detail_pane_reads_a_record_not_held() {
    let now = nbwatch::sim::clock::wall_now_ms();
    let sim = Sim::start(nbwatch::sim::SimConfig {
        instances: 2 * nbwatch::defaults::FULL_RECORDS,
        ..nbwatch::sim::SimConfig::manual_at(now)
    });
    let mut d = Launch::against(&sim, 200, 50).start();
    d.wait("every row", |s| {
        title_counts(s)
            .is_some_and(|(shown, all)| shown == all && all > nbwatch::defaults::FULL_RECORDS)
    });
    d.send("p");
    d.wait("polling paused", |s| s.contains("PAUSED"));
    // Walk up from the last row to one whose whole record the pages did not leave.
    d.send("G");
    let mut screen = d.screen();
    for _ in 0..200 {
        let asked = sim.handle.request_count();
        let s = d.wait("the pane after a move", |s| s != screen);
        if s.contains("(ShowNotebook)…") {
            let s = d.wait("the whole record in the detail pane", |s| {
                s.contains("── Storage") && s.contains("── Endpoints")
            });
            assert!(!s.contains("(ShowNotebook)…"), "{s}");
            assert!(
                sim.handle.request_count() > asked,
                "the pane read the record: paused, nothing else asks"
            );
            d.send("q");
            d.finish().assert_restored();
            return;
        }
        screen = s;
        d.send("k");
    }
    panic!("no row without its whole record among the last 200:\n{screen}");
}
