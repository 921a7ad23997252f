//! The phases of [`lay_out`](super::pipeline::lay_out), in the order it runs them: the tree as
//! the layout sees it ([`tree`]), the views built in parallel ([`views`]), the metadata
//! reserved in on-disk order ([`place`]), the file data ([`data`]).

pub(crate) mod data;
pub(crate) mod place;
pub(crate) mod tree;
pub(crate) mod views;

use crate::BLOCK_SIZE_U64;

/// Blocks that `bytes` bytes take.
pub(crate) fn blocks_for(bytes: u64) -> u64 {
    bytes.div_ceil(BLOCK_SIZE_U64)
}
