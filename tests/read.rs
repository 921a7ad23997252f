//! The reader (`glassmaster::read`) through its public API: hand-built and deliberately broken
//! images (`testimg`), limits and strictness, Rock Ridge, UDF (images assembled from the raw
//! encoders, our own builds, `mkudffs` and `genisoimage`), and images made by independent
//! writers (genisoimage, xorriso). One test binary (link time), one module per subject.

mod common;

#[path = "read/basic.rs"]
mod basic;
#[path = "read/limits.rs"]
mod limits;
#[path = "read/rockridge.rs"]
mod rockridge;
#[path = "read/rr_tools.rs"]
mod rr_tools;
#[path = "read/strict.rs"]
mod strict;
#[path = "read/testimg.rs"]
mod testimg;
#[path = "read/tools.rs"]
mod tools;
#[path = "read/udf.rs"]
mod udf;
#[path = "read/udf_assembled.rs"]
mod udf_assembled;
