//! Where a file's bytes come from ([`Source`]), and the one place sources are opened: plainly
//! ([`open_file_data`], for hashing and reading whole files) or checked against what was
//! scanned ([`open_checked`], [`read_whole_file`]: the stream, the single-pass writer). A
//! checked file on disk is compared by `fstat` on the open descriptor (size, identity, times)
//! when opened and once its last byte is read.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use std::time::SystemTime;

use crate::build::tree::{DataId, FileData, NodeId, NodeKind, Tree};
use crate::error::Error;

/// Opens a caller-supplied stream of a file's bytes; called again to re-read (for example after a
/// backwards seek of the image stream).
pub type OpenReader = Arc<dyn Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync>;

/// Opens a caller's seekable source ([`crate::ImageBuilder::add_seekable`]).
pub type OpenSeekable = Box<dyn Fn() -> io::Result<Box<dyn ReadSeek>> + Send + Sync>;

/// A caller's `Read + Seek` source, opened once and seeked: the handle is kept between uses
/// (deduplication hashing, the image stream, the writer) and handed to the next user, so the
/// opener runs again only when two users need it at the same time (two image streams read the
/// same file at once) or after a read or seek of the handle failed (it is then dropped).
pub(crate) struct SeekableSource {
    open: OpenSeekable,
    idle: std::sync::Mutex<Option<Box<dyn ReadSeek>>>,
}

impl SeekableSource {
    pub(crate) fn new(open: OpenSeekable) -> SeekableSource {
        SeekableSource {
            open,
            idle: std::sync::Mutex::new(None),
        }
    }

    /// The handle positioned at byte `at`: the idle one if there is one, else a new one.
    pub(crate) fn handle_at(self: &Arc<Self>, at: u64) -> io::Result<SeekHandle> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).take();
        let inner = match idle {
            Some(h) => h,
            None => (self.open)()?,
        };
        let mut h = SeekHandle {
            src: self.clone(),
            inner: Some(inner),
            failed: false,
        };
        h.seek(io::SeekFrom::Start(at))?;
        Ok(h)
    }
}

/// A handle of a [`SeekableSource`] in use; dropping it hands it back unless it failed.
pub(crate) struct SeekHandle {
    src: Arc<SeekableSource>,
    inner: Option<Box<dyn ReadSeek>>,
    failed: bool,
}

impl SeekHandle {
    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if matches!(&r, Err(e) if e.kind() != io::ErrorKind::Interrupted) {
            self.failed = true;
        }
        r
    }
}

impl Read for SeekHandle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match self.inner.as_mut() {
            Some(h) => h.read(buf),
            None => Err(io::Error::other("seekable source handle already returned")),
        };
        self.note(r)
    }
}

impl io::Seek for SeekHandle {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let r = match self.inner.as_mut() {
            Some(h) => h.seek(pos),
            None => Err(io::Error::other("seekable source handle already returned")),
        };
        self.note(r)
    }
}

impl Drop for SeekHandle {
    fn drop(&mut self) {
        if self.failed {
            return;
        }
        if let Some(h) = self.inner.take() {
            let mut idle = self.src.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.is_none() {
                *idle = Some(h);
            }
        }
    }
}

/// A caller's one-shot source (a pipe, a socket: [`crate::ImageBuilder::add_stream`]): read once,
/// start to end. Taking it a second time is an error ([`Error::SourceReadTwice`]).
pub(crate) struct StreamSource {
    reader: std::sync::Mutex<Option<Box<dyn Read + Send>>>,
}

impl StreamSource {
    pub(crate) fn new(reader: Box<dyn Read + Send>) -> StreamSource {
        StreamSource {
            reader: std::sync::Mutex::new(Some(reader)),
        }
    }

