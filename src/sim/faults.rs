//! Faults on demand: the spec syntax, and the set of active faults with their
//! counters.
//!
//! ```text
//! SPEC  := KIND (":" ARG)*        ARG := N | key=value
//! 500                 500 with a ModelArts.0010 body
//! 401                 401 APIGW.0301, as when the credentials are revoked mid-run
//! 429[:retry-after=S] 429 APIGW.0308 with Retry-After: S (default 2); `429:5` works too
//! malformed           200 whose body is not valid JSON
//! truncated[:cl=full|cut]  200 cut in the middle of the JSON: `full` (default) declares the
//!                     whole length and drops the connection (a body error); `cut` declares the
//!                     cut length (a JSON parse error)
//! html502             502 text/html page from an nginx "proxy"
//! hang[:ms=N]         answer only after N ms (default: effectively never)
//! flap:N              every Nth request fails with 500 (`flap:every=N`)
//! latency:MS          delay each answer by MS (`latency:ms=MS`)
//! drift               an instance appears or disappears before each page, so `total` moves
//! any of them :count=N  fire N times only, then retire
//! ```

use std::fmt;
use std::str::FromStr;

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    ServerError,
    Unauthorized,
    Throttle { retry_after_secs: u64 },
    Malformed,
    Truncated { full_length: bool },
    Html502,
    Hang { ms: u64 },
    Flap { every: u64 },
    Latency { ms: u64 },
    Drift,
}

/// A fault with an optional firing budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Fire this many times, then retire. `None`: forever.
    pub count: Option<u64>,
}

/// A hang with no duration lasts this long (an hour: "never" for any client).
pub const HANG_FOREVER_MS: u64 = 3_600_000;

/// The syntax summary, for `--help` and error messages.
pub const SYNTAX: &str = "500 | 401 | 429[:retry-after=S] | malformed | truncated[:cl=full|cut] | html502 | hang[:ms=N] | flap:N | latency:MS | drift, each optionally with :count=N";

impl FromStr for Fault {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let mut parts = spec.trim().split(':');
        let kind_name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut count = None;
        let mut positional: Option<u64> = None;
        let mut named: Vec<(String, String)> = Vec::new();
        for arg in parts {
            let arg = arg.trim();
            if arg.is_empty() {
                continue;
            }
            match arg.split_once('=') {
                Some((k, v)) => {
                    let k = k.trim().to_ascii_lowercase();
                    if k == "count" {
                        count = Some(num(spec, v)?);
                    } else {
                        named.push((k, v.trim().to_string()));
                    }
                }
                None if positional.is_none() => positional = Some(num(spec, arg)?),
                None => return Err(format!("fault {spec:?}: unexpected argument {arg:?}")),
            }
        }
        let take = |key: &str, named: &mut Vec<(String, String)>| -> Option<String> {
            let i = named.iter().position(|(k, _)| k == key)?;
            Some(named.remove(i).1)
        };
        let kind = match kind_name.as_str() {
            "500" => FaultKind::ServerError,
            "401" => FaultKind::Unauthorized,
            "429" => {
                let s = match take("retry-after", &mut named) {
                    Some(v) => num(spec, &v)?,
                    None => positional.take().unwrap_or(2),
                };
                FaultKind::Throttle {
                    retry_after_secs: s,
                }
            }
            "malformed" => FaultKind::Malformed,
            "truncated" => {
                let full_length = match take("cl", &mut named).as_deref() {
                    None | Some("full") => true,
                    Some("cut") => false,
                    Some(other) => {
                        return Err(format!(
                            "fault {spec:?}: cl must be full or cut, not {other:?}"
                        ));
                    }
                };
                FaultKind::Truncated { full_length }
            }
            "html502" | "502" => FaultKind::Html502,
            "hang" => {
                let ms = match take("ms", &mut named) {
                    Some(v) => num(spec, &v)?,
                    None => positional.take().unwrap_or(HANG_FOREVER_MS),
                };
                FaultKind::Hang { ms }
            }
            "flap" => {
                let every = match take("every", &mut named) {
                    Some(v) => num(spec, &v)?,
                    None => positional
                        .take()
                        .ok_or_else(|| format!("fault {spec:?}: flap needs N, e.g. flap:3"))?,
                };
                if every == 0 {
                    return Err(format!("fault {spec:?}: flap period must be at least 1"));
                }
                FaultKind::Flap { every }
            }
            "latency" => {
                let ms = match take("ms", &mut named) {
                    Some(v) => num(spec, &v)?,
                    None => positional.take().ok_or_else(|| {
                        format!("fault {spec:?}: latency needs MS, e.g. latency:200")
                    })?,
                };
                FaultKind::Latency { ms }
            }
            "drift" => FaultKind::Drift,
            "" => return Err(format!("empty fault spec; expected {SYNTAX}")),
            other => return Err(format!("unknown fault {other:?}; expected {SYNTAX}")),
        };
        if let Some(p) = positional {
            return Err(format!("fault {spec:?}: unexpected argument {p}"));
        }
        if let Some((k, _)) = named.first() {
            return Err(format!("fault {spec:?}: unknown option {k:?}"));
        }
        Ok(Fault { kind, count })
    }
}

