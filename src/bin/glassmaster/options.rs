//! Image options shared by `build` and `map`.

use chrono::{DateTime, Utc};
use clap::Args;
use glassmaster::UdfRevision;
use glassmaster::{FileSystems, ImageBuilder, IsoLevel, Options, RripVersion, SpecialFiles};

use crate::error::{CliError, CliResult, ResultExt};
use crate::size;

/// Options that decide the image layout.
#[derive(Args, Debug, Clone, Default)]
pub struct ImageOpts {
    /// Volume name (ISO 9660: upper-cased d-characters A-Z 0-9 _, up to 32; Joliet: up to 16
    /// characters; UDF: 30): a name that does not fit is a warning saying what was recorded
    #[arg(short = 'V', long = "volume-id", value_name = "NAME", value_parser = volume_name)]
    pub volume_id: Option<String>,

    /// Create a Joliet tree (Unicode names, as Windows shows them): the default; the option is
    /// accepted for mkisofs compatibility
    #[arg(short = 'J', long)]
    pub joliet: bool,

    /// No Joliet tree
    #[arg(long = "no-joliet", conflicts_with_all = ["joliet", "joliet_long"])]
    pub no_joliet: bool,

    /// ISO 9660 level: 1 (8.3 names), 2 (30 characters), 3 (default: also files of 4 GiB and
    /// more) or 1999 (ISO 9660:1999: long names, no depth limit)
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub level: Option<IsoLevel>,

    /// Fail if the image is larger than SIZE: bytes, with K/M/G/T (powers of 1024), or cd74,
    /// cd80, dvd5, dvd9, bd25, bd50
    #[arg(long, value_name = "SIZE", value_parser = size::parse_max_size)]
    pub max_size: Option<u64>,

    /// Allow Joliet names of up to 103 characters (instead of 64)
    #[arg(long)]
    pub joliet_long: bool,

    /// Keep Joliet paths longer than 240 characters (the Joliet limit; Windows refuses such
    /// paths). Without it those entries, and everything below them, are left out of the Joliet
    /// tree with a warning; they stay in ISO 9660, Rock Ridge and UDF
    #[arg(long = "joliet-long-paths")]
    pub joliet_long_paths: bool,

    /// Rock Ridge with real owners and modes (mkisofs -R): POSIX names, permissions, times,
    /// symbolic links, device nodes, hard links, deep directories. The default; the option is
    /// accepted for mkisofs compatibility
    #[arg(short = 'R', long = "rock-ridge")]
    pub rock_ridge: bool,

    /// No Rock Ridge: plain ISO 9660 names (directories deeper than 8 levels or paths longer
    /// than 255 bytes are then refused, unless --level 1999)
    #[arg(long = "no-rock-ridge", conflicts_with_all = ["rock_ridge", "rational_rock", "rr_version"])]
    pub no_rock_ridge: bool,

    /// Rock Ridge with rationalised owners and modes (mkisofs -r): owner 0:0, readable by all,
    /// not writable
    #[arg(short = 'r', long = "rational-rock")]
    pub rational_rock: bool,

    /// Rock Ridge version: 1.12 (default) or 1.10 (for old readers)
    #[arg(long = "rr-version", value_name = "VERSION", value_parser = parse_rr_version)]
    pub rr_version: Option<RripVersion>,

    /// Follow symbolic links instead of storing them as links (mkisofs -f); each link whose
    /// target lies outside the source tree is named in a warning. Without -f a link is never
    /// followed: Rock Ridge and UDF record it, ISO 9660 and Joliet leave it out with a warning
    #[arg(short = 'f', long = "follow-links")]
    pub follow_links: bool,

    /// Skip sockets, FIFOs and device nodes (with a warning) instead of storing them
    #[arg(long = "skip-special")]
    pub skip_special: bool,

    /// Leave out directories that cannot be listed and files that cannot be opened (permission
    /// denied), each named in a warning, instead of stopping the build
    #[arg(long = "skip-unreadable")]
    pub skip_unreadable: bool,

