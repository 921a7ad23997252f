//! A file system's view of the tree: its directories in path-table order (ECMA-119 9.4: by
//! level, then parent number, then identifier), each with its entries named and sorted per the
//! view's rules (ECMA-119 9.3). Used for ISO 9660 (with or without Rock Ridge) and Joliet;
//! identifiers are the on-disk bytes.
//!
//! With Rock Ridge, directories deeper than ISO 9660 allows are relocated (RRIP 4.1.5) into a
//! relocation directory, and every record's system use entries are sized here: what does not fit
//! in a record goes to continuation areas in a pool laid out after the directories.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::build::builder::IsoLevel;
use crate::build::tree::{DataId, Node, NodeId, NodeKind, SpecialKind, Tree};
use crate::error::{Error, Result};
use crate::format::iso9660::{dirrec, names, pathtable};
use crate::format::rockridge::rrip::{self, NodeFacts};
use crate::format::rockridge::{self, RockRidgeOptions};
use crate::progress::Progress;
use crate::warning::{Warning, WarningKind};

/// Which view.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TreeKind {
    Iso(IsoLevel),
    /// `long`: names of up to 103 units; `long_paths`: paths longer than [`JOLIET_MAX_PATH`]
    /// kept.
    Joliet {
        long: bool,
        long_paths: bool,
        /// Characters outside the BMP as UTF-16 surrogate pairs (else `_`).
        utf16: bool,
    },
}

/// Joliet specification: a path (identifiers and separators from the root, as ECMA-119
/// 6.8.2.1 counts it) of at most 240 characters (UCS-2 units here).
pub(crate) const JOLIET_MAX_PATH: usize = 240;

