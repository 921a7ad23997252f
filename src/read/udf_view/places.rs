//! Where the UDF volume and file structures of an image lie, for the block map
//! ([`ImageReader::block_map`]): anchors, volume descriptor sequences, integrity sequence,
//! partitions and their space bitmaps, the metadata file, its mirror and bitmap, the file set
//! descriptor and allocation extent descriptors. File entries, directories and file data come
//! from the walk of the UDF view.
//!
//! Everything is decoded with the view's own decoders (the anchors of [`find_anchors`],
//! [`read_vds`], the metadata file's entry, [`UdfState::map_run`]); a structure that does not
//! decode is left out with a note, never an error: the map describes what it can. The claims
//! count the volume's logical blocks ([`Claims::source_unit`]), which the map converts to its
//! own.
//!
//! [`UdfState::map_run`]: super::UdfState

use std::collections::HashSet;
use std::io::{Read, Seek};

use super::{
    find_anchors, metadata_extents, parse_aed, parse_file_entry, read_vds, Cx, Map, UdfEntry, Vds,
};
use crate::error::ParseError;
use crate::format::udf::ad::{Allocation, ExtentAd, ShortAd};
use crate::format::udf::tag::{decode_tag, ident};
use crate::format::udf::volume::{Partition, PartitionMap};
use crate::format::udf::Decoded;
use crate::progress::ItemKind;
use crate::read::block_map::{Claims, Rank};
use crate::read::ImageReader;

/// Files whose allocation descriptors may continue in allocation extent descriptors: those
/// with at least this many (a file entry holds over a hundred before it needs one).
const AED_CANDIDATE_ADS: usize = 32;

impl UdfEntry {
    /// True if the file entry may continue its allocation descriptors in allocation extent
    /// descriptors (it has [`AED_CANDIDATE_ADS`] or more).
    pub(in crate::read) fn may_have_aeds(&self) -> bool {
        self.ads.len() >= AED_CANDIDATE_ADS
    }
}

impl<R: Read + Seek> ImageReader<R> {
    /// Adds the UDF volume structures to `claims` (nothing on an image without UDF).
    pub(in crate::read) fn udf_block_claims(
        &mut self,
        claims: &mut Claims,
    ) -> Result<(), ParseError> {
        let ImageReader {
            inner,
            image_len,
            limits,
            udf,
            ..
        } = self;
        let Some(state) = udf.as_ref() else {
            return Ok(());
        };
        // Warnings were given when the image was opened; these reads repeat them.
        let mut scratch = Vec::new();
        let mut cx = Cx::new(inner, *image_len, state.bs, limits, &mut scratch);
        // From here on, the claims count UDF blocks.
        let outer = claims.source_unit(state.bs);
        let done = udf_claims(&mut cx, state, claims);
        claims.source_unit(outer);
        done
    }

    /// The sectors of the allocation extent descriptors (ECMA-167 4/14.5) that continue the
    /// allocation descriptors of the file entry of `entry`, if it may have some (files with
    /// [`AED_CANDIDATE_ADS`] descriptors or more: the others' file entries are not read again).
    /// They count UDF blocks ([`UdfInfo::block_size`](super::UdfInfo)).
    pub(in crate::read) fn udf_aed_sectors(
        &mut self,
        entry: &UdfEntry,
    ) -> Result<Vec<u64>, ParseError> {
        let ImageReader {
            inner,
            image_len,
            limits,
            udf,
            ..
        } = self;
        let Some(state) = udf.as_ref() else {
            return Ok(Vec::new());
        };
        if !entry.may_have_aeds() {
            return Ok(Vec::new());
        }
        let mut scratch = Vec::new();
        let mut cx = Cx::new(inner, *image_len, state.bs, limits, &mut scratch);
        let lba = u64::from(entry.sector);
        let buf = cx.sector(lba)?;
        let fe = cx.decode(&buf, entry.block, lba, "file entry", parse_file_entry)?;
        let short = matches!(fe.allocation, Allocation::Short(_));
        let Some(mut list) = super::ads_of(&fe.allocation, entry.partition) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let max = cx.limits.max_extents_per_file;
        loop {
            let next = list
                .iter()
                .find(|(_, kind)| *kind == crate::format::udf::ad::ExtentType::NextExtent)
                .map(|(ad, _)| *ad);
            let Some(n) = next else { break };
            if seen.len() >= max {
                break;
            }
            let at = state.sector_of(n.part, n.block)?;
            if !seen.insert(at) {
                break;
            }
            out.push(at);
            let buf = cx.sector(at)?;
            list = cx.decode(&buf, n.block, at, "allocation extent descriptor", |b, l| {
                parse_aed(b, l, short, entry.partition)
            })?;
        }
        Ok(out)
    }
}

