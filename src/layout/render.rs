//! Renders metadata segments from the frozen layout. Each function returns exactly the
//! segment's bytes (whole sectors); file data is streamed by [`crate::image`].

use crate::build::tree::NodeKind;
use crate::codec::date::{encode_dir_date, encode_vd_date, unspecified_vd_date};
use crate::format::iso9660::descriptor::{self, VdFields, VdKind};
use crate::format::iso9660::dirrec::{
    self, Record, FLAG_DIRECTORY, FLAG_HIDDEN, FLAG_MULTI_EXTENT, MAX_EXTENT_BYTES,
};
use crate::format::iso9660::pathtable;
use crate::format::rockridge::{self, susp};
use crate::layout::dir_tree::{record_entries, RecRef, RrCtx, RrPlan, SuRef};
use crate::layout::udf::{self, UdfCtx};
use crate::layout::{Layout, PlacedTree, SegKind, TreeSel};
use crate::{BLOCK_SIZE, BLOCK_SIZE_U64};

/// Renders metadata segment `seg` (not file data) into a buffer of the segment's size.
pub(crate) fn render(l: &Layout, seg: usize) -> Vec<u8> {
    let item = &l.items.segs()[seg];
    let size = item.block_count as usize * BLOCK_SIZE;
    let mut out = match l.kinds[seg] {
        SegKind::Zero | SegKind::File { .. } => Vec::new(),
        SegKind::SystemArea => match (&l.options.boot.system_area, &l.boot) {
            // `BootOptions::system_area` (-G): the file's first 32 KiB as they are.
            (Some(bytes), _) => bytes[..bytes.len().min(16 * BLOCK_SIZE)].to_vec(),
            (None, Some(b)) => b.system_area(&l.file_lba, &l.tree, l.total_blocks, l.seed),
            (None, None) => Vec::new(),
        },
        SegKind::GptBackup => l
            .boot
            .as_ref()
            .and_then(|b| b.gpt_backup(&l.file_lba, &l.tree, l.total_blocks, l.seed))
            .unwrap_or_default(),
        SegKind::VolumeDescriptors => volume_descriptors(l),
        SegKind::PartitionDescriptors => partition_descriptors(l),
        SegKind::PathTable { view, big_endian } => l
            .view(view)
            .map(|v| path_table(v, big_endian))
            .unwrap_or_default(),
        SegKind::Directory { view, dir } => l
            .view(view)
            .map(|v| directory(l, v, dir))
            .unwrap_or_default(),
        SegKind::ContinuationAreas { dir, part } => l
            .view(if part { TreeSel::PartIso } else { TreeSel::Iso })
            .map(|v| continuation_areas(l, v, dir))
            .unwrap_or_default(),
        SegKind::UdfVrs
        | SegKind::UdfVds { .. }
        | SegKind::UdfLvid
        | SegKind::UdfAnchor
        | SegKind::UdfMetaEntries
        | SegKind::UdfFileSet
        | SegKind::UdfEntries { .. }
        | SegKind::UdfAllocExtents
        | SegKind::UdfDir { .. } => udf_segment(l, seg),
        // Streamed from the base image by the image stream.
        SegKind::Base { .. } => Vec::new(),
        SegKind::Head => l
            .options
            .append
            .as_ref()
            .map(|a| a.head(&volume_descriptors(l)))
            .unwrap_or_default(),
        SegKind::SavedHead => l
            .options
            .append
            .as_ref()
            .map(|a| a.old_head.clone())
            .unwrap_or_default(),
    };
    debug_assert!(
        out.len() <= size,
        "segment {} overflows: {} > {}",
        l.items.get(seg).map(|i| i.description).unwrap_or_default(),
        out.len(),
        size
    );
    out.resize(size, 0);
    out
}

fn node_date(l: &Layout, node: u32) -> [u8; 7] {
    encode_dir_date(&l.tree.node(node).mtime.unwrap_or(l.build_time))
}

/// The 34-byte record of a view's root, as stored in its volume descriptor (ECMA-119 8.4.18).
fn root_record(l: &Layout, v: &PlacedTree) -> Vec<u8> {
    let mut r = Vec::with_capacity(34);
    dirrec::encode(
        &mut r,
        &Record {
            extent: v.dir_lba[0],
            data_len: v.view.dirs[0].size as u32,
            date: node_date(l, 0),
            flags: FLAG_DIRECTORY,
            ident: &[0],
            system_use: &[],
        },
    );
    r
}

fn volume_descriptors(l: &Layout) -> Vec<u8> {
    // As xorriso: the volume space ends where the appended partitions start, unless a
    // partition offset gives the partition its own descriptors (then it is the whole image).
    let blocks = match (&l.boot, &l.part) {
        (Some(b), None) => b.iso_end_block(&l.file_lba, l.total_blocks),
        _ => l.total_blocks,
    };
    descriptor_set(l, l.iso.as_ref(), l.joliet.as_ref(), blocks, true)
}