impl TreeKind {
    pub fn label(self) -> &'static str {
        match self {
            TreeKind::Iso(_) => "ISO 9660",
            TreeKind::Joliet { .. } => "Joliet",
        }
    }
    fn cmp(self, a: &[u8], b: &[u8]) -> Ordering {
        match self {
            TreeKind::Iso(IsoLevel::Iso1999) => names::cmp_padded(a, b, b' '),
            TreeKind::Iso(_) => names::cmp_iso_identifiers(a, b),
            // Joliet: the same rule over UCS-2 code units (pad 0x0020); comparing the
            // big-endian byte pairs in order is the same as comparing the units.
            TreeKind::Joliet { .. } => {
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

/// Where a record's system use entries went: `len` bytes in the record, and `areas`
/// continuation areas (which ones: [`RrPlan::first_area`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SuRef {
    pub len: u16,
    pub areas: u16,
}

/// One entry (not "." or "..") of a view directory (12 bytes: there is one per file and
/// view). Its identifier is in its directory's [`TreeDir::names`] ([`TreeDir::ident`]); the
/// index of a subdirectory in [`DirTree::dirs`] follows from its rank
/// ([`TreeDir::entries_with_dirs`]).
#[derive(Debug, Clone)]
pub(crate) struct TreeEntry {
    pub node: NodeId,
    /// Where the identifier starts in [`TreeDir::names`] (the low [`AT_BITS`] bits), and the
    /// flags [`SUBDIR`], [`PLACEHOLDER`], [`RELOCATED`].
    at_flags: u32,
    /// [`SuRef::areas`].
    su_areas: u16,
    /// [`SuRef::len`]: at most 255 - 34 (ECMA-119 9.1: a record is at most 255 bytes).
    su_len: u8,
    /// The identifier's length in bytes (ECMA-119 9.1.10: one byte).
    pub ident_len: u8,
}

const _: () = assert!(std::mem::size_of::<TreeEntry>() == 12);

/// Bits of [`TreeEntry::at_flags`] holding the identifier's offset.
const AT_BITS: u32 = 28;
/// Joliet: the identifier is the tree name's UCS-2 (not stored in [`TreeDir::names`]).
const FROM_TREE: u32 = 1 << 28;
/// A directory of the view (not a placeholder).
const SUBDIR: u32 = 1 << 29;
/// Rock Ridge: the placeholder of relocated directory `node` (RRIP `CL`).
const PLACEHOLDER: u32 = 1 << 30;
/// Rock Ridge: a relocated directory inside the relocation directory (RRIP `RE`).
const RELOCATED: u32 = 1 << 31;

impl TreeEntry {
    fn ident_at(&self) -> usize {
        (self.at_flags & ((1 << AT_BITS) - 1)) as usize
    }
    fn subdir(&self) -> bool {
        self.at_flags & SUBDIR != 0
    }
    /// Rock Ridge: this record is the placeholder of relocated directory `node` (RRIP `CL`).
    pub fn placeholder(&self) -> bool {
        self.at_flags & PLACEHOLDER != 0
    }
    /// Rock Ridge: this is a relocated directory inside the relocation directory (RRIP `RE`).
    pub fn relocated(&self) -> bool {
        self.at_flags & RELOCATED != 0
    }
    /// Where the record's system use entries went.
    pub fn su(&self) -> SuRef {
        SuRef {
            len: u16::from(self.su_len),
            areas: self.su_areas,
        }
    }
    fn set_su(&mut self, su: SuRef) {
        debug_assert!(su.len <= u16::from(u8::MAX));
        self.su_len = u8::try_from(su.len).unwrap_or(u8::MAX);
        self.su_areas = su.areas;
    }
}

/// One directory of a view.
#[derive(Debug, Clone)]
pub(crate) struct TreeDir {
    pub node: NodeId,
    /// Index of the parent directory (the root is its own parent).
    pub parent: u32,
    /// Rock Ridge: for a relocated directory, its original parent (RRIP `PL`).
    pub rr_parent: Option<u32>,
    /// The path table identifier (the root's is one 0x00 byte).
    pub ident: crate::build::compact::SmallBytes,
    pub entries: Vec<TreeEntry>,
    /// The entries' identifiers, one after the other in entry order (one allocation per
    /// directory rather than one per name). When `narrow`, Joliet identifiers are stored one
    /// byte per UCS-2 unit (all their units are below 256).
    pub names: Vec<u8>,
    pub narrow: bool,
    /// The index in [`DirTree::dirs`] of the first subdirectory; the others follow it, in entry
    /// order (the path table order is breadth-first).
    pub first_subdir: u32,
    /// Directory size in bytes (whole sectors).
    pub size: u64,
    pub dot_su: SuRef,
    pub dotdot_su: SuRef,
}

impl TreeDir {
    /// The entries, each with its index in [`DirTree::dirs`] when it is a directory of the view.
    pub fn entries_with_dirs(&self) -> impl Iterator<Item = (&TreeEntry, Option<u32>)> {
        let mut next = self.first_subdir;
        self.entries.iter().map(move |e| {
            let dir = e.subdir().then(|| {
                next += 1;
                next - 1
            });
            (e, dir)
        })
    }
    /// The identifier of entry `e` of this directory (`tree`: the view's).
    pub fn ident(&self, tree: &Tree, e: &TreeEntry) -> Cow<'_, [u8]> {
        entry_ident(&self.names, self.narrow, tree, e)
    }
    /// [`ident`](Self::ident), built in `buf` when it is not stored as it is (no allocation
    /// per record while a directory is rendered).
    pub fn ident_in<'b>(&'b self, tree: &Tree, e: &TreeEntry, buf: &'b mut Vec<u8>) -> &'b [u8] {
        let at = e.ident_at();
        if e.at_flags & FROM_TREE != 0 {
            buf.clear();
            for u in tree.node(e.node).name.encode_utf16() {
                buf.extend_from_slice(&u.to_be_bytes());
            }
            buf
        } else if self.narrow {
            let units = e.ident_len as usize / 2;
            let bytes = self.names.get(at..at + units).unwrap_or_default();
            buf.clear();
            buf.extend(bytes.iter().flat_map(|&b| [0, b]));
            buf
        } else {
            self.names
                .get(at..at + e.ident_len as usize)
                .unwrap_or_default()
        }
    }
}

/// The identifier of entry `e` whose directory's names are `names`.
fn entry_ident<'a>(names: &'a [u8], narrow: bool, tree: &Tree, e: &TreeEntry) -> Cow<'a, [u8]> {
    let at = e.ident_at();
    if e.at_flags & FROM_TREE != 0 {
        Cow::Owned(crate::codec::text::ucs2_be(&tree.node(e.node).name))
    } else if narrow {
        let units = e.ident_len as usize / 2;
        let bytes = names.get(at..at + units).unwrap_or_default();
        Cow::Owned(bytes.iter().flat_map(|&b| [0, b]).collect())
    } else {
        Cow::Borrowed(names.get(at..at + e.ident_len as usize).unwrap_or_default())
    }
}

/// Which record of a directory (ordered as they are written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RecRef {
    Dot,
    DotDot,
    Entry(u32),
}

/// One continuation area in the pool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Area {
    /// Byte offset in the pool (an area never crosses a block boundary). The pool is a
    /// numbering only: its blocks are laid out per directory (see [`RrPlan::dir_pool`]).
    pub offset: u64,
    pub len: u16,
}

