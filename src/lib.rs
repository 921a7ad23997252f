//! # glassmaster
//!
//! Builds ISO 9660 / Joliet / Rock Ridge / El Torito / UDF disc images and reads them back, in
//! pure safe Rust.
//!
//! A layout engine places every structure and file into 2048-byte sectors before any byte is
//! produced; the result is a lazy `Read + Seek` stream rendered on demand from the sources. The
//! model is Windows IMAPI2FS: [`ImageBuilder`] is IFileSystemImage, [`Image`] is
//! IFileSystemImageResult, [`ProgressItems`] is IProgressItems.
//!
//! ```
//! use glassmaster::{ImageBuilder, NoProgress, read::{ImageReader, View}};
//! use std::io::Read;
//!
//! let mut builder = ImageBuilder::new();
//! builder.volume_id("EXAMPLE");
//! builder.add_bytes("/docs/hello.txt", &b"Hello, disc!"[..])?;
//! builder.add_dir("/empty")?;
//! let image = builder.build(&mut NoProgress)?;
//! println!("{} blocks", image.total_blocks());
//!
//! // Render the image into memory (any `Write` works; `write_to_path` is atomic).
//! let mut iso = Vec::new();
//! image.write_to(&mut iso, &mut NoProgress)?;
//!
//! // Read it back.
//! let mut reader = ImageReader::open(std::io::Cursor::new(iso))?;
//! let entry = reader.lookup(View::Joliet, "/docs/hello.txt")?;
//! let mut text = String::new();
//! reader.open_file(&entry)?.read_to_string(&mut text)?;
//! assert_eq!(text, "Hello, disc!");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc = include_str!("jobs.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The pipeline, each folder importing only those after it: extras -> image -> layout -> build
// -> read -> format -> codec (see docs/design.md).
mod build;
mod codec;
pub mod error;
mod extras;
mod format;
#[cfg(feature = "fuzz")]
pub mod fuzz;
mod image;
mod layout;
mod make;
pub mod progress;
pub mod raw;
pub mod read;
mod warning;

pub use build::boot::{
    AppendedPartition, BootImage, BootOptions, CylinderAlign, Emulation, Hybrid, MbrPatch,
    PartitionType, Platform,
};
pub use build::builder::{
    EntryKind, FileSystems, ImageBuilder, IsoLevel, Options, Reflink, ScanFilter, SourceKind,
    TreeEntry, VolumeDate, VolumeDates,
};
pub use build::options::source_date_epoch;
pub use build::tree::{OpenReader, SpecialKind};
pub use error::{Error, ParseError, ParseErrorKind, Result};
pub use extras::manifest::ManifestEntry;
pub use extras::span::{SpanPlan, SpanVolume};
pub use extras::{checksums, manifest, multisession, span};
pub use format::rockridge::{RockRidgeOptions, RripVersion, SpecialFiles};
pub use format::udf::UdfRevision;
pub use image::{Image, ImageStream};
pub use layout::udf::UdfOptions;
pub use progress::{ItemKind, NoProgress, Outcome, Phase, Progress, ProgressItem, ProgressItems};
pub use warning::{Warning, WarningKind};

/// The logical block (sector) size of every image: 2048 bytes (ECMA-119 6.1.2).
pub const BLOCK_SIZE: usize = 2048;

/// [`BLOCK_SIZE`] as a `u64`, for byte offset arithmetic.
pub const BLOCK_SIZE_U64: u64 = BLOCK_SIZE as u64;

/// The README's examples are compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
