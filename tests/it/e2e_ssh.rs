//! The dashboard's `w` and `c` in a real terminal: `w` starts the opener found
//! on PATH (a stand-in that records its argument) with the selected
//! instance's notebook URL and keeps running; `c` answers on the status bar.
use crate::support::dash::Launch;
use crate::support::home::Home;

#[test]
fn w_opens_the_notebook_url_with_the_opener_on_path_and_c_answers() {
    let bin = Home::new("opener");
    let got = bin.str("opened");
    let script = format!("#!/bin/sh\necho \"$1\" > '{got}'\n");
    bin.write("bin/xdg-open", &script, 0o755);
    bin.write("bin/open", &script, 0o755);
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.str("bin"));
    let mut d = Launch::demo(160, 40)
        .arg("--status")
        .arg("RUNNING")
        .env("PATH", &path)
        .start();
    d.wait_table();
    d.send("w");
    // The opener ran with the URL the status bar names (waited for together:
    // the line may be drawn in more than one write).
    let screen = d.wait("the opener's URL on the status bar", |s| {
        let url = std::fs::read_to_string(&got).unwrap_or_default();
        let url = url.trim();
        !url.is_empty() && s.contains(&format!("opening {url}"))
    });
    let url = std::fs::read_to_string(&got).unwrap_or_default();
    let url = url.trim();
    assert!(
        url.starts_with("https://authoring-modelarts-"),
        "{url}\n{screen}"
    );
    // `c` on a RUNNING row: its ssh command, or why it has none.
    d.send("c");
    d.wait("c's answer", |s| {
        s.contains("copied: ssh -i ")
            || s.contains("copied (its uri gives no port")
            || s.contains("has no SSH endpoint")
    });
    d.send("q");
    let f = d.finish();
    assert_eq!(f.code, 0);
    f.assert_restored();
}
