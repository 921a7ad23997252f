//! The layout engine.
pub(crate) mod pipeline;
/// The frozen layout.
pub(crate) struct Layout {}
