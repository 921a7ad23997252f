//! OSTA CS0 "compressed Unicode" (UDF 2.1.1, 2.1.2, 2.1.3; ECMA-167 1/7.2.12 for dstrings).
//!
//! A CS0 string is a compression identifier byte followed by the characters: 8 means one byte
//! per character (the code point, U+0000 to U+00FF), 16 means two bytes per UTF-16 code unit,
//! most significant byte first. We choose 8 whenever every character fits, else 16.
//!
//! Characters outside the Basic Multilingual Plane: the UDF 1.02-2.60 texts define CS0 over
//! "Unicode 2.0" 16-bit values, and the approved UDF 2.60 errata (DCN-5157) extend it to every
//! Unicode code point, recorded as UTF-16 surrogate pairs under compression identifier 16.
//! Linux decodes surrogate pairs since 4.18 (2018) and 7-Zip does (checked by the tests in
//! `tests/read/udf_assembled.rs`), so we write them for every revision rather than replacing such characters;
//! an older reader shows two replacement characters instead of one. The two byte-order marks U+FEFF and U+FFFE
//! are excluded by UDF 2.1.1; the encoder writes `_` in their place.
//!
//! Compression identifiers 254 and 255 (UDF 2.3.4.2, names of deleted FIDs) are decoded like 8
//! and 16 and never written.

/// The character written in place of U+FEFF and U+FFFE (UDF 2.1.1 excludes both).
pub const REPLACEMENT: char = '_';

fn sanitize(c: char) -> char {
    match c {
        '\u{FEFF}' | '\u{FFFE}' => REPLACEMENT,
        c => c,
    }
}

fn fits_8bit(s: &str) -> bool {
    s.chars().map(sanitize).all(|c| (c as u32) <= 0xFF)
}

/// Length in bytes of [`encode_cs0`]`(s)`, without encoding: 0 for the empty string, else
/// 1 + characters (8-bit) or 1 + 2 x UTF-16 code units (16-bit).
pub fn cs0_len(s: &str) -> usize {
    if s.is_empty() {
        0
    } else if fits_8bit(s) {
        1 + s.chars().count()
    } else {
        1 + 2 * s.chars().map(|c| sanitize(c).len_utf16()).sum::<usize>()
    }
}

/// Encodes `s` as OSTA CS0 (UDF 2.1.1): compression identifier 8 if every character is at most
/// U+00FF, else 16 (UTF-16BE with surrogate pairs). The empty string gives no bytes at all (not
/// even a compression identifier), which is what an empty dstring or a parent FID records.
pub fn encode_cs0(s: &str) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(cs0_len(s));
    if fits_8bit(s) {
        out.push(8);
        out.extend(s.chars().map(|c| sanitize(c) as u32 as u8));
    } else {
        out.push(16);
        let mut units = [0u16; 2];
        for c in s.chars().map(sanitize) {
            for u in c.encode_utf16(&mut units).iter() {
                out.extend_from_slice(&u.to_be_bytes());
            }
        }
    }
    out
}

/// The longest prefix of `s` (whole characters, so never half a surrogate pair) whose CS0
/// encoding takes at most `max_bytes` bytes. Adding characters never shortens an encoding, so
/// the prefix is found in one pass.
pub fn cs0_prefix(s: &str, max_bytes: usize) -> &str {
    let mut wide = false; // some character so far needs 16 bits
    let mut chars = 0usize; // characters so far
    let mut units = 0usize; // UTF-16 code units so far
    let mut end = 0usize;
    for (i, orig) in s.char_indices() {
        let c = sanitize(orig);
        let w = wide || (c as u32) > 0xFF;
        let n_chars = chars + 1;
        let n_units = units + c.len_utf16();
        let len = if w { 1 + 2 * n_units } else { 1 + n_chars };
        if len > max_bytes {
            break;
        }
        (wide, chars, units) = (w, n_chars, n_units);
        end = i + orig.len_utf8(); // index the original string, not the sanitized character
    }
    &s[..end]
}

