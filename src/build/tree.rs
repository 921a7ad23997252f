//! The user's tree as an arena: directories and files addressed by [`NodeId`], file contents
//! addressed by [`DataId`] so several names (and every view) can share one data extent.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

pub use super::source::OpenReader;
pub(crate) use super::source::{open_file_data, Source, Stamp};
use crate::error::{Error, Result};

/// Index of a node in the tree arena. The root is node 0.
pub(crate) type NodeId = u32;
/// Index of a file's data in the tree's data table.
pub(crate) type DataId = u32;

/// One file's contents.
#[derive(Debug, Clone)]
pub(crate) struct FileData {
    pub source: Source,
    /// The declared (scanned) length in bytes.
    pub len: u64,
}

/// What a node is (16 bytes: the rare or variable parts are boxed, as there is one per file).
#[derive(Debug, Clone)]
#[allow(
    clippy::box_collection,
    reason = "a thin pointer keeps NodeKind at 16 bytes; directories and symlinks are few"
)]
pub(crate) enum NodeKind {
    Dir {
        children: Box<Vec<NodeId>>,
    },
    /// A regular file; hard links of one file share the `DataId`.
    File {
        data: DataId,
    },
    /// A symbolic link (Rock Ridge `SL`, UDF); its target's exact bytes (they need not be
    /// UTF-8).
    Symlink {
        target: Box<Vec<u8>>,
    },
    /// A device node, FIFO or socket (Rock Ridge `PX` file type, `PN` for devices).
    Special {
        kind: SpecialKind,
        rdev: u64,
    },
}

/// The type of a special file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialKind {
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Unix domain socket.
    Socket,
}

impl SpecialKind {
    /// The POSIX file type bits (S_IFMT part of `st_mode`).
    pub fn mode_bits(self) -> u32 {
        match self {
            SpecialKind::CharDevice => 0o020000,
            SpecialKind::BlockDevice => 0o060000,
            SpecialKind::Fifo => 0o010000,
            SpecialKind::Socket => 0o140000,
        }
    }
}

/// POSIX metadata of an entry (recorded by Rock Ridge). Entries without it get defaults:
/// mode 0644 (files), 0755 (directories), 0777 (symlinks), owner 0:0, all times = mtime.
///
/// Nodes share equal values ([`Tree::share_posix`]): a scan records a change or creation time
/// equal to the node's modification time as "the modification time" (`None` and a flag), so
/// the files of a tree that differ only in their times share one value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct NodeMeta {
    /// Permission bits (the low 12 bits of `st_mode`; the type comes from the node kind).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub atime: Option<DateTime<Utc>>,
    pub ctime: Option<DateTime<Utc>>,
    pub crtime: Option<DateTime<Utc>>,
    /// The change time is the node's modification time (`ctime` is `None`).
    pub ctime_is_mtime: bool,
    /// The creation time is the node's modification time (`crtime` is `None`).
    pub crtime_is_mtime: bool,
}

impl NodeMeta {
    /// The creation time, if known (`mtime`: the node's modification time).
    pub fn creation(&self, mtime: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.crtime_is_mtime {
            Some(mtime)
        } else {
            self.crtime
        }
    }
    /// Records change and creation times equal to `mtime` as "the modification time".
    pub fn relative_to(mut self, mtime: Option<DateTime<Utc>>) -> Self {
        if mtime.is_some() && self.ctime.is_some() && self.ctime == mtime {
            self.ctime = None;
            self.ctime_is_mtime = true;
        }
        if mtime.is_some() && self.crtime.is_some() && self.crtime == mtime {
            self.crtime = None;
            self.crtime_is_mtime = true;
        }
        self
    }
    /// The inverse of [`relative_to`](Self::relative_to): explicit times, for a node whose
    /// modification time `mtime` is about to change.
    pub fn pinned(&self, mtime: Option<DateTime<Utc>>) -> Self {
        let mut p = self.clone();
        if let Some(m) = mtime {
            if std::mem::take(&mut p.ctime_is_mtime) {
                p.ctime = Some(m);
            }
            if std::mem::take(&mut p.crtime_is_mtime) {
                p.crtime = Some(m);
            }
        }
        p
    }
}

// One per file: keep it small (names of up to 22 bytes are inline). 16 bytes on 64-bit
// targets; 12 where a `u64` is 4-aligned (i686).
const _: () = assert!(std::mem::size_of::<NodeKind>() <= 16);
const _: () = assert!(std::mem::size_of::<Node>() <= 64);
// One per file: 80 bytes while `Source::Path` held its stamp inline (issue 23 item 4).
const _: () = assert!(std::mem::size_of::<FileData>() <= 64);

