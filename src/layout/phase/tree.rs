//! The tree as the layout sees it: times scrubbed for reproducible images, deep directories
//! relocated (Rock Ridge), patched boot files kept off a base image, file sizes checked per
//! ISO 9660 level.

use std::sync::Arc;

use crate::build::boot::BootPlan;
use crate::build::options::{FileSystems, IsoLevel, Options};
use crate::build::tree::{NodeId, NodeKind, NodeMeta, Source, Tree};
use crate::error::{Error, Result};

/// Reproducible images: with a fixed build time, only the inputs' contents, names, modes,
/// owners and modification times count. Access, change and creation times differ between two
/// copies of one tree, so every recorded time becomes the modification time.
pub(crate) fn scrub_times(tree: &mut Tree) {
    // Nodes that shared a value share its replacement.
    let mut shared: std::collections::HashMap<NodeMeta, Arc<NodeMeta>> = Default::default();
    for n in &mut tree.nodes {
        let Some(p) = n.posix.as_deref() else {
            continue;
        };
        let without = NodeMeta {
            atime: None,
            ctime: None,
            crtime: None,
            ctime_is_mtime: false,
            crtime_is_mtime: false,
            ..p.clone()
        };
        if without != *p {
            let a = shared
                .entry(without)
                .or_insert_with_key(|k| Arc::new(k.clone()))
                .clone();
            n.posix = Some(a);
        }
    }
}

/// RRIP 4.1.5: finds the directories that would be deeper than ISO 9660's 8 levels, moving each
/// (with its subtree) under a relocation directory at the root, where it is at level 3. Adds
/// the relocation directory to `tree` (hidden, ISO 9660 view only) and returns it with the
/// relocated directories, or `None` if nothing is too deep.
pub(crate) fn relocate(tree: &mut Tree, name: &str) -> Result<Option<(NodeId, Vec<NodeId>)>> {
    let mut moved = Vec::new();
    let mut stack: Vec<(NodeId, usize)> = vec![(0, 1)];
    while let Some((node, level)) = stack.pop() {
        for &c in tree.node(node).children() {
            if !tree.node(c).is_dir() {
                continue;
            }
            if level + 1 > 8 {
                moved.push(c);
                stack.push((c, 3));
            } else {
                stack.push((c, level + 1));
            }
        }
    }
    if moved.is_empty() {
        return Ok(None);
    }
    moved.sort_unstable();
    let mut unique = name.to_string();
    let mut n = 1;
    while tree.child(0, &unique).is_some() {
        unique = format!("{name}_{n}");
        n += 1;
    }
    let id = tree.add_dir_in(0, &unique)?;
    tree.set_synthetic(id);
    tree.set_hidden(id, true);
    Ok(Some((id, moved)))
}

/// A boot file whose boot info table is patched is written again, not left on the base image
/// of an appended session.
pub(crate) fn rewrite_patched_boot_files(tree: &mut Tree, boot: &BootPlan) {
    for e in boot.entries.iter().filter(|e| e.info_table.is_some()) {
        if let Some(Source::Base { in_place, .. }) =
            tree.data.get_mut(e.data as usize).map(|d| &mut d.source)
        {
            *in_place = false;
        }
    }
}

/// File size rules per level (ECMA-119 10.1-10.3: levels 1 and 2 have one extent per file, so
/// a file must fit in 4 GiB - 1).
pub(crate) fn check_file_sizes(tree: &Tree, opts: &Options) -> Result<()> {
    let multi_extent_ok = matches!(opts.level, IsoLevel::Level3 | IsoLevel::Iso1999);
    if !opts.filesystems.contains(FileSystems::ISO9660) || multi_extent_ok {
        return Ok(());
    }
    for (i, n) in tree.nodes.iter().enumerate() {
        if let NodeKind::File { data } = n.kind {
            let len = tree.data[data as usize].len;
            if len > u32::MAX as u64 {
                return Err(Error::FileTooLarge {
                    path: tree.path_of(i as u32),
                    size: len,
                });
            }
        }
    }
    Ok(())
}
