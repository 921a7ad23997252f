//! The image reader: parses ISO 9660 (ECMA-119) images with their Rock Ridge (SUSP 1.12 /
//! RRIP 1.12, 1.10, 1.09), Joliet and ISO 9660:1999 (enhanced volume descriptor) views, and UDF
//! (ECMA-167 / OSTA UDF 1.02 to 2.60) file systems, on bridge images or alone.
//!
//! The reader never trusts the image: every size field is checked against the [`Limits`] and
//! against the length of the image before anything is allocated, every extent is checked to lie
//! inside the image, and directory walks detect loops. Errors name the sector (LBA) and byte
//! offset at fault. [`Limits`] bounds the work and memory, and selects lenient (default) or
//! strict reading ([`Strictness`] lists the real-world deviations lenient mode accepts).
//! [`raw::iso9660`](crate::raw::iso9660) decodes single on-disk records (volume descriptors, directory records, path table
//! records) for tools that need every field.
//!
//! ```no_run
//! use glassmaster::read::{ImageReader, View};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut reader = ImageReader::open(std::fs::File::open("disc.iso")?)?;
//! let view = reader.default_view();
//! for (path, entry) in reader.walk(view)? {
//!     println!("{path} {} bytes{}", entry.size, if entry.is_dir { " (dir)" } else { "" });
//! }
//! let readme = reader.lookup(View::Iso9660, "/README.TXT")?;
//! let bytes = reader.read_file(&readme)?;
//! # let _ = bytes;
//! # Ok(())
//! # }
//! ```

mod block_map;
mod boot;
mod dir;
mod file;
pub mod restore;
pub(crate) mod rockridge;
mod rr_view;
pub(crate) mod session;
mod udf_view;
mod volume;

use crate::BLOCK_SIZE_U64;
use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::str::FromStr;

use chrono::{DateTime, FixedOffset};

use crate::error::{ParseError, ParseErrorKind};
use crate::format::iso9660::descriptor::VolumeDescriptor;
use crate::format::iso9660::pathtable::{decode_path_table, PathTableRecord};

pub use block_map::{BlockMap, MapItem, MapName, UNCLAIMED_READ_LIMIT};
pub use boot::BootImageInfo;
pub use file::FileReader;
pub use restore::{RestoreError, RestoreOptions, RestoreReport};
pub use rr_view::{FileType, Posix};
pub use session::{sessions, SessionInfo, SessionView};
pub use udf_view::{UdfEntry, UdfInfo};

/// One of the directory hierarchies an image can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// The primary volume descriptor's hierarchy (ECMA-119 8.4), always present.
    Iso9660,
    /// The Joliet supplementary volume descriptor's hierarchy (UCS-2 names).
    Joliet,
    /// The enhanced volume descriptor's hierarchy (ISO 9660:1999, ECMA-119 4th edition 8.5).
    Iso1999,
    /// The primary hierarchy as Rock Ridge shows it (RRIP 1.12): POSIX names and metadata,
    /// relocated directories back at their original place.
    RockRidge,
    /// The UDF file system (ECMA-167, OSTA UDF 1.02 to 2.60): Unicode names, POSIX attributes,
    /// hard and symbolic links; on a bridge image beside the ISO 9660 views, or alone.
    Udf,
}

impl View {
    /// The short lower-case name: `iso9660`, `joliet`, `iso1999`, `rockridge` or `udf`.
    pub fn as_str(self) -> &'static str {
        match self {
            View::Iso9660 => "iso9660",
            View::Joliet => "joliet",
            View::Iso1999 => "iso1999",
            View::RockRidge => "rockridge",
            View::Udf => "udf",
        }
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`View`] from a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownView(pub String);

impl fmt::Display for UnknownView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown view {:?} (expected iso9660, joliet, iso1999, rockridge or udf)",
            self.0
        )
    }
}

impl std::error::Error for UnknownView {}

impl FromStr for View {
    type Err = UnknownView;
    /// Accepts `iso9660`, `joliet`, `iso1999`, `rockridge` and `udf` in any case (also `iso`,
    /// `iso-9660`, `iso-1999`, `rr`, `rock-ridge`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "iso9660" | "iso-9660" | "iso" => Ok(View::Iso9660),
            "joliet" => Ok(View::Joliet),
            "iso1999" | "iso-1999" | "iso9660:1999" => Ok(View::Iso1999),
            "rockridge" | "rock-ridge" | "rr" => Ok(View::RockRidge),
            "udf" => Ok(View::Udf),
            _ => Err(UnknownView(s.to_string())),
        }
    }
}

