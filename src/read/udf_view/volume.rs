//! Finding and opening a UDF volume: the volume recognition sequence (ECMA-167 2/8.3), the
//! anchors and the logical block size (3/8.4.2.1), the volume descriptor sequence (3/8.4.3), the
//! logical volume integrity sequence (3/8.8.2), and [`open_volume`], which ties them together.

use crate::BLOCK_SIZE_U64;
use std::io::{Read, Seek};

use super::file_set::open_file_set;
use super::partitions::{is_sparable, read_metadata_file, read_sparable};
use super::{bad, limit, placeholder_root, tag_error, Cx, Map, UdfInfo, UdfState, MAX_HOPS};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::udf::ad::ExtentAd;
use crate::format::udf::fields::{check_tag, u32_at};
use crate::format::udf::ids::EntityId;
use crate::format::udf::tag::{decode_tag, ident};
use crate::format::udf::volume::{
    Anchor, LogicalVolume, LogicalVolumeIntegrity, Partition, PartitionMap, PrimaryVolume,
};
use crate::format::udf::{slice, DecodeError};
use crate::read::{read_at, Limits};
use crate::warning::Warning;

/// True if the volume recognition sequence from byte 32768 has an `NSR02` or `NSR03`
/// descriptor inside an extended area (`BEA01` ... `TEA01`), ECMA-167 2/8.3. The ISO 9660
/// descriptors (`CD001`), `BOOT2` and `CDW02` may come before; the scan stops at the first
/// descriptor that is none of these, and after at most `max_volume_descriptors + 4`. Each
/// descriptor takes a sector (ECMA-167 2/8.3.1) of 2048 bytes, or of the block size when that
/// is larger (4096: mkudffs `--blocksize=4096`); both spacings are tried.
fn has_nsr<R: Read + Seek>(r: &mut R, image_len: u64, limits: &Limits) -> bool {
    [BLOCK_SIZE_U64, 4096]
        .into_iter()
        .any(|step| has_nsr_every(r, image_len, limits, step))
}

fn has_nsr_every<R: Read + Seek>(r: &mut R, image_len: u64, limits: &Limits, step: u64) -> bool {
    let mut buf = vec![0u8; 8];
    let mut extended = false;
    let max = limits.max_volume_descriptors.saturating_add(4) as u64;
    let first = crate::read::volume::FIRST_VD_LBA * BLOCK_SIZE_U64;
    for i in 0..max {
        let at = first + i * step;
        if at + step > image_len || read_at(r, at, &mut buf, at / BLOCK_SIZE_U64).is_err() {
            return false;
        }
        match buf.get(1..6).unwrap_or_default() {
            b"CD001" | b"BOOT2" | b"CDW02" => {}
            b"BEA01" => extended = true,
            b"NSR02" | b"NSR03" if extended => return true,
            b"TEA01" => extended = false,
            _ => return false,
        }
    }
    false
}

