//! UDF in the layout: the UDF view of the tree (one file entry per directory, per file's data
//! (so hard links share it), per symbolic link), its block numbers, and rendering of every UDF
//! structure from the frozen layout. Encoders are in [`crate::format::udf`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::build::tree::{NodeId, NodeKind, SpecialKind, Tree};
use crate::error::Result;
use crate::format::udf::ad::{
    chain_counts, extent_count_max, split_extent_max, Allocation, ExtentAd, ExtentType, LbAddr,
    LongAd, ShortAd, LONG_AD_LEN, SHORT_AD_LEN,
};
use crate::format::udf::file::{
    embedded_capacity, encode_fid_into, encode_symlink_target, fid_location, icb_flags_from_mode,
    max_descriptors, pack_directory, permissions_from_mode, AllocationExtent, FidSlot, FileEntry,
    FileSet, IcbFileType, FID_DIRECTORY, FID_HIDDEN, FID_PARENT, FIRST_UNIQUE_ID, NO_ID,
    ROOT_UNIQUE_ID,
};
use crate::format::udf::metadata::{metadata_file_entry, MetadataFileKind, MetadataPartitionMap};
use crate::format::udf::volume::{
    terminating_descriptor, volume_recognition_sequence, volume_set_id, AccessType, Anchor,
    ImplementationUseVolume, LogicalVolume, LogicalVolumeIntegrity, Partition, PartitionMap,
    PartitionSpace, PrimaryVolume, UnallocatedSpace, VolumeDescriptors,
};
use crate::format::udf::{cs0, Ctx, OsId, UdfRevision};
use crate::warning::{Warning, WarningKind};
use crate::BLOCK_SIZE;

pub use crate::build::options::UdfOptions;

/// First sector of the main volume descriptor sequence (then reserve at +16, integrity at +32).
pub(crate) const VDS_MAIN: u32 = 32;
pub(crate) const VDS_RESERVE: u32 = 48;
pub(crate) const VDS_LEN: u32 = 16;
pub(crate) const LVID_AT: u32 = 64;
/// ECMA-167 3/8.4.2.1: the first anchor volume descriptor pointer.
pub(crate) const ANCHOR: u32 = 256;
/// UDF 2.2.13: allocation and alignment unit of the metadata partition, in blocks.
pub(crate) const META_UNIT: u32 = 32;
/// File entries rendered per segment.
pub(crate) const ENTRIES_PER_SEGMENT: u32 = 256;

/// What a file entry describes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject {
    /// Directory `i` of [`UdfPlan::dirs`].
    Dir(u32),
    /// A regular file's data (its first name's node).
    File(NodeId),
    /// A symbolic link or special file.
    Other(NodeId),
}

/// One child of a UDF directory (16 bytes: its CS0 name is in the directory's
/// [`UdfDir::names`], ending at `name_end`).
#[derive(Debug, Clone)]
pub(crate) struct Child {
    pub node: NodeId,
    pub fe: u32,
    pub name_end: u32,
    pub dir: bool,
}

/// One UDF directory.
#[derive(Debug, Clone)]
pub(crate) struct UdfDir {
    pub node: NodeId,
    pub fe: u32,
    pub parent_fe: u32,
    pub children: Vec<Child>,
    /// The children's CS0 names, one after the other (child `j`'s from the end of child
    /// `j - 1`'s to its `name_end`): one allocation per directory, not one per name.
    pub names: Vec<u8>,
    /// Bytes of FIDs.
    pub data_len: u64,
    /// Block of the data in the file-structure partition (set by the pipeline).
    pub block: u32,
}

impl UdfDir {
    /// The children with their CS0 names.
    pub fn named_children(&self) -> impl Iterator<Item = (&Child, &[u8])> {
        let mut from = 0usize;
        self.children.iter().map(move |c| {
            let end = c.name_end as usize;
            let name = self.names.get(from..end).unwrap_or_default();
            from = end;
            (c, name)
        })
    }
}

