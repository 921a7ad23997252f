//! SUSP 1.12 (IEEE P1281) entries: SP, CE, ER, ST. Every entry starts with a two-character
//! signature, its length and its version (SUSP 4.1). The encoders, and the decoder of a system
//! use area into its entries that the reader uses.

use crate::codec::endian::both32;

/// SUSP 5.1: the CE entry is 28 bytes.
pub(crate) const CE_LEN: usize = 28;

/// SUSP 4.1: every entry starts with a 2-byte signature, a length byte (header included) and a
/// version byte.
pub(crate) const HEADER: usize = 4;

/// SUSP 5.3: the check bytes of the `SP` entry.
pub(crate) const SP_CHECK: [u8; 2] = [0xBE, 0xEF];

/// One SUSP entry, borrowed from its area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SuspEntry<'a> {
    /// SUSP 4.1.1: the signature word.
    pub sig: [u8; 2],
    /// SUSP 4.1.3: the entry version.
    pub version: u8,
    /// The bytes after the 4-byte header (`len - 4` of them).
    pub data: &'a [u8],
}

/// The entries of one system use area or continuation area, in order (SUSP 4.1). Iteration
/// ends at the end of the area, at fewer than 4 bytes left (padding, ECMA-119 9.1.13 / SUSP
/// 4.1), or at an entry whose length is below 4 or overruns the area.
pub(crate) fn entries(area: &[u8]) -> impl Iterator<Item = SuspEntry<'_>> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let head = area.get(pos..pos + HEADER)?;
        let len = usize::from(head[2]);
        if len < HEADER {
            return None;
        }
        let data = area.get(pos + HEADER..pos + len)?;
        let e = SuspEntry {
            sig: [head[0], head[1]],
            version: head[3],
            data,
        };
        pos += len;
        Some(e)
    })
}

/// The `SP` entry's skip length (SUSP 5.3) if `field` starts with a valid `SP` entry.
pub(crate) fn sp_skip(field: &[u8]) -> Option<u8> {
    let e = entries(field).next()?;
    if &e.sig == b"SP" && e.data.get(..2) == Some(&SP_CHECK[..]) {
        e.data.get(2).copied()
    } else {
        None
    }
}

fn header(sig: &[u8; 2], len: usize) -> Vec<u8> {
    debug_assert!(len >= HEADER);
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
    v.extend_from_slice(&SP_CHECK);
    v.push(0); // bytes skipped (LEN_SKP)
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
    #[test]
    fn entries_decode_an_area_by_hand() {
        // SUSP 4.1: signature, length (header included), version, data; padding ends the area.
        let area = [
            b'S', b'P', 7, 1, 0xBE, 0xEF, 0, // SP, skip 0
            b'N', b'M', 6, 1, 0, b'a', // NM "a"
            b'X', b'X', 4, 1, // no data
            0, 0, 0, // padding
        ];
        let got: Vec<SuspEntry<'_>> = super::entries(&area).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].sig, got[0].version, got[0].data),
            (*b"SP", 1, &[0xBE, 0xEF, 0][..])
        );
        assert_eq!((got[1].sig, got[1].data), (*b"NM", &[0, b'a'][..]));
        assert_eq!((got[2].sig, got[2].data), (*b"XX", &[][..]));
        assert_eq!(sp_skip(&area), Some(0));
        // A length below the header, or one overrunning the area, ends the iteration.
        assert_eq!(super::entries(&[b'A', b'B', 3, 1, 0, 0]).count(), 0);
        assert_eq!(super::entries(&[b'A', b'B', 9, 1, 0]).count(), 0);
        // SP with other check bytes is no SP.
        assert_eq!(sp_skip(&[b'S', b'P', 7, 1, 0xBE, 0xEE, 0]), None);
        // What the encoders write decodes back.
        let mut field = sp();
        field.extend(ce(20, 100, 300));
        field.extend(er("ID", "D", "S", 1));
        let got: Vec<[u8; 2]> = super::entries(&field).map(|e| e.sig).collect();
        assert_eq!(got, [*b"SP", *b"CE", *b"ER"]);
        assert_eq!(sp_skip(&field), Some(0));
    }
}
