//! Raw on-disk encoders and decoders, one structure at a time: for tests, fuzz targets and tools
//! that inspect or forge single records. Building and reading images needs none of this (use
//! [`ImageBuilder`](crate::ImageBuilder) and [`read`](crate::read)); these items follow the
//! specifications' structures closely and may change more often than the rest of the API.
//!
//! | module | structures |
//! |---|---|
//! | [`iso9660`] | ECMA-119 volume descriptors (8), directory records (9.1), path tables (9.4): decoders |
//! | [`eltorito`] | El Torito boot record and catalog, boot info table, hybrid MBR / GPT |
//! | [`udf`] | ECMA-167 / OSTA UDF descriptor tags, CS0 strings, timestamps, volume and file structures |
//! | [`text`] | ECMA-119 character sets (d-characters, a-characters) |

/// ECMA-119 record decoders: volume descriptors (8), directory records (9.1) and path table
/// records (9.4). They decode structure only and accept any bytes without panicking.
pub mod iso9660 {
    pub use crate::read::raw::{
        decode_dir_record, decode_path_table, decode_path_table_record, decode_volume_descriptor,
        DirRecord, PathTableRecord, VolumeDescriptor, VolumeDescriptorType, DESCRIPTOR_LEN,
        ROOT_RECORD_LEN,
    };
}

pub use crate::codec::text;
pub use crate::format::{eltorito, udf};