/// Why a name cannot be a file identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// File identifiers are never empty (UDF 2.3.4.6: length greater than 1, except the parent).
    #[error("empty name")]
    Empty,
    /// More than 255 bytes once encoded (the FID's length of file identifier is a Uint8).
    #[error("name takes {0} bytes in CS0, at most 255 fit")]
    TooLong(usize),
}

/// Encodes a file identifier (FID name or symbolic link component): non-empty and at most 255
/// bytes of CS0 (ECMA-167 4/14.4.4 and 4/14.16.1: the lengths are Uint8). Callers that must
/// shorten long names use [`cs0_prefix`] first (with their own uniqueness scheme).
pub fn encode_name(s: &str) -> Result<Vec<u8>, NameError> {
    match cs0_len(s) {
        0 => Err(NameError::Empty),
        n if n > 255 => Err(NameError::TooLong(n)),
        _ => Ok(encode_cs0(s)),
    }
}

/// Writes `s` as a dstring filling `field` (ECMA-167 1/7.2.12; UDF 2.1.3): CS0 bytes from the
/// start, zero padding, and the number of CS0 bytes used in the last byte. The empty string (or
/// a field shorter than 2 bytes) gives an all-zero field. A string too long is cut to the
/// longest prefix that fits in `field.len() - 1` bytes.
pub fn put_dstring(field: &mut [u8], s: &str) {
    field.fill(0);
    let Some(max) = field.len().checked_sub(1) else {
        return;
    };
    let bytes = encode_cs0(cs0_prefix(s, max));
    if bytes.len() < 2 {
        return; // UDF 2.1.3: a used length of 1 (compression identifier only) is not allowed.
    }
    field[..bytes.len()].copy_from_slice(&bytes);
    field[max] = bytes.len() as u8;
}

/// A `field_len`-byte dstring holding `s` ([`put_dstring`]).
pub fn dstring(field_len: usize, s: &str) -> Vec<u8> {
    let mut v = vec![0; field_len];
    put_dstring(&mut v, s);
    v
}

