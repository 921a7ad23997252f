//! The session record glassmaster writes in the primary volume descriptor of every appended
//! session (see `read::session` and `docs/design.md`, "Multisession"): in the Application Use
//! field (ECMA-119 8.4.32, bytes 883-1394), [`SESSION_MAGIC`], a version byte (1), the session
//! number (1-based, u32 little-endian) and the first block of the session (u32 little-endian).

/// The identifier of a session record in a primary volume descriptor's Application Use field.
pub const SESSION_MAGIC: &[u8; 24] = b"GLASSMASTER MULTISESSION";
/// Offset of the Application Use field in a volume descriptor (ECMA-119 8.4.32).
pub(crate) const APP_USE_OFFSET: usize = 883;
/// Length of a session record.
pub(crate) const RECORD_LEN: usize = 33;

/// The head of the image that an append rewrites: blocks 16 to 31 (64 KiB with the system area).
pub(crate) const HEAD_FIRST: u64 = 16;
/// Blocks in the saved head copy.
pub(crate) const HEAD_BLOCKS: u64 = 16;

/// Encodes a session record.
pub(crate) fn encode_record(number: u32, start: u32) -> [u8; RECORD_LEN] {
    let mut r = [0u8; RECORD_LEN];
    r[..24].copy_from_slice(SESSION_MAGIC);
    r[24] = 1;
    r[25..29].copy_from_slice(&number.to_le_bytes());
    r[29..33].copy_from_slice(&start.to_le_bytes());
    r
}

/// Decodes the session record of a primary volume descriptor `pvd`, if it has one: (session
/// number, first block).
pub(crate) fn decode_record(pvd: &[u8]) -> Option<(u32, u32)> {
    let r = pvd.get(APP_USE_OFFSET..APP_USE_OFFSET + RECORD_LEN)?;
    if r.get(..24)? != SESSION_MAGIC || *r.get(24)? != 1 {
        return None;
    }
    let num = u32::from_le_bytes(r.get(25..29)?.try_into().ok()?);
    let start = u32::from_le_bytes(r.get(29..33)?.try_into().ok()?);
    Some((num, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_bytes() {
        let r = encode_record(3, 0x0102_0304);
        assert_eq!(&r[..24], b"GLASSMASTER MULTISESSION");
        assert_eq!(&r[24..], &[1, 3, 0, 0, 0, 4, 3, 2, 1]);
        let mut pvd = vec![0u8; 2048];
        assert_eq!(decode_record(&pvd), None);
        pvd[APP_USE_OFFSET..APP_USE_OFFSET + RECORD_LEN].copy_from_slice(&r);
        assert_eq!(decode_record(&pvd), Some((3, 0x0102_0304)));
        // Another version byte, or a descriptor cut short, is no record.
        pvd[APP_USE_OFFSET + 24] = 2;
        assert_eq!(decode_record(&pvd), None);
        pvd[APP_USE_OFFSET + 24] = 1;
        assert_eq!(decode_record(&pvd[..APP_USE_OFFSET + 32]), None);
    }
}