#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The name as the user gave it (one path component; empty for the root).
    pub name: crate::build::compact::SmallStr,
    pub parent: NodeId,
    pub kind: NodeKind,
    /// Modification time; `None` means "the build time".
    pub mtime: Option<DateTime<Utc>>,
    /// POSIX metadata, when known (scanned from disk or set by the caller); shared between
    /// nodes with equal metadata (change it with [`Node::posix_mut`]).
    pub posix: Option<Arc<NodeMeta>>,
}

impl Node {
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir { .. })
    }
    pub fn children(&self) -> &[NodeId] {
        match &self.kind {
            NodeKind::Dir { children } => children,
            _ => &[],
        }
    }
    /// The full POSIX `st_mode`: file type bits from the kind, permission bits from `posix`
    /// or the defaults.
    pub fn mode(&self) -> u32 {
        let (ty, default) = match &self.kind {
            NodeKind::Dir { .. } => (0o040000, 0o755),
            NodeKind::File { .. } => (0o100000, 0o644),
            NodeKind::Symlink { .. } => (0o120000, 0o777),
            NodeKind::Special { kind, .. } => (kind.mode_bits(), 0o644),
        };
        ty | self.posix.as_ref().map_or(default, |p| p.perm & 0o7777)
    }
    /// This node's own POSIX metadata to change (`default` when it has none).
    pub fn posix_mut(&mut self, default: impl FnOnce() -> NodeMeta) -> &mut NodeMeta {
        Arc::make_mut(self.posix.get_or_insert_with(|| Arc::new(default())))
    }
    /// Sets the modification time, keeping change and creation times recorded as equal to
    /// the old one.
    pub fn set_mtime(&mut self, t: Option<DateTime<Utc>>) {
        if let Some(p) = &self.posix {
            if p.ctime_is_mtime || p.crtime_is_mtime {
                self.posix = Some(Arc::new(p.pinned(self.mtime)));
            }
        }
        self.mtime = t;
    }
}

/// The arena.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
    pub data: Vec<FileData>,
    /// `(parent, name) -> node` for O(1) inserts while the tree is built; dropped for the
    /// layout (see [`without_index`](Self::without_index)), after which lookups scan the
    /// parent's children.
    index: HashMap<(NodeId, Box<str>), NodeId>,
    indexed: bool,
    /// Placement weights (higher first on disc) set on files or directories.
    pub weights: HashMap<NodeId, i32>,
    /// The source directories of [`Source::Scanned`] files.
    pub scan_dirs: Vec<PathBuf>,
    /// Directories whose children are not all in `index` (filled by a scan, whose names are
    /// unique already): lookups there scan the children.
    unindexed: std::collections::HashSet<NodeId>,
    /// Exact names of nodes whose on-disk name is not UTF-8 (written by Rock Ridge `NM`); their
    /// `name` holds [`escape_name`]'s form.
    pub raw_names: HashMap<NodeId, Box<[u8]>>,
    /// Nodes imported from a base image: adding an entry at the path of one replaces it (as
    /// IMAPI's in-memory items win over imported ones).
    pub imported: std::collections::HashSet<NodeId>,
    /// True once an entry was removed: its nodes stay in the arena, detached, until
    /// [`compacted`](Tree::compacted) drops them.
    pub detached: bool,
    /// Recently made POSIX values, for [`share_posix`](Self::share_posix) (bounded).
    posix_cache: HashMap<NodeMeta, Arc<NodeMeta>>,
    /// The value [`share_posix`](Self::share_posix) returned last.
    posix_last: Option<Arc<NodeMeta>>,
    /// Nodes with the hidden flag (ECMA-119 9.1.6 "existence"; few, so not a field of every
    /// node).
    hidden: std::collections::HashSet<NodeId>,
    /// Nodes left out of directories (mkisofs `-hide`, `-hide-joliet`): bit [`OUT_OF_ISO`] for
    /// the ISO 9660 / Rock Ridge tree, [`OUT_OF_JOLIET`] for Joliet. Their data stays in the
    /// image (few, so not a field of every node).
    left_out: HashMap<NodeId, u8>,
    /// A new entry replaces an existing non-directory of its path, and a new directory merges
    /// with an existing one (mkisofs pathspecs: the later wins); a non-directory never replaces
    /// a directory.
    pub later_wins: bool,
    /// The node made by the layout (the Rock Ridge relocation directory): only in the ISO 9660
    /// view.
    synthetic: Option<NodeId>,
}

/// [`Tree::leave_out`]: not in the ISO 9660 (and Rock Ridge) directories.
pub const OUT_OF_ISO: u8 = 1;
/// [`Tree::leave_out`]: not in the Joliet directories.
pub const OUT_OF_JOLIET: u8 = 2;

/// At most this many distinct POSIX values are remembered for sharing.
const POSIX_CACHE: usize = 1024;

pub(crate) use crate::codec::text::RAW_BYTE_BASE;

