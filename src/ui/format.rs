//! Text for times, durations and sizes, and fitting text into columns by display
//! width (CJK characters take two cells).

use std::borrow::Cow;

use ratatui::text::Span;
use time::{OffsetDateTime, UtcOffset, macros::format_description};

pub use crate::timefmt::human_duration_ms as duration;

/// `2024-05-29 16:26:40` in the given offset; `?` for a time out of range.
pub fn local_time(ms: i64, offset: UtcOffset) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .map(|t| t.to_offset(offset))
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "?".into())
}

/// `16:26:40` in the given offset.
pub fn clock(ms: i64, offset: UtcOffset) -> String {
    let fmt = format_description!("[hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .map(|t| t.to_offset(offset))
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "?".into())
}

/// `UTC+08:00`.
pub fn offset_label(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("UTC{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// Display width in terminal cells.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

fn char_width(c: char) -> usize {
    let mut buf = [0u8; 4];
    width(c.encode_utf8(&mut buf))
}

/// `s` cut to `max` cells, ending in `…` when cut.
pub fn fit(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_compact() {
        assert_eq!(duration(-5), "0s");
        assert_eq!(duration(45_000), "45s");
        assert_eq!(duration(7 * 60_000 + 5_000), "7m05s");
        assert_eq!(duration(12 * 60_000 + 59_000), "12m");
        assert_eq!(duration(3 * 3_600_000 + 12 * 60_000), "3h12m");
        assert_eq!(duration(3 * 86_400_000 + 4 * 3_600_000), "3d04h");
    }

    #[test]
    fn times_use_the_given_offset() {
        let ms = 1_717_000_000_000;
        assert_eq!(local_time(ms, UtcOffset::UTC), "2024-05-29 16:26:40");
        let cst = UtcOffset::from_hms(8, 0, 0).unwrap();
        assert_eq!(local_time(ms, cst), "2024-05-30 00:26:40");
        assert_eq!(clock(ms, cst), "00:26:40");
        assert_eq!(offset_label(cst), "UTC+08:00");
        let nst = UtcOffset::from_hms(-3, -30, 0).unwrap();
        assert_eq!(offset_label(nst), "UTC-03:30");
        assert_eq!(local_time(i64::MAX, UtcOffset::UTC), "?");
    }

    #[test]
    fn fit_counts_wide_characters() {
        assert_eq!(fit("train-bert", 10), "train-bert");
        assert_eq!(fit("train-bert-large", 10), "train-ber…");
        assert_eq!(width("训练-中文-ü"), 11);
        assert_eq!(fit("训练-中文-ü", 6), "训练-…");
        assert_eq!(fit("训练", 2), "…");
        assert_eq!(fit("abc", 0), "");
    }
}
