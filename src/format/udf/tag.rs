//! The 16-byte descriptor tag that opens every UDF descriptor (ECMA-167 3/7.2, 4/7.2;
//! UDF 2.2.1, 2.3.1).
//!
//! ```text
//! 0  u16 tag identifier        8  u16 descriptor CRC
//! 2  u16 descriptor version    10 u16 descriptor CRC length
//! 4  u8  tag checksum          12 u32 tag location
//! 5  u8  reserved (0)
//! 6  u16 tag serial number
//! ```

use super::{get_u16, get_u32, get_u8, put_u16, put_u32, put_u8};
use crc::{Crc, CRC_16_XMODEM};

/// Tag identifiers (ECMA-167 3/7.2.1 and 4/7.2.1).
pub mod ident {
    /// Primary volume descriptor (3/10.1).
    pub const PVD: u16 = 1;
    /// Anchor volume descriptor pointer (3/10.2).
    pub const AVDP: u16 = 2;
    /// Volume descriptor pointer (3/10.3).
    pub const VDP: u16 = 3;
    /// Implementation use volume descriptor (3/10.4).
    pub const IUVD: u16 = 4;
    /// Partition descriptor (3/10.5).
    pub const PD: u16 = 5;
    /// Logical volume descriptor (3/10.6).
    pub const LVD: u16 = 6;
    /// Unallocated space descriptor (3/10.8).
    pub const USD: u16 = 7;
    /// Terminating descriptor (3/10.9 and 4/14.2).
    pub const TD: u16 = 8;
    /// Logical volume integrity descriptor (3/10.10).
    pub const LVID: u16 = 9;
    /// File set descriptor (4/14.1).
    pub const FSD: u16 = 256;
    /// File identifier descriptor (4/14.4).
    pub const FID: u16 = 257;
    /// Allocation extent descriptor (4/14.5).
    pub const AED: u16 = 258;
    /// Indirect entry (4/14.7).
    pub const IE: u16 = 259;
    /// Terminal entry (4/14.8).
    pub const TE: u16 = 260;
    /// File entry (4/14.9).
    pub const FE: u16 = 261;
    /// Extended attribute header descriptor (4/14.10.1).
    pub const EAHD: u16 = 262;
    /// Unallocated space entry (4/14.11).
    pub const USE: u16 = 263;
    /// Space bitmap descriptor (4/14.12).
    pub const SBD: u16 = 264;
    /// Partition integrity entry (4/14.13).
    pub const PIE: u16 = 265;
    /// Extended file entry (4/14.17).
    pub const EFE: u16 = 266;
}

/// Length of a descriptor tag.
pub const TAG_LEN: usize = 16;

/// CRC-16/XMODEM: polynomial x^16 + x^12 + x^5 + 1 (0x1021), initial value 0, no reflection,
/// no final XOR (ECMA-167 1/7.2.6, 3/7.2.6; UDF 6.5 gives the same algorithm). Sixteen tables
/// (16 bytes a step, 8 KiB of tables): a build writes a file entry per file and a file
/// identifier per name, and a byte at a time the CRC was the UDF writer's largest cost.
const CRC16: Crc<u16, crc::Table<16>> = Crc::<u16, crc::Table<16>>::new(&CRC_16_XMODEM);

/// The descriptor CRC of `data` (ECMA-167 3/7.2.6).
pub fn crc16(data: &[u8]) -> u16 {
    CRC16.checksum(data)
}

/// The tag checksum: the sum modulo 256 of bytes 0-3 and 5-15 of the tag (ECMA-167 3/7.2.3).
/// Bytes missing from a short slice count as zero.
pub fn tag_checksum(tag: &[u8]) -> u8 {
    tag.iter()
        .take(TAG_LEN)
        .enumerate()
        .filter(|&(i, _)| i != 4)
        .fold(0u8, |acc, (_, &b)| acc.wrapping_add(b))
}

/// A decoded descriptor tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    /// Tag identifier ([`ident`]).
    pub ident: u16,
    /// Descriptor version: 2 (`NSR02`) or 3 (`NSR03`).
    pub version: u16,
    /// Tag checksum as recorded.
    pub checksum: u8,
    /// Tag serial number.
    pub serial: u16,
    /// Descriptor CRC as recorded.
    pub crc: u16,
    /// Number of bytes after the tag covered by the CRC.
    pub crc_len: u16,
    /// Tag location: the descriptor's own sector (part 3) or partition-relative block (part 4).
    pub location: u32,
}

