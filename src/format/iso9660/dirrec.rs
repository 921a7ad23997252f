//! ECMA-119 9.1 directory records.

use crate::codec::endian::{both16, both32};

/// ECMA-119 9.1.6 file flags.
pub(crate) const FLAG_HIDDEN: u8 = 0x01;
/// Directory bit.
pub(crate) const FLAG_DIRECTORY: u8 = 0x02;
/// Multi-extent bit: not the final record of the file (ECMA-119 9.1.6 bit 7).
pub(crate) const FLAG_MULTI_EXTENT: u8 = 0x80;

/// The largest extent written for a multi-extent file: the largest multiple of 2048 that fits in
/// 32 bits, so every extent but the last ends on a block boundary.
pub(crate) const MAX_EXTENT_BYTES: u64 = 0xFFFF_F800;

/// ECMA-119 9.1.12: a record is 33 bytes plus the identifier, plus a pad byte when the identifier
/// length is even, plus the system use field.
pub(crate) fn record_len(ident_len: usize, system_use_len: usize) -> usize {
    33 + ident_len + (1 - ident_len % 2) + system_use_len
}

/// Number of directory records a file of `len` bytes needs (ECMA-119 6.5.1: one per extent).
pub(crate) fn extent_count(len: u64) -> u64 {
    if len <= u32::MAX as u64 {
        1
    } else {
        len.div_ceil(MAX_EXTENT_BYTES)
    }
}

/// The fields of one record.
pub(crate) struct Record<'a> {
    pub extent: u32,
    pub data_len: u32,
    pub date: [u8; 7],
    pub flags: u8,
    pub ident: &'a [u8],
    pub system_use: &'a [u8],
}

/// Appends the encoded record to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, r: &Record<'_>) {
    let len = record_len(r.ident.len(), r.system_use.len());
    debug_assert!(len <= 255 && r.ident.len() <= 255);
    let start = out.len();
    out.push(len as u8); // 9.1.1 length of directory record
    out.push(0); // 9.1.2 extended attribute record length
    out.extend_from_slice(&both32(r.extent)); // 9.1.3 location of extent
    out.extend_from_slice(&both32(r.data_len)); // 9.1.4 data length
    out.extend_from_slice(&r.date); // 9.1.5 recording date and time
    out.push(r.flags); // 9.1.6 file flags
    out.push(0); // 9.1.7 file unit size
    out.push(0); // 9.1.8 interleave gap size
    out.extend_from_slice(&both16(1)); // 9.1.9 volume sequence number
    out.push(r.ident.len() as u8); // 9.1.10 length of file identifier
    out.extend_from_slice(r.ident); // 9.1.11 file identifier
    if r.ident.len() % 2 == 0 {
        out.push(0); // 9.1.12 padding field
    }
    out.extend_from_slice(r.system_use); // 9.1.13 system use
    debug_assert_eq!(out.len() - start, len);
}

/// Lays records of the given lengths into 2048-byte sectors (ECMA-119 6.8.1.1: a record never
/// crosses a sector boundary) and returns the directory size in bytes (whole sectors).
pub(crate) fn directory_size(record_lens: impl Iterator<Item = usize>) -> u64 {
    let mut sectors = 1u64;
    let mut used = 0usize;
    for l in record_lens {
        if used + l > crate::BLOCK_SIZE {
            sectors += 1;
            used = 0;
        }
        used += l;
    }
    sectors * crate::BLOCK_SIZE as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn lengths() {
        assert_eq!(record_len(1, 0), 34);
        assert_eq!(record_len(6, 0), 40);
        assert_eq!(record_len(5, 0), 38);
        assert_eq!(extent_count(0), 1);
        assert_eq!(extent_count(u32::MAX as u64), 1);
        assert_eq!(extent_count(5 << 30), 2);
        assert_eq!(directory_size([34, 34].into_iter()), 2048);
        assert_eq!(directory_size(std::iter::repeat(100).take(21)), 4096);
    }
    #[test]
    fn encodes() {
        let mut v = Vec::new();
        encode(
            &mut v,
            &Record {
                extent: 20,
                data_len: 2048,
                date: [1; 7],
                flags: FLAG_DIRECTORY,
                ident: &[0],
                system_use: &[],
            },
        );
        assert_eq!(v.len(), 34);
        assert_eq!(v[0], 34);
        assert_eq!(&v[2..10], &both32(20));
        assert_eq!(v[25], 2);
        assert_eq!(v[32], 1);
        assert_eq!(v[33], 0);
    }
}
