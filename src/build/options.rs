//! [`Options`]: what to build (file systems, levels, names, boot, extras), and the checks of
//! their combinations ([`Options::validate`]) made before anything is laid out.

use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::error::{Error, Result};
pub use crate::format::iso9660::IsoLevel;
use crate::format::udf::{UdfRevision, MAX_EXTENT_LEN};

/// A set of file systems to create (IMAPI's FsiFileSystems). Combine with `|` and `|=`, take
/// out with [`without`](Self::without) (or `&` with a complement you build); `Debug` names
/// the members: `FileSystems(ISO9660 | JOLIET)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileSystems(u8);

impl std::fmt::Debug for FileSystems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const NAMES: [(FileSystems, &str); 4] = [
            (FileSystems::ISO9660, "ISO9660"),
            (FileSystems::JOLIET, "JOLIET"),
            (FileSystems::ROCK_RIDGE, "ROCK_RIDGE"),
            (FileSystems::UDF, "UDF"),
        ];
        f.write_str("FileSystems(")?;
        let mut first = true;
        for (fs, name) in NAMES {
            if self.contains(fs) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("NONE")?;
        }
        f.write_str(")")
    }
}

impl FileSystems {
    /// ISO 9660 (ECMA-119): the primary volume descriptor and its tree.
    pub const ISO9660: FileSystems = FileSystems(1);
    /// Joliet: a supplementary volume descriptor with UCS-2 names.
    pub const JOLIET: FileSystems = FileSystems(2);
    /// Rock Ridge (SUSP/RRIP) extensions on the ISO 9660 tree: POSIX names, modes, owners,
    /// times, symbolic links, device nodes, hard links and deep directories.
    pub const ROCK_RIDGE: FileSystems = FileSystems(4);
    /// UDF (ECMA-167 / OSTA UDF 1.02 to 2.60), alone or as a bridge with ISO 9660.
    pub const UDF: FileSystems = FileSystems(8);
    /// No file system.
    pub const NONE: FileSystems = FileSystems(0);

