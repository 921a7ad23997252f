//! Small on-disk encoders and decoders shared by every file system: both-byte-order numbers,
//! ECMA-119 dates, character sets.

pub mod date;
pub mod endian;
pub mod text;
