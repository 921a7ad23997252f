//! Renders metadata segments from the frozen layout. Each function returns exactly the
//! segment's bytes (whole sectors); file data is streamed by [`crate::image`].

use crate::codec::date::{encode_dir_date, encode_vd_date, unspecified_vd_date};
use crate::iso9660::descriptor::{self, VdFields, VdKind};
use crate::iso9660::dirrec::{
    self, Record, FLAG_DIRECTORY, FLAG_HIDDEN, FLAG_MULTI_EXTENT, MAX_EXTENT_BYTES,
};
use crate::iso9660::pathtable;
use crate::layout::{LaidView, Layout, SegKind};
use crate::tree::NodeKind;
use crate::BLOCK_SIZE;

/// Renders metadata segment `seg` (not file data) into a buffer of the segment's size.
pub(crate) fn render(l: &Layout, seg: usize) -> Vec<u8> {
    let item = &l.items.as_slice()[seg];
    let size = item.block_count as usize * BLOCK_SIZE;
    let mut out = match l.kinds[seg] {
        SegKind::Zero | SegKind::File { .. } => Vec::new(),
        SegKind::VolumeDescriptors => volume_descriptors(l),
        SegKind::PathTable { view, big_endian } => l
            .view(view)
            .map(|v| path_table(v, big_endian))
            .unwrap_or_default(),
        SegKind::Directory { view, dir } => l
            .view(view)
            .map(|v| directory(l, v, dir))
            .unwrap_or_default(),
    };
    debug_assert!(
        out.len() <= size,
        "segment {} overflows: {} > {}",
        item.description,
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
fn root_record(l: &Layout, v: &LaidView) -> Vec<u8> {
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
    let o = &l.options;
    let created = encode_vd_date(&l.build_time);
    let fields = |kind: VdKind, v: &LaidView, root: &[u8]| -> [u8; 2048] {
        descriptor::encode(&VdFields {
            kind,
            volume_id: &o.volume_id,
            system_id: &o.system_id,
            publisher: &o.publisher,
            preparer: &o.preparer,
            application: &o.application,
            volume_blocks: l.total_blocks as u32,
            path_table_size: v.view.path_table_size as u32,
            path_table_l: v.path_tables.l,
            path_table_m: v.path_tables.m,
            root_record: root,
            created,
            unspecified: unspecified_vd_date(),
        })
    };
    let mut out = Vec::with_capacity(4 * BLOCK_SIZE);
    let iso_root = root_record(l, &l.iso);
    out.extend_from_slice(&fields(VdKind::Primary, &l.iso, &iso_root));
    if o.level == crate::IsoLevel::Iso1999 {
        // The enhanced descriptor shares the primary's tree (its names already follow 1999 rules).
        out.extend_from_slice(&fields(VdKind::Enhanced, &l.iso, &iso_root));
    }
    if let Some(j) = &l.joliet {
        out.extend_from_slice(&fields(VdKind::Joliet, j, &root_record(l, j)));
    }
    out.extend_from_slice(&descriptor::terminator());
    out
}

fn path_table(v: &LaidView, big_endian: bool) -> Vec<u8> {
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

fn directory(l: &Layout, v: &LaidView, dir: u32) -> Vec<u8> {
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
        if l.tree.node(node).hidden {
            FLAG_HIDDEN
        } else {
            0
        }
    };
    // ECMA-119 6.8.2.2: the "." and ".." records come first.
    push(
        &mut out,
        &Record {
            extent: v.dir_lba[dir as usize],
            data_len: d.size as u32,
            date: node_date(l, d.node),
            flags: FLAG_DIRECTORY,
            ident: &[0],
            system_use: &[],
        },
    );
    push(
        &mut out,
        &Record {
            extent: v.dir_lba[d.parent as usize],
            data_len: parent.size as u32,
            date: node_date(l, parent.node),
            flags: FLAG_DIRECTORY,
            ident: &[1],
            system_use: &[],
        },
    );
    for e in &d.entries {
        let date = node_date(l, e.node);
        let node = l.tree.node(e.node);
        match (&node.kind, e.dir) {
            (NodeKind::Dir { .. }, Some(sub)) => push(
                &mut out,
                &Record {
                    extent: v.dir_lba[sub as usize],
                    data_len: v.view.dirs[sub as usize].size as u32,
                    date,
                    flags: FLAG_DIRECTORY | hidden(e.node),
                    ident: &e.ident,
                    system_use: &[],
                },
            ),
            (&NodeKind::File { data }, _) => {
                let len = l.tree.data[data as usize].len;
                let start = l.file_lba[data as usize];
                let n = dirrec::extent_count(len);
                // ECMA-119 6.5.1 / 9.1.6 bit 7: a file of several extents has one record per
                // extent, in order, all but the last flagged multi-extent.
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
                                start + (off / BLOCK_SIZE as u64) as u32
                            },
                            data_len: this as u32,
                            date,
                            flags: hidden(e.node) | if k + 1 < n { FLAG_MULTI_EXTENT } else { 0 },
                            ident: &e.ident,
                            system_use: &[],
                        },
                    );
                }
            }
            (NodeKind::Dir { .. }, None) => {}
        }
    }
    out
}