    /// True if every file system in `other` is in `self`.
    pub fn contains(self, other: FileSystems) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` without the file systems in `other`.
    pub fn without(self, other: FileSystems) -> FileSystems {
        FileSystems(self.0 & !other.0)
    }
}

impl std::ops::BitOr for FileSystems {
    type Output = FileSystems;
    fn bitor(self, rhs: FileSystems) -> FileSystems {
        FileSystems(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for FileSystems {
    fn bitor_assign(&mut self, rhs: FileSystems) {
        self.0 |= rhs.0;
    }
}

impl std::ops::BitAnd for FileSystems {
    type Output = FileSystems;
    /// The file systems in both sets.
    fn bitand(self, rhs: FileSystems) -> FileSystems {
        FileSystems(self.0 & rhs.0)
    }
}

impl Default for FileSystems {
    fn default() -> Self {
        FileSystems::ISO9660 | FileSystems::JOLIET
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
    /// Keep Joliet entries whose path is longer than the Joliet specification's 240
    /// characters (off: they are left out of the Joliet tree with a warning; they stay in
    /// ISO 9660, Rock Ridge and UDF).
    pub joliet_long_paths: bool,
    /// Joliet names keep characters outside the BMP as UTF-16 surrogate pairs (mkisofs
    /// `-joliet-utf16`; Windows and Linux read them, libcdio does not) instead of `_`.
    pub joliet_utf16: bool,
    /// The largest image allowed, in 2048-byte blocks (IMAPI's FreeMediaBlocks).
    pub max_blocks: Option<u64>,
    /// The time written as the volume creation/modification time and given to entries without
    /// a time of their own. `None`: the time `build` is called. See
    /// [`source_date_epoch`] for the reproducible-builds variable.
    pub build_time: Option<DateTime<Utc>>,
    /// Entry times (modification, access, change, creation) later than this are recorded as
    /// this time, as `tar --clamp-mtime` does with `SOURCE_DATE_EPOCH`: files touched by the
    /// build (generated sources) then do not make the image depend on when it was built.
    /// Entries without a time of their own get [`build_time`](Self::build_time), which is not
    /// clamped (set it too). `None` (the default): times are recorded as found.
    pub clamp_times: Option<DateTime<Utc>>,
    /// ECMA-119 8.4.5 system identifier (a-characters).
    pub system_id: String,
    /// ECMA-119 8.4.20 publisher identifier.
    pub publisher: String,
    /// ECMA-119 8.4.21 data preparer identifier.
    pub preparer: String,
    /// ECMA-119 8.4.22 application identifier.
    pub application: String,
    /// ECMA-119 8.4.19 volume set identifier.
    pub volume_set_id: String,
    /// ECMA-119 8.4.23 copyright file identifier (a file of the root directory, by its ISO 9660
    /// name).
    pub copyright_file: String,
    /// ECMA-119 8.4.24 abstract file identifier.
    pub abstract_file: String,
    /// ECMA-119 8.4.25 bibliographic file identifier.
    pub biblio_file: String,
    /// Write the volume and volume set identifiers of the primary descriptor as given (their
    /// UTF-8 bytes, cut at a character boundary) instead of as d-characters, as xorriso does
    /// with `-V` and `-volset` (blkid and udev then show the label as written).
    pub volume_ids_as_given: bool,
    /// ECMA-119 8.4.26-8.4.29 volume dates that replace the defaults (creation and modification:
    /// the build time; expiration and effective: not specified).
    pub volume_dates: VolumeDates,
    /// Rock Ridge options (used when `filesystems` contains `ROCK_RIDGE`).
    pub rock_ridge: crate::format::rockridge::RockRidgeOptions,
    /// UDF options (used when `filesystems` contains `UDF`).
    pub udf: UdfOptions,
    /// El Torito boot entries and hybrid MBR/GPT (needs ISO 9660).
    pub boot: crate::build::boot::BootOptions,
    /// Store files with identical contents once (default on; see `layout::dedup`).
    pub dedup: bool,
    /// Embed a SHA-256 of every file, and of that list, in the image (see
    /// [`crate::extras::checksums`]); `glassmaster verify` checks them.
    pub checksums: bool,
    /// Zero blocks added after the file data (before a closing UDF anchor or backup GPT): 150
    /// (300 KiB), as genisoimage and xorriso do by default. Old Linux CD drivers read ahead past
    /// the last file, and libarchive does not recognise images smaller than 48 KiB.
    pub padding_blocks: u32,
    /// Leave out of the image, each with a warning naming it, the directories of a scanned
    /// tree that cannot be listed and the files that cannot be opened (permission denied),
    /// instead of stopping the build (as genisoimage does; off by default, as xorriso).
    pub skip_unreadable: bool,
    /// Whether large files are cloned (reflinked) into the image instead of copied, where the
    /// output's file system shares extents (XFS with reflink=1, btrfs): see [`Reflink`] and
    /// [`Options::prepare_reflink`].
    pub reflink: Reflink,
    /// Files of at least this many bytes are cloned (default 1 MiB).
    pub reflink_min: u64,
    /// Set by [`Options::prepare_reflink`]: large files are placed at even blocks (4 KiB).
    pub(crate) reflink_align: bool,
    /// Set (on a copy of the builder) by `build_append`: the layout is a session appended to a
    /// base image.
    pub(crate) append: Option<Arc<crate::build::base::AppendInput>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            filesystems: FileSystems::default(),
            volume_id: "CDROM".to_string(),
            level: IsoLevel::default(),
            joliet_long_names: false,
            joliet_long_paths: false,
            joliet_utf16: false,
            max_blocks: None,
            build_time: None,
            clamp_times: None,
            system_id: String::new(),
            publisher: String::new(),
            preparer: String::new(),
            application: format!("GLASSMASTER {}", env!("CARGO_PKG_VERSION")),
            volume_set_id: String::new(),
            copyright_file: String::new(),
            abstract_file: String::new(),
            biblio_file: String::new(),
            volume_dates: VolumeDates::default(),
            volume_ids_as_given: false,
            rock_ridge: Default::default(),
            udf: Default::default(),
            boot: Default::default(),
            padding_blocks: 150,
            checksums: false,
            dedup: true,
            skip_unreadable: false,
            reflink: Reflink::Auto,
            reflink_min: 1 << 20,
            reflink_align: false,
            append: None,
        }
    }
}

/// The reproducible-builds `SOURCE_DATE_EPOCH` (<https://reproducible-builds.org/specs/source-date-epoch/>):
/// `Ok(None)` when it is not set or empty, the time it names (whole seconds since
/// 1970-01-01 UTC) otherwise, and [`Error::InvalidOption`] when it is not such a number. The
/// CLI uses it as the build time ([`ImageBuilder::source_date_epoch`](crate::ImageBuilder::source_date_epoch)).
pub fn source_date_epoch() -> Result<Option<DateTime<Utc>>> {
    let Some(value) = std::env::var_os("SOURCE_DATE_EPOCH") else {
        return Ok(None);
    };
    let text = value.to_string_lossy();
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .map(Some)
        .ok_or_else(|| {
            Error::InvalidOption(format!(
                "SOURCE_DATE_EPOCH={text:?} is not a number of seconds since 1970-01-01"
            ))
        })
}

/// Cloning large files into the image (Linux `copy_file_range(2)` shares the blocks on XFS
/// with reflink=1 and on btrfs when the offsets are block-aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reflink {
    /// Clone where the output's file system can; otherwise copy, silently.
    #[default]
    Auto,
    /// Clone, or fail (with the output's path) where the file system cannot.
    Always,
    /// Copy; the image is laid out as without this option.
    Never,
}

/// One volume date of a volume descriptor (ECMA-119 8.4.26.1: 16 digits and an offset from
/// Greenwich in 15-minute units, written 0 here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeDate {
    /// A time, written in UTC.
    At(DateTime<Utc>),
    /// `YYYYMMDDhhmmsscc` written as given (as mkisofs `--modification-date=` writes it; GRUB
    /// derives its file system UUID from these digits). Only ASCII digits are written: any
    /// other byte is written as `0`.
    Digits([u8; 16]),
}

impl VolumeDate {
    /// The 17 bytes of the field.
    pub(crate) fn encode(&self) -> [u8; 17] {
        match self {
            VolumeDate::At(t) => crate::codec::date::encode_vd_date(t),
            VolumeDate::Digits(d) => {
                let mut out = [0u8; 17];
                for (o, &c) in out.iter_mut().zip(d.iter()) {
                    *o = if c.is_ascii_digit() { c } else { b'0' };
                }
                out
            }
        }
    }
}

/// Volume dates that replace the defaults; `None` keeps the default of that field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeDates {
    /// ECMA-119 8.4.26 volume creation date (default: the build time).
    pub created: Option<VolumeDate>,
    /// 8.4.27 volume modification date (default: the build time).
    pub modified: Option<VolumeDate>,
    /// 8.4.28 volume expiration date (default: not specified).
    pub expires: Option<VolumeDate>,
    /// 8.4.29 volume effective date (default: not specified).
    pub effective: Option<VolumeDate>,
}

impl Options {
    /// Checks the combination of options, before anything is laid out: at least one of ISO 9660
    /// and UDF; Joliet, Rock Ridge and El Torito only on ISO 9660; a hybrid GPT only with a
    /// UEFI boot entry (its EFI system partition). Checks that need the tree (boot images, file
    /// sizes per level) are the layout's.
    pub(crate) fn validate(&self) -> Result<()> {
        let fs = self.filesystems;
        let iso_on = fs.contains(FileSystems::ISO9660);
        if !iso_on && !fs.contains(FileSystems::UDF) {
            return Err(Error::InvalidOption("choose ISO 9660, UDF or both".into()));
        }
        if !iso_on && (fs.contains(FileSystems::JOLIET) || fs.contains(FileSystems::ROCK_RIDGE)) {
            return Err(Error::InvalidOption(
                "Joliet and Rock Ridge extend ISO 9660: select ISO 9660 too".into(),
            ));
        }
        let boot = &self.boot;
        if !boot.entries.is_empty() && !iso_on {
            return Err(Error::InvalidOption(
                "El Torito boot entries need ISO 9660".into(),
            ));
        }
        if let Some(n) = boot
            .hybrid
            .as_ref()
            .and_then(crate::build::boot::Hybrid::partition_offset)
        {
            // The partition's system area is blocks N..N + 16 and its descriptors follow.
            if n < 16 {
                return Err(Error::InvalidOption(format!(
                    "partition offset {n}: it must be 0 (none) or at least 16 blocks"
                )));
            }
            if boot.entries.is_empty() {
                return Err(Error::InvalidOption(
                    "a partition offset needs El Torito boot entries (it belongs to the hybrid system area)".into(),
                ));
            }
            if fs.contains(FileSystems::UDF) {
                return Err(Error::InvalidOption(format!(
                    "partition offset {n} with UDF: the partition's volume descriptors at block {} would lie where UDF's volume descriptor sequence is; build without UDF",
                    u64::from(n) + 16
                )));
            }
            if self.append.is_some() {
                return Err(Error::InvalidOption(
                    "a partition offset cannot be added when appending a session".into(),
                ));
            }
        }
        if boot.system_area.is_some() && boot.hybrid.is_some() {
            return Err(Error::InvalidOption(
                "a system area given as is (-G) and a hybrid MBR / GPT both fill blocks 0-15: pick one".into(),
            ));
        }
        if boot.system_area.is_some() && !iso_on {
            return Err(Error::InvalidOption(
                "a system area (-G) needs ISO 9660".into(),
            ));
        }
        let gpt = !boot.entries.is_empty() && boot.hybrid.as_ref().is_some_and(|h| h.gpt);
        if gpt
            && !boot
                .entries
                .iter()
                .any(|e| e.platform == crate::build::boot::Platform::Efi)
        {
            return Err(Error::InvalidOption(
                "a hybrid GPT needs a UEFI boot entry for its EFI system partition".into(),
            ));
        }
        Ok(())
    }
}

/// UDF options (used when [`FileSystems::UDF`](crate::FileSystems::UDF) is selected).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdfOptions {
    /// UDF revision (default 2.01).
    pub revision: UdfRevision,
    /// Record symbolic links, device nodes, FIFOs and sockets in the UDF tree (default: yes,
    /// the tree is recorded faithfully). 7-Zip refuses the whole UDF tree of an image holding
    /// any of them ("Unsupported feature"): `false` leaves them out of UDF, each named in a
    /// warning, so that 7-Zip opens it (Rock Ridge still records them). CLI `--udf-no-links`.
    pub links_and_special_files: bool,
    /// The longest extent of file data, in bytes: [`MAX_EXTENT_LEN`], the most a descriptor can
    /// hold. Tests lower it to make a small file need allocation extent descriptors (which
    /// otherwise only files of over 114 GiB do).
    pub(crate) extent_limit: u32,
}

impl Default for UdfOptions {
    fn default() -> Self {
        UdfOptions {
            revision: UdfRevision::V2_01,
            links_and_special_files: true,
            extent_limit: MAX_EXTENT_LEN,
        }
    }
}
