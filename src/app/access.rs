//! `c` and `w`: getting into the selected instance from the dashboard. The
//! keys only say what to do (copy the ssh command, open the notebook URL);
//! the event loop carries it out, as it does for `y`.

use std::path::PathBuf;

use super::{App, Effect};
use crate::ssh::{HostKeys, Target};

impl App {
    /// Each source's key directory (its profile's `ssh_key_dir`), by source
    /// number, so `c` copies the same `-i` path `nbwatch ssh` uses.
    pub fn set_ssh_key_dirs(&mut self, dirs: Vec<Option<PathBuf>>) {
        self.ssh_key_dirs = dirs;
    }

    /// The selected instance's name and whole record, or a flash saying why not.
    fn selected_record(
        &mut self,
        key: char,
        now_ms: i64,
    ) -> Option<(String, crate::track::SourceId, crate::api::model::Notebook)> {
        let Some(t) = self.selected() else {
            self.flash_message("no instance selected", now_ms);
            return None;
        };
        let (name, source) = (t.name().to_string(), t.key.source);
        match self.track.records().get(&t.key) {
            Some(nb) => Some((name, source, nb.clone())),
            None => {
                self.flash_message(
                    format!("{name}: its endpoints are not read yet; open its detail (Enter) and press {key} again"),
                    now_ms,
                );
                None
            }
        }
    }

    /// `c`: the ssh command `nbwatch ssh NAME --print` prints, to the clipboard.
    pub(super) fn copy_ssh(&mut self, now_ms: i64) -> Vec<Effect> {
        let Some((name, source, nb)) = self.selected_record('c', now_ms) else {
            return Vec::new();
        };
        let dir = self
            .ssh_key_dirs
            .get(source.index())
            .cloned()
            .flatten()
            .unwrap_or_else(|| PathBuf::from("~/.ssh"));
        match Target::of(&nb, &dir, true) {
            Err(refusal) => {
                self.flash_message(refusal.message(&name), now_ms);
                Vec::new()
            }
            Ok(t) => {
                // No file is looked at here: the first key pair named.
                let line = t.command_line(t.key(|_| false), HostKeys::default(), &[]);
                let note = if t.address.port.is_none() {
                    " (its uri gives no port: ssh's default 22)"
                } else {
                    ""
                };
                self.flash_message(format!("copied{note}: {line}"), now_ms);
                vec![Effect::CopyToClipboard(line)]
            }
        }
    }

    /// `w`: the notebook's URL, for the event loop to open in the browser.
    pub(super) fn open_url(&mut self, now_ms: i64) -> Vec<Effect> {
        let Some((name, _, nb)) = self.selected_record('w', now_ms) else {
            return Vec::new();
        };
        match nb.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => {
                self.flash_message(format!("{name} has no notebook URL"), now_ms);
                Vec::new()
            }
            // Only a web address goes to the opener: it would open a file too.
            Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                self.flash_message(format!("{name}'s URL is not a web address: {url}"), now_ms);
                Vec::new()
            }
            Some(url) => {
                self.flash_message(format!("opening {url}"), now_ms);
                vec![Effect::OpenUrl(url.to_string())]
            }
        }
    }

    /// The event loop could not open `url` (`why`) and copied it: show it,
    /// URL first so a narrow status bar cuts the reason, not the address.
    pub fn url_not_opened(&mut self, url: &str, why: &str, now_ms: i64) {
        self.flash_message(
            format!("{url} · {why}: open it yourself (copied, OSC 52)"),
            now_ms,
        );
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::app::fixtures::{self, NOW, nb};

    fn app(extra: Vec<crate::api::model::Notebook>) -> App {
        let mut app = App::new(fixtures::timing());
        let mut all = fixtures::notebooks();
        all.extend(extra);
        app.sweep(all, NOW);
        app.set_ssh_key_dirs(vec![Some(PathBuf::from("/home/u/.ssh"))]);
        app
    }

    fn chr(app: &mut App, c: char) -> Vec<Effect> {
        app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), NOW)
    }

    fn select(app: &mut App, name: &str) {
        chr(app, 'g');
        for _ in 0..100 {
            if app.selected().map(|t| t.name()) == Some(name) {
                return;
            }
            chr(app, 'j');
        }
        panic!("no row {name}");
    }

    #[test]
    fn c_copies_the_ssh_command_with_the_profiles_key_dir() {
        let mut app = app(Vec::new());
        select(&mut app, "train-bert-large");
        let line = "ssh -i /home/u/.ssh/KeyPair-bert.pem -p 31205 -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o ServerAliveInterval=60 ma-user@dev-modelarts-cnnorth4.huaweicloud.com";
        assert_eq!(
            chr(&mut app, 'c'),
            vec![Effect::CopyToClipboard(line.into())]
        );
        assert_eq!(app.flash(NOW), Some(format!("copied: {line}").as_str()));
    }

    #[test]
    fn c_says_why_when_there_is_nothing_to_copy() {
        let mut stopped = nb("s-1", "zz-stopped-ssh", "STOPPED");
        stopped.endpoints = fixtures::notebooks()
            .into_iter()
            .find(|n| n.name_str() == "train-bert-large")
            .map(|n| n.endpoints)
            .unwrap_or_default();
        let mut app = app(vec![stopped]);
        select(&mut app, "zz-stopped-ssh");
        assert_eq!(chr(&mut app, 'c'), vec![]);
        let flash = app.flash(NOW).unwrap_or_default().to_string();
        assert!(
            flash.starts_with("zz-stopped-ssh is STOPPED, and SSH needs it RUNNING"),
            "{flash}"
        );
        let mut app2 = app_without_ssh();
        assert_eq!(chr(&mut app2, 'c'), vec![]);
        let flash = app2.flash(NOW).unwrap_or_default().to_string();
        assert!(flash.contains("has no SSH endpoint"), "{flash}");
    }

    fn app_without_ssh() -> App {
        let mut app = App::new(fixtures::timing());
        app.sweep(vec![nb("n-1", "plain", "RUNNING")], NOW);
        app
    }

    #[test]
    fn w_opens_the_notebook_url_and_a_failure_shows_it() {
        let mut app = app(Vec::new());
        select(&mut app, "train-bert-large");
        let url = "https://authoring-modelarts-cnnorth4.huaweicloud.com/3f6a2c1e/lab";
        assert_eq!(chr(&mut app, 'w'), vec![Effect::OpenUrl(url.into())]);
        assert_eq!(app.flash(NOW), Some(format!("opening {url}").as_str()));
        app.url_not_opened(url, crate::opener::NO_OPENER, NOW);
        assert_eq!(
            app.flash(NOW),
            Some(format!("{url} · no xdg-open or open to start a browser: open it yourself (copied, OSC 52)").as_str())
        );
        let mut plain = app_without_ssh();
        assert_eq!(chr(&mut plain, 'w'), vec![]);
        assert_eq!(plain.flash(NOW), Some("plain has no notebook URL"));
        let mut odd = nb("f-1", "odd", "RUNNING");
        odd.url = Some("file:///etc/passwd".into());
        let mut app = App::new(fixtures::timing());
        app.sweep(vec![odd], NOW);
        assert_eq!(chr(&mut app, 'w'), vec![]);
        assert!(
            app.flash(NOW)
                .unwrap_or_default()
                .contains("not a web address")
        );
    }
}