/// A file whose allocation descriptors do not all fit in its file entry: they continue in
/// `blocks` allocation extent descriptors (ECMA-167 4/14.5; [`chain_counts`]), blocks
/// `first..first + blocks` of the run of them that follows the file entries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AedRun {
    pub fe: u32,
    pub first: u32,
    pub blocks: u32,
}

/// Where the metadata partition lies (UDF 2.50+).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MetaPlan {
    /// Absolute sector of the metadata file entry (the mirror's is the next one).
    pub fe_abs: u32,
    /// Physical-partition block where the metadata partition starts: 0, so that metadata and
    /// physical block numbers coincide (see `layout::pipeline`).
    pub start: u32,
    /// Its length in blocks (a multiple of [`META_UNIT`]).
    pub blocks: u32,
}

/// The UDF view and its block numbers.
#[derive(Debug, Clone)]
pub(crate) struct UdfPlan {
    pub rev: UdfRevision,
    pub entries: Vec<Subject>,
    pub dirs: Vec<UdfDir>,
    /// For symbolic links: the encoded path components (embedded in the entry).
    pub symlinks: HashMap<NodeId, Vec<u8>>,
    pub file_count: u32,
    pub dir_count: u32,
    pub next_unique: u64,
    /// Names of each file's data (link count).
    pub names_of_data: Vec<u16>,
    /// The longest extent ([`UdfOptions::extent_limit`]).
    pub extent_limit: u32,
    /// Files with allocation extent descriptors, in file entry order.
    pub aeds: Vec<AedRun>,
    // Filled by the pipeline:
    /// Block of the first allocation extent descriptor in the file-structure partition.
    pub aed_start: u32,
    /// Partition start (absolute sector) and length in blocks.
    pub p_start: u32,
    pub p_len: u32,
    /// Absolute sector of block 0 of the file-structure partition.
    pub fs_abs: u32,
    pub meta: Option<MetaPlan>,
}

/// Unique id of file entry `fe` (UDF 3.2.1.1): the root's is 0, the others' count from 16 in
/// entry order, as [`next_unique_id`](crate::format::udf::file::next_unique_id) steps them. There are fewer than 2^31 entries (the
/// tree's limit), so the low 32 bits never reach the wrap that `next_unique_id` skips (the
/// test below checks the two agree); no table of ids is kept.
pub(crate) fn unique_id_of(fe: u32) -> u64 {
    if fe == 0 {
        ROOT_UNIQUE_ID
    } else {
        FIRST_UNIQUE_ID + u64::from(fe) - 1
    }
}

/// Length of one allocation descriptor of file data: long_ads with a metadata partition (the
/// data is in the physical partition, the entries are not), else short_ads (UDF 2.3.10).
fn ad_len(rev: UdfRevision) -> usize {
    if rev.has_metadata_partition() {
        LONG_AD_LEN
    } else {
        SHORT_AD_LEN
    }
}

