//! The image reader (being written).