/// Fills the 16-byte tag at the start of `buf`, whose body (`buf[16..16 + crc_len]`) is
/// already written: identifier, version, serial number, location, the CRC over `crc_len` bytes
/// after the tag, and last the checksum.
///
/// # Panics
/// If `buf` is shorter than `16 + crc_len` or `crc_len` exceeds `u16::MAX`: both are bugs in the
/// calling encoder, not properties of user data.
pub fn finish_tag(
    buf: &mut [u8],
    ident: u16,
    version: u16,
    serial: u16,
    location: u32,
    crc_len: usize,
) {
    assert!(
        crc_len <= u16::MAX as usize,
        "descriptor CRC length {crc_len} exceeds 65535"
    );
    assert!(
        buf.len() >= TAG_LEN + crc_len,
        "descriptor shorter than its CRC length"
    );
    let crc = crc16(&buf[TAG_LEN..TAG_LEN + crc_len]);
    put_u16(buf, 0, ident);
    put_u16(buf, 2, version);
    put_u8(buf, 4, 0);
    put_u8(buf, 5, 0);
    put_u16(buf, 6, serial);
    put_u16(buf, 8, crc);
    put_u16(buf, 10, crc_len as u16);
    put_u32(buf, 12, location);
    let sum = tag_checksum(&buf[..TAG_LEN]);
    put_u8(buf, 4, sum);
}

/// Why a tag was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// Fewer than 16 bytes.
    #[error("buffer of {0} bytes is shorter than a tag")]
    TooShort(usize),
    /// The checksum does not match bytes 0-3 and 5-15.
    #[error("tag checksum {stored:#04x} but bytes sum to {computed:#04x}")]
    Checksum {
        /// Recorded checksum.
        stored: u8,
        /// Computed checksum.
        computed: u8,
    },
    /// The CRC length reaches past the buffer.
    #[error("CRC length {crc_len} reaches past the {available} bytes after the tag")]
    CrcLength {
        /// Recorded CRC length.
        crc_len: u16,
        /// Bytes present after the tag.
        available: usize,
    },
    /// The CRC does not match the body.
    #[error("descriptor CRC {stored:#06x} but body gives {computed:#06x}")]
    Crc {
        /// Recorded CRC.
        stored: u16,
        /// Computed CRC.
        computed: u16,
    },
    /// The tag names another location than the one it was read from.
    #[error("tag location {found} but read from {expected}")]
    Location {
        /// Where the descriptor was read.
        expected: u32,
        /// What the tag says.
        found: u32,
    },
    /// Descriptor version other than 2 or 3.
    #[error("descriptor version {0}")]
    Version(u16),
}

/// Decodes and checks a tag (checksum, version 2 or 3, CRC over `crc_len` bytes), without
/// looking at the location. A tag whose CRC length reaches past `buf` is refused.
pub fn decode_tag(buf: &[u8]) -> Result<Tag, TagError> {
    let short = || TagError::TooShort(buf.len());
    let head = buf.get(..TAG_LEN).ok_or_else(short)?;
    let tag = Tag {
        ident: get_u16(head, 0).ok_or_else(short)?,
        version: get_u16(head, 2).ok_or_else(short)?,
        checksum: get_u8(head, 4).ok_or_else(short)?,
        serial: get_u16(head, 6).ok_or_else(short)?,
        crc: get_u16(head, 8).ok_or_else(short)?,
        crc_len: get_u16(head, 10).ok_or_else(short)?,
        location: get_u32(head, 12).ok_or_else(short)?,
    };
    let computed = tag_checksum(head);
    if computed != tag.checksum {
        return Err(TagError::Checksum {
            stored: tag.checksum,
            computed,
        });
    }
    if tag.version != 2 && tag.version != 3 {
        return Err(TagError::Version(tag.version));
    }
    let body = &buf[TAG_LEN..];
    let covered = body
        .get(..tag.crc_len as usize)
        .ok_or(TagError::CrcLength {
            crc_len: tag.crc_len,
            available: body.len(),
        })?;
    let computed = crc16(covered);
    if computed != tag.crc {
        return Err(TagError::Crc {
            stored: tag.crc,
            computed,
        });
    }
    Ok(tag)
}

