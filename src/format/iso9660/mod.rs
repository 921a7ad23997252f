//! ISO 9660 (ECMA-119) structures: names, directory records, path tables, volume descriptors,
//! and the per-file-system directory views (shared with Joliet).

pub(crate) mod descriptor;
pub(crate) mod dirrec;
pub(crate) mod names;
pub(crate) mod pathtable;
pub(crate) mod view;
