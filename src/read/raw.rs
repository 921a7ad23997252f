//! Decoders for the single on-disk records of ECMA-119: volume descriptors (8), directory
//! records (9.1) and path table records (9.4).
//!
//! They decode structure only: every field is returned as recorded (both copies of both-byte
//! order fields, reserved bytes, the padding byte), and only what makes a record impossible to
//! delimit is an error. Interpreting the fields (limits, strictness, the image around them) is
//! the [`ImageReader`](super::ImageReader)'s job. Every decoder accepts any bytes without
//! panicking.
//!
//! ```
//! use glassmaster::raw::iso9660::decode_dir_record;
//! let mut rec = vec![0u8; 34];
//! rec[0] = 34; // 9.1.1 length of the record
//! rec[32] = 1; // 9.1.10 length of the file identifier
//! let r = decode_dir_record(&rec)?;
//! assert_eq!(r.identifier, [0]);
//! assert_eq!(r.len, 34);
//! # Ok::<(), glassmaster::ParseError>(())
//! ```

use crate::codec::endian::{be16, be32, le16, le32, read_both16, read_both32};
use crate::error::{ParseError, ParseErrorKind};

use super::dir;

/// The fixed part of a directory record, before the identifier (ECMA-119 9.1.1 to 9.1.10).
const DIR_FIXED: usize = 33;
/// The fixed part of a path table record, before the identifier (ECMA-119 9.4.1 to 9.4.4).
const PT_FIXED: usize = 8;
/// The size of a volume descriptor: one logical sector (ECMA-119 8.1).
pub const DESCRIPTOR_LEN: usize = crate::BLOCK_SIZE;

/// One directory record (ECMA-119 9.1), every field as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirRecord {
    /// 9.1.1: length of the directory record in bytes (the bytes this record occupies).
    pub len: usize,
    /// 9.1.2: extended attribute record length, in logical blocks.
    pub ext_attr_len: u8,
    /// 9.1.3: location of the extent, little-endian copy.
    pub location: u32,
    /// 9.1.3: location of the extent, big-endian copy.
    pub location_be: u32,
    /// 9.1.4: data length, little-endian copy.
    pub data_len: u32,
    /// 9.1.4: data length, big-endian copy.
    pub data_len_be: u32,
    /// 9.1.5: recording date and time (years since 1900, month, day, hour, minute, second,
    /// offset from GMT in 15-minute units).
    pub date: [u8; 7],
    /// 9.1.6: file flags.
    pub flags: u8,
    /// 9.1.7: file unit size (interleaved mode), in logical blocks.
    pub unit_size: u8,
    /// 9.1.8: interleave gap size, in logical blocks.
    pub gap_size: u8,
    /// 9.1.9: volume sequence number, little-endian copy.
    pub volume_seq: u16,
    /// 9.1.9: volume sequence number, big-endian copy.
    pub volume_seq_be: u16,
    /// 9.1.11: the file identifier (its length is 9.1.10).
    pub identifier: Vec<u8>,
    /// 9.1.12: the padding byte that follows an identifier of even length (None when the
    /// identifier length is odd, or the record ends right after the identifier).
    pub padding: Option<u8>,
    /// 9.1.13: the system use field.
    pub system_use: Vec<u8>,
}

impl DirRecord {
    /// True if the record is exactly what the crate's own encoder would write for its fields: no
    /// extended attribute record, no interleaving, volume sequence number 1, agreeing byte
    /// orders, and a zero padding byte where one is due.
    pub fn is_canonical(&self) -> bool {
        self.ext_attr_len == 0
            && self.unit_size == 0
            && self.gap_size == 0
            && self.volume_seq == 1
            && self.volume_seq_be == 1
            && self.location == self.location_be
            && self.data_len == self.data_len_be
            && self.padding
                == if self.identifier.len() % 2 == 0 {
                    Some(0)
                } else {
                    None
                }
    }

    /// True if the directory bit (9.1.6 bit 1) is set.
    pub fn is_dir(&self) -> bool {
        self.flags & dir::FLAG_DIRECTORY != 0
    }
}

