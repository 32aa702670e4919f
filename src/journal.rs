//! The journal: every change nbwatch sees, one JSON object a line, appended to a
//! file that `jq` reads and `nbwatch journal` prints back as a timeline
//! (`output::timeline`).
//!
//! ```text
//! {"time":"2026-11-30T02:14:07Z","source":"demo","id":"…","name":"train-03","kind":"changed","from":"RUNNING","to":"ERROR","fail_reason":"OOM"}
//! ```
//!
//! The file is size-capped: past the cap it is renamed to `FILE.1` (replacing an
//! older one) and a new `FILE` begins, so a watch left running for months keeps
//! at most twice the cap on disk. The reader reads `FILE.1` then `FILE`.
//! No secret is ever written: an entry holds names, ids, statuses and the
//! service's failure reason, never a token or a credential.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::timefmt::iso_utc;

/// The default size at which the journal is rotated.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Seen for the first time (after the first sweep: created meanwhile).
    Appeared,
    /// The status changed.
    Changed,
    /// No longer listed, confirmed.
    Gone,
    /// The auto-stop comes within the warning lead time.
    LeaseWarning,
    /// In a transitional status for longer than the stuck threshold.
    Stuck,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Appeared => "appeared",
            Kind::Changed => "changed",
            Kind::Gone => "gone",
            Kind::LeaseWarning => "lease-warning",
            Kind::Stuck => "stuck",
        }
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When nbwatch saw it, RFC 3339 in UTC (`2026-11-30T02:14:07Z`).
    pub time: String,
    /// The profile (or region/project) the instance belongs to.
    pub source: String,
    pub id: String,
    pub name: String,
    pub kind: Kind,
    /// The status before (changed, gone, stuck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The status after (appeared, changed; the current one for warnings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// For a lease warning: when the instance will be stopped (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stops_at: Option<String>,
}

impl Entry {
    /// An entry stamped with `at_ms` (epoch milliseconds).
    pub fn new(at_ms: i64, source: &str, id: &str, name: &str, kind: Kind) -> Entry {
        Entry {
            time: iso_utc(at_ms),
            source: source.to_string(),
            id: id.to_string(),
            name: name.to_string(),
            kind,
            from: None,
            to: None,
            fail_reason: None,
            stops_at: None,
        }
    }

    /// The entry's time as epoch milliseconds, if it parses.
    pub fn at_ms(&self) -> Option<i64> {
        let t =
            time::OffsetDateTime::parse(&self.time, &time::format_description::well_known::Rfc3339)
                .ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
    }

