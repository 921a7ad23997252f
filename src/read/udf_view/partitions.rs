//! Partitions and block mapping: physical, sparable (UDF 2.2.9, 2.2.12) and metadata (UDF
//! 2.2.10, 2.2.13) partitions, and how a partition block becomes an image sector.

use std::io::{Read, Seek};

use super::entries::parse_file_entry;
use super::{bad, decode_error, limit, Cx, Map, MetaExtent, UdfState};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::udf::ad::{Allocation, ExtentType};
use crate::format::udf::fields::{check_tag, u16_at, u32_at, u8_at};
use crate::format::udf::ids::EntityId;
use crate::format::udf::metadata::MetadataPartitionMap;
use crate::format::udf::volume::Partition;
use crate::format::udf::{slice, DecodeError};
use crate::read::{read_at, Extent};

/// The identifier of a sparable partition map (UDF 2.2.9).
const SPARABLE: &[u8] = b"*UDF Sparable Partition";
/// The identifier of a sparing table (UDF 2.2.12).
const SPARING_TABLE: &[u8] = b"*UDF Sparing Table";
/// The largest sparing table read (UDF 2.2.12: its size is recorded in the map).
const MAX_SPARING_TABLE: u32 = 64 * 1024;

pub(super) fn is_sparable(map: &[u8]) -> bool {
    map.len() == 64
        && map.first() == Some(&2)
        && map
            .get(4..36)
            .and_then(EntityId::decode)
            .is_some_and(|e| e.is(SPARABLE))
}

/// A sparable partition map (UDF 2.2.9) and its sparing table (UDF 2.2.12): the first of the
/// recorded copies that reads without error.
///
/// ```text
/// map:   38 u16 partition number   40 u16 packet length   42 u8 number of sparing tables
///        44 u32 size of each table 48 u32 x N locations (sectors)
/// table: 16 entity id (*UDF Sparing Table)   48 u16 reallocation table length
///        52 u32 sequence number   56 (u32 original location, u32 mapped location) x length
/// ```
pub(super) fn read_sparable<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    map: &[u8],
    pds: &[Partition],
    lvd_lba: u64,
) -> Result<Map, ParseError> {
    let field = |e: DecodeError| decode_error(e, lvd_lba, "sparable partition map");
    let number = u16_at(map, 38).map_err(field)?;
    let packet = u32::from(u16_at(map, 40).map_err(field)?);
    let tables = usize::from(u8_at(map, 42).map_err(field)?);
    let size = u32_at(map, 44).map_err(field)?;
    let pd = pds.iter().find(|p| p.number == number).ok_or_else(|| {
        bad(
            lvd_lba,
            format!("no partition descriptor for partition number {number}"),
        )
    })?;
    if packet == 0 || !(1..=4).contains(&tables) || !(56..=MAX_SPARING_TABLE).contains(&size) {
        return Err(bad(
            lvd_lba,
            format!(
                "sparable partition map: packet length {packet}, {tables} tables of {size} bytes"
            ),
        ));
    }
    let mut first_err = None;
    for i in 0..tables {
        let loc = u32_at(map, 48 + 4 * i).map_err(field)?;
        match read_sparing_table(cx, loc, size) {
            Ok(mut remaps) => {
                if i > 0 {
                    let e = first_err.as_ref().map(ParseError::to_string);
                    cx.warn(format!(
                        "sparing table unusable ({}); using copy {}",
                        e.unwrap_or_default(),
                        i + 1
                    ));
                }
                remaps.sort_unstable();
                return Ok(Map::Sparable {
                    start: pd.start,
                    len: pd.length,
                    packet,
                    remaps,
                });
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| bad(lvd_lba, "no sparing table".into())))
}

/// The remapped packets of the sparing table of `size` bytes at sector `loc`.
fn read_sparing_table<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    loc: u32,
    size: u32,
) -> Result<Vec<(u32, u32)>, ParseError> {
    let lba = u64::from(loc);
    let len = u64::from(size).div_ceil(cx.bs) * cx.bs;
    cx.check_in_image(lba, len)?;
    // Bounded by MAX_SPARING_TABLE.
    let mut buf = vec![0u8; len as usize];
    read_at(cx.r, lba * cx.bs, &mut buf, lba)?;
    cx.decode(&buf, loc, lba, "sparing table", |b, l| {
        check_tag(b, 0, l)?;
        if !EntityId::decode(slice(b, 16, 32)?).is_some_and(|e| e.is(SPARING_TABLE)) {
            return Err(DecodeError::Invalid("sparing table identifier"));
        }
        let n = usize::from(u16_at(b, 48)?);
        let entries = slice(b, 56, n * 8)?;
        Ok(entries
            .chunks_exact(8)
            .filter_map(|e| {
                let original = u32_at(e, 0).ok()?;
                let mapped = u32_at(e, 4).ok()?;
                // 0xFFFFFFFF: available, 0xFFFFFFF0: defective; neither maps anything.
                (original < 0xFFFF_FFF0).then_some((original, mapped))
            })
            .collect())
    })
}

