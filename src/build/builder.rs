//! [`ImageBuilder`]: the user's tree and options (IMAPI's IFileSystemImage).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::build::options::{FileSystems, IsoLevel, Options, Reflink, VolumeDate, VolumeDates};
use crate::build::tree::{
    FileData, NodeId, NodeKind, NodeMeta, Source, SpecialKind, Tree, TreePath,
};
use crate::error::{Error, Result};
use crate::progress::{Outcome, Phase, Progress};
use crate::warning::{Warning, WarningKind};

/// A predicate over the source paths a scan meets (see [`ImageBuilder::exclude`]): `true`
/// leaves the entry (and everything below a directory) out.
#[derive(Clone)]
pub struct ScanFilter(pub Arc<dyn Fn(&Path) -> bool + Send + Sync>);

impl std::fmt::Debug for ScanFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScanFilter")
    }
}

/// One entry of an [`ImageBuilder`]'s tree ([`ImageBuilder::entries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeEntry {
    /// The image path (`/docs/a.txt`); a name that is not UTF-8 shows escaped, as in warnings.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// A regular file's length in bytes (0 for other kinds).
    pub size: u64,
    /// Where a regular file's bytes come from ([`SourceKind::None`] for other kinds).
    pub source: SourceKind,
    /// The modification time; `None`: the build time.
    pub mtime: Option<DateTime<Utc>>,
    /// The ISO 9660 hidden (existence) flag ([`ImageBuilder::set_hidden`]).
    pub hidden: bool,
}

/// The kind of a [`TreeEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file.
    File,
    /// A symbolic link and its target (exact bytes on Unix).
    Symlink {
        /// The link's target.
        target: std::ffi::OsString,
    },
    /// A device node, FIFO or socket.
    Special(SpecialKind),
}

/// Where a [`TreeEntry`]'s bytes come from (see "Sources and what they cost" on
/// [`ImageBuilder`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceKind {
    /// No bytes: a directory, link or special file.
    None,
    /// A file on disk ([`ImageBuilder::add_file`], [`ImageBuilder::add_tree`]).
    Disk(PathBuf),
    /// Bytes in memory ([`ImageBuilder::add_bytes`]).
    Bytes,
    /// A reader factory ([`ImageBuilder::add_reader`]).
    Reader,
    /// A seekable source ([`ImageBuilder::add_seekable`]).
    Seekable,
    /// A one-shot stream ([`ImageBuilder::add_stream`]).
    Stream,
    /// Bytes the library makes (a boot catalog, a checksum list).
    Generated,
    /// A part of another file (a file split over spanned volumes).
    Slice,
    /// A file of a base image (an imported or appended session).
    BaseImage,
}