    /// The reader, the first time; `None` once it was taken.
    pub(crate) fn take(&self) -> Option<Box<dyn Read + Send>> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Where a file's bytes come from.
#[derive(Clone)]
pub(crate) enum Source {
    /// A file on disk, with its identity and times seen when it was added (to detect changes).
    /// The stamp is boxed: files added one by one are few next to scanned ones, and a
    /// 48-byte stamp inline made this the largest variant (every file's `FileData` paid for it).
    Path { path: PathBuf, stamp: Box<Stamp> },
    /// A file found by a directory scan: node `node`'s name (its exact bytes) in scanned source
    /// directory `dir` ([`Tree::scan_dirs`]), with its identity and times seen when scanned.
    /// Holds no path of its own: the path is rebuilt when the file is opened.
    Scanned {
        dir: u32,
        node: NodeId,
        stamp: Stamp,
    },
    /// Bytes in memory.
    Bytes(Bytes),
    /// A caller-supplied reader factory.
    Reader(OpenReader),
    /// A caller's `Read + Seek` source, opened once and seeked.
    Seekable(Arc<SeekableSource>),
    /// A caller's one-shot reader: read once, start to end, by the write (never hashed).
    Stream(Arc<StreamSource>),
    /// A file whose bytes the library makes ([`Generated`]: the boot catalog, the checksum
    /// list, a spanned set's catalog), from the finished image.
    Generated(Arc<dyn Generated>),
    /// Bytes `offset..offset + len` of another file's data (`len` is the [`FileData`]'s): one
    /// part of a file split over spanned volumes. Nothing is copied; the base is read lazily.
    Slice { base: Arc<FileData>, offset: u64 },
    /// A file of an imported base image ([`crate::extras::multisession`]): its pieces on that image,
    /// read lazily through the base's opener. `in_place` (set by the tree of an appended
    /// session only) means the data stays where it is: the new session's records point at the
    /// base's extents and the data is not written again.
    Base {
        file: Arc<crate::build::base::BaseFile>,
        in_place: bool,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Path { path, .. } => write!(f, "Path({})", path.display()),
            Source::Scanned { dir, node, .. } => write!(f, "Scanned({dir}, {node})"),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Source::Reader(_) => write!(f, "Reader"),
            Source::Seekable(_) => write!(f, "Seekable"),
            Source::Stream(_) => write!(f, "Stream"),
            Source::Generated(g) => write!(f, "Generated({})", g.describe()),
            Source::Slice { base, offset } => write!(f, "Slice({:?} at {offset})", base.source),
            Source::Base { file, in_place } => {
                write!(
                    f,
                    "Base({} pieces, in place: {in_place})",
                    file.pieces.len()
                )
            }
        }
    }
}

/// A file whose bytes the library makes: the El Torito boot catalog, the embedded checksum
/// list, a spanned set's catalog. Its length is fixed when it joins the tree (before the
/// layout); its bytes may depend on the finished image (block numbers, other files' contents),
/// so they are asked for only from it ([`Placed`]). It is never taken for a duplicate of
/// another file, and the single-pass writer writes it once the layout is complete. The parts
/// above the pipeline (extras) add such files without the tree knowing what they are.
pub(crate) trait Generated: Send + Sync {
    /// What it is, for messages and `Debug` ("the boot catalog").
    fn describe(&self) -> String;
    /// Its bytes in the image `placed` (as long as the file's [`FileData::len`]).
    fn bytes(&self, placed: &dyn Placed) -> io::Result<Bytes>;
}

/// What a [`Generated`] file may ask of the image it is in (the layout implements it).
pub(crate) trait Placed {
    /// The image's tree.
    fn tree(&self) -> &Tree;
    /// First block of each file's data (0 for an empty file), by data id.
    fn file_lba(&self) -> &[u32];
    /// The El Torito plan of a bootable image.
    fn boot(&self) -> Option<&crate::build::boot::BootPlan>;
    /// A reader of the image's bytes (the file data as written, boot info tables patched in)
    /// that never reads a generated file: for generated files that hash other files.
    fn file_data_stream(&self) -> Box<dyn ReadSeek + '_>;
}

pub(crate) use crate::build::base::ReadSeek;

/// What identifies one version of a file on disk: its modification time and, on Unix, its
/// device and inode (a file renamed over it is another file) and its status change time (a
/// write that restores the modification time still changes it). Taken from `stat` when the file
/// is added and compared with `fstat` on the open descriptor when it is read (the file checked
/// is the file read); the size is [`FileData::len`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Stamp {
    pub mtime: Option<SystemTime>,
    /// `st_ctime` (seconds, nanoseconds).
    #[cfg(unix)]
    pub ctime: (i64, i64),
    /// `st_dev`, `st_ino`.
    #[cfg(unix)]
    pub id: (u64, u64),
}