    /// Store files with identical contents separately (deduplication is on by default)
    #[arg(long = "no-dedup")]
    pub no_dedup: bool,

    /// Clone (reflink) files of 1 MiB or more into the image instead of copying them, where
    /// the output's file system shares blocks (XFS with reflink=1, btrfs): auto (try, else
    /// copy), always (fail if the output cannot), never (copy; the layout of earlier versions)
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub reflink: String,

    /// Embed a SHA-256 of every file (and of that list) in the image, for `glassmaster verify`
    #[arg(long)]
    pub checksums: bool,

    /// Also create a UDF file system (a bridge image that ISO 9660 and UDF readers both read)
    #[arg(long)]
    pub udf: bool,

    /// Create only UDF (no ISO 9660, Joliet or Rock Ridge)
    #[arg(long = "udf-only", conflicts_with_all = ["joliet", "joliet_long", "rock_ridge", "rational_rock", "rr_version", "level"])]
    pub udf_only: bool,

    /// Leave symbolic links and special files out of the UDF tree, each named in a warning
    /// (Rock Ridge still records them): 7-Zip refuses the whole UDF tree of an image that holds
    /// any. By default UDF records them, as the source tree has them
    #[arg(long = "udf-no-links")]
    pub udf_no_links: bool,

    /// UDF revision: 1.02, 1.50, 2.01 (default), 2.50 or 2.60 (2.50 and 2.60 with a metadata
    /// partition)
    #[arg(long = "udf-rev", value_name = "REV", value_parser = parse_udf_rev)]
    pub udf_rev: Option<UdfRevision>,
}

fn parse_udf_rev(s: &str) -> Result<UdfRevision, String> {
    match s.trim_start_matches('v') {
        "1.02" | "102" => Ok(UdfRevision::V1_02),
        "1.50" | "1.5" | "150" => Ok(UdfRevision::V1_50),
        "2.01" | "201" => Ok(UdfRevision::V2_01),
        "2.50" | "2.5" | "250" => Ok(UdfRevision::V2_50),
        "2.60" | "2.6" | "260" => Ok(UdfRevision::V2_60),
        other => Err(format!(
            "unknown UDF revision {other:?} (expected 1.02, 1.50, 2.01, 2.50 or 2.60)"
        )),
    }
}

fn parse_rr_version(s: &str) -> Result<RripVersion, String> {
    match s {
        "1.12" | "112" => Ok(RripVersion::V1_12),
        "1.10" | "110" | "1.1" => Ok(RripVersion::V1_10),
        other => Err(format!(
            "unknown Rock Ridge version {other:?} (expected 1.10 or 1.12)"
        )),
    }
}

fn parse_level(s: &str) -> Result<IsoLevel, String> {
    s.parse::<IsoLevel>().map_err(|e| match e {
        glassmaster::Error::InvalidOption(msg) => msg,
        other => other.to_string(),
    })
}

impl ImageOpts {
    /// True if no option was given.
    pub fn is_default(&self) -> bool {
        self.volume_id.is_none()
            && !self.joliet
            && !self.no_joliet
            && !self.no_rock_ridge
            && self.level.is_none()
            && self.max_size.is_none()
            && !self.joliet_long
            && !self.joliet_long_paths
            && !self.rock_ridge
            && !self.rational_rock
            && self.rr_version.is_none()
            && !self.follow_links
            && !self.skip_special
            && !self.skip_unreadable
            && !self.udf
            && !self.checksums
            && !self.no_dedup
            && !self.udf_only
            && self.udf_rev.is_none()
            && !self.udf_no_links
    }

