//! The volume descriptor set (ECMA-119 6.7.1, 8): primary, Joliet supplementary and enhanced
//! volume descriptors, up to the terminator.

use std::io::{Read, Seek};

use super::{dir, read_at, DirEntry, Limits, View, VolumeInfo, SECTOR};
use crate::codec::date::decode_vd_date;
use crate::codec::endian::{read_both16, read_both32};
use crate::codec::text::{decode_padded, decode_ucs2_be};
use crate::error::{ParseError, ParseErrorKind};

/// ECMA-119 6.7.1: the volume descriptor set begins at logical sector 16.
pub(crate) const FIRST_VD_LBA: u64 = 16;

/// ECMA-119 8.1.1 volume descriptor types.
const VD_PRIMARY: u8 = 1;
const VD_SUPPLEMENTARY: u8 = 2;
const VD_TERMINATOR: u8 = 255;

/// ECMA-119 8.1.2: the standard identifier.
const STANDARD_ID: &[u8; 5] = b"CD001";

/// Offsets inside a primary / supplementary volume descriptor (ECMA-119 8.4, 8.5).
mod off {
    pub const TYPE: usize = 0; // 8.4.1
    pub const STANDARD_ID: usize = 1; // 8.4.2
    pub const VERSION: usize = 6; // 8.4.3 / 8.5.2 (2 = enhanced volume descriptor)
    pub const SYSTEM_ID: usize = 8; // 8.4.5, 32 bytes
    pub const VOLUME_ID: usize = 40; // 8.4.6, 32 bytes
    pub const VOLUME_SPACE_SIZE: usize = 80; // 8.4.8, both-endian 32
    pub const ESCAPES: usize = 88; // 8.5.6, 32 bytes
    pub const BLOCK_SIZE: usize = 128; // 8.4.12, both-endian 16
    pub const ROOT_RECORD: usize = 156; // 8.4.18, 34 bytes
    pub const PUBLISHER: usize = 318; // 8.4.20, 128 bytes
    pub const PREPARER: usize = 446; // 8.4.21, 128 bytes
    pub const APPLICATION: usize = 574; // 8.4.22, 128 bytes
    pub const CREATION: usize = 813; // 8.4.26, 17 bytes
    pub const MODIFICATION: usize = 830; // 8.4.27, 17 bytes
}

/// Length of the root directory record field (ECMA-119 8.4.18).
const ROOT_RECORD_LEN: usize = 34;

/// The result of scanning the volume descriptor set.
pub(crate) struct VolumeSet {
    pub info: VolumeInfo,
    pub iso_root: DirEntry,
    pub joliet_root: Option<DirEntry>,
    pub iso1999_root: Option<DirEntry>,
}

/// A fixed field of a 2048-byte descriptor (the offsets are constants well inside it).
fn field(sector: &[u8], at: usize, len: usize) -> &[u8] {
    sector.get(at..at + len).unwrap_or_default()
}

/// Decodes a UCS-2 big-endian padded field (Joliet, whose fields are padded with UCS-2
/// spaces or NULs).
fn decode_ucs2_padded(b: &[u8]) -> String {
    decode_ucs2_be(b).trim_end_matches([' ', '\0']).to_string()
}

/// Joliet level from the escape sequences field (Joliet specification: `%/@`, `%/C`, `%/E`).
fn joliet_level(sector: &[u8]) -> Option<u8> {
    let esc = field(sector, off::ESCAPES, 32);
    match esc.get(..3)? {
        b"%/@" => Some(1),
        b"%/C" => Some(2),
        b"%/E" => Some(3),
        _ => None,
    }
}

/// Parses the root directory record of a descriptor (ECMA-119 8.4.18) into the root entry.
fn root_entry(
    sector: &[u8],
    lba: u64,
    view: View,
    limits: &Limits,
) -> Result<DirEntry, ParseError> {
    let rec = field(sector, off::ROOT_RECORD, ROOT_RECORD_LEN);
    let bad = |why: &str| {
        ParseError::at(
            ParseErrorKind::BadDirectoryRecord(format!("root record: {why}")),
            lba,
        )
        .with_offset(off::ROOT_RECORD)
    };
    if usize::from(rec.first().copied().unwrap_or(0)) < ROOT_RECORD_LEN {
        return Err(bad("length is less than 34"));
    }
    // ECMA-119 8.4.18 wants a one-byte 0x00 identifier; only the extent matters here.
    let raw = dir::parse_record(rec, true).map_err(|why| bad(&why))?;
    let extents = dir::record_extents(&raw, limits, 0).map_err(|e| ParseError {
        lba: Some(lba),
        offset: Some(off::ROOT_RECORD),
        ..e
    })?;
    Ok(DirEntry {
        name: "/".to_string(),
        identifier: raw.identifier.to_vec(),
        // The root is a directory whatever its flags say.
        is_dir: true,
        size: extents.iter().map(|e| u64::from(e.len)).sum(),
        extents,
        mtime: raw.date,
        hidden: false,
        view,
        posix: None,
        rr_name: None,
        udf: None,
    })
}