/// How closely the reader holds an image to ECMA-119 (see [`Limits::strictness`]).
///
/// **Lenient** (the default) reads what real-world writers produce and accepts these known
/// deviations, using the little-endian copy, the recorded bytes or the obvious meaning:
///
/// - both-byte-order fields whose copies disagree in directory records (location, data length,
///   volume sequence number; ECMA-119 7.2.3, 7.3.3, 9.1) and in volume descriptor fields the
///   reader does not need (volume set size, volume sequence number, path table size);
/// - a directory data length that is not a multiple of 2048 (ECMA-119 6.8.1.3);
/// - a root directory record with an empty identifier, or one other than (00) (ECMA-119 7.6.2);
/// - a volume descriptor set without a terminator (ECMA-119 6.7.1, 8.3) once a primary volume
///   descriptor was found: the set ends at the first sector without `CD001`;
/// - ISO 9660 file identifiers without `;1` or without the `.` separator, or with characters
///   other than d-characters (lower case, `-`, ...; ECMA-119 7.5), and directory identifiers
///   with such characters (7.6);
/// - records with a non-zero padding byte (ECMA-119 9.1.12), and non-zero bytes after the last
///   record of a directory sector (6.8.1.1);
/// - directories that do not start with the "." and ".." records, or whose "." record names
///   another sector (ECMA-119 6.8.2.2), and a multi-extent chain left open at the end of a
///   directory (9.1.6 bit 7);
/// - a volume space size (ECMA-119 8.4.8) that disagrees with the image: 0, larger than the
///   image, or smaller than the data; an image whose length is not a whole number of sectors;
///   extents between the volume space size and the end of the image;
/// - a supplementary volume descriptor whose escape sequences start with `%/` but name no
///   Joliet level (it is ignored, not taken as Joliet); a primary descriptor whose version or
///   file structure version is not 1 (ECMA-119 8.4.3, 8.4.31);
/// - Joliet identifiers of odd length or with the characters the Joliet specification
///   excludes (`* / : ; ? \`);
/// - entries whose data lies (partly) beyond the end of the image are listed (reading them
///   fails with `ExtentOutOfImage`), as in a truncated download;
/// - the extents of one file overlapping one another (as long as they add up to no more than
///   the image), and file data inside the system area (sectors 0-15);
/// - type L and type M path tables that disagree, and path table records out of the order of
///   ECMA-119 6.9.1 (only the type L table is read);
/// - damaged directory records (shorter than 34 bytes, crossing a sector boundary, an
///   identifier overrunning the record, an extent location that overflows): the record is left
///   out, with the rest of its sector when its length cannot be trusted (records never cross
///   sectors, ECMA-119 6.8.1.1), and the rest of the directory is read; each is named (path,
///   sector, offset) in [`ImageReader::left_out`] and the warnings.
///
/// **Strict** rejects each of these with a specific [`ParseErrorKind`]
/// (`EndianMismatch`, `BadSize`, `BadDirectoryRecord`, `MissingTerminator`, `BadIdentifier`,
/// `Truncated`, `ExtentOutOfImage`, `BadField`, `ExtentInReservedArea`, `OverlappingExtents`,
/// `BadPathTable`), naming the sector and byte offset.
///
/// Both modes always reject what cannot be read safely: directory loops, directory extents
/// outside the image or in the system area / volume descriptor set, sizes larger than the
/// image, a malformed root record, a logical block size other than 2048, disagreeing copies of the primary descriptor's volume space
/// size or block size, and anything beyond the [`Limits`].
///
/// In the UDF view (ECMA-167 / OSTA UDF):
///
/// **Lenient** (the default) accepts known real-world deviations: in the UDF view, a descriptor
/// tag whose tag location (ECMA-167 3/7.2.8, 4/7.2.8) names another block than the one it was
/// read from is used anyway (with a note in [`ImageReader::warnings`]), file data may lie
/// beyond the end of its partition as long as it is inside the image, and a broken UDF file
/// system on a bridge image only hides the UDF view ([`ImageReader::udf_error`] tells why). A
/// damaged file set descriptor (ECMA-167 4/14.1) is replaced by the next one of its sequence,
/// the one the reserve volume descriptor sequence names, its copy in a metadata mirror file
/// that has its own (UDF 2.2.13.1), the root directory it records if that is sound, or the root
/// directory found by a scan of the partition (ECMA-167 4/8.6: the one directory that is its
/// own parent); a damaged file entry (bad tag checksum, CRC or identifier, blocks outside its
/// partition or the image) is read from such a mirror copy, else left out of its directory,
/// named by path and sector in [`ImageReader::left_out`], and the rest of the directory is
/// read.
///
/// **Strict** rejects each of these: `BadTag`, `BadCrc`, `BadDescriptor`, or the UDF error
/// from [`ImageReader::open`].
///
/// Both modes always reject bad tag checksums, CRCs and identifiers of the volume structure,
/// loops, and anything beyond the [`Limits`]; both fall back to the reserve volume descriptor
/// sequence, the other anchors and the metadata mirror file when the main copy is damaged
/// (noting it in the warnings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strictness {
    /// Accept the known real-world deviations listed above (the default).
    #[default]
    Lenient,
    /// Reject every deviation from ECMA-119 (and the Joliet specification) the reader checks.
    Strict,
}

/// Bounds on the work and memory a (possibly hostile) image can cause, and the
/// [`Strictness`] of the reader.
///
/// ```
/// use glassmaster::read::{Limits, Strictness};
/// let strict = Limits::strict();
/// assert_eq!(strict.strictness, Strictness::Strict);
/// let small = Limits { max_metadata_bytes: 1 << 20, ..Limits::lenient() };
/// assert!(!small.is_strict());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest directory nesting [`ImageReader::walk`] descends to (children of the root are at
    /// depth 1). Default 64.
    pub max_depth: usize,
    /// Most entries one directory may hold (in the UDF view, each extent of a file beyond its
    /// first counts as one more entry). Default 100,000.
    pub max_entries_per_dir: usize,
    /// Most entries one walk may visit (each extent of a file beyond its first counts as one
    /// more entry). Default 10,000,000.
    pub max_total_entries: usize,
    /// Most extents (directory records) one file may have. Default 4096.
    pub max_extents_per_file: usize,
    /// Largest directory, in bytes. Default 64 MiB.
    pub max_dir_bytes: u64,
    /// Most volume descriptors scanned before the terminator. Default 64.
    pub max_volume_descriptors: usize,
    /// Most continuation areas (SUSP 5.1 `CE`) followed for one directory record. Default 64.
    pub max_ce_chain: usize,
    /// Most system use bytes (the record's field and its continuation areas) decoded for one
    /// directory record. Default 64 KiB.
    pub max_su_bytes_per_entry: usize,
    /// Most bytes of metadata (directory data read, entries, paths, path tables) one operation
    /// may allocate: [`ImageReader::open_with_limits`], [`read_dir`](ImageReader::read_dir),
    /// [`lookup`](ImageReader::lookup), [`walk`](ImageReader::walk) or
    /// [`path_table`](ImageReader::path_table) each start from zero, and
    /// [`metadata_bytes_allocated`](ImageReader::metadata_bytes_allocated) tells what the last
    /// one used. Default 256 MiB.
    pub max_metadata_bytes: u64,
    /// Lenient (the default) or strict reading; see [`Strictness`].
    pub strictness: Strictness,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_entries_per_dir: 100_000,
            max_total_entries: 10_000_000,
            max_extents_per_file: 4096,
            max_dir_bytes: 64 * 1024 * 1024,
            max_volume_descriptors: 64,
            max_ce_chain: 64,
            max_su_bytes_per_entry: 64 * 1024,
            max_metadata_bytes: 256 * 1024 * 1024,
            strictness: Strictness::Lenient,
        }
    }
}

impl Limits {
    /// The default limits, lenient (the same as `Limits::default()`).
    pub fn lenient() -> Self {
        Limits::default()
    }

    /// The default limits, strict.
    pub fn strict() -> Self {
        Limits {
            strictness: Strictness::Strict,
            ..Limits::default()
        }
    }

    /// The default limits with a metadata budget that grows with the image: 8 bytes per byte
    /// of image (at least the default 256 MiB). A walk of a legitimate image of a million
    /// files needs about 600 MB (each entry's name, path, attributes and directory bytes), more
    /// than the fixed default, while an image's metadata cannot legitimately cost much more
    /// than this per byte; what a hostile image can make the reader allocate stays bounded by
    /// the image's size. The command-line tool opens images with these limits.
    ///
    /// ```
    /// use glassmaster::read::Limits;
    /// assert_eq!(Limits::for_image_len(1 << 20).max_metadata_bytes, 256 << 20);
    /// assert_eq!(Limits::for_image_len(1 << 30).max_metadata_bytes, 8 << 30);
    /// ```
    pub fn for_image_len(image_len: u64) -> Self {
        let base = Limits::default();
        Limits {
            max_metadata_bytes: image_len.saturating_mul(8).max(base.max_metadata_bytes),
            ..base
        }
    }