fn num(spec: &str, v: &str) -> Result<u64, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("fault {spec:?}: {v:?} is not a non-negative integer"))
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FaultKind::ServerError => f.write_str("500")?,
            FaultKind::Unauthorized => f.write_str("401")?,
            FaultKind::Throttle { retry_after_secs } => {
                write!(f, "429:retry-after={retry_after_secs}")?
            }
            FaultKind::Malformed => f.write_str("malformed")?,
            FaultKind::Truncated { full_length } => write!(
                f,
                "truncated:cl={}",
                if full_length { "full" } else { "cut" }
            )?,
            FaultKind::Html502 => f.write_str("html502")?,
            FaultKind::Hang { ms } => write!(f, "hang:ms={ms}")?,
            FaultKind::Flap { every } => write!(f, "flap:{every}")?,
            FaultKind::Latency { ms } => write!(f, "latency:{ms}")?,
            FaultKind::Drift => f.write_str("drift")?,
        }
        if let Some(c) = self.count {
            write!(f, ":count={c}")?;
        }
        Ok(())
    }
}

/// Parses several specs separated by commas, whitespace or newlines.
pub fn parse_list(s: &str) -> Result<Vec<Fault>, String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(Fault::from_str)
        .collect()
}

/// An active fault and its counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveFault {
    pub fault: Fault,
    /// Requests this fault has seen (for `flap`).
    pub seen: u64,
    pub fired: u64,
}

impl ActiveFault {
    fn remaining(&self) -> Option<u64> {
        self.fault.count.map(|c| c.saturating_sub(self.fired))
    }
}

/// What the faults decided for one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// Total injected delay before answering.
    pub delay_ms: u64,
    /// The request hangs this long before being answered.
    pub hang_ms: Option<u64>,
    /// Answer with this error instead of serving.
    pub error: Option<FaultKind>,
    /// Corrupt the successful body this way.
    pub corrupt: Option<FaultKind>,
    /// Move `total` before serving.
    pub drift: bool,
}

/// The set of active faults.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    active: Vec<ActiveFault>,
}

impl Faults {
    pub fn new(faults: &[Fault]) -> Self {
        let mut f = Faults::default();
        f.set(faults);
        f
    }

    pub fn set(&mut self, faults: &[Fault]) {
        self.active = faults
            .iter()
            .map(|&fault| ActiveFault {
                fault,
                seen: 0,
                fired: 0,
            })
            .collect();
    }

