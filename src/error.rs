//! Typed errors. Build errors name the image path (or source path) at fault; parse errors name
//! the sector (LBA) and byte offset at fault.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while building or writing an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a source (file or directory) failed.
    #[error("cannot read source {path}: {source}")]
    Source {
        /// The source path on disk (or the image path for in-memory / reader sources).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The output path is an input of the image: a file it reads, a scanned source directory,
    /// or a file inside one. Writing the image there would replace that input, so nothing is
    /// written.
    #[error(
        "the output {} {} {}: writing the image there would destroy an input; choose an output outside the sources",
        .output.display(),
        if *.inside { "is inside the source directory" } else { "is the source" },
        .input.display()
    )]
    OutputIsSource {
        /// The output path, as given.
        output: PathBuf,
        /// The source it is, or the source directory it lies in.
        input: PathBuf,
        /// True if the output lies inside the source directory `input`.
        inside: bool,
    },
    /// A source file changed, vanished, shrank or grew between the scan and the rendering.
    #[error("source for {image_path} changed during the build: {reason}")]
    SourceChanged {
        /// The file's path inside the image.
        image_path: String,
        /// What changed.
        reason: String,
    },
    /// A one-shot source ([`ImageBuilder::add_stream`](crate::ImageBuilder::add_stream): a
    /// pipe, a socket) was needed a second time: an image stream sought back into its bytes, the
    /// image was written twice, or an option read it before the write (checksums, a boot info
    /// table). Its bytes were read once and are gone; nothing wrong was written.
    #[error("source for {image_path} is a one-shot stream and was already read: it can be read once, start to end (use a seekable source for seeks, a second write, checksums or boot files)")]
    SourceReadTwice {
        /// The file's path inside the image.
        image_path: String,
    },
    /// Writing the output failed.
    #[error("cannot write image: {0}")]
    Write(#[source] io::Error),
    /// The same path was added twice.
    #[error("duplicate path in image: {0}")]
    DuplicatePath(String),
    /// A path given to the builder is not usable (empty component, NUL byte, not absolute...).
    #[error("invalid image path {path:?}: {reason}")]
    InvalidPath {
        /// The offending path.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A path refers to something that does not exist in the image tree.
    #[error("no such path in image: {0}")]
    NotFound(String),
    /// A name cannot be represented in a file system view.
    #[error("name of {path} cannot be represented in {view}: {reason}")]
    Unrepresentable {
        /// The image path.
        path: String,
        /// The view ("ISO 9660", "Joliet", ...).
        view: &'static str,
        /// Why.
        reason: String,
    },
    /// The directory tree is deeper than the chosen ISO 9660 level allows.
    #[error("{path} is at directory level {depth}; ISO 9660 {level} allows at most 8 (use Rock Ridge, which relocates deep directories, or level 1999)")]
    TooDeep {
        /// The image path.
        path: String,
        /// Its level (the root is level 1).
        depth: usize,
        /// The chosen level, for the message.
        level: String,
    },
    /// A path is longer than the chosen ISO 9660 level allows.
    #[error("{path}: ISO 9660 path is {len} bytes; {level} allows at most 255 (use level 1999)")]
    PathTooLong {
        /// The image path.
        path: String,
        /// The encoded path length.
        len: usize,
        /// The chosen level, for the message.
        level: String,
    },
    /// A file is too large for the chosen level.
    #[error("{path} is {size} bytes; files of 4 GiB or more need ISO 9660 level 3 (or 1999)")]
    FileTooLarge {
        /// The image path.
        path: String,
        /// Its size in bytes.
        size: u64,
    },
    /// The laid-out image does not fit in the allowed number of blocks.
    #[error("image needs {needed_blocks} blocks ({needed_bytes} bytes) but only {allowed_blocks} blocks ({allowed_bytes} bytes) are allowed")]
    ImageTooLarge {
        /// Blocks the layout needs.
        needed_blocks: u64,
        /// Same in bytes.
        needed_bytes: u64,
        /// The `max_blocks` limit.
        allowed_blocks: u64,
        /// Same in bytes.
        allowed_bytes: u64,
    },
    /// An option or option combination is invalid.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A broken internal invariant (a bug in glassmaster): please report it.
    #[error("internal error: {0}")]
    Internal(String),
    /// The progress callback asked to stop.
    #[error("aborted by the caller")]
    Aborted,
    /// A spanned set cannot be laid out with this volume capacity.
    #[error("volume capacity of {capacity_blocks} blocks ({} bytes) is too small: {reason}; use at least {needed_blocks} blocks ({} bytes)", *capacity_blocks * 2048, *needed_blocks * 2048)]
    SpanCapacityTooSmall {
        /// The capacity asked for, in 2048-byte blocks.
        capacity_blocks: u64,
        /// The smallest capacity that would work for this step, in blocks.
        needed_blocks: u64,
        /// What did not fit.
        reason: String,
    },
    /// The catalog of a spanned set is malformed.
    #[error("spanning catalog, line {line}: {reason}")]
    SpanCatalog {
        /// The line number (from 1).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An image could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl Error {
    /// Recovers a typed error that travelled through an `io::Error` (as `Read` impls must use).
    pub fn from_io(e: io::Error) -> Error {
        if e.get_ref()
            .map(|inner| inner.is::<Error>())
            .unwrap_or(false)
        {
            match e.into_inner().map(|b| b.downcast::<Error>()) {
                Some(Ok(b)) => *b,
                Some(Err(other)) => Error::Write(io::Error::other(other)),
                None => Error::Write(io::Error::other("unknown error")),
            }
        } else if e
            .get_ref()
            .map(|inner| inner.is::<ParseError>())
            .unwrap_or(false)
        {
            match e.into_inner().map(|b| b.downcast::<ParseError>()) {
                Some(Ok(b)) => Error::Parse(*b),
                Some(Err(other)) => Error::Write(io::Error::other(other)),
                None => Error::Write(io::Error::other("unknown error")),
            }
        } else {
            Error::Write(e)
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Write(inner) => inner,
            other => io::Error::other(other),
        }
    }
}

/// What is wrong with an image being parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The image ends before a structure it refers to.
    Truncated,
    /// No primary (or supplementary) volume descriptor was found.
    NoVolumeDescriptor,
    /// A field has a value the specification does not allow.
    BadField(&'static str),
    /// The little- and big-endian copies of a both-byte-order field disagree.
    EndianMismatch(&'static str),
    /// A directory record is malformed.
    BadDirectoryRecord(String),
    /// An extent lies (partly) outside the image.
    ExtentOutOfImage,
    /// The directory graph has a cycle.
    DirectoryLoop,
    /// A system use entry (SUSP / Rock Ridge, ECMA-119 9.1.13) is unusable, e.g. continuation
    /// areas that loop.
    BadSystemUse(String),
    /// A configured limit was exceeded (which one, and the limit).
    LimitExceeded(&'static str, u64),
    /// The requested file or directory does not exist.
    NotFound(String),
    /// A directory operation was asked of something that is not a directory.
    NotADirectory(String),
    /// An I/O error from the underlying reader.
    Io(String),
    /// A UDF descriptor tag (ECMA-167 3/7.2, 4/7.2) is unusable: its checksum, descriptor
    /// version or identifier is wrong, or (in strict mode) it names another location than the
    /// one it was read from.
    BadTag(String),
    /// A UDF descriptor's CRC (ECMA-167 3/7.2.6) does not match its contents.
    BadCrc,
    /// A UDF descriptor's fields are malformed or inconsistent (what, and why).
    BadDescriptor(String),
    /// The image uses a feature this reader does not implement (for example a UDF virtual or
    /// sparable partition).
    Unsupported(String),
    /// An extent starts in the system area (ECMA-119 6.2.1, sectors 0-15) or inside the volume
    /// descriptor set (6.7.1), where no directory (and, in strict mode, no file data) can be.
    ExtentInReservedArea,
    /// The extents of one file overlap one another (ECMA-119 6.4.3: the file sections of a file
    /// are distinct), or add up to more bytes than the image holds.
    OverlappingExtents,
    /// A size or count field is impossible for this image: which field, and its value.
    BadSize(&'static str, u64),
    /// The volume descriptor set ends without a terminator (ECMA-119 6.7.1, 8.3); strict mode.
    MissingTerminator,
    /// A file or directory identifier breaks ECMA-119 7.5 / 7.6 (or the Joliet rules); strict
    /// mode. The identifier as recorded, escaped for display.
    BadIdentifier(String),
    /// A path table record is malformed or the type L and type M tables disagree (ECMA-119 6.9,
    /// 9.4).
    BadPathTable(String),
    /// The logical block size is valid for ECMA-119 (6.1.2: 512, 1024 or 2048) but this reader
    /// supports only 2048.
    UnsupportedBlockSize(u16),
}

/// An error found while parsing an image: the kind, and where (sector and byte offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}{}{}", .lba.map(|l| format!(" at sector {l}")).unwrap_or_default(), .offset.map(|o| format!(" offset {o}")).unwrap_or_default())]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// The sector (2048-byte logical block) where it was found, if known.
    pub lba: Option<u64>,
    /// The byte offset inside that sector (or record), if known.
    pub offset: Option<usize>,
}

impl ParseError {
    /// A new error of `kind` at `lba`.
    pub fn at(kind: ParseErrorKind, lba: u64) -> Self {
        ParseError {
            kind,
            lba: Some(lba),
            offset: None,
        }
    }
    /// A new error without location.
    pub fn new(kind: ParseErrorKind) -> Self {
        ParseError {
            kind,
            lba: None,
            offset: None,
        }
    }
    /// Adds a byte offset.
    pub fn with_offset(mut self, offset: usize) -> Self {
        self.offset = Some(offset);
        self
    }
}

impl std::fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseErrorKind::Truncated => write!(f, "image is truncated"),
            ParseErrorKind::NoVolumeDescriptor => {
                write!(f, "no ISO 9660 primary volume descriptor")
            }
            ParseErrorKind::BadField(x) => write!(f, "invalid field: {x}"),
            ParseErrorKind::EndianMismatch(x) => {
                write!(f, "little- and big-endian copies of {x} disagree")
            }
            ParseErrorKind::BadDirectoryRecord(x) => write!(f, "bad directory record: {x}"),
            ParseErrorKind::ExtentOutOfImage => write!(f, "extent lies outside the image"),
            ParseErrorKind::DirectoryLoop => write!(f, "directory hierarchy contains a loop"),
            ParseErrorKind::BadSystemUse(x) => write!(f, "bad system use entry: {x}"),
            ParseErrorKind::LimitExceeded(what, n) => {
                write!(f, "limit exceeded: {what} (limit {n})")
            }
            ParseErrorKind::NotFound(p) => write!(f, "not found: {p}"),
            ParseErrorKind::NotADirectory(p) => write!(f, "not a directory: {p}"),
            ParseErrorKind::Io(e) => write!(f, "I/O error: {e}"),
            ParseErrorKind::BadTag(x) => write!(f, "bad descriptor tag: {x}"),
            ParseErrorKind::BadCrc => write!(f, "descriptor CRC does not match its contents"),
            ParseErrorKind::BadDescriptor(x) => write!(f, "bad UDF descriptor: {x}"),
            ParseErrorKind::Unsupported(x) => write!(f, "unsupported: {x}"),
            ParseErrorKind::ExtentInReservedArea => write!(
                f,
                "extent lies in the system area or the volume descriptor set"
            ),
            ParseErrorKind::OverlappingExtents => {
                write!(f, "the extents of a file overlap or exceed the image")
            }
            ParseErrorKind::BadSize(what, n) => write!(f, "impossible {what}: {n}"),
            ParseErrorKind::MissingTerminator => {
                write!(f, "volume descriptor set has no terminator")
            }
            ParseErrorKind::BadIdentifier(id) => write!(f, "bad identifier {id}"),
            ParseErrorKind::BadPathTable(why) => write!(f, "bad path table: {why}"),
            ParseErrorKind::UnsupportedBlockSize(n) => {
                write!(f, "logical block size {n} is not supported (only 2048)")
            }
        }
    }
}

impl From<ParseError> for io::Error {
    fn from(e: ParseError) -> io::Error {
        io::Error::other(e)
    }
}

/// Result alias for build operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