/// Scans the volume descriptor set of an image of `image_len` bytes.
pub(crate) fn scan<R: Read + Seek>(
    r: &mut R,
    image_len: u64,
    limits: &Limits,
) -> Result<VolumeSet, ParseError> {
    let mut primary: Option<(VolumeInfo, DirEntry)> = None;
    let mut joliet: Option<(u8, String, DirEntry)> = None;
    let mut iso1999: Option<DirEntry> = None;
    let mut sector = vec![0u8; crate::BLOCK_SIZE];
    let mut terminated = false;
    for i in 0..limits.max_volume_descriptors {
        let lba = FIRST_VD_LBA + i as u64;
        if (lba + 1) * SECTOR > image_len {
            return Err(ParseError::at(ParseErrorKind::Truncated, lba));
        }
        read_at(r, lba * SECTOR, &mut sector, lba)?;
        if field(&sector, off::STANDARD_ID, 5) != STANDARD_ID {
            let kind = if primary.is_none() {
                ParseErrorKind::NoVolumeDescriptor
            } else {
                ParseErrorKind::BadField("volume descriptor standard identifier")
            };
            return Err(ParseError::at(kind, lba).with_offset(off::STANDARD_ID));
        }
        let version = sector.get(off::VERSION).copied().unwrap_or(0);
        match sector.get(off::TYPE).copied().unwrap_or(0) {
            VD_TERMINATOR => {
                // ECMA-119 8.3: the volume descriptor set terminator.
                terminated = true;
                break;
            }
            VD_PRIMARY if primary.is_none() => {
                primary = Some(parse_primary(&sector, lba, limits)?);
            }
            VD_SUPPLEMENTARY if version == 1 && joliet.is_none() => {
                // ECMA-119 8.5: a supplementary volume descriptor; Joliet if its escape
                // sequences name UCS-2 (levels 1 to 3).
                if let Some(level) = joliet_level(&sector) {
                    let vol_id = decode_ucs2_padded(field(&sector, off::VOLUME_ID, 32));
                    joliet = Some((
                        level,
                        vol_id,
                        root_entry(&sector, lba, View::Joliet, limits)?,
                    ));
                }
            }
            VD_SUPPLEMENTARY if version == 2 && iso1999.is_none() => {
                // ECMA-119 4th edition 8.5.2: version 2 is the enhanced volume descriptor.
                iso1999 = Some(root_entry(&sector, lba, View::Iso1999, limits)?);
            }
            // Boot records (type 0, 8.2), partition descriptors (8.6), other supplementary
            // descriptors, reserved types and duplicates are not needed by this reader.
            _ => {}
        }
    }
    if !terminated {
        return Err(ParseError::at(
            ParseErrorKind::LimitExceeded(
                "volume descriptors",
                limits.max_volume_descriptors as u64,
            ),
            FIRST_VD_LBA + limits.max_volume_descriptors as u64,
        ));
    }
    let (mut info, iso_root) =
        primary.ok_or_else(|| ParseError::at(ParseErrorKind::NoVolumeDescriptor, FIRST_VD_LBA))?;
    let joliet_root = joliet.map(|(level, vol_id, root)| {
        info.joliet_level = Some(level);
        info.joliet_volume_id = Some(vol_id);
        root
    });
    info.has_iso1999 = iso1999.is_some();
    Ok(VolumeSet {
        info,
        iso_root,
        joliet_root,
        iso1999_root: iso1999,
    })
}

/// Parses the primary volume descriptor (ECMA-119 8.4).
fn parse_primary(
    sector: &[u8],
    lba: u64,
    limits: &Limits,
) -> Result<(VolumeInfo, DirEntry), ParseError> {
    // ECMA-119 8.4.12: logical block size; this reader (and every writer in practice) uses 2048.
    let (bs_le, bs_be) = read_both16(sector, off::BLOCK_SIZE).unwrap_or_default();
    if bs_le != bs_be {
        return Err(
            ParseError::at(ParseErrorKind::EndianMismatch("logical block size"), lba)
                .with_offset(off::BLOCK_SIZE),
        );
    }
    if usize::from(bs_le) != crate::BLOCK_SIZE {
        return Err(ParseError::at(
            ParseErrorKind::BadField("logical block size (only 2048 is supported)"),
            lba,
        )
        .with_offset(off::BLOCK_SIZE));
    }
    // ECMA-119 8.4.8: volume space size.
    let (vs_le, vs_be) = read_both32(sector, off::VOLUME_SPACE_SIZE).unwrap_or_default();
    if vs_le != vs_be {
        return Err(
            ParseError::at(ParseErrorKind::EndianMismatch("volume space size"), lba)
                .with_offset(off::VOLUME_SPACE_SIZE),
        );
    }
    let info = VolumeInfo {
        volume_id: decode_padded(field(sector, off::VOLUME_ID, 32)),
        system_id: decode_padded(field(sector, off::SYSTEM_ID, 32)),
        publisher: decode_padded(field(sector, off::PUBLISHER, 128)),
        preparer: decode_padded(field(sector, off::PREPARER, 128)),
        application: decode_padded(field(sector, off::APPLICATION, 128)),
        volume_space_blocks: vs_le,
        block_size: bs_le,
        creation: decode_vd_date(field(sector, off::CREATION, 17)),
        modification: decode_vd_date(field(sector, off::MODIFICATION, 17)),
        joliet_level: None,
        has_iso1999: false,
        joliet_volume_id: None,
        rock_ridge: None,
        udf: None,
    };
    let root = root_entry(sector, lba, View::Iso9660, limits)?;
    Ok((info, root))
}
