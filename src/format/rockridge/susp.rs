//! SUSP 1.12 (IEEE P1281) entries: SP, CE, ER, ST. Every entry starts with a two-character
//! signature, its length and its version (SUSP 4.1).

use crate::codec::endian::both32;

/// SUSP 5.1: the CE entry is 28 bytes.
pub(crate) const CE_LEN: usize = 28;

fn header(sig: &[u8; 2], len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(sig);
    v.push(len as u8);
    v.push(1); // entry version
    v
}

/// SUSP 5.3: `SP`, first in the system use field of the root's "." record; check bytes 0xBE
/// 0xEF; no bytes skipped before the entries of other records.
pub(crate) fn sp() -> Vec<u8> {
    let mut v = header(b"SP", 7);
    v.extend_from_slice(&[0xBE, 0xEF, 0]);
    v
}

/// SUSP 5.1: `CE` pointing at a continuation area (block, offset within it, length).
pub(crate) fn ce(block: u32, offset: u32, len: u32) -> Vec<u8> {
    let mut v = header(b"CE", CE_LEN);
    v.extend_from_slice(&both32(block));
    v.extend_from_slice(&both32(offset));
    v.extend_from_slice(&both32(len));
    v
}

/// SUSP 5.5: `ER` naming an extension: identifier, descriptor, source, extension version.
pub(crate) fn er(id: &str, descriptor: &str, source: &str, ext_version: u8) -> Vec<u8> {
    let len = 8 + id.len() + descriptor.len() + source.len();
    let mut v = header(b"ER", len);
    v.push(id.len() as u8);
    v.push(descriptor.len() as u8);
    v.push(source.len() as u8);
    v.push(ext_version);
    v.extend_from_slice(id.as_bytes());
    v.extend_from_slice(descriptor.as_bytes());
    v.extend_from_slice(source.as_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn entries() {
        assert_eq!(sp(), [b'S', b'P', 7, 1, 0xBE, 0xEF, 0]);
        let c = ce(20, 100, 237);
        assert_eq!(c.len(), CE_LEN);
        assert_eq!(&c[4..12], &both32(20));
        let e = er("RRIP_1991A", "D", "S", 1);
        assert_eq!(e.len(), 8 + 10 + 2);
        assert_eq!(e[2] as usize, e.len());
    }
}