    pub fn add(&mut self, faults: &[Fault]) {
        self.active.extend(faults.iter().map(|&fault| ActiveFault {
            fault,
            seen: 0,
            fired: 0,
        }));
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    pub fn active(&self) -> &[ActiveFault] {
        &self.active
    }

    /// Decides the fate of one API request. Delays add up; the first error fault
    /// in order that fires wins; corruption applies to successful answers only.
    pub fn decide(&mut self) -> Decision {
        let mut d = Decision::default();
        for a in &mut self.active {
            if a.remaining() == Some(0) {
                continue;
            }
            a.seen += 1;
            let fires = match a.fault.kind {
                FaultKind::Latency { ms } => {
                    d.delay_ms = d.delay_ms.saturating_add(ms);
                    true
                }
                FaultKind::Hang { ms } => {
                    if d.hang_ms.is_none() {
                        d.hang_ms = Some(ms);
                        true
                    } else {
                        false
                    }
                }
                FaultKind::Drift => {
                    d.drift = true;
                    true
                }
                FaultKind::Flap { every } => {
                    if d.error.is_none() && a.seen % every.max(1) == 0 {
                        d.error = Some(FaultKind::ServerError);
                        true
                    } else {
                        false
                    }
                }
                FaultKind::ServerError
                | FaultKind::Unauthorized
                | FaultKind::Throttle { .. }
                | FaultKind::Html502 => {
                    if d.error.is_none() {
                        d.error = Some(a.fault.kind);
                        true
                    } else {
                        false
                    }
                }
                FaultKind::Malformed | FaultKind::Truncated { .. } => {
                    if d.corrupt.is_none() {
                        d.corrupt = Some(a.fault.kind);
                        true
                    } else {
                        false
                    }
                }
            };
            if fires {
                a.fired += 1;
            }
        }
        // Spent faults retire.
        self.active.retain(|a| a.remaining() != Some(0));
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fault {
        s.parse().unwrap()
    }

    #[test]
    fn parses_every_documented_spec_and_round_trips() {
        let cases = [
            ("500", FaultKind::ServerError, None),
            (
                "429",
                FaultKind::Throttle {
                    retry_after_secs: 2,
                },
                None,
            ),
            (
                "429:retry-after=7",
                FaultKind::Throttle {
                    retry_after_secs: 7,
                },
                None,
            ),
            (
                "429:5:count=1",
                FaultKind::Throttle {
                    retry_after_secs: 5,
                },
                Some(1),
            ),
            ("malformed", FaultKind::Malformed, None),
            (
                "truncated",
                FaultKind::Truncated { full_length: true },
                None,
            ),
            (
                "truncated:cl=cut",
                FaultKind::Truncated { full_length: false },
                None,
            ),
            ("html502", FaultKind::Html502, None),
            (
                "hang",
                FaultKind::Hang {
                    ms: HANG_FOREVER_MS,
                },
                None,
            ),
            ("hang:ms=1500", FaultKind::Hang { ms: 1500 }, None),
            ("flap:3", FaultKind::Flap { every: 3 }, None),
            (
                "flap:every=4:count=2",
                FaultKind::Flap { every: 4 },
                Some(2),
            ),
            ("latency:200", FaultKind::Latency { ms: 200 }, None),
            ("LATENCY:ms=20", FaultKind::Latency { ms: 20 }, None),
            ("drift:count=3", FaultKind::Drift, Some(3)),
            ("500:count=2", FaultKind::ServerError, Some(2)),
            ("401", FaultKind::Unauthorized, None),
        ];
        for (spec, kind, count) in cases {
            let parsed = f(spec);
            assert_eq!(parsed, Fault { kind, count }, "{spec}");
            assert_eq!(f(&parsed.to_string()), parsed, "{spec} round trip");
        }
    }

    #[test]
    fn rejects_bad_specs_with_a_useful_message() {
        for bad in [
            "",
            "404",
            "flap",
            "flap:0",
            "latency",
            "latency:abc",
            "500:count=x",
            "truncated:cl=half",
            "429:retry-after=2:3",
            "hang:color=red",
            "500:7",
        ] {
            let err = bad.parse::<Fault>().unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!("nope".parse::<Fault>().unwrap_err().contains("flap:N"));
        assert_eq!(
            parse_list("500:count=1, latency:5\ndrift").unwrap().len(),
            3
        );
        assert!(parse_list("500,bogus").is_err());
    }

    #[test]
    fn counts_flaps_and_retires() {
        let mut fs = Faults::new(&[
            f("flap:3"),
            f("500:count=1"),
            f("latency:10"),
            f("latency:5:count=2"),
        ]);
        let d1 = fs.decide();
        assert_eq!(d1.error, Some(FaultKind::ServerError));
        assert_eq!(d1.delay_ms, 15);
        let d2 = fs.decide();
        assert_eq!(d2.error, None, "the one-shot 500 retired");
        assert_eq!(d2.delay_ms, 15);
        let d3 = fs.decide();
        assert_eq!(
            d3.error,
            Some(FaultKind::ServerError),
            "third request flaps"
        );
        assert_eq!(d3.delay_ms, 10);
        assert_eq!(fs.active().len(), 2);
        let seq: Vec<bool> = (0..6).map(|_| fs.decide().error.is_some()).collect();
        assert_eq!(seq, [false, false, true, false, false, true]);
        fs.clear();
        assert_eq!(fs.decide(), Decision::default());
    }

    #[test]
    fn corruption_and_errors_do_not_stack() {
        let mut fs = Faults::new(&[
            f("429:count=1"),
            f("html502:count=1"),
            f("malformed:count=1"),
            f("truncated:count=1"),
        ]);
        let d = fs.decide();
        assert_eq!(
            d.error,
            Some(FaultKind::Throttle {
                retry_after_secs: 2
            })
        );
        assert_eq!(d.corrupt, Some(FaultKind::Malformed));
        let d = fs.decide();
        assert_eq!(d.error, Some(FaultKind::Html502));
        assert_eq!(d.corrupt, Some(FaultKind::Truncated { full_length: true }));
        assert!(fs.active().is_empty());
    }
}
