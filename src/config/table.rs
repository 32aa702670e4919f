//! The numeric settings, each described once: the flag, the environment
//! variable and the file key that set it, its default and its range. The
//! resolver reads every one of them the same way from these rows.
//!
//! The settings that a flag, a profile key and an environment variable all
//! set are the rows of [`settings_rows!`], their ONE declaration: from it come
//! the `Overrides` field the flag fills and the `Settings` field it gives
//! (config/mod.rs), the profile key with its place in the unknown-key
//! messages (config/file.rs), the row below that the resolver reads it by,
//! flag over environment over profile over default (config/resolve.rs), and
//! the fix for a value of the wrong type in the file ([`type_fix`]).
//! Adding one is a row here, its flag in `src/cli.rs` and its default in
//! `src/defaults.rs`.

use std::time::Duration;

use crate::defaults;

/// A setting measured in seconds (`5`, `2.5`, or `"90s"`, `"10m"` in text).
pub(super) struct Secs {
    /// The key in a profile, also the name errors use.
    pub key: &'static str,
    /// The command-line flag; `None` where there is none.
    pub flag: Option<&'static str>,
    pub var: &'static str,
    pub default: Duration,
    /// Allowed values, in seconds, both ends included.
    pub min: f64,
    pub max: f64,
}

/// A setting that is a whole number.
pub(super) struct Count {
    pub key: &'static str,
    /// What errors call a value: `{noun} {value}{per} is out of range`.
    pub noun: &'static str,
    pub per: &'static str,
    pub flag: &'static str,
    pub var: &'static str,
    pub default: u64,
    /// What one unit is, for the message about the range ("parallel page requests").
    pub unit: &'static str,
    /// Allowed values: a range, or a list (page sizes).
    pub allowed: Allowed,
}

