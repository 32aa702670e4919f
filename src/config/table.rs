//! The settings, each described once: the flag, the environment variable and
//! the profile key that set it, its default and its checks. The resolver
//! reads every one of them the same way from its row.
//!
//! The settings that a flag, a profile key and/or an environment variable
//! set are the rows of [`settings_rows!`], their ONE declaration: from it come
//! the `Overrides` field the flag fills and the `Settings` field it gives
//! (config/mod.rs), the profile key with its place in the unknown-key
//! messages (config/file.rs), the constant below that the resolver reads it
//! by, flag over environment over profile over default (config/resolve.rs
//! and config/layers.rs),
//! the fix for a value of the wrong type in the file ([`type_fix`]) and the
//! `[default: …]` of its flag's help ([`flags`]). Adding one is a row here,
//! its flag in `src/cli.rs` and its default in `src/defaults.rs`.
//!
//! A row's type is its kind: [`Secs`] (a duration), [`Count`] (a whole
//! number, or a size in megabytes kept in bytes), [`Text`] (a word parsed
//! into a value), [`Location`] (a file or directory) or [`Switch`] (on or
//! off). Each kind knows its `Overrides` and `Settings` types ([`Kind`]), its
//! type in a profile (`file::ProfileKey`) and how it is read
//! (`layers::Read`): adding a kind touches those three files of config/.
//! (The kinds and their traits are `pub` because the public fields of
//! `Overrides` and `Settings` are written with them; the module is private.)
//!
//! Not rows: the default filters (`[profiles.NAME.filters]`, config/filters.rs),
//! the alerts (`[profiles.NAME.alerts]`, config/outputs.rs; their two
//! durations are the `Secs` constants at the end of this file), and where and
//! as whom (region, endpoint, project and credentials: config/resolve.rs,
//! config/identity.rs). See `src/cmd/mod.rs` for why.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::Dirs;
use crate::defaults;

/// What a kind of row gives: the type of the `Overrides` field its flag fills,
/// of the `Settings` field, and that field's value before any layer is read.
pub trait Kind: Described {
    type Flag;
    type Value;
    /// The value `Settings::for_endpoint` starts with.
    fn initial(&self) -> Self::Value;
}

/// What a row tells about itself, for the help and the messages.
pub trait Described {
    /// The key in a profile, also the name errors use.
    fn key(&self) -> &'static str;
    /// The command-line flag; `None` where there is none.
    fn flag(&self) -> Option<&'static str>;
    /// What the flag's help adds: the allowed values where they are a list,
    /// and the default. `None`: nothing.
    fn help(&self) -> Option<String> {
        None
    }
    /// A value the flag takes, for the test that every row's flag exists:
    /// none for a switch; any word for text and paths (the command line
    /// takes them as given, the resolver checks them).
    fn example(&self) -> Option<String> {
        Some("x".to_string())
    }
    /// The fix for a value of the wrong type in the file; `None` for text,
    /// which takes the file's fix for a string.
    fn type_fix(&self) -> Option<String> {
        None
    }
}

/// A setting measured in seconds (`5`, `2.5`, or `"90s"`, `"10m"` in text).
pub struct Secs {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub var: &'static str,
    pub default: Duration,
    /// Allowed values, in seconds, both ends included.
    pub min: f64,
    pub max: f64,
}

impl Kind for Secs {
    /// The flag's value is seconds.
    type Flag = Option<f64>;
    type Value = Duration;
    fn initial(&self) -> Duration {
        self.default
    }
}

impl Described for Secs {
    fn key(&self) -> &'static str {
        self.key
    }
    fn flag(&self) -> Option<&'static str> {
        self.flag
    }
    fn help(&self) -> Option<String> {
        Some(format!(" [default: {}]", self.example()?))
    }
    fn example(&self) -> Option<String> {
        Some(crate::timefmt::written_secs(self.default.as_secs_f64()))
    }
    fn type_fix(&self) -> Option<String> {
        let key = self.key;
        Some(format!(
            "write seconds as a number or a string with a unit, e.g. {key} = 5 or {key} = \"10m\""
        ))
    }
}

