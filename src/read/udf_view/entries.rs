//! File entries (ECMA-167 4/14.9, 4/14.17) and their allocation descriptors (4/14.5, 4/14.14):
//! decoding an entry into a [`DirEntry`], following allocation extent descriptors, symbolic
//! link targets (4/14.16) and the costs counted against the [`Limits`](crate::read::Limits).

use std::collections::HashSet;
use std::io::{Read, Seek};

use chrono::{DateTime, FixedOffset};

use super::{bad, limit, Ad, Cx, UdfEntry, UdfState, MAX_SYMLINK_BYTES};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::udf::ad::{Allocation, ExtentType};
use crate::format::udf::file::{
    decode_symlink_target, mode_from_permissions, AllocationExtent, FileEntryFields, FID_DIRECTORY,
    FID_HIDDEN, ICB_SETGID, ICB_SETUID, ICB_STICKY,
};
use crate::format::udf::DecodeError;
use crate::read::rr_view::Posix;
use crate::read::{read_at, DirEntry, Extent, View};

/// A file entry or extended file entry (ECMA-167 4/14.9, 4/14.17), decoded for reading:
/// timestamps that do not decode are `None` rather than errors.
pub(super) struct Fe {
    pub(super) file_type: u8,
    icb_flags: u16,
    uid: u32,
    gid: u32,
    permissions: u32,
    link_count: u16,
    info_len: u64,
    atime: Option<DateTime<FixedOffset>>,
    mtime: Option<DateTime<FixedOffset>>,
    ctime: Option<DateTime<FixedOffset>>,
    crtime: Option<DateTime<FixedOffset>>,
    unique_id: u64,
    device: Option<(u32, u32)>,
    pub(super) allocation: Allocation,
}

/// Decodes the file entry in `buf` whose tag location is `location` (the format's decoder,
/// `FileEntryFields`, with timestamps that do not decode left out).
pub(super) fn parse_file_entry(buf: &[u8], location: u32) -> Result<Fe, DecodeError> {
    let f = FileEntryFields::decode(buf, location)?;
    let allocation = match f.icb_flags & 7 {
        2 => {
            return Err(DecodeError::Invalid(
                "allocation type (extended descriptors)",
            ))
        }
        t => Allocation::decode(t, f.ad).ok_or(DecodeError::Invalid("allocation descriptors"))?,
    };
    Ok(Fe {
        file_type: f.file_type,
        icb_flags: f.icb_flags,
        uid: f.uid,
        gid: f.gid,
        permissions: f.permissions,
        link_count: f.link_count,
        info_len: f.info_len,
        atime: f.access_time,
        mtime: f.modification_time,
        crtime: f.creation_time,
        ctime: f.attribute_time,
        unique_id: f.unique_id,
        device: f.device(location),
        allocation,
    })
}

/// The allocation descriptors of an allocation extent descriptor (ECMA-167 4/14.5) whose tag
/// location is `location`: short ones (in partition `part`) or long ones.
pub(super) fn parse_aed(
    buf: &[u8],
    location: u32,
    short: bool,
    part: u16,
) -> Result<Vec<(Ad, ExtentType)>, DecodeError> {
    let aed = AllocationExtent::decode(buf, location, short)?.value;
    Ok(ads_of(&aed.allocation, part).unwrap_or_default())
}

/// The descriptors of `alloc` (short ones in partition `part`) with their extent types;
/// `None` for embedded data.
pub(super) fn ads_of(alloc: &Allocation, part: u16) -> Option<Vec<(Ad, ExtentType)>> {
    let ad = |part, block, len, kind| {
        (
            Ad {
                part,
                block,
                len,
                recorded: kind == ExtentType::Recorded,
            },
            kind,
        )
    };
    match alloc {
        Allocation::Short(v) => Some(
            v.iter()
                .map(|a| ad(part, a.position, a.length, a.kind))
                .collect(),
        ),
        Allocation::Long(v) => Some(
            v.iter()
                .map(|a| ad(a.location.partition, a.location.block, a.length, a.kind))
                .collect(),
        ),
        Allocation::Embedded(_) => None,
    }
}

