//! The 12-byte timestamp (ECMA-167 1/7.3; UDF 2.1.4).
//!
//! ```text
//! 0  u16 type and time zone: bits 12-15 type (1 = local time), bits 0-11 the offset from
//!        UTC in minutes, a signed 12-bit number (-1440..=1440, or -2047 = not specified)
//! 2  i16 year (1..=9999)     8  u8 second (0..=59)
//! 4  u8  month (1..=12)      9  u8 centiseconds (0..=99)
//! 5  u8  day (1..=31)        10 u8 hundreds of microseconds (0..=99)
//! 6  u8  hour (0..=23)       11 u8 microseconds (0..=99)
//! 7  u8  minute (0..=59)
//! ```
//!
//! UDF 2.1.4.1 requires type 1; we write UTC instants with offset 0, which every reader
//! converts correctly. A time zone offset of -2047 ("not specified") is read as UTC.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};

/// Length of a timestamp.
pub const TIMESTAMP_LEN: usize = 12;

/// The "time zone not specified" value of the 12-bit offset (ECMA-167 1/7.3.1).
const TZ_UNSPECIFIED: i16 = -2047;

/// Encodes `t` in its own offset (whole minutes, -1440..=1440 minutes) with type 1.
/// Years outside 1..=9999 are clamped to the first or last representable instant; a leap second
/// is written as second 59 (ECMA-167 1/7.3.7 allows 0-59), 99/99/99 sub-second fields.
pub fn encode_timestamp_in(t: &DateTime<FixedOffset>) -> [u8; TIMESTAMP_LEN] {
    let offset_min = t
        .offset()
        .local_minus_utc()
        .div_euclid(60)
        .clamp(-1440, 1440) as i16;
    let type_tz = (1u16 << 12) | ((offset_min as u16) & 0x0FFF);
    let mut out = [0u8; TIMESTAMP_LEN];
    out[0..2].copy_from_slice(&type_tz.to_le_bytes());
    let year = t.year();
    if year < 1 {
        out[2..4].copy_from_slice(&1i16.to_le_bytes());
        out[4..8].copy_from_slice(&[1, 1, 0, 0]);
        return out;
    }
    if year > 9999 {
        out[2..4].copy_from_slice(&9999i16.to_le_bytes());
        out[4..12].copy_from_slice(&[12, 31, 23, 59, 59, 99, 99, 99]);
        return out;
    }
    let (second, nanos) = if t.nanosecond() >= 1_000_000_000 {
        (59, 999_999_999) // chrono's leap second representation
    } else {
        (t.second().min(59), t.nanosecond())
    };
    let micros = nanos / 1000;
    out[2..4].copy_from_slice(&(year as i16).to_le_bytes());
    out[4] = t.month() as u8;
    out[5] = t.day() as u8;
    out[6] = t.hour() as u8;
    out[7] = t.minute() as u8;
    out[8] = second as u8;
    out[9] = (micros / 10_000) as u8; // centiseconds
    out[10] = (micros / 100 % 100) as u8; // hundreds of microseconds
    out[11] = (micros % 100) as u8; // microseconds
    out
}

/// Encodes a UTC instant: type 1 (local time), offset 0 minutes ([`encode_timestamp_in`]).
pub fn encode_timestamp(t: &DateTime<Utc>) -> [u8; TIMESTAMP_LEN] {
    encode_timestamp_in(&t.fixed_offset())
}