impl Stamp {
    /// The stamp of `md` (from `stat` or `fstat`).
    pub fn of(md: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Stamp {
                mtime: md.modified().ok(),
                ctime: (md.ctime(), md.ctime_nsec()),
                id: (md.dev(), md.ino()),
            }
        }
        #[cfg(not(unix))]
        {
            Stamp {
                mtime: md.modified().ok(),
            }
        }
    }

    /// What differs between `self` (as recorded) and `now` (as found), for a message; `None`
    /// when they match. An unknown recorded modification time matches any.
    pub fn difference(&self, now: &Stamp) -> Option<&'static str> {
        #[cfg(unix)]
        if self.id != now.id {
            return Some("was replaced by another file");
        }
        if self.mtime.is_some() && self.mtime != now.mtime {
            return Some("was modified");
        }
        #[cfg(unix)]
        if self.ctime != now.ctime {
            return Some("was modified (its status change time differs)");
        }
        None
    }
}

/// Opens a file's bytes for reading, from the start (generated sources give none). A slice is
/// positioned at its offset and limited to its length.
pub(crate) fn open_file_data(fd: &FileData) -> io::Result<Box<dyn Read + Send>> {
    Ok(match &fd.source {
        Source::Path { path, .. } => Box::new(std::fs::File::open(path)?),
        // Resolved by `Tree::open_source`, or turned into `Path` by `Tree::detached_data`
        // before leaving its tree.
        Source::Scanned { .. } => {
            return Err(Error::Internal(
                "a scanned file's source is opened through its tree".into(),
            )
            .into())
        }
        Source::Bytes(b) => Box::new(io::Cursor::new(b.clone())),
        Source::Reader(open) => open()?,
        Source::Seekable(s) => Box::new(s.handle_at(0)?),
        Source::Stream(s) => Box::new(s.take().ok_or_else(read_twice)?),
        Source::Generated(_) => Box::new(io::empty()),
        Source::Base { file, .. } => Box::new(file.open()?),
        Source::Slice { base, offset } => {
            let mut r: Box<dyn Read + Send> = match &base.source {
                Source::Path { path, .. } => {
                    let mut f = std::fs::File::open(path)?;
                    f.seek(io::SeekFrom::Start(*offset))?;
                    Box::new(f)
                }
                Source::Bytes(b) => {
                    let mut c = io::Cursor::new(b.clone());
                    c.set_position(*offset);
                    Box::new(c)
                }
                Source::Base { file, .. } => Box::new(file.open_at(*offset)?),
                Source::Seekable(s) => Box::new(s.handle_at(*offset)?),
                _ => {
                    let mut r = open_file_data(base)?;
                    let skipped = io::copy(&mut (&mut r).take(*offset), &mut io::sink())?;
                    if skipped < *offset {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("source ended after {skipped} bytes, before offset {offset}"),
                        ));
                    }
                    r
                }
            };
            r = Box::new(r.take(fd.len));
            r
        }
    })
}

/// The error of a one-shot source asked for a second time, before it names its file (see
/// [`read_twice_at`]).
fn read_twice() -> io::Error {
    Error::SourceReadTwice {
        image_path: String::new(),
    }
    .into()
}

/// The image path of file data `data` (its first name), for messages.
pub(crate) fn data_image_path(tree: &Tree, data: DataId) -> String {
    tree.nodes
        .iter()
        .position(|n| matches!(n.kind, NodeKind::File { data: d } if d == data))
        .map(|i| tree.path_of(i as u32))
        .unwrap_or_default()
}

/// The error for the one-shot source of file data `data`, asked for a second time (a backward
/// seek of an image stream, a second write, a hash before the write).
pub(crate) fn read_twice_at(tree: &Tree, data: DataId) -> io::Error {
    Error::SourceReadTwice {
        image_path: data_image_path(tree, data),
    }
    .into()
}

/// Names file data `data` in a [`Error::SourceReadTwice`] that travelled without a path.
pub(crate) fn name_read_twice(tree: &Tree, data: DataId, e: io::Error) -> io::Error {
    let unnamed = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<Error>())
        .is_some_and(
            |inner| matches!(inner, Error::SourceReadTwice { image_path } if image_path.is_empty()),
        );
    if unnamed {
        read_twice_at(tree, data)
    } else {
        e
    }
}

/// The error for file data `data` whose source is not what was scanned.
pub(crate) fn changed(tree: &Tree, data: DataId, reason: String) -> io::Error {
    let image_path = data_image_path(tree, data);
    Error::SourceChanged { image_path, reason }.into()
}