/// A name that is not valid UTF-8, as a string: valid parts kept, each invalid byte `b` written
/// as the private-use character U+F700 + `b` (reversible, and Joliet and ISO 9660 write `_`).
pub(crate) fn escape_name(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.push(char::from_u32(RAW_BYTE_BASE + b as u32).unwrap_or('_'));
        }
    }
    out
}

/// The name other views than Rock Ridge start from for a name that is not UTF-8: its valid
/// parts kept, each invalid byte read as Latin-1 (byte `b` is U+00`b`). Deterministic, and two
/// names that differ in their bytes differ here too (`x\xff` is `xÿ`, `x\xfe` is `xþ`); each
/// view then applies its own character rules and collision mangling.
pub(crate) fn latin1_reading(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 4);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(chunk.invalid().iter().map(|&b| char::from(b)));
    }
    out
}

/// Bytes (a name or a path, possibly not UTF-8) safe to print in a message: bytes that are not
/// UTF-8 as `\xNN`, control characters escaped (`\u{1b}`); the rest as it is.
pub(crate) fn printable_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_debug());
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A name's exact bytes as an OS string.
#[cfg(unix)]
pub(crate) fn os_name(bytes: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes)
}
/// A name's exact bytes as an OS string (names that are not UTF-8 keep a full
/// [`Source::Path`] on other systems, so these bytes are UTF-8).
#[cfg(not(unix))]
pub(crate) fn os_name(bytes: &[u8]) -> std::ffi::OsString {
    String::from_utf8_lossy(bytes).into_owned().into()
}

/// An image path given as bytes, as the tree's string path: each component that is not UTF-8
/// escaped ([`escape_name`]), with those components' exact bytes (to record in
/// [`Tree::raw_names`] once the nodes exist, [`Tree::record_raw_names`]).
pub(crate) struct TreePath {
    pub text: String,
    /// The components that are not UTF-8 (empty for a text path).
    raw: Vec<(usize, Vec<u8>)>,
}

impl TreePath {
    pub fn new(p: &std::ffi::OsStr) -> TreePath {
        // On Unix the exact bytes; elsewhere the OS's own encoding of the string.
        let bytes = p.as_encoded_bytes();
        if let Ok(s) = std::str::from_utf8(bytes) {
            return TreePath {
                text: s.to_string(),
                raw: Vec::new(),
            };
        }
        let mut text = String::new();
        let mut raw = Vec::new();
        for (i, c) in bytes.split(|&b| b == b'/').enumerate() {
            if i > 0 {
                text.push('/');
            }
            if std::str::from_utf8(c).is_err() {
                raw.push((i, c.to_vec()));
            }
            text.push_str(&escape_name(c));
        }
        TreePath { text, raw }
    }
}