/// Rock Ridge data of the ISO 9660 view.
#[derive(Debug, Clone)]
pub(crate) struct RrPlan {
    pub opts: RockRidgeOptions,
    pub areas: Vec<Area>,
    /// Records owning continuation areas, in pool order (so by directory and record), with
    /// the first of their areas.
    pub owners: Vec<(u32, RecRef, u32)>,
    pub pool_bytes: u64,
    /// For each view directory, the pool blocks holding the continuation areas of its
    /// records: (first block, block count). Each directory's areas start on a block of their
    /// own, so they can be laid out right after the directory (streaming readers such as
    /// libarchive read them there, before they meet the directory's subdirectories).
    pub dir_pool: Vec<(u64, u64)>,
    /// Link count and serial number of every node.
    pub facts: FactsTable,
    /// DirTree directory index of each relocated directory node.
    pub dir_of_node: HashMap<NodeId, u32>,
}

impl RrPlan {
    /// The first continuation area of record `rec` of directory `dir` (which has some).
    pub fn first_area(&self, dir: u32, rec: RecRef) -> Option<usize> {
        let k = self
            .owners
            .binary_search_by(|&(d, r, _)| (d, r).cmp(&(dir, rec)))
            .ok()?;
        self.owners.get(k).map(|o| o.2 as usize)
    }
}

/// A whole view.
#[derive(Debug, Clone)]
pub(crate) struct DirTree {
    pub kind: TreeKind,
    pub dirs: Vec<TreeDir>,
    /// Path table size in bytes.
    pub path_table_size: u64,
    pub rr: Option<RrPlan>,
}

/// Rock Ridge inputs of the ISO 9660 view.
pub(crate) struct RrInput<'a> {
    pub opts: &'a RockRidgeOptions,
    /// The relocation directory node (synthetic) and the nodes relocated into it.
    pub relocation: Option<(NodeId, Vec<NodeId>)>,
    pub facts: FactsTable,
    pub build_time: chrono::DateTime<chrono::Utc>,
}

/// How many entries the view would show below `node` (none for a file).
fn count_below(
    tree: &Tree,
    node: NodeId,
    shown: &dyn Fn(NodeId) -> bool,
    ticker: &mut Ticker<'_>,
) -> Result<u64> {
    let mut n = 0u64;
    let mut stack = vec![node];
    while let Some(d) = stack.pop() {
        for &c in tree.node(d).children() {
            ticker.tick()?;
            if shown(c) {
                n += 1;
                if tree.node(c).is_dir() {
                    stack.push(c);
                }
            }
        }
    }
    Ok(n)
}

/// Polls for an abort while a layout works: [`tick`](Self::tick) once per unit of work (an
/// entry named, compared into place, sized), `query_abort` every [`POLL_EVERY`] units. A unit
/// takes microseconds, so polls come well under 10 ms apart however large one directory is.
pub(crate) struct Ticker<'p> {
    pub progress: &'p mut dyn Progress,
    units: u32,
}

/// Units of work between two polls.
pub(crate) const POLL_EVERY: u32 = 256;

impl<'p> Ticker<'p> {
    pub fn new(progress: &'p mut dyn Progress) -> Self {
        Ticker { progress, units: 0 }
    }
    /// One unit of work done; `Err(Aborted)` once the progress asks to stop.
    pub fn tick(&mut self) -> Result<()> {
        self.units += 1;
        if self.units >= POLL_EVERY {
            self.units = 0;
            if self.progress.query_abort() {
                return Err(Error::Aborted);
            }
        }
        Ok(())
    }
}

fn level_label(kind: TreeKind) -> String {
    match kind {
        TreeKind::Iso(l) => l.label().to_string(),
        _ => String::new(),
    }
}

