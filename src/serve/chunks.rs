//! The instance families kept pre-rendered, compressed per group of instances,
//! and re-rendered only where an instance changed (as kube-state-metrics keeps a
//! rendered chunk per object).
//!
//! The exposition format wants every sample of a family together, so the text
//! is cut by family and by group of instances: one compressed part per (family,
//! group). A scrape joins, per family, its header then every group's part; each
//! part is a raw deflate stream of its own ended by a sync flush, so the parts
//! concatenate into one valid deflate stream (one gzip member, see
//! [`super::gzip`]). When an instance changes, only its group's parts of the
//! families whose lines changed are rendered and compressed again: the work is
//! proportional to what changed, times the group size. Bigger groups compress
//! better (a part shares no history with the others) and cost more per change;
//! [`GROUP`] is the measured compromise (BENCHMARKS.md).
//!
//! What to look at comes in as [`Touched`]: the keys the state says may have
//! changed or gone. Each is rendered and its lines' fingerprint compared with
//! the one kept, so a sweep page that only confirms instances costs no
//! compression at all.

use std::fmt::{self, Write as _};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;

use super::families::{
    Family, Format, NOTEBOOK_CREATED, NOTEBOOK_INFO, NOTEBOOK_LEASE_EXPIRY, NOTEBOOK_STATUS,
    NOTEBOOK_STATUS_CURRENT, NOTEBOOK_STATUS_SINCE,
};
use super::gzip::{Deflater, Joined, Packed};
use super::state::{Exporter, Touched};
use crate::api::model::Status;
use crate::app::Tracked;
use crate::app::tracked::lease_applies;
use crate::track::InstanceKey;

/// Instances per group: see the module's documentation and BENCHMARKS.md.
pub const GROUP: usize = 64;

/// Which status series `serve` exports per instance (`--status-series`, its
/// spelling in `cli.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusSeries {
    /// One series per instance, for the status it is in, set to 1.
    #[default]
    Current,
    /// One series per documented status (14) per instance, 1 for the current
    /// one and 0 for the others, as kube-state-metrics does for the pod phase.
    All,
}

/// The instance families, in the order they are written.
const FAMILIES: usize = 5;
const INFO: usize = 0;
const STATUS: usize = 1;
const CREATED: usize = 2;
const SINCE: usize = 3;
const LEASE: usize = 4;

/// An instance held: its group and the fingerprint of its lines per family.
struct Slot {
    group: usize,
    prints: [u64; FAMILIES],
}

/// Up to [`GROUP`] instances, with their compressed lines per family.
struct Group {
    members: Vec<InstanceKey>,
    parts: [Packed; FAMILIES],
}

/// The pre-rendered instance families.
pub struct Store {
    mode: StatusSeries,
    /// Instances per group: [`GROUP`].
    group: usize,
    /// The sample names, per family.
    names: [String; FAMILIES],
    /// The families' header lines (HELP, TYPE, UNIT), compressed, per format.
    headers: [[Packed; FAMILIES]; 2],
    slots: crate::track::KeyMap<Slot>,
    groups: Vec<Group>,
    /// Groups with room for another instance.
    open: Vec<usize>,
    /// The joined parts per format, until the next change.
    joined: [Option<std::sync::Arc<Joined>>; 2],
    /// One instance's lines while its fingerprints are taken.
    scratch: String,
    /// Reset between parts, not made anew for each.
    deflater: Deflater,
    /// Nothing rendered yet: the first update looks at every instance.
    fresh: bool,
}

fn families(mode: StatusSeries) -> [&'static Family; FAMILIES] {
    let status = match mode {
        StatusSeries::All => &NOTEBOOK_STATUS,
        StatusSeries::Current => &NOTEBOOK_STATUS_CURRENT,
    };
    [
        &NOTEBOOK_INFO,
        status,
        &NOTEBOOK_CREATED,
        &NOTEBOOK_STATUS_SINCE,
        &NOTEBOOK_LEASE_EXPIRY,
    ]
}