/// `-partition_offset`: the partition's descriptors, over its copy of the trees, with its
/// length as the volume space size (ECMA-119 8.4.8) and no boot record.
fn partition_descriptors(l: &Layout) -> Vec<u8> {
    let Some(p) = &l.part else {
        return Vec::new();
    };
    let blocks = l.partition_extent().map_or(0, |(_, n)| n);
    descriptor_set(
        l,
        p.iso.as_ref(),
        p.joliet.as_ref(),
        u64::from(blocks),
        false,
    )
}

/// A volume descriptor set over the views `iso` and `joliet`; `outer` for the image's own (the
/// boot record, an appended session's record), not the partition's.
fn descriptor_set(
    l: &Layout,
    iso: Option<&PlacedTree>,
    joliet: Option<&PlacedTree>,
    volume_blocks: u64,
    outer: bool,
) -> Vec<u8> {
    let o = &l.options;
    // ECMA-119 8.4.26-8.4.29; the options may replace each date.
    let dates = &o.volume_dates;
    let default = encode_vd_date(&l.build_time);
    let pick =
        |d: &Option<crate::build::builder::VolumeDate>, or: [u8; 17]| d.map_or(or, |d| d.encode());
    let created = pick(&dates.created, default);
    let modified = pick(&dates.modified, default);
    let expires = pick(&dates.expires, unspecified_vd_date());
    let effective = pick(&dates.effective, unspecified_vd_date());
    let fields = |kind: VdKind, v: &PlacedTree, root: &[u8]| -> [u8; BLOCK_SIZE] {
        descriptor::encode(&VdFields {
            kind,
            volume_id: &o.volume_id,
            system_id: &o.system_id,
            publisher: &o.publisher,
            preparer: &o.preparer,
            application: &o.application,
            volume_blocks: volume_blocks as u32,
            path_table_size: v.view.path_table_size as u32,
            path_table_l: v.path_tables.l,
            path_table_m: v.path_tables.m,
            root_record: root,
            created,
            modified,
            expires,
            effective,
            volume_set_id: &o.volume_set_id,
            copyright_file: &o.copyright_file,
            abstract_file: &o.abstract_file,
            biblio_file: &o.biblio_file,
            ids_as_given: o.volume_ids_as_given,
        })
    };
    let mut out = Vec::with_capacity(4 * BLOCK_SIZE);
    let Some(iso) = iso else { return out };
    let iso_root = root_record(l, iso);
    let mut pvd = fields(VdKind::Primary, iso, &iso_root);
    if let Some(a) = l.options.append.as_ref().filter(|_| outer) {
        // ECMA-119 8.4.32 Application Use: the session record (see `read::session`).
        let rec = crate::format::iso9660::session::encode_record(a.number, a.start as u32);
        let at = crate::format::iso9660::session::APP_USE_OFFSET;
        pvd[at..at + rec.len()].copy_from_slice(&rec);
    }
    out.extend_from_slice(&pvd);
    // El Torito 2.0: the boot record volume descriptor is at sector 17, right after the PVD.
    if let Some(b) = l.boot.as_ref().filter(|_| outer) {
        out.extend_from_slice(&crate::format::eltorito::catalog::boot_record_descriptor(
            l.file_lba[b.catalog_data as usize],
        ));
    } else if let Some(br) = l
        .options
        .append
        .as_ref()
        .filter(|_| outer)
        .and_then(|a| a.boot_record.as_ref())
    {
        // An appended session keeps the base's boot record: its catalog and boot images stay
        // where they are.
        out.extend_from_slice(br);
    }
    if o.level == crate::IsoLevel::Iso1999 {
        // The enhanced descriptor shares the primary's tree (its names already follow 1999 rules).
        out.extend_from_slice(&fields(VdKind::Enhanced, iso, &iso_root));
    }
    if let Some(j) = joliet {
        out.extend_from_slice(&fields(VdKind::Joliet, j, &root_record(l, j)));
    }
    out.extend_from_slice(&descriptor::terminator());
    out
}

fn path_table(v: &PlacedTree, big_endian: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.view.path_table_size as usize);
    for (i, d) in v.view.dirs.iter().enumerate() {
        // Directory numbers start at 1 (ECMA-119 9.4.4); the root is its own parent.
        pathtable::encode(
            &mut out,
            &d.ident,
            v.dir_lba[i],
            (d.parent + 1) as u16,
            big_endian,
        );
    }
    out
}