    /// True in [`Strictness::Strict`] mode.
    pub fn is_strict(&self) -> bool {
        self.strictness == Strictness::Strict
    }
}

/// Where a view's path tables are (ECMA-119 8.4.13 to 8.4.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathTableLoc {
    /// Path table size in bytes (little-endian copy).
    size: u32,
    /// Sector of the type L table.
    l: u32,
    /// Sector of the type M table.
    m: u32,
}

impl PathTableLoc {
    pub(crate) fn of(vd: &VolumeDescriptor) -> Self {
        PathTableLoc {
            size: vd.path_table_size.0,
            l: vd.path_table_l,
            m: vd.path_table_m,
        }
    }
}

/// One directory of a path table (ECMA-119 9.4), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PathTableEntry {
    /// The directory's number: its position in the table, from 1 (the root).
    pub number: u32,
    /// The decoded name (`/` for the root).
    pub name: String,
    /// The record as recorded.
    pub record: PathTableRecord,
}

/// A run of bytes on the image: `len` bytes starting at logical block `lba`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Extent {
    /// First logical block: 2048 bytes each, but in the UDF view the volume's logical blocks
    /// ([`UdfInfo::block_size`]: 512, 1024, 2048 or 4096 bytes).
    pub lba: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Extent {
    /// Byte offset of the extent's first byte in the image, for blocks of 2048 bytes (in the
    /// UDF view of a volume of other blocks, `lba` times its block size).
    pub fn byte_offset(&self) -> u64 {
        u64::from(self.lba) * BLOCK_SIZE_U64
    }
    /// Byte offset one past the extent's last byte.
    pub fn byte_end(&self) -> u64 {
        self.byte_offset() + u64::from(self.len)
    }
}

/// A file or directory of one view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The decoded name: version (`;1`) and ISO 9660's empty-extension dot removed. The root is
    /// `/`. In the Rock Ridge view, the `NM` name (RRIP 4.1.4) decoded as UTF-8 (lossy), if the
    /// record has a usable one.
    pub name: String,
    /// The raw identifier as recorded (ECMA-119 9.1.11).
    pub identifier: Vec<u8>,
    /// True for directories (ECMA-119 9.1.6 bit 1).
    pub is_dir: bool,
    /// Size in bytes: the sum of the extents' lengths.
    pub size: u64,
    /// The extents in file order (several for multi-extent files, ECMA-119 9.1.6 bit 7).
    pub extents: Vec<Extent>,
    /// The recording date and time (ECMA-119 9.1.5), if specified and valid. In the Rock
    /// Ridge view, the modification time of `TF` (RRIP 4.1.6) when recorded.
    pub mtime: Option<DateTime<FixedOffset>>,
    /// The existence bit (ECMA-119 9.1.6 bit 0): the entry is hidden from the user.
    pub hidden: bool,
    /// The view this entry belongs to.
    pub view: View,
    /// The POSIX attributes of Rock Ridge (`PX`, `TF`, `SL`, `PN`; RRIP 4.1), in the Rock Ridge
    /// and ISO 9660 views of images that have them.
    pub posix: Option<Box<Posix>>,
    /// The raw Rock Ridge name (`NM`, RRIP 4.1.4) as recorded, if any.
    pub rr_name: Option<Vec<u8>>,
    /// In the UDF view: where the entry's file entry is, its unique id, and its data when it is
    /// embedded in the file entry ([`UdfEntry`]). `None` in the other views.
    pub udf: Option<Box<UdfEntry>>,
}

impl DirEntry {
    /// The entry's name as the view records it, as bytes: in the Rock Ridge view the `NM` name
    /// (RRIP 4.1.4) when the record has one, exactly as recorded (any bytes: not necessarily
    /// UTF-8, and even a name that [`name`](Self::name) could not show, such as one holding
    /// `/`); otherwise the UTF-8 of `name`. What `extract` creates on disk.
    pub fn name_bytes(&self) -> &[u8] {
        match (self.view, &self.rr_name) {
            (View::RockRidge, Some(raw)) => raw,
            _ => self.name.as_bytes(),
        }
    }

    /// The sector that identifies this entry on the image: in the UDF view, the sector of its
    /// file entry (shared by hard links); elsewhere the first sector of its first non-empty
    /// extent. Directories reached twice through the same location form a loop.
    pub fn location(&self) -> Option<u32> {
        match &self.udf {
            Some(u) => Some(u.icb_sector()),
            None => self.extents.iter().find(|e| e.len != 0).map(|e| e.lba),
        }
    }
}

/// What the volume descriptors say about the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeInfo {
    /// Volume identifier of the primary volume descriptor (ECMA-119 8.4.6).
    pub volume_id: String,
    /// System identifier (ECMA-119 8.4.5).
    pub system_id: String,
    /// Publisher identifier (ECMA-119 8.4.20).
    pub publisher: String,
    /// Data preparer identifier (ECMA-119 8.4.21).
    pub preparer: String,
    /// Application identifier (ECMA-119 8.4.22).
    pub application: String,
    /// Volume space size in logical blocks (ECMA-119 8.4.8).
    pub volume_space_blocks: u32,
    /// Logical block size (ECMA-119 8.4.12); always 2048 for images this reader accepts.
    pub block_size: u16,
    /// Volume creation date and time (ECMA-119 8.4.26).
    pub creation: Option<DateTime<FixedOffset>>,
    /// Volume modification date and time (ECMA-119 8.4.27).
    pub modification: Option<DateTime<FixedOffset>>,
    /// The Joliet level (1, 2 or 3) if a Joliet supplementary volume descriptor is present.
    pub joliet_level: Option<u8>,
    /// True if an enhanced volume descriptor (ISO 9660:1999) is present.
    pub has_iso1999: bool,
    /// The Joliet volume identifier (UCS-2), if Joliet is present.
    pub joliet_volume_id: Option<String>,
    /// The Rock Ridge extension of the primary hierarchy, if present: the `ER` identifier
    /// (`RRIP_1991A`, `IEEE_P1282` or `IEEE_1282`), else `RRIP_1991A` when Rock Ridge entries
    /// are found without `ER`, or `1.09` when they include the `RR` entry of RRIP 1.09.
    pub rock_ridge: Option<String>,
    /// The UDF file system, if the image has one (see [`View::Udf`]). On an image without
    /// ISO 9660 (UDF only), the fields above come from UDF: `volume_id` is the logical volume
    /// identifier, `volume_space_blocks` the image's length in blocks, `creation` the UDF
    /// primary volume descriptor's recording time, `modification` the integrity descriptor's;
    /// the other identifiers are empty.
    pub udf: Option<UdfInfo>,
}