pub(super) enum Allowed {
    Range(u64, u64),
    OneOf(&'static [u32]),
}

pub(super) const DAY: f64 = 86_400.0;

/// The settings that a flag, a profile key and an environment variable all
/// set, each declared once, highest precedence first in every way they are
/// read: flag, environment, profile, default.
///
/// A duration is `key / overrides_field = ROW { … }` (the flag's value is
/// seconds); a whole number is `key: type = ROW { … }`; a duration with no
/// flag (a profile key and a variable only) is `key = ROW { … }`. `key` is the profile
/// key and the `Settings` field; `ROW` the constant the resolver reads it by;
/// the doc comment documents both the `Overrides` and the `Settings` field.
/// Each place that needs the list hands a macro of this file (a "view") to
/// it: `settings_rows!(view [what the view needs])`.
macro_rules! settings_rows {
    ($view:ident $pass:tt) => {
        $view! { $pass
            secs {
                /// `--interval SECS`: time between polls.
                interval / interval_secs = INTERVAL {
                    flag: "--interval", var: "NBWATCH_INTERVAL",
                    default: crate::defaults::INTERVAL, min: 0.5, max: DAY,
                },
                /// `--fast-interval SECS`: the poll interval while some instance
                /// is in a transitional state.
                fast_interval / fast_interval_secs = FAST_INTERVAL {
                    flag: "--fast-interval", var: "NBWATCH_FAST_INTERVAL",
                    default: crate::defaults::FAST_INTERVAL, min: 0.5, max: DAY,
                },
                /// `--timeout SECS`: the whole request's timeout.
                timeout / timeout_secs = TIMEOUT {
                    flag: "--timeout", var: "NBWATCH_TIMEOUT",
                    default: crate::defaults::TIMEOUT, min: 0.5, max: 600.0,
                },
                /// `--stuck-after SECS`: a transitional state lasting longer than
                /// this is flagged as stuck.
                stuck_after / stuck_after_secs = STUCK_AFTER {
                    flag: "--stuck-after", var: "NBWATCH_STUCK_AFTER",
                    default: crate::defaults::STUCK_AFTER, min: 1.0, max: 7.0 * DAY,
                },
            }
            counts {
                /// `--concurrency N`: requests in flight at once.
                concurrency: usize = CONCURRENCY {
                    flag: "--concurrency", var: "NBWATCH_CONCURRENCY",
                    default: crate::defaults::CONCURRENCY,
                    noun: "concurrency", per: "", unit: "parallel page requests",
                    allowed: Allowed::Range(1, 32),
                },
                /// `--page-size N`: instances per page.
                page_size: u32 = PAGE_SIZE {
                    flag: "--page-size", var: "NBWATCH_PAGE_SIZE",
                    default: crate::defaults::PAGE_SIZE,
                    noun: "page size", per: "", unit: "instances per page",
                    allowed: Allowed::OneOf(&crate::api::PageSize::ALLOWED),
                },
                /// `--budget N`: requests per minute.
                budget_per_minute: u32 = BUDGET_PER_MINUTE {
                    flag: "--budget", var: "NBWATCH_BUDGET_PER_MINUTE",
                    default: crate::defaults::BUDGET_PER_MINUTE,
                    noun: "request budget", per: " per minute", unit: "requests per minute",
                    allowed: Allowed::Range(1, 100_000),
                },
                /// `--first-burst N`: requests the first sweep of a session may
                /// send past the budget.
                first_sweep_burst: u32 = FIRST_SWEEP_BURST {
                    flag: "--first-burst", var: "NBWATCH_FIRST_SWEEP_BURST",
                    default: crate::defaults::FIRST_SWEEP_BURST,
                    noun: "first-sweep burst", per: "", unit: "requests",
                    allowed: Allowed::Range(0, 100_000),
                },
            }
            unflagged {
                /// The connection's timeout (part of `timeout`).
                connect_timeout = CONNECT_TIMEOUT {
                    var: "NBWATCH_CONNECT_TIMEOUT",
                    default: crate::defaults::CONNECT_TIMEOUT, min: 0.5, max: 600.0,
                },
            }
        }
    };
}
pub(super) use settings_rows;

/// View: the rows as the constants the resolver reads them by.
macro_rules! row_consts {
    ([]
     secs { $( $(#[$sd:meta])* $s:ident / $sov:ident = $SC:ident {
         flag: $sf:literal, var: $sv:literal, default: $sdef:expr, min: $min:expr, max: $max:expr $(,)?
     } ),* $(,)? }
     counts { $( $(#[$cd:meta])* $c:ident : $cty:ty = $CC:ident {
         flag: $cf:literal, var: $cv:literal, default: $cdef:expr,
         noun: $noun:literal, per: $per:literal, unit: $unit:literal, allowed: $allowed:expr $(,)?
     } ),* $(,)? }
     unflagged { $( $(#[$ud:meta])* $u:ident = $UC:ident {
         var: $uv:literal, default: $udef:expr, min: $umin:expr, max: $umax:expr $(,)?
     } ),* $(,)? }) => {
        $( pub(super) const $SC: Secs = Secs {
            key: stringify!($s),
            flag: Some($sf),
            var: $sv,
            default: $sdef,
            min: $min,
            max: $max,
        }; )*
        $( pub(super) const $CC: Count = Count {
            key: stringify!($c),
            noun: $noun,
            per: $per,
            flag: $cf,
            var: $cv,
            default: $cdef as u64,
            unit: $unit,
            allowed: $allowed,
        }; )*
        /// Every duration row, for the messages about the file.
        $( pub(super) const $UC: Secs = Secs {
            key: stringify!($u),
            flag: None,
            var: $uv,
            default: $udef,
            min: $umin,
            max: $umax,
        }; )*
        /// Every duration row, for the messages about the file.
        const SECS: &[&Secs] = &[$(&$SC,)* $(&$UC,)*];
        /// Every whole-number row.
        const COUNTS: &[&Count] = &[$(&$CC,)* &JOURNAL_MAX_MB];
    };
}
settings_rows!(row_consts []);

/// View: `Overrides` with a field for each row's flag after the fields given.
macro_rules! overrides_view {
    ([ $(#[$m:meta])* pub struct $name:ident { $($fixed:tt)* } ]
     secs { $( $(#[$sd:meta])* $s:ident / $sov:ident = $SC:ident { $($sb:tt)* } ),* $(,)? }
     counts { $( $(#[$cd:meta])* $c:ident : $cty:ty = $CC:ident { $($cb:tt)* } ),* $(,)? }
     unflagged { $( $(#[$ud:meta])* $u:ident = $UC:ident { $($ub:tt)* } ),* $(,)? }) => {
        $(#[$m])*
        pub struct $name {
            $($fixed)*
            $( $(#[$sd])* pub $sov: Option<f64>, )*
            $( $(#[$cd])* pub $c: Option<$cty>, )*
        }
    };
}
pub(super) use overrides_view;

/// View: `Settings` with a field for each row after the fields given, and
/// its constructor, the rows' fields at their defaults.
macro_rules! settings_view {
    ([ $(#[$m:meta])* pub struct $name:ident { $($fixed:tt)* }
       $(#[$fm:meta])* pub fn $f:ident ( $($args:tt)* ) -> $ret:ident { $($inits:tt)* } ]
     secs { $( $(#[$sd:meta])* $s:ident / $sov:ident = $SC:ident {
         flag: $sf:literal, var: $sv:literal, default: $sdef:expr, $($sb:tt)*
     } ),* $(,)? }
     counts { $( $(#[$cd:meta])* $c:ident : $cty:ty = $CC:ident {
         flag: $cf:literal, var: $cv:literal, default: $cdef:expr, $($cb:tt)*
     } ),* $(,)? }
     unflagged { $( $(#[$ud:meta])* $u:ident = $UC:ident {
         var: $uv:literal, default: $udef:expr, $($ub:tt)*
     } ),* $(,)? }) => {
        $(#[$m])*
        pub struct $name {
            $($fixed)*
            $( $(#[$sd])* pub $s: std::time::Duration, )*
            $( $(#[$cd])* pub $c: $cty, )*
            $( $(#[$ud])* pub $u: std::time::Duration, )*
        }
        impl $name {
            $(#[$fm])*
            pub fn $f($($args)*) -> $ret {
                $ret {
                    $($inits)*
                    $( $s: $sdef, )*
                    $( $c: $cdef, )*
                    $( $u: $udef, )*
                }
            }
        }
    };
}
pub(super) use settings_view;

/// View: the profile's schema, with a key for each row between the keys
/// given before and after, and the list of its keys (in that order: the
/// order the unknown-key message lists them in).
macro_rules! profile_view {
    ([ $(#[$m:meta])* pub struct $name:ident {
           { $( $(#[$bm:meta])* pub $b:ident : $bt:ty, )* }
           { $( $(#[$am:meta])* pub $a:ident : $at:ty, )* }
       }
       $(#[$km:meta])* pub const $keys:ident; ]
     secs { $( $(#[$sd:meta])* $s:ident / $sov:ident = $SC:ident { $($sb:tt)* } ),* $(,)? }
     counts { $( $(#[$cd:meta])* $c:ident : $cty:ty = $CC:ident { $($cb:tt)* } ),* $(,)? }
     unflagged { $( $(#[$ud:meta])* $u:ident = $UC:ident { $($ub:tt)* } ),* $(,)? }) => {
        $(#[$m])*
        pub struct $name {
            $( $(#[$bm])* pub $b: $bt, )*
            $( $(#[$sd])* pub $s: Option<Spanned<Seconds>>, )*
            $( $(#[$cd])* pub $c: Option<Spanned<i64>>, )*
            $( $(#[$ud])* pub $u: Option<Spanned<Seconds>>, )*
            $( $(#[$am])* pub $a: $at, )*
        }
        $(#[$km])*
        pub const $keys: &[&str] = &[
            $( stringify!($b), )*
            $( stringify!($s), )*
            $( stringify!($c), )*
            $( stringify!($u), )*
            $( stringify!($a), )*
        ];
    };
}
pub(super) use profile_view;

/// View: the resolver's reading of every row, flag over environment over
/// profile over default, into `Rows` (one field per row), and the
/// method that sets them on `Settings`.
macro_rules! read_view {
    ([]
     secs { $( $(#[$sd:meta])* $s:ident / $sov:ident = $SC:ident { $($sb:tt)* } ),* $(,)? }
     counts { $( $(#[$cd:meta])* $c:ident : $cty:ty = $CC:ident { $($cb:tt)* } ),* $(,)? }
     unflagged { $( $(#[$ud:meta])* $u:ident = $UC:ident { $($ub:tt)* } ),* $(,)? }) => {
        /// The value of each row of `settings_rows!`.
        struct Rows {
            $( $s: Duration, )*
            $( $c: $cty, )*
            $( $u: Duration, )*
        }

        impl Rows {
            /// Reads every row, in the table's order: the first error is the first row's.
            fn read(cx: &Cx, o: &Overrides) -> Result<Rows, ConfigError> {
                let p = cx.profile;
                Ok(Rows {
                    $( $s: cx.secs(&table::$SC, o.$sov, p.$s.as_ref())?, )*
                    $( $c: {
                        let n = cx.count(&table::$CC, o.$c.map(|v| v as u64), p.$c.as_ref())?;
                        // Every row's range fits its type.
                        <$cty>::try_from(n).unwrap_or(<$cty>::MAX)
                    }, )*
                    $( $u: cx.secs(&table::$UC, None, p.$u.as_ref())?, )*
                })
            }

            fn set(self, s: &mut Settings) {
                $( s.$s = self.$s; )*
                $( s.$c = self.$c; )*
                $( s.$u = self.$u; )*
            }
        }
    };
}
pub(super) use read_view;

/// Each flag of a row (without its dashes) and what its help adds: the
/// allowed values where they are a list, and the default.
pub fn flag_help() -> Vec<(&'static str, String)> {
    let secs = SECS.iter().filter_map(|r| {
        let shown = crate::timefmt::written_secs(r.default.as_secs_f64());
        Some((r.flag?, format!(" [default: {shown}]")))
    });
    let counts = COUNTS.iter().filter(|r| !r.flag.is_empty()).map(|r| {
        let list = match r.allowed {
            Allowed::OneOf(_) => format!(": {}", crate::api::PageSize::allowed_list("or")),
            Allowed::Range(..) => String::new(),
        };
        (r.flag, format!("{list} [default: {}]", r.default))
    });
    secs.chain(counts)
        .map(|(flag, add)| (flag.trim_start_matches('-'), add))
        .collect()
}

/// The fix for a value of the wrong type for a row's key in the file.
pub(super) fn type_fix(key: &str) -> Option<String> {
    if SECS.iter().any(|r| r.key == key) {
        return Some(format!(
            "write seconds as a number or a string with a unit, e.g. {key} = 5 or {key} = \"10m\""
        ));
    }
    let row = COUNTS.iter().find(|r| r.key == key)?;
    Some(match row.allowed {
        Allowed::OneOf(_) => format!(
            "write one of {} without quotes, e.g. {key} = {}",
            crate::api::PageSize::allowed_list("or"),
            row.default
        ),
        Allowed::Range(..) => format!(
            "write a whole number without quotes, e.g. {key} = {}",
            row.default
        ),
    })
}

pub(super) const ALERT_LEASE_LEAD: Secs = Secs {
    key: "alerts.lease_lead",
    flag: None,
    var: "NBWATCH_ALERT_LEASE_LEAD",
    default: defaults::ALERT_LEASE_LEAD,
    min: 0.0,
    max: DAY,
};

pub(super) const ALERT_HOOK_TIMEOUT: Secs = Secs {
    key: "alerts.hook_timeout",
    flag: None,
    var: "NBWATCH_ALERT_HOOK_TIMEOUT",
    default: defaults::ALERT_HOOK_TIMEOUT,
    min: 0.1,
    max: 600.0,
};

pub(super) const JOURNAL_MAX_MB: Count = Count {
    key: "journal_max_mb",
    noun: "journal size",
    per: " MB",
    flag: "",
    var: "NBWATCH_JOURNAL_MAX_MB",
    default: crate::journal::DEFAULT_MAX_BYTES / (1024 * 1024),
    unit: "megabytes",
    allowed: Allowed::Range(1, 100_000),
};