/// Decodes the directory record that starts at `bytes[0]` (its length byte); bytes after the
/// record are ignored. Errors: `BadDirectoryRecord` if the length byte is below the 33 fixed
/// bytes or the identifier overruns the record, `Truncated` if `bytes` ends inside the record.
/// An empty identifier is decoded (a reader refuses it later).
pub fn decode_dir_record(bytes: &[u8]) -> Result<DirRecord, ParseError> {
    let len = usize::from(
        *bytes
            .first()
            .ok_or(ParseError::new(ParseErrorKind::Truncated))?,
    );
    if len < DIR_FIXED {
        return Err(ParseError::new(ParseErrorKind::BadDirectoryRecord(format!(
            "record length {len} is less than 33"
        )))
        .with_offset(0));
    }
    let rec = bytes
        .get(..len)
        .ok_or(ParseError::new(ParseErrorKind::Truncated).with_offset(bytes.len()))?;
    let raw = dir::parse_record(rec, true)
        .map_err(|why| ParseError::new(ParseErrorKind::BadDirectoryRecord(why)).with_offset(0))?;
    Ok(DirRecord {
        len,
        ext_attr_len: raw.ext_attr_len,
        location: raw.location,
        location_be: raw.location_be,
        data_len: raw.data_len,
        data_len_be: raw.data_len_be,
        date: raw.date_raw,
        flags: raw.flags,
        unit_size: raw.unit_size,
        gap_size: raw.gap_size,
        volume_seq: raw.volume_seq,
        volume_seq_be: raw.volume_seq_be,
        identifier: raw.identifier.to_vec(),
        padding: raw.padding,
        system_use: raw.system_use.to_vec(),
    })
}

/// One path table record (ECMA-119 9.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTableRecord {
    /// Bytes the record occupies (8, the identifier and the padding byte if any).
    pub len: usize,
    /// 9.4.2: extended attribute record length, in logical blocks.
    pub ext_attr_len: u8,
    /// 9.4.3: location of the directory's extent.
    pub extent: u32,
    /// 9.4.4: the number of the parent directory's record in the path table (from 1).
    pub parent: u16,
    /// 9.4.5: the directory identifier (its length is 9.4.1).
    pub identifier: Vec<u8>,
    /// 9.4.6: the padding byte that follows an identifier of odd length (None when the length
    /// is even, or the table ends right after the identifier).
    pub padding: Option<u8>,
}

impl PathTableRecord {
    /// True if the record is what the crate's own encoder would write for its fields.
    pub fn is_canonical(&self) -> bool {
        self.ext_attr_len == 0
            && self.padding
                == if self.identifier.len() % 2 == 1 {
                    Some(0)
                } else {
                    None
                }
    }
}

/// Decodes the path table record at `bytes[0]`, of a type M table (big-endian numbers) if
/// `big_endian`, else of a type L table. Errors: `BadPathTable` for an identifier length of 0
/// (9.4.1), `Truncated` if `bytes` ends before the identifier does.
pub fn decode_path_table_record(
    bytes: &[u8],
    big_endian: bool,
) -> Result<PathTableRecord, ParseError> {
    let id_len = usize::from(
        *bytes
            .first()
            .ok_or(ParseError::new(ParseErrorKind::Truncated))?,
    );
    if id_len == 0 {
        return Err(ParseError::new(ParseErrorKind::BadPathTable(
            "directory identifier length 0 (ECMA-119 9.4.1)".into(),
        ))
        .with_offset(0));
    }
    let truncated = || ParseError::new(ParseErrorKind::Truncated).with_offset(bytes.len());
    let identifier = bytes
        .get(PT_FIXED..PT_FIXED + id_len)
        .ok_or_else(truncated)?
        .to_vec();
    let (extent, parent) = if big_endian {
        (be32(bytes, 2), be16(bytes, 6))
    } else {
        (le32(bytes, 2), le16(bytes, 6))
    };
    let (extent, parent) = extent.zip(parent).ok_or_else(truncated)?;
    let padding = if id_len % 2 == 1 {
        bytes.get(PT_FIXED + id_len).copied()
    } else {
        None
    };
    Ok(PathTableRecord {
        len: PT_FIXED + id_len + usize::from(padding.is_some()),
        ext_attr_len: bytes.get(1).copied().unwrap_or(0),
        extent,
        parent,
        identifier,
        padding,
    })
}

/// Decodes a whole path table of `bytes` (its recorded size), at most `max_records` records
/// (`LimitExceeded` beyond). Trailing zero bytes after the last record are accepted as padding.
pub fn decode_path_table(
    bytes: &[u8],
    big_endian: bool,
    max_records: usize,
) -> Result<Vec<PathTableRecord>, ParseError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        if out.len() >= max_records {
            return Err(ParseError::new(ParseErrorKind::LimitExceeded(
                "path table records",
                max_records as u64,
            ))
            .with_offset(pos));
        }
        let rec = decode_path_table_record(rest, big_endian).map_err(|e| ParseError {
            offset: Some(pos + e.offset.unwrap_or(0)),
            ..e
        })?;
        pos += rec.len;
        out.push(rec);
    }
    Ok(out)
}