    /// An empty builder with these options (and `SOURCE_DATE_EPOCH` as build time if set).
    pub fn builder(&self) -> CliResult<ImageBuilder> {
        let mut options = Options::default();
        // ISO 9660 level 3 + Rock Ridge + Joliet unless turned off, as `xorriso -as mkisofs`
        // always records Rock Ridge: POSIX names and modes, and deep directories relocated.
        options.filesystems = FileSystems::ISO9660;
        if !self.no_joliet {
            options.filesystems |= FileSystems::JOLIET;
        }
        if !self.no_rock_ridge {
            options.filesystems |= FileSystems::ROCK_RIDGE;
        }
        if let Some(name) = &self.volume_id {
            options.volume_id = name.clone();
        }
        if let Some(level) = self.level {
            options.level = level;
        }
        options.rock_ridge.rationalize = self.rational_rock;
        if let Some(v) = self.rr_version {
            options.rock_ridge.version = v;
        }
        options.rock_ridge.follow_symlinks = self.follow_links;
        if self.skip_special {
            options.rock_ridge.special_files = SpecialFiles::Skip;
        }
        if self.udf || self.udf_rev.is_some() {
            options.filesystems |= FileSystems::UDF;
        }
        if self.udf_only {
            options.filesystems = FileSystems::UDF;
        }
        if let Some(rev) = self.udf_rev {
            options.udf.revision = rev;
        }
        options.udf.links_and_special_files = !self.udf_no_links;
        options.checksums = self.checksums;
        options.skip_unreadable = self.skip_unreadable;
        options.dedup = !self.no_dedup;
        options.reflink = match self.reflink.as_str() {
            "always" => glassmaster::Reflink::Always,
            "never" => glassmaster::Reflink::Never,
            _ => glassmaster::Reflink::Auto,
        };
        options.joliet_long_names = self.joliet_long;
        options.joliet_long_paths = self.joliet_long_paths;
        options.max_blocks = self.max_size;
        options.build_time = source_date_epoch()?;
        Ok(ImageBuilder::with_options(options))
    }
}

impl ImageOpts {
    /// Applies the options given on the command line over a builder imported from a base
    /// image (`build --append-to`): the base's file systems and names are kept unless changed.
    pub fn apply_over(&self, b: &mut ImageBuilder) -> CliResult {
        if self.udf || self.udf_only || self.udf_rev.is_some() {
            return Err(CliError::msg(
                "--udf, --udf-only and --udf-rev cannot be used with --append-to: UDF is not appended (a new session has ISO 9660, Joliet and Rock Ridge only)",
            ));
        }
        let o = b.options_mut();
        o.filesystems = o.filesystems.without(FileSystems::UDF);
        if self.joliet {
            o.filesystems |= FileSystems::JOLIET;
        }
        if self.no_joliet {
            o.filesystems = o.filesystems.without(FileSystems::JOLIET);
        }
        if let Some(name) = &self.volume_id {
            o.volume_id = name.clone();
        }
        if let Some(level) = self.level {
            o.level = level;
        }
        if self.rock_ridge || self.rational_rock || self.rr_version.is_some() {
            o.filesystems |= FileSystems::ROCK_RIDGE;
        }
        if self.no_rock_ridge {
            o.filesystems = o.filesystems.without(FileSystems::ROCK_RIDGE);
        }
        o.rock_ridge.rationalize = self.rational_rock;
        if let Some(v) = self.rr_version {
            o.rock_ridge.version = v;
        }
        o.rock_ridge.follow_symlinks = self.follow_links;
        if self.skip_special {
            o.rock_ridge.special_files = SpecialFiles::Skip;
        }
        o.checksums |= self.checksums;
        o.dedup = !self.no_dedup;
        o.joliet_long_names = self.joliet_long;
        o.joliet_long_paths = self.joliet_long_paths;
        o.max_blocks = self.max_size;
        o.build_time = source_date_epoch()?;
        Ok(())
    }
}

/// `-V`: a name holding a control character is refused (Joliet identifiers exclude
/// U+0000..U+001F; such a label would also reach the terminals of whoever lists the disc).
fn volume_name(s: &str) -> Result<String, String> {
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "the volume name holds the control character {:?}, which no file system records",
            c
        )),
        None => Ok(s.to_string()),
    }
}

