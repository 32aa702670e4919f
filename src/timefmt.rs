//! Human-readable times and durations, shared by the one-shot output and the dashboard.

/// A compact duration: `45s`, `7m05s` (under ten minutes, for live countdowns),
/// `12m`, `3h12m`, `3d04h`, and `107d` past 99 days so it fits a 6-cell column.
/// Negative durations read as zero.
pub fn human_duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match s {
        0..60 => format!("{sec}s"),
        60..600 => format!("{m}m{sec:02}s"),
        600..3600 => format!("{m}m"),
        3600..86_400 => format!("{h}h{m:02}m"),
        86_400..8_640_000 => format!("{d}d{h:02}h"),
        _ => format!("{d}d"),
    }
}

/// `2026-11-28T08:30:00Z` for epoch milliseconds (years 0–9999; outside, the ends).
pub fn iso_utc(ms: i64) -> String {
    // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    let secs = ms.div_euclid(1000).clamp(-62_167_219_200, 253_402_300_799);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// This machine's UTC offset now, in seconds (0 where it cannot be known).
pub fn local_offset_secs() -> i32 {
    time::UtcOffset::current_local_offset()
        .map(|o| o.whole_seconds())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_compact() {
        assert_eq!(human_duration_ms(-5), "0s");
        assert_eq!(human_duration_ms(45_000), "45s");
        assert_eq!(human_duration_ms(192_000), "3m12s");
        assert_eq!(human_duration_ms(1_500_000), "25m");
        assert_eq!(human_duration_ms(7_500_000), "2h05m");
        assert_eq!(human_duration_ms(3 * 86_400_000 + 3_600_000), "3d01h");
        assert_eq!(human_duration_ms(107 * 86_400_000 + 3_600_000), "107d");
    }

    #[test]
    fn times_format_in_utc() {
        assert_eq!(iso_utc(1_795_854_600_000), "2026-11-28T08:30:00Z");
    }
}
