//! A file system's view of the tree: its directories in path-table order (ECMA-119 9.4: by
//! level, then parent number, then identifier), each with its entries named and sorted per the
//! view's rules (ECMA-119 9.3). Used for ISO 9660 and Joliet; identifiers are the on-disk bytes.

use std::cmp::Ordering;

use crate::builder::IsoLevel;
use crate::error::{Error, Result};
use crate::iso9660::{dirrec, names, pathtable};
use crate::progress::Progress;
use crate::tree::{NodeId, NodeKind, Tree};

/// Which view.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ViewKind {
    Iso(IsoLevel),
    Joliet { long: bool },
}

impl ViewKind {
    pub fn label(self) -> &'static str {
        match self {
            ViewKind::Iso(_) => "ISO 9660",
            ViewKind::Joliet { .. } => "Joliet",
        }
    }
    fn cmp(self, a: &[u8], b: &[u8]) -> Ordering {
        match self {
            ViewKind::Iso(IsoLevel::Iso1999) => names::cmp_padded(a, b, b' '),
            ViewKind::Iso(_) => names::cmp_iso_identifiers(a, b),
            // Joliet: the same rule over UCS-2 code units (pad 0x0020); comparing the
            // big-endian byte pairs in order is the same as comparing the units.
            ViewKind::Joliet { .. } => {
                let unit = |s: &[u8], i: usize| {
                    s.get(2 * i..2 * i + 2)
                        .map_or(0x20, |c| u16::from_be_bytes([c[0], c[1]]))
                };
                let n = a.len().max(b.len()).div_ceil(2);
                (0..n)
                    .map(|i| unit(a, i).cmp(&unit(b, i)))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            }
        }
    }
}

/// One entry (not "." or "..") of a view directory.
#[derive(Debug, Clone)]
pub(crate) struct ViewEntry {
    pub node: NodeId,
    pub ident: Box<[u8]>,
    /// For directories, the index of the directory in [`View::dirs`].
    pub dir: Option<u32>,
}

/// One directory of a view.
#[derive(Debug, Clone)]
pub(crate) struct ViewDir {
    pub node: NodeId,
    /// Index of the parent directory (the root is its own parent).
    pub parent: u32,
    /// The path table identifier (the root's is one 0x00 byte).
    pub ident: Box<[u8]>,
    pub entries: Vec<ViewEntry>,
    /// Directory size in bytes (whole sectors).
    pub size: u64,
}

/// A whole view.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub kind: ViewKind,
    pub dirs: Vec<ViewDir>,
    /// Path table size in bytes.
    pub path_table_size: u64,
}