impl UdfPlan {
    /// The UDF view of `tree`: file entries in breadth-first order, unique ids, directory sizes.
    /// `stop` is asked every few hundred entries; `true` ends the plan with `Error::Aborted`.
    pub fn build(
        tree: &Tree,
        opts: &UdfOptions,
        warnings: &mut Vec<Warning>,
        stop: &dyn Fn() -> bool,
    ) -> Result<UdfPlan> {
        let rev = opts.revision;
        let mut names_of_data = vec![0u16; tree.data.len()];
        for n in &tree.nodes {
            if let NodeKind::File { data } = n.kind {
                names_of_data[data as usize] = names_of_data[data as usize].saturating_add(1);
            }
        }
        let mut entries = vec![Subject::Dir(0)];
        let mut dirs: Vec<UdfDir> = vec![UdfDir {
            node: 0,
            fe: 0,
            parent_fe: 0,
            children: Vec::new(),
            names: Vec::new(),
            data_len: 0,
            block: 0,
        }];
        // Data id -> its file entry (hard links share one), u32::MAX until the first name.
        let mut data_fe = vec![u32::MAX; tree.data.len()];
        let mut symlinks = HashMap::new();
        let mut aeds = Vec::new();
        let mut aed_total = 0u32;
        let (mut file_count, mut dir_count) = (0u32, 1u32);
        let mut i = 0;
        while i < dirs.len() {
            let node = dirs[i].node;
            let mut kids: Vec<NodeId> = Vec::new();
            for (k, &c) in tree.node(node).children().iter().enumerate() {
                if k % 256 == 255 && stop() {
                    return Err(crate::error::Error::Aborted);
                }
                let n = tree.node(c);
                if tree.is_synthetic(c) {
                    continue;
                }
                match &n.kind {
                    // Left out on request (see `UdfOptions::links_and_special_files`); the
                    // layout reports each one.
                    NodeKind::Symlink { .. } | NodeKind::Special { .. }
                        if !opts.links_and_special_files =>
                    {
                        continue
                    }
                    // UDF path components are CS0 text: a target that is not UTF-8 gets
                    // its Latin-1 reading, as names do.
                    NodeKind::Symlink { target } => {
                        match encode_symlink_target(&crate::build::tree::latin1_reading(target)) {
                            Ok(bytes) if bytes.len() <= embedded_capacity(rev) => {
                                symlinks.insert(c, bytes);
                            }
                            _ => {
                                warnings.push(Warning::at(
                                    WarningKind::UdfLinkLeftOut,
                                    tree.shown_path(c),
                                    "symbolic link target too long for UDF, left out of the UDF tree",
                                ));
                                continue;
                            }
                        }
                    }
                    _ => {}
                }
                kids.push(c);
            }
            // CS0 names of at most 255 bytes (UDF 2.3.4.5), unique within the directory.
            // Names that are not UTF-8 start from their Latin-1 reading (`Tree::view_name`).
            let view_names: Vec<std::borrow::Cow<'_, str>> =
                kids.iter().map(|&c| tree.view_name(c)).collect();
            let names: Vec<(&str, bool)> = kids
                .iter()
                .zip(&view_names)
                .map(|(&c, n)| (&**n, tree.node(c).is_dir()))
                .collect();
            let bases: Vec<String> = names
                .iter()
                .map(|(n, _)| cs0::cs0_prefix(n, 255).to_string())
                .collect();
            let fitted = crate::format::iso9660::names::resolve(
                bases,
                &names,
                |b, n| {
                    let suffix = format!("~{n}");
                    let mut s = cs0::cs0_prefix(b, 255 - suffix.len() * 2).to_string();
                    s.push_str(&suffix);
                    s
                },
                |s| s.clone(),
            );
            let mut children = Vec::with_capacity(kids.len());
            let mut name_bytes = Vec::new();
            let mut lens = vec![0usize];
            for (k, ((c, name), (orig, _))) in kids.iter().zip(fitted).zip(&names).enumerate() {
                if k % 256 == 255 && stop() {
                    return Err(crate::error::Error::Aborted);
                }
                if name != *orig {
                    let path = tree.shown_path(*c);
                    warnings.push(Warning::new(
                        WarningKind::UdfNameChanged,
                        Some(path.clone()),
                        format!("UDF name of {path} shortened or changed to {name:?}"),
                    ));
                }
                let n = tree.node(*c);
                let fe = match n.kind {
                    NodeKind::Dir { .. } => {
                        let fe = entries.len() as u32;
                        entries.push(Subject::Dir(dirs.len() as u32));
                        dirs.push(UdfDir {
                            node: *c,
                            fe,
                            parent_fe: dirs[i].fe,
                            children: Vec::new(),
                            names: Vec::new(),
                            data_len: 0,
                            block: 0,
                        });
                        dir_count += 1;
                        fe
                    }
                    NodeKind::File { data } => {
                        file_count += 1;
                        match data_fe.get_mut(data as usize) {
                            Some(fe) if *fe != u32::MAX => *fe,
                            slot => {
                                entries.push(Subject::File(*c));
                                let fe = entries.len() as u32 - 1;
                                if let Some(s) = slot {
                                    *s = fe;
                                }
                                let len = tree.data.get(data as usize).map_or(0, |d| d.len);
                                let n = extent_count_max(len, opts.extent_limit);
                                let per = ad_len(rev);
                                let (_, chain) = chain_counts(n, max_descriptors(rev, per), per);
                                if !chain.is_empty() {
                                    warnings.push(Warning::at(
                                        WarningKind::UdfExtentChain,
                                        tree.path_of(*c),
                                        format_args!("its {len} bytes need more UDF allocation descriptors than a file entry holds; they continue in allocation extent descriptors, which 7-Zip does not follow (it cannot extract this file from the UDF tree; GRUB and Linux read it)"),
                                    ));
                                    aeds.push(AedRun {
                                        fe,
                                        first: aed_total,
                                        blocks: chain.len() as u32,
                                    });
                                    aed_total += chain.len() as u32;
                                }
                                fe
                            }
                        }
                    }
                    _ => {
                        file_count += 1;
                        entries.push(Subject::Other(*c));
                        entries.len() as u32 - 1
                    }
                };
                let cs0_name = cs0::encode_cs0(&name);
                lens.push(cs0_name.len());
                name_bytes.extend_from_slice(&cs0_name);
                children.push(Child {
                    node: *c,
                    fe,
                    name_end: name_bytes.len() as u32,
                    dir: n.is_dir(),
                });
            }
            dirs[i].data_len = pack_directory(&lens).1 as u64;
            name_bytes.shrink_to_fit();
            dirs[i].children = children;
            dirs[i].names = name_bytes;
            i += 1;
        }
        // UDF 3.2.1.1: the root has unique id 0, the others count from 16 (`unique_id_of`);
        // the next free one follows the last entry's.
        let next = unique_id_of(entries.len() as u32);
        Ok(UdfPlan {
            rev,
            entries,
            dirs,
            symlinks,
            file_count,
            dir_count,
            next_unique: next,
            names_of_data,
            extent_limit: opts.extent_limit,
            aeds,
            aed_start: 0,
            p_start: 0,
            p_len: 0,
            fs_abs: 0,
            meta: None,
        })
    }