/// Decodes CS0 bytes (compression identifier first). Empty input is the empty string; unknown
/// compression identifiers and odd-length 16-bit data give `None`; unpaired surrogates become
/// U+FFFD.
pub fn decode_cs0(b: &[u8]) -> Option<String> {
    let Some((&id, rest)) = b.split_first() else {
        return Some(String::new());
    };
    match id {
        8 | 254 => Some(rest.iter().map(|&c| c as char).collect()),
        16 | 255 => {
            if rest.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// Decodes a dstring field: the used length is the last byte; 0 is the empty string. A used
/// length that does not fit before the last byte gives `None`.
pub fn decode_dstring(field: &[u8]) -> Option<String> {
    let (&used, body) = field.split_last()?;
    decode_cs0(body.get(..used as usize)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_bit_by_hand() {
        assert_eq!(encode_cs0("AB"), [8, b'A', b'B']);
        // U+00E9 fits 8 bits: 0xE9.
        assert_eq!(encode_cs0("é"), [8, 0xE9]);
        assert_eq!(cs0_len("é"), 2);
        assert_eq!(decode_cs0(&[8, 0xE9]).unwrap(), "é");
    }

    #[test]
    fn sixteen_bit_by_hand() {
        // U+20AC EURO SIGN forces 16 bits for the whole string.
        assert_eq!(encode_cs0("a€"), [16, 0x00, b'a', 0x20, 0xAC]);
        // U+1F600 is the surrogate pair D83D DE00.
        assert_eq!(encode_cs0("😀"), [16, 0xD8, 0x3D, 0xDE, 0x00]);
        assert_eq!(cs0_len("😀"), 5);
        assert_eq!(decode_cs0(&[16, 0xD8, 0x3D, 0xDE, 0x00]).unwrap(), "😀");
        // Byte-order marks are replaced.
        assert_eq!(encode_cs0("\u{FEFF}x"), [8, b'_', b'x']);
        assert_eq!(encode_cs0("\u{FFFE}€"), [16, 0, b'_', 0x20, 0xAC]);
    }

    #[test]
    fn round_trips() {
        for s in [
            "",
            "a",
            "readme.txt",
            "Ünïcødé",
            "日本語.txt",
            "mixed € and ÿ",
            "𝄞 clef",
            "\u{FF}",
        ] {
            let e = encode_cs0(s);
            assert_eq!(e.len(), cs0_len(s), "{s}");
            assert_eq!(decode_cs0(&e).unwrap(), s);
        }
    }

    #[test]
    fn names_of_255_bytes() {
        let s = "x".repeat(254);
        assert_eq!(encode_name(&s).unwrap().len(), 255);
        assert_eq!(encode_name(&"x".repeat(255)), Err(NameError::TooLong(256)));
        let s = "€".repeat(127);
        assert_eq!(encode_name(&s).unwrap().len(), 255);
        assert_eq!(decode_cs0(&encode_name(&s).unwrap()).unwrap(), s);
        assert_eq!(encode_name(&"€".repeat(128)), Err(NameError::TooLong(257)));
        assert_eq!(encode_name(""), Err(NameError::Empty));
    }

    #[test]
    fn prefix_fits() {
        assert_eq!(cs0_prefix("abcdef", 4), "abc");
        assert_eq!(cs0_prefix("abcdef", 100), "abcdef");
        assert_eq!(cs0_prefix("abcdef", 1), "");
        // "ab€": 8-bit prefix "ab" takes 3 bytes, the full string 7.
        assert_eq!(cs0_prefix("ab€", 6), "ab");
        assert_eq!(cs0_prefix("ab€", 7), "ab€");
        // A surrogate pair is never split: "a😀" takes 1 + 2 * 3 = 7 bytes.
        assert_eq!(cs0_prefix("a😀", 6), "a");
        assert_eq!(cs0_prefix("a😀", 7), "a😀");
        // The prefix indexes the original string, even for replaced characters.
        assert_eq!(cs0_prefix("\u{FEFF}ab", 3), "\u{FEFF}a");
        let long = "é".repeat(300);
        assert_eq!(cs0_len(cs0_prefix(&long, 255)), 255);
    }

    #[test]
    fn dstrings() {
        // ECMA-167 1/7.2.12: "AB" in a 8-byte field: 08 41 42 00 00 00 00 03.
        assert_eq!(dstring(8, "AB"), [8, b'A', b'B', 0, 0, 0, 0, 3]);
        assert_eq!(dstring(8, ""), [0; 8]);
        assert_eq!(decode_dstring(&dstring(8, "AB")).unwrap(), "AB");
        assert_eq!(decode_dstring(&[0; 8]).unwrap(), "");
        // Truncation to field_len - 1 bytes.
        let d = dstring(32, &"v".repeat(40));
        assert_eq!(d[31], 31);
        assert_eq!(decode_dstring(&d).unwrap(), "v".repeat(30));
        // 16-bit truncation keeps whole characters: 1 + 2 * 15 = 31 bytes.
        let d = dstring(32, &"€".repeat(40));
        assert_eq!(d[31], 31);
        assert_eq!(decode_dstring(&d).unwrap(), "€".repeat(15));
        // A field too small for any character stays zero.
        assert_eq!(dstring(2, "€"), [0, 0]);
        assert_eq!(dstring(1, "a"), [0]);
        assert!(dstring(0, "a").is_empty());
    }

    #[test]
    fn decoders_refuse_garbage() {
        assert_eq!(decode_cs0(&[16, 0x00]), None);
        assert_eq!(decode_cs0(&[7, b'a']), None);
        assert_eq!(decode_cs0(&[16, 0xD8, 0x00]).unwrap(), "\u{FFFD}");
        assert_eq!(decode_cs0(&[254, b'a']).unwrap(), "a");
        assert_eq!(decode_dstring(&[8, b'a', 9]), None);
        assert_eq!(decode_dstring(&[]), None);
        for n in 0..=255u8 {
            let _ = decode_dstring(&[n, n, n]);
            let _ = decode_cs0(&[n, n, n]);
        }
    }
}
