//! The user's side of the pipeline: [`ImageBuilder`](crate::ImageBuilder) and its
//! [`Options`](crate::Options), the tree of files and their sources, the directory scan, boot
//! options, and the compact tree used by the layout.

pub(crate) mod base;
pub(crate) mod boot;
pub(crate) mod builder;
pub(crate) mod compact;
pub(crate) mod options;
pub(crate) mod source;
pub(crate) mod tree;