    /// Unique id of file entry `fe` ([`unique_id_of`]).
    pub fn unique_id(&self, fe: u32) -> u64 {
        unique_id_of(fe)
    }

    /// Block of file entry `i` in the file-structure partition.
    pub fn fe_block(&self, i: u32) -> u32 {
        2 + i
    }

    /// Blocks of allocation extent descriptors ([`AedRun`]), all files together.
    pub fn aed_blocks(&self) -> u32 {
        self.aeds.last().map_or(0, |r| r.first + r.blocks)
    }

    /// The allocation extent descriptors of file entry `fe`, if it has any.
    fn aed_run(&self, fe: u32) -> Option<AedRun> {
        let k = self.aeds.binary_search_by_key(&fe, |r| r.fe).ok()?;
        self.aeds.get(k).copied()
    }

    /// Partition reference of the file structure (1 = the metadata partition).
    fn fs_part(&self) -> u16 {
        u16::from(self.meta.is_some())
    }

    fn icb(&self, fe: u32) -> LongAd {
        LongAd::icb(self.fe_block(fe), self.fs_part(), self.unique_id(fe))
    }
}

/// What the renderer needs besides the plan.
pub(crate) struct UdfCtx<'a> {
    pub tree: &'a Tree,
    pub plan: &'a UdfPlan,
    pub file_lba: &'a [u32],
    pub build_time: DateTime<Utc>,
    pub volume_id: &'a str,
    pub total_blocks: u32,
}