/// A setting that is a whole number of `T`; the `Settings` field holds it
/// times `SCALE` (`journal_max_mb`: megabytes, kept in bytes).
pub struct Count<T, const SCALE: u64 = 1> {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub var: &'static str,
    /// In the row's unit (before `SCALE`).
    pub default: T,
    /// What errors call a value: `{noun} {value}{per} is out of range`.
    pub noun: &'static str,
    pub per: &'static str,
    /// What one unit is, for the message about the range ("parallel page requests").
    pub unit: &'static str,
    /// Allowed values: a range, or a list (page sizes).
    pub allowed: Allowed,
}

/// A megabyte, for a size set in megabytes and kept in bytes.
pub const MIB: u64 = 1024 * 1024;

pub enum Allowed {
    Range(u64, u64),
    OneOf(&'static [u32]),
}

/// The whole-number types of `Settings`.
pub trait Whole: Copy + fmt::Display + TryFrom<u64> {
    const MAX: Self;
    fn to_u64(self) -> u64;
}

impl Whole for u32 {
    const MAX: u32 = u32::MAX;
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
}

impl Whole for u64 {
    const MAX: u64 = u64::MAX;
    fn to_u64(self) -> u64 {
        self
    }
}

impl Whole for usize {
    const MAX: usize = usize::MAX;
    fn to_u64(self) -> u64 {
        u64::try_from(self).unwrap_or(u64::MAX)
    }
}

impl<T: Whole, const SCALE: u64> Kind for Count<T, SCALE> {
    type Flag = Option<T>;
    type Value = T;
    fn initial(&self) -> T {
        T::try_from(self.default.to_u64().saturating_mul(SCALE)).unwrap_or(T::MAX)
    }
}

impl<T: Whole, const SCALE: u64> Described for Count<T, SCALE> {
    fn key(&self) -> &'static str {
        self.key
    }
    fn flag(&self) -> Option<&'static str> {
        self.flag
    }
    fn help(&self) -> Option<String> {
        let list = match self.allowed {
            Allowed::OneOf(_) => format!(": {}", crate::api::PageSize::allowed_list("or")),
            Allowed::Range(..) => String::new(),
        };
        Some(format!("{list} [default: {}]", self.default))
    }
    fn example(&self) -> Option<String> {
        Some(self.default.to_string())
    }
    fn type_fix(&self) -> Option<String> {
        let key = self.key;
        Some(match self.allowed {
            Allowed::OneOf(_) => format!(
                "write one of {} without quotes, e.g. {key} = {}",
                crate::api::PageSize::allowed_list("or"),
                self.default
            ),
            Allowed::Range(..) => format!(
                "write a whole number without quotes, e.g. {key} = {}",
                self.default
            ),
        })
    }
}

/// A word read into a `T` (whose `Default` is the setting's default): the
/// flag's, the variable's or the profile's value, trimmed; empty is unset.
pub struct Text<T> {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub var: &'static str,
    /// The value, or `None` when it is not one `T` knows.
    pub parse: fn(&str) -> Option<T>,
    /// What errors call a value: `{noun} `{value}` is not known`.
    pub noun: &'static str,
    /// The fix for a value `parse` does not know.
    pub fix: &'static str,
}

impl<T: Default> Kind for Text<T> {
    type Flag = Option<String>;
    type Value = T;
    fn initial(&self) -> T {
        T::default()
    }
}

impl<T> Described for Text<T> {
    fn key(&self) -> &'static str {
        self.key
    }
    fn flag(&self) -> Option<&'static str> {
        self.flag
    }
}

/// A file or directory: the flag's path as given; the variable's with `~/`
/// expanded; the profile's also relative to the config file's directory.
pub struct Location {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub var: &'static str,
    /// Where it is when no layer sets it (`None`: nowhere, it is off).
    pub otherwise: fn(&Dirs) -> Option<PathBuf>,
}

impl Kind for Location {
    type Flag = Option<PathBuf>;
    type Value = Option<PathBuf>;
    fn initial(&self) -> Option<PathBuf> {
        None
    }
}

impl Described for Location {
    fn key(&self) -> &'static str {
        self.key
    }
    fn flag(&self) -> Option<&'static str> {
        self.flag
    }
}

/// On or off. The flag can only turn it on, so a profile that turns it on
/// stays on whatever the flags (`read_only`); the variable, where there is
/// one, takes `true`/`false` (or `1`/`0`, `yes`/`no`).
pub struct Switch {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub var: Option<&'static str>,
    pub default: bool,
}

