//! The volume descriptor set (ECMA-119 6.7.1, 8): primary, Joliet supplementary and enhanced
//! volume descriptors, up to the terminator.

use crate::BLOCK_SIZE_U64;
use std::io::{Read, Seek};

use super::{dir, read_at, DirEntry, Limits, PathTableLoc, View, VolumeInfo};
use crate::codec::date::decode_vd_date;
use crate::codec::text::{decode_padded, decode_ucs2_be};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::iso9660::descriptor::{
    decode_volume_descriptor, vd_offset as off, VolumeDescriptor, VolumeDescriptorType,
    ROOT_RECORD_LEN,
};

/// ECMA-119 6.7.1: the volume descriptor set begins at logical sector 16.
pub(crate) const FIRST_VD_LBA: u64 = 16;

/// The result of scanning the volume descriptor set.
pub(crate) struct VolumeSet {
    pub info: VolumeInfo,
    pub iso_root: DirEntry,
    pub joliet_root: Option<DirEntry>,
    pub iso1999_root: Option<DirEntry>,
    /// Where each view's path tables are (ECMA-119 8.4.13 to 8.4.17).
    pub path_tables: Vec<(View, PathTableLoc)>,
    /// The first sector after the volume descriptor set (after the terminator, or after the
    /// last descriptor read when there is none).
    pub vds_end: u64,
    /// Bytes allocated while scanning (one sector buffer).
    pub metadata_bytes: u64,
}

/// Decodes a UCS-2 big-endian padded field (Joliet, whose fields are padded with UCS-2
/// spaces or NULs).
fn decode_ucs2_padded(b: &[u8]) -> String {
    decode_ucs2_be(b).trim_end_matches([' ', '\0']).to_string()
}

/// The root directory entry of a descriptor (ECMA-119 8.4.18).
fn root_entry(
    vd: &VolumeDescriptor,
    lba: u64,
    view: View,
    limits: &Limits,
) -> Result<DirEntry, ParseError> {
    let bad = |why: &str| {
        ParseError::at(
            ParseErrorKind::BadDirectoryRecord(format!("root record: {why}")),
            lba,
        )
        .with_offset(off::ROOT_RECORD)
    };
    let Some(rec) = vd.root.as_ref() else {
        return Err(bad("missing"));
    };
    if rec.len < ROOT_RECORD_LEN {
        return Err(bad("length is less than 34"));
    }
    if limits.is_strict() {
        // ECMA-119 7.6.2, 8.4.18: the root record's identifier is a single (00) byte.
        if rec.identifier != [0] {
            return Err(bad("identifier is not a single (00) byte (ECMA-119 7.6.2)"));
        }
        if rec.location != rec.location_be {
            return Err(ParseError::at(
                ParseErrorKind::EndianMismatch("root record location of extent"),
                lba,
            )
            .with_offset(off::ROOT_RECORD));
        }
        if rec.data_len != rec.data_len_be {
            return Err(ParseError::at(
                ParseErrorKind::EndianMismatch("root record data length"),
                lba,
            )
            .with_offset(off::ROOT_RECORD));
        }
    }
    let extents = dir::record_extents(&rec.as_record_ref(), limits, 0).map_err(|e| ParseError {
        lba: Some(lba),
        offset: Some(off::ROOT_RECORD),
        ..e
    })?;
    Ok(DirEntry {
        name: "/".to_string(),
        identifier: rec.identifier.clone(),
        // The root is a directory whatever its flags say.
        is_dir: true,
        size: extents.iter().map(|e| u64::from(e.len)).sum(),
        extents,
        mtime: crate::codec::date::decode_dir_date(&rec.date),
        hidden: false,
        view,
        posix: None,
        rr_name: None,
        udf: None,
    })
}

/// Strict-mode checks common to primary, supplementary and enhanced descriptors: the
/// both-byte-order fields this reader does not otherwise need, and the volume space size.
fn strict_descriptor_checks(
    vd: &VolumeDescriptor,
    lba: u64,
    image_len: u64,
) -> Result<(), ParseError> {
    let mismatch =
        |what, at| Err(ParseError::at(ParseErrorKind::EndianMismatch(what), lba).with_offset(at));
    if vd.volume_set_size.0 != vd.volume_set_size.1 {
        return mismatch("volume set size", off::VOLUME_SET_SIZE);
    }
    if vd.volume_seq.0 != vd.volume_seq.1 {
        return mismatch("volume sequence number", off::VOLUME_SEQ);
    }
    if vd.path_table_size.0 != vd.path_table_size.1 {
        return mismatch("path table size", off::PATH_TABLE_SIZE);
    }
    if vd.volume_space_size.0 != vd.volume_space_size.1 {
        return mismatch("volume space size", off::VOLUME_SPACE_SIZE);
    }
    // ECMA-119 6.2.1, 6.7.1: the volume holds the system area, this descriptor and a
    // terminator, so it is at least 18 blocks.
    let blocks = u64::from(vd.volume_space_size.0);
    if blocks < FIRST_VD_LBA + 2 {
        return Err(
            ParseError::at(ParseErrorKind::BadSize("volume space size", blocks), lba)
                .with_offset(off::VOLUME_SPACE_SIZE),
        );
    }
    // The image must hold the whole volume space (8.4.8).
    if blocks * BLOCK_SIZE_U64 > image_len {
        return Err(
            ParseError::at(ParseErrorKind::Truncated, lba).with_offset(off::VOLUME_SPACE_SIZE)
        );
    }
    Ok(())
}