/// The claims of the UDF volume structures, in UDF blocks.
fn udf_claims<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    state: &super::UdfState,
    claims: &mut Claims,
) -> Result<(), ParseError> {
    let bs = cx.bs;
    // ECMA-167 3/8.4.2.1: anchors at 256, N - 256 and N (the last block).
    let anchors = match find_anchors(cx) {
        Ok(a) => a,
        Err(e) => {
            claims.note(format!(
                "UDF: no anchor volume descriptor pointer decodes ({e})"
            ));
            return Ok(());
        }
    };
    for (lba, _) in &anchors {
        claims.add(
            *lba,
            1,
            ItemKind::VolumeDescriptors,
            Rank::Descriptor,
            "UDF anchor volume descriptor pointer".into(),
        )?;
    }
    let Some(&(_, anchor)) = anchors.first() else {
        return Ok(());
    };
    // ECMA-167 3/10.2: the main and reserve sequences' extents.
    for (ext, what) in [
        (anchor.main, "UDF main volume descriptor sequence"),
        (anchor.reserve, "UDF reserve volume descriptor sequence"),
    ] {
        let blocks = u64::from(ext.length) / bs;
        if blocks > 0 {
            claims.add(
                u64::from(ext.location),
                blocks,
                ItemKind::VolumeDescriptors,
                Rank::Descriptor,
                what.into(),
            )?;
        }
    }
    let (vds, vds_ext) = match read_vds(cx, anchor.main) {
        Ok(v) => (v, anchor.main),
        Err(e) => match read_vds(cx, anchor.reserve) {
            Ok(v) => (v, anchor.reserve),
            Err(_) => {
                claims.note(format!("UDF: no volume descriptor sequence decodes ({e})"));
                return Ok(());
            }
        },
    };
    let Vds { pds, lvd, .. } = vds;
    let Some((lvd, _, _)) = lvd else {
        return Ok(());
    };
    // ECMA-167 3/10.6.12: the integrity sequence's extent.
    let blocks = u64::from(lvd.integrity_extent.length) / bs;
    if blocks > 0 {
        claims.add(
            u64::from(lvd.integrity_extent.location),
            blocks,
            ItemKind::VolumeDescriptors,
            Rank::Descriptor,
            "UDF logical volume integrity sequence".into(),
        )?;
    }
    // Partitions: their extent (what no structure claims in it is its free space) and the
    // space bitmaps and tables of their partition header descriptors.
    for pd in &pds {
        claims.background(
            u64::from(pd.start),
            u64::from(pd.length),
            format!("UDF partition {}", pd.number),
        );
    }
    space_sets(cx, vds_ext, claims)?;

    // The metadata partition (UDF 2.2.10, 2.2.13): the metadata file (whose blocks hold
    // the file structure: its items lie within it), its mirror and bitmap.
    for (m, resolved) in lvd.maps.iter().zip(&state.maps) {
        let PartitionMap::Metadata(mm) = m else {
            continue;
        };
        let Some(pd) = pds.iter().find(|p| p.number == mm.partition_number) else {
            continue;
        };
        let start = u64::from(pd.start);
        for (loc, what) in [
            (mm.metadata_file_location, "UDF metadata file entry"),
            (mm.mirror_file_location, "UDF metadata mirror file entry"),
            (mm.bitmap_file_location, "UDF metadata bitmap file entry"),
        ] {
            if loc != u32::MAX {
                claims.add(
                    start + u64::from(loc),
                    1,
                    ItemKind::FileEntries,
                    Rank::Entry,
                    what.into(),
                )?;
            }
        }
        if let Map::Metadata { extents, .. } = resolved {
            for e in extents.iter().filter(|e| e.recorded && e.blocks > 0) {
                claims.add(
                    start + u64::from(e.block),
                    u64::from(e.blocks),
                    ItemKind::FileEntries,
                    Rank::Container,
                    "UDF metadata file".into(),
                )?;
            }
        }
        for (loc, file_type, what) in [
            (mm.mirror_file_location, 251, "UDF metadata mirror file"),
            (mm.bitmap_file_location, 252, "UDF metadata bitmap file"),
        ] {
            if loc == u32::MAX {
                continue;
            }
            match metadata_extents(cx, pd, loc, file_type) {
                Ok(extents) => {
                    for e in extents.iter().filter(|e| e.recorded && e.blocks > 0) {
                        claims.add(
                            start + u64::from(e.block),
                            u64::from(e.blocks),
                            ItemKind::FileEntries,
                            if file_type == 251 {
                                Rank::Container
                            } else {
                                Rank::Entry
                            },
                            what.into(),
                        )?;
                    }
                }
                Err(e) => claims.note(format!("UDF: {what} unreadable ({e})")),
            }
        }
    }

    // UDF 2.2.9, 2.2.12: the sparing tables named by a sparable partition map (the map's
    // bytes: number of tables at 42, size of each at 44, locations from 48).
    for m in &lvd.maps {
        let PartitionMap::Other(bytes) = m else {
            continue;
        };
        if !super::is_sparable(bytes) {
            continue;
        }
        let tables = bytes.get(42).copied().unwrap_or(0).min(4);
        let size = bytes
            .get(44..48)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes);
        for i in 0..usize::from(tables) {
            let Some(loc) = bytes
                .get(48 + 4 * i..52 + 4 * i)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
            else {
                continue;
            };
            claims.add(
                u64::from(loc),
                u64::from(size.max(1)).div_ceil(bs),
                ItemKind::VolumeDescriptors,
                Rank::Descriptor,
                format!("UDF sparing table {}", i + 1),
            )?;
        }
    }

    // ECMA-167 4/8.3.1: the file set descriptor sequence (the descriptor and its
    // terminator), in the partition the logical volume descriptor names.
    let fsd = lvd.fsd_location;
    let mut len = fsd.length.max(bs as u32);
    if len == bs as u32 {
        // ECMA-167 4/8.3.1: a terminating descriptor may end the sequence in the next
        // block; it belongs to it.
        let next = state
            .sector_of(fsd.location.partition, fsd.location.block.saturating_add(1))
            .ok();
        if let Some(buf) = next.and_then(|at| cx.sector(at).ok()) {
            if decode_tag(&buf).is_ok_and(|t| t.ident == ident::TD) {
                len *= 2;
            }
        }
    }
    // ECMA-167 4/14.1.22 (UDF 2.3.2): the system stream directory's file entry, named by
    // the file set descriptor (a long_ad at byte 464).
    let ssd = state
        .sector_of(fsd.location.partition, fsd.location.block)
        .and_then(|at| cx.sector(at))
        .ok()
        .and_then(|b| {
            b.get(464..480)
                .and_then(crate::format::udf::ad::LongAd::decode)
        });
    if let Some(ad) = ssd.filter(|a| a.length > 0) {
        if let Ok(at) = state.sector_of(ad.location.partition, ad.location.block) {
            claims.add(
                at,
                1,
                ItemKind::FileEntries,
                Rank::Entry,
                "UDF file entry of the system stream directory".into(),
            )?;
        }
    }
    match state.map_run(fsd.location.partition, fsd.location.block, len, 0) {
        Ok(runs) => {
            for run in runs {
                claims.add(
                    u64::from(run.lba),
                    u64::from(run.len).div_ceil(bs),
                    ItemKind::FileEntries,
                    Rank::Entry,
                    "UDF file set descriptor".into(),
                )?;
            }
        }
        Err(e) => claims.note(format!("UDF: file set descriptor not mapped ({e})")),
    }
    Ok(())
}

