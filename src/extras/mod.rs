//! Features built on the pipeline: spanning a tree over several volumes, multisession appends,
//! the checksum list written into an image, and the build manifest.

pub mod checksums;
pub mod manifest;
pub mod multisession;
pub mod span;
