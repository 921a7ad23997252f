//! Numbers in the byte orders of ECMA-119 7.2 and 7.3.

/// ECMA-119 7.2.3: 16-bit both-byte order (little-endian, then big-endian).
pub fn both16(v: u16) -> [u8; 4] {
    let l = v.to_le_bytes();
    let b = v.to_be_bytes();
    [l[0], l[1], b[0], b[1]]
}

/// ECMA-119 7.3.3: 32-bit both-byte order (little-endian, then big-endian).
pub fn both32(v: u32) -> [u8; 8] {
    let l = v.to_le_bytes();
    let b = v.to_be_bytes();
    [l[0], l[1], l[2], l[3], b[0], b[1], b[2], b[3]]
}

/// Copies `src` into `buf` at `off`. Callers pass constant offsets inside fixed-size buffers.
pub fn put(buf: &mut [u8], off: usize, src: &[u8]) {
    if let Some(dst) = buf.get_mut(off..off + src.len()) {
        dst.copy_from_slice(src);
    } else {
        debug_assert!(false, "put out of range: {off}+{}", src.len());
    }
}

/// Reads a little-endian u16 at `off`, if in range.
pub fn le16(buf: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(buf.get(off..off + 2)?.try_into().ok()?))
}
/// Reads a big-endian u16 at `off`, if in range.
pub fn be16(buf: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(buf.get(off..off + 2)?.try_into().ok()?))
}
/// Reads a little-endian u32 at `off`, if in range.
pub fn le32(buf: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(buf.get(off..off + 4)?.try_into().ok()?))
}
/// Reads a big-endian u32 at `off`, if in range.
pub fn be32(buf: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(buf.get(off..off + 4)?.try_into().ok()?))
}

/// Decodes a both-byte-order u16: `(little, big)`, so callers can check or tolerate a mismatch.
pub fn read_both16(buf: &[u8], off: usize) -> Option<(u16, u16)> {
    Some((le16(buf, off)?, be16(buf, off + 2)?))
}
/// Decodes a both-byte-order u32: `(little, big)`.
pub fn read_both32(buf: &[u8], off: usize) -> Option<(u32, u32)> {
    Some((le32(buf, off)?, be32(buf, off + 4)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn both_orders() {
        assert_eq!(both16(0x1234), [0x34, 0x12, 0x12, 0x34]);
        assert_eq!(both32(0x0102_0304), [4, 3, 2, 1, 1, 2, 3, 4]);
        assert_eq!(read_both32(&both32(77), 0), Some((77, 77)));
        assert_eq!(read_both16(&both16(9), 0), Some((9, 9)));
        assert_eq!(le32(&[1, 2], 0), None);
    }
}
