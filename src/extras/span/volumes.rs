//! Building the volumes: each volume's tree (its entries, parts named `NAME.partKKKofNNN`, the
//! catalog and the volume file), the catalog skeleton, and the final images of the set.

use crate::BLOCK_SIZE_U64;
use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::catalog::hex;
use super::catalog::{Catalog, CatalogEntry, CatalogVolume, EntryKind, Part};
use super::planner::{Planner, Take};
use super::planner::{SpanPlan, SpanVolume};
use super::source::CatalogSource;
use super::{label_for, CATALOG_PATH, FORMAT_LINE, VOLUME_PATH};
use crate::build::builder::ImageBuilder;
use crate::build::tree::{DataId, FileData, NodeId, NodeKind, Source, Tree};
use crate::error::{Error, Result};
use crate::image::Image;
use crate::progress::Progress;

/// Gives a part's number and the file's part count (for its name `NAME.partKKKofNNN`).
pub(super) type PartNames<'a> = &'a dyn Fn(&Take) -> Option<(usize, usize)>;

/// What a volume is made of, with the names its parts get.
pub(super) struct Materialized {
    pub(super) image: Image,
    /// (take index, DataId in the volume) of every take with data.
    pub(super) data_ids: Vec<(usize, DataId)>,
}

impl Planner<'_> {
    /// Builds one volume: the takes' entries (parts named `NAME.partKKKofNNN` when `names`
    /// gives their numbers, else a placeholder of the same or greater length), the catalog
    /// (`catalog`, or zeros of `reserved` blocks) and the volume file.
    pub(super) fn materialize(
        &self,
        takes: &[Take],
        number: u32,
        count: u32,
        reserved: u64,
        names: Option<PartNames<'_>>,
        set: Option<(&Arc<CatalogSource>, &str)>,
    ) -> Result<Materialized> {
        let src = &self.tree;
        let mut opts = self.b.options.clone();
        opts.volume_id = label_for(&self.b.options.volume_id, number, count);
        opts.build_time = Some(self.build_time);
        opts.max_blocks = None;
        if set.is_none() {
            // Planning: without deduplication the size is an upper bound of the final one
            // (dedup only removes data blocks), and no source is read.
            opts.dedup = false;
        }
        let mut vb = ImageBuilder::with_options(opts);
        let t = &mut vb.tree;
        let mut map: HashMap<NodeId, NodeId> = HashMap::from([(0, 0)]);
        let mut data_ids = Vec::new();

        fn copy_meta(src: &Tree, from: NodeId, t: &mut Tree, to: NodeId, suffix: &str) {
            let n = src.node(from);
            let (mtime, posix) = (n.mtime, n.posix.clone());
            t.set_hidden(to, src.is_hidden(from));
            let d = t.node_mut(to);
            d.mtime = mtime;
            d.posix = posix;
            if let Some(raw) = src.raw_names.get(&from) {
                let mut raw = raw.to_vec();
                raw.extend_from_slice(suffix.as_bytes());
                t.raw_names.insert(to, raw.into());
            }
        }
        fn ensure_dir(
            src: &Tree,
            t: &mut Tree,
            map: &mut HashMap<NodeId, NodeId>,
            dir: NodeId,
        ) -> Result<NodeId> {
            if let Some(&d) = map.get(&dir) {
                return Ok(d);
            }
            let parent = ensure_dir(src, t, map, src.node(dir).parent)?;
            let id = t.add_dir_in(parent, &src.node(dir).name)?;
            copy_meta(src, dir, t, id, "");
            map.insert(dir, id);
            Ok(id)
        }

        for (k, take) in takes.iter().enumerate() {
            let item = &self.items[take.item];
            let node = src.node(item.node);
            let parent = ensure_dir(src, t, &mut map, node.parent)?;
            let id = match &node.kind {
                NodeKind::Dir { .. } => ensure_dir(src, t, &mut map, item.node)?,
                NodeKind::File { .. } => {
                    let base = self.bases.get(&take.item).cloned();
                    let whole = take.offset == 0 && take.len == item.len;
                    let (suffix, fd) = match base {
                        Some(base) if !whole => {
                            let suffix = match names.and_then(|f| f(take)) {
                                Some((k, n)) => {
                                    let w = n.to_string().len().max(3);
                                    format!(".part{k:0w$}of{n:0w$}")
                                }
                                None => ".part0000of0000".to_string(),
                            };
                            let fd = match &base.source {
                                // Keep one level: a slice of a slice reads the innermost base.
                                Source::Slice {
                                    base: inner,
                                    offset,
                                } => FileData {
                                    source: Source::Slice {
                                        base: inner.clone(),
                                        offset: offset + take.offset,
                                    },
                                    len: take.len,
                                },
                                _ => FileData {
                                    source: Source::Slice {
                                        base,
                                        offset: take.offset,
                                    },
                                    len: take.len,
                                },
                            };
                            (suffix, fd)
                        }
                        Some(base) => (String::new(), (*base).clone()),
                        None => (
                            String::new(),
                            FileData {
                                source: Source::Bytes(Bytes::new()),
                                len: 0,
                            },
                        ),
                    };
                    let name = format!("{}{suffix}", node.name);
                    let id = t.add_file_in(parent, &name, fd)?;
                    copy_meta(src, item.node, t, id, &suffix);
                    if let NodeKind::File { data } = t.node(id).kind {
                        if take.len > 0 {
                            data_ids.push((k, data));
                        }
                        // Other names of a file stored whole here are hard links here too.
                        if whole {
                            let others = item
                                .data
                                .and_then(|d| self.links.get(&d))
                                .cloned()
                                .unwrap_or_default();
                            for other in others {
                                let p = ensure_dir(src, t, &mut map, src.node(other).parent)?;
                                let l = t.add_link_in(p, &src.node(other).name, data)?;
                                copy_meta(src, other, t, l, "");
                            }
                        }
                    }
                    id
                }
                kind => {
                    let id = t.add_node_in(parent, &node.name, kind.clone())?;
                    copy_meta(src, item.node, t, id, "");
                    id
                }
            };
            if let Some(w) = self.weights.get(&item.node) {
                if *w != 0 {
                    t.weights.insert(id, *w);
                }
            }
        }
        // The set files, placed after everything else.
        let catalog = match set {
            Some((cat, _)) => FileData {
                source: Source::Generated(cat.clone()),
                len: cat.len,
            },
            None => FileData {
                source: Source::Reader(Arc::new(|| {
                    Ok(Box::new(io::repeat(0)) as Box<dyn Read + Send>)
                })),
                len: reserved * BLOCK_SIZE_U64,
            },
        };
        let volume_text = match set {
            Some((_, id)) => format!(
                "{FORMAT_LINE}\nset {id}\nvolume {number} of {count}\nlabel {}\n",
                label_for(&self.b.options.volume_id, number, count)
            ),
            None => String::from("0"),
        };
        t.add_file(CATALOG_PATH, catalog)?;
        t.add_file(
            VOLUME_PATH,
            FileData {
                len: volume_text.len() as u64,
                source: Source::Bytes(Bytes::from(volume_text)),
            },
        )?;
        let image = vb.build(&mut crate::progress::NoProgress)?;
        Ok(Materialized { image, data_ids })
    }

    /// The catalog with zero hashes, block numbers and sizes, and the data to hash per entry.
    pub(super) fn skeleton(&self, vols: &[Vec<Take>]) -> (Catalog, Vec<(usize, FileData)>) {
        let tree = &self.tree;
        // Parts per item, in order.
        let mut parts: HashMap<usize, Vec<(u32, Take)>> = HashMap::new();
        for (v, takes) in vols.iter().enumerate() {
            for t in takes {
                if t.len > 0 {
                    parts.entry(t.item).or_default().push((v as u32 + 1, *t));
                }
            }
        }
        let item_of: HashMap<NodeId, usize> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.node, i))
            .collect();
        let primary: HashMap<DataId, NodeId> = self
            .items
            .iter()
            .filter_map(|it| Some((it.data?, it.node)))
            .collect();
        let mut entries: Vec<(CatalogEntry, Option<usize>)> = Vec::new();
        for (i, n) in tree.nodes.iter().enumerate().skip(1) {
            let id = i as NodeId;
            let path = path_bytes(tree, id);
            let (perm, uid, gid) = match &n.posix {
                Some(p) => (n.mode() & 0o7777, p.uid, p.gid),
                None => (n.mode() & 0o7777, 0, 0),
            };
            let mut entry = CatalogEntry {
                path: path.clone(),
                kind: EntryKind::Dir,
                perm,
                uid,
                gid,
                mtime: n.mtime.unwrap_or(self.build_time),
                parts: Vec::new(),
            };
            let mut item = None;
            match &n.kind {
                NodeKind::Dir { .. } => {}
                NodeKind::File { data } => match primary.get(data) {
                    Some(&p) if p != id => {
                        entry.kind = EntryKind::HardLink {
                            target: path_bytes(tree, p),
                        }
                    }
                    _ => {
                        let size = tree.data[*data as usize].len;
                        entry.kind = EntryKind::File {
                            size,
                            // An empty file's hash is known now; others are computed on read.
                            sha256: if size == 0 {
                                Sha256::digest(b"").into()
                            } else {
                                [0; 32]
                            },
                        };
                        let it = item_of.get(&id).copied();
                        let ps = it.and_then(|i| parts.get(&i)).cloned().unwrap_or_default();
                        let count = ps.len();
                        for (k, (vol, t)) in ps.iter().enumerate() {
                            let mut p = path.clone();
                            if count > 1 {
                                let w = count.to_string().len().max(3);
                                p.extend_from_slice(
                                    format!(".part{:0w$}of{count:0w$}", k + 1).as_bytes(),
                                );
                            }
                            entry.parts.push(Part {
                                volume: *vol,
                                path: p,
                                offset: t.offset,
                                len: t.len,
                                lba: 0,
                                sha256: [0; 32],
                            });
                        }
                        if tree.data[*data as usize].len > 0 {
                            item = it;
                        }
                    }
                },
                NodeKind::Symlink { target } => {
                    entry.kind = EntryKind::Symlink {
                        target: target.to_vec(),
                    }
                }
                NodeKind::Special { kind, rdev } => {
                    let (major, minor) = crate::format::rockridge::rrip::split_rdev(*rdev);
                    entry.kind = EntryKind::Special {
                        kind: *kind,
                        major,
                        minor,
                    }
                }
            }
            entries.push((entry, item));
        }
        entries.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let mut data = Vec::new();
        let mut list = Vec::new();
        for (i, (e, item)) in entries.into_iter().enumerate() {
            if let Some(it) = item {
                if let Some(base) = self.bases.get(&it) {
                    data.push((i, (**base).clone()));
                }
            }
            list.push(e);
        }
        let count = vols.len() as u32;
        let mut catalog = Catalog {
            set_id: "0".repeat(16),
            time: self.build_time.timestamp(),
            volumes: (1..=count)
                .map(|n| CatalogVolume {
                    number: n,
                    blocks: 0,
                    label: label_for(&self.b.options.volume_id, n, count),
                })
                .collect(),
            entries: list,
        };
        // The set identifier: a hash of everything the skeleton says (names, sizes, metadata,
        // the split) and the build time.
        let mut h = Sha256::new();
        h.update(catalog.to_text());
        h.update(self.build_time.to_rfc3339().as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        catalog.set_id = hex(&digest)[..16].to_string();
        (catalog, data)
    }

    /// Builds the final volumes with the real catalog, fills in block numbers and sizes.
    pub(super) fn finish(
        &self,
        vols: Vec<Vec<Take>>,
        mut catalog: Catalog,
        data: Vec<(usize, FileData)>,
        text_len: u64,
        progress: &mut dyn Progress,
    ) -> Result<std::result::Result<SpanPlan, u64>> {
        let source = Arc::new(CatalogSource {
            laid_out: OnceLock::new(),
            data,
            len: text_len,
            content: OnceLock::new(),
        });
        let count = vols.len() as u32;
        // Part numbers per take: (k, n).
        let mut part_no: HashMap<(usize, u64), (usize, usize)> = HashMap::new();
        let mut per_item: HashMap<usize, usize> = HashMap::new();
        for takes in &vols {
            for t in takes {
                if t.len > 0 {
                    *per_item.entry(t.item).or_default() += 1;
                }
            }
        }
        let mut seen: HashMap<usize, usize> = HashMap::new();
        for takes in &vols {
            for t in takes {
                if t.len > 0 {
                    let k = seen.entry(t.item).or_default();
                    *k += 1;
                    part_no.insert((t.item, t.offset), (*k, per_item[&t.item]));
                }
            }
        }
        // Where each entry's parts are in the catalog, by (item, offset).
        let entry_of_path: HashMap<&[u8], usize> = catalog
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.as_slice(), i))
            .collect();
        let mut lbas: Vec<(usize, u64, u64)> = Vec::new(); // (entry, offset, lba)
        let mut volumes = Vec::new();
        let set_id = catalog.set_id.clone();
        for (v, takes) in vols.iter().enumerate() {
            if progress.query_abort() {
                return Err(Error::Aborted);
            }
            let number = v as u32 + 1;
            let names = |t: &Take| part_no.get(&(t.item, t.offset)).copied();
            let m = self.materialize(
                takes,
                number,
                count,
                0,
                Some(&names),
                Some((&source, &set_id)),
            )?;
            let total = m.image.total_blocks();
            if total > self.capacity {
                // Never an over-capacity volume: plan again with this much less room.
                return Ok(Err(total - self.capacity));
            }
            for (k, data) in &m.data_ids {
                let t = takes[*k];
                let path = path_bytes(&self.tree, self.items[t.item].node);
                if let Some(&e) = entry_of_path.get(path.as_slice()) {
                    let lba = m
                        .image
                        .inner
                        .file_lba
                        .get(*data as usize)
                        .copied()
                        .unwrap_or(0);
                    lbas.push((e, t.offset, lba as u64));
                }
            }
            let whole = |t: &&Take| t.offset == 0 && t.len == self.items[t.item].len;
            let with_data = || takes.iter().filter(|t| self.items[t.item].data.is_some());
            let whole_files = with_data().filter(whole).count() as u64;
            let parts = with_data().filter(|t| !whole(t)).count() as u64;
            catalog.volumes[v].blocks = total;
            volumes.push(SpanVolume {
                number,
                label: label_for(&self.b.options.volume_id, number, count),
                image: m.image,
                whole_files,
                parts,
            });
        }
        for (e, offset, lba) in lbas {
            if let Some(p) = catalog.entries[e]
                .parts
                .iter_mut()
                .find(|p| p.offset == offset)
            {
                p.lba = lba;
            }
        }
        let _ = source.laid_out.set(catalog);
        Ok(Ok(SpanPlan {
            set_id,
            capacity_blocks: self.capacity,
            volumes,
            catalog: source,
        }))
    }
}

/// A node's full path as bytes (exact names, also those that are not UTF-8).
pub(super) fn path_bytes(tree: &Tree, id: NodeId) -> Vec<u8> {
    let mut parts = Vec::new();
    let mut cur = id;
    while cur != 0 {
        parts.push(tree.name_bytes(cur));
        cur = tree.node(cur).parent;
    }
    let mut out = Vec::new();
    for p in parts.iter().rev() {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}