impl DirTree {
    /// Builds the view of `tree`. `warnings` receives renamed (shortened) names.
    pub fn build(
        tree: &Tree,
        kind: TreeKind,
        rr: Option<RrInput<'_>>,
        progress: &mut dyn Progress,
        warnings: &mut Vec<Warning>,
    ) -> Result<DirTree> {
        let joliet = matches!(kind, TreeKind::Joliet { .. });
        // Which nodes this view shows: symlinks and special files only with Rock Ridge, the
        // relocation directory only in the ISO 9660 view.
        let shown = |id: NodeId| {
            let n = tree.node(id);
            // mkisofs -hide / -hide-joliet (the data stays in the image).
            let mask = if joliet {
                crate::build::tree::OUT_OF_JOLIET
            } else {
                crate::build::tree::OUT_OF_ISO
            };
            if tree.left_out_of(id) & mask != 0 {
                return false;
            }
            match n.kind {
                NodeKind::Dir { .. } | NodeKind::File { .. } => !(joliet && tree.is_synthetic(id)),
                NodeKind::Symlink { .. } | NodeKind::Special { .. } => rr.is_some(),
            }
        };
        let (reloc_dir, moved): (Option<NodeId>, HashSet<NodeId>) =
            match rr.as_ref().and_then(|r| r.relocation.as_ref()) {
                Some((d, list)) => (Some(*d), list.iter().copied().collect()),
                None => (None, HashSet::new()),
            };
        let reloc_list: Vec<NodeId> = rr
            .as_ref()
            .and_then(|r| r.relocation.as_ref())
            .map(|(_, l)| l.clone())
            .unwrap_or_default();

        let empty_su = SuRef::default();
        let mut dirs = vec![TreeDir {
            node: 0,
            parent: 0,
            rr_parent: None,
            ident: crate::build::compact::SmallBytes::new(&[0]),
            entries: Vec::new(),
            names: Vec::new(),
            narrow: false,
            first_subdir: 0,
            size: 0,
            dot_su: empty_su,
            dotdot_su: empty_su,
        }];
        // Path lengths (ECMA-119 6.8.2.1) and levels of each directory; the root is level 1.
        let mut path_len: Vec<usize> = vec![0];
        let mut depth: Vec<usize> = vec![1];
        let iso_limits = matches!(kind, TreeKind::Iso(l) if l != IsoLevel::Iso1999);
        let mut i = 0usize;
        let mut polled = 0usize;
        let mut ticker = Ticker::new(progress);
        // Breadth-first over directories: the order of `dirs` is the path table order.
        while i < dirs.len() {
            let node = dirs[i].node;
            let children: Vec<NodeId> = if Some(node) == reloc_dir {
                reloc_list.clone()
            } else {
                let mut v = Vec::with_capacity(tree.node(node).children().len());
                for &c in tree.node(node).children() {
                    ticker.tick()?;
                    if shown(c) {
                        v.push(c);
                    }
                }
                v
            };
            // Names that are not UTF-8 start from their Latin-1 reading (`Tree::view_name`;
            // Rock Ridge NM keeps the exact bytes).
            let view_names: Vec<std::borrow::Cow<'_, str>> =
                children.iter().map(|&c| tree.view_name(c)).collect();
            let names: Vec<(&str, bool)> = children
                .iter()
                .zip(&view_names)
                .map(|(&c, n)| (&**n, tree.node(c).is_dir()))
                .collect();
            // Joliet: which identifiers are the tree name's UCS-2 (not stored again).
            let mut from_tree = vec![false; children.len()];
            let idents: Vec<Vec<u8>> = match kind {
                TreeKind::Iso(IsoLevel::Iso1999) => {
                    // 1999 names are the user's; report every one that had to change.
                    let ids = names::unique_identifiers(&names, IsoLevel::Iso1999, &mut || {
                        ticker.tick()
                    })?;
                    for ((c, id), (n, _)) in children.iter().zip(&ids).zip(&names) {
                        if id.as_slice() != n.as_bytes() {
                            let new = String::from_utf8_lossy(id);
                            let path = tree.shown_path(*c);
                            warnings.push(Warning::new(
                                WarningKind::Iso1999NameChanged,
                                Some(path.clone()),
                                format!(
                                    "ISO 9660:1999 name of {path} shortened or changed to {new:?}"
                                ),
                            ));
                        }
                    }
                    ids
                }
                TreeKind::Iso(level) => {
                    let ids = names::unique_identifiers(&names, level, &mut || ticker.tick())?;
                    // Without Rock Ridge, these identifiers are the names readers show: report
                    // every one that is more than the name upper-cased with its version
                    // (ECMA-119 7.5.1: d-characters; 9.1.11: `;1`; 7.5.1: the separator `.`
                    // a file identifier always holds).
                    if rr.is_none() {
                        for ((c, id), (n, is_dir)) in children.iter().zip(&ids).zip(&names) {
                            ticker.tick()?;
                            if names::iso_name_changed(n, *is_dir, id) {
                                let path = tree.shown_path(*c);
                                warnings.push(Warning::new(
                                    WarningKind::IsoNameChanged,
                                    Some(path.clone()),
                                    format!(
                                        "ISO 9660 name of {path} shortened or changed to {:?}",
                                        String::from_utf8_lossy(id)
                                    ),
                                ));
                            }
                        }
                    }
                    ids
                }
                TreeKind::Joliet { long, utf16, .. } => {
                    let (ids, changed) = crate::format::joliet::unique_identifiers_with(
                        &names,
                        long,
                        utf16,
                        &mut || ticker.tick(),
                    )?;
                    for ((c, ch), same) in children.iter().zip(changed).zip(&mut from_tree) {
                        // A name that is not UTF-8 is stored: the tree name is its escape.
                        *same = ch.is_none()
                            && (tree.raw_names.is_empty() || !tree.raw_names.contains_key(c));
                        if let Some(new) = ch {
                            let path = tree.shown_path(*c);
                            warnings.push(Warning::new(
                                WarningKind::JolietNameChanged,
                                Some(path.clone()),
                                format!("Joliet name of {path} shortened or changed to {new:?}"),
                            ));
                        }
                    }
                    ids
                }
            };
            let in_reloc_dir = Some(node) == reloc_dir;
            let mut named: Vec<(NodeId, Vec<u8>, bool)> = children
                .iter()
                .zip(idents)
                .zip(from_tree)
                .map(|((&c, id), same)| (c, id, same))
                .collect();
            if let TreeKind::Joliet {
                long_paths: false, ..
            } = kind
            {
                // Entries whose Joliet path is too long stay out of the Joliet tree, with
                // everything below them (reported once, at the topmost).
                let parent_len = if i == 0 { 0 } else { path_len[i] + 1 };
                let mut kept = Vec::with_capacity(named.len());
                for entry in named {
                    ticker.tick()?;
                    let units = parent_len + entry.1.len() / 2;
                    if units <= JOLIET_MAX_PATH {
                        kept.push(entry);
                        continue;
                    }
                    let below = count_below(tree, entry.0, &shown, &mut ticker)?;
                    let path = tree.path_of(entry.0);
                    warnings.push(Warning::new(
                        WarningKind::JolietPathTooLong,
                        Some(path.clone()),
                        format!("Joliet path of {path} is {units} characters, longer than Joliet's {JOLIET_MAX_PATH}: left out of the Joliet tree{} (it stays in the other file systems; --joliet-long-paths keeps it)",
                        match below {
                            0 => String::new(),
                            1 => " with the entry below it".to_string(),
                            n => format!(" with the {n} entries below it"),
                        }),
                    ));
                }
                named = kept;
            }
            let named =
                names::sort_polled(named, |a, b| kind.cmp(&a.1, &b.1), &mut || ticker.tick())?;
            // Joliet names of Latin-1 characters are kept one byte per unit (half the memory).
            let stored = || named.iter().filter(|(_, _, same)| !same);
            let narrow = joliet
                && stored()
                    .all(|(_, id, _)| id.len() % 2 == 0 && id.iter().step_by(2).all(|&b| b == 0));
            let size: usize = stored().map(|(_, id, _)| id.len()).sum();
            let mut names = Vec::with_capacity(if narrow { size / 2 } else { size });
            let mut entries = Vec::with_capacity(named.len());
            for (c, id, same) in named {
                ticker.tick()?;
                let too_long = || {
                    Error::InvalidOption(format!(
                        "{}: identifier too long or directory too large",
                        tree.path_of(c)
                    ))
                };
                let at = u32::try_from(names.len())
                    .ok()
                    .filter(|&a| a < 1 << AT_BITS)
                    .ok_or_else(too_long)?;
                let placeholder = !in_reloc_dir && moved.contains(&c);
                let relocated = in_reloc_dir || Some(c) == reloc_dir;
                entries.push(TreeEntry {
                    node: c,
                    at_flags: at
                        | if placeholder { PLACEHOLDER } else { 0 }
                        | if relocated { RELOCATED } else { 0 }
                        | if same { FROM_TREE } else { 0 },
                    su_areas: 0,
                    su_len: 0,
                    ident_len: u8::try_from(id.len()).map_err(|_| too_long())?,
                });
                if same {
                    // Rendered from the tree name when needed.
                } else if narrow {
                    names.extend(id.iter().skip(1).step_by(2));
                } else {
                    names.extend_from_slice(&id);
                }
            }
            for e in &mut entries {
                polled += 1;
                if polled % 1024 == 0 {
                    ticker
                        .progress
                        .update(polled as u64, tree.nodes.len() as u64);
                }
                ticker.tick()?;
                // ECMA-119 6.8.2.1: identifiers joined by separators, no leading separator
                // (Joliet: counted in UCS-2 units).
                let ident_len = if joliet {
                    e.ident_len as usize / 2
                } else {
                    e.ident_len as usize
                };
                let plen = if i == 0 {
                    ident_len
                } else {
                    path_len[i] + 1 + ident_len
                };
                // With Rock Ridge, readers take names from NM: mkisofs and libisofs do not limit the
                // ISO 9660 path then, and neither do we.
                if iso_limits && rr.is_none() && plen > 255 {
                    return Err(Error::PathTooLong {
                        path: tree.path_of(e.node),
                        len: plen,
                        level: level_label(kind),
                    });
                }
                if tree.node(e.node).is_dir() && !e.placeholder() {
                    let d = depth[i] + 1;
                    if iso_limits && d > 8 {
                        return Err(Error::TooDeep {
                            path: tree.path_of(e.node),
                            depth: d,
                            level: level_label(kind),
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
                    e.at_flags |= SUBDIR;
                    if dirs[i].first_subdir == 0 {
                        dirs[i].first_subdir = idx;
                    }
                    let ident = (*entry_ident(&names, narrow, tree, e)).into();
                    dirs.push(TreeDir {
                        node: e.node,
                        parent: i as u32,
                        rr_parent: None,
                        ident,
                        entries: Vec::new(),
                        names: Vec::new(),
                        narrow: false,
                        first_subdir: 0,
                        size: 0,
                        dot_su: empty_su,
                        dotdot_su: empty_su,
                    });
                    path_len.push(plen);
                    depth.push(d);
                }
            }
            dirs[i].entries = entries;
            dirs[i].names = names;
            dirs[i].narrow = narrow;
            i += 1;
        }

        let rr_view = match rr {
            Some(input) => Some(Self::plan_rock_ridge(tree, &mut dirs, input, &mut ticker)?),
            None => None,
        };

        for d in &mut dirs {
            ticker.tick()?;
            let su_len = |s: &SuRef| s.len as usize;
            let recs = [(1usize, su_len(&d.dot_su)), (1, su_len(&d.dotdot_su))]
                .into_iter()
                .map(|(l, s)| dirrec::record_len(l, s))
                .chain(d.entries.iter().flat_map(|e| {
                    let n = match tree.node(e.node).kind {
                        NodeKind::File { data } => match tree.record_extents(data) {
                            Some(pieces) => pieces.len() as u64,
                            None => dirrec::extent_count(tree.data[data as usize].len),
                        },
                        _ => 1,
                    };
                    std::iter::repeat_n(
                        dirrec::record_len(e.ident_len as usize, e.su().len as usize),
                        n as usize,
                    )
                }));
            d.size = dirrec::directory_size(recs);
        }
        let path_table_size = dirs
            .iter()
            .map(|d| pathtable::record_len(d.ident.len()) as u64)
            .sum();
        Ok(DirTree {
            kind,
            dirs,
            path_table_size,
            rr: rr_view,
        })
    }

    /// Sizes every record's Rock Ridge entries and lays out the continuation-area pool, each
    /// directory's areas in blocks of their own.
    fn plan_rock_ridge(
        tree: &Tree,
        dirs: &mut [TreeDir],
        input: RrInput<'_>,
        ticker: &mut Ticker<'_>,
    ) -> Result<RrPlan> {
        let mut dir_of_node: HashMap<NodeId, u32> = HashMap::new();
        let moved: HashSet<NodeId> = input
            .relocation
            .as_ref()
            .map(|(_, l)| l.iter().copied().collect())
            .unwrap_or_default();
        let mut index_of: HashMap<NodeId, u32> = HashMap::new();
        for (i, d) in dirs.iter().enumerate() {
            index_of.insert(d.node, i as u32);
            if moved.contains(&d.node) {
                dir_of_node.insert(d.node, i as u32);
            }
        }
        // RRIP 4.1.5.2: a relocated directory's ".." carries PL, its original parent.
        for d in dirs.iter_mut() {
            if moved.contains(&d.node) {
                d.rr_parent = index_of.get(&tree.node(d.node).parent).copied();
            }
        }
        let mut rv = RrPlan {
            opts: input.opts.clone(),
            areas: Vec::new(),
            owners: Vec::new(),
            pool_bytes: 0,
            dir_pool: Vec::with_capacity(dirs.len()),
            facts: input.facts,
            dir_of_node,
        };
        let ctx = RrCtx {
            opts: input.opts,
            build_time: input.build_time,
        };
        let bs = crate::BLOCK_SIZE_U64;
        let mut offset = 0u64;
        let mut sizes: Vec<usize> = Vec::new();
        for di in 0..dirs.len() {
            offset = offset.div_ceil(bs) * bs;
            let first_block = offset / bs;
            let n_entries = dirs[di].entries.len();
            let recs = [RecRef::Dot, RecRef::DotDot]
                .into_iter()
                .chain((0..n_entries as u32).map(RecRef::Entry));
            for rec in recs {
                ticker.tick()?;
                record_entry_sizes(tree, dirs, &rv, &ctx, di as u32, rec, &mut sizes);
                let ident_len = match rec {
                    RecRef::Entry(k) => dirs[di].entries[k as usize].ident_len as usize,
                    _ => 1,
                };
                let avail = 255 - dirrec::record_len(ident_len, 0);
                let split = rockridge::split(&sizes, avail);
                let first_area = rv.areas.len() as u32;
                let mut su = SuRef {
                    len: split.record_bytes(&sizes) as u16,
                    areas: 0,
                };
                for k in 0..split.areas.len() {
                    let len = split.area_bytes(&sizes, k) as u64;
                    if offset % bs + len > bs {
                        offset = offset.div_ceil(bs) * bs;
                    }
                    rv.areas.push(Area {
                        offset,
                        len: len as u16,
                    });
                    offset += len;
                    su.areas += 1;
                }
                if su.areas > 0 {
                    rv.owners.push((di as u32, rec, first_area));
                }
                let d = &mut dirs[di];
                match rec {
                    RecRef::Dot => d.dot_su = su,
                    RecRef::DotDot => d.dotdot_su = su,
                    RecRef::Entry(k) => d.entries[k as usize].set_su(su),
                }
            }
            rv.dir_pool
                .push((first_block, offset.div_ceil(bs) - first_block));
        }
        rv.pool_bytes = offset.div_ceil(bs) * bs;
        Ok(rv)
    }
}

/// The sizes of the Rock Ridge entries of one record (what [`record_entries`] would return,
/// without building them: block numbers do not change sizes), into `out`.
fn record_entry_sizes(
    tree: &Tree,
    dirs: &[TreeDir],
    rv: &RrPlan,
    ctx: &RrCtx<'_>,
    dir: u32,
    rec: RecRef,
    out: &mut Vec<usize>,
) {
    let d = &dirs[dir as usize];
    match rec {
        RecRef::Dot => rrip::entry_sizes(
            ctx.opts,
            &ctx.subject(tree.node(d.node)),
            None,
            rrip::Role::Dot { root: dir == 0 },
            out,
        ),
        RecRef::DotDot => {
            let (pnode, pl) = match d.rr_parent {
                Some(p) => (dirs[p as usize].node, Some(0)),
                None => (dirs[d.parent as usize].node, None),
            };
            rrip::entry_sizes(
                ctx.opts,
                &ctx.subject(tree.node(pnode)),
                None,
                rrip::Role::DotDot { pl },
                out,
            )
        }
        RecRef::Entry(k) => {
            let e = &d.entries[k as usize];
            let cl = if e.placeholder() {
                rv.dir_of_node.get(&e.node).map(|_| 0)
            } else {
                None
            };
            rrip::entry_sizes(
                ctx.opts,
                &ctx.subject(tree.node(e.node)),
                Some(tree.name_bytes(e.node)),
                rrip::Role::Entry {
                    cl,
                    re: e.relocated(),
                },
                out,
            )
        }
    }
}

/// The Rock Ridge entries of one record. `lba` gives a view directory's block (0 while
/// planning: entry sizes never depend on it).
pub(crate) fn record_entries(
    tree: &Tree,
    dirs: &[TreeDir],
    rv: &RrPlan,
    ctx: &RrCtx<'_>,
    dir: u32,
    rec: RecRef,
    lba: impl Fn(u32) -> u32,
) -> Vec<Vec<u8>> {
    let d = &dirs[dir as usize];
    let facts = |n: NodeId| rv.facts.get(tree, n);
    match rec {
        RecRef::Dot => rrip::entries(
            ctx.opts,
            &ctx.subject(tree.node(d.node)),
            facts(d.node),
            None,
            rrip::Role::Dot { root: dir == 0 },
        ),
        RecRef::DotDot => {
            let (pnode, pl) = match d.rr_parent {
                Some(p) => (dirs[p as usize].node, Some(lba(p))),
                None => (dirs[d.parent as usize].node, None),
            };
            rrip::entries(
                ctx.opts,
                &ctx.subject(tree.node(pnode)),
                facts(pnode),
                None,
                rrip::Role::DotDot { pl },
            )
        }
        RecRef::Entry(k) => {
            let e = &d.entries[k as usize];
            let cl = if e.placeholder() {
                rv.dir_of_node.get(&e.node).map(|&t| lba(t))
            } else {
                None
            };
            rrip::entries(
                ctx.opts,
                &ctx.subject(tree.node(e.node)),
                facts(e.node),
                Some(tree.name_bytes(e.node)),
                rrip::Role::Entry {
                    cl,
                    re: e.relocated(),
                },
            )
        }
    }
}

/// What the Rock Ridge entries of the ISO 9660 tree's records need from the layout.
pub(crate) struct RrCtx<'a> {
    pub opts: &'a RockRidgeOptions,
    /// The time of a node that has none.
    pub build_time: chrono::DateTime<chrono::Utc>,
}

impl RrCtx<'_> {
    /// The plain values `node`'s entries record (RRIP 4.1.1 PX, 4.1.2 PN, 4.1.3 SL, 4.1.6 TF).
    pub fn subject<'n>(&self, node: &'n Node) -> rrip::Subject<'n> {
        let mtime = node.mtime.unwrap_or(self.build_time);
        let p = node.posix.as_deref();
        rrip::Subject {
            mode: node.mode(),
            uid: p.map_or(0, |p| p.uid),
            gid: p.map_or(0, |p| p.gid),
            crtime: p.and_then(|p| p.creation(mtime)),
            mtime,
            atime: p.and_then(|p| p.atime).unwrap_or(mtime),
            ctime: p.and_then(|p| p.ctime).unwrap_or(mtime),
            kind: match &node.kind {
                NodeKind::Symlink { target } => rrip::SubjectKind::Symlink(target.as_slice()),
                NodeKind::Special {
                    kind: SpecialKind::CharDevice | SpecialKind::BlockDevice,
                    rdev,
                } => rrip::SubjectKind::Device(*rdev),
                _ => rrip::SubjectKind::Other,
            },
        }
    }
}

