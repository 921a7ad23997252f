//! ECMA-119 8 volume descriptors: primary (8.4), supplementary / Joliet (8.5), enhanced
//! (ISO 9660:1999, type 2 version 2) and the set terminator (8.3).

use crate::codec::endian::{be32, both16, both32, le32, put, read_both16, read_both32};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::iso9660::dirrec::{decode_dir_record, DirRecord};
use crate::BLOCK_SIZE;

/// The size of a volume descriptor: one logical sector (ECMA-119 8.1).
pub const DESCRIPTOR_LEN: usize = BLOCK_SIZE;
use crate::codec::text::{put_padded, put_padded_ucs2, to_d_chars};

/// Which descriptor to encode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum VdKind {
    Primary,
    /// Joliet supplementary descriptor with escape sequence `%/E` (UCS-2 level 3).
    Joliet,
    /// ISO 9660:1999 enhanced volume descriptor.
    Enhanced,
}

/// What a descriptor refers to; filled from the frozen layout.
pub(crate) struct VdFields<'a> {
    pub kind: VdKind,
    pub volume_id: &'a str,
    pub system_id: &'a str,
    pub publisher: &'a str,
    pub preparer: &'a str,
    pub application: &'a str,
    pub volume_blocks: u32,
    pub path_table_size: u32,
    pub path_table_l: u32,
    pub path_table_m: u32,
    /// The root directory's 34-byte record.
    pub root_record: &'a [u8],
    pub created: [u8; 17],
    pub modified: [u8; 17],
    pub expires: [u8; 17],
    pub effective: [u8; 17],
    pub volume_set_id: &'a str,
    pub copyright_file: &'a str,
    pub abstract_file: &'a str,
    pub biblio_file: &'a str,
    /// Volume and volume set identifiers as given, not as d-characters (primary only).
    pub ids_as_given: bool,
}

/// `s`'s bytes, at most `max`, cut at a character boundary.
fn as_given(s: &str, max: usize) -> &[u8] {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
}

/// Encodes one 2048-byte descriptor.
pub(crate) fn encode(f: &VdFields<'_>) -> [u8; BLOCK_SIZE] {
    let mut b = [0u8; BLOCK_SIZE];
    let joliet = f.kind == VdKind::Joliet;
    b[0] = if f.kind == VdKind::Primary { 1 } else { 2 }; // 8.4.1 / 8.5.1 type
    put(&mut b, 1, b"CD001"); // 8.4.2 standard identifier
    b[6] = if f.kind == VdKind::Enhanced { 2 } else { 1 }; // 8.4.3 version
                                                           // 8.4.5 system identifier (a-characters), 8.4.6 volume identifier (d-characters).
    let text = |b: &mut [u8; BLOCK_SIZE], off: usize, len: usize, s: &str, dchars: bool| {
        let field = &mut b[off..off + len];
        if joliet {
            put_padded_ucs2(field, s);
        } else if dchars {
            put_padded(field, to_d_chars(s).as_bytes());
        } else {
            let a: String = s
                .chars()
                .map(|c| {
                    let u = c.to_ascii_uppercase();
                    if u.is_ascii() && crate::codec::text::is_a_char(u as u8) {
                        u
                    } else {
                        '_'
                    }
                })
                .collect();
            put_padded(field, a.as_bytes());
        }
    };
    text(&mut b, 8, 32, f.system_id, false);
    text(&mut b, 40, 32, f.volume_id, f.kind != VdKind::Enhanced);
    if f.kind == VdKind::Enhanced {
        // ISO 9660:1999 allows any agreed characters; keep the name as given (ASCII part).
        let s: String = f
            .volume_id
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect();
        put_padded(&mut b[40..72], s.as_bytes());
    }
    if f.ids_as_given && f.kind == VdKind::Primary {
        put_padded(&mut b[40..72], as_given(f.volume_id, 32));
    }
    put(&mut b, 80, &both32(f.volume_blocks)); // 8.4.8 volume space size
    if joliet {
        put(&mut b, 88, b"%/E"); // 8.5.6 escape sequences: UCS-2 level 3
    }
    put(&mut b, 120, &both16(1)); // 8.4.10 volume set size
    put(&mut b, 124, &both16(1)); // 8.4.11 volume sequence number
    put(&mut b, 128, &both16(BLOCK_SIZE as u16)); // 8.4.12 logical block size
    put(&mut b, 132, &both32(f.path_table_size)); // 8.4.13 path table size
    put(&mut b, 140, &f.path_table_l.to_le_bytes()); // 8.4.14 type L path table
    put(&mut b, 148, &f.path_table_m.to_be_bytes()); // 8.4.16 type M path table
    put(&mut b, 156, f.root_record); // 8.4.18 root directory record
    text(&mut b, 190, 128, f.volume_set_id, true); // 8.4.19 volume set identifier
    if f.ids_as_given && f.kind == VdKind::Primary {
        put_padded(&mut b[190..318], as_given(f.volume_set_id, 128));
    }
    text(&mut b, 318, 128, f.publisher, false); // 8.4.20
    text(&mut b, 446, 128, f.preparer, false); // 8.4.21
    text(&mut b, 574, 128, f.application, false); // 8.4.22
    text(&mut b, 702, 37, f.copyright_file, true); // 8.4.23 copyright file identifier
    text(&mut b, 739, 37, f.abstract_file, true); // 8.4.24 abstract file identifier
    text(&mut b, 776, 37, f.biblio_file, true); // 8.4.25 bibliographic file identifier
    put(&mut b, 813, &f.created); // 8.4.26 volume creation date and time
    put(&mut b, 830, &f.modified); // 8.4.27 volume modification date and time
    put(&mut b, 847, &f.expires); // 8.4.28 volume expiration date and time
    put(&mut b, 864, &f.effective); // 8.4.29 volume effective date and time
    b[881] = if f.kind == VdKind::Enhanced { 2 } else { 1 }; // 8.4.30 file structure version
    b
}

/// ECMA-119 8.3: the volume descriptor set terminator.
pub(crate) fn terminator() -> [u8; BLOCK_SIZE] {
    let mut b = [0u8; BLOCK_SIZE];
    b[0] = 255;
    put(&mut b, 1, b"CD001");
    b[6] = 1;
    b
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

/// The type of the descriptor in `sector` while it continues a volume descriptor set: standard
/// identifier `CD001` (ECMA-119 8.1.2) and not the set terminator (8.3). `None` where the set
/// ends (a terminator, or anything else).
pub(crate) fn set_member(sector: &[u8]) -> Option<VolumeDescriptorType> {
    if sector.get(vd_offset::STANDARD_ID..vd_offset::STANDARD_ID + 5) != Some(b"CD001") {
        return None;
    }
    match VolumeDescriptorType::from_byte(*sector.get(vd_offset::TYPE)?) {
        VolumeDescriptorType::Terminator => None,
        t => Some(t),
    }
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
    fn set_members() {
        let mut b = [0u8; 2048];
        assert_eq!(set_member(&b), None);
        b[1..6].copy_from_slice(b"CD001");
        assert_eq!(set_member(&b), Some(VolumeDescriptorType::BootRecord));
        b[0] = 1;
        assert_eq!(set_member(&b), Some(VolumeDescriptorType::Primary));
        b[0] = 2;
        assert_eq!(set_member(&b), Some(VolumeDescriptorType::Supplementary));
        b[0] = 255;
        assert_eq!(set_member(&b), None);
        assert_eq!(set_member(&terminator()), None);
        assert_eq!(set_member(&b[..4]), None);
    }
}