impl Store {
    pub fn new(mode: StatusSeries) -> Store {
        Store::with_group_size(mode, GROUP)
    }

    /// A store whose groups hold `group` instances rather than [`GROUP`]
    /// (`benches/serve.rs` compares sizes).
    pub fn with_group_size(mode: StatusSeries, group: usize) -> Store {
        let fams = families(mode);
        let mut deflater = Deflater::new(1024);
        let mut header = |format: Format| {
            std::array::from_fn(|f| {
                let mut reg = Registry::default();
                reg.register_collector(Box::new(Header(fams[f])));
                let mut text = String::new();
                let ok = match format {
                    Format::Classic => {
                        prometheus_client::encoding::prometheus_text::encode(&mut text, &reg)
                    }
                    Format::OpenMetrics => {
                        prometheus_client::encoding::text::encode_registry(&mut text, &reg)
                    }
                };
                if ok.is_err() {
                    // Writing to memory cannot fail; an encoder error would be a bug.
                    tracing::error!("encoding a metric header failed");
                }
                compress(&mut deflater, |out| out.write_str(&text))
            })
        };
        let headers = [header(Format::Classic), header(Format::OpenMetrics)];
        Store {
            mode,
            group: group.max(1),
            names: std::array::from_fn(|f| fams[f].exposed_name()),
            headers,
            slots: crate::track::KeyMap::default(),
            groups: Vec::new(),
            open: Vec::new(),
            joined: [None, None],
            scratch: String::with_capacity(4096),
            deflater,
            fresh: true,
        }
    }

    pub fn mode(&self) -> StatusSeries {
        self.mode
    }

    /// The instances held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Brings the store in line with `ex` where `touched` says it may differ:
    /// renders each touched instance, and compresses again the parts of the
    /// groups whose lines changed. Returns how many parts were compressed.
    pub fn update(&mut self, mut touched: Touched, ex: &Exporter) -> usize {
        touched.all |= std::mem::take(&mut self.fresh);
        if touched.is_empty() {
            return 0;
        }
        let mut stale: Vec<[bool; FAMILIES]> = vec![[false; FAMILIES]; self.groups.len()];
        if touched.all || touched.sweep_ended {
            let gone: Vec<InstanceKey> = self
                .slots
                .keys()
                .filter(|k| ex.get(k).is_none())
                .cloned()
                .collect();
            for key in gone {
                self.remove(&key, &mut stale);
            }
        }
        if touched.all {
            for t in ex.instances() {
                self.check(t, &mut stale);
            }
        }
        let mut keys = touched.keys;
        keys.sort_unstable();
        keys.dedup();
        for key in &keys {
            match ex.get(key) {
                Some(t) => self.check(t, &mut stale),
                None => self.remove(key, &mut stale),
            }
        }
        let mut compressed = 0;
        for (g, fams) in stale.iter().enumerate() {
            for f in (0..FAMILIES).filter(|f| fams[*f]) {
                self.render_part(g, f, ex);
                compressed += 1;
            }
        }
        if compressed > 0 {
            self.joined = [None, None];
        }
        compressed
    }

    /// Every family's header and parts, in `format`, joined (kept until the
    /// next change).
    pub fn joined(&mut self, format: Format) -> std::sync::Arc<Joined> {
        let i = format.index();
        if let Some(j) = &self.joined[i] {
            return std::sync::Arc::clone(j);
        }
        let headers = &self.headers[i];
        let groups = &self.groups;
        let j = std::sync::Arc::new(Joined::new((0..FAMILIES).flat_map(|f| {
            std::iter::once(&headers[f]).chain(groups.iter().map(move |g| &g.parts[f]))
        })));
        self.joined[i] = Some(std::sync::Arc::clone(&j));
        j
    }

