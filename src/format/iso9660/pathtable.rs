//! ECMA-119 9.4 path tables (type L little-endian, type M big-endian).

/// ECMA-119 9.4: 8 bytes plus the identifier, plus a pad byte when its length is odd.
pub(crate) fn record_len(ident_len: usize) -> usize {
    8 + ident_len + ident_len % 2
}

/// Appends one path table record.
pub(crate) fn encode(out: &mut Vec<u8>, ident: &[u8], extent: u32, parent: u16, big_endian: bool) {
    out.push(ident.len() as u8); // 9.4.1 length of directory identifier
    out.push(0); // 9.4.2 extended attribute record length
    if big_endian {
        out.extend_from_slice(&extent.to_be_bytes()); // 9.4.3
        out.extend_from_slice(&parent.to_be_bytes()); // 9.4.4
    } else {
        out.extend_from_slice(&extent.to_le_bytes());
        out.extend_from_slice(&parent.to_le_bytes());
    }
    out.extend_from_slice(ident); // 9.4.5
    if ident.len() % 2 == 1 {
        out.push(0); // 9.4.6 padding
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn root_record() {
        let mut l = Vec::new();
        encode(&mut l, &[0], 19, 1, false);
        assert_eq!(l, [1, 0, 19, 0, 0, 0, 1, 0, 0, 0]);
        let mut m = Vec::new();
        encode(&mut m, b"AB", 0x0102, 1, true);
        assert_eq!(m, [2, 0, 0, 0, 1, 2, 0, 1, b'A', b'B']);
        assert_eq!(record_len(1), 10);
        assert_eq!(record_len(2), 10);
    }
}
