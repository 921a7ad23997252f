//! ECMA-119 dates: the 7-byte binary form of directory records (9.1.5) and the 17-byte digit
//! form of volume descriptors (8.4.26.1).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};

/// ECMA-119 9.1.5: years since 1900, month, day, hour, minute, second, GMT offset in 15-minute
/// units. Written in UTC (offset 0). Years outside 1900..=2155 are clamped to the nearest
/// representable instant.
pub fn encode_dir_date(t: &DateTime<Utc>) -> [u8; 7] {
    let y = t.year();
    if y < 1900 {
        return [0, 1, 1, 0, 0, 0, 0];
    }
    if y > 2155 {
        return [255, 12, 31, 23, 59, 59, 0];
    }
    [
        (y - 1900) as u8,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second().min(59) as u8,
        0,
    ]
}

/// Decodes a 7-byte directory record date. All-zero (unspecified) and invalid dates give `None`.
pub fn decode_dir_date(b: &[u8]) -> Option<DateTime<FixedOffset>> {
    let b: &[u8; 7] = b.get(..7)?.try_into().ok()?;
    if b.iter().all(|&x| x == 0) {
        return None;
    }
    let off_q = b[6] as i8 as i32;
    if !(-48..=52).contains(&off_q) {
        return None;
    }
    let tz = FixedOffset::east_opt(off_q * 15 * 60)?;
    let d = NaiveDate::from_ymd_opt(1900 + b[0] as i32, b[1] as u32, b[2] as u32)?
        .and_hms_opt(b[3] as u32, b[4] as u32, b[5] as u32)?;
    tz.from_local_datetime(&d).single()
}

/// ECMA-119 8.4.26.1: "YYYYMMDDhhmmsscc" in ASCII digits plus the offset byte. Written in UTC.
/// Years outside 1..=9999 are clamped.
pub fn encode_vd_date(t: &DateTime<Utc>) -> [u8; 17] {
    let mut out = [b'0'; 17];
    let y = t.year().clamp(1, 9999);
    let cs = (t.nanosecond().min(999_999_999) / 10_000_000).min(99);
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:02}",
        y,
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second().min(59),
        cs
    );
    out[..16].copy_from_slice(&s.as_bytes()[..16]);
    out[16] = 0;
    out
}

/// ECMA-119 8.4.26.1: the "not specified" date: sixteen '0' digits and a zero offset.
pub fn unspecified_vd_date() -> [u8; 17] {
    let mut out = [b'0'; 17];
    out[16] = 0;
    out
}

/// Decodes a 17-byte volume descriptor date; "not specified" and invalid give `None`.
pub fn decode_vd_date(b: &[u8]) -> Option<DateTime<FixedOffset>> {
    let b = b.get(..17)?;
    let digits = std::str::from_utf8(b.get(..16)?).ok()?;
    if !digits.bytes().all(|c| c.is_ascii_digit()) || digits.bytes().all(|c| c == b'0') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<u32>().ok());
    let off_q = b[16] as i8 as i32;
    let tz = FixedOffset::east_opt(off_q.clamp(-48, 52) * 15 * 60)?;
    let d = NaiveDate::from_ymd_opt(n(0..4)? as i32, n(4..6)?, n(6..8)?)?.and_hms_milli_opt(
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
        n(14..16)? * 10,
    )?;
    tz.from_local_datetime(&d).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn dir_date_round_trip() {
        let t = Utc.with_ymd_and_hms(2024, 2, 29, 13, 45, 7).single().unwrap();
        let e = encode_dir_date(&t);
        assert_eq!(e, [124, 2, 29, 13, 45, 7, 0]);
        assert_eq!(decode_dir_date(&e).unwrap().with_timezone(&Utc), t);
    }
    #[test]
    fn vd_date_round_trip() {
        let t = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 58).single().unwrap();
        let e = encode_vd_date(&t);
        assert_eq!(&e[..16], b"1999123123595800");
        assert_eq!(decode_vd_date(&e).unwrap().with_timezone(&Utc), t);
        assert_eq!(decode_vd_date(&unspecified_vd_date()), None);
    }
    #[test]
    fn clamps() {
        let t = Utc.with_ymd_and_hms(1850, 1, 1, 0, 0, 0).single().unwrap();
        assert_eq!(encode_dir_date(&t)[0], 0);
        let t = Utc.with_ymd_and_hms(2200, 1, 1, 0, 0, 0).single().unwrap();
        assert_eq!(encode_dir_date(&t)[0], 255);
    }
}