/// [`NodeFacts`] of every node of a layout's tree, computed on demand: a file's serial is its
/// data's, shared by hard links, and its link count the number of names of that data; a
/// directory has 2 + its subdirectories; anything else one link and a serial after the data's.
/// Only the counts that are not 1 (hard links) and the directories' are stored.
#[derive(Debug, Clone, Default)]
pub(crate) struct FactsTable {
    data_count: u32,
    /// Names of data with more than one.
    file_links: HashMap<DataId, u32>,
    /// Link count of each directory.
    dir_links: HashMap<NodeId, u32>,
}

impl FactsTable {
    pub fn new(tree: &Tree) -> Self {
        let mut names = vec![0u32; tree.data.len()];
        let mut dir_links = HashMap::new();
        for (i, n) in tree.nodes.iter().enumerate() {
            match &n.kind {
                NodeKind::File { data } => {
                    if let Some(k) = names.get_mut(*data as usize) {
                        *k += 1;
                    }
                }
                NodeKind::Dir { children } => {
                    let subdirs = children.iter().filter(|&&c| tree.node(c).is_dir()).count();
                    dir_links.insert(i as NodeId, 2 + subdirs as u32);
                }
                _ => {}
            }
        }
        let file_links = names
            .iter()
            .enumerate()
            .filter(|&(_, &k)| k > 1)
            .map(|(d, &k)| (d as DataId, k))
            .collect();
        FactsTable {
            data_count: tree.data.len() as u32,
            file_links,
            dir_links,
        }
    }
    /// Sets directory `dir`'s link count (the relocation directory's children are not its
    /// children in the tree).
    pub fn set_dir_links(&mut self, dir: NodeId, links: u32) {
        self.dir_links.insert(dir, links);
    }
    pub fn get(&self, tree: &Tree, n: NodeId) -> NodeFacts {
        let other = NodeFacts {
            links: 1,
            serial: self.data_count.wrapping_add(n).wrapping_add(1),
        };
        match tree.nodes.get(n as usize).map(|node| &node.kind) {
            Some(NodeKind::File { data }) => NodeFacts {
                links: if self.file_links.is_empty() {
                    1
                } else {
                    self.file_links.get(data).copied().unwrap_or(1)
                },
                serial: data + 1,
            },
            Some(NodeKind::Dir { .. }) => NodeFacts {
                links: self.dir_links.get(&n).copied().unwrap_or(2),
                ..other
            },
            Some(_) => other,
            None => NodeFacts {
                links: 1,
                serial: n + 1,
            },
        }
    }
}