/// Scans the volume descriptor set of an image of `image_len` bytes.
pub(crate) fn scan<R: Read + Seek>(
    r: &mut R,
    image_len: u64,
    limits: &Limits,
) -> Result<VolumeSet, ParseError> {
    let strict = limits.is_strict();
    if strict && image_len % BLOCK_SIZE_U64 != 0 {
        // ECMA-119 6.1.2: the volume is a whole number of 2048-byte sectors; the last one is
        // cut short.
        return Err(ParseError::at(
            ParseErrorKind::Truncated,
            image_len / BLOCK_SIZE_U64,
        ));
    }
    let mut primary: Option<(VolumeInfo, DirEntry, PathTableLoc)> = None;
    let mut joliet: Option<(u8, String, DirEntry, PathTableLoc)> = None;
    let mut iso1999: Option<(DirEntry, PathTableLoc)> = None;
    let mut sector = vec![0u8; crate::BLOCK_SIZE];
    let mut end: Option<u64> = None;
    for i in 0..limits.max_volume_descriptors {
        let lba = FIRST_VD_LBA + i as u64;
        if (lba + 1) * BLOCK_SIZE_U64 > image_len {
            // Even lenient mode wants the set to end before the image does: an image that
            // stops inside its volume descriptor set has lost everything after it.
            return Err(ParseError::at(ParseErrorKind::Truncated, lba));
        }
        read_at(r, lba * BLOCK_SIZE_U64, &mut sector, lba)?;
        if sector.get(off::STANDARD_ID..off::STANDARD_ID + 5) != Some(b"CD001") {
            let kind = match (&primary, strict) {
                (None, _) => ParseErrorKind::NoVolumeDescriptor,
                // ECMA-119 6.7.1: the set ends with a terminator (8.3).
                (Some(_), true) => ParseErrorKind::MissingTerminator,
                (Some(_), false) => {
                    // Lenient: a set that just stops after a primary descriptor.
                    end = Some(lba);
                    break;
                }
            };
            return Err(ParseError::at(kind, lba).with_offset(off::STANDARD_ID));
        }
        let vd = decode_volume_descriptor(&sector).map_err(|e| ParseError {
            lba: Some(lba),
            ..e
        })?;
        match vd.descriptor_type {
            VolumeDescriptorType::Terminator => {
                // ECMA-119 8.3: the volume descriptor set terminator.
                end = Some(lba + 1);
                break;
            }
            VolumeDescriptorType::Primary if primary.is_none() => {
                primary = Some(parse_primary(&vd, lba, image_len, limits)?);
            }
            VolumeDescriptorType::Supplementary if vd.version == 1 && joliet.is_none() => {
                // ECMA-119 8.5: a supplementary volume descriptor; Joliet if its escape
                // sequences name UCS-2 (levels 1 to 3).
                if let Some(level) = vd.joliet_level() {
                    if strict {
                        check_block_size(&vd, lba)?;
                        strict_descriptor_checks(&vd, lba, image_len)?;
                    }
                    let vol_id = decode_ucs2_padded(&vd.volume_id);
                    let root = root_entry(&vd, lba, View::Joliet, limits)?;
                    joliet = Some((level, vol_id, root, PathTableLoc::of(&vd)));
                } else if strict && vd.escape_sequences.starts_with(b"%/") {
                    // Joliet specification: the only UCS-2 escape sequences are %/@, %/C, %/E.
                    return Err(ParseError::at(
                        ParseErrorKind::BadField("Joliet escape sequences"),
                        lba,
                    )
                    .with_offset(off::ESCAPES));
                }
            }
            VolumeDescriptorType::Supplementary if vd.version == 2 && iso1999.is_none() => {
                // ECMA-119 4th edition 8.5.2: version 2 is the enhanced volume descriptor.
                if strict {
                    check_block_size(&vd, lba)?;
                    strict_descriptor_checks(&vd, lba, image_len)?;
                }
                let root = root_entry(&vd, lba, View::Iso1999, limits)?;
                iso1999 = Some((root, PathTableLoc::of(&vd)));
            }
            // Boot records (type 0, 8.2), partition descriptors (8.6), other supplementary
            // descriptors, reserved types and duplicates are not needed by this reader.
            _ => {}
        }
    }
    let Some(vds_end) = end else {
        return Err(ParseError::at(
            ParseErrorKind::LimitExceeded(
                "volume descriptors",
                limits.max_volume_descriptors as u64,
            ),
            FIRST_VD_LBA + limits.max_volume_descriptors as u64,
        ));
    };
    let (mut info, iso_root, iso_pt) =
        primary.ok_or_else(|| ParseError::at(ParseErrorKind::NoVolumeDescriptor, FIRST_VD_LBA))?;
    let mut path_tables = vec![(View::Iso9660, iso_pt)];
    let joliet_root = joliet.map(|(level, vol_id, root, pt)| {
        info.joliet_level = Some(level);
        info.joliet_volume_id = Some(vol_id);
        path_tables.push((View::Joliet, pt));
        root
    });
    info.has_iso1999 = iso1999.is_some();
    let iso1999_root = iso1999.map(|(root, pt)| {
        path_tables.push((View::Iso1999, pt));
        root
    });
    Ok(VolumeSet {
        info,
        iso_root,
        joliet_root,
        iso1999_root,
        path_tables,
        vds_end,
        metadata_bytes: sector.len() as u64,
    })
}