/// Looks for a UDF file system: `Ok(None)` without a recognition sequence naming one, an error
/// if it is announced but cannot be read.
pub(crate) fn detect<R: Read + Seek>(
    r: &mut R,
    image_len: u64,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Result<Option<UdfState>, ParseError> {
    if !has_nsr(r, image_len, limits) {
        return Ok(None);
    }
    let mut cx = Cx::new(r, image_len, BLOCK_SIZE_U64, limits, warnings);
    open_volume(&mut cx).map(Some)
}

/// The prevailing descriptors of a volume descriptor sequence (ECMA-167 3/8.4.3: of descriptors
/// with the same identification, the one with the highest sequence number).
#[derive(Default)]
pub(super) struct Vds {
    pub(super) pvd: Option<PrimaryVolume>,
    pub(super) pds: Vec<Partition>,
    /// The logical volume descriptor, its domain's UDF revision and its sector.
    pub(super) lvd: Option<(LogicalVolume, u16, u64)>,
}

/// Reads the volume descriptor sequence starting with extent `ext`.
pub(super) fn read_vds<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    ext: ExtentAd,
) -> Result<Vds, ParseError> {
    let mut vds = Vds::default();
    let mut at = u64::from(ext.location);
    let mut left = u64::from(ext.length) / cx.bs;
    if left == 0 {
        return Err(bad(at, "empty volume descriptor sequence extent".into()));
    }
    let mut budget = cx.limits.max_volume_descriptors;
    let mut hops = 0usize;
    while left > 0 {
        if budget == 0 {
            return Err(limit(
                "volume descriptors",
                cx.limits.max_volume_descriptors,
                at,
            ));
        }
        budget -= 1;
        let buf = cx.sector(at)?;
        if buf.iter().all(|&b| b == 0) {
            break; // ECMA-167 3/8.4.2: an unrecorded sector ends the sequence.
        }
        let expected = at as u32;
        let id = decode_tag(&buf)
            .map_err(|e| tag_error(e, at, "volume descriptor"))?
            .ident;
        match id {
            ident::PVD => {
                let p = cx.decode(&buf, expected, at, "primary volume descriptor", |b, l| {
                    PrimaryVolume::decode(b, l)
                })?;
                if vds
                    .pvd
                    .as_ref()
                    .is_none_or(|o| p.value.vds_number >= o.vds_number)
                {
                    vds.pvd = Some(p.value);
                }
            }
            ident::PD => {
                let p = cx
                    .decode(
                        &buf,
                        expected,
                        at,
                        "partition descriptor",
                        Partition::decode,
                    )?
                    .value;
                let full = vds.pds.len() >= 64;
                match vds.pds.iter_mut().find(|o| o.number == p.number) {
                    Some(o) if p.vds_number >= o.vds_number => *o = p,
                    Some(_) => {}
                    None if !full => vds.pds.push(p),
                    None => return Err(limit("partition descriptors", 64, at)),
                }
            }
            ident::LVD => {
                let l = cx.decode(
                    &buf,
                    expected,
                    at,
                    "logical volume descriptor",
                    LogicalVolume::decode,
                )?;
                // ECMA-167 3/10.6.7: the logical block size, which must be the one the
                // anchor was found with.
                let lbs = u32_at(&buf, 212).unwrap_or(0);
                if u64::from(lbs) != cx.bs {
                    return Err(ParseError::at(
                        ParseErrorKind::BadDescriptor(format!(
                            "logical volume descriptor: logical block size {lbs}, but the anchor is at blocks of {} bytes",
                            cx.bs
                        )),
                        at,
                    )
                    .with_offset(212));
                }
                let rev = l.revision.unwrap_or(0);
                if vds
                    .lvd
                    .as_ref()
                    .is_none_or(|(o, _, _)| l.value.vds_number >= o.vds_number)
                {
                    vds.lvd = Some((l.value, rev, at));
                }
            }
            ident::VDP => {
                // ECMA-167 3/10.3: the sequence continues in the next extent.
                let next = cx.decode(&buf, expected, at, "volume descriptor pointer", |b, l| {
                    check_tag(b, ident::VDP, l)?;
                    ExtentAd::decode(slice(b, 20, 8)?).ok_or(DecodeError::Invalid("extent"))
                })?;
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(limit("volume descriptor pointers", MAX_HOPS, at));
                }
                at = u64::from(next.location);
                left = u64::from(next.length) / cx.bs;
                continue;
            }
            ident::TD => {
                cx.decode(&buf, expected, at, "terminating descriptor", |b, l| {
                    check_tag(b, ident::TD, l)
                })?;
                break;
            }
            other => {
                // Implementation use, unallocated space and unknown descriptors: only the tag.
                cx.decode(&buf, expected, at, "volume descriptor", |b, l| {
                    check_tag(b, other, l)
                })?;
            }
        }
        at += 1;
        left -= 1;
    }
    if vds.lvd.is_none() {
        return Err(bad(
            u64::from(ext.location),
            "no logical volume descriptor in the volume descriptor sequence".into(),
        ));
    }
    Ok(vds)
}

/// The logical block sizes a UDF volume may have, in the order they are tried: 2048 first
/// (optical media and every bridge image), then the others ECMA-167 3/8.4.2.1 leaves to the
/// medium (mkudffs writes 512 for hard disks, and any of these with `--blocksize`).
const BLOCK_SIZES: [u64; 4] = [2048, 512, 1024, 4096];

/// The blocks where anchors may be in an image of `blocks` blocks: 256, the last block, the
/// last block - 256 (ECMA-167 3/8.4.2.1; UDF 2.2.3).
fn anchor_candidates(blocks: u64) -> Vec<u64> {
    let mut v = vec![256];
    for c in [blocks.checked_sub(1), blocks.checked_sub(257)]
        .into_iter()
        .flatten()
    {
        if c > 256 && !v.contains(&c) {
            v.push(c);
        }
    }
    v
}