/// Warnings about the volume name (`-V`) when a file system cannot hold it as given: what each
/// one records. The rules are those the library writes by: ISO 9660 (ECMA-119 8.4.6)
/// d-characters, upper-cased, 32 bytes; Joliet 16 UCS-2 characters (32 bytes); UDF's primary
/// volume descriptor a 32-byte dstring (OSTA UDF 2.60 2.2.13: 30 characters of CS0 8-bit, or 15
/// beyond Latin-1); the UDF logical volume identifier keeps up to 126 (or 63).
pub fn volume_name_warnings(options: &Options) -> Vec<String> {
    use glassmaster::raw::text::to_d_chars;
    use glassmaster::raw::udf::cs0::cs0_prefix;
    let name = options.volume_id.as_str();
    let fs = options.filesystems;
    let mut out = Vec::new();
    if fs.contains(FileSystems::ISO9660) {
        let d = to_d_chars(name);
        let recorded: String = d.chars().take(32).collect();
        if d != name.to_ascii_uppercase() || d.len() > 32 {
            out.push(format!(
                "volume name {name:?} recorded in ISO 9660 as {recorded:?} (d-characters A-Z, 0-9 and _, at most 32)"
            ));
        }
    }
    if fs.contains(FileSystems::JOLIET) && name.encode_utf16().count() > 16 {
        let mut units = 0;
        let recorded: String = name
            .chars()
            .take_while(|c| {
                units += c.len_utf16();
                units <= 16
            })
            .collect();
        out.push(format!(
            "volume name {name:?} recorded in Joliet as {recorded:?} (at most 16 UCS-2 characters)"
        ));
    }
    if fs.contains(FileSystems::UDF) {
        let short = cs0_prefix(name, 31);
        if short != name {
            let long = cs0_prefix(name, 127);
            let kept = if long == name {
                "the logical volume identifier keeps it whole".to_string()
            } else {
                format!("the logical volume identifier holds {long:?}")
            };
            out.push(format!(
                "volume name {name:?} recorded in the UDF primary volume descriptor as {short:?} (30 characters, or 15 beyond Latin-1); {kept}"
            ));
        }
    }
    out
}

/// A build error with its context; one that options can fix says which: a tree too deep or a
/// path too long for ISO 9660 without Rock Ridge.
pub fn layout_error(e: glassmaster::Error, opts: &ImageOpts, context: String) -> CliError {
    use glassmaster::Error;
    let fix = if opts.no_rock_ridge {
        "drop --no-rock-ridge (Rock Ridge relocates deep directories, and its names have no path limit) or use --level 1999"
    } else {
        "add -R (Rock Ridge relocates deep directories, and its names have no path limit) or use --level 1999"
    };
    match &e {
        Error::TooDeep { path, depth, level } => CliError::msg(format!(
            "{context}: {path} is at directory level {depth}; ISO 9660 {level} without Rock Ridge allows at most 8: {fix}"
        )),
        // ECMA-119 6.8.2.1: at most 255 bytes of identifiers and separators.
        Error::PathTooLong { path, len, level } => CliError::msg(format!(
            "{context}: {path}: its ISO 9660 path is {len} bytes; {level} without Rock Ridge allows at most 255: {fix}"
        )),
        _ => match Err::<(), _>(e).context(|| context) {
            Err(e) => e,
            Ok(()) => CliError::msg("internal error: an error vanished"),
        },
    }
}

