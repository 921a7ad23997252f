//! The file set descriptor (ECMA-167 4/14.1; UDF 2.2.4.5) and the root directory, with the
//! lenient fallbacks when the descriptor is damaged.

use std::io::{Read, Seek};

use super::volume::{read_vds, Vds};
use super::{bad, Cx, UdfState};
use crate::error::ParseError;
use crate::format::udf::ad::ExtentAd;
use crate::format::udf::fields::u16_at;
use crate::format::udf::file::{Fid, FileSet, FID_DIRECTORY, FID_PARENT};
use crate::format::udf::tag::{decode_tag, ident};
use crate::format::udf::volume::LogicalVolume;
use crate::read::DirEntry;

/// The most file set descriptors looked at in one file set descriptor sequence extent, and the
/// most blocks of a partition scanned for the root directory when no file set descriptor is
/// usable.
const MAX_FSDS: u32 = 64;
const MAX_ROOT_SCAN: u32 = 4096;

/// The file set identifier and the root directory: from the file set descriptor the logical
/// volume descriptor names (its logical volume contents use, UDF 2.2.4.5; ECMA-167 4/14.1).
///
/// Strict mode stops at a damaged descriptor. Lenient mode falls back, as far as the image
/// allows and with a warning, to: the next file set descriptors of the sequence in the same
/// extent (ECMA-167 4/8.3.1); the extent the reserve volume descriptor sequence's logical volume
/// descriptor names, if it is another one; the copy in the metadata mirror file, when that has
/// its own (UDF 2.2.13.1); the root ICB recorded in the damaged descriptor; and last a scan of
/// the partition for the root directory's file entry, the one directory whose parent FID names
/// itself (ECMA-167 4/8.6; UDF 2.3.4). Neither glassmaster nor mkudffs records a second file
/// set descriptor, nor a mirror of its own, so on their images the last two find the root.
pub(super) fn open_file_set<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &UdfState,
    lvd: &LogicalVolume,
    reserve: Option<ExtentAd>,
) -> Result<(String, DirEntry), ParseError> {
    let main = lvd.fsd_location;
    let (part, block) = (main.location.partition, main.location.block);
    let first_err = match file_set_at(cx, state, part, block) {
        Ok(Some(found)) => return Ok(found),
        Ok(None) => bad(
            state.sector_of(part, block).unwrap_or(0),
            "no file set descriptor where the logical volume descriptor names one".into(),
        ),
        Err(e) => e,
    };
    if cx.strict() {
        return Err(first_err);
    }
    let damaged = format!("file set descriptor unusable ({first_err})");
    // The rest of the sequence's extent (ECMA-167 4/8.3.1: it ends at a terminating
    // descriptor or an unrecorded block).
    let mut extents = vec![main];
    if let Some(ext) = reserve {
        if let Ok(Vds {
            lvd: Some((other, _, _)),
            ..
        }) = read_vds(cx, ext)
        {
            if other.fsd_location.location != main.location {
                extents.push(other.fsd_location);
            }
        }
    }
    for (n, ext) in extents.iter().enumerate() {
        let blocks = (u64::from(ext.length) / cx.bs).clamp(1, u64::from(MAX_FSDS)) as u32;
        for i in u32::from(n == 0)..blocks {
            let b = ext.location.block.saturating_add(i);
            match file_set_at(cx, state, ext.location.partition, b) {
                Ok(Some(found)) => {
                    let lba = state.sector_of(ext.location.partition, b).unwrap_or(0);
                    cx.warn(format!(
                        "{damaged}; using the {} file set descriptor, at sector {lba}",
                        if n == 0 { "next" } else { "reserve sequence's" }
                    ));
                    return Ok(found);
                }
                Ok(None) => break,
                Err(_) => continue,
            }
        }
    }
    // The copy in the metadata mirror file, if it has its own (UDF 2.2.13.1).
    if let Some(mirror) = state.mirrored() {
        if let Ok(Some(found)) = file_set_at(cx, &mirror, part, block) {
            let lba = mirror.sector_of(part, block).unwrap_or(0);
            cx.warn(format!(
                "{damaged}; using its copy in the metadata mirror file, at sector {lba}"
            ));
            return Ok(found);
        }
    }
    // The root ICB as the damaged descriptor records it, if it leads to a root directory.
    if let Ok(lba) = state.sector_of(part, block) {
        let recorded = cx
            .sector(lba)
            .ok()
            .filter(|b| u16_at(b, 0).ok() == Some(ident::FSD))
            .and_then(|b| {
                b.get(400..416)
                    .and_then(crate::format::udf::ad::LongAd::decode)
            });
        if let Some(icb) = recorded {
            if let Some(root) = verified_root(cx, state, icb.location.partition, icb.location.block)
            {
                cx.warn(format!(
                    "{damaged}; the root directory it records, at sector {}, is sound and used",
                    root.location().unwrap_or(0)
                ));
                return Ok((String::new(), root));
            }
        }
    }
    // A scan of the partition for the root directory's file entry.
    for b in 0..MAX_ROOT_SCAN {
        let Ok(lba) = state.sector_of(part, b) else {
            break;
        };
        let Ok(buf) = cx.sector(lba) else { break };
        // ECMA-167 4/14.9, 4/14.17: a file entry or extended file entry of a directory (ICB
        // tag file type 4, byte 27).
        let is_fe = matches!(u16_at(&buf, 0), Ok(ident::FE | ident::EFE));
        if !is_fe || buf.get(27) != Some(&4) || decode_tag(&buf).is_err() {
            continue;
        }
        if let Some(root) = verified_root(cx, state, part, b) {
            cx.warn(format!(
                "{damaged}; the root directory was found by a scan of the partition, at sector {lba}"
            ));
            return Ok((String::new(), root));
        }
    }
    Err(first_err)
}