impl Kind for Switch {
    /// Whether the flag was given.
    type Flag = bool;
    type Value = bool;
    fn initial(&self) -> bool {
        self.default
    }
}

impl Described for Switch {
    fn key(&self) -> &'static str {
        self.key
    }
    fn flag(&self) -> Option<&'static str> {
        self.flag
    }
    fn example(&self) -> Option<String> {
        None
    }
    fn type_fix(&self) -> Option<String> {
        Some(format!(
            "write true or false without quotes, e.g. {} = true",
            self.key
        ))
    }
}

pub(super) const DAY: f64 = 86_400.0;

/// Every setting that a flag, a profile key and/or an environment variable
/// set, each declared once, in the order of the profile's keys (and so of
/// the unknown-key message) and of reading (the first error is the first
/// row's). Each is read flag over environment over profile over default.
///
/// A row is `field: Kind = CONST (flag "--flag" => overrides_field) { … }`:
/// `field` is the `Settings` field and the profile key (`field as "key"`
/// where they differ), `Kind` its kind (see the module's comment), `CONST`
/// the constant the resolver reads it by, and the braces the kind's fields
/// (`key` and `flag` come from the row). A row with no flag leaves out the
/// parentheses. The doc comment documents the `Settings` field.
/// Each place that needs the list hands a macro of this file (a "view") to
/// it: `settings_rows!(view [what the view needs])`.
macro_rules! settings_rows {
    ($view:ident $pass:tt) => {
        $view! { $pass
            /// `--interval SECS`: time between polls.
            interval: Secs = INTERVAL (flag "--interval" => interval_secs) {
                var: "NBWATCH_INTERVAL",
                default: crate::defaults::INTERVAL, min: 0.5, max: DAY,
            },
            /// `--fast-interval SECS`: the poll interval while some instance
            /// is in a transitional state.
            fast_interval: Secs = FAST_INTERVAL (flag "--fast-interval" => fast_interval_secs) {
                var: "NBWATCH_FAST_INTERVAL",
                default: crate::defaults::FAST_INTERVAL, min: 0.5, max: DAY,
            },
            /// `--timeout SECS`: the whole request's timeout.
            timeout: Secs = TIMEOUT (flag "--timeout" => timeout_secs) {
                var: "NBWATCH_TIMEOUT",
                default: crate::defaults::TIMEOUT, min: 0.5, max: 600.0,
            },
            /// `--stuck-after SECS`: a transitional state lasting longer than
            /// this is flagged as stuck.
            stuck_after: Secs = STUCK_AFTER (flag "--stuck-after" => stuck_after_secs) {
                var: "NBWATCH_STUCK_AFTER",
                default: crate::defaults::STUCK_AFTER, min: 1.0, max: 7.0 * DAY,
            },
            /// `--concurrency N`: requests in flight at once.
            concurrency: Count<usize> = CONCURRENCY (flag "--concurrency" => concurrency) {
                var: "NBWATCH_CONCURRENCY",
                default: crate::defaults::CONCURRENCY,
                noun: "concurrency", per: "", unit: "parallel page requests",
                allowed: Allowed::Range(1, 32),
            },
            /// `--page-size N`: instances per page.
            page_size: Count<u32> = PAGE_SIZE (flag "--page-size" => page_size) {
                var: "NBWATCH_PAGE_SIZE",
                default: crate::defaults::PAGE_SIZE,
                noun: "page size", per: "", unit: "instances per page",
                allowed: Allowed::OneOf(&crate::api::PageSize::ALLOWED),
            },
            /// `--budget N`: requests per minute.
            budget_per_minute: Count<u32> = BUDGET_PER_MINUTE (flag "--budget" => budget_per_minute) {
                var: "NBWATCH_BUDGET_PER_MINUTE",
                default: crate::defaults::BUDGET_PER_MINUTE,
                noun: "request budget", per: " per minute", unit: "requests per minute",
                allowed: Allowed::Range(1, 100_000),
            },
            /// `--first-burst N`: requests the first sweep of a session may
            /// send past the budget.
            first_sweep_burst: Count<u32> = FIRST_SWEEP_BURST (flag "--first-burst" => first_sweep_burst) {
                var: "NBWATCH_FIRST_SWEEP_BURST",
                default: crate::defaults::FIRST_SWEEP_BURST,
                noun: "first-sweep burst", per: "", unit: "requests",
                allowed: Allowed::Range(0, 100_000),
            },
            /// The connection's timeout (part of `timeout`).
            connect_timeout: Secs = CONNECT_TIMEOUT {
                var: "NBWATCH_CONNECT_TIMEOUT",
                default: crate::defaults::CONNECT_TIMEOUT, min: 0.5, max: 600.0,
            },
            /// `--workspace-param NAME`: the wire spelling of the workspace
            /// filter, `workspace_id` (the SDKs', the default) or `workspaceId`
            /// (the reference page's).
            workspace_param: Text<crate::api::WorkspaceParam> = WORKSPACE_PARAM (flag "--workspace-param" => workspace_param) {
                var: "NBWATCH_WORKSPACE_PARAM",
                parse: crate::api::WorkspaceParam::parse,
                noun: "workspace parameter spelling",
                fix: "use workspace_id (what the official SDKs send, the default) or workspaceId (what the reference page documents)",
            },
            /// `--log-file PATH`: the log file, the one configured, else the
            /// platform default.
            log_file: Location = LOG_FILE (flag "--log-file" => log_file) {
                var: "NBWATCH_LOG_FILE",
                otherwise: |dirs| dirs.log_file.clone(),
            },
            /// `--read-only`: hide and refuse every action on instances (also
            /// `read_only = true`).
            read_only: Switch = READ_ONLY (flag "--read-only" => read_only) {
                var: None,
                default: crate::defaults::READ_ONLY,
            },
            /// `--journal PATH`: where every change seen is appended as a
            /// JSON line, if anywhere.
            journal: Location = JOURNAL (flag "--journal" => journal) {
                var: "NBWATCH_JOURNAL",
                otherwise: |_| None,
            },
            /// The journal's size before it is rotated, set in megabytes.
            journal_max_bytes as "journal_max_mb": Count<u64, MIB> = JOURNAL_MAX_MB {
                var: "NBWATCH_JOURNAL_MAX_MB",
                default: crate::journal::DEFAULT_MAX_BYTES / MIB,
                noun: "journal size", per: " MB", unit: "megabytes",
                allowed: Allowed::Range(1, 100_000),
            },
            /// Where the key pairs' `.pem` files are, for `nbwatch ssh`:
            /// `ssh_key_dir`, else `~/.ssh`; `None` with neither (no home
            /// directory).
            ssh_key_dir: Location = SSH_KEY_DIR {
                var: "NBWATCH_SSH_KEY_DIR",
                otherwise: |dirs| dirs.home.as_ref().map(|h| h.join(".ssh")),
            },
        }
    };
}
pub(super) use settings_rows;

