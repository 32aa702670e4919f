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

/// The one reading of a duration a user writes, for every flag, config key and
/// environment variable: a number with a unit (`500ms`, `90s`, `10m`, `4h`, `2d`),
/// several of them (`1h30m`, `1m 30s`), decimals (`2.5s`), and a bare number,
/// which is **seconds** everywhere (`90` is `90s`). Errors start with `duration`
/// and never quote the input (it may be a mistyped secret).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("duration is empty".into());
    }
    let secs = match s.parse::<f64>() {
        Ok(v) => v,
        Err(_) => sum_of_units(s)?,
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err("duration must be a positive number of seconds or a number with a unit".into());
    }
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| "duration is too long".to_string())
}

/// `1h30m`, `1m 30s`, `2.5s` into seconds.
fn sum_of_units(s: &str) -> Result<f64, String> {
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err("duration must be a number followed by ms, s, m, h or d".into());
        }
        let n: f64 = rest[..num_len]
            .parse()
            .map_err(|_| "duration has a malformed number".to_string())?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "" => {
                return Err("duration needs a unit after each number (ms, s, m, h or d)".into());
            }
            _ => return Err("duration has an unknown unit (use ms, s, m, h or d)".into()),
        };
        total += n * factor;
        rest = rest[unit_len..].trim_start();
    }
    Ok(total)
}

/// [`parse_duration`] in seconds, for the flags that hold seconds (`--interval 90s`).
pub fn parse_secs(text: &str) -> Result<f64, String> {
    parse_duration(text).map(|d| d.as_secs_f64())
}

/// A duration the way a user would write it back, so a message can be pasted into
/// a flag or the config file: `500ms`, `2.5s`, `45s`, `1m30s`, `10m`, `1h30m`,
/// `4h`, `72h` (hours are the largest unit: auto-stop durations read as hours).
/// The one formatter of written durations (ages and countdowns on
/// screen are [`human_duration_ms`]).
pub fn written_ms(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms % 1000 != 0 {
        return format!("{}s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    let parts = [(s / 3600, "h"), (s / 60 % 60, "m"), (s % 60, "s")];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}

/// [`written_ms`] for seconds (`2.5` is `2.5s`).
pub fn written_secs(secs: f64) -> String {
    written_ms((secs * 1000.0).round() as i64)
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
    fn one_reading_of_durations_bare_numbers_are_seconds() {
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs_f64());
        assert_eq!(secs("5"), Ok(5.0));
        assert_eq!(secs("90"), Ok(90.0));
        assert_eq!(secs(" 2.5 "), Ok(2.5));
        assert_eq!(secs("500ms"), Ok(0.5));
        assert_eq!(secs("90s"), Ok(90.0));
        assert_eq!(secs("10m"), Ok(600.0));
        assert_eq!(secs("1h30m"), Ok(5400.0));
        assert_eq!(secs("1m 30s"), Ok(90.0));
        assert_eq!(secs("2d"), Ok(172_800.0));
        assert_eq!(secs("1d12h"), Ok(129_600.0));
        for bad in [
            "", "ten", "10x", "s", "1.2.3s", "5 5", "-5", "-5s", "NaN", "inf", "1e400",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.starts_with("duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn written_durations_read_back_as_the_same_duration() {
        assert_eq!(written_ms(500), "500ms");
        assert_eq!(written_ms(2_500), "2.5s");
        assert_eq!(written_ms(45_000), "45s");
        assert_eq!(written_ms(90_000), "1m30s");
        assert_eq!(written_ms(600_000), "10m");
        assert_eq!(written_ms(5_400_000), "1h30m");
        assert_eq!(written_ms(4 * 3_600_000), "4h");
        assert_eq!(written_ms(72 * 3_600_000), "72h");
        assert_eq!(written_secs(2.0), "2s");
        for ms in [1, 999, 1_000, 2_500, 61_000, 3_601_000, 90_061_000] {
            let back = parse_duration(&written_ms(ms)).unwrap();
            assert_eq!(back.as_millis() as i64, ms, "{}", written_ms(ms));
        }
    }

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