/// ECMA-119 6.1.2, 8.4.12: the logical block size is 2^(n+9) bytes and at most the 2048-byte
/// sector; this reader (like every writer in practice) supports only 2048.
fn check_block_size(vd: &VolumeDescriptor, lba: u64) -> Result<(), ParseError> {
    let (bs_le, bs_be) = vd.block_size;
    if bs_le != bs_be {
        return Err(
            ParseError::at(ParseErrorKind::EndianMismatch("logical block size"), lba)
                .with_offset(off::BLOCK_SIZE),
        );
    }
    match bs_le {
        2048 => Ok(()),
        512 | 1024 => Err(
            ParseError::at(ParseErrorKind::UnsupportedBlockSize(bs_le), lba)
                .with_offset(off::BLOCK_SIZE),
        ),
        _ => Err(ParseError::at(
            ParseErrorKind::BadField(
                "logical block size (ECMA-119 6.1.2: 512, 1024 or 2048 bytes)",
            ),
            lba,
        )
        .with_offset(off::BLOCK_SIZE)),
    }
}

/// Parses the primary volume descriptor (ECMA-119 8.4).
fn parse_primary(
    vd: &VolumeDescriptor,
    lba: u64,
    image_len: u64,
    limits: &Limits,
) -> Result<(VolumeInfo, DirEntry, PathTableLoc), ParseError> {
    check_block_size(vd, lba)?;
    // ECMA-119 8.4.8: volume space size; the copies must agree in every mode, as a primary
    // descriptor whose sizes disagree is more likely garbage than a writer's slip.
    let (vs_le, vs_be) = vd.volume_space_size;
    if vs_le != vs_be {
        return Err(
            ParseError::at(ParseErrorKind::EndianMismatch("volume space size"), lba)
                .with_offset(off::VOLUME_SPACE_SIZE),
        );
    }
    if limits.is_strict() {
        strict_descriptor_checks(vd, lba, image_len)?;
        // ECMA-119 8.4.3, 8.4.31: version and file structure version are 1.
        if vd.version != 1 {
            return Err(
                ParseError::at(ParseErrorKind::BadField("volume descriptor version"), lba)
                    .with_offset(off::VERSION),
            );
        }
        if vd.file_structure_version != 1 {
            return Err(
                ParseError::at(ParseErrorKind::BadField("file structure version"), lba)
                    .with_offset(off::FILE_STRUCTURE_VERSION),
            );
        }
    }
    let info = VolumeInfo {
        volume_id: decode_padded(&vd.volume_id),
        system_id: decode_padded(&vd.system_id),
        publisher: decode_padded(&vd.publisher),
        preparer: decode_padded(&vd.preparer),
        application: decode_padded(&vd.application),
        volume_space_blocks: vs_le,
        block_size: vd.block_size.0,
        creation: decode_vd_date(&vd.creation),
        modification: decode_vd_date(&vd.modification),
        joliet_level: None,
        has_iso1999: false,
        joliet_volume_id: None,
        rock_ridge: None,
        udf: None,
    };
    let root = root_entry(vd, lba, View::Iso9660, limits)?;
    Ok((info, root, PathTableLoc::of(vd)))
}