/// The metadata file's extents (UDF 2.2.13), from its file entry or, if that is damaged, from
/// the metadata mirror file's; and the mirror's extents when the metadata file's were used and
/// the mirror is a copy of its own (other blocks).
#[allow(clippy::type_complexity)]
pub(super) fn read_metadata_file<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    pd: &Partition,
    m: &MetadataPartitionMap,
) -> Result<(Vec<MetaExtent>, Option<Vec<MetaExtent>>), ParseError> {
    match metadata_extents(cx, pd, m.metadata_file_location, 250) {
        Ok(v) => {
            let mirror = metadata_extents(cx, pd, m.mirror_file_location, 251)
                .ok()
                .filter(|w| *w != v);
            Ok((v, mirror))
        }
        Err(e) => match metadata_extents(cx, pd, m.mirror_file_location, 251) {
            Ok(v) => {
                cx.warn(format!(
                    "metadata file unusable ({e}); using the metadata mirror file"
                ));
                Ok((v, None))
            }
            Err(_) => Err(e),
        },
    }
}

pub(super) fn metadata_extents<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    pd: &Partition,
    location: u32,
    file_type: u8,
) -> Result<Vec<MetaExtent>, ParseError> {
    let lba = u64::from(pd.start) + u64::from(location);
    let buf = cx.sector(lba)?;
    let fe = cx.decode(&buf, location, lba, "metadata file entry", parse_file_entry)?;
    if fe.file_type != file_type {
        return Err(bad(
            lba,
            format!(
                "metadata file entry has file type {}, expected {file_type}",
                fe.file_type
            ),
        ));
    }
    let ads: Vec<(u32, u32, ExtentType)> = match fe.allocation {
        Allocation::Short(v) => v.iter().map(|a| (a.position, a.length, a.kind)).collect(),
        Allocation::Long(v) => v
            .iter()
            .map(|a| (a.location.block, a.length, a.kind))
            .collect(),
        Allocation::Embedded(_) => {
            return Err(bad(lba, "metadata file with embedded data".into()));
        }
    };
    if ads.len() > cx.limits.max_extents_per_file {
        return Err(limit(
            "extents per file",
            cx.limits.max_extents_per_file,
            lba,
        ));
    }
    let mut out = Vec::with_capacity(ads.len());
    for (block, len, kind) in ads {
        if kind == ExtentType::NextExtent {
            return Err(ParseError::at(
                ParseErrorKind::Unsupported(
                    "metadata file with allocation extent descriptors".into(),
                ),
                lba,
            ));
        }
        out.push(MetaExtent {
            block,
            blocks: (u64::from(len) / cx.bs) as u32,
            recorded: kind == ExtentType::Recorded,
        });
    }
    Ok(out)
}

impl UdfState {
    /// True if a metadata partition's mirror file has its own copy (see [`mirrored`]).
    ///
    /// [`mirrored`]: Self::mirrored
    pub(super) fn has_mirror(&self) -> bool {
        self.maps.iter().any(|m| {
            matches!(
                m,
                Map::Metadata {
                    mirror: Some(_),
                    ..
                }
            )
        })
    }

    /// The same file system read through the metadata mirror file's own copy (UDF 2.2.13.1),
    /// if a metadata partition has one.
    pub(super) fn mirrored(&self) -> Option<UdfState> {
        let mut any = false;
        let maps = self
            .maps
            .iter()
            .map(|m| match m {
                Map::Metadata {
                    start,
                    mirror: Some(mirror),
                    ..
                } => {
                    any = true;
                    Map::Metadata {
                        start: *start,
                        extents: mirror.clone(),
                        mirror: None,
                    }
                }
                other => other.clone(),
            })
            .collect();
        any.then(|| UdfState {
            maps,
            ..self.clone()
        })
    }

    /// The map of partition reference `part`.
    fn map(&self, part: u16, lba_hint: u64) -> Result<&Map, ParseError> {
        self.maps.get(usize::from(part)).ok_or_else(|| {
            bad(
                lba_hint,
                format!("partition reference {part} names no partition map"),
            )
        })
    }

