//! [`ImageBuilder`]: the user's tree and options (IMAPI's IFileSystemImage).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::image::Image;
use crate::progress::{NoProgress, Outcome, Phase, Progress};
use crate::tree::{FileData, NodeId, Source, Tree};

/// A set of file systems to create (IMAPI's FsiFileSystems).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileSystems(u8);

impl FileSystems {
    /// ISO 9660 (ECMA-119): the primary volume descriptor and its tree.
    pub const ISO9660: FileSystems = FileSystems(1);
    /// Joliet: a supplementary volume descriptor with UCS-2 names.
    pub const JOLIET: FileSystems = FileSystems(2);
    /// Rock Ridge (SUSP/RRIP) extensions on the ISO 9660 tree. Not yet implemented.
    pub const ROCK_RIDGE: FileSystems = FileSystems(4);
    /// UDF. Not yet implemented.
    pub const UDF: FileSystems = FileSystems(8);
    /// No file system.
    pub const NONE: FileSystems = FileSystems(0);

    /// True if every file system in `other` is in `self`.
    pub fn contains(self, other: FileSystems) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for FileSystems {
    type Output = FileSystems;
    fn bitor(self, rhs: FileSystems) -> FileSystems {
        FileSystems(self.0 | rhs.0)
    }
}

impl Default for FileSystems {
    fn default() -> Self {
        FileSystems::ISO9660 | FileSystems::JOLIET
    }
}

/// ISO 9660 interchange level (ECMA-119 10) or ISO 9660:1999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IsoLevel {
    /// Level 1: 8.3 names, files in one extent.
    Level1,
    /// Level 2: names of up to 30 characters, files in one extent.
    Level2,
    /// Level 3: like level 2, and files may have several extents (files of 4 GiB and more).
    #[default]
    Level3,
    /// ISO 9660:1999: an enhanced volume descriptor (ECMA-119 4th ed. 8.5, version 2); names up
    /// to 207 bytes kept as given, no depth or path-length limit, multi-extent files.
    Iso1999,
}

impl IsoLevel {
    pub(crate) fn label(self) -> &'static str {
        match self {
            IsoLevel::Level1 => "level 1",
            IsoLevel::Level2 => "level 2",
            IsoLevel::Level3 => "level 3",
            IsoLevel::Iso1999 => "ISO 9660:1999",
        }
    }
}

impl std::str::FromStr for IsoLevel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "1" => Ok(IsoLevel::Level1),
            "2" => Ok(IsoLevel::Level2),
            "3" => Ok(IsoLevel::Level3),
            "1999" | "4" => Ok(IsoLevel::Iso1999),
            other => Err(Error::InvalidOption(format!(
                "unknown ISO 9660 level {other:?} (expected 1, 2, 3 or 1999)"
            ))),
        }
    }
}

