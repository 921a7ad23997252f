//! Volume dates: `--modification-date=YYYYMMDDhhmmsscc` and xorriso's `-volume_date TYPE
//! TIMESTRING`.

use chrono::{DateTime, NaiveDate, Utc};

use super::options::DateSetting;

/// `--modification-date=` / `-volume_date uuid`: 16 decimal digits, the year 1970 to 2999,
/// written literally (GMT).
pub fn uuid_digits(option: &str, v: &str) -> Result<[u8; 16], String> {
    let bad = || {
        format!("{option} {v:?}: expected 16 decimal digits YYYYMMDDhhmmsscc (year 1970 to 2999)")
    };
    let b: [u8; 16] = v.as_bytes().try_into().map_err(|_| bad())?;
    if !b.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let year: u32 = v.get(..4).and_then(|y| y.parse().ok()).ok_or_else(bad)?;
    if !(1970..=2999).contains(&year) {
        return Err(bad());
    }
    Ok(b)
}

/// The time the 16 digits name, if it is a valid date (hundredths dropped).
pub fn digits_time(d: &[u8; 16]) -> Option<DateTime<Utc>> {
    let s = std::str::from_utf8(d).ok()?;
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    NaiveDate::from_ymd_opt(n(0..4)? as i32, n(4..6)?, n(6..8)?)?
        .and_hms_opt(n(8..10)?, n(10..12)?, n(12..14)?)
        .map(|t| t.and_utc())
}

/// A `-volume_date c|m|x|f` time string: `default` (or `overridden`), 16 digits
/// YYYYMMDDhhmmsscc (GMT, hundredths dropped), `=SECONDS` since 1970, `+N`/`-N` from now
/// with a unit s, h, d, w, m (30 days) or y (365 days), or `MMDDhhmm[[CC]YY][.ss]` in local
/// time (as `date` takes it).
pub fn timestring(v: &str, now: DateTime<Utc>) -> Result<DateSetting, String> {
    let bad = || {
        format!(
            "-volume_date time {v:?}: expected default, YYYYMMDDhhmmsscc, =SECONDS, +N/-N with s, h, d, w, m or y, or MMDDhhmm[[CC]YY][.ss]"
        )
    };
    if v == "default" || v == "overridden" {
        return Ok(DateSetting::Default);
    }
    if let Some(secs) = v.strip_prefix('=') {
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        return DateTime::from_timestamp(secs, 0)
            .map(DateSetting::At)
            .ok_or_else(bad);
    }
    if let Some(sign) = v.chars().next().filter(|c| *c == '+' || *c == '-') {
        let body = &v[1..];
        let (num, unit) = match body.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            Some((i, _)) => (&body[..i], &body[i..]),
            None => (body, "s"),
        };
        let n: i64 = num.parse().map_err(|_| bad())?;
        let unit: i64 = match unit {
            "s" => 1,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "m" => 30 * 86_400,
            "y" => 365 * 86_400,
            _ => return Err(bad()),
        };
        let delta = n.checked_mul(unit).ok_or_else(bad)?;
        let delta = if sign == '-' { -delta } else { delta };
        let t = now.timestamp().checked_add(delta).ok_or_else(bad)?;
        return DateTime::from_timestamp(t, 0)
            .map(DateSetting::At)
            .ok_or_else(bad);
    }
    if v.len() == 16 && v.bytes().all(|b| b.is_ascii_digit()) {
        let b: [u8; 16] = v.as_bytes().try_into().map_err(|_| bad())?;
        return digits_time(&b).map(DateSetting::At).ok_or_else(bad);
    }
    date_command_form(v, now)
        .map(DateSetting::At)
        .ok_or_else(bad)
}

/// `MMDDhhmm[[CC]YY][.ss]`, as `date` takes it, in local time.
fn date_command_form(v: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    use chrono::{Datelike, Local, TimeZone};
    let (main, secs) = match v.split_once('.') {
        Some((m, s)) if s.len() == 2 => (m, s.parse::<u32>().ok()?),
        Some(_) => return None,
        None => (v, 0),
    };
    if !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| main.get(r)?.parse::<u32>().ok();
    let year = match main.len() {
        8 => now.with_timezone(&Local).year(),
        10 => 2000 + n(8..10)? as i32,
        12 => n(8..12)? as i32,
        _ => return None,
    };
    let naive =
        NaiveDate::from_ymd_opt(year, n(0..2)?, n(2..4)?)?.and_hms_opt(n(4..6)?, n(6..8)?, secs)?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert!(uuid_digits("x", "2020010203040506").is_ok());
        assert!(uuid_digits("x", "1969010203040506").is_err());
        assert!(uuid_digits("x", "202001020304050").is_err());
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(
            timestring("=1600000000", now),
            Ok(DateSetting::At(
                DateTime::from_timestamp(1_600_000_000, 0).unwrap()
            ))
        );
        assert_eq!(
            timestring("+1h", now),
            Ok(DateSetting::At(
                DateTime::from_timestamp(1_003_600, 0).unwrap()
            ))
        );
        assert_eq!(
            timestring("2020010203040506", now),
            Ok(DateSetting::At(
                DateTime::parse_from_rfc3339("2020-01-02T03:04:05Z")
                    .unwrap()
                    .into()
            ))
        );
        assert_eq!(timestring("default", now), Ok(DateSetting::Default));
        assert!(matches!(
            timestring("110814512007.13", now),
            Ok(DateSetting::At(_))
        ));
        assert!(timestring("1108145", now).is_err());
        assert!(timestring("tomorrow", now).is_err());
    }
}