/// ECMA-119 8.1.1 volume descriptor types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VolumeDescriptorType {
    /// Type 0: boot record (8.2), e.g. El Torito.
    BootRecord,
    /// Type 1: primary volume descriptor (8.4).
    Primary,
    /// Type 2: supplementary (8.5; Joliet) or, with version 2, enhanced volume descriptor.
    Supplementary,
    /// Type 3: volume partition descriptor (8.6).
    Partition,
    /// Type 255: volume descriptor set terminator (8.3).
    Terminator,
    /// Any other (reserved) type.
    Reserved(u8),
}

impl VolumeDescriptorType {
    /// The type of type byte `t`.
    pub fn from_byte(t: u8) -> Self {
        match t {
            0 => Self::BootRecord,
            1 => Self::Primary,
            2 => Self::Supplementary,
            3 => Self::Partition,
            255 => Self::Terminator,
            other => Self::Reserved(other),
        }
    }
}

/// Byte offsets inside a primary / supplementary / enhanced volume descriptor (ECMA-119 8.4,
/// 8.5).
pub mod vd_offset {
    /// 8.4.1 volume descriptor type.
    pub const TYPE: usize = 0;
    /// 8.4.2 standard identifier "CD001".
    pub const STANDARD_ID: usize = 1;
    /// 8.4.3 volume descriptor version.
    pub const VERSION: usize = 6;
    /// 8.5.3 volume flags (supplementary only).
    pub const FLAGS: usize = 7;
    /// 8.4.5 system identifier, 32 bytes.
    pub const SYSTEM_ID: usize = 8;
    /// 8.4.6 volume identifier, 32 bytes.
    pub const VOLUME_ID: usize = 40;
    /// 8.4.8 volume space size, both-byte order 32.
    pub const VOLUME_SPACE_SIZE: usize = 80;
    /// 8.5.6 escape sequences, 32 bytes (supplementary only).
    pub const ESCAPES: usize = 88;
    /// 8.4.10 volume set size, both-byte order 16.
    pub const VOLUME_SET_SIZE: usize = 120;
    /// 8.4.11 volume sequence number, both-byte order 16.
    pub const VOLUME_SEQ: usize = 124;
    /// 8.4.12 logical block size, both-byte order 16.
    pub const BLOCK_SIZE: usize = 128;
    /// 8.4.13 path table size, both-byte order 32.
    pub const PATH_TABLE_SIZE: usize = 132;
    /// 8.4.14 location of the type L path table (little-endian).
    pub const PATH_TABLE_L: usize = 140;
    /// 8.4.15 location of the optional type L path table.
    pub const OPT_PATH_TABLE_L: usize = 144;
    /// 8.4.16 location of the type M path table (big-endian).
    pub const PATH_TABLE_M: usize = 148;
    /// 8.4.17 location of the optional type M path table.
    pub const OPT_PATH_TABLE_M: usize = 152;
    /// 8.4.18 directory record for the root directory, 34 bytes.
    pub const ROOT_RECORD: usize = 156;
    /// 8.4.20 publisher identifier, 128 bytes.
    pub const PUBLISHER: usize = 318;
    /// 8.4.21 data preparer identifier, 128 bytes.
    pub const PREPARER: usize = 446;
    /// 8.4.22 application identifier, 128 bytes.
    pub const APPLICATION: usize = 574;
    /// 8.4.26 volume creation date and time, 17 bytes.
    pub const CREATION: usize = 813;
    /// 8.4.27 volume modification date and time, 17 bytes.
    pub const MODIFICATION: usize = 830;
    /// 8.4.31 file structure version.
    pub const FILE_STRUCTURE_VERSION: usize = 881;
}

/// Length of the root directory record field (ECMA-119 8.4.18).
pub const ROOT_RECORD_LEN: usize = 34;