    fn remove(&mut self, key: &InstanceKey, stale: &mut [[bool; FAMILIES]]) {
        let Some(slot) = self.slots.remove(key) else {
            return;
        };
        let g = slot.group;
        let group = &mut self.groups[g];
        let was_full = group.members.len() >= self.group;
        group.members.retain(|m| m != key);
        stale[g] = [true; FAMILIES];
        if was_full {
            self.open.push(g);
        }
    }

    /// Renders `t`, and marks its group's parts stale where its lines changed
    /// (all of them when it is new).
    fn check(&mut self, t: &Tracked, stale: &mut Vec<[bool; FAMILIES]>) {
        let mut prints = [0u64; FAMILIES];
        for (f, print) in prints.iter_mut().enumerate() {
            self.scratch.clear();
            let _ = write_lines(&mut self.scratch, self.mode, &self.names[f], f, t);
            *print = xxhash_rust::xxh3::xxh3_64(self.scratch.as_bytes());
        }
        if let Some(slot) = self.slots.get_mut(&t.key) {
            for f in 0..FAMILIES {
                if slot.prints[f] != prints[f] {
                    stale[slot.group][f] = true;
                }
            }
            slot.prints = prints;
            return;
        }
        let g = self.open_group(stale);
        self.groups[g].members.push(t.key.clone());
        if self.groups[g].members.len() >= self.group {
            self.open.retain(|o| *o != g);
        }
        stale[g] = [true; FAMILIES];
        self.slots.insert(t.key.clone(), Slot { group: g, prints });
    }

    /// A group with room, made if none has.
    fn open_group(&mut self, stale: &mut Vec<[bool; FAMILIES]>) -> usize {
        if let Some(g) = self.open.last() {
            return *g;
        }
        self.groups.push(Group {
            members: Vec::with_capacity(self.group),
            parts: std::array::from_fn(|_| Packed::nothing()),
        });
        stale.push([false; FAMILIES]);
        let g = self.groups.len() - 1;
        self.open.push(g);
        g
    }

    fn render_part(&mut self, g: usize, f: usize, ex: &Exporter) {
        let (mode, name) = (self.mode, &self.names[f]);
        let group = &self.groups[g];
        let part = compress(&mut self.deflater, |out| {
            for key in &group.members {
                if let Some(t) = ex.get(key) {
                    write_lines(out, mode, name, f, t)?;
                }
            }
            Ok(())
        });
        self.groups[g].parts[f] = part;
    }
}

/// The text `write` writes, compressed as one part.
fn compress(out: &mut Deflater, write: impl FnOnce(&mut Deflater) -> fmt::Result) -> Packed {
    let written = write(out);
    let part = out.finish_part();
    if written.is_err() {
        tracing::error!("rendering the metrics failed");
        return Packed::nothing();
    }
    part.unwrap_or_else(|e| {
        tracing::error!(error = %e, "compressing the metrics failed");
        Packed::nothing()
    })
}

/// A family's header alone.
struct Header(&'static Family);

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Collector for Header {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), fmt::Error> {
        let f = self.0;
        enc.encode_descriptor(f.name, f.help, f.unit.as_ref(), f.kind)?;
        Ok(())
    }
}

/// The status label of an instance whose status the service left out.
pub const MISSING_STATUS: &str = "UNKNOWN";

fn status_label(s: &Status) -> &str {
    match s.as_str() {
        "" => MISSING_STATUS,
        other => other,
    }
}

/// An optional label's value: empty when absent.
fn or_empty(v: &Option<crate::app::row::Sym>) -> &str {
    v.as_deref().unwrap_or("")
}