/// What an entry counts for against `max_entries_per_dir` and `max_total_entries`: 1, plus its
/// extents (or UDF allocation descriptors) beyond the first.
pub(crate) fn entry_weight(e: &DirEntry) -> usize {
    let ads = e.udf.as_ref().map_or(0, |u| u.ads.len());
    1 + e.extents.len().max(ads).saturating_sub(1)
}

/// Strict mode: a FID's directory flag agrees with its file entry's type (ECMA-167 4/14.4.3,
/// 4/14.6.6).
pub(super) fn check_kind<R>(
    cx: &Cx<'_, R>,
    name: &str,
    is_dir: bool,
    file_type: u8,
    lba: u64,
) -> Result<(), ParseError> {
    if is_dir != (file_type == 4) && cx.limits.is_strict() {
        return Err(bad(
            lba,
            format!(
                "{name}: the identifier says {}, the file entry has file type {file_type}",
                if is_dir {
                    "directory"
                } else {
                    "not a directory"
                },
            ),
        ));
    }
    Ok(())
}

/// Approximate heap and inline bytes one entry of the UDF view holds, for the metadata budget
/// ([`Limits::max_metadata_bytes`](crate::read::Limits::max_metadata_bytes)).
pub(super) fn udf_entry_cost(e: &DirEntry) -> u64 {
    let udf = e.udf.as_ref().map_or(0, |u| {
        std::mem::size_of::<UdfEntry>()
            + u.dir_path.len()
            + u.ads.len() * std::mem::size_of::<Ad>()
            + u.embedded.as_ref().map_or(0, Vec::len)
    });
    let posix = e.posix.as_ref().map_or(0, |p| {
        std::mem::size_of::<Posix>() + p.symlink.as_ref().map_or(0, Vec::len)
    });
    crate::read::dir::entry_cost(e) + (udf + posix) as u64
}

/// The POSIX file type bits for an ICB file type (ECMA-167 4/14.6.6).
fn type_bits(file_type: u8) -> u32 {
    match file_type {
        4 => 0o040_000,
        5 | 249 => 0o100_000, // regular, real-time
        6 => 0o060_000,
        7 => 0o020_000,
        9 => 0o010_000,
        10 => 0o140_000,
        12 => 0o120_000,
        _ => 0,
    }
}