impl View {
    /// Builds the view of `tree`. `warnings` receives renamed (shortened) Joliet names.
    pub fn build(
        tree: &Tree,
        kind: ViewKind,
        progress: &mut dyn Progress,
        warnings: &mut Vec<String>,
    ) -> Result<View> {
        let mut dirs = vec![ViewDir {
            node: 0,
            parent: 0,
            ident: Box::new([0]),
            entries: Vec::new(),
            size: 0,
        }];
        // Path lengths of each directory (ISO 9660 6.8.2.1 limit), root = 0.
        let mut path_len: Vec<usize> = vec![0];
        let mut depth: Vec<usize> = vec![1];
        let iso_limits = matches!(kind, ViewKind::Iso(l) if l != IsoLevel::Iso1999);
        let mut i = 0usize;
        let mut polled = 0usize;
        // Breadth-first over directories: the order of `dirs` is the path table order.
        while i < dirs.len() {
            let node = dirs[i].node;
            let children = tree.node(node).children();
            let names: Vec<(&str, bool)> = children
                .iter()
                .map(|&c| (&*tree.node(c).name, tree.node(c).is_dir()))
                .collect();
            let idents: Vec<Vec<u8>> = match kind {
                ViewKind::Iso(IsoLevel::Iso1999) => {
                    // 1999 names are the user's; report every one that had to change.
                    let ids = names::unique_identifiers(&names, IsoLevel::Iso1999);
                    for ((c, id), (n, _)) in children.iter().zip(&ids).zip(&names) {
                        if id.as_slice() != n.as_bytes() {
                            let new = String::from_utf8_lossy(id);
                            warnings.push(format!(
                                "ISO 9660:1999 name of {} shortened or changed to {new:?}",
                                tree.path_of(*c)
                            ));
                        }
                    }
                    ids
                }
                ViewKind::Iso(level) => names::unique_identifiers(&names, level),
                ViewKind::Joliet { long } => {
                    let (ids, changed) = crate::joliet::unique_identifiers(&names, long);
                    for (c, ch) in children.iter().zip(changed) {
                        if let Some(new) = ch {
                            warnings.push(format!(
                                "Joliet name of {} shortened or changed to {:?}",
                                tree.path_of(*c),
                                new
                            ));
                        }
                    }
                    ids
                }
            };
            let mut entries: Vec<ViewEntry> = children
                .iter()
                .zip(idents)
                .map(|(&c, id)| ViewEntry {
                    node: c,
                    ident: id.into_boxed_slice(),
                    dir: None,
                })
                .collect();
            entries.sort_by(|a, b| kind.cmp(&a.ident, &b.ident));
            for e in &mut entries {
                polled += 1;
                if polled % 1024 == 0 {
                    progress.update(polled as u64, tree.nodes.len() as u64);
                    if progress.query_abort() {
                        return Err(Error::Aborted);
                    }
                }
                // ECMA-119 6.8.2.1: identifiers joined by separators, no leading separator.
                let plen = if i == 0 {
                    e.ident.len()
                } else {
                    path_len[i] + 1 + e.ident.len()
                };
                if iso_limits && plen > 255 {
                    return Err(Error::PathTooLong {
                        path: tree.path_of(e.node),
                        len: plen,
                        level: match kind {
                            ViewKind::Iso(l) => l.label().to_string(),
                            _ => String::new(),
                        },
                    });
                }
                if tree.node(e.node).is_dir() {
                    let d = depth[i] + 1;
                    if iso_limits && d > 8 {
                        return Err(Error::TooDeep {
                            path: tree.path_of(e.node),
                            depth: d,
                            level: match kind {
                                ViewKind::Iso(l) => l.label().to_string(),
                                _ => String::new(),
                            },
                        });
                    }
                    // ECMA-119 9.4.4: the parent directory number is 16 bits, so only the
                    // first 65,535 directories (in path table order) can have subdirectories.
                    if i >= u16::MAX as usize {
                        return Err(Error::InvalidOption(format!(
                            "{}: its parent is directory number {} in the {} path table; at most 65535 directories can have subdirectories (ECMA-119 9.4.4)",
                            tree.path_of(e.node),
                            i + 1,
                            kind.label()
                        )));
                    }
                    let idx = u32::try_from(dirs.len())
                        .map_err(|_| Error::InvalidOption("too many directories".into()))?;
                    e.dir = Some(idx);
                    dirs.push(ViewDir {
                        node: e.node,
                        parent: i as u32,
                        ident: e.ident.clone(),
                        entries: Vec::new(),
                        size: 0,
                    });
                    path_len.push(plen);
                    depth.push(d);
                }
            }
            dirs[i].entries = entries;
            i += 1;
        }
        for d in &mut dirs {
            let recs = [1usize, 1]
                .into_iter()
                .map(|l| dirrec::record_len(l, 0))
                .chain(d.entries.iter().flat_map(|e| {
                    let n = match tree.node(e.node).kind {
                        NodeKind::File { data } => {
                            dirrec::extent_count(tree.data[data as usize].len)
                        }
                        NodeKind::Dir { .. } => 1,
                    };
                    std::iter::repeat(dirrec::record_len(e.ident.len(), 0)).take(n as usize)
                }));
            d.size = dirrec::directory_size(recs);
        }
        let path_table_size = dirs
            .iter()
            .map(|d| pathtable::record_len(d.ident.len()) as u64)
            .sum();
        Ok(View {
            kind,
            dirs,
            path_table_size,
        })
    }
}