/// The `CE` entry pointing at continuation area `a` of the pool (SUSP 5.1).
fn ce_for(v: &PlacedTree, rv: &RrPlan, a: usize) -> Vec<u8> {
    let area = rv.areas[a];
    let bs = BLOCK_SIZE_U64;
    susp::ce(
        v.ce_block_lba[(area.offset / bs) as usize],
        (area.offset % bs) as u32,
        area.len as u32,
    )
}

/// A record's Rock Ridge entries with real block numbers, and how they are placed.
fn rr_entries(
    l: &Layout,
    v: &PlacedTree,
    rv: &RrPlan,
    dir: u32,
    rec: RecRef,
) -> (Vec<Vec<u8>>, rockridge::Split) {
    let ctx = RrCtx {
        opts: &rv.opts,
        build_time: l.build_time,
    };
    let entries = record_entries(&l.tree, &v.view.dirs, rv, &ctx, dir, rec, |d| {
        v.dir_lba[d as usize]
    });
    let sizes: Vec<usize> = entries.iter().map(Vec::len).collect();
    let ident_len = match rec {
        RecRef::Entry(k) => v.view.dirs[dir as usize].entries[k as usize].ident_len as usize,
        _ => 1,
    };
    let split = rockridge::split(&sizes, 255 - dirrec::record_len(ident_len, 0));
    (entries, split)
}

/// The system use field of one record (empty without Rock Ridge).
fn system_use(l: &Layout, v: &PlacedTree, dir: u32, rec: RecRef, su: &SuRef) -> Vec<u8> {
    let Some(rv) = &v.view.rr else {
        return Vec::new();
    };
    let (entries, split) = rr_entries(l, v, rv, dir, rec);
    let mut out: Vec<u8> = entries[..split.record_end].concat();
    if !split.areas.is_empty() {
        // The plan recorded every record that has continuation areas.
        debug_assert!(rv.first_area(dir, rec).is_some());
        if let Some(first) = rv.first_area(dir, rec) {
            out.extend_from_slice(&ce_for(v, rv, first));
        }
    }
    // SUSP 4: fewer than 4 remaining bytes are padding; keep the record length even.
    out.resize(su.len as usize, 0);
    out
}

/// The continuation areas of the records of directory `of` (its blocks of the pool).
fn continuation_areas(l: &Layout, v: &PlacedTree, of: u32) -> Vec<u8> {
    let Some(rv) = &v.view.rr else {
        return Vec::new();
    };
    let bs = BLOCK_SIZE_U64;
    let (first, blocks) = rv.dir_pool[of as usize];
    let base = (first * bs) as usize;
    let mut out = vec![0u8; (blocks * bs) as usize];
    // Owners are in pool order, that is by directory.
    let start = rv.owners.partition_point(|(d, ..)| *d < of);
    for &(dir, rec, first) in rv.owners[start..].iter().take_while(|(d, ..)| *d == of) {
        let (entries, split) = rr_entries(l, v, rv, dir, rec);
        for (k, range) in split.areas.iter().enumerate() {
            let a = first as usize + k;
            let mut bytes = entries[range.clone()].concat();
            if k + 1 < split.areas.len() {
                bytes.extend_from_slice(&ce_for(v, rv, a + 1));
            }
            let off = rv.areas[a].offset as usize - base;
            debug_assert_eq!(bytes.len(), rv.areas[a].len as usize);
            if let Some(dst) = out.get_mut(off..off + bytes.len()) {
                dst.copy_from_slice(&bytes);
            }
        }
    }
    out
}