/// The file set at block `block` of partition `part`: `Ok(None)` where the sequence ends (an
/// unrecorded block or a terminating descriptor, ECMA-167 4/8.3.1).
fn file_set_at<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &UdfState,
    part: u16,
    block: u32,
) -> Result<Option<(String, DirEntry)>, ParseError> {
    let lba = state.sector_of(part, block)?;
    let buf = cx.sector(lba)?;
    if buf.iter().all(|&b| b == 0)
        || decode_tag(&buf).is_ok_and(|t| t.ident == ident::TD && t.location == block)
    {
        return Ok(None);
    }
    let fs = cx
        .decode(&buf, block, lba, "file set descriptor", FileSet::decode)?
        .value;
    let icb = fs.root_icb.location;
    let root = root_at(cx, state, icb.partition, icb.block)?;
    Ok(Some((fs.file_set_id, root)))
}

/// The root directory's entry from its file entry at block `block` of partition `part`.
fn root_at<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &UdfState,
    part: u16,
    block: u32,
) -> Result<DirEntry, ParseError> {
    let root = state.entry(cx, "/".into(), Vec::new(), FID_DIRECTORY, part, block, "/")?;
    if root.udf.as_ref().map(|u| u.file_type) != Some(4) {
        return Err(bad(
            u64::from(root.location().unwrap_or(0)),
            "the root directory's file entry is not a directory".into(),
        ));
    }
    Ok(root)
}

/// The root directory at block `block` of partition `part`, if the file entry there is a sound
/// directory whose first FID is a parent FID naming itself (ECMA-167 4/8.6; UDF 2.3.4).
fn verified_root<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &UdfState,
    part: u16,
    block: u32,
) -> Option<DirEntry> {
    let root = root_at(cx, state, part, block).ok()?;
    let u = root.udf.as_ref()?;
    let (bytes, location) = match &u.embedded {
        Some(d) => (d.clone(), u.block),
        None => {
            let ad = u.ads.first().filter(|a| a.recorded)?;
            (
                cx.sector(state.sector_of(ad.part, ad.block).ok()?).ok()?,
                ad.block,
            )
        }
    };
    let fid = Fid::decode(&bytes, location).ok()?.value;
    let own = (fid.icb.location.partition, fid.icb.location.block) == (part, block);
    (fid.characteristics & FID_PARENT != 0 && own).then_some(root)
}
