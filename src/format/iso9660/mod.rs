//! ISO 9660 (ECMA-119) structures: names, directory records, path tables, volume descriptors,
//! and the per-file-system directory views (shared with Joliet).

pub(crate) mod descriptor;
pub(crate) mod dirrec;
pub(crate) mod names;
pub(crate) mod pathtable;
pub(crate) mod session;

use crate::error::{Error, Result};

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
