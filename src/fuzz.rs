//! Crate internals for the fuzz targets (`fuzz/`): the encoders behind the builder, so decoded
//! records can be re-encoded and compared. Not part of the API; may change at any time.

use crate::format::iso9660::{descriptor, dirrec, pathtable};
use crate::read::raw::{DirRecord, PathTableRecord, VolumeDescriptor, VolumeDescriptorType};

/// Encodes a directory record with the builder's encoder (ECMA-119 9.1) from `r`'s location,
/// data length, date, flags, identifier and system use. None if the record would exceed 255
/// bytes.
pub fn encode_dir_record(r: &DirRecord) -> Option<Vec<u8>> {
    if dirrec::record_len(r.identifier.len(), r.system_use.len()) > 255 {
        return None;
    }
    let mut out = Vec::new();
    dirrec::encode(
        &mut out,
        &dirrec::Record {
            extent: r.location,
            data_len: r.data_len,
            date: r.date,
            flags: r.flags,
            ident: &r.identifier,
            system_use: &r.system_use,
        },
    );
    Some(out)
}

/// Encodes a path table record with the builder's encoder (ECMA-119 9.4).
pub fn encode_path_table_record(r: &PathTableRecord, big_endian: bool) -> Vec<u8> {
    let mut out = Vec::new();
    pathtable::encode(&mut out, &r.identifier, r.extent, r.parent, big_endian);
    out
}

/// Encodes a primary, Joliet or enhanced volume descriptor with the builder's encoder from the
/// numeric fields, dates and root record of `vd` (text fields are left empty). None for other
/// descriptor types or a root record that does not re-encode to 34 bytes.
pub fn encode_volume_descriptor(vd: &VolumeDescriptor) -> Option<[u8; 2048]> {
    let kind = match (vd.descriptor_type, vd.version) {
        (VolumeDescriptorType::Primary, _) => descriptor::VdKind::Primary,
        (VolumeDescriptorType::Supplementary, 2) => descriptor::VdKind::Enhanced,
        (VolumeDescriptorType::Supplementary, _) => descriptor::VdKind::Joliet,
        _ => return None,
    };
    let root = encode_dir_record(vd.root.as_ref()?)?;
    if root.len() != 34 {
        return None;
    }
    Some(descriptor::encode(&descriptor::VdFields {
        kind,
        volume_id: "",
        system_id: "",
        publisher: "",
        preparer: "",
        application: "",
        volume_blocks: vd.volume_space_size.0,
        path_table_size: vd.path_table_size.0,
        path_table_l: vd.path_table_l,
        path_table_m: vd.path_table_m,
        root_record: &root,
        created: vd.creation,
        modified: vd.creation,
        expires: vd.creation,
        effective: vd.creation,
        volume_set_id: "",
        copyright_file: "",
        abstract_file: "",
        biblio_file: "",
        ids_as_given: false,
    }))
}

/// Decodes `data`'s first (up to 255) bytes as a SUSP / Rock Ridge system use field, following
/// continuation areas inside `data` (taken as the image), with the default limits. Never panics;
/// returns whether decoding succeeded.
pub fn decode_system_use(data: &[u8]) -> bool {
    use crate::read::rockridge::{decode_system_use, RecordAt, SuInfo};
    let field = &data[..data.len().min(255)];
    let mut image = std::io::Cursor::new(data);
    let mut out = SuInfo::default();
    decode_system_use(
        &mut image,
        data.len() as u64,
        &crate::read::Limits::default(),
        field,
        0,
        RecordAt { lba: 0, offset: 0 },
        &mut out,
    )
    .is_ok()
}

/// Recomputes the tag checksum and CRC (ECMA-167 3/7.2) of everything in `data` that looks like
/// a UDF descriptor: at a 4-byte aligned offset, a known tag identifier (1-9, 256-266), version
/// 2 or 3 and a zero reserved byte. The CRC length is kept, shortened to what `data` holds;
/// descriptors are resealed from the last to the first, so that one holding another (a file
/// entry with embedded identifiers) is sealed over the other's final bytes. Returns how many
/// were resealed.
///
/// Random mutations almost never keep a CRC right, so without this the fuzzer stops at the
/// first tag of a UDF image; with it, mutated descriptors reach their decoders.
pub fn reseal_udf_tags(data: &mut [u8]) -> usize {
    use crate::format::udf::tag::{finish_tag, TAG_LEN};
    let u16_at = |d: &[u8], o: usize| -> Option<u16> {
        Some(u16::from_le_bytes([*d.get(o)?, *d.get(o + 1)?]))
    };
    let mut found = Vec::new();
    let mut pos = 0usize;
    while pos + TAG_LEN <= data.len() {
        let ident = u16_at(data, pos).unwrap_or(0);
        let version = u16_at(data, pos + 2).unwrap_or(0);
        let known = (1..=9).contains(&ident) || (256..=266).contains(&ident);
        if known && (version == 2 || version == 3) && data.get(pos + 5) == Some(&0) {
            found.push(pos);
        }
        pos += 4;
    }
    for &pos in found.iter().rev() {
        let Some(d) = data.get_mut(pos..) else {
            continue;
        };
        let (Some(ident), Some(version), Some(serial), Some(crc_len)) =
            (u16_at(d, 0), u16_at(d, 2), u16_at(d, 6), u16_at(d, 10))
        else {
            continue;
        };
        let location = d
            .get(12..16)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes);
        let crc_len = usize::from(crc_len).min(d.len() - TAG_LEN);
        finish_tag(d, ident, version, serial, location, crc_len);
    }
    found.len()
}

/// Lowers the longest extent of UDF file data (normally 0x3FFFF800 bytes, the most one
/// allocation descriptor holds, ECMA-167 4/14.14.1.1) to `bytes`, so a seed image of a few KiB
/// holds allocation extent descriptors (ECMA-167 4/14.5), which otherwise only files of over
/// 114 GiB need. For the seed writer `write_glassmaster_fuzz_seeds` (tests/read/strict.rs).
pub fn set_udf_extent_limit(options: &mut crate::Options, bytes: u32) {
    options.udf.extent_limit = bytes;
}