/// Decodes a timestamp of type 0 (UTC) or 1 (local time); type 2 ("by agreement") and invalid
/// fields give `None`. An unspecified time zone is taken as UTC.
pub fn decode_timestamp(b: &[u8]) -> Option<DateTime<FixedOffset>> {
    let b: &[u8; TIMESTAMP_LEN] = b.get(..TIMESTAMP_LEN)?.try_into().ok()?;
    let type_tz = u16::from_le_bytes([b[0], b[1]]);
    let kind = type_tz >> 12;
    // Sign-extend the 12-bit offset.
    let raw = (type_tz & 0x0FFF) as i16;
    let offset = if raw & 0x0800 != 0 { raw - 0x1000 } else { raw };
    let offset_min = match (kind, offset) {
        (0, _) => 0,
        (1, TZ_UNSPECIFIED) => 0,
        (1, o) if (-1440..=1440).contains(&o) => o,
        _ => return None,
    };
    let year = i16::from_le_bytes([b[2], b[3]]);
    let (cs, hus, us) = (b[9] as u32, b[10] as u32, b[11] as u32);
    if cs > 99 || hus > 99 || us > 99 {
        return None;
    }
    let micros = cs * 10_000 + hus * 100 + us;
    let naive = NaiveDate::from_ymd_opt(year as i32, b[4] as u32, b[5] as u32)?.and_hms_micro_opt(
        b[6] as u32,
        b[7] as u32,
        b[8] as u32,
        micros,
    )?;
    let tz = FixedOffset::east_opt(offset_min as i32 * 60)?;
    tz.from_local_datetime(&naive).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_micro_opt(h, mi, s, us)
                .unwrap(),
        )
    }

    #[test]
    fn by_hand() {
        // 2024-02-29 13:45:07.123456 UTC: type 1 offset 0 = 0x1000; year 2024 = 0x07E8;
        // centiseconds 12, hundreds of microseconds 34, microseconds 56.
        let t = utc(2024, 2, 29, 13, 45, 7, 123_456);
        assert_eq!(
            encode_timestamp(&t),
            [0x00, 0x10, 0xE8, 0x07, 2, 29, 13, 45, 7, 12, 34, 56]
        );
    }

    #[test]
    fn offsets() {
        // +01:00 = 60 minutes = 0x03C -> 0x103C.
        let t = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
            .unwrap();
        let e = encode_timestamp_in(&t);
        assert_eq!(&e[..2], &[0x3C, 0x10]);
        assert_eq!(decode_timestamp(&e).unwrap(), t);
        // -05:30 = -330 minutes = 0xEB6 (12-bit two's complement) -> 0x1EB6.
        let t = FixedOffset::west_opt(5 * 3600 + 1800)
            .unwrap()
            .with_ymd_and_hms(1999, 12, 31, 23, 59, 59)
            .unwrap();
        let e = encode_timestamp_in(&t);
        assert_eq!(&e[..2], &[0xB6, 0x1E]);
        assert_eq!(decode_timestamp(&e).unwrap(), t);
        assert_eq!(
            decode_timestamp(&e).unwrap().offset().local_minus_utc(),
            -19800
        );
        // Unspecified (-2047 = 0x801) reads as UTC.
        let mut e = encode_timestamp(&utc(2010, 5, 6, 7, 8, 9, 0));
        e[..2].copy_from_slice(&(0x1000u16 | 0x0801).to_le_bytes());
        assert_eq!(decode_timestamp(&e).unwrap(), utc(2010, 5, 6, 7, 8, 9, 0));
    }

    #[test]
    fn round_trips() {
        for t in [
            utc(1970, 1, 1, 0, 0, 0, 0),
            utc(2038, 1, 19, 3, 14, 8, 999_999),
            utc(1, 1, 1, 0, 0, 0, 0),
            utc(9999, 12, 31, 23, 59, 59, 999_999),
            utc(1601, 6, 15, 12, 30, 30, 500_000),
        ] {
            assert_eq!(decode_timestamp(&encode_timestamp(&t)).unwrap(), t);
        }
    }

    #[test]
    fn clamps_and_truncates() {
        // Nanoseconds below a microsecond are dropped.
        let t = Utc.timestamp_opt(1_000_000_000, 123_456_789).unwrap();
        let d = decode_timestamp(&encode_timestamp(&t)).unwrap();
        assert_eq!(d.timestamp_subsec_nanos(), 123_456_000);
        // Years past 9999 clamp to the last instant.
        let far = Utc.with_ymd_and_hms(12000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            decode_timestamp(&encode_timestamp(&far)).unwrap(),
            utc(9999, 12, 31, 23, 59, 59, 999_999)
        );
        let early = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            decode_timestamp(&encode_timestamp(&early)).unwrap(),
            utc(1, 1, 1, 0, 0, 0, 0)
        );
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(decode_timestamp(&[0; 11]), None);
        assert_eq!(decode_timestamp(&[0; 12]), None); // month 0
        let mut e = encode_timestamp(&utc(2000, 1, 1, 0, 0, 0, 0));
        e[1] = 0x20; // type 2
        assert_eq!(decode_timestamp(&e), None);
        let mut e = encode_timestamp(&utc(2000, 1, 1, 0, 0, 0, 0));
        e[9] = 100;
        assert_eq!(decode_timestamp(&e), None);
        for a in 0..=255u8 {
            let _ = decode_timestamp(&[a, a, a, a, a, a, a, a, a, a, a, a]);
        }
    }
}