/// [`decode_tag`] plus a check that the tag location is `expected_location` (the sector it was
/// read from for volume structures, the partition-relative block for file structures).
pub fn verify_tag(buf: &[u8], expected_location: u32) -> Result<Tag, TagError> {
    let tag = decode_tag(buf)?;
    if tag.location != expected_location {
        return Err(TagError::Location {
            expected: expected_location,
            found: tag.location,
        });
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_known_values() {
        // ECMA-167 1/7.2.6 (and 3/7.2.6): "the CRC of the three bytes #70 #6A #77 is #3299".
        assert_eq!(crc16(&[0x70, 0x6A, 0x77]), 0x3299);
        // The CRC-16/XMODEM check value.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(&[]), 0);
        // By hand: one byte 0x01 -> the polynomial itself, 0x1021.
        assert_eq!(crc16(&[0x01]), 0x1021);
    }

    #[test]
    fn checksum_by_hand() {
        // ident 2, version 3, serial 1, CRC 0x1234, CRC length 496, location 256:
        // 2 + 3 + 1 + 0x34 + 0x12 + 0xF0 + 0x01 + 0x01 = 318 = 62 (mod 256).
        let tag = [
            2, 0, 3, 0, 0xAA, 0, 1, 0, 0x34, 0x12, 0xF0, 0x01, 0x00, 0x01, 0, 0,
        ];
        assert_eq!(tag_checksum(&tag), 62);
        // mkudffs 2.3's anchor (2, 3, serial 1, CRC 0x25B7, length 496, location 256) says 212.
        let tag = [
            2, 0, 3, 0, 0, 0, 1, 0, 0xB7, 0x25, 0xF0, 0x01, 0x00, 0x01, 0, 0,
        ];
        assert_eq!(tag_checksum(&tag), 212);
    }

    #[test]
    fn finish_and_verify() {
        let mut buf = vec![0u8; 512];
        buf[16..19].copy_from_slice(&[0x70, 0x6A, 0x77]);
        finish_tag(&mut buf, ident::AVDP, 3, 7, 256, 3);
        assert_eq!(&buf[8..10], &0x3299u16.to_le_bytes());
        assert_eq!(&buf[10..12], &3u16.to_le_bytes());
        let t = verify_tag(&buf, 256).unwrap();
        assert_eq!(
            t,
            Tag {
                ident: 2,
                version: 3,
                checksum: buf[4],
                serial: 7,
                crc: 0x3299,
                crc_len: 3,
                location: 256
            }
        );
        assert_eq!(
            verify_tag(&buf, 257),
            Err(TagError::Location {
                expected: 257,
                found: 256
            })
        );
    }

    #[test]
    fn rejects_flipped_bytes() {
        let mut buf = vec![0u8; 64];
        for (i, b) in buf.iter_mut().enumerate().skip(16) {
            *b = i as u8;
        }
        finish_tag(&mut buf, ident::FE, 2, 1, 99, 48);
        assert!(verify_tag(&buf, 99).is_ok());
        // Every byte flip in the tag (the checksum covers the reserved byte 5 too) and in the
        // CRC-covered body is caught.
        for i in 0..64 {
            let mut b = buf.clone();
            b[i] ^= 0x40;
            assert!(verify_tag(&b, 99).is_err(), "flip at {i} not caught");
        }
        // Bytes past the CRC length are not covered.
        let mut longer = buf.clone();
        longer.push(1);
        assert!(verify_tag(&longer, 99).is_ok());
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode_tag(&[0; 15]), Err(TagError::TooShort(15)));
        // An all-zero tag has a valid checksum but version 0.
        assert_eq!(decode_tag(&[0; 16]), Err(TagError::Version(0)));
        let mut buf = vec![0u8; 20];
        finish_tag(&mut buf, 1, 2, 0, 0, 4);
        assert!(decode_tag(&buf).is_ok());
        assert!(matches!(
            decode_tag(&buf[..19]),
            Err(TagError::CrcLength { .. })
        ));
    }
}