/// The unallocated and freed space tables and bitmaps (ECMA-167 4/14.3) named by the partition
/// header descriptors of the partition descriptors in the sequence at `ext`.
fn space_sets<R: Read + Seek>(
    cx: &mut Cx<'_, R>,
    ext: ExtentAd,
    claims: &mut Claims,
) -> Result<(), ParseError> {
    let bs = cx.bs;
    let blocks = (u64::from(ext.length) / bs).min(cx.limits.max_volume_descriptors as u64);
    for at in u64::from(ext.location)..u64::from(ext.location) + blocks {
        let Ok(buf) = cx.sector(at) else { break };
        let Ok(tag) = decode_tag(&buf) else { break };
        if tag.ident == ident::TD {
            break;
        }
        if tag.ident != ident::PD {
            continue;
        }
        let Ok(Decoded { value: pd, .. }) = Partition::decode(&buf, tag.location) else {
            continue;
        };
        // ECMA-167 3/10.5.6, 4/14.3: the partition contents use (from byte 56) holds the
        // partition header descriptor: five short_ads, partition-relative.
        for (i, what) in [
            "unallocated space table",
            "unallocated space bitmap",
            "partition integrity table",
            "freed space table",
            "freed space bitmap",
        ]
        .into_iter()
        .enumerate()
        {
            let Some(ad) = buf.get(56 + 8 * i..64 + 8 * i).and_then(ShortAd::decode) else {
                continue;
            };
            if ad.length == 0 {
                continue;
            }
            claims.add(
                u64::from(pd.start) + u64::from(ad.position),
                u64::from(ad.length).div_ceil(bs),
                ItemKind::FileEntries,
                Rank::Entry,
                format!("UDF {what} of partition {}", pd.number),
            )?;
        }
    }
    Ok(())
}

/// What a UDF descriptor tag identifier (ECMA-167 3/7.2.1, 4/7.2.1; UDF 2.2.12) names, for
/// blocks no structure refers to that still hold a descriptor.
pub(crate) fn tag_name(block: &[u8]) -> Option<&'static str> {
    let tag = decode_tag(block).ok()?;
    Some(match tag.ident {
        0 => "sparing table",
        ident::PVD => "primary volume descriptor",
        ident::AVDP => "anchor volume descriptor pointer",
        ident::VDP => "volume descriptor pointer",
        ident::IUVD => "implementation use volume descriptor",
        ident::PD => "partition descriptor",
        ident::LVD => "logical volume descriptor",
        ident::USD => "unallocated space descriptor",
        ident::TD => "terminating descriptor",
        ident::LVID => "logical volume integrity descriptor",
        ident::FSD => "file set descriptor",
        ident::FID => "file identifier descriptor",
        ident::AED => "allocation extent descriptor",
        ident::IE => "indirect entry",
        ident::TE => "terminal entry",
        ident::FE => "file entry",
        262 => "extended attribute header descriptor",
        263 => "unallocated space entry",
        264 => "space bitmap descriptor",
        265 => "partition integrity entry",
        266 => "extended file entry",
        _ => return None,
    })
}