impl UdfCtx<'_> {
    fn ctx(&self) -> Ctx {
        Ctx {
            rev: self.plan.rev,
            serial: 1,
            os: OsId::UNDEFINED,
        }
    }

    /// ECMA-167 2/9.1: BEA01, NSR02/NSR03, TEA01.
    pub fn recognition_sequence(&self) -> Vec<u8> {
        volume_recognition_sequence(self.plan.rev).concat()
    }

    fn volume_descriptors(&self) -> VolumeDescriptors {
        let p = self.plan;
        let lv_id = self.volume_id.to_string();
        let mut maps = vec![PartitionMap::Physical {
            partition_number: 0,
        }];
        if let Some(m) = p.meta {
            maps.push(PartitionMap::Metadata(MetadataPartitionMap {
                partition_number: 0,
                metadata_file_location: m.fe_abs - p.p_start,
                mirror_file_location: m.fe_abs + 1 - p.p_start,
                bitmap_file_location: MetadataPartitionMap::NO_BITMAP,
                allocation_unit_size: META_UNIT,
                alignment_unit_size: META_UNIT as u16,
                duplicate: false,
            }));
        }
        // UDF 2.2.2.5: the volume set identifier starts with 16 unique hex digits; derived from
        // the build time so that a fixed build time gives the same image.
        let unique = self.build_time.timestamp() as u64 ^ ((self.total_blocks as u64) << 32);
        VolumeDescriptors {
            pvd: PrimaryVolume::new(
                &lv_id,
                &volume_set_id(unique, " glassmaster"),
                self.build_time,
            ),
            iuvd: ImplementationUseVolume {
                vds_number: 1,
                logical_volume_id: lv_id.clone(),
                lv_info: ["glassmaster".into(), String::new(), String::new()],
            },
            pd: Partition {
                vds_number: 2,
                number: 0,
                access: AccessType::ReadOnly,
                start: p.p_start,
                length: p.p_len,
            },
            lvd: LogicalVolume {
                vds_number: 3,
                logical_volume_id: lv_id,
                fsd_location: LongAd::recorded(0, p.fs_part(), BLOCK_SIZE as u32),
                integrity_extent: ExtentAd {
                    length: 2 * BLOCK_SIZE as u32,
                    location: LVID_AT,
                },
                maps,
                domain_flags: 0,
            },
            usd: UnallocatedSpace {
                vds_number: 4,
                extents: vec![],
            },
        }
    }

    /// A volume descriptor sequence (16 sectors) at `first`.
    pub fn vds(&self, first: u32) -> Vec<u8> {
        self.volume_descriptors()
            .encode(&self.ctx(), first)
            .concat()
    }

    /// The closed logical volume integrity descriptor and its terminator (UDF 2.2.6).
    pub fn integrity(&self) -> Vec<u8> {
        let p = self.plan;
        let mut spaces = vec![PartitionSpace {
            free: 0,
            size: p.p_len,
        }];
        if let Some(m) = p.meta {
            spaces.push(PartitionSpace {
                free: 0,
                size: m.blocks,
            });
        }
        let lvid = LogicalVolumeIntegrity::closed(
            p.rev,
            self.build_time,
            p.next_unique,
            spaces,
            p.file_count,
            p.dir_count,
        );
        let ctx = self.ctx();
        [
            lvid.encode(&ctx, LVID_AT),
            terminating_descriptor(&ctx, LVID_AT + 1),
        ]
        .concat()
    }

    /// ECMA-167 3/10.2: the anchor volume descriptor pointer at `location`.
    pub fn anchor(&self, location: u32) -> Vec<u8> {
        let a = Anchor {
            main: ExtentAd {
                length: VDS_LEN * BLOCK_SIZE as u32,
                location: VDS_MAIN,
            },
            reserve: ExtentAd {
                length: VDS_LEN * BLOCK_SIZE as u32,
                location: VDS_RESERVE,
            },
        };
        a.encode(&self.ctx(), location).to_vec()
    }

    /// UDF 2.2.13: the metadata file or its mirror (sharing one extent).
    pub fn metadata_entry(&self, mirror: bool) -> Vec<u8> {
        let Some(m) = self.plan.meta else {
            return Vec::new();
        };
        let kind = if mirror {
            MetadataFileKind::Mirror
        } else {
            MetadataFileKind::Main
        };
        let extent = [(m.start, m.blocks * BLOCK_SIZE as u32)];
        let loc = m.fe_abs + u32::from(mirror) - self.plan.p_start;
        metadata_file_entry(kind, &extent, self.build_time).encode(&self.ctx(), loc)
    }

    /// The file set descriptor (block 0) and its terminator (block 1).
    pub fn file_set(&self) -> Vec<u8> {
        let fs = FileSet {
            recording_time: self.build_time,
            logical_volume_id: self.volume_id.to_string(),
            file_set_id: self.volume_id.to_string(),
            copyright_file_id: String::new(),
            abstract_file_id: String::new(),
            root_icb: self.plan.icb(0),
            file_set_number: 0,
            fsd_number: 0,
        };
        let ctx = self.ctx();
        [
            fs.encode(&ctx, 0).to_vec(),
            terminating_descriptor(&ctx, 1).to_vec(),
        ]
        .concat()
    }

    /// File entries `first..first + n`, one block each.
    pub fn file_entries(&self, first: u32, n: u32) -> Vec<u8> {
        // One buffer for the run, each entry encoded in place (no buffer or copy per entry).
        let mut out = vec![0u8; n as usize * BLOCK_SIZE];
        let ctx = self.ctx();
        for (k, block) in (0..n).zip(out.chunks_exact_mut(BLOCK_SIZE)) {
            let i = first + k;
            let fe = self.file_entry(i);
            let len = fe.len(ctx.rev);
            if let Some(dst) = block.get_mut(..len) {
                fe.encode_into(&ctx, self.plan.fe_block(i), dst);
            }
        }
        out
    }

    fn file_entry(&self, i: u32) -> FileEntry {
        let p = self.plan;
        let tree = self.tree;
        let mut continued_blocks = 0;
        let (node_id, file_type, link_count, info_len, allocation, device) = match p.entries
            [i as usize]
        {
            Subject::Dir(d) => {
                let dir = &p.dirs[d as usize];
                let subdirs = dir.children.iter().filter(|c| c.dir).count() as u16;
                let alloc =
                    Allocation::Short(vec![ShortAd::recorded(dir.block, dir.data_len as u32)]);
                (
                    dir.node,
                    IcbFileType::Directory,
                    1 + subdirs,
                    dir.data_len,
                    alloc,
                    None,
                )
            }
            Subject::File(node) => {
                let data = match tree.node(node).kind {
                    NodeKind::File { data } => data,
                    _ => {
                        return FileEntry::empty_for(self.plan.rev, p.unique_id(i), self.build_time)
                    }
                };
                let len = tree.data[data as usize].len;
                let (alloc, extents) = self.file_allocation(i, data);
                continued_blocks = extents.iter().map(|a| a.recorded_blocks()).sum::<u64>();
                (
                    node,
                    IcbFileType::Regular,
                    p.names_of_data[data as usize].max(1),
                    len,
                    alloc,
                    None,
                )
            }
            Subject::Other(node) => match &tree.node(node).kind {
                NodeKind::Symlink { .. } => {
                    let bytes = p.symlinks.get(&node).cloned().unwrap_or_default();
                    (
                        node,
                        IcbFileType::Symlink,
                        1,
                        bytes.len() as u64,
                        Allocation::Embedded(bytes),
                        None,
                    )
                }
                NodeKind::Special { kind, rdev } => {
                    let (ft, dev) = match kind {
                        SpecialKind::CharDevice => (
                            IcbFileType::CharDevice,
                            Some(crate::format::rockridge::rrip::split_rdev(*rdev)),
                        ),
                        SpecialKind::BlockDevice => (
                            IcbFileType::BlockDevice,
                            Some(crate::format::rockridge::rrip::split_rdev(*rdev)),
                        ),
                        SpecialKind::Fifo => (IcbFileType::Fifo, None),
                        SpecialKind::Socket => (IcbFileType::Socket, None),
                    };
                    (node, ft, 1, 0, Allocation::Embedded(Vec::new()), dev)
                }
                _ => return FileEntry::empty_for(self.plan.rev, p.unique_id(i), self.build_time),
            },
        };
        let n = tree.node(node_id);
        let mode = n.mode();
        let mtime = n.mtime.unwrap_or(self.build_time);
        let px = n.posix.as_deref();
        FileEntry {
            file_type,
            icb_flags: icb_flags_from_mode(mode),
            uid: px.map_or(NO_ID, |p| p.uid),
            gid: px.map_or(NO_ID, |p| p.gid),
            permissions: permissions_from_mode(mode),
            link_count,
            info_len,
            access_time: px.and_then(|p| p.atime).unwrap_or(mtime),
            modification_time: mtime,
            attribute_time: px.and_then(|p| p.ctime).unwrap_or(mtime),
            creation_time: px.and_then(|p| p.creation(mtime)).unwrap_or(mtime),
            unique_id: p.unique_id(i),
            device,
            allocation,
            continued_blocks,
        }
    }

    /// The allocation descriptors of file entry `fe` for the data `data`: those recorded in
    /// the entry and those of each of its allocation extent descriptors (none unless the plan
    /// has an [`AedRun`] for it), every list but the last ending with a type-3 descriptor to
    /// the next extent of descriptors (ECMA-167 4/12.1). The data is in the physical partition:
    /// short_ads without a metadata partition (the entries are in the same one), long_ads to
    /// partition 0 with it; the allocation extents are in the entries' partition.
    fn file_allocation(&self, fe: u32, data: u32) -> (Allocation, Vec<Allocation>) {
        let p = self.plan;
        let len = self.tree.data.get(data as usize).map_or(0, |d| d.len);
        let start = self
            .file_lba
            .get(data as usize)
            .map_or(0, |&b| b.saturating_sub(p.p_start));
        let pieces = split_extent_max(start, len, p.extent_limit);
        let long = p.meta.is_some();
        let list = |ads: &[(u32, u32)], next: Option<u32>| -> Allocation {
            if long {
                let mut v: Vec<LongAd> = ads
                    .iter()
                    .map(|&(b, l)| LongAd::recorded(b, 0, l))
                    .collect();
                if let Some(block) = next {
                    v.push(LongAd {
                        length: BLOCK_SIZE as u32,
                        kind: ExtentType::NextExtent,
                        location: LbAddr {
                            block,
                            partition: p.fs_part(),
                        },
                        impl_use: [0; 6],
                    });
                }
                Allocation::Long(v)
            } else {
                let mut v: Vec<ShortAd> =
                    ads.iter().map(|&(b, l)| ShortAd::recorded(b, l)).collect();
                if let Some(position) = next {
                    v.push(ShortAd {
                        length: BLOCK_SIZE as u32,
                        kind: ExtentType::NextExtent,
                        position,
                    });
                }
                Allocation::Short(v)
            }
        };
        let Some(run) = p.aed_run(fe) else {
            return (list(&pieces, None), Vec::new());
        };
        let per = ad_len(p.rev);
        let (head, chain) = chain_counts(pieces.len(), max_descriptors(p.rev, per), per);
        let first = p.aed_start + run.first;
        let mut rest = pieces.get(head..).unwrap_or_default();
        let entry = list(pieces.get(..head).unwrap_or_default(), Some(first));
        let mut extents = Vec::with_capacity(chain.len());
        for (k, &n) in chain.iter().enumerate() {
            let (these, after) = rest.split_at(n.min(rest.len()));
            let next = (k + 1 < chain.len()).then_some(first + k as u32 + 1);
            extents.push(list(these, next));
            rest = after;
        }
        (entry, extents)
    }

    /// Every allocation extent descriptor, one block each, in the order of [`UdfPlan::aeds`].
    pub fn allocation_extents(&self) -> Vec<u8> {
        let p = self.plan;
        let mut out = Vec::with_capacity(p.aed_blocks() as usize * BLOCK_SIZE);
        let ctx = self.ctx();
        for run in &p.aeds {
            let data = match p.entries.get(run.fe as usize) {
                Some(Subject::File(node)) => match self.tree.node(*node).kind {
                    NodeKind::File { data } => data,
                    _ => 0,
                },
                _ => 0,
            };
            let (_, extents) = self.file_allocation(run.fe, data);
            for k in 0..run.blocks {
                let block = p.aed_start + run.first + k;
                match extents.get(k as usize) {
                    Some(a) => out.extend(
                        AllocationExtent {
                            allocation: a.clone(),
                        }
                        .encode(&ctx, block),
                    ),
                    None => out.resize(out.len() + BLOCK_SIZE, 0),
                }
            }
        }
        out
    }

    /// Directory `d`'s FIDs: the parent entry, then one per child.
    pub fn directory(&self, d: u32) -> Vec<u8> {
        let p = self.plan;
        let dir = &p.dirs[d as usize];
        // The parent FID first (UDF 2.3.4), then one per child, each encoded in place.
        let mut lens = Vec::with_capacity(dir.children.len() + 1);
        lens.push(0);
        lens.extend(dir.named_children().map(|(_, name)| name.len()));
        let (slots, total) = pack_directory(&lens);
        let ctx = self.ctx();
        let mut out = vec![0u8; total];
        let mut put_fid = |s: &FidSlot, characteristics: u8, icb: &LongAd, name: &[u8]| {
            if let Some(dst) = out.get_mut(s.offset..s.offset + s.len) {
                encode_fid_into(
                    &ctx,
                    characteristics,
                    icb,
                    name,
                    s.impl_use_len,
                    fid_location(dir.block, s.offset),
                    dst,
                );
            }
        };
        let mut slots = slots.iter();
        if let Some(s) = slots.next() {
            put_fid(s, FID_PARENT | FID_DIRECTORY, &p.icb(dir.parent_fe), &[]);
        }
        for ((c, name), s) in dir.named_children().zip(slots) {
            let mut characteristics = if c.dir { FID_DIRECTORY } else { 0 };
            if self.tree.is_hidden(c.node) {
                characteristics |= FID_HIDDEN;
            }
            put_fid(s, characteristics, &p.icb(c.fe), name);
        }
        out
    }
}