/// One volume descriptor (ECMA-119 8). The fields after `version` are those of a primary or
/// supplementary descriptor (8.4, 8.5) and are decoded from their offsets whatever the type;
/// `root` is decoded only for types 1 and 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeDescriptor {
    /// 8.1.1 type.
    pub descriptor_type: VolumeDescriptorType,
    /// 8.1.3 version (1; 2 for an enhanced volume descriptor).
    pub version: u8,
    /// 8.5.3 volume flags.
    pub flags: u8,
    /// 8.4.5 system identifier, as recorded.
    pub system_id: [u8; 32],
    /// 8.4.6 volume identifier, as recorded.
    pub volume_id: [u8; 32],
    /// 8.4.8 volume space size in logical blocks: (little-endian, big-endian) copies.
    pub volume_space_size: (u32, u32),
    /// 8.5.6 escape sequences (Joliet: `%/@`, `%/C`, `%/E`).
    pub escape_sequences: [u8; 32],
    /// 8.4.10 volume set size (LE, BE).
    pub volume_set_size: (u16, u16),
    /// 8.4.11 volume sequence number (LE, BE).
    pub volume_seq: (u16, u16),
    /// 8.4.12 logical block size (LE, BE).
    pub block_size: (u16, u16),
    /// 8.4.13 path table size in bytes (LE, BE).
    pub path_table_size: (u32, u32),
    /// 8.4.14 location of the type L path table.
    pub path_table_l: u32,
    /// 8.4.15 location of the optional type L path table (0: none).
    pub opt_path_table_l: u32,
    /// 8.4.16 location of the type M path table.
    pub path_table_m: u32,
    /// 8.4.17 location of the optional type M path table (0: none).
    pub opt_path_table_m: u32,
    /// 8.4.18 the root directory record (primary and supplementary descriptors only).
    pub root: Option<DirRecord>,
    /// 8.4.20 publisher identifier, as recorded.
    pub publisher: [u8; 128],
    /// 8.4.21 data preparer identifier, as recorded.
    pub preparer: [u8; 128],
    /// 8.4.22 application identifier, as recorded.
    pub application: [u8; 128],
    /// 8.4.26 volume creation date and time, as recorded.
    pub creation: [u8; 17],
    /// 8.4.27 volume modification date and time, as recorded.
    pub modification: [u8; 17],
    /// 8.4.31 file structure version.
    pub file_structure_version: u8,
}

/// A fixed-size field of a descriptor (its offset lies inside the 2048 bytes).
fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = b.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

/// Decodes one 2048-byte volume descriptor. Errors: `Truncated` if `bytes` is shorter than
/// 2048, `BadField` if the standard identifier is not `CD001` (8.1.2), `BadDirectoryRecord` if
/// the root record of a primary or supplementary descriptor cannot be delimited (offset 156).
pub fn decode_volume_descriptor(bytes: &[u8]) -> Result<VolumeDescriptor, ParseError> {
    use vd_offset as o;
    let b = bytes
        .get(..DESCRIPTOR_LEN)
        .ok_or(ParseError::new(ParseErrorKind::Truncated).with_offset(bytes.len()))?;
    if b.get(o::STANDARD_ID..o::STANDARD_ID + 5) != Some(b"CD001") {
        return Err(ParseError::new(ParseErrorKind::BadField(
            "volume descriptor standard identifier",
        ))
        .with_offset(o::STANDARD_ID));
    }
    let byte = |i: usize| b.get(i).copied().unwrap_or(0);
    let descriptor_type = VolumeDescriptorType::from_byte(byte(o::TYPE));
    let root = match descriptor_type {
        VolumeDescriptorType::Primary | VolumeDescriptorType::Supplementary => {
            let field = b
                .get(o::ROOT_RECORD..o::ROOT_RECORD + ROOT_RECORD_LEN)
                .unwrap_or_default();
            Some(decode_dir_record(field).map_err(|e| ParseError {
                kind: match e.kind {
                    ParseErrorKind::Truncated => ParseErrorKind::BadDirectoryRecord(format!(
                        "root record: length {} is more than the 34 bytes of its field",
                        byte(o::ROOT_RECORD)
                    )),
                    ParseErrorKind::BadDirectoryRecord(m) => {
                        ParseErrorKind::BadDirectoryRecord(format!("root record: {m}"))
                    }
                    k => k,
                },
                offset: Some(o::ROOT_RECORD),
                ..e
            })?)
        }
        _ => None,
    };
    Ok(VolumeDescriptor {
        descriptor_type,
        version: byte(o::VERSION),
        flags: byte(o::FLAGS),
        system_id: array(b, o::SYSTEM_ID),
        volume_id: array(b, o::VOLUME_ID),
        volume_space_size: read_both32(b, o::VOLUME_SPACE_SIZE).unwrap_or_default(),
        escape_sequences: array(b, o::ESCAPES),
        volume_set_size: read_both16(b, o::VOLUME_SET_SIZE).unwrap_or_default(),
        volume_seq: read_both16(b, o::VOLUME_SEQ).unwrap_or_default(),
        block_size: read_both16(b, o::BLOCK_SIZE).unwrap_or_default(),
        path_table_size: read_both32(b, o::PATH_TABLE_SIZE).unwrap_or_default(),
        path_table_l: le32(b, o::PATH_TABLE_L).unwrap_or(0),
        opt_path_table_l: le32(b, o::OPT_PATH_TABLE_L).unwrap_or(0),
        path_table_m: be32(b, o::PATH_TABLE_M).unwrap_or(0),
        opt_path_table_m: be32(b, o::OPT_PATH_TABLE_M).unwrap_or(0),
        root,
        publisher: array(b, o::PUBLISHER),
        preparer: array(b, o::PREPARER),
        application: array(b, o::APPLICATION),
        creation: array(b, o::CREATION),
        modification: array(b, o::MODIFICATION),
        file_structure_version: byte(o::FILE_STRUCTURE_VERSION),
    })
}