fn directory(l: &Layout, v: &PlacedTree, dir: u32) -> Vec<u8> {
    let d = &v.view.dirs[dir as usize];
    let mut out = Vec::with_capacity(d.size as usize);
    let push = |out: &mut Vec<u8>, r: &Record<'_>| {
        let len = dirrec::record_len(r.ident.len(), r.system_use.len());
        // ECMA-119 6.8.1.1: no record crosses a sector boundary; the rest of the sector is zero.
        let used = out.len() % BLOCK_SIZE;
        if used + len > BLOCK_SIZE {
            out.resize(out.len() + BLOCK_SIZE - used, 0);
        }
        dirrec::encode(out, r);
    };
    let parent = &v.view.dirs[d.parent as usize];
    let hidden = |node: u32| {
        if l.tree.is_hidden(node) {
            FLAG_HIDDEN
        } else {
            0
        }
    };
    // ECMA-119 6.8.2.2: the "." and ".." records come first.
    let su = system_use(l, v, dir, RecRef::Dot, &d.dot_su);
    push(
        &mut out,
        &Record {
            extent: v.dir_lba[dir as usize],
            data_len: d.size as u32,
            date: node_date(l, d.node),
            flags: FLAG_DIRECTORY,
            ident: &[0],
            system_use: &su,
        },
    );
    let su = system_use(l, v, dir, RecRef::DotDot, &d.dotdot_su);
    push(
        &mut out,
        &Record {
            extent: v.dir_lba[d.parent as usize],
            data_len: parent.size as u32,
            date: node_date(l, parent.node),
            flags: FLAG_DIRECTORY,
            ident: &[1],
            system_use: &su,
        },
    );
    let mut ident_buf = Vec::new();
    for (k, (e, sub)) in d.entries_with_dirs().enumerate() {
        let date = node_date(l, e.node);
        let node = l.tree.node(e.node);
        let su = system_use(l, v, dir, RecRef::Entry(k as u32), &e.su());
        let ident = d.ident_in(&l.tree, e, &mut ident_buf);
        match (&node.kind, sub) {
            (NodeKind::Dir { .. }, Some(sub)) => push(
                &mut out,
                &Record {
                    extent: v.dir_lba[sub as usize],
                    data_len: v.view.dirs[sub as usize].size as u32,
                    date,
                    flags: FLAG_DIRECTORY | hidden(e.node),
                    ident,
                    system_use: &su,
                },
            ),
            (&NodeKind::File { data }, _) if l.tree.record_extents(data).is_some() => {
                // An appended session's file left on the base: one record per extent, as the
                // base recorded them (ECMA-119 6.5.1 / 9.1.6 bit 7).
                let pieces = l.tree.record_extents(data).unwrap_or_default();
                for (k, p) in pieces.iter().enumerate() {
                    push(
                        &mut out,
                        &Record {
                            extent: p.lba,
                            data_len: p.len,
                            date,
                            flags: hidden(e.node)
                                | if k + 1 < pieces.len() {
                                    FLAG_MULTI_EXTENT
                                } else {
                                    0
                                },
                            ident,
                            system_use: &su,
                        },
                    );
                }
            }
            (&NodeKind::File { data }, _) => {
                let len = l.tree.data[data as usize].len;
                // The partition's copy counts from the partition's first block.
                let start = l.file_lba[data as usize].saturating_sub(v.origin);
                let n = dirrec::extent_count(len);
                // ECMA-119 6.5.1 / 9.1.6 bit 7: a file of several extents has one record per
                // extent, in order, all but the last flagged multi-extent. Each carries the same
                // Rock Ridge entries.
                for k in 0..n {
                    let off = k * MAX_EXTENT_BYTES;
                    let this = if n == 1 {
                        len
                    } else {
                        (len - off).min(MAX_EXTENT_BYTES)
                    };
                    push(
                        &mut out,
                        &Record {
                            extent: if len == 0 {
                                0
                            } else {
                                start + (off / BLOCK_SIZE_U64) as u32
                            },
                            data_len: this as u32,
                            date,
                            flags: hidden(e.node) | if k + 1 < n { FLAG_MULTI_EXTENT } else { 0 },
                            ident,
                            system_use: &su,
                        },
                    );
                }
            }
            // RRIP 4.1.5.1: the placeholder of a relocated directory is a file record (its CL
            // entry names the directory); symbolic links and special files are empty files
            // whose Rock Ridge entries say what they are.
            _ => push(
                &mut out,
                &Record {
                    extent: 0,
                    data_len: 0,
                    date,
                    flags: hidden(e.node),
                    ident,
                    system_use: &su,
                },
            ),
        }
    }
    out
}

/// Renders a UDF segment from the layout's UDF plan.
fn udf_segment(l: &Layout, seg: usize) -> Vec<u8> {
    let Some(plan) = &l.udf else {
        return Vec::new();
    };
    let u = UdfCtx {
        tree: &l.tree,
        plan,
        file_lba: &l.file_lba,
        build_time: l.build_time,
        volume_id: &l.options.volume_id,
        total_blocks: l.total_blocks as u32,
    };
    let first = l.items.segs()[seg].first_block() as u32;
    match l.kinds[seg] {
        SegKind::UdfVrs => u.recognition_sequence(),
        SegKind::UdfVds { reserve } => u.vds(if reserve {
            udf::VDS_RESERVE
        } else {
            udf::VDS_MAIN
        }),
        SegKind::UdfLvid => u.integrity(),
        SegKind::UdfAnchor => u.anchor(first),
        SegKind::UdfMetaEntries => {
            let mut out = u.metadata_entry(false);
            out.resize(BLOCK_SIZE, 0);
            out.extend(u.metadata_entry(true));
            out
        }
        SegKind::UdfFileSet => u.file_set(),
        SegKind::UdfEntries { first, count } => u.file_entries(first, u32::from(count)),
        SegKind::UdfAllocExtents => u.allocation_extents(),
        SegKind::UdfDir { dir } => u.directory(dir),
        _ => Vec::new(),
    }
}