impl UdfState {
    /// The allocation descriptors of a file entry in partition `part`, following allocation
    /// extent descriptors; `None` with the data for embedded data.
    fn collect_ads<R: Read + Seek>(
        &self,
        cx: &mut Cx<'_, R>,
        allocation: Allocation,
        part: u16,
        lba: u64,
    ) -> Result<(Vec<Ad>, Option<Vec<u8>>), ParseError> {
        let short = matches!(allocation, Allocation::Short(_));
        let Some(mut list) = ads_of(&allocation, part) else {
            let Allocation::Embedded(data) = allocation else {
                return Ok((Vec::new(), None));
            };
            return Ok((Vec::new(), Some(data)));
        };
        let max = cx.limits.max_extents_per_file;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let mut next = None;
            for (ad, kind) in list {
                if kind == ExtentType::NextExtent {
                    next = Some(ad);
                    break; // ECMA-167 4/12.1: it ends its list
                }
                if out.len() >= max {
                    return Err(limit("extents per file", max, lba));
                }
                out.push(ad);
            }
            let Some(n) = next else { break };
            if seen.len() >= max {
                return Err(limit("extents per file", max, lba));
            }
            let at = self.sector_of(n.part, n.block)?;
            if !seen.insert(at) {
                return Err(bad(at, "allocation extent descriptors form a loop".into()));
            }
            // Each hop reads a sector of metadata: a chain of nothing but "next extent"
            // descriptors costs no extent, and file entries may share one chain.
            cx.charge(cx.bs, at)?;
            let buf = cx.sector(at)?;
            list = cx.decode(&buf, n.block, at, "allocation extent descriptor", |b, l| {
                parse_aed(b, l, short, part)
            })?;
        }
        Ok((out, None))
    }

    /// The entry for the file entry at block `block` of partition `part`, named `name`
    /// (`identifier` as recorded) by a FID with `characteristics`, at `path` in the view.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn entry<R: Read + Seek>(
        &self,
        cx: &mut Cx<'_, R>,
        name: String,
        identifier: Vec<u8>,
        characteristics: u8,
        part: u16,
        block: u32,
        path: &str,
    ) -> Result<DirEntry, ParseError> {
        let lba = self.sector_of(part, block)?;
        let lba32 = u32::try_from(lba)
            .map_err(|_| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
        let buf = cx.sector(lba)?;
        let fe = cx.decode(&buf, block, lba, "file entry", parse_file_entry)?;
        let is_dir = characteristics & FID_DIRECTORY != 0;
        check_kind(cx, &name, is_dir, fe.file_type, lba)?;
        let (ads, embedded) = self.collect_ads(cx, fe.allocation.clone(), part, lba)?;
        let mut extents = Vec::new();
        for ad in ads.iter().filter(|a| a.recorded && a.len != 0) {
            for run in self.map_run(ad.part, ad.block, ad.len, lba)? {
                if extents.len() >= cx.limits.max_extents_per_file {
                    return Err(limit(
                        "extents per file",
                        cx.limits.max_extents_per_file,
                        lba,
                    ));
                }
                extents.push(run);
            }
        }
        let symlink = if fe.file_type == 12 {
            // The target's bytes are read (and then kept) per file entry.
            cx.charge(fe.info_len.min(MAX_SYMLINK_BYTES), lba)?;
            self.symlink_target(cx, &fe, &extents, embedded.as_deref())
        } else {
            None
        };
        let mode = type_bits(fe.file_type)
            | mode_from_permissions(fe.permissions)
            | if fe.icb_flags & ICB_SETUID != 0 {
                0o4000
            } else {
                0
            }
            | if fe.icb_flags & ICB_SETGID != 0 {
                0o2000
            } else {
                0
            }
            | if fe.icb_flags & ICB_STICKY != 0 {
                0o1000
            } else {
                0
            };
        let id = |v: u32| if v == u32::MAX { 0 } else { v };
        let posix = Posix {
            mode,
            nlink: u32::from(fe.link_count),
            uid: id(fe.uid),
            gid: id(fe.gid),
            serial: Some(fe.unique_id as u32),
            mtime: fe.mtime,
            atime: fe.atime,
            ctime: fe.ctime,
            crtime: fe.crtime,
            symlink: symlink.map(String::into_bytes),
            // Posix::device_numbers reads a zero high half as a Linux dev_t.
            rdev: fe.device.map(|(major, minor)| {
                if major != 0 {
                    (major, minor)
                } else {
                    (0, (minor & 0xff) | ((minor & !0xff) << 12))
                }
            }),
            relocated: false,
        };
        Ok(DirEntry {
            name,
            identifier,
            is_dir,
            size: fe.info_len,
            extents,
            mtime: fe.mtime,
            hidden: characteristics & FID_HIDDEN != 0,
            view: View::Udf,
            posix: Some(Box::new(posix)),
            rr_name: None,
            udf: Some(Box::new(UdfEntry {
                partition: part,
                block,
                sector: lba32,
                unique_id: fe.unique_id,
                file_type: fe.file_type,
                embedded,
                ads,
                dir_path: if is_dir {
                    path.to_string()
                } else {
                    String::new()
                },
            })),
        })
    }

    /// The target of a symbolic link (ECMA-167 4/14.16): its path components, embedded or in
    /// at most [`MAX_SYMLINK_BYTES`] of extents. `None` if they do not decode.
    fn symlink_target<R: Read + Seek>(
        &self,
        cx: &mut Cx<'_, R>,
        fe: &Fe,
        extents: &[Extent],
        embedded: Option<&[u8]>,
    ) -> Option<String> {
        let len = usize::try_from(fe.info_len).ok()?;
        if let Some(d) = embedded {
            return decode_symlink_target(d.get(..len)?);
        }
        if fe.info_len > MAX_SYMLINK_BYTES {
            return None;
        }
        let mut data = Vec::with_capacity(len);
        for e in extents {
            if data.len() >= len {
                break;
            }
            let n = (len - data.len()).min(e.len as usize);
            cx.check_in_image(u64::from(e.lba), n as u64).ok()?;
            let mut buf = vec![0u8; n];
            read_at(cx.r, u64::from(e.lba) * cx.bs, &mut buf, u64::from(e.lba)).ok()?;
            data.extend_from_slice(&buf);
        }
        if data.len() < len {
            return None;
        }
        decode_symlink_target(&data)
    }
}