impl VolumeDescriptor {
    /// The Joliet level (1, 2 or 3) named by the escape sequences (Joliet specification:
    /// `%/@`, `%/C`, `%/E`), if this is a supplementary descriptor of version 1 naming one.
    pub fn joliet_level(&self) -> Option<u8> {
        if self.descriptor_type != VolumeDescriptorType::Supplementary || self.version != 1 {
            return None;
        }
        match self.escape_sequences.get(..3)? {
            b"%/@" => Some(1),
            b"%/C" => Some(2),
            b"%/E" => Some(3),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn dir_record_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_dir_record(&bytes);
        }
        #[test]
        fn dir_record_with_valid_length(len in 33u8..=255, id_len in any::<u8>(),
                                        fill in prop::collection::vec(any::<u8>(), 255)) {
            let mut bytes = fill;
            bytes[0] = len;
            bytes[32] = id_len;
            match decode_dir_record(&bytes) {
                Ok(r) => {
                    prop_assert_eq!(r.len, usize::from(len));
                    prop_assert_eq!(r.identifier.len(), usize::from(id_len));
                    let pad = usize::from(r.padding.is_some());
                    prop_assert_eq!(33 + r.identifier.len() + pad + r.system_use.len(), r.len);
                }
                Err(e) => {
                    prop_assert!(usize::from(id_len) + 33 > usize::from(len));
                    prop_assert!(matches!(e.kind, ParseErrorKind::BadDirectoryRecord(_)));
                }
            }
        }
        #[test]
        fn path_table_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300),
                                   be in any::<bool>()) {
            let _ = decode_path_table_record(&bytes, be);
            if let Ok(recs) = decode_path_table(&bytes, be, 1000) {
                prop_assert!(recs.iter().map(|r| r.len).sum::<usize>() <= bytes.len());
            }
        }
        #[test]
        fn volume_descriptor_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2100),
                                          ty in any::<u8>(), root_len in any::<u8>()) {
            let _ = decode_volume_descriptor(&bytes);
            let mut b = bytes;
            b.resize(2048, 0);
            b[0] = ty;
            b[1..6].copy_from_slice(b"CD001");
            b[156] = root_len;
            let _ = decode_volume_descriptor(&b);
        }
    }

    #[test]
    fn path_table_records() {
        let mut t = Vec::new();
        crate::format::iso9660::pathtable::encode(&mut t, &[0], 19, 1, false);
        crate::format::iso9660::pathtable::encode(&mut t, b"ABC", 20, 1, false);
        t.extend_from_slice(&[0, 0]);
        let recs = decode_path_table(&t, false, 10).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].identifier, b"ABC");
        assert_eq!((recs[1].extent, recs[1].parent), (20, 1));
        assert!(recs.iter().all(|r| r.is_canonical()));
        let e = decode_path_table(&t, false, 1).unwrap_err();
        assert_eq!(
            e.kind,
            ParseErrorKind::LimitExceeded("path table records", 1)
        );
        assert_eq!(e.offset, Some(10));
        let e = decode_path_table(&t[..12], false, 10).unwrap_err();
        assert_eq!((e.kind, e.offset), (ParseErrorKind::Truncated, Some(12)));
    }
}