/// The error for a source of file data `data` that cannot be opened or read: the source's own
/// error (its kind and cause kept), naming the image path and the file on disk (`path`) if it
/// is one. An error that already is one of ours (a source reading another image stream)
/// passes unchanged.
pub(crate) fn read_failed(
    tree: &Tree,
    data: DataId,
    path: Option<&Path>,
    e: io::Error,
) -> io::Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return e;
    }
    Error::SourceRead {
        image_path: data_image_path(tree, data),
        path: path.map(Path::to_path_buf),
        source: e,
    }
    .into()
}

/// The error for a source file that cannot be opened or read: a file that vanished since it
/// was scanned changed; any other failure (permission denied, an I/O error) is the source's own
/// error, its kind kept, naming the path ([`read_failed`]).
pub(crate) fn source_io_error(tree: &Tree, data: DataId, path: &Path, e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::NotFound {
        changed(tree, data, format!("{} vanished", path.display()))
    } else {
        read_failed(tree, data, Some(path), e)
    }
}

/// The error for a read of file data `data` that failed: the source's own error
/// ([`source_io_error`] for a file on disk, [`read_failed`] for any other source). A source
/// that ends early or goes on is a change, reported by the caller, not here.
pub(crate) fn read_error(tree: &Tree, data: DataId, e: io::Error) -> io::Error {
    match tree.source_file(data) {
        Some((path, _)) => source_io_error(tree, data, &path, e),
        None => caller_source_error(tree, data, e),
    }
}

/// The error of a caller's source that failed to open, seek or read: its own error (kind and
/// source kept) naming the file's image path ([`read_failed`]); one of ours passes unchanged,
/// a [`Error::SourceReadTwice`] that travelled without a path gets this file's.
pub(crate) fn caller_source_error(tree: &Tree, data: DataId, e: io::Error) -> io::Error {
    if e.get_ref().is_some_and(|i| i.is::<Error>()) {
        return name_read_twice(tree, data, e);
    }
    read_failed(tree, data, None, e)
}

/// Checks (by `fstat` on the open handle: the file checked is the file read) that the file
/// behind `data` is `expected` bytes long and has the identity and times of `stamp` (as
/// scanned, or as found when it was opened: `when` says which, for the message). Returns what
/// it found, for the check after the file's bytes are read.
pub(crate) fn check_stamp(
    tree: &Tree,
    data: DataId,
    f: &File,
    expected: u64,
    stamp: &Stamp,
    path: &dyn Fn() -> PathBuf,
    when: &str,
) -> io::Result<Stamp> {
    let md = f
        .metadata()
        .map_err(|e| source_io_error(tree, data, &path(), e))?;
    if md.len() != expected {
        return Err(changed(
            tree,
            data,
            format!(
                "{} is now {} bytes, was {expected}{when}",
                path().display(),
                md.len()
            ),
        ));
    }
    let now = Stamp::of(&md);
    if let Some(why) = stamp.difference(&now) {
        return Err(changed(
            tree,
            data,
            format!("{} {why}{when}", path().display()),
        ));
    }
    Ok(now)
}

/// What [`check_stamp`] says when the file changed between the scan and its opening.
pub(crate) const SINCE_SCAN: &str = "";
/// What [`check_stamp`] says when the file changed while its bytes were read.
pub(crate) const WHILE_READ: &str = " while it was read";

/// Opens the file on disk behind `data` at `path` and checks it against `stamp`
/// ([`check_stamp`]); returns it with what `fstat` found.
pub(crate) fn open_checked(
    tree: &Tree,
    data: DataId,
    path: &Path,
    expected: u64,
    stamp: &Stamp,
) -> io::Result<(File, Stamp)> {
    let f = File::open(path).map_err(|e| source_io_error(tree, data, path, e))?;
    let found = check_stamp(
        tree,
        data,
        &f,
        expected,
        stamp,
        &|| path.to_path_buf(),
        SINCE_SCAN,
    )?;
    Ok((f, found))
}

/// The scanned directory a reading thread opened last: the files of a directory are opened
/// relative to it (`openat`), so the kernel resolves one name instead of the whole path, and
/// no path is built. Files are read in placement order, which keeps a directory's files
/// together unless sort weights say otherwise.
#[derive(Default)]
pub(crate) struct DirCache {
    #[cfg(unix)]
    dir: Option<(u32, std::os::fd::OwnedFd)>,
}