    /// The absolute sectors of `len` bytes from block `block` of partition `part`, as extents
    /// (several when the metadata file is fragmented).
    pub(super) fn map_run(
        &self,
        part: u16,
        block: u32,
        len: u32,
        lba_hint: u64,
    ) -> Result<Vec<Extent>, ParseError> {
        match self.map(part, lba_hint)? {
            Map::Physical { start, .. } => {
                let lba = u64::from(*start) + u64::from(block);
                let lba32 = u32::try_from(lba)
                    .map_err(|_| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
                Ok(vec![Extent { lba: lba32, len }])
            }
            Map::Metadata { start, extents, .. } => {
                // Byte offsets in the metadata file.
                let mut want = u64::from(block) * self.bs;
                let mut left = u64::from(len);
                let mut out = Vec::new();
                let mut ext_start = 0u64;
                for m in extents {
                    if left == 0 {
                        break;
                    }
                    let ext_len = u64::from(m.blocks) * self.bs;
                    let ext_end = ext_start + ext_len;
                    if want < ext_end {
                        if !m.recorded {
                            return Err(bad(
                                lba_hint,
                                format!("metadata partition block {block} is not recorded"),
                            ));
                        }
                        let within = want - ext_start;
                        let n = left.min(ext_end - want);
                        let lba = u64::from(*start) + u64::from(m.block) + within / self.bs;
                        let lba = u32::try_from(lba)
                            .map_err(|_| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
                        // n <= len, a u32.
                        out.push(Extent { lba, len: n as u32 });
                        want += n;
                        left -= n;
                    }
                    ext_start = ext_end;
                }
                if left > 0 {
                    return Err(bad(
                        lba_hint,
                        format!("{len} bytes at block {block} reach beyond the metadata partition"),
                    ));
                }
                Ok(out)
            }
            Map::Sparable {
                start,
                packet,
                remaps,
                ..
            } => {
                let mut out = Vec::new();
                let mut b = u64::from(block);
                let mut left = u64::from(len);
                let packet = u64::from(*packet);
                loop {
                    let pkt = b - b % packet;
                    let found = u32::try_from(pkt)
                        .ok()
                        .and_then(|p| remaps.binary_search_by_key(&p, |r| r.0).ok());
                    let (lba, room) = match found.and_then(|i| remaps.get(i)) {
                        // A remapped packet: its replacement, to the end of the packet.
                        Some(&(_, mapped)) => (u64::from(mapped) + (b - pkt), pkt + packet - b),
                        // In place: up to the next remapped packet.
                        None => {
                            let i = remaps.partition_point(|r| u64::from(r.0) <= b);
                            let next = remaps.get(i).map_or(u64::MAX, |r| u64::from(r.0));
                            (u64::from(*start) + b, next - b)
                        }
                    };
                    let n = left.min(room.saturating_mul(self.bs));
                    let lba32 = u32::try_from(lba)
                        .map_err(|_| ParseError::at(ParseErrorKind::ExtentOutOfImage, lba))?;
                    // n <= len, a u32.
                    out.push(Extent {
                        lba: lba32,
                        len: n as u32,
                    });
                    left -= n;
                    if left == 0 {
                        break;
                    }
                    b += n / self.bs;
                }
                Ok(out)
            }
            Map::Unusable(e) => Err(e.clone()),
        }
    }

    /// Strict mode: `len` bytes from block `block` of physical partition `part` must end inside
    /// the partition (the metadata partition's mapping checks its own bounds).
    pub(super) fn check_partition(
        &self,
        part: u16,
        block: u32,
        len: u32,
    ) -> Result<(), ParseError> {
        if let Ok(
            Map::Physical { start, len: plen }
            | Map::Sparable {
                start, len: plen, ..
            },
        ) = self.map(part, 0)
        {
            let blocks = u64::from(len).div_ceil(self.bs);
            if u64::from(block) + blocks > u64::from(*plen) {
                return Err(bad(
                    u64::from(*start) + u64::from(block),
                    format!(
                        "extent of {len} bytes at block {block} ends beyond its partition of {plen} blocks"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The absolute sector of block `block` of partition `part`.
    pub(super) fn sector_of(&self, part: u16, block: u32) -> Result<u64, ParseError> {
        let runs = self.map_run(part, block, self.bs as u32, 0)?;
        Ok(runs.first().map_or(0, |e| u64::from(e.lba)))
    }
}
