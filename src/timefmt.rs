//! Human-readable times and durations, shared by the one-shot output and the dashboard.

/// A compact duration: `45s`, `3m12s`, `2h05m`, `4d03h`. Negative values read as zero.
pub fn human_duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// `2026-11-28T08:30:00Z` for epoch milliseconds.
pub fn iso_utc(ms: i64) -> String {
    let d = crate::api::sign::sdk_date(ms.div_euclid(1000));
    // sdk_date gives 20261128T083000Z.
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15]
    )
}

/// `2026-11-28 16:30:00` in a zone `offset_secs` east of UTC.
pub fn local_time(ms: i64, offset_secs: i32) -> String {
    let iso = iso_utc(ms.saturating_add(i64::from(offset_secs) * 1000));
    format!("{} {}", &iso[0..10], &iso[11..19])
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
        assert_eq!(human_duration_ms(7_500_000), "2h05m");
        assert_eq!(human_duration_ms(3 * 86_400_000 + 3_600_000), "3d01h");
    }

    #[test]
    fn times_format_in_utc_and_local() {
        assert_eq!(iso_utc(1_795_854_600_000), "2026-11-28T08:30:00Z");
        assert_eq!(
            local_time(1_795_854_600_000, 8 * 3600),
            "2026-11-28 16:30:00"
        );
        assert_eq!(
            local_time(1_795_854_600_000, -9 * 3600),
            "2026-11-27 23:30:00"
        );
    }
}