impl DirCache {
    /// Opens scanned file `node` of scanned directory `dir`; `None` when the directory itself
    /// cannot be opened (the caller then opens the file by its path, for the error to name it).
    #[cfg(unix)]
    fn open(&mut self, tree: &Tree, dir: u32, node: u32) -> Option<io::Result<File>> {
        use rustix::fs::{Mode, OFlags};
        if self.dir.as_ref().map(|d| d.0) != Some(dir) {
            self.dir = None;
            let path = tree.scan_dirs.get(dir as usize)?;
            // O_PATH: a directory that may be searched but not listed still works. Where
            // there is no O_PATH (macOS, NetBSD, illumos...), the directory is opened for
            // reading; one that cannot be read gives `None` and its files are opened by path.
            #[cfg(any(
                target_os = "linux",
                target_os = "android",
                target_os = "emscripten",
                target_os = "freebsd",
                target_os = "fuchsia",
                target_os = "redox"
            ))]
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            #[cfg(not(any(
                target_os = "linux",
                target_os = "android",
                target_os = "emscripten",
                target_os = "freebsd",
                target_os = "fuchsia",
                target_os = "redox"
            )))]
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            self.dir = Some((dir, rustix::fs::open(path, flags, Mode::empty()).ok()?));
        }
        let (_, fd) = self.dir.as_ref()?;
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        Some(
            rustix::fs::openat(fd, tree.name_bytes(node), flags, Mode::empty())
                .map(File::from)
                .map_err(io::Error::from),
        )
    }

    #[cfg(not(unix))]
    fn open(&mut self, _: &Tree, _: u32, _: u32) -> Option<io::Result<File>> {
        None
    }
}

/// Appends the bytes of file data `data` to `out` when its source is a whole file on disk
/// (not a slice; the caller leaves out a boot file whose info table is patched in); returns false, `out` untouched, for any
/// other source. The file is checked as the stream checks it, and read with requests of one
/// byte more than it has left: a short read is its end (a regular file returns fewer bytes
/// than asked only there), so a small file costs one `read` and no extra one to see the end.
pub(crate) fn read_whole_file(
    tree: &Tree,
    data: DataId,
    out: &mut Vec<u8>,
    dirs: &mut DirCache,
) -> io::Result<bool> {
    let Some(fd) = tree.data.get(data as usize) else {
        return Ok(false);
    };
    let len = usize::try_from(fd.len)
        .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "file too large for memory"))?;
    let path = || tree.source_file(data).map(|p| p.0).unwrap_or_default();
    let (mut f, opened) = match &fd.source {
        Source::Scanned { dir, node, stamp } => {
            let f = match dirs.open(tree, *dir, *node) {
                Some(r) => r.map_err(|e| source_io_error(tree, data, &path(), e))?,
                None => File::open(path()).map_err(|e| source_io_error(tree, data, &path(), e))?,
            };
            let found = check_stamp(tree, data, &f, fd.len, stamp, &path, SINCE_SCAN)?;
            (f, found)
        }
        Source::Path { path, stamp } => open_checked(tree, data, path, fd.len, stamp)?,
        _ => return Ok(false),
    };
    let at = out.len();
    out.resize(at + len + 1, 0);
    let mut got = 0usize;
    let r = loop {
        let want = len + 1 - got;
        match f.read(&mut out[at + got..]) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                got += n;
                if got > len {
                    break Err(changed(tree, data, format!("grew beyond its {len} bytes")));
                }
                if got == len && n < want {
                    break Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(read_error(tree, data, e)),
        }
    };
    // A write while the bytes were read (even one that kept the size and put the modification
    // time back) changed the status change time: the bytes may mix two versions.
    let r = r.and_then(|()| {
        if got == len {
            check_stamp(tree, data, &f, fd.len, &opened, &path, WHILE_READ).map(|_| ())
        } else {
            Ok(())
        }
    });
    // Only a complete read leaves bytes in `out`.
    let complete = r.is_ok() && got == len;
    out.truncate(if complete { at + len } else { at });
    r?;
    if !complete {
        return Err(changed(
            tree,
            data,
            format!("shrank: ended after {got} of {len} bytes"),
        ));
    }
    Ok(true)
}