/// `t`'s lines of family `f`, as prometheus-client writes them (the sample
/// lines are the same in both formats).
fn write_lines<W: fmt::Write>(
    out: &mut W,
    mode: StatusSeries,
    name: &str,
    f: usize,
    t: &Tracked,
) -> fmt::Result {
    let id = t.key.id();
    let r = &t.row;
    match f {
        INFO => {
            let labels = [
                ("id", id),
                ("name", t.name()),
                ("feature", or_empty(&r.feature)),
                ("flavor", or_empty(&r.flavor)),
                ("image", &*r.image),
                ("pool", or_empty(&r.pool)),
                ("workspace_id", or_empty(&r.workspace_id)),
                ("user_id", or_empty(&r.user_id)),
                ("user_name", or_empty(&r.user_name)),
            ];
            sample(out, name, &labels)?;
            out.write_str(" 1\n")
        }
        STATUS => {
            if mode == StatusSeries::All {
                for s in &Status::ALL {
                    sample(out, name, &[("id", id), ("status", s.as_str())])?;
                    out.write_str(if *s == t.status { " 1\n" } else { " 0\n" })?;
                }
                if t.status.is_known() {
                    return Ok(());
                }
            }
            sample(
                out,
                name,
                &[("id", id), ("status", status_label(&t.status))],
            )?;
            out.write_str(" 1\n")
        }
        CREATED => match r.create_at {
            Some(c) => seconds_line(out, name, id, c),
            None => Ok(()),
        },
        SINCE => seconds_line(out, name, id, t.status_since_ms),
        LEASE => match r.lease_end_ms().filter(|_| lease_applies(&t.status)) {
            Some(end) => seconds_line(out, name, id, end),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn seconds_line<W: fmt::Write>(out: &mut W, name: &str, id: &str, ms: i64) -> fmt::Result {
    sample(out, name, &[("id", id)])?;
    out.write_char(' ')?;
    write_seconds(out, ms)?;
    out.write_char('\n')
}

/// `name{k="v",…}` with the values escaped as the exposition formats want.
fn sample<W: fmt::Write>(out: &mut W, name: &str, labels: &[(&str, &str)]) -> fmt::Result {
    out.write_str(name)?;
    for (i, (k, v)) in labels.iter().enumerate() {
        out.write_char(if i == 0 { '{' } else { ',' })?;
        out.write_str(k)?;
        out.write_str("=\"")?;
        escape(out, v)?;
        out.write_char('"')?;
    }
    if !labels.is_empty() {
        out.write_char('}')?;
    }
    Ok(())
}

fn escape<W: fmt::Write>(out: &mut W, v: &str) -> fmt::Result {
    let mut last = 0;
    for (i, b) in v.bytes().enumerate() {
        let escaped = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        out.write_str(&v[last..i])?;
        out.write_str(escaped)?;
        last = i + 1;
    }
    out.write_str(&v[last..])
}

/// Milliseconds as seconds, written as prometheus-client writes the f64
/// (shortest form, at least one decimal: `1796673151.74`, `1796673151.0`),
/// without going through a float.
fn write_seconds<W: fmt::Write>(out: &mut W, ms: i64) -> fmt::Result {
    if ms < 0 {
        out.write_char('-')?;
    }
    let abs = ms.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    write!(out, "{secs}.")?;
    if frac == 0 {
        return out.write_char('0');
    }
    let digits = format!("{frac:03}");
    out.write_str(digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_as_the_float_encoder_writes_them() {
        let s = |ms: i64| {
            let mut out = String::new();
            write_seconds(&mut out, ms).unwrap();
            out
        };
        for ms in [
            0,
            1,
            10,
            999,
            1_000,
            1_500,
            -1_500,
            -1,
            1_796_673_151_740,
            1_796_673_151_000,
            1_796_673_151_007,
            1_794_410_005_954,
        ] {
            let f = ms as f64 / 1000.0;
            assert_eq!(s(ms), dtoa_like(f), "{ms} ms");
            assert_eq!(s(ms).parse::<f64>().unwrap(), f);
        }
    }

    /// What `dtoa` writes for these values: Rust's shortest form, with `.0`
    /// added to whole numbers.
    fn dtoa_like(f: f64) -> String {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("a", "x\"y\\z\nw"), ("b", "")]).unwrap();
        assert_eq!(out, "m{a=\"x\\\"y\\\\z\\nw\",b=\"\"}");
    }
}