/// The anchor volume descriptor pointers of the volume, with the block each was read from,
/// and the logical block size they reveal (set in `cx.bs`).
///
/// ECMA-167 3/8.4.2.1: the anchor is at block 256 and at the last block, or 256 blocks before
/// the last, of the volume; the block size is the one for which an anchor is found there whose
/// tag (checksum and CRC, ECMA-167 3/7.2) is sound and whose tag location (3/7.2.8) is the
/// block it was read from. Each size of [`BLOCK_SIZES`] is tried in turn; the first one that
/// gives an anchor is the volume's, and every anchor found at that size is returned (the first
/// usable one first). If no size gives one, the anchors are looked for once more at 2048
/// bytes as before: lenient mode then accepts an anchor whose tag location is wrong, with a
/// warning; otherwise the error is the one of the anchor at block 256.
pub(super) fn find_anchors<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
) -> Result<Vec<(u64, Anchor)>, ParseError> {
    for bs in BLOCK_SIZES {
        cx.bs = bs;
        let mut found = Vec::new();
        for lba in anchor_candidates(cx.image_len / bs) {
            let Ok(buf) = cx.sector(lba) else { continue };
            let exact = decode_tag(&buf).is_ok_and(|t| t.location == lba as u32);
            if !exact {
                continue;
            }
            if let Ok(a) = Anchor::decode(&buf, lba as u32) {
                found.push((lba, a.value));
            }
        }
        if let Some(&(at, _)) = found.first() {
            if at != 256 {
                cx.warn(format!(
                    "anchor at block 256 unusable (no sound anchor there at {bs} bytes a block); using the one at block {at}"
                ));
            }
            return Ok(found);
        }
    }
    // Nothing sound at any size: the reasons, at 2048 bytes.
    cx.bs = BLOCK_SIZE_U64;
    let mut first_err = None;
    let mut found = Vec::new();
    for lba in anchor_candidates(cx.image_len / BLOCK_SIZE_U64) {
        let got = cx.sector(lba).and_then(|buf| {
            cx.decode(
                &buf,
                lba as u32,
                lba,
                "anchor volume descriptor pointer",
                Anchor::decode,
            )
        });
        match got {
            Ok(a) => found.push((lba, a.value)),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if found.is_empty() {
        return Err(first_err
            .unwrap_or_else(|| ParseError::at(ParseErrorKind::BadTag("no anchor".into()), 256)));
    }
    if let (Some(&(at, _)), Some(e)) = (found.first(), first_err) {
        if at != 256 {
            cx.warn(format!(
                "anchor at sector 256 unusable ({e}); using the one at {at}"
            ));
        }
    }
    Ok(found)
}

/// Reads the volume structure and the root directory.
fn open_volume<R: Read + Seek>(cx: &mut Cx<'_, R>) -> Result<UdfState, ParseError> {
    // Anchors (and the block size).
    let anchors = find_anchors(cx)?;
    let Some(&(_, anchor)) = anchors.first() else {
        return Err(ParseError::at(
            ParseErrorKind::BadTag("no anchor".into()),
            256,
        ));
    };

    // Volume descriptor sequence: the main one, else the reserve one.
    let (vds, used_main) = match read_vds(cx, anchor.main) {
        Ok(v) => (v, true),
        Err(e) => match read_vds(cx, anchor.reserve) {
            Ok(v) => {
                cx.warn(format!(
                    "main volume descriptor sequence unusable ({e}); using the reserve one"
                ));
                (v, false)
            }
            Err(_) => return Err(e),
        },
    };
    let Vds { pvd, pds, lvd } = vds;
    let Some((lvd, revision, lvd_lba)) = lvd else {
        return Err(bad(
            u64::from(anchor.main.location),
            "no logical volume descriptor".into(),
        ));
    };
    if pvd.is_none() && cx.strict() {
        return Err(bad(lvd_lba, "no primary volume descriptor".into()));
    }

    // Partition maps.
    let mut maps = Vec::with_capacity(lvd.maps.len());
    let mut metadata_partition = false;
    for m in &lvd.maps {
        let pd_for = |n: u16| {
            pds.iter().find(|p| p.number == n).copied().ok_or_else(|| {
                bad(
                    lvd_lba,
                    format!("no partition descriptor for partition number {n}"),
                )
            })
        };
        maps.push(match m {
            PartitionMap::Physical { partition_number } => match pd_for(*partition_number) {
                Ok(pd) => Map::Physical {
                    start: pd.start,
                    len: pd.length,
                },
                Err(e) => Map::Unusable(e),
            },
            PartitionMap::Metadata(mm) => {
                metadata_partition = true;
                match pd_for(mm.partition_number)
                    .and_then(|pd| read_metadata_file(cx, &pd, mm).map(|x| (pd, x)))
                {
                    Ok((pd, (extents, mirror))) => Map::Metadata {
                        start: pd.start,
                        extents,
                        mirror,
                    },
                    Err(e) => Map::Unusable(e),
                }
            }
            PartitionMap::Other(bytes) if is_sparable(bytes) => {
                match read_sparable(cx, bytes, &pds, lvd_lba) {
                    Ok(m) => m,
                    Err(e) => Map::Unusable(e),
                }
            }
            PartitionMap::Other(bytes) => Map::Unusable(ParseError::at(
                ParseErrorKind::Unsupported(describe_map(bytes)),
                lvd_lba,
            )),
        });
    }
    let mut state = UdfState {
        info: UdfInfo {
            revision,
            volume_id: pvd
                .as_ref()
                .map(|p| p.volume_id.clone())
                .unwrap_or_default(),
            logical_volume_id: lvd.logical_volume_id.clone(),
            file_set_id: String::new(),
            files: None,
            dirs: None,
            min_read_revision: None,
            max_write_revision: None,
            integrity_closed: None,
            metadata_partition,
            block_size: cx.bs as u32,
        },
        root: placeholder_root(),
        recording_time: pvd.as_ref().map(|p| p.recording_time.fixed_offset()),
        integrity_time: None,
        maps,
        bs: cx.bs,
    };

    // Integrity (informational: a damaged one only gives a warning).
    match read_integrity(cx, lvd.integrity_extent) {
        Ok(Some(l)) => {
            state.info.files = Some(l.files);
            state.info.dirs = Some(l.directories);
            state.info.min_read_revision = Some(l.min_read_revision);
            state.info.max_write_revision = Some(l.max_write_revision);
            state.info.integrity_closed = Some(l.integrity_type == 1);
            state.integrity_time = Some(l.recording_time.fixed_offset());
        }
        Ok(None) => cx.warn("no logical volume integrity descriptor".into()),
        Err(e) => cx.warn(format!("logical volume integrity descriptor unusable: {e}")),
    }

    // File set descriptor and root directory (the reserve sequence is only looked at again
    // if the main one was used and the file set descriptor it names is damaged).
    let reserve = used_main.then_some(anchor.reserve);
    let (file_set_id, root) = open_file_set(cx, &state, &lvd, reserve)?;
    state.info.file_set_id = file_set_id;
    state.root = root;
    Ok(state)
}

/// A partition map of another type than 1 or metadata, for messages: its type, and the
/// identifier of a type 2 map (`*UDF Virtual Partition`, `*UDF Sparable Partition`).
fn describe_map(bytes: &[u8]) -> String {
    let kind = bytes.first().copied().unwrap_or(0);
    let id = bytes
        .get(4..36)
        .and_then(EntityId::decode)
        .map(|e| String::from_utf8_lossy(e.ident()).into_owned())
        .unwrap_or_default();
    if id.is_empty() {
        format!("partition map of type {kind}")
    } else {
        format!("partition map of type {kind} ({id})")
    }
}

/// Reads the logical volume integrity sequence (ECMA-167 3/8.8.2): the last integrity
/// descriptor prevails.
fn read_integrity<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    ext: ExtentAd,
) -> Result<Option<LogicalVolumeIntegrity>, ParseError> {
    let mut found = None;
    let mut at = u64::from(ext.location);
    let mut left = (u64::from(ext.length) / cx.bs).min(64);
    let mut hops = 0usize;
    while left > 0 {
        let buf = cx.sector(at)?;
        if buf.iter().all(|&b| b == 0) {
            break;
        }
        let tag = decode_tag(&buf).map_err(|e| tag_error(e, at, "integrity descriptor"))?;
        if tag.ident != ident::LVID {
            break; // a terminating descriptor, or anything else, ends the sequence
        }
        let l = cx.decode(
            &buf,
            at as u32,
            at,
            "logical volume integrity descriptor",
            LogicalVolumeIntegrity::decode,
        )?;
        found = Some(l.value);
        // ECMA-167 3/10.10.4: the next integrity extent, if any.
        let next = ExtentAd::decode(buf.get(32..40).unwrap_or_default()).unwrap_or_default();
        if u64::from(next.length) >= cx.bs {
            hops += 1;
            if hops > MAX_HOPS {
                return Err(limit("integrity extents", MAX_HOPS, at));
            }
            at = u64::from(next.location);
            left = (u64::from(next.length) / cx.bs).min(64);
            continue;
        }
        at += 1;
        left -= 1;
    }
    Ok(found)
}