    /// One JSON object, no newline.
    pub fn to_json(&self) -> String {
        // An Entry is strings and a plain enum: serialising it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Appends entries to a journal file, rotating it at a size cap.
#[derive(Debug)]
pub struct Writer {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
}

impl Writer {
    /// Opens (or creates, with its directory) `path` for appending; private to
    /// the user (mode 600 on unix).
    pub fn open(path: &Path, max_bytes: u64) -> io::Result<Writer> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Writer {
            path: path.to_path_buf(),
            file,
            size,
            max_bytes: max_bytes.max(1),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one entry as one line, rotating first if it would pass the cap.
    pub fn append(&mut self, e: &Entry) -> io::Result<()> {
        let mut line = e.to_json();
        line.push('\n');
        let len = line.len() as u64;
        if self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        // One write per line, so a reader (or `tail -f | jq`) never sees half of one.
        self.file.write_all(line.as_bytes())?;
        self.size += len;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        std::fs::rename(&self.path, rotated(&self.path))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Where the previous part of a rotated journal is kept: `FILE.1`.
pub fn rotated(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".1");
    PathBuf::from(s)
}

/// What was read back: the entries, oldest first, and lines that were not entries.
#[derive(Debug, Default)]
pub struct ReadBack {
    pub entries: Vec<Entry>,
    pub unreadable_lines: usize,
}

/// Reads `FILE.1` (if any) then `FILE`. A missing `FILE` is an error; a line
/// that is not an entry (a torn write, another program's text) is counted and
/// skipped.
pub fn read(path: &Path) -> io::Result<ReadBack> {
    let mut out = ReadBack::default();
    let old = rotated(path);
    if old.exists() {
        read_into(&old, &mut out)?;
    }
    read_into(path, &mut out)?;
    Ok(out)
}

fn read_into(path: &Path, out: &mut ReadBack) -> io::Result<()> {
    let reader = BufReader::new(File::open(path)?);
    for line in reader.split(b'\n') {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(&line) {
            Ok(e) => out.entries.push(e),
            Err(_) => out.unreadable_lines += 1,
        }
    }
    Ok(())
}

/// Which entries a timeline shows.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Case-insensitive part of the name.
    pub name: Option<String>,
    /// A status the entry went from or to (case-insensitive).
    pub status: Option<String>,
    /// Only entries at or after this time (epoch ms).
    pub since_ms: Option<i64>,
}

impl Selection {
    pub fn matches(&self, e: &Entry) -> bool {
        if let Some(n) = &self.name
            && !e.name.to_lowercase().contains(&n.to_lowercase())
        {
            return false;
        }
        if let Some(s) = &self.status {
            let is = |v: &Option<String>| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(s));
            if !is(&e.from) && !is(&e.to) {
                return false;
            }
        }
        if let Some(since) = self.since_ms {
            // An entry whose time does not parse is kept: hiding it would hide data.
            if e.at_ms().is_some_and(|t| t < since) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_854_600_000; // 2026-11-28T08:30:00Z

    fn changed(at: i64, name: &str, from: &str, to: &str) -> Entry {
        let mut e = Entry::new(at, "demo", &format!("id-{name}"), name, Kind::Changed);
        e.from = Some(from.into());
        e.to = Some(to.into());
        e
    }

    #[test]
    fn an_entry_is_one_json_line_that_reads_back_the_same() {
        let mut e = changed(T0, "train \"03\"\n", "RUNNING", "ERROR");
        e.fail_reason = Some("OOM".into());
        let json = e.to_json();
        assert!(!json.contains('\n'), "{json}");
        assert!(
            json.starts_with(r#"{"time":"2026-11-28T08:30:00Z","source":"demo""#),
            "{json}"
        );
        assert!(
            json.contains(r#""kind":"changed","from":"RUNNING","to":"ERROR","fail_reason":"OOM""#),
            "{json}"
        );
        assert!(
            !json.contains("stops_at"),
            "absent fields are left out: {json}"
        );
        let back: Entry = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.at_ms(), Some(T0));
        let lease = Entry::new(T0, "p", "i", "n", Kind::LeaseWarning).to_json();
        assert!(lease.contains(r#""kind":"lease-warning""#), "{lease}");
    }

    #[test]
    fn the_writer_appends_and_rotates_at_its_cap_keeping_one_old_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/journal.jsonl");
        let line_len = changed(T0, "a", "RUNNING", "STOPPING").to_json().len() as u64 + 1;
        let mut w = Writer::open(&path, line_len * 3).unwrap();
        for i in 0..7 {
            w.append(&changed(T0 + i * 1000, "a", "RUNNING", "STOPPING"))
                .unwrap();
        }
        // 7 lines with room for 3 a part: the old part holds lines 4–6, the new one line 7.
        let old = std::fs::read_to_string(rotated(&path)).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert_eq!(old.lines().count(), 3);
        assert_eq!(new.lines().count(), 1);
        let back = read(&path).unwrap();
        let times: Vec<i64> = back.entries.iter().filter_map(Entry::at_ms).collect();
        assert_eq!(times, [3, 4, 5, 6].map(|i| T0 + i * 1000), "oldest first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Reopening continues the file where it was.
        drop(w);
        let mut w = Writer::open(&path, line_len * 3).unwrap();
        w.append(&changed(T0, "b", "STOPPED", "STARTING")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    #[test]
    fn torn_and_foreign_lines_are_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let good = changed(T0, "a", "RUNNING", "ERROR").to_json();
        std::fs::write(
            &path,
            format!("{good}\nnot json\n\n{{\"time\":\"x\"}}\n{}", &good[..20]),
        )
        .unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.entries.len(), 1);
        assert_eq!(back.unreadable_lines, 3);
        assert!(read(&dir.path().join("missing")).is_err());
    }
}
