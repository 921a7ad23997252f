//! On-disk formats: encoders (and decoders) of the structures of each file system, taking plain
//! values. ISO 9660 (ECMA-119), Joliet, Rock Ridge (SUSP / RRIP), El Torito (with hybrid MBR /
//! GPT) and UDF (ECMA-167 / OSTA UDF).

pub mod eltorito;
pub(crate) mod iso9660;
pub(crate) mod joliet;
pub(crate) mod rockridge;
pub mod udf;
