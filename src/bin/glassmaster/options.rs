//! Image options shared by `build` and `map`.

use chrono::{DateTime, Utc};
use clap::Args;
use glassmaster::udf::UdfRevision;
use glassmaster::{FileSystems, ImageBuilder, IsoLevel, Options, RripVersion, SpecialFiles};

use crate::error::{CliError, CliResult};
use crate::size;

/// Options that decide the image layout.
#[derive(Args, Debug, Clone, Default)]
pub struct ImageOpts {
    /// Volume name (ISO 9660: upper-cased, up to 32 characters; Joliet: up to 16)
    #[arg(short = 'V', long = "volume-id", value_name = "NAME")]
    pub volume_id: Option<String>,

    /// Also create a Joliet tree (Unicode names, as Windows shows them)
    #[arg(short = 'J', long)]
    pub joliet: bool,

    /// ISO 9660 level: 1 (8.3 names), 2 (30 characters), 3 (default: also files of 4 GiB and
    /// more) or 1999 (ISO 9660:1999: long names, no depth limit)
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub level: Option<IsoLevel>,

    /// Fail if the image is larger than SIZE: bytes, with K/M/G/T (powers of 1024), or cd74,
    /// cd80, dvd5, dvd9, bd25, bd50
    #[arg(long, value_name = "SIZE", value_parser = size::parse_max_size)]
    pub max_size: Option<u64>,

    /// Allow Joliet names of up to 103 characters (instead of 64)
    #[arg(long, requires = "joliet")]
    pub joliet_long: bool,

    /// Rock Ridge with real owners and modes (mkisofs -R): POSIX names, permissions, times,
    /// symbolic links, device nodes, hard links, deep directories
    #[arg(short = 'R', long = "rock-ridge")]
    pub rock_ridge: bool,

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

    /// Store files with identical contents separately (deduplication is on by default)
    #[arg(long = "no-dedup")]
    pub no_dedup: bool,

    /// Embed a SHA-256 of every file (and of that list) in the image, for `glassmaster verify`
    #[arg(long)]
    pub checksums: bool,

    /// Also create a UDF file system (a bridge image that ISO 9660 and UDF readers both read)
    #[arg(long)]
    pub udf: bool,

    /// Create only UDF (no ISO 9660, Joliet or Rock Ridge)
    #[arg(long = "udf-only", conflicts_with_all = ["joliet", "rock_ridge", "rational_rock"])]
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
            && self.level.is_none()
            && self.max_size.is_none()
            && !self.joliet_long
            && !self.rock_ridge
            && !self.rational_rock
            && self.rr_version.is_none()
            && !self.follow_links
            && !self.skip_special
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
        options.filesystems = if self.joliet {
            FileSystems::ISO9660 | FileSystems::JOLIET
        } else {
            FileSystems::ISO9660
        };
        if let Some(name) = &self.volume_id {
            options.volume_id = name.clone();
        }
        if let Some(level) = self.level {
            options.level = level;
        }
        if self.rock_ridge || self.rational_rock || self.rr_version.is_some() {
            options.filesystems = options.filesystems | FileSystems::ROCK_RIDGE;
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
            options.filesystems = options.filesystems | FileSystems::UDF;
        }
        if self.udf_only {
            options.filesystems = FileSystems::UDF;
        }
        if let Some(rev) = self.udf_rev {
            options.udf.revision = rev;
        }
        options.udf.links_and_special_files = !self.udf_no_links;
        options.checksums = self.checksums;
        options.dedup = !self.no_dedup;
        options.joliet_long_names = self.joliet_long;
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
            o.filesystems = o.filesystems | FileSystems::JOLIET;
        }
        if let Some(name) = &self.volume_id {
            o.volume_id = name.clone();
        }
        if let Some(level) = self.level {
            o.level = level;
        }
        if self.rock_ridge || self.rational_rock || self.rr_version.is_some() {
            o.filesystems = o.filesystems | FileSystems::ROCK_RIDGE;
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
        o.max_blocks = self.max_size;
        o.build_time = source_date_epoch()?;
        Ok(())
    }
}

/// The reproducible-builds `SOURCE_DATE_EPOCH` (seconds since 1970), if set and not empty.
fn source_date_epoch() -> CliResult<Option<DateTime<Utc>>> {
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
            CliError::msg(format!(
                "SOURCE_DATE_EPOCH={text:?} is not a number of seconds since 1970-01-01"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesystems_follow_joliet_flag() {
        let iso = ImageOpts::default().builder().unwrap();
        assert_eq!(iso.options().filesystems, FileSystems::ISO9660);
        let both = ImageOpts {
            joliet: true,
            ..Default::default()
        }
        .builder()
        .unwrap();
        assert_eq!(
            both.options().filesystems,
            FileSystems::ISO9660 | FileSystems::JOLIET
        );
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