/// A parsed image: the volume descriptors, and on-demand access to directories and files.
pub struct ImageReader<R: Read + Seek> {
    inner: R,
    image_len: u64,
    limits: Limits,
    info: VolumeInfo,
    iso_root: DirEntry,
    joliet_root: Option<DirEntry>,
    iso1999_root: Option<DirEntry>,
    /// What the root's "." record says about SUSP / Rock Ridge (None: no Rock Ridge).
    rr: Option<rr_view::RrState>,
    /// False for an image without ISO 9660 (UDF only): `iso_root` is then a placeholder.
    has_iso: bool,
    /// The UDF file system, if any.
    udf: Option<udf_view::UdfState>,
    /// Notes about deviations accepted (lenient mode) or damaged copies replaced by others.
    warnings: Vec<String>,
    /// Entries left out of their directory because they are damaged (lenient mode).
    left_out: Vec<String>,
    /// Why an announced UDF file system could not be read (lenient mode on a bridge image).
    udf_error: Option<ParseError>,
    /// Each view's path tables.
    path_tables: Vec<(View, PathTableLoc)>,
    /// The first sector after the volume descriptor set: no directory lies before it.
    vds_end: u64,
    /// Metadata bytes charged to the current (or last) operation.
    meta_used: u64,
}

impl<R: Read + Seek> fmt::Debug for ImageReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageReader")
            .field("image_len", &self.image_len)
            .field("limits", &self.limits)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Converts an I/O error into a parse error at `lba` (end of file means a truncated image; a
/// parse error carried inside is returned as is).
pub(crate) fn io_error(e: io::Error, lba: Option<u64>) -> ParseError {
    if e.get_ref().is_some_and(|inner| inner.is::<ParseError>()) {
        if let Some(Ok(pe)) = e.into_inner().map(|b| b.downcast::<ParseError>()) {
            return *pe;
        }
        return ParseError {
            kind: ParseErrorKind::Io("unknown error".into()),
            lba,
            offset: None,
        };
    }
    let kind = if e.kind() == io::ErrorKind::UnexpectedEof {
        ParseErrorKind::Truncated
    } else {
        ParseErrorKind::Io(e.to_string())
    };
    ParseError {
        kind,
        lba,
        offset: None,
    }
}

/// Reads exactly `buf.len()` bytes at byte offset `off`; errors name `lba`.
pub(crate) fn read_at<R: Read + Seek>(
    r: &mut R,
    off: u64,
    buf: &mut [u8],
    lba: u64,
) -> Result<(), ParseError> {
    r.seek(SeekFrom::Start(off))
        .map_err(|e| io_error(e, Some(lba)))?;
    r.read_exact(buf).map_err(|e| io_error(e, Some(lba)))
}

impl<R: Read + Seek> ImageReader<R> {
    /// Parses the volume descriptor set of the image in `r` with the default [`Limits`].
    pub fn open(r: R) -> Result<Self, ParseError> {
        Self::open_with_limits(r, Limits::default())
    }

    /// Parses the volume descriptor set of the image in `r` (ECMA-119 6.7.1, from sector 16 to
    /// the terminator).
    ///
    /// A UDF file system is looked for too (ECMA-167 2/8.3: a volume recognition sequence with
    /// `NSR02` or `NSR03` after the ISO 9660 descriptors); an image with UDF and no primary volume
    /// descriptor opens with the UDF view only. On a bridge image, a UDF file system that cannot
    /// be read fails `open` in strict mode and only leaves out the UDF view (with a warning) in
    /// lenient mode.
    pub fn open_with_limits(mut r: R, limits: Limits) -> Result<Self, ParseError> {
        let image_len = r.seek(SeekFrom::End(0)).map_err(|e| io_error(e, None))?;
        let mut warnings = Vec::new();
        let scanned = volume::scan(&mut r, image_len, &limits);
        let udf = udf_view::detect(&mut r, image_len, &limits, &mut warnings);
        let mut vs = match scanned {
            Ok(vs) => vs,
            Err(e) if e.kind == ParseErrorKind::NoVolumeDescriptor => {
                // No ISO 9660: a UDF-only image, or nothing this reader knows.
                let state = udf?.ok_or(e)?;
                return Ok(Self::udf_only(r, image_len, limits, state, warnings));
            }
            Err(e) => return Err(e),
        };
        let mut udf_error = None;
        let udf = match udf {
            Ok(u) => u,
            Err(e) if limits.is_strict() => return Err(e),
            Err(e) => {
                udf_view::warn(
                    &mut warnings,
                    format!("the UDF file system is unreadable and left out: {e}"),
                );
                udf_error = Some(e);
                None
            }
        };
        let rr = rr_view::detect(&mut r, image_len, &limits, &vs.iso_root);
        vs.info.rock_ridge = rr.as_ref().map(|s| s.id.clone());
        vs.info.udf = udf.as_ref().map(|u| u.info.clone());
        let reader = ImageReader {
            inner: r,
            image_len,
            limits,
            rr,
            info: vs.info,
            iso_root: vs.iso_root,
            joliet_root: vs.joliet_root,
            iso1999_root: vs.iso1999_root,
            has_iso: true,
            udf,
            warnings,
            left_out: Vec::new(),
            udf_error,
            path_tables: vs.path_tables,
            vds_end: vs.vds_end,
            meta_used: vs.metadata_bytes,
        };
        if limits.is_strict() {
            // Strict: every root directory must lie in the image and outside the reserved
            // area now, not only when it is read.
            // (ECMA-119 views only: UDF directories follow ECMA-167.)
            for view in reader.views().into_iter().filter(|v| *v != View::Udf) {
                let root = reader.root(view)?;
                for ext in &root.extents {
                    reader.check_dir_extent(ext)?;
                }
            }
        }
        Ok(reader)
    }

    /// Metadata bytes (directory data read, entries, paths, path tables) the last operation
    /// allocated, as counted against [`Limits::max_metadata_bytes`].
    pub fn metadata_bytes_allocated(&self) -> u64 {
        self.meta_used
    }

    /// Charges `n` metadata bytes to the current operation.
    fn charge(&mut self, n: u64, lba: Option<u64>) -> Result<(), ParseError> {
        let used = self.meta_used.saturating_add(n);
        if used > self.limits.max_metadata_bytes {
            return Err(ParseError {
                kind: ParseErrorKind::LimitExceeded(
                    "metadata bytes",
                    self.limits.max_metadata_bytes,
                ),
                lba,
                offset: None,
            });
        }
        self.meta_used = used;
        Ok(())
    }

    /// The end of the data area: the image length, or in strict mode the end of the volume
    /// space (ECMA-119 8.4.8) if that comes first.
    fn data_end(&self) -> u64 {
        if self.limits.is_strict() {
            self.image_len
                .min(u64::from(self.info.volume_space_blocks) * BLOCK_SIZE_U64)
        } else {
            self.image_len
        }
    }

    /// Checks a directory extent: inside the image, after the volume descriptor set (ECMA-119
    /// 6.2.1, 6.7.1) and, in strict mode, a whole number of sectors (6.8.1.3).
    fn check_dir_extent(&self, ext: &Extent) -> Result<(), ParseError> {
        if ext.len == 0 {
            return Ok(());
        }
        if u64::from(ext.lba) < self.vds_end {
            return Err(ParseError::at(
                ParseErrorKind::ExtentInReservedArea,
                u64::from(ext.lba),
            ));
        }
        self.check_extent(ext)?;
        if self.limits.is_strict() && ext.len % crate::BLOCK_SIZE as u32 != 0 {
            return Err(ParseError::at(
                ParseErrorKind::BadSize(
                    "directory data length (ECMA-119 6.8.1.3: whole sectors)",
                    u64::from(ext.len),
                ),
                u64::from(ext.lba),
            ));
        }
        Ok(())
    }

    /// Checks a file extent: inside the image and, in strict mode, not in the system area or
    /// the volume descriptor set.
    fn check_file_extent(&self, ext: &Extent) -> Result<(), ParseError> {
        if ext.len != 0 && self.limits.is_strict() && u64::from(ext.lba) < self.vds_end {
            return Err(ParseError::at(
                ParseErrorKind::ExtentInReservedArea,
                u64::from(ext.lba),
            ));
        }
        self.check_extent(ext)
    }

    /// The reader of an image with UDF and without ISO 9660.
    fn udf_only(
        r: R,
        image_len: u64,
        limits: Limits,
        state: udf_view::UdfState,
        warnings: Vec<String>,
    ) -> Self {
        let info = VolumeInfo {
            volume_id: state.info.logical_volume_id.clone(),
            system_id: String::new(),
            publisher: String::new(),
            preparer: String::new(),
            application: String::new(),
            volume_space_blocks: u32::try_from(image_len / BLOCK_SIZE_U64).unwrap_or(u32::MAX),
            block_size: crate::BLOCK_SIZE as u16,
            creation: state.recording_time,
            modification: state.integrity_time,
            joliet_level: None,
            has_iso1999: false,
            joliet_volume_id: None,
            rock_ridge: None,
            udf: Some(state.info.clone()),
        };
        // A placeholder: with `has_iso` false, no view reaches it.
        let iso_root = DirEntry {
            name: "/".into(),
            identifier: vec![0],
            is_dir: true,
            size: 0,
            extents: Vec::new(),
            mtime: None,
            hidden: false,
            view: View::Iso9660,
            posix: None,
            rr_name: None,
            udf: None,
        };
        ImageReader {
            inner: r,
            image_len,
            limits,
            info,
            iso_root,
            joliet_root: None,
            iso1999_root: None,
            rr: None,
            has_iso: false,
            udf: Some(state),
            warnings,
            left_out: Vec::new(),
            udf_error: None,
            path_tables: Vec::new(),
            vds_end: 16,
            meta_used: 0,
        }
    }

    /// Notes about what the reader accepted or worked around: deviations accepted in lenient
    /// mode (for example a UDF tag location that names another block), and damaged copies
    /// replaced by others (a reserve volume descriptor sequence, another anchor, the metadata
    /// mirror file). At most 1000 are kept.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The entries lenient mode left out of the directories read so far because they are
    /// damaged, one message each, naming the path and the sector: in the UDF view a file entry
    /// whose tag checksum, CRC or identifier is wrong, or that names blocks outside its
    /// partition or the image; in the ISO 9660 views a directory record that cannot be decoded
    /// (shorter than 34 bytes, crossing its sector, an identifier overrunning it: with a length
    /// that cannot be trusted, the rest of its sector goes too, ECMA-119 6.8.1.1). They are in
    /// [`warnings`](Self::warnings) too. Strict mode fails instead.
    pub fn left_out(&self) -> &[String] {
        &self.left_out
    }

    /// Why the UDF file system this image announces (ECMA-167 2/8.3) could not be read, when
    /// lenient mode left its view out of a bridge image; `None` otherwise. [`root`](Self::root)
    /// of [`View::Udf`] returns this error.
    pub fn udf_error(&self) -> Option<&ParseError> {
        self.udf_error.as_ref()
    }

    /// What the volume descriptors say.
    pub fn volume_info(&self) -> &VolumeInfo {
        &self.info
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The length of the image in bytes.
    pub fn image_len(&self) -> u64 {
        self.image_len
    }

    /// The views present: ISO 9660 first, then Joliet, ISO 9660:1999, Rock Ridge and UDF if
    /// present (only UDF on an image without ISO 9660).
    pub fn views(&self) -> Vec<View> {
        let mut v = Vec::new();
        if self.has_iso {
            v.push(View::Iso9660);
        }
        if self.joliet_root.is_some() {
            v.push(View::Joliet);
        }
        if self.iso1999_root.is_some() {
            v.push(View::Iso1999);
        }
        if self.rr.is_some() {
            v.push(View::RockRidge);
        }
        if self.udf.is_some() {
            v.push(View::Udf);
        }
        v
    }

    /// The richest ISO 9660 view present: Rock Ridge, else Joliet, else ISO 9660:1999, else
    /// ISO 9660; UDF on an image without ISO 9660.
    pub fn default_view(&self) -> View {
        if !self.has_iso && self.udf.is_some() {
            View::Udf
        } else if self.rr.is_some() {
            View::RockRidge
        } else if self.joliet_root.is_some() {
            View::Joliet
        } else if self.iso1999_root.is_some() {
            View::Iso1999
        } else {
            View::Iso9660
        }
    }

    /// The root directory of `view` (kind `NotFound` if the image has no such view).
    pub fn root(&self, view: View) -> Result<DirEntry, ParseError> {
        let root = match view {
            View::Iso9660 => Some(&self.iso_root).filter(|_| self.has_iso),
            View::Joliet => self.joliet_root.as_ref(),
            View::Iso1999 => self.iso1999_root.as_ref(),
            View::RockRidge => return self.rr_root(),
            View::Udf => {
                if let Some(e) = &self.udf_error {
                    return Err(e.clone());
                }
                self.udf.as_ref().map(|u| &u.root)
            }
        };
        root.cloned()
            .ok_or_else(|| ParseError::new(ParseErrorKind::NotFound(format!("{view} view"))))
    }

    /// Checks that `ext` lies inside the image (empty extents are accepted anywhere).
    fn check_extent(&self, ext: &Extent) -> Result<(), ParseError> {
        if ext.len != 0 && ext.byte_end() > self.data_end() {
            return Err(ParseError::at(
                ParseErrorKind::ExtentOutOfImage,
                u64::from(ext.lba),
            ));
        }
        Ok(())
    }

    /// The entries of directory `dir`, in recorded order, without "." and "..". Consecutive
    /// records of a multi-extent file (ECMA-119 9.1.6 bit 7) become one entry; associated-file
    /// records (bit 2) are skipped. In the Rock Ridge view, relocated directories (RRIP 4.1.5)
    /// are shown where their child link is, and not in the relocation directory, which is
    /// hidden.
    ///
    /// In the UDF view: one entry per file identifier descriptor, in recorded order, without
    /// the parent and deleted ones; each child's file entry is read for its size, allocation,
    /// times and POSIX attributes.
    pub fn read_dir(&mut self, dir: &DirEntry) -> Result<Vec<DirEntry>, ParseError> {
        self.meta_used = 0;
        let name = dir.name.clone();
        self.read_dir_inner(dir, &name)
    }

    /// [`read_dir`](Self::read_dir), charging the current operation's metadata budget; `path`
    /// names the directory in warnings about damaged records left out (ISO 9660 views; UDF
    /// entries know their directory's path).
    fn read_dir_inner(&mut self, dir: &DirEntry, path: &str) -> Result<Vec<DirEntry>, ParseError> {
        if dir.view == View::Udf {
            return self.udf_read_dir(dir);
        }
        // The Rock Ridge view reads the records of the primary hierarchy.
        let parse_view = match dir.view {
            View::RockRidge => View::Iso9660,
            v => v,
        };
        let keep_su = parse_view == View::Iso9660 && self.rr.is_some();
        if dir.view == View::RockRidge && !keep_su {
            return Err(ParseError::new(ParseErrorKind::NotFound(
                "rockridge view".into(),
            )));
        }
        let (entries, su) = self.read_records(dir, parse_view, keep_su, Some(path))?;
        if !keep_su {
            return Ok(entries);
        }
        self.apply_rock_ridge(dir, entries, su)
    }

    /// The entries of directory `dir` decoded as `parse_view`, and (if `keep_su`) the system use
    /// field of each one's first record. Lenient mode leaves damaged records out; with `path`
    /// (the directory's, for the message) each is noted in the warnings and
    /// [`left_out`](Self::left_out).
    fn read_records(
        &mut self,
        dir: &DirEntry,
        parse_view: View,
        keep_su: bool,
        path: Option<&str>,
    ) -> Result<(Vec<DirEntry>, Vec<dir::SystemUse>), ParseError> {
        if !dir.is_dir {
            return Err(ParseError::new(ParseErrorKind::NotADirectory(
                dir.name.clone(),
            )));
        }
        let first_lba = dir.extents.first().map(|e| u64::from(e.lba));
        if dir.extents.len() > self.limits.max_extents_per_file {
            return Err(ParseError {
                kind: ParseErrorKind::LimitExceeded(
                    "extents per file",
                    self.limits.max_extents_per_file as u64,
                ),
                lba: first_lba,
                offset: None,
            });
        }
        let total: u64 = dir.extents.iter().map(|e| u64::from(e.len)).sum();
        if total > self.limits.max_dir_bytes {
            return Err(ParseError {
                kind: ParseErrorKind::LimitExceeded("directory bytes", self.limits.max_dir_bytes),
                lba: Some(first_lba.unwrap_or(0)),
                offset: None,
            });
        }
        for ext in &dir.extents {
            self.check_dir_extent(ext)?;
        }
        // The buffer holding the directory's bytes (bounded above by max_dir_bytes).
        self.charge(total, first_lba)?;
        let limits = self.limits;
        let budget_left = limits.max_metadata_bytes.saturating_sub(self.meta_used);
        let self_lba = dir.extents.iter().find(|e| e.len != 0).map(|e| e.lba);
        // ECMA-119 4th edition: when the primary and the enhanced volume descriptor share one
        // hierarchy (as genisoimage -iso-level 4 and glassmaster's level 1999 write it), its
        // identifiers follow the ISO 9660:1999 rules in both views.
        let shared_1999 = parse_view == View::Iso9660
            && self
                .iso1999_root
                .as_ref()
                .is_some_and(|r| r.extents.first() == self.iso_root.extents.first());
        let rules = if shared_1999 {
            View::Iso1999
        } else {
            parse_view
        };
        let mut parser =
            dir::DirParser::new(parse_view, &limits, self_lba, budget_left).with_rules(rules);
        if keep_su {
            parser.keep_system_use();
        }
        let mut result = Ok(());
        for ext in &dir.extents {
            // Bounded by max_dir_bytes and the image (checked above); zeroed by the allocator.
            let mut buf = vec![0u8; ext.len as usize];
            result = read_at(
                &mut self.inner,
                ext.byte_offset(),
                &mut buf,
                u64::from(ext.lba),
            )
            .and_then(|()| parser.feed(&buf, ext.lba));
            if result.is_err() {
                break;
            }
        }
        let charged = parser.charged();
        if let Some(path) = path {
            for (e, skipped) in parser.take_damaged() {
                let what = match skipped {
                    dir::Skipped::Record => "directory record",
                    dir::Skipped::RestOfSector => "directory record and the rest of its sector",
                };
                let msg = format!(
                    "directory {path}: damaged {what} at sector {} offset {} left out ({})",
                    e.lba.unwrap_or(0),
                    e.offset.unwrap_or(0),
                    e.kind
                );
                if !self.left_out.contains(&msg) {
                    udf_view::warn(&mut self.left_out, msg.clone());
                    udf_view::warn(&mut self.warnings, msg);
                }
            }
        }
        let finished = result.and_then(|()| {
            if keep_su {
                parser.finish_with_system_use()
            } else {
                parser.finish().map(|e| (e, Vec::new()))
            }
        });
        self.meta_used = self.meta_used.saturating_add(charged);
        let (entries, su) = finished.map_err(|e| ParseError {
            lba: e.lba.or(first_lba),
            ..e
        })?;
        if limits.is_strict() {
            // Strict: every entry's data must lie in the data area now.
            for entry in &entries {
                for ext in &entry.extents {
                    if entry.is_dir {
                        self.check_dir_extent(ext)?;
                    } else {
                        self.check_file_extent(ext)?;
                    }
                }
            }
        }
        Ok((entries, su))
    }

    /// Finds `path` ("/a/b.txt") in `view`: each component by its decoded name, an exact match
    /// first, then an ASCII-case-insensitive one. `/` is the root.
    pub fn lookup(&mut self, view: View, path: &str) -> Result<DirEntry, ParseError> {
        self.meta_used = 0;
        let not_found = || ParseError::new(ParseErrorKind::NotFound(path.to_string()));
        let mut cur = self.root(view)?;
        let mut cur_path = String::new();
        for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if !cur.is_dir {
                return Err(not_found());
            }
            let shown = if cur_path.is_empty() {
                "/".to_string()
            } else {
                cur_path.clone()
            };
            let mut children = self.read_dir_inner(&cur, &shown)?;
            let idx = children
                .iter()
                .position(|e| e.name == comp)
                .or_else(|| {
                    children
                        .iter()
                        .position(|e| e.name.eq_ignore_ascii_case(comp))
                })
                .ok_or_else(not_found)?;
            cur = children.swap_remove(idx);
            cur_path = format!("{cur_path}/{}", cur.name);
        }
        Ok(cur)
    }

    /// Every entry below the root of `view`, depth first (each directory followed by its
    /// contents), with paths like `/a/b.txt`. Enforces the [`Limits`] and fails with
    /// `DirectoryLoop` if a directory is reached twice (the same extent, or in the UDF view the
    /// same file entry: [`DirEntry::location`]).
    pub fn walk(&mut self, view: View) -> Result<Vec<(String, DirEntry)>, ParseError> {
        self.meta_used = 0;
        let root = self.root(view)?;
        let mut visited: HashSet<u32> = HashSet::new();
        let mut out = Vec::new();
        let mut total = 0usize;
        // (path of the directory, the directory, its depth; the root is depth 0)
        let mut stack: Vec<(String, DirEntry, usize)> = Vec::new();
        self.expand(&mut visited, &mut total, "", &root, 0, &mut stack)?;
        while let Some((path, entry, depth)) = stack.pop() {
            if entry.is_dir {
                self.expand(&mut visited, &mut total, &path, &entry, depth, &mut stack)?;
            }
            out.push((path, entry));
        }
        Ok(out)
    }

    /// Reads directory `dir` (at `depth`, with path `path`) for [`walk`](Self::walk) and pushes
    /// its children on `stack` so that they pop in recorded order.
    fn expand(
        &mut self,
        visited: &mut HashSet<u32>,
        total: &mut usize,
        path: &str,
        dir: &DirEntry,
        depth: usize,
        stack: &mut Vec<(String, DirEntry, usize)>,
    ) -> Result<(), ParseError> {
        // A directory is known by its first non-empty extent (an empty one holds nothing), or in
        // the UDF view by its file entry.
        let first = dir.location();
        let lba = first.map_or(0, u64::from);
        if let Some(at) = first {
            // ECMA-119 6.8.2: the hierarchy is a tree; a directory reached twice is a cycle (or
            // two directories sharing one extent, which would multiply the walk).
            if !visited.insert(at) {
                return Err(ParseError::at(ParseErrorKind::DirectoryLoop, u64::from(at)));
            }
            // The visited set's slot.
            self.charge(16, Some(lba))?;
        }
        let children = self.read_dir_inner(dir, if path.is_empty() { "/" } else { path })?;
        if children.is_empty() {
            return Ok(());
        }
        if depth >= self.limits.max_depth {
            return Err(ParseError::at(
                ParseErrorKind::LimitExceeded("directory depth", self.limits.max_depth as u64),
                lba,
            ));
        }
        // Extents beyond each entry's first count as entries (UDF hard links can repeat a file
        // entry's thousands of extents in every directory).
        let weight = children
            .iter()
            .fold(0usize, |w, c| w.saturating_add(udf_view::entry_weight(c)));
        *total = total.saturating_add(weight);
        if *total > self.limits.max_total_entries {
            return Err(ParseError::at(
                ParseErrorKind::LimitExceeded(
                    "total entries",
                    self.limits.max_total_entries as u64,
                ),
                lba,
            ));
        }
        // Each child's path and its slot in the walk's output (the entry itself was charged by
        // read_dir).
        let slot = std::mem::size_of::<(String, DirEntry, usize)>() as u64;
        let paths: u64 = children
            .iter()
            .map(|c| path.len() as u64 + 1 + c.name.len() as u64 + slot)
            .sum();
        self.charge(paths, Some(lba))?;
        for child in children.into_iter().rev() {
            let child_path = format!("{path}/{}", child.name);
            stack.push((child_path, child, depth + 1));
        }
        Ok(())
    }

    /// Opens `entry` for reading: its extents in order, exactly `entry.size` bytes.
    ///
    /// In the UDF view the data may be embedded in the file entry, and unrecorded extents read
    /// as zeros; the size may not exceed the image's length either.
    pub fn open_file(&mut self, entry: &DirEntry) -> Result<FileReader<'_, R>, ParseError> {
        if let (View::Udf, Some(u)) = (entry.view, entry.udf.as_ref()) {
            return self.udf_open_file(entry, u);
        }
        let lba = entry.extents.first().map_or(0, |e| u64::from(e.lba));
        if entry.extents.len() > self.limits.max_extents_per_file {
            return Err(ParseError::at(
                ParseErrorKind::LimitExceeded(
                    "extents per file",
                    self.limits.max_extents_per_file as u64,
                ),
                lba,
            ));
        }
        let mut total = 0u64;
        for ext in &entry.extents {
            self.check_file_extent(ext)?;
            total += u64::from(ext.len);
        }
        if entry.size > total {
            return Err(ParseError::at(
                ParseErrorKind::BadSize("file size (more than its extents hold)", entry.size),
                lba,
            ));
        }
        // Every extent lies in the image, so only overlapping extents can add up to more than
        // its length; refusing them bounds what a file read can allocate.
        if entry.size > self.image_len {
            return Err(ParseError::at(ParseErrorKind::OverlappingExtents, lba));
        }
        if self.limits.is_strict() {
            // ECMA-119 6.4.3, 6.5.1: the file sections of a file are distinct.
            let mut sorted: Vec<Extent> = entry
                .extents
                .iter()
                .filter(|e| e.len != 0)
                .copied()
                .collect();
            sorted.sort_by_key(|e| e.lba);
            if let Some(w) = sorted
                .windows(2)
                .find(|w| w[1].byte_offset() < w[0].byte_end())
            {
                return Err(ParseError::at(
                    ParseErrorKind::OverlappingExtents,
                    u64::from(w[1].lba),
                ));
            }
        }
        Ok(FileReader::new(&mut self.inner, &entry.extents, entry.size))
    }

    /// Where the bytes of `entry` are: `Ok(Err(bytes))` for data held in its UDF file entry,
    /// else the absolute extents in file order (in 2048-byte sectors), each flagged as a hole
    /// (reads as zeros) or not. A file of a UDF volume of other blocks has its extents
    /// converted to sectors when each starts on one, else its bytes are read (`Ok(Err(..))`).
    pub(crate) fn file_pieces(&mut self, entry: &DirEntry) -> Result<file::FilePieces, ParseError> {
        let unit = match (entry.view, self.udf.as_ref()) {
            (View::Udf, Some(u)) => u.bs,
            _ => BLOCK_SIZE_U64,
        };
        let pieces = self.open_file(entry)?.into_pieces();
        if unit == BLOCK_SIZE_U64 {
            return Ok(pieces);
        }
        if let Ok(p) = &pieces {
            let converted: Option<Vec<(Extent, bool)>> = p
                .iter()
                .map(|(x, hole)| {
                    let at = u64::from(x.lba) * unit;
                    let lba = u32::try_from(at / BLOCK_SIZE_U64).ok()?;
                    (*hole || at % BLOCK_SIZE_U64 == 0)
                        .then_some((Extent { lba, len: x.len }, *hole))
                })
                .collect();
            if let Some(c) = converted {
                return Ok(Ok(c));
            }
        }
        self.read_file(entry).map(Err)
    }

    /// The path table of `view` (ECMA-119 6.9, 9.4): the type L table, decoded and checked
    /// (the first record is the root, each parent number names an earlier record, each
    /// directory lies in the image). Strict mode also checks the order of ECMA-119 6.9.1 and
    /// that the type M table is the same.
    pub fn path_table(&mut self, view: View) -> Result<Vec<PathTableEntry>, ParseError> {
        self.meta_used = 0;
        self.root(view)?;
        // Rock Ridge shares the primary hierarchy's path tables; UDF has none.
        let view = match view {
            View::RockRidge => View::Iso9660,
            View::Udf => return Ok(Vec::new()),
            v => v,
        };
        let loc = self
            .path_tables
            .iter()
            .find(|(v, _)| *v == view)
            .map(|(_, l)| *l)
            .ok_or_else(|| ParseError::new(ParseErrorKind::NotFound(format!("{view} view"))))?;
        let l = self.read_path_table(loc.l, loc.size)?;
        // Records cost far more in memory than their 8 + n bytes in the table: decode no more
        // than the metadata budget left can hold (each decoded record, and its entry below).
        let per_record =
            (std::mem::size_of::<PathTableRecord>() + std::mem::size_of::<PathTableEntry>()) as u64;
        let left = self
            .limits
            .max_metadata_bytes
            .saturating_sub(self.meta_used);
        let max_records = usize::try_from(left / per_record).unwrap_or(usize::MAX);
        let budget = self.limits.max_metadata_bytes;
        // Decodes the table of `bytes` read from sector `at`; errors name the sector and offset,
        // and running out of records is running out of the metadata budget.
        let decode = move |bytes: &[u8], big_endian: bool, at: u32| {
            decode_path_table(bytes, big_endian, max_records).map_err(|e| ParseError {
                kind: match e.kind {
                    ParseErrorKind::LimitExceeded("path table records", _) => {
                        ParseErrorKind::LimitExceeded("metadata bytes", budget)
                    }
                    k => k,
                },
                lba: Some(u64::from(at) + e.offset.unwrap_or(0) as u64 / BLOCK_SIZE_U64),
                offset: e.offset.map(|o| o % crate::BLOCK_SIZE),
            })
        };
        let records = decode(&l, false, loc.l)?;
        let strict = self.limits.is_strict();
        if strict {
            let m = self.read_path_table(loc.m, loc.size)?;
            let m_records = decode(&m, true, loc.m)?;
            if let Some(i) = (0..records.len().max(m_records.len()))
                .find(|&i| records.get(i) != m_records.get(i))
            {
                return Err(ParseError::at(
                    ParseErrorKind::BadPathTable(format!(
                        "type L and type M tables differ at record {} (ECMA-119 6.9.2)",
                        i + 1
                    )),
                    u64::from(loc.m),
                ));
            }
        }
        let cost = records
            .iter()
            .map(|r| (std::mem::size_of::<PathTableEntry>() + 2 * r.identifier.len()) as u64)
            .sum();
        self.charge(cost, Some(u64::from(loc.l)))?;
        let bad = |why: String| {
            Err(ParseError::at(
                ParseErrorKind::BadPathTable(why),
                u64::from(loc.l),
            ))
        };
        let mut out = Vec::with_capacity(records.len());
        let mut last_parent = 1u16;
        for (i, rec) in records.into_iter().enumerate() {
            let number = i as u64 + 1;
            if number == 1 && (rec.identifier != [0] || rec.parent != 1) {
                // ECMA-119 6.9.1, 9.4.4: the root comes first and is its own parent.
                if strict || rec.parent != 1 {
                    return bad("the first record is not the root (ECMA-119 6.9.1)".into());
                }
            }
            // ECMA-119 9.4.4: the parent is an earlier directory (the root is its own parent).
            if rec.parent == 0 || (number > 1 && u64::from(rec.parent) >= number) {
                return bad(format!(
                    "record {number} names parent {} (ECMA-119 9.4.4)",
                    rec.parent
                ));
            }
            if strict && rec.parent < last_parent {
                return bad(format!("record {number} is out of order (ECMA-119 6.9.1)"));
            }
            last_parent = rec.parent;
            let ext = Extent {
                lba: rec.extent.saturating_add(u32::from(rec.ext_attr_len)),
                len: 1,
            };
            if u64::from(ext.lba) < self.vds_end {
                return Err(ParseError::at(
                    ParseErrorKind::ExtentInReservedArea,
                    u64::from(ext.lba),
                ));
            }
            self.check_extent(&ext)?;
            let name = if number == 1 {
                "/".to_string()
            } else {
                dir::decode_name(view, &rec.identifier, true)
            };
            out.push(PathTableEntry {
                number: number as u32,
                name,
                record: rec,
            });
        }
        Ok(out)
    }

    /// Reads `size` bytes of path table at sector `lba`, charging the metadata budget.
    fn read_path_table(&mut self, lba: u32, size: u32) -> Result<Vec<u8>, ParseError> {
        let at = u64::from(lba);
        // A path table larger than the image is impossible; one in the reserved area is not a
        // path table.
        if u64::from(size) > self.image_len {
            return Err(ParseError::at(
                ParseErrorKind::BadSize("path table size", u64::from(size)),
                at,
            ));
        }
        if size != 0 && at < self.vds_end {
            return Err(ParseError::at(ParseErrorKind::ExtentInReservedArea, at));
        }
        self.check_extent(&Extent { lba, len: size })?;
        self.charge(u64::from(size), Some(at))?;
        let mut buf = vec![0u8; size as usize];
        read_at(&mut self.inner, at * BLOCK_SIZE_U64, &mut buf, at)?;
        Ok(buf)
    }

    /// Reads the whole of `entry` into memory.
    pub fn read_file(&mut self, entry: &DirEntry) -> Result<Vec<u8>, ParseError> {
        let lba = entry.extents.first().map(|e| u64::from(e.lba));
        let mut f = self.open_file(entry)?;
        // Bounded by the image length (checked by open_file).
        let cap = usize::try_from(f.size()).map_err(|_| ParseError {
            kind: ParseErrorKind::LimitExceeded("file size", usize::MAX as u64),
            lba,
            offset: None,
        })?;
        let mut out = Vec::with_capacity(cap);
        f.read_to_end(&mut out).map_err(|e| io_error(e, lba))?;
        Ok(out)
    }

    /// Gives the underlying reader back.
    pub fn into_inner(self) -> R {
        self.inner
    }
}