/// Splits and checks an image path: components separated by `/`, none empty after collapsing,
/// none `.` or `..`, no NUL, each at most 255 bytes.
pub(crate) fn split_path(path: &str) -> Result<Vec<&str>> {
    let bad = |reason: &str| Error::InvalidPath {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let mut out = Vec::new();
    for c in path.split('/') {
        if c.is_empty() {
            continue;
        }
        if c == "." || c == ".." {
            return Err(bad("'.' and '..' components are not allowed"));
        }
        if c.contains('\0') {
            return Err(bad("NUL byte in name"));
        }
        // An escaped byte that is not UTF-8 (`escape_name`) counts as the one byte it stands for.
        if c.len() > 255
            && c.chars()
                .map(|ch| {
                    if (RAW_BYTE_BASE..RAW_BYTE_BASE + 256).contains(&(ch as u32)) {
                        1
                    } else {
                        ch.len_utf8()
                    }
                })
                .sum::<usize>()
                > 255
        {
            return Err(bad("a name is longer than 255 bytes"));
        }
        out.push(c);
    }
    Ok(out)
}

/// Names the items of a layout that point at nodes (a file's data: its first name).
impl crate::progress::EntryPaths for Tree {
    fn path_of(&self, entry: u32) -> String {
        Tree::path_of(self, entry)
    }
    fn path_is(&self, entry: u32, want: &str) -> bool {
        Tree::path_is(self, entry, want)
    }
}

impl Tree {
    pub fn new() -> Self {
        Tree {
            nodes: vec![Node {
                name: "".into(),
                parent: 0,
                kind: NodeKind::Dir {
                    children: Box::default(),
                },
                mtime: None,
                posix: None,
            }],
            data: Vec::new(),
            index: HashMap::new(),
            indexed: true,
            scan_dirs: Vec::new(),
            unindexed: Default::default(),
            raw_names: HashMap::new(),
            weights: HashMap::new(),
            imported: Default::default(),
            detached: false,
            posix_cache: HashMap::new(),
            posix_last: None,
            hidden: Default::default(),
            left_out: HashMap::new(),
            later_wins: false,
            synthetic: None,
        }
    }

    pub fn is_hidden(&self, id: NodeId) -> bool {
        self.hidden.contains(&id)
    }
    pub fn set_hidden(&mut self, id: NodeId, hidden: bool) {
        if hidden {
            self.hidden.insert(id);
        } else {
            self.hidden.remove(&id);
        }
    }
    /// Leaves `id` out of the directories of the views in `views` (a mask of [`OUT_OF_ISO`]
    /// and [`OUT_OF_JOLIET`], added to those already set).
    pub fn leave_out(&mut self, id: NodeId, views: u8) {
        if views != 0 {
            *self.left_out.entry(id).or_insert(0) |= views;
        }
    }
    /// The views `id` is left out of (mask of [`OUT_OF_ISO`], [`OUT_OF_JOLIET`]).
    pub fn left_out_of(&self, id: NodeId) -> u8 {
        if self.left_out.is_empty() {
            return 0;
        }
        self.left_out.get(&id).copied().unwrap_or(0)
    }
    /// Whether `id` was made by the layout (only in the ISO 9660 view).
    pub fn is_synthetic(&self, id: NodeId) -> bool {
        self.synthetic == Some(id)
    }
    pub fn set_synthetic(&mut self, id: NodeId) {
        self.synthetic = Some(id);
    }

    /// `p` as a value shared with the nodes that got an equal one recently (a scanned tree's
    /// files mostly have the same owner, mode and relative times).
    pub fn share_posix(&mut self, p: NodeMeta) -> Arc<NodeMeta> {
        // Entries scanned one after the other mostly have the same: compare before hashing.
        if let Some(a) = self.posix_last.as_ref().filter(|a| ***a == p) {
            return a.clone();
        }
        if let Some(a) = self.posix_cache.get(&p) {
            self.posix_last = Some(a.clone());
            return a.clone();
        }
        if self.posix_cache.len() >= POSIX_CACHE {
            self.posix_cache.clear();
        }
        let a = Arc::new(p.clone());
        self.posix_cache.insert(p, a.clone());
        self.posix_last = Some(a.clone());
        a
    }

    /// Records every entry time later than `limit` as `limit` (`Options::clamp_times`):
    /// modification times, and the access, change and creation times of POSIX metadata.
    pub fn clamp_times(&mut self, limit: DateTime<Utc>) {
        let clamp = |t: &mut Option<DateTime<Utc>>| -> bool {
            match t {
                Some(v) if *v > limit => {
                    *t = Some(limit);
                    true
                }
                _ => false,
            }
        };
        for i in 0..self.nodes.len() {
            let node = &mut self.nodes[i];
            // Pinned first: a change or creation time recorded as "the modification time"
            // keeps its own value when only the modification time is clamped.
            let mut posix = node.posix.as_ref().map(|p| p.pinned(node.mtime));
            let mut changed = clamp(&mut node.mtime);
            if let Some(p) = posix.as_mut() {
                changed |= clamp(&mut p.atime) | clamp(&mut p.ctime) | clamp(&mut p.crtime);
            }
            if !changed {
                continue;
            }
            let mtime = node.mtime;
            if let Some(p) = posix {
                let shared = self.share_posix(p.relative_to(mtime));
                self.nodes[i].posix = Some(shared);
            }
        }
    }

    /// The file on disk a source reads, and its stamp when added.
    pub fn source_file(&self, data: DataId) -> Option<(PathBuf, Stamp)> {
        match &self.data[data as usize].source {
            Source::Path { path, stamp } => Some((path.clone(), **stamp)),
            Source::Scanned { dir, node, stamp } => {
                let dir = self.scan_dirs.get(*dir as usize)?;
                Some((dir.join(os_name(self.name_bytes(*node))), *stamp))
            }
            _ => None,
        }
    }

    /// File data `data` as it can live outside this tree: a scanned file's source becomes
    /// the full path.
    pub fn detached_data(&self, data: DataId) -> FileData {
        let fd = &self.data[data as usize];
        match (&fd.source, self.source_file(data)) {
            (Source::Scanned { .. }, Some((path, stamp))) => FileData {
                source: Source::Path {
                    path,
                    stamp: Box::new(stamp),
                },
                len: fd.len,
            },
            _ => fd.clone(),
        }
    }

    /// Opens a file's bytes for reading (generated sources give none).
    pub fn open_source(&self, data: DataId) -> io::Result<Box<dyn Read + Send>> {
        match self.source_file(data) {
            Some((path, _)) => Ok(Box::new(std::fs::File::open(path)?)),
            None => open_file_data(&self.data[data as usize]),
        }
    }

    /// Reads a file's bytes once, start to end, in chunks (at most its declared length).
    pub fn read_source(&self, data: DataId, f: impl FnMut(u64, &[u8])) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        self.read_source_with(data, &mut buf, f)
    }

    /// [`read_source`](Self::read_source) through the caller's buffer (not empty).
    pub fn read_source_with(
        &self,
        data: DataId,
        buf: &mut [u8],
        mut f: impl FnMut(u64, &[u8]),
    ) -> io::Result<()> {
        let len = self.data[data as usize].len;
        let mut reader = self.open_source(data)?;
        let mut off = 0u64;
        while off < len {
            let want = (len - off).min(buf.len() as u64) as usize;
            let n = match reader.read(&mut buf[..want]) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            f(off, &buf[..n]);
            off += n as u64;
        }
        Ok(())
    }

    /// The extents of data an appended session leaves on the base image (its directory
    /// records point at them, one record per extent); `None` for data the layout places.
    pub fn record_extents(&self, data: DataId) -> Option<&[crate::build::base::Piece]> {
        match &self.data.get(data as usize)?.source {
            Source::Base {
                file,
                in_place: true,
            } => Some(&file.pieces),
            _ => None,
        }
    }

    /// The exact name bytes of a node (Rock Ridge `NM`).
    pub fn name_bytes(&self, id: NodeId) -> &[u8] {
        match self.raw_names.get(&id) {
            Some(raw) => raw,
            None => self.node(id).name.as_bytes(),
        }
    }

    /// The name ISO 9660, Joliet and UDF start from: the tree name, or for a name that is not
    /// UTF-8 its [`latin1_reading`] (the tree name's private-use escapes are never shown).
    pub fn view_name(&self, id: NodeId) -> std::borrow::Cow<'_, str> {
        if !self.raw_names.is_empty() {
            if let Some(raw) = self.raw_names.get(&id) {
                return std::borrow::Cow::Owned(latin1_reading(raw));
            }
        }
        std::borrow::Cow::Borrowed(&self.node(id).name)
    }

    /// The full image path of a node as exact bytes (names that are not UTF-8 as they are).
    pub fn path_bytes(&self, id: NodeId) -> Vec<u8> {
        if id == 0 {
            return b"/".to_vec();
        }
        let mut parts = Vec::new();
        let mut cur = id;
        while cur != 0 {
            parts.push(self.name_bytes(cur));
            cur = self.node(cur).parent;
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        out
    }

    /// Records the exact bytes of the components of `p` that are not UTF-8, for the nodes
    /// on its path (which must exist).
    pub fn record_raw_names(&mut self, p: &TreePath) {
        if p.raw.is_empty() {
            return;
        }
        let mut cur = 0;
        for (i, c) in p.text.split('/').enumerate() {
            if c.is_empty() {
                continue;
            }
            let Some(id) = self.child(cur, c) else {
                return;
            };
            if let Some((_, bytes)) = p.raw.iter().find(|(j, _)| *j == i) {
                self.raw_names.insert(id, bytes.clone().into_boxed_slice());
            }
            cur = id;
        }
    }

    /// The image path of a node for messages: exact bytes, escaped ([`printable_bytes`]).
    pub fn shown_path(&self, id: NodeId) -> String {
        printable_bytes(&self.path_bytes(id))
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub fn child(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        if !self.indexed || self.unindexed.contains(&parent) {
            return self
                .node(parent)
                .children()
                .iter()
                .copied()
                .find(|&c| &*self.node(c).name == name);
        }
        // The key borrows a Box<str>; build one only for lookups (cheap, names are short).
        self.index.get(&(parent, Box::<str>::from(name))).copied()
    }

    /// The tree without its name index (a second copy of every name): the layout only adds a
    /// few entries (relocation directory, boot catalog, checksum files) and looks few up.
    pub fn without_index(mut self) -> Tree {
        self.index = HashMap::new();
        self.posix_cache = HashMap::new();
        self.posix_last = None;
        // Grown by pushes: up to half of each could be spare capacity.
        self.nodes.shrink_to_fit();
        self.data.shrink_to_fit();
        for n in &mut self.nodes {
            if let NodeKind::Dir { children } = &mut n.kind {
                children.shrink_to_fit();
            }
        }
        self.indexed = false;
        self
    }

    /// A copy of the tree for the layout, without the name index.
    pub fn clone_for_layout(&self) -> Tree {
        if self.detached {
            return self.compacted().without_index();
        }
        Tree {
            nodes: self.nodes.clone(),
            data: self.data.clone(),
            index: HashMap::new(),
            indexed: false,
            weights: self.weights.clone(),
            scan_dirs: self.scan_dirs.clone(),
            unindexed: Default::default(),
            raw_names: self.raw_names.clone(),
            imported: self.imported.clone(),
            detached: false,
            posix_cache: HashMap::new(),
            posix_last: None,
            hidden: self.hidden.clone(),
            left_out: self.left_out.clone(),
            later_wins: self.later_wins,
            synthetic: self.synthetic,
        }
    }

    /// [`compacted`](Self::compacted), moving the tree when nothing was removed.
    pub fn into_compacted(self) -> Tree {
        if self.detached {
            self.compacted()
        } else {
            self
        }
    }

    /// Whether [`path_of`](Self::path_of)`(id)` is `want`, without building it.
    pub fn path_is(&self, id: NodeId, want: &str) -> bool {
        if id == 0 {
            return want == "/";
        }
        let mut rest = want.as_bytes();
        let mut cur = id;
        while cur != 0 {
            let Some(n) = self.nodes.get(cur as usize) else {
                return false;
            };
            let Some(r) = rest.strip_suffix(n.name.as_bytes()) else {
                return false;
            };
            let Some(r) = r.strip_suffix(b"/") else {
                return false;
            };
            rest = r;
            cur = n.parent;
        }
        rest.is_empty()
    }

    /// The full image path of a node ("/" for the root).
    pub fn path_of(&self, id: NodeId) -> String {
        if id == 0 {
            return "/".to_string();
        }
        let mut parts = Vec::new();
        let mut cur = id;
        while cur != 0 {
            let n = self.node(cur);
            parts.push(&*n.name);
            cur = n.parent;
        }
        let mut s = String::new();
        for p in parts.iter().rev() {
            s.push('/');
            s.push_str(p);
        }
        s
    }

    /// Looks a path up.
    pub fn lookup(&self, path: &str) -> Result<NodeId> {
        let mut cur = 0;
        for c in split_path(path)? {
            cur = self
                .child(cur, c)
                .ok_or_else(|| Error::NotFound(path.to_string()))?;
        }
        Ok(cur)
    }

    /// Adds `name` to directory `parent` without checking for an existing entry of that name
    /// and without indexing it: for a scan filling a directory it created (a directory's
    /// entries have distinct names).
    pub fn push_unchecked(&mut self, parent: NodeId, name: &str, kind: NodeKind) -> Result<NodeId> {
        self.unindexed.insert(parent);
        let was = std::mem::replace(&mut self.indexed, false);
        let r = self.push_node(parent, name, kind);
        self.indexed = was;
        r
    }

    /// Adds file data; returns its id.
    pub fn push_data(&mut self, data: FileData) -> Result<DataId> {
        let did = DataId::try_from(self.data.len())
            .map_err(|_| Error::InvalidOption("more than 4 billion files".into()))?;
        self.data.push(data);
        Ok(did)
    }

    fn push_node(&mut self, parent: NodeId, name: &str, kind: NodeKind) -> Result<NodeId> {
        // Below 2^31: progress items keep a node id and a flag in one word.
        let id = NodeId::try_from(self.nodes.len())
            .ok()
            .filter(|&id| id < 1 << 31)
            .ok_or_else(|| Error::InvalidOption("more than 2 billion tree entries".into()))?;
        self.nodes.push(Node {
            name: name.into(),
            parent,
            kind,
            mtime: None,
            posix: None,
        });
        if let NodeKind::Dir { children } = &mut self.nodes[parent as usize].kind {
            children.push(id);
        }
        if self.indexed {
            self.index.insert((parent, name.into()), id);
        }
        Ok(id)
    }

    /// Detaches `id` (and so its subtree) from its parent. The nodes stay in the arena until
    /// [`compacted`](Tree::compacted); the root cannot be removed.
    pub fn remove(&mut self, id: NodeId) -> Result<()> {
        if id == 0 {
            return Err(Error::InvalidPath {
                path: "/".into(),
                reason: "the root cannot be removed".into(),
            });
        }
        let parent = self.node(id).parent;
        let name = self.node(id).name.clone();
        if let NodeKind::Dir { children } = &mut self.nodes[parent as usize].kind {
            children.retain(|&c| c != id);
        }
        self.index.remove(&(parent, Box::<str>::from(&*name)));
        self.imported.remove(&id);
        self.detached = true;
        Ok(())
    }

    /// An imported entry named `name` in `parent` gives way to a new one: a directory wanted
    /// over an imported directory is reused (`Some`), anything else imported is removed.
    fn replace_imported(&mut self, parent: NodeId, name: &str, want_dir: bool) -> Option<NodeId> {
        let id = self.child(parent, name)?;
        let later_wins = self.later_wins && !self.node(id).is_dir();
        if !later_wins && !self.imported.contains(&id) {
            return None;
        }
        if want_dir && self.node(id).is_dir() {
            return Some(id);
        }
        // Cannot fail: `id` is not the root (it has a name in `parent`).
        let _ = self.remove(id);
        None
    }

    /// A copy without the detached nodes and the data only they used (ids renumbered, the
    /// order of nodes and data kept). The layout works on this copy.
    pub fn compacted(&self) -> Tree {
        if !self.detached {
            return self.clone();
        }
        let mut live = vec![false; self.nodes.len()];
        let mut stack = vec![0 as NodeId];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut live[n as usize], true) {
                continue;
            }
            stack.extend_from_slice(self.node(n).children());
        }
        let mut node_map = vec![NodeId::MAX; self.nodes.len()];
        let mut next = 0;
        for (i, &l) in live.iter().enumerate() {
            if l {
                node_map[i] = next;
                next += 1;
            }
        }
        let mut data_map = vec![DataId::MAX; self.data.len()];
        let mut data = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if let (true, NodeKind::File { data: d }) = (live[i], &n.kind) {
                if data_map[*d as usize] == DataId::MAX {
                    data_map[*d as usize] = *d;
                }
            }
        }
        for (i, m) in data_map.iter_mut().enumerate() {
            if *m != DataId::MAX {
                *m = data.len() as DataId;
                data.push(self.data[i].clone());
            }
        }
        let mut out = Tree::new();
        out.nodes.clear();
        out.data = data;
        for (i, n) in self.nodes.iter().enumerate() {
            if !live[i] {
                continue;
            }
            let mut n = n.clone();
            n.parent = node_map[n.parent as usize];
            match &mut n.kind {
                NodeKind::Dir { children } => {
                    for c in children.iter_mut() {
                        *c = node_map[*c as usize];
                    }
                }
                NodeKind::File { data } => *data = data_map[*data as usize],
                _ => {}
            }
            let id = out.nodes.len() as NodeId;
            if id != 0 {
                out.index.insert((n.parent, Box::<str>::from(&*n.name)), id);
            }
            out.nodes.push(n);
        }
        let remap = |id: &NodeId| Some(node_map[*id as usize]).filter(|&m| m != NodeId::MAX);
        out.weights = self
            .weights
            .iter()
            .filter_map(|(k, v)| Some((remap(k)?, *v)))
            .collect();
        out.raw_names = self
            .raw_names
            .iter()
            .filter_map(|(k, v)| Some((remap(k)?, v.clone())))
            .collect();
        out.imported = self.imported.iter().filter_map(remap).collect();
        out.hidden = self.hidden.iter().filter_map(remap).collect();
        out.left_out = self
            .left_out
            .iter()
            .filter_map(|(k, v)| Some((remap(k)?, *v)))
            .collect();
        out.synthetic = self.synthetic.as_ref().and_then(remap);
        // Scanned sources name their node: renumbered with it.
        out.scan_dirs = self.scan_dirs.clone();
        for d in &mut out.data {
            if let Source::Scanned { node, .. } = &mut d.source {
                *node = remap(node).unwrap_or(*node);
            }
        }
        out
    }

    /// Creates the directory at `path` and any missing parents (`mkdir -p`). Existing
    /// directories are fine; an existing file in the way is a duplicate-path error (an
    /// imported one is replaced).
    pub fn mkdir_p(&mut self, path: &str) -> Result<NodeId> {
        let comps = split_path(path)?;
        let mut cur = 0;
        let mut so_far = String::new();
        for c in comps {
            so_far.push('/');
            so_far.push_str(c);
            self.replace_imported(cur, c, true);
            cur = match self.child(cur, c) {
                Some(id) if self.node(id).is_dir() => id,
                Some(_) => return Err(Error::DuplicatePath(so_far)),
                None => self.push_node(
                    cur,
                    c,
                    NodeKind::Dir {
                        children: Box::default(),
                    },
                )?,
            };
        }
        Ok(cur)
    }

    /// Adds a file at `path` (parents are created). Fails if the path exists.
    pub fn add_file(&mut self, path: &str, data: FileData) -> Result<NodeId> {
        let comps = split_path(path)?;
        let (name, dirs) = comps.split_last().ok_or_else(|| Error::InvalidPath {
            path: path.to_string(),
            reason: "a file needs a name".into(),
        })?;
        let parent = self.mkdir_p(&dirs.join("/"))?;
        self.add_file_in(parent, name, data).map_err(|e| match e {
            Error::DuplicatePath(_) => Error::DuplicatePath(path.to_string()),
            other => other,
        })
    }

    /// Adds a file named `name` in directory `parent`.
    pub fn add_file_in(&mut self, parent: NodeId, name: &str, data: FileData) -> Result<NodeId> {
        self.replace_imported(parent, name, false);
        if self.child(parent, name).is_some() {
            return Err(Error::DuplicatePath(format!(
                "{}/{}",
                self.path_of(parent).trim_end_matches('/'),
                name
            )));
        }
        let did = DataId::try_from(self.data.len())
            .map_err(|_| Error::InvalidOption("more than 4 billion files".into()))?;
        self.data.push(data);
        self.push_node(parent, name, NodeKind::File { data: did })
    }

    /// Adds another name for existing file data (a hard link).
    pub fn add_link_in(&mut self, parent: NodeId, name: &str, data: DataId) -> Result<NodeId> {
        self.replace_imported(parent, name, false);
        if self.child(parent, name).is_some() {
            return Err(Error::DuplicatePath(format!(
                "{}/{}",
                self.path_of(parent).trim_end_matches('/'),
                name
            )));
        }
        self.push_node(parent, name, NodeKind::File { data })
    }

    /// Adds a node of any non-directory kind named `name` in `parent`.
    pub fn add_node_in(&mut self, parent: NodeId, name: &str, kind: NodeKind) -> Result<NodeId> {
        self.replace_imported(parent, name, false);
        if self.child(parent, name).is_some() {
            return Err(Error::DuplicatePath(format!(
                "{}/{}",
                self.path_of(parent).trim_end_matches('/'),
                name
            )));
        }
        self.push_node(parent, name, kind)
    }

    /// Adds a node of any non-directory kind at `path` (parents are created).
    pub fn add_node(&mut self, path: &str, kind: NodeKind) -> Result<NodeId> {
        let comps = split_path(path)?;
        let (name, dirs) = comps.split_last().ok_or_else(|| Error::InvalidPath {
            path: path.to_string(),
            reason: "an entry needs a name".into(),
        })?;
        let parent = self.mkdir_p(&dirs.join("/"))?;
        self.replace_imported(parent, name, false);
        if self.child(parent, name).is_some() {
            return Err(Error::DuplicatePath(path.to_string()));
        }
        self.push_node(parent, name, kind)
    }

    /// Adds a new directory named `name` in `parent`; an existing directory of that name is
    /// returned, an existing file is an error.
    pub fn add_dir_in(&mut self, parent: NodeId, name: &str) -> Result<NodeId> {
        self.replace_imported(parent, name, true);
        match self.child(parent, name) {
            Some(id) if self.node(id).is_dir() => Ok(id),
            Some(_) => Err(Error::DuplicatePath(format!(
                "{}/{}",
                self.path_of(parent).trim_end_matches('/'),
                name
            ))),
            None => self.push_node(
                parent,
                name,
                NodeKind::Dir {
                    children: Box::default(),
                },
            ),
        }
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    #[test]
    fn paths() {
        let mut t = Tree::new();
        let f = t
            .add_file(
                "/a/b/c.txt",
                FileData {
                    source: Source::Bytes(Bytes::new()),
                    len: 0,
                },
            )
            .unwrap();
        assert_eq!(t.path_of(f), "/a/b/c.txt");
        assert_eq!(t.lookup("a//b/c.txt").unwrap(), f);
        assert!(
            matches!(t.add_file("/a/b/c.txt", FileData { source: Source::Bytes(Bytes::new()), len: 0 }), Err(Error::DuplicatePath(p)) if p == "/a/b/c.txt")
        );
        assert!(matches!(
            t.mkdir_p("/a/b/c.txt/d"),
            Err(Error::DuplicatePath(_))
        ));
        assert!(split_path("/a/../b").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8() {
        assert_eq!(latin1_reading(b"x\xff"), "x\u{ff}");
        assert_ne!(latin1_reading(b"x\xff"), latin1_reading(b"x\xfe"));
        assert_eq!(latin1_reading("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(latin1_reading(b"caf\xe9"), "caf\u{e9}");
        assert_eq!(printable_bytes(b"a\xff\x1b[2J"), "a\\xff\\u{1b}[2J");
        // A byte path: escaped in the tree's text, exact bytes recorded for its nodes.
        let p = TreePath::new(os_name(b"/d\xe9/x\xff"));
        assert_eq!(
            p.text,
            format!("/{}/{}", escape_name(b"d\xe9"), escape_name(b"x\xff"))
        );
        let mut t = Tree::new();
        let id = t
            .add_file(
                &p.text,
                FileData {
                    source: Source::Bytes(Bytes::new()),
                    len: 0,
                },
            )
            .unwrap();
        t.record_raw_names(&p);
        assert_eq!(t.name_bytes(id), b"x\xff");
        assert_eq!(t.path_bytes(id), b"/d\xe9/x\xff");
        assert_eq!(t.shown_path(id), "/d\\xe9/x\\xff");
        assert_eq!(t.view_name(id), "x\u{ff}");
        // 255 bytes that are not UTF-8 fit a name (their escapes are longer).
        assert!(split_path(&escape_name(&[0xff; 255])).is_ok());
        assert!(split_path(&escape_name(&[0xff; 256])).is_err());
    }
}