/// Builds an image: add files and directories, choose options, then [`build`](Self::build) to
/// lay it out. See the crate documentation for an example.
///
/// # Sources and what they cost
///
/// | Added by | Opens | Seeks of an [`ImageStream`](crate::ImageStream) | Memory | Read twice? |
/// |---|---|---|---|---|
/// | [`add_file`](Self::add_file), [`add_tree`](Self::add_tree) | one `open` + `fstat` per read (hash, write); a backward seek reopens | one `lseek` | none | yes |
/// | [`add_bytes`](Self::add_bytes) | none | free | the bytes | yes |
/// | [`add_seekable`](Self::add_seekable) | once (again only for a concurrent user or after an error) | one `seek` on the kept handle | the handle | yes |
/// | [`add_reader`](Self::add_reader) | once per read from the start: the dedup hash, each write, each backward seek | backward: reopen and read up to the offset (O(offset)) | the reader | yes |
/// | [`add_stream`](Self::add_stream) | never (the reader is given) | forward only; backward is [`Error::SourceReadTwice`] | the reader | no: never hashed, written once |
///
/// A file is hashed for deduplication only when another file has the same size (and files
/// over 1 MiB first by their first 64 KiB); `build_to_path` with a new file as the output
/// writes small files as it hashes them (one read).
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    pub(crate) tree: Tree,
    pub(crate) options: Options,
    pub(crate) warnings: Vec<Warning>,
    /// (device, inode) of scanned files with several links, to store hard links once.
    pub(crate) hard_links: std::collections::HashMap<(u64, u64), crate::build::tree::DataId>,
    /// Source paths a scan leaves out (mkisofs `-m`).
    exclude: Option<ScanFilter>,
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
            hard_links: Default::default(),
            exclude: None,
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
    /// Keeps Joliet paths longer than 240 characters (the Joliet limit; Windows refuses them)
    /// instead of leaving those entries out of the Joliet tree.
    pub fn joliet_long_paths(&mut self, on: bool) -> &mut Self {
        self.options.joliet_long_paths = on;
        self
    }
    /// Leaves unreadable directories and files of a scanned tree out with a warning instead of
    /// failing (see [`Options::skip_unreadable`]).
    pub fn skip_unreadable(&mut self, on: bool) -> &mut Self {
        self.options.skip_unreadable = on;
        self
    }
    /// Limits the image size in blocks; `build` fails if the tree does not fit.
    pub fn max_blocks(&mut self, blocks: Option<u64>) -> &mut Self {
        self.options.max_blocks = blocks;
        self
    }
    /// Fixes the build time: the image then depends only on the inputs (names, contents, modes,
    /// owners, modification times): volume times, UUIDs, serial numbers and unique ids are
    /// derived from them, and access/change/creation times are recorded as the modification
    /// time. Two builds of the same tree are byte-identical.
    pub fn build_time(&mut self, t: DateTime<Utc>) -> &mut Self {
        self.options.build_time = Some(t);
        self
    }

    /// Sets the build time from the reproducible-builds `SOURCE_DATE_EPOCH` variable when it is
    /// set (see [`crate::source_date_epoch`]; as the CLI does); leaves it alone otherwise. An
    /// unreadable value is [`Error::InvalidOption`].
    pub fn source_date_epoch(&mut self) -> Result<&mut Self> {
        if let Some(t) = crate::build::options::source_date_epoch()? {
            self.options.build_time = Some(t);
        }
        Ok(self)
    }
    /// Records entry times later than `limit` as `limit` (see [`Options::clamp_times`]);
    /// `None` records them as found.
    pub fn clamp_times(&mut self, limit: Option<DateTime<Utc>>) -> &mut Self {
        self.options.clamp_times = limit;
        self
    }
    /// ECMA-119 8.4.5 system identifier (a-characters; mkisofs `-sysid`).
    pub fn system_id(&mut self, id: impl Into<String>) -> &mut Self {
        self.options.system_id = id.into();
        self
    }
    /// ECMA-119 8.4.20 publisher identifier (mkisofs `-publisher`).
    pub fn publisher(&mut self, id: impl Into<String>) -> &mut Self {
        self.options.publisher = id.into();
        self
    }
    /// ECMA-119 8.4.21 data preparer identifier (mkisofs `-p`).
    pub fn preparer(&mut self, id: impl Into<String>) -> &mut Self {
        self.options.preparer = id.into();
        self
    }
    /// ECMA-119 8.4.22 application identifier (mkisofs `-A`; default `GLASSMASTER` and the
    /// version).
    pub fn application(&mut self, id: impl Into<String>) -> &mut Self {
        self.options.application = id.into();
        self
    }
    /// ECMA-119 8.4.19 volume set identifier (mkisofs `-volset`).
    pub fn volume_set_id(&mut self, id: impl Into<String>) -> &mut Self {
        self.options.volume_set_id = id.into();
        self
    }
    /// ECMA-119 8.4.23-8.4.25 copyright, abstract and bibliographic file identifiers (files of
    /// the root directory, by their ISO 9660 names; empty: none).
    pub fn volume_files(
        &mut self,
        copyright: impl Into<String>,
        abstract_file: impl Into<String>,
        biblio: impl Into<String>,
    ) -> &mut Self {
        self.options.copyright_file = copyright.into();
        self.options.abstract_file = abstract_file.into();
        self.options.biblio_file = biblio.into();
        self
    }
    /// ECMA-119 8.4.26-8.4.29 volume dates that replace the defaults.
    pub fn volume_dates(&mut self, dates: VolumeDates) -> &mut Self {
        self.options.volume_dates = dates;
        self
    }
    /// Writes the volume and volume set identifiers as given (see
    /// [`Options::volume_ids_as_given`]).
    pub fn volume_ids_as_given(&mut self, on: bool) -> &mut Self {
        self.options.volume_ids_as_given = on;
        self
    }
    /// Joliet names keep characters outside the BMP as surrogate pairs (see
    /// [`Options::joliet_utf16`]).
    pub fn joliet_utf16(&mut self, on: bool) -> &mut Self {
        self.options.joliet_utf16 = on;
        self
    }
    /// Stores files with identical contents once (default on; CLI `--no-dedup` turns it off).
    pub fn dedup(&mut self, on: bool) -> &mut Self {
        self.options.dedup = on;
        self
    }
    /// Embeds a SHA-256 of every file (see [`Options::checksums`]; CLI `--checksums`).
    pub fn checksums(&mut self, on: bool) -> &mut Self {
        self.options.checksums = on;
        self
    }
    /// Zero blocks after the file data (default 150; see [`Options::padding_blocks`]).
    pub fn padding_blocks(&mut self, blocks: u32) -> &mut Self {
        self.options.padding_blocks = blocks;
        self
    }
    /// Replaces the Rock Ridge options (version, `-r` rationalised owners and modes, following
    /// links, special files, relocation directory); Rock Ridge itself is chosen with
    /// [`filesystems`](Self::filesystems).
    pub fn rock_ridge(&mut self, options: crate::format::rockridge::RockRidgeOptions) -> &mut Self {
        self.options.rock_ridge = options;
        self
    }
    /// Follows symbolic links while scanning (mkisofs `-f`; see
    /// [`RockRidgeOptions::follow_symlinks`](crate::RockRidgeOptions::follow_symlinks)).
    pub fn follow_symlinks(&mut self, on: bool) -> &mut Self {
        self.options.rock_ridge.follow_symlinks = on;
        self
    }
    /// Rationalised Rock Ridge owners and modes (mkisofs `-r`; see
    /// [`RockRidgeOptions::rationalize`](crate::RockRidgeOptions::rationalize)).
    pub fn rock_ridge_rationalize(&mut self, on: bool) -> &mut Self {
        self.options.rock_ridge.rationalize = on;
        self
    }
    /// The RRIP version recorded (default 1.12; CLI `--rr-version`).
    pub fn rock_ridge_version(
        &mut self,
        version: crate::format::rockridge::RripVersion,
    ) -> &mut Self {
        self.options.rock_ridge.version = version;
        self
    }
    /// What a scan does with device nodes, FIFOs and sockets (stored by default).
    pub fn special_files(&mut self, what: crate::format::rockridge::SpecialFiles) -> &mut Self {
        self.options.rock_ridge.special_files = what;
        self
    }
    /// Replaces the UDF options (revision, links and special files); UDF itself is chosen with
    /// [`filesystems`](Self::filesystems).
    pub fn udf(&mut self, options: crate::build::options::UdfOptions) -> &mut Self {
        self.options.udf = options;
        self
    }
    /// Records symbolic links and special files in the UDF tree (default on; CLI
    /// `--udf-no-links` turns it off: see
    /// [`UdfOptions::links_and_special_files`](crate::UdfOptions::links_and_special_files)).
    pub fn udf_links_and_special_files(&mut self, on: bool) -> &mut Self {
        self.options.udf.links_and_special_files = on;
        self
    }
    /// The UDF revision (default 2.01; CLI `--udf-rev`).
    pub fn udf_revision(&mut self, revision: crate::format::udf::UdfRevision) -> &mut Self {
        self.options.udf.revision = revision;
        self
    }

    /// The size of the file at `image_path`, if it is a regular file of the image.
    pub fn file_len(&self, image_path: &str) -> Option<u64> {
        let id = self.tree.lookup(image_path).ok()?;
        match self.tree.node(id).kind {
            crate::build::tree::NodeKind::File { data } => Some(self.tree.data[data as usize].len),
            _ => None,
        }
    }

    /// Adds an El Torito boot entry (the boot file must be in the image; entries keep their
    /// order, the first is the default).
    pub fn add_boot_entry(&mut self, entry: crate::build::boot::BootImage) -> &mut Self {
        self.options.boot.entries.push(entry);
        self
    }

    /// Where the boot catalog goes, and whether it is hidden.
    pub fn boot_catalog(&mut self, image_path: &str, hidden: bool) -> &mut Self {
        self.options.boot.catalog_path = image_path.to_string();
        self.options.boot.hide_catalog = hidden;
        self
    }

    /// The system area (blocks 0-15) as given, at most 32 KiB (`-G FILE`); not with
    /// [`hybrid`](Self::hybrid).
    pub fn system_area(&mut self, bytes: Vec<u8>) -> &mut Self {
        self.options.boot.system_area = Some(bytes);
        self
    }

    /// A hybrid MBR (and GPT) system area so the image boots from a USB stick.
    pub fn hybrid(&mut self, hybrid: crate::build::boot::Hybrid) -> &mut Self {
        self.options.boot.hybrid = Some(hybrid);
        self
    }

    /// Warnings gathered while adding (skipped special files, ...).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Creates an empty directory (and its parents).
    pub fn add_dir(&mut self, image_path: &str) -> Result<&mut Self> {
        self.add_dir_os(OsStr::new(image_path))
    }

    /// [`add_dir`](Self::add_dir) with an image path that may hold names that are not UTF-8
    /// (on Unix, its exact bytes: `OsStr::from_bytes`). Rock Ridge records such a name's
    /// bytes; ISO 9660, Joliet and UDF read each invalid byte as Latin-1, then apply their own
    /// name rules (the build warns once per name). The same holds for every `*_os` method.
    pub fn add_dir_os(&mut self, image_path: &OsStr) -> Result<&mut Self> {
        let p = TreePath::new(image_path);
        self.tree.mkdir_p(&p.text)?;
        self.tree.record_raw_names(&p);
        Ok(self)
    }

    /// Adds the file at `source` (on disk) as `image_path`. Its size and modification time are
    /// read now; if they differ when the image is rendered, rendering fails.
    pub fn add_file(&mut self, image_path: &str, source: impl AsRef<Path>) -> Result<&mut Self> {
        self.add_file_os(OsStr::new(image_path), source)
    }

    /// [`add_file`](Self::add_file) with a name that may not be UTF-8 (see
    /// [`add_dir_os`](Self::add_dir_os)).
    pub fn add_file_os(
        &mut self,
        image_path: &OsStr,
        source: impl AsRef<Path>,
    ) -> Result<&mut Self> {
        let image_path = TreePath::new(image_path);
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
            .add_file(&image_path.text, file_data_from_disk(source, &md))?;
        self.tree.record_raw_names(&image_path);
        self.tree
            .node_mut(id)
            .set_mtime(md.modified().ok().map(DateTime::<Utc>::from));
        Ok(self)
    }

    /// Adds bytes held in memory as `image_path`.
    pub fn add_bytes(&mut self, image_path: &str, bytes: impl Into<Bytes>) -> Result<&mut Self> {
        self.add_bytes_os(OsStr::new(image_path), bytes)
    }

    /// [`add_bytes`](Self::add_bytes) with a name that may not be UTF-8 (see
    /// [`add_dir_os`](Self::add_dir_os)).
    pub fn add_bytes_os(
        &mut self,
        image_path: &OsStr,
        bytes: impl Into<Bytes>,
    ) -> Result<&mut Self> {
        let p = TreePath::new(image_path);
        let bytes = bytes.into();
        let len = bytes.len() as u64;
        self.tree.add_file(
            &p.text,
            FileData {
                source: Source::Bytes(bytes),
                len,
            },
        )?;
        self.tree.record_raw_names(&p);
        Ok(self)
    }

    /// Adds a file whose `len` bytes come from a caller-supplied reader factory. `open` is
    /// called each time the bytes are needed from the start: once to hash the file for
    /// deduplication when another file has the same size, once per write, and again on every
    /// backward seek of an [`ImageStream`](crate::ImageStream) into the file (which then reads
    /// and drops the bytes before the position: O(offset) per seek). For a source that can
    /// seek, [`add_seekable`](Self::add_seekable) opens once; for a pipe,
    /// [`add_stream`](Self::add_stream). A reader that yields fewer or more than `len` bytes
    /// makes rendering fail ([`Error::SourceChanged`]). See "Sources and what they cost" on
    /// [`ImageBuilder`].
    pub fn add_reader<F>(&mut self, image_path: &str, len: u64, open: F) -> Result<&mut Self>
    where
        F: Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    {
        self.add_reader_os(OsStr::new(image_path), len, open)
    }

    /// [`add_reader`](Self::add_reader) with a name that may not be UTF-8 (see
    /// [`add_dir_os`](Self::add_dir_os)).
    pub fn add_reader_os<F>(&mut self, image_path: &OsStr, len: u64, open: F) -> Result<&mut Self>
    where
        F: Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    {
        self.add_source_os(image_path, len, Source::Reader(Arc::new(open)))
    }

    /// Adds a file whose `len` bytes come from a caller's `Read + Seek` source (a file handle,
    /// an object in a store read by ranges, a cursor). `open` is normally called once: the
    /// handle it returns is kept and seeked for every later use (deduplication hashing, each
    /// write, every seek of an [`ImageStream`](crate::ImageStream), forward or backward, costs
    /// one `seek` on it, never a re-read). It is called again only when two users need the
    /// file at the same time (two image streams reading it at once: each gets a handle) or
    /// after a read or seek on the handle failed (the failed handle is dropped). Memory: the
    /// handle, nothing per seek. The source's own errors keep their kind and cause
    /// ([`Error::SourceRead`] naming the image path); a source that yields fewer or more than
    /// `len` bytes makes rendering fail ([`Error::SourceChanged`]).
    pub fn add_seekable<R, F>(&mut self, image_path: &str, len: u64, open: F) -> Result<&mut Self>
    where
        R: Read + io::Seek + Send + 'static,
        F: Fn() -> io::Result<R> + Send + Sync + 'static,
    {
        self.add_seekable_os(OsStr::new(image_path), len, open)
    }

    /// [`add_seekable`](Self::add_seekable) with a name that may not be UTF-8 (see
    /// [`add_dir_os`](Self::add_dir_os)).
    pub fn add_seekable_os<R, F>(
        &mut self,
        image_path: &OsStr,
        len: u64,
        open: F,
    ) -> Result<&mut Self>
    where
        R: Read + io::Seek + Send + 'static,
        F: Fn() -> io::Result<R> + Send + Sync + 'static,
    {
        let open: crate::build::source::OpenSeekable =
            Box::new(move || open().map(|r| Box::new(r) as Box<dyn crate::build::base::ReadSeek>));
        let src = crate::build::source::SeekableSource::new(open);
        self.add_source_os(image_path, len, Source::Seekable(Arc::new(src)))
    }

    /// Adds a file whose `len` bytes are read once, start to end, from `reader` (a pipe, a
    /// socket, a decompressor): no `open`, no `seek`, nothing held but the reader. The build
    /// must read it exactly once, in order: it is never hashed for deduplication (it is never
    /// shared with an identical file), and it is read by the one write of the image
    /// ([`build_to_path`](Self::build_to_path), [`Image::write_to`](crate::Image::write_to),
    /// `write_to_path`, `write_to_file`, or an [`ImageStream`](crate::ImageStream) read forward).
    /// Any second use is refused with [`Error::SourceReadTwice`] naming the file, never a wrong
    /// image: a backward seek of an image stream into its bytes (or a read of bytes before the
    /// first one read), a second write of the image, or a boot info table that reads the file
    /// at layout time. [`Options::checksums`] (which hash every file before the write) are
    /// refused by `build` with [`Error::InvalidOption`]. A reader that yields fewer or more than
    /// `len` bytes makes the write fail ([`Error::SourceChanged`]); its own errors keep their
    /// kind and cause ([`Error::Source`] naming the image path).
    pub fn add_stream<R>(&mut self, image_path: &str, len: u64, reader: R) -> Result<&mut Self>
    where
        R: Read + Send + 'static,
    {
        self.add_stream_os(OsStr::new(image_path), len, reader)
    }

    /// [`add_stream`](Self::add_stream) with a name that may not be UTF-8 (see
    /// [`add_dir_os`](Self::add_dir_os)).
    pub fn add_stream_os<R>(&mut self, image_path: &OsStr, len: u64, reader: R) -> Result<&mut Self>
    where
        R: Read + Send + 'static,
    {
        let src = crate::build::source::StreamSource::new(Box::new(reader));
        self.add_source_os(image_path, len, Source::Stream(Arc::new(src)))
    }

    fn add_source_os(&mut self, image_path: &OsStr, len: u64, source: Source) -> Result<&mut Self> {
        let p = TreePath::new(image_path);
        self.tree.add_file(&p.text, FileData { source, len })?;
        self.tree.record_raw_names(&p);
        Ok(self)
    }

    /// Sets an entry's modification time (written in its directory records).
    pub fn set_mtime(&mut self, image_path: &str, t: DateTime<Utc>) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        self.tree.node_mut(id).set_mtime(Some(t));
        Ok(self)
    }

    /// Leaves the entries a scan meets out of the image when `filter` returns `true` for their
    /// source path (mkisofs `-m`; a directory with everything below it, unread). Applies to the
    /// scans that follow ([`add_tree`](Self::add_tree)).
    pub fn exclude(&mut self, filter: Option<ScanFilter>) -> &mut Self {
        self.exclude = filter;
        self
    }

    /// With `on`, an entry added (or scanned) at the path of an existing file, symbolic link or
    /// special file replaces it, and a directory merges with an existing directory, as later
    /// mkisofs pathspecs override earlier ones; a non-directory at the path of a directory
    /// stays an error (`DuplicatePath`). Off by default: every duplicate path is an error.
    pub fn later_sources_win(&mut self, on: bool) -> &mut Self {
        self.tree.later_wins = on;
        self
    }

    /// Leaves an entry out of the ISO 9660 / Rock Ridge directories (`iso`) and/or the Joliet
    /// directories (`joliet`), as mkisofs `-hide` and `-hide-joliet` do: its data stays in the
    /// image, and UDF still shows it.
    pub fn hide_in_views(
        &mut self,
        image_path: &str,
        iso: bool,
        joliet: bool,
    ) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        let mut mask = 0;
        if iso {
            mask |= crate::build::tree::OUT_OF_ISO;
        }
        if joliet {
            mask |= crate::build::tree::OUT_OF_JOLIET;
        }
        self.tree.leave_out(id, mask);
        Ok(self)
    }

    /// Sets or clears an entry's hidden flag (ECMA-119 9.1.6 "existence" bit).
    pub fn set_hidden(&mut self, image_path: &str, hidden: bool) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        self.tree.set_hidden(id, hidden);
        Ok(self)
    }

    /// Adds the contents of directory `source_dir` under `image_path` (created if missing),
    /// as [`add_file`](Self::add_file) takes the image path first. `progress` gets the
    /// [`Phase::Scan`] phase: `scanned` per entry, and `query_abort` polled once per directory
    /// entry (pass `&mut NoProgress` for none; [`Error::Aborted`] when it asks to stop).
    pub fn add_tree(
        &mut self,
        image_path: &str,
        source_dir: impl AsRef<Path>,
        progress: &mut dyn Progress,
    ) -> Result<&mut Self> {
        let source_dir = source_dir.as_ref();
        progress.begin(Phase::Scan, 0);
        let r = self.scan(source_dir, image_path, progress);
        progress.end(Phase::Scan, Outcome::of(&r));
        r.map(|_| self)
    }

    /// The entries of the tree as built so far (IMAPI's IFsiDirectoryItem enumeration): each
    /// directory before its contents, depth first, a directory's entries in the order they
    /// were added (a scan adds them in byte order of their names); the root itself is not
    /// listed. Every hard link is listed (with the same size and source).
    pub fn entries(&self) -> impl Iterator<Item = TreeEntry> + '_ {
        let tree = &self.tree;
        let mut stack: Vec<NodeId> = tree.node(0).children().iter().rev().copied().collect();
        std::iter::from_fn(move || {
            let id = stack.pop()?;
            let node = tree.node(id);
            stack.extend(node.children().iter().rev().copied());
            let (kind, size, source) = match &node.kind {
                NodeKind::Dir { .. } => (EntryKind::Directory, 0, SourceKind::None),
                NodeKind::File { data } => {
                    let fd = tree.data.get(*data as usize);
                    let source = match fd.map(|d| &d.source) {
                        Some(Source::Path { .. } | Source::Scanned { .. }) => tree
                            .source_file(*data)
                            .map_or(SourceKind::None, |(p, _)| SourceKind::Disk(p)),
                        Some(Source::Bytes(_)) => SourceKind::Bytes,
                        Some(Source::Reader(_)) => SourceKind::Reader,
                        Some(Source::Seekable(_)) => SourceKind::Seekable,
                        Some(Source::Stream(_)) => SourceKind::Stream,
                        Some(Source::Generated(_)) => SourceKind::Generated,
                        Some(Source::Slice { .. }) => SourceKind::Slice,
                        Some(Source::Base { .. }) => SourceKind::BaseImage,
                        None => SourceKind::None,
                    };
                    (EntryKind::File, fd.map_or(0, |d| d.len), source)
                }
                NodeKind::Symlink { target } => (
                    EntryKind::Symlink {
                        target: std::ffi::OsString::from(crate::build::tree::os_name(target)),
                    },
                    0,
                    SourceKind::None,
                ),
                NodeKind::Special { kind, .. } => (EntryKind::Special(*kind), 0, SourceKind::None),
            };
            Some(TreeEntry {
                path: tree.path_of(id),
                kind,
                size,
                source,
                mtime: node.mtime,
                hidden: tree.is_hidden(id),
            })
        })
    }

    /// Scans on the caller's thread, with a second thread listing and `lstat`ing directories
    /// ahead of it when the machine has two cores or more (see [`Prefetcher`]).
    fn scan(
        &mut self,
        source_dir: &Path,
        image_path: &str,
        progress: &mut dyn Progress,
    ) -> Result<()> {
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return self.scan_with(source_dir, image_path, progress, None);
        }
        let prefetch = Prefetcher::default();
        std::thread::scope(|s| {
            s.spawn(|| prefetch.run());
            // Stops the helper however the scan ends (even by a panic, or the scope would
            // wait for it forever).
            struct StopOnDrop<'a>(&'a Prefetcher);
            impl Drop for StopOnDrop<'_> {
                fn drop(&mut self) {
                    self.0.stop();
                }
            }
            let _stop = StopOnDrop(&prefetch);
            self.scan_with(source_dir, image_path, progress, Some(&prefetch))
        })
    }

    fn scan_with(
        &mut self,
        source_dir: &Path,
        image_path: &str,
        progress: &mut dyn Progress,
        prefetch: Option<&Prefetcher>,
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
            self.tree
                .node_mut(root)
                .set_mtime(md.modified().ok().map(DateTime::<Utc>::from));
        }
        let rr = self.options.filesystems.contains(FileSystems::ROCK_RIDGE);
        // Owners, modes and times: Rock Ridge (PX, TF) and UDF file entries (ECMA-167 4/14.9)
        // both record them.
        let posix_meta = rr || self.options.filesystems.contains(FileSystems::UDF);
        let rr_opts = self.options.rock_ridge.clone();
        let follow = rr_opts.follow_symlinks;
        let skip_unreadable = self.options.skip_unreadable;
        // With -f, links are followed; one whose target lies outside the source tree is named
        // in a warning (the image then holds files from elsewhere on the machine).
        let canonical_root = if follow {
            fs::canonicalize(source_dir).ok()
        } else {
            None
        };
        // Depth-first with an explicit stack; (dev, inode) of the directories on the current
        // path detect loops through followed symlinks. `fresh`: the directory was created by
        // this scan, so its entries (distinct names from one directory) need no duplicate
        // check and no name index.
        struct Pending {
            dir: PathBuf,
            node: NodeId,
            ancestors: Vec<DirKey>,
            fresh: bool,
            image_path: String,
        }
        let mut stack = vec![Pending {
            dir: source_dir.to_path_buf(),
            node: root,
            ancestors: vec![dir_key(&md)],
            fresh: false,
            image_path: self.tree.path_of(root),
        }];
        let mut shown = String::new();
        while let Some(Pending {
            dir,
            node,
            ancestors,
            fresh,
            image_path,
        }) = stack.pop()
        {
            let listing = match prefetch.and_then(|p| p.take(&dir)) {
                Some(l) => l,
                None => list_dir(&dir),
            };
            let entries = listing.map_err(|e| Error::Source {
                path: dir.clone(),
                source: e,
            })?;
            let dir_index = u32::try_from(self.tree.scan_dirs.len())
                .map_err(|_| Error::InvalidOption("more than 4 billion directories".into()))?;
            self.tree.scan_dirs.push(dir.clone());
            for (os_name, lmd) in entries {
                if progress.query_abort() {
                    return Err(Error::Aborted);
                }
                let path = || dir.join(&os_name);
                if let Some(f) = &self.exclude {
                    if (f.0)(&path()) {
                        continue;
                    }
                }
                // A name that is not UTF-8 keeps its exact bytes (Rock Ridge NM writes them;
                // the other views map them, see `Tree::view_name`); the tree's string name
                // escapes them reversibly.
                let (name, raw) = match os_name.to_str() {
                    Some(n) => (n.to_string(), None),
                    None => {
                        let raw = os_name.as_encoded_bytes().to_vec();
                        (crate::build::tree::escape_name(&raw), Some(raw))
                    }
                };
                let lmd = lmd.map_err(|e| Error::Source {
                    path: path(),
                    source: e,
                })?;
                shown.clear();
                shown.push_str(&image_path);
                if !image_path.ends_with('/') {
                    shown.push('/');
                }
                shown.push_str(&name);
                if lmd.file_type().is_symlink() && !follow {
                    // A link is recorded as a link (Rock Ridge SL, UDF symbolic-link file
                    // entries; the views that cannot hold one leave it out with a warning).
                    // What it points to is never opened.
                    let target = fs::read_link(path()).map_err(|e| Error::Source {
                        path: path(),
                        source: e,
                    })?;
                    // The exact bytes (Rock Ridge SL keeps a target that is not UTF-8).
                    let kind = NodeKind::Symlink {
                        target: Box::new(target.into_os_string().into_encoded_bytes()),
                    };
                    let id = self.insert_scanned(node, &name, kind, fresh)?;
                    self.set_scanned_meta(id, &lmd, posix_meta, raw.as_deref());
                    progress.scanned(&shown);
                    continue;
                }
                // With -f, symbolic links are followed.
                let is_link = lmd.file_type().is_symlink();
                let md = if is_link {
                    match fs::metadata(path()) {
                        Ok(md) => md,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {
                            self.warnings.push(scanned(
                                &self.tree,
                                node,
                                &os_name,
                                &path(),
                                WarningKind::DanglingLinkSkipped,
                                "dangling symbolic link skipped",
                            ));
                            continue;
                        }
                        // A chain of links that ends in itself (a -> b -> a): skipped as a
                        // dangling link is, not an error that stops the whole build.
                        Err(e) if is_link_loop(&e) => {
                            self.warnings.push(scanned(
                                &self.tree,
                                node,
                                &os_name,
                                &path(),
                                WarningKind::LinkLoopSkipped,
                                "symbolic link loop skipped (its chain of links never ends)",
                            ));
                            continue;
                        }
                        Err(e) => {
                            return Err(Error::Source {
                                path: path(),
                                source: e,
                            })
                        }
                    }
                } else {
                    lmd
                };
                if is_link {
                    if let Some(root) = &canonical_root {
                        match fs::canonicalize(path()) {
                            Ok(t) if t.starts_with(root) => {}
                            Ok(t) => self.warnings.push(scanned(
                                &self.tree,
                                node,
                                &os_name,
                                &path(),
                                WarningKind::LinkOutsideTree,
                                format_args!(
                                    "symbolic link followed to {}, outside the source tree {}",
                                    shown_os(&t),
                                    shown_os(root)
                                ),
                            )),
                            Err(_) => self.warnings.push(scanned(
                                &self.tree,
                                node,
                                &os_name,
                                &path(),
                                WarningKind::LinkOutsideTree,
                                "symbolic link followed; its target could not be resolved to check that it lies inside the source tree",
                            )),
                        }
                    }
                }
                // Checked before the entry is added, so that a directory that cannot be listed
                // or a file that cannot be opened leaves nothing behind.
                if skip_unreadable && (md.is_dir() || md.is_file()) {
                    let readable = if md.is_dir() {
                        fs::read_dir(path()).map(drop)
                    } else {
                        fs::File::open(path()).map(drop)
                    };
                    if let Err(e) = readable {
                        self.warnings.push(scanned(
                            &self.tree,
                            node,
                            &os_name,
                            &path(),
                            WarningKind::UnreadableSkipped,
                            format_args!("not readable, skipped ({e}; --skip-unreadable)"),
                        ));
                        continue;
                    }
                }
                if md.is_dir() {
                    let key = dir_key(&md);
                    if key.is_some() && ancestors.contains(&key) {
                        self.warnings.push(scanned(
                            &self.tree,
                            node,
                            &os_name,
                            &path(),
                            WarningKind::LinkLoopSkipped,
                            "symbolic link loop skipped",
                        ));
                        continue;
                    }
                    let existed = !fresh && self.tree.child(node, &name).is_some();
                    let id = if fresh {
                        let kind = NodeKind::Dir {
                            children: Box::default(),
                        };
                        self.tree.push_unchecked(node, &name, kind)?
                    } else {
                        self.tree.add_dir_in(node, &name)?
                    };
                    self.set_scanned_meta(id, &md, posix_meta, raw.as_deref());
                    progress.scanned(&shown);
                    let mut anc = ancestors.clone();
                    anc.push(key);
                    if let Some(p) = prefetch {
                        p.offer(path());
                    }
                    stack.push(Pending {
                        dir: path(),
                        node: id,
                        ancestors: anc,
                        fresh: !existed,
                        image_path: shown.clone(),
                    });
                } else if md.is_file() {
                    // Hard links (same device and inode) share one data entry: stored once.
                    let link_key = hard_link_key(&md);
                    let existing = link_key.and_then(|k| self.hard_links.get(&k).copied());
                    let id = match existing {
                        Some(data) => {
                            self.insert_scanned(node, &name, NodeKind::File { data }, fresh)?
                        }
                        None => {
                            // The node about to be pushed reads this data (an imported
                            // entry it replaces stays in the arena, detached).
                            let next = self.tree.nodes.len() as NodeId;
                            let source = if cfg!(unix) || raw.is_none() {
                                Source::Scanned {
                                    dir: dir_index,
                                    node: next,
                                    stamp: crate::build::tree::Stamp::of(&md),
                                }
                            } else {
                                Source::Path {
                                    path: path(),
                                    stamp: Box::new(crate::build::tree::Stamp::of(&md)),
                                }
                            };
                            let fd = FileData {
                                source,
                                len: md.len(),
                            };
                            let id = if fresh {
                                let data = self.tree.push_data(fd)?;
                                self.tree
                                    .push_unchecked(node, &name, NodeKind::File { data })?
                            } else {
                                self.tree.add_file_in(node, &name, fd)?
                            };
                            debug_assert_eq!(id, next);
                            let NodeKind::File { data } = self.tree.node(id).kind else {
                                return Err(Error::InvalidOption("scanned file lost".into()));
                            };
                            if let Some(k) = link_key {
                                self.hard_links.insert(k, data);
                            }
                            id
                        }
                    };
                    self.set_scanned_meta(id, &md, posix_meta, raw.as_deref());
                    progress.scanned(&shown);
                } else if let (crate::format::rockridge::SpecialFiles::Store, Some((kind, rdev))) =
                    (rr_opts.special_files, special_kind(&md))
                {
                    // Recorded as what it is (Rock Ridge, UDF); views that cannot hold it
                    // leave it out with a warning.
                    let kind = NodeKind::Special { kind, rdev };
                    let id = self.insert_scanned(node, &name, kind, fresh)?;
                    self.set_scanned_meta(id, &md, posix_meta, raw.as_deref());
                    progress.scanned(&shown);
                } else {
                    self.warnings.push(scanned(
                        &self.tree,
                        node,
                        &os_name,
                        &path(),
                        WarningKind::SpecialSkipped,
                        "not a regular file or directory, skipped",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds a scanned non-directory entry: unchecked in a directory the scan created, else
    /// with the duplicate check.
    fn insert_scanned(
        &mut self,
        parent: NodeId,
        name: &str,
        kind: NodeKind,
        fresh: bool,
    ) -> Result<NodeId> {
        if fresh {
            self.tree.push_unchecked(parent, name, kind)
        } else {
            self.tree.add_node_in(parent, name, kind)
        }
    }

    /// Records an entry's modification time and, with Rock Ridge or UDF, its POSIX metadata.
    fn set_scanned_meta(
        &mut self,
        id: NodeId,
        md: &fs::Metadata,
        posix_meta: bool,
        raw_name: Option<&[u8]>,
    ) {
        if let Some(raw) = raw_name {
            self.tree.raw_names.insert(id, raw.into());
        }
        let mtime = md.modified().ok().map(DateTime::<Utc>::from);
        let posix = posix_meta.then(|| self.tree.share_posix(posix_from(md).relative_to(mtime)));
        let node = self.tree.node_mut(id);
        node.set_mtime(mtime);
        node.posix = posix;
    }

    /// Adds a symbolic link: recorded by Rock Ridge (SL) and UDF; ISO 9660 without Rock Ridge
    /// and Joliet cannot record one and leave it out (the build warns).
    pub fn add_symlink(&mut self, image_path: &str, target: &str) -> Result<&mut Self> {
        self.add_symlink_os(OsStr::new(image_path), OsStr::new(target))
    }

    /// [`add_symlink`](Self::add_symlink) with a name and a target that may not be UTF-8 (see
    /// [`add_dir_os`](Self::add_dir_os)): Rock Ridge records the target's exact bytes, UDF its
    /// Latin-1 reading.
    pub fn add_symlink_os(&mut self, image_path: &OsStr, target: &OsStr) -> Result<&mut Self> {
        let p = TreePath::new(image_path);
        self.tree.add_node(
            &p.text,
            NodeKind::Symlink {
                target: Box::new(target.as_encoded_bytes().to_vec()),
            },
        )?;
        self.tree.record_raw_names(&p);
        Ok(self)
    }

    /// Adds a device node, FIFO or socket: recorded by Rock Ridge and UDF, left out (with a
    /// warning) of ISO 9660 without Rock Ridge and Joliet. `major`/`minor` are used for
    /// devices only.
    pub fn add_special(
        &mut self,
        image_path: &str,
        kind: SpecialKind,
        major: u32,
        minor: u32,
    ) -> Result<&mut Self> {
        self.add_special_os(OsStr::new(image_path), kind, major, minor)
    }

    /// [`add_special`](Self::add_special) with a name that may not be UTF-8 (see
    /// [`add_dir_os`](Self::add_dir_os)).
    pub fn add_special_os(
        &mut self,
        image_path: &OsStr,
        kind: SpecialKind,
        major: u32,
        minor: u32,
    ) -> Result<&mut Self> {
        let p = TreePath::new(image_path);
        let rdev = crate::format::rockridge::rrip::make_rdev(major, minor);
        self.tree
            .add_node(&p.text, NodeKind::Special { kind, rdev })?;
        self.tree.record_raw_names(&p);
        Ok(self)
    }

    /// Adds another name for the file at `existing` (a hard link: stored once, same serial
    /// number, link count counted).
    pub fn add_hard_link(&mut self, image_path: &str, existing: &str) -> Result<&mut Self> {
        let id = self.tree.lookup(existing)?;
        let crate::build::tree::NodeKind::File { data } = self.tree.node(id).kind else {
            return Err(Error::InvalidPath {
                path: existing.to_string(),
                reason: "only regular files can be hard-linked".into(),
            });
        };
        let comps = crate::build::tree::split_path(image_path)?;
        let (name, dirs) = comps.split_last().ok_or_else(|| Error::InvalidPath {
            path: image_path.to_string(),
            reason: "a link needs a name".into(),
        })?;
        let parent = self.tree.mkdir_p(&dirs.join("/"))?;
        self.tree.add_link_in(parent, name, data)?;
        Ok(self)
    }

    /// Sets the placement weight of a file or directory (mkisofs `-sort`): file data with higher
    /// weights is placed first (nearer the start of the disc, for example boot files); a
    /// directory's weight applies to everything below it unless set again deeper; the default
    /// weight is 0, and equal weights keep the order files were added.
    pub fn set_weight(&mut self, image_path: &str, weight: i32) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        self.tree.weights.insert(id, weight);
        Ok(self)
    }

    /// Sets an entry's POSIX permission bits (the low 12 bits of `st_mode`; Rock Ridge).
    pub fn set_mode(&mut self, image_path: &str, perm: u32) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        let default = default_posix(&self.tree, id);
        self.tree.node_mut(id).posix_mut(|| default).perm = perm & 0o7777;
        Ok(self)
    }

    /// Sets an entry's owner and group (Rock Ridge).
    pub fn set_owner(&mut self, image_path: &str, uid: u32, gid: u32) -> Result<&mut Self> {
        let id = self.tree.lookup(image_path)?;
        let default = default_posix(&self.tree, id);
        let p = self.tree.node_mut(id).posix_mut(|| default);
        p.uid = uid;
        p.gid = gid;
        Ok(self)
    }
}

type DirKey = Option<(u64, u64)>;

/// A warning about an entry of a scanned tree: it names its image path (as the layout's
/// warnings name entries) and its source path, both escaped:
/// `/docs/link (source src/docs/link): detail`.
fn scanned(
    tree: &Tree,
    parent: NodeId,
    name: &std::ffi::OsStr,
    source: &Path,
    kind: WarningKind,
    detail: impl std::fmt::Display,
) -> Warning {
    let mut image = tree.path_bytes(parent);
    if !image.ends_with(b"/") {
        image.push(b'/');
    }
    image.extend_from_slice(name.as_encoded_bytes());
    let image = crate::build::tree::printable_bytes(&image);
    let text = format!("{image} (source {}): {detail}", shown_os(source));
    Warning::new(kind, Some(image), text)
}

/// A path on disk for a message: exact bytes, escaped ([`crate::build::tree::printable_bytes`]).
fn shown_os(p: &Path) -> String {
    crate::build::tree::printable_bytes(p.as_os_str().as_encoded_bytes())
}

/// A directory's entries sorted by name, each with its `lstat` (or the error getting it).
type Listing = io::Result<Vec<(std::ffi::OsString, io::Result<fs::Metadata>)>>;

/// Lists `dir`: names in byte order (deterministic whatever the file system's readdir order
/// is), each `lstat`ed relative to the open directory (no walk of the whole path).
fn list_dir(dir: &Path) -> Listing {
    let mut entries = Vec::new();
    for ent in fs::read_dir(dir)? {
        let ent = ent?;
        entries.push((ent.file_name(), ent));
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(entries
        .into_iter()
        .map(|(name, ent)| {
            let md = ent.metadata();
            (name, md)
        })
        .collect())
}

/// Directories listed ahead of the scan by a second thread. The scan offers each directory it
/// will visit; the helper lists the oldest offered (the scan, depth first, takes the newest),
/// so the two meet in the middle. The scan takes a finished listing, waits for one in
/// progress, or lists the directory itself: a listing is the same whoever made it, so the
/// tree does not depend on thread timing. At most [`Prefetcher::AHEAD`] listings wait.
#[derive(Default)]
struct Prefetcher {
    state: std::sync::Mutex<PrefetchState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct PrefetchState {
    queue: std::collections::VecDeque<PathBuf>,
    in_flight: Option<PathBuf>,
    done: std::collections::HashMap<PathBuf, Listing>,
    stop: bool,
}

impl Prefetcher {
    const AHEAD: usize = 256;

    fn lock(&self) -> std::sync::MutexGuard<'_, PrefetchState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn offer(&self, dir: PathBuf) {
        self.lock().queue.push_back(dir);
        self.changed.notify_all();
    }

    fn take(&self, dir: &Path) -> Option<Listing> {
        let mut st = self.lock();
        loop {
            if let Some(l) = st.done.remove(dir) {
                self.changed.notify_all();
                return Some(l);
            }
            if st.in_flight.as_deref() == Some(dir) {
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            if let Some(i) = st.queue.iter().rposition(|d| d == dir) {
                st.queue.remove(i);
            }
            return None;
        }
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }

    fn run(&self) {
        let mut st = self.lock();
        loop {
            if st.stop {
                return;
            }
            if st.done.len() >= Self::AHEAD || st.queue.is_empty() {
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let Some(dir) = st.queue.pop_front() else {
                continue;
            };
            st.in_flight = Some(dir.clone());
            drop(st);
            let listing = list_dir(&dir);
            st = self.lock();
            st.in_flight = None;
            st.done.insert(dir, listing);
            self.changed.notify_all();
        }
    }
}

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
            stamp: Box::new(crate::build::tree::Stamp::of(md)),
        },
        len: md.len(),
    }
}

/// Whether following a link failed because its chain of links loops (ELOOP).
#[cfg(unix)]
fn is_link_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
}
#[cfg(not(unix))]
fn is_link_loop(_e: &io::Error) -> bool {
    false
}

/// POSIX metadata of a scanned entry.
#[cfg(unix)]
fn posix_from(md: &fs::Metadata) -> NodeMeta {
    use std::os::unix::fs::MetadataExt;
    let t = |secs: i64, nanos: i64| {
        DateTime::<Utc>::from_timestamp(secs, nanos.clamp(0, 999_999_999) as u32)
    };
    NodeMeta {
        perm: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        // Not the access time: reading the files to build an image changes it (relatime), so a
        // second build of the same tree would differ. Rock Ridge records mtime in its place.
        atime: None,
        ctime: t(md.ctime(), md.ctime_nsec()),
        crtime: md.created().ok().map(DateTime::<Utc>::from),
        ..NodeMeta::default()
    }
}
#[cfg(not(unix))]
fn posix_from(md: &fs::Metadata) -> NodeMeta {
    NodeMeta {
        perm: if md.permissions().readonly() {
            0o444
        } else {
            0o644
        } | if md.is_dir() { 0o111 } else { 0 },
        atime: None, // see the unix version
        crtime: md.created().ok().map(DateTime::<Utc>::from),
        ..NodeMeta::default()
    }
}

/// The metadata an entry has before the caller changes it: default permissions by kind.
fn default_posix(tree: &Tree, id: NodeId) -> NodeMeta {
    NodeMeta {
        perm: tree.node(id).mode() & 0o7777,
        ..NodeMeta::default()
    }
}

/// (device, inode) of a file with more than one link.
#[cfg(unix)]
fn hard_link_key(md: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    (md.nlink() > 1).then(|| (md.dev(), md.ino()))
}
#[cfg(not(unix))]
fn hard_link_key(_md: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The kind and device number of a special file.
#[cfg(unix)]
fn special_kind(md: &fs::Metadata) -> Option<(SpecialKind, u64)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let ft = md.file_type();
    let kind = if ft.is_char_device() {
        SpecialKind::CharDevice
    } else if ft.is_block_device() {
        SpecialKind::BlockDevice
    } else if ft.is_fifo() {
        SpecialKind::Fifo
    } else if ft.is_socket() {
        SpecialKind::Socket
    } else {
        return None;
    };
    Some((kind, md.rdev()))
}
#[cfg(not(unix))]
fn special_kind(_md: &fs::Metadata) -> Option<(SpecialKind, u64)> {
    None
}
