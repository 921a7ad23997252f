//! Importing a session's tree from a base image into a builder.

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{BaseImage, BaseOpener};
use crate::build::base::{BaseFile, Piece};
use crate::build::builder::{FileSystems, ImageBuilder, IsoLevel};
use crate::build::tree::{FileData, NodeId, NodeKind, NodeMeta, Source, SpecialKind};
use crate::error::Result;
use crate::read::{DirEntry, FileType, ImageReader, View};

impl ImageBuilder {
    /// A builder holding the newest session's tree of `base` (see [`import_session`]).
    ///
    /// [`import_session`]: Self::import_session
    pub fn import(base: &BaseImage) -> Result<ImageBuilder> {
        Self::import_session(base, None)
    }

    /// A builder holding the tree of session `n` of `base` (1-based; `None`: the newest), with
    /// the base's file systems (ISO 9660, Joliet, Rock Ridge, UDF; ISO 9660:1999 as the level),
    /// volume identifier, publisher and preparer.
    ///
    /// Names, modes, owners, times, symbolic links, device nodes and hard links come from Rock
    /// Ridge when the image has it, else names from Joliet, else from ISO 9660:1999, else from
    /// ISO 9660; an image without ISO 9660 is imported from UDF. File data is not read: each file
    /// points at its extents on the base (several for multi-extent files, in any order on the
    /// image). Entries added later at the same path replace the imported ones; imported entries
    /// can be removed with [`remove`](Self::remove).
    pub fn import_session(base: &BaseImage, n: Option<u32>) -> Result<ImageBuilder> {
        let mut reader = base.reader(n)?;
        let info = reader.volume_info().clone();
        let views = reader.views();
        let view = [
            View::RockRidge,
            View::Joliet,
            View::Iso1999,
            View::Iso9660,
            View::Udf,
        ]
        .into_iter()
        .find(|v| views.contains(v))
        .unwrap_or(View::Iso9660);
        let mut b = ImageBuilder::new();
        let has = |v: View| views.contains(&v);
        let mut fs = FileSystems::NONE;
        for (v, f) in [
            (View::Iso9660, FileSystems::ISO9660),
            (View::Joliet, FileSystems::JOLIET),
            (View::RockRidge, FileSystems::ROCK_RIDGE),
            (View::Udf, FileSystems::UDF),
        ] {
            if has(v) {
                fs |= f;
            }
        }
        b.options.filesystems = fs;
        if has(View::Iso1999) {
            b.options.level = IsoLevel::Iso1999;
        }
        if !info.volume_id.is_empty() {
            b.options.volume_id = info.volume_id.clone();
        }
        b.options.publisher = info.publisher.clone();
        b.options.preparer = info.preparer.clone();
        let opener = base.session_opener(n)?;
        import_tree(&mut b, &mut reader, view, &opener)?;
        // Embedded checksums (`crate::extras::checksums`) describe the imported tree: they are made
        // again, for the new tree, rather than kept stale.
        let list = b.tree.lookup(crate::extras::checksums::LIST_PATH).ok();
        let own = b.tree.lookup(crate::extras::checksums::SELF_PATH).ok();
        if let (Some(list), Some(own)) = (list, own) {
            b.tree.remove(list)?;
            b.tree.remove(own)?;
            if let Ok(dir) = b.tree.lookup("/CHECKSUM") {
                if b.tree.node(dir).children().is_empty() {
                    b.tree.remove(dir)?;
                }
            }
            b.options.checksums = true;
        }
        Ok(b)
    }

    /// Removes the entry at `image_path` (a directory with everything below it), whether it
    /// was imported or added.
    pub fn remove(&mut self, image_path: &str) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        self.tree.remove(id)?;
        Ok(self)
    }
}