/// `Some(x)` for a part of a row that is there, `None` for one left out.
macro_rules! opt {
    () => {
        None
    };
    ($x:expr) => {
        Some($x)
    };
}
pub(super) use opt;

/// A row's profile key: its field's name, or the one given with `as`.
macro_rules! key_of {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $key:literal) => {
        $key
    };
}
pub(super) use key_of;

/// View: the rows as the constants the resolver reads them by.
macro_rules! row_consts {
    ([] $( $(#[$d:meta])* $f:ident $(as $k:literal)? : $kind:ty = $C:ident
           $((flag $flag:literal => $ov:ident))? { $($body:tt)* } ),* $(,)?) => {
        /// Each row's type, named as its constant (a macro cannot make a new
        /// name): to write the constant as a struct, and for the views, which
        /// expand where the kinds' names are not in scope.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub mod row_type {
            use super::*;
            $( pub type $C = $kind; )*
        }
        $( pub(super) const $C: $kind = row_type::$C {
            key: key_of!($f $($k)?),
            flag: opt!($($flag)?),
            $($body)*
        }; )*
        /// Every row, in the table's order.
        const ROWS: &[&dyn Described] = &[$( &$C, )*];
    };
}
settings_rows!(row_consts []);

/// View: `Overrides` with a field for each row's flag after the fields given.
macro_rules! overrides_view {
    ([ $(#[$m:meta])* pub struct $name:ident { $($fixed:tt)* } ]
     $( $(#[$d:meta])* $f:ident $(as $k:literal)? : $kind:ty = $C:ident
        $((flag $flag:literal => $ov:ident))? { $($body:tt)* } ),* $(,)?) => {
        $(#[$m])*
        pub struct $name {
            $($fixed)*
            $( $(
                #[doc = concat!("`", $flag, "`: see `Settings::", stringify!($f), "`.")]
                pub $ov: <table::row_type::$C as table::Kind>::Flag,
            )? )*
        }
    };
}
pub(super) use overrides_view;

/// View: `Settings` with a field for each row after the fields given, and
/// its constructor, the rows' fields at their defaults.
macro_rules! settings_view {
    ([ $(#[$m:meta])* pub struct $name:ident { $($fixed:tt)* }
       $(#[$fm:meta])* pub fn $fun:ident ( $($args:tt)* ) -> $ret:ident { $($inits:tt)* } ]
     $( $(#[$d:meta])* $f:ident $(as $k:literal)? : $kind:ty = $C:ident
        $((flag $flag:literal => $ov:ident))? { $($body:tt)* } ),* $(,)?) => {
        $(#[$m])*
        pub struct $name {
            $($fixed)*
            $( $(#[$d])* pub $f: <table::row_type::$C as table::Kind>::Value, )*
        }
        impl $name {
            $(#[$fm])*
            pub fn $fun($($args)*) -> $ret {
                $ret {
                    $($inits)*
                    $( $f: table::Kind::initial(&table::$C), )*
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
     $( $(#[$d:meta])* $f:ident $(as $k:literal)? : $kind:ty = $C:ident
        $((flag $flag:literal => $ov:ident))? { $($body:tt)* } ),* $(,)?) => {
        $(#[$m])*
        pub struct $name {
            $( $(#[$bm])* pub $b: $bt, )*
            $(
                $(#[$d])*
                $(#[serde(rename = $k)])?
                pub $f: Option<<table::row_type::$C as ProfileKey>::File>,
            )*
            $( $(#[$am])* pub $a: $at, )*
        }
        $(#[$km])*
        pub const $keys: &[&str] = &[
            $( stringify!($b), )*
            $( table::key_of!($f $($k)?), )*
            $( stringify!($a), )*
        ];
    };
}
pub(super) use profile_view;

/// View: the resolver's reading of every row, flag over environment over
/// profile over default, into `Rows` (one field per row), and the
/// method that sets them on `Settings`.
macro_rules! read_view {
    ([] $( $(#[$d:meta])* $f:ident $(as $k:literal)? : $kind:ty = $C:ident
           $((flag $flag:literal => $ov:ident))? { $($body:tt)* } ),* $(,)?) => {
        /// The value of each row of `settings_rows!`.
        struct Rows {
            $( $f: <table::row_type::$C as table::Kind>::Value, )*
        }

        impl Rows {
            /// Reads every row, in the table's order: the first error is the first row's.
            fn read(cx: &Cx, o: &Overrides) -> Result<Rows, ConfigError> {
                let p = cx.profile;
                Ok(Rows {
                    $( $f: Read::read(&table::$C, cx, table::opt!($(&o.$ov)?), p.$f.as_ref())?, )*
                })
            }

            fn set(self, s: &mut Settings) {
                $( s.$f = self.$f; )*
            }
        }
    };
}
pub(super) use read_view;

/// A flag of a row of the table: its name without dashes, what its help
/// adds (the default, and the allowed values where they are a list), and a
/// value it takes (`None`: a switch, which takes none).
#[derive(Debug)]
pub struct RowFlag {
    pub long: &'static str,
    pub help: Option<String>,
    pub value: Option<String>,
}

/// Every row's flag, in the table's order.
pub fn flags() -> Vec<RowFlag> {
    ROWS.iter()
        .filter_map(|r| {
            Some(RowFlag {
                long: r.flag()?.trim_start_matches('-'),
                help: r.help(),
                value: r.example(),
            })
        })
        .collect()
}

/// The fix for a value of the wrong type for a row's key in the file
/// (`None` where the file's fix for a string fits).
pub(super) fn type_fix(key: &str) -> Option<String> {
    ROWS.iter().find(|r| r.key() == key)?.type_fix()
}

/// The durations of the `[alerts]` table (not rows: see the module's comment),
/// read in `config::outputs`.
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