impl FileEntry {
    /// An empty regular file entry (only if the plan and the tree disagree, which the plan rules
    /// out: it keeps rendering total).
    fn empty_for(_rev: UdfRevision, unique_id: u64, t: DateTime<Utc>) -> FileEntry {
        FileEntry {
            file_type: IcbFileType::Regular,
            icb_flags: 0,
            uid: NO_ID,
            gid: NO_ID,
            permissions: permissions_from_mode(0o644),
            link_count: 1,
            info_len: 0,
            access_time: t,
            modification_time: t,
            attribute_time: t,
            creation_time: t,
            unique_id,
            device: None,
            allocation: Allocation::Short(Vec::new()),
            continued_blocks: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::udf::file::next_unique_id;

    #[test]
    fn unique_ids_step_as_next_unique_id_does() {
        assert_eq!(unique_id_of(0), ROOT_UNIQUE_ID);
        let mut next = FIRST_UNIQUE_ID;
        for fe in 1..100_000u32 {
            assert_eq!(unique_id_of(fe), next, "entry {fe}");
            next = next_unique_id(next);
        }
        // The last entry the tree allows (2^31 - 1) is still far from the 32-bit wrap.
        assert!(unique_id_of(i32::MAX as u32) < u64::from(u32::MAX));
    }
}