/// Build options. Construct with `Options::default()` and adjust, or use the builder's setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Which file systems to create.
    pub filesystems: FileSystems,
    /// The volume name (upper-cased to d-characters for ISO 9660, up to 32; up to 16 UCS-2
    /// characters for Joliet).
    pub volume_id: String,
    /// ISO 9660 level.
    pub level: IsoLevel,
    /// Allow Joliet names of up to 103 characters instead of the specified 64.
    pub joliet_long_names: bool,
    /// The largest image allowed, in 2048-byte blocks (IMAPI's FreeMediaBlocks).
    pub max_blocks: Option<u64>,
    /// The time written as the volume creation/modification time and given to entries without
    /// a time of their own. `None`: the time `build` is called.
    pub build_time: Option<DateTime<Utc>>,
    /// ECMA-119 8.4.5 system identifier (a-characters).
    pub system_id: String,
    /// ECMA-119 8.4.20 publisher identifier.
    pub publisher: String,
    /// ECMA-119 8.4.21 data preparer identifier.
    pub preparer: String,
    /// ECMA-119 8.4.22 application identifier.
    pub application: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            filesystems: FileSystems::default(),
            volume_id: "CDROM".to_string(),
            level: IsoLevel::default(),
            joliet_long_names: false,
            max_blocks: None,
            build_time: None,
            system_id: String::new(),
            publisher: String::new(),
            preparer: String::new(),
            application: format!("GLASSMASTER {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Builds an image: add files and directories, choose options, then [`build`](Self::build) to
/// lay it out. See the crate documentation for an example.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    pub(crate) tree: Tree,
    pub(crate) options: Options,
    pub(crate) warnings: Vec<String>,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ImageBuilder {
    /// An empty image with default options (ISO 9660 level 3 + Joliet).
    pub fn new() -> Self {
        ImageBuilder {
            tree: Tree::new(),
            options: Options::default(),
            warnings: Vec::new(),
        }
    }

    /// Replaces all options.
    pub fn with_options(options: Options) -> Self {
        ImageBuilder {
            options,
            ..Self::new()
        }
    }

    /// The current options.
    pub fn options(&self) -> &Options {
        &self.options
    }
    /// Mutable access to the options.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }
    /// Sets the file systems to create.
    pub fn filesystems(&mut self, fs: FileSystems) -> &mut Self {
        self.options.filesystems = fs;
        self
    }
    /// Sets the volume name.
    pub fn volume_id(&mut self, name: impl Into<String>) -> &mut Self {
        self.options.volume_id = name.into();
        self
    }
    /// Sets the ISO 9660 level.
    pub fn level(&mut self, level: IsoLevel) -> &mut Self {
        self.options.level = level;
        self
    }
    /// Allows Joliet names of up to 103 characters.
    pub fn joliet_long_names(&mut self, on: bool) -> &mut Self {
        self.options.joliet_long_names = on;
        self
    }
    /// Limits the image size in blocks; `build` fails if the tree does not fit.
    pub fn max_blocks(&mut self, blocks: Option<u64>) -> &mut Self {
        self.options.max_blocks = blocks;
        self
    }
    /// Fixes the build time (for reproducible images).
    pub fn build_time(&mut self, t: DateTime<Utc>) -> &mut Self {
        self.options.build_time = Some(t);
        self
    }

    /// Warnings gathered while adding (skipped special files, ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Creates an empty directory (and its parents).
    pub fn add_dir(&mut self, image_path: &str) -> Result<&mut Self> {
        self.tree.mkdir_p(image_path)?;
        Ok(self)
    }

    /// Adds the file at `source` (on disk) as `image_path`. Its size and modification time are
    /// read now; if they differ when the image is rendered, rendering fails.
    pub fn add_file(&mut self, image_path: &str, source: impl AsRef<Path>) -> Result<&mut Self> {
        let source = source.as_ref();
        let md = fs::metadata(source).map_err(|e| Error::Source {
            path: source.to_path_buf(),
            source: e,
        })?;
        if !md.is_file() {
            return Err(Error::Source {
                path: source.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
            });
        }
        let id = self
            .tree
            .add_file(image_path, file_data_from_disk(source, &md))?;
        self.tree.node_mut(id).mtime = md.modified().ok().map(DateTime::<Utc>::from);
        Ok(self)
    }

    /// Adds bytes held in memory as `image_path`.
    pub fn add_bytes(&mut self, image_path: &str, bytes: impl Into<Bytes>) -> Result<&mut Self> {
        let bytes = bytes.into();
        let len = bytes.len() as u64;
        self.tree.add_file(
            image_path,
            FileData {
                source: Source::Bytes(bytes),
                len,
            },
        )?;
        Ok(self)
    }

    /// Adds a file whose `len` bytes come from a caller-supplied reader. `open` is called when
    /// the data is needed (again after a backwards seek of the image stream); a reader that
    /// yields fewer or more than `len` bytes makes rendering fail.
    pub fn add_reader<F>(&mut self, image_path: &str, len: u64, open: F) -> Result<&mut Self>
    where
        F: Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    {
        self.tree.add_file(
            image_path,
            FileData {
                source: Source::Reader(Arc::new(open)),
                len,
            },
        )?;
        Ok(self)
    }

    /// Sets an entry's modification time (written in its directory records).
    pub fn set_mtime(&mut self, image_path: &str, t: DateTime<Utc>) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        self.tree.node_mut(id).mtime = Some(t);
        Ok(self)
    }

    /// Sets or clears an entry's hidden flag (ECMA-119 9.1.6 "existence" bit).
    pub fn set_hidden(&mut self, image_path: &str, hidden: bool) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        self.tree.node_mut(id).hidden = hidden;
        Ok(self)
    }

    /// Adds the contents of directory `source_dir` under `image_path` (created if missing).
    pub fn add_tree(
        &mut self,
        source_dir: impl AsRef<Path>,
        image_path: &str,
    ) -> Result<&mut Self> {
        self.add_tree_with_progress(source_dir, image_path, &mut NoProgress)
    }

    /// [`add_tree`](Self::add_tree) with progress callbacks: `scanned` per entry and
    /// `query_abort` polled once per directory entry.
    pub fn add_tree_with_progress(
        &mut self,
        source_dir: impl AsRef<Path>,
        image_path: &str,
        progress: &mut dyn Progress,
    ) -> Result<&mut Self> {
        let source_dir = source_dir.as_ref();
        progress.begin(Phase::Scan, 0);
        let r = self.scan(source_dir, image_path, progress);
        progress.end(
            Phase::Scan,
            match &r {
                Ok(()) => Outcome::Completed,
                Err(Error::Aborted) => Outcome::Aborted,
                Err(_) => Outcome::Failed,
            },
        );
        r.map(|_| self)
    }

    fn scan(
        &mut self,
        source_dir: &Path,
        image_path: &str,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        let md = fs::metadata(source_dir).map_err(|e| Error::Source {
            path: source_dir.to_path_buf(),
            source: e,
        })?;
        if !md.is_dir() {
            return Err(Error::Source {
                path: source_dir.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a directory"),
            });
        }
        let root = self.tree.mkdir_p(image_path)?;
        if root != 0 {
            self.tree.node_mut(root).mtime = md.modified().ok().map(DateTime::<Utc>::from);
        }
        // Depth-first with an explicit stack; (dev, inode) of the directories on the current
        // path detect loops through followed symlinks.
        let mut stack: Vec<(PathBuf, NodeId, Vec<DirKey>)> =
            vec![(source_dir.to_path_buf(), root, vec![dir_key(&md)])];
        while let Some((dir, node, ancestors)) = stack.pop() {
            let rd = fs::read_dir(&dir).map_err(|e| Error::Source {
                path: dir.clone(),
                source: e,
            })?;
            let mut entries = Vec::new();
            for ent in rd {
                let ent = ent.map_err(|e| Error::Source {
                    path: dir.clone(),
                    source: e,
                })?;
                entries.push(ent.path());
            }
            // Deterministic order whatever the file system's readdir order is.
            entries.sort();
            for path in entries {
                if progress.query_abort() {
                    return Err(Error::Aborted);
                }
                let name = match path.file_name().and_then(|n| n.to_str()) {
                    Some(n) => n.to_string(),
                    None => {
                        return Err(Error::InvalidPath {
                            path: path.display().to_string(),
                            reason: "file name is not valid UTF-8".into(),
                        })
                    }
                };
                // Symbolic links are followed (Rock Ridge will offer to keep them).
                let md = fs::metadata(&path).map_err(|e| Error::Source {
                    path: path.clone(),
                    source: e,
                })?;
                let mtime = md.modified().ok().map(DateTime::<Utc>::from);
                if md.is_dir() {
                    let key = dir_key(&md);
                    if key.is_some() && ancestors.contains(&key) {
                        self.warnings
                            .push(format!("{}: symbolic link loop skipped", path.display()));
                        continue;
                    }
                    let id = self.tree.add_dir_in(node, &name)?;
                    self.tree.node_mut(id).mtime = mtime;
                    progress.scanned(&self.tree.path_of(id));
                    let mut anc = ancestors.clone();
                    anc.push(key);
                    stack.push((path, id, anc));
                } else if md.is_file() {
                    let id = self
                        .tree
                        .add_file_in(node, &name, file_data_from_disk(&path, &md))?;
                    self.tree.node_mut(id).mtime = mtime;
                    progress.scanned(&self.tree.path_of(id));
                } else {
                    self.warnings.push(format!(
                        "{}: not a regular file or directory, skipped",
                        path.display()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Lays the image out (no byte is rendered yet). Fails if a name cannot be represented, the
    /// tree is too deep, a file is too large for the level, or the image exceeds `max_blocks`.
    pub fn build(&self) -> Result<Image> {
        self.build_with_progress(&mut NoProgress)
    }

    /// [`build`](Self::build) with progress callbacks for the layout phase.
    pub fn build_with_progress(&self, progress: &mut dyn Progress) -> Result<Image> {
        progress.begin(Phase::Layout, self.tree.nodes.len() as u64);
        let nodes = self.tree.nodes.len() as u64;
        let r = crate::layout::pipeline::lay_out(self, progress);
        if r.is_ok() {
            progress.update(nodes, nodes);
        }
        progress.end(
            Phase::Layout,
            match &r {
                Ok(_) => Outcome::Completed,
                Err(Error::Aborted) => Outcome::Aborted,
                Err(_) => Outcome::Failed,
            },
        );
        r
    }
}

type DirKey = Option<(u64, u64)>;

#[cfg(unix)]
fn dir_key(md: &fs::Metadata) -> DirKey {
    use std::os::unix::fs::MetadataExt;
    Some((md.dev(), md.ino()))
}
#[cfg(not(unix))]
fn dir_key(_md: &fs::Metadata) -> DirKey {
    None
}

fn file_data_from_disk(path: &Path, md: &fs::Metadata) -> FileData {
    FileData {
        source: Source::Path {
            path: path.to_path_buf(),
            mtime: md.modified().ok(),
        },
        len: md.len(),
    }
}