/// The reproducible-builds `SOURCE_DATE_EPOCH` (seconds since 1970), if set and not empty
/// (the library reads it: [`glassmaster::source_date_epoch`]).
pub fn source_date_epoch() -> CliResult<Option<DateTime<Utc>>> {
    glassmaster::source_date_epoch().map_err(|e| match e {
        glassmaster::Error::InvalidOption(m) => CliError::msg(m),
        other => CliError::msg(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesystems_default_and_turned_off() {
        let all = FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE;
        let default = ImageOpts::default().builder().unwrap();
        assert_eq!(default.options().filesystems, all);
        assert_eq!(default.options().level, IsoLevel::Level3);
        assert!(!default.options().rock_ridge.rationalize);
        let explicit = ImageOpts {
            joliet: true,
            rock_ridge: true,
            ..Default::default()
        }
        .builder()
        .unwrap();
        assert_eq!(explicit.options().filesystems, all);
        let no_joliet = ImageOpts {
            no_joliet: true,
            ..Default::default()
        }
        .builder()
        .unwrap();
        assert_eq!(
            no_joliet.options().filesystems,
            FileSystems::ISO9660 | FileSystems::ROCK_RIDGE
        );
        let plain = ImageOpts {
            no_joliet: true,
            no_rock_ridge: true,
            ..Default::default()
        }
        .builder()
        .unwrap();
        assert_eq!(plain.options().filesystems, FileSystems::ISO9660);
        let udf_only = ImageOpts {
            udf_only: true,
            ..Default::default()
        }
        .builder()
        .unwrap();
        assert_eq!(udf_only.options().filesystems, FileSystems::UDF);
        let bridge = ImageOpts {
            udf: true,
            ..Default::default()
        }
        .builder()
        .unwrap();
        assert_eq!(bridge.options().filesystems, all | FileSystems::UDF);
    }

    #[test]
    fn options_are_passed_on() {
        let opts = ImageOpts {
            volume_id: Some("DISC".into()),
            joliet: true,
            level: Some(IsoLevel::Iso1999),
            max_size: Some(333_000),
            joliet_long: true,
            ..Default::default()
        };
        assert!(!opts.is_default());
        let b = opts.builder().unwrap();
        let o = b.options();
        assert_eq!(o.volume_id, "DISC");
        assert_eq!(o.level, IsoLevel::Iso1999);
        assert_eq!(o.max_blocks, Some(333_000));
        assert!(o.joliet_long_names);
    }

    #[test]
    fn volume_names_that_do_not_fit() {
        let opts = |name: &str, fs: FileSystems| {
            let mut o = Options::default();
            o.volume_id = name.into();
            o.filesystems = fs;
            o
        };
        let all = FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::UDF;
        assert!(volume_name_warnings(&opts("MYDISC", all)).is_empty());
        // Lower case is upper-cased, as --help says: no warning.
        assert!(volume_name_warnings(&opts("my_disc", all)).is_empty());
        let w = volume_name_warnings(&opts("Été 2024", FileSystems::ISO9660));
        assert_eq!(
            w,
            ["volume name \"Été 2024\" recorded in ISO 9660 as \"_T__2024\" (d-characters A-Z, 0-9 and _, at most 32)"]
        );
        let long = "A_VERY_LONG_VOLUME_NAME_THAT_GOES_ON_AND_ON";
        let w = volume_name_warnings(&opts(long, all));
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(
            w[0].contains("\"A_VERY_LONG_VOLUME_NAME_THAT_GOE\""),
            "{w:?}"
        );
        assert!(w[1].contains("in Joliet as \"A_VERY_LONG_VOLU\""), "{w:?}");
        assert!(
            w[2].contains("as \"A_VERY_LONG_VOLUME_NAME_THAT_G\"")
                && w[2].contains("keeps it whole"),
            "{w:?}"
        );
    }

    #[test]
    fn levels() {
        assert_eq!(parse_level("1"), Ok(IsoLevel::Level1));
        assert_eq!(parse_level("1999"), Ok(IsoLevel::Iso1999));
        assert!(parse_level("5").is_err());
    }
}

#[cfg(test)]
mod rr_tests {
    use super::*;
    #[test]
    fn rock_ridge_flags() {
        let b = ImageOpts {
            rational_rock: true,
            ..Default::default()
        }
        .builder()
        .unwrap();
        assert!(b.options().filesystems.contains(FileSystems::ROCK_RIDGE));
        assert!(b.options().rock_ridge.rationalize);
        let b = ImageOpts {
            rr_version: Some(RripVersion::V1_10),
            ..Default::default()
        }
        .builder()
        .unwrap();
        assert_eq!(b.options().rock_ridge.version, RripVersion::V1_10);
        assert!(parse_rr_version("1.09").is_err());
    }
}
