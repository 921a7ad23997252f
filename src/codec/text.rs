//! Character sets: ECMA-119 7.4 d- and a-characters, and the UCS-2 big-endian of Joliet.

/// Lower-case hexadecimal of a digest (the checksum list, the span catalog's set identifier).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// First of the 256 private-use characters that stand for the bytes of a name that are not
/// valid UTF-8 (U+F700 + byte).
pub(crate) const RAW_BYTE_BASE: u32 = 0xF700;

/// Whether `c` is one of the private-use characters standing for a byte of a name that is not
/// valid UTF-8 (see [`RAW_BYTE_BASE`]).
pub(crate) fn is_raw_byte(c: char) -> bool {
    (RAW_BYTE_BASE..RAW_BYTE_BASE + 256).contains(&(c as u32))
}

/// ECMA-119 7.4.1 d-characters: A-Z, 0-9 and `_`.
pub fn is_d_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'
}

/// ECMA-119 7.4.1 a-characters: d-characters, space and `!"%&'()*+,-./:;<=>?`.
pub fn is_a_char(c: u8) -> bool {
    is_d_char(c) || b" !\"%&'()*+,-./:;<=>?".contains(&c)
}

/// Maps a string to d-characters: ASCII letters upper-cased, everything else not allowed
/// becomes `_`.
pub fn to_d_chars(s: &str) -> String {
    s.chars()
        .map(|c| {
            let u = c.to_ascii_uppercase();
            if u.is_ascii() && is_d_char(u as u8) {
                u
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `s` into a fixed field of `field.len()` bytes, padded with spaces (ECMA-119 7.4.3).
pub fn put_padded(field: &mut [u8], s: &[u8]) {
    for (i, b) in field.iter_mut().enumerate() {
        *b = s.get(i).copied().unwrap_or(b' ');
    }
}

/// UTF-16 code units of `s`, big-endian (Joliet stores UCS-2 BE; characters outside the BMP are
/// written as surrogate pairs, which Windows and Linux read back as UTF-16).
pub fn ucs2_be(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2);
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
    out
}

/// Writes UCS-2 BE text into a fixed field padded with UCS-2 spaces (0x00 0x20), truncated at a
/// character boundary.
pub fn put_padded_ucs2(field: &mut [u8], s: &str) {
    let enc = ucs2_be(s);
    let n = enc.len().min(field.len() & !1);
    for (i, b) in field.iter_mut().enumerate() {
        *b = if i < n {
            enc[i]
        } else if i % 2 == 0 {
            0
        } else {
            b' '
        };
    }
}

/// Decodes UCS-2/UTF-16 big-endian bytes (an odd trailing byte is ignored; unpaired surrogates
/// become U+FFFD).
pub fn decode_ucs2_be(b: &[u8]) -> String {
    let units = b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Decodes a space-padded a-/d-character field (trailing spaces and NULs removed; non-ASCII
/// bytes are mapped losslessly via Latin-1).
pub fn decode_padded(b: &[u8]) -> String {
    let end = b
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(0, |p| p + 1);
    b[..end].iter().map(|&c| c as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn dchars() {
        assert_eq!(to_d_chars("Hello-World.txt"), "HELLO_WORLD_TXT");
        assert!(is_a_char(b'?'));
        assert!(!is_d_char(b'a'));
    }
    #[test]
    fn ucs2() {
        assert_eq!(ucs2_be("Aé"), vec![0, 0x41, 0, 0xE9]);
        assert_eq!(decode_ucs2_be(&ucs2_be("x😀y")), "x😀y");
        let mut f = [0u8; 6];
        put_padded_ucs2(&mut f, "A");
        assert_eq!(f, [0, 0x41, 0, 0x20, 0, 0x20]);
    }
}