/// Reads the tree of `view` into the builder (see [`ImageBuilder::import_session`]).
fn import_tree<R: Read + Seek>(
    b: &mut ImageBuilder,
    reader: &mut ImageReader<R>,
    view: View,
    opener: &BaseOpener,
) -> Result<()> {
    let root = reader.root(view)?;
    set_meta(b, 0, &root);
    let mut visited = std::collections::HashSet::new();
    let mut links: HashMap<(u32, u64), crate::build::tree::DataId> = HashMap::new();
    let mut stack: Vec<(DirEntry, NodeId)> = vec![(root, 0)];
    while let Some((dir, node)) = stack.pop() {
        if let Some(loc) = dir.location() {
            if !visited.insert(loc) {
                continue;
            }
        }
        for e in reader.read_dir(&dir)? {
            let (name, raw) = match e.rr_name.as_deref().map(std::str::from_utf8) {
                Some(Err(_)) => {
                    let raw = e.rr_name.clone().unwrap_or_default();
                    (crate::build::tree::escape_name(&raw), Some(raw))
                }
                _ => (e.name.clone(), None),
            };
            if name.is_empty() || name == "." || name == ".." || name.contains('/') {
                b.warnings.push(format!(
                    "imported entry {name:?} has an unusable name; skipped"
                ));
                continue;
            }
            if b.tree.child(node, &name).is_some() {
                // Two records of one name (versions, or a damaged directory): the first wins.
                b.warnings.push(format!(
                    "imported directory {} has two entries named {name:?}; the second is skipped",
                    b.tree.path_of(node)
                ));
                continue;
            }
            let ftype = e.posix.as_ref().map(|p| p.file_type());
            let id = if e.is_dir {
                let id = b.tree.add_dir_in(node, &name)?;
                stack.push((e.clone(), id));
                id
            } else if let Some(target) = e.posix.as_ref().and_then(|p| p.symlink.clone()) {
                b.tree.add_node_in(
                    node,
                    &name,
                    NodeKind::Symlink {
                        target: Box::new(target),
                    },
                )?
            } else if let Some(kind) = ftype.and_then(special_kind) {
                let (ma, mi) = e.posix.as_ref().and_then(|p| p.rdev).unwrap_or((0, 0));
                b.tree.add_node_in(
                    node,
                    &name,
                    NodeKind::Special {
                        kind,
                        rdev: crate::format::rockridge::rrip::make_rdev(ma, mi),
                    },
                )?
            } else {
                // Hard links: Rock Ridge serial numbers (PX, RRIP 1.12) or UDF file entries.
                let key = match (&e.posix, &e.udf) {
                    (Some(p), _) if p.nlink > 1 => p.serial.map(|s| (0, u64::from(s))),
                    (_, Some(u)) => Some((1, u64::from(u.icb_sector()))),
                    _ => None,
                };
                match key.and_then(|k| links.get(&k).copied()) {
                    Some(data) => b.tree.add_link_in(node, &name, data)?,
                    None => {
                        let source = match reader.file_pieces(&e)? {
                            Err(bytes) => Source::Bytes(bytes.into()),
                            Ok(pieces) => Source::Base {
                                file: Arc::new(BaseFile {
                                    pieces: pieces
                                        .iter()
                                        .map(|(x, hole)| Piece {
                                            lba: x.lba,
                                            len: x.len,
                                            hole: *hole,
                                        })
                                        .collect(),
                                    opener: opener.clone(),
                                }),
                                in_place: false,
                            },
                        };
                        let id = b.tree.add_file_in(
                            node,
                            &name,
                            FileData {
                                source,
                                len: e.size,
                            },
                        )?;
                        if let (Some(k), NodeKind::File { data }) = (key, &b.tree.node(id).kind) {
                            links.insert(k, *data);
                        }
                        id
                    }
                }
            };
            if let Some(raw) = raw {
                b.tree.raw_names.insert(id, raw.into());
            }
            set_meta(b, id, &e);
            b.tree.imported.insert(id);
        }
    }
    Ok(())
}

fn special_kind(t: FileType) -> Option<SpecialKind> {
    match t {
        FileType::CharDevice => Some(SpecialKind::CharDevice),
        FileType::BlockDevice => Some(SpecialKind::BlockDevice),
        FileType::Fifo => Some(SpecialKind::Fifo),
        FileType::Socket => Some(SpecialKind::Socket),
        _ => None,
    }
}

/// Copies an imported entry's time, hidden flag and POSIX attributes to node `id`.
fn set_meta(b: &mut ImageBuilder, id: NodeId, e: &DirEntry) {
    let utc = |t: DateTime<chrono::FixedOffset>| t.with_timezone(&Utc);
    b.tree.set_hidden(id, id != 0 && e.hidden);
    let n = b.tree.node_mut(id);
    n.mtime = e.mtime.map(utc);
    if let Some(p) = &e.posix {
        n.posix = Some(std::sync::Arc::new(NodeMeta {
            perm: p.mode & 0o7777,
            uid: p.uid,
            gid: p.gid,
            atime: p.atime.map(utc),
            ctime: p.ctime.map(utc),
            crtime: p.crtime.map(utc),
            ..NodeMeta::default()
        }));
    }
}
