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

/// Decoders for the single on-disk records of ECMA-119: volume descriptors (8), directory
/// records (9.1) and path table records (9.4).
///
/// They decode structure only: every field is returned as recorded (both copies of both-byte
/// order fields, reserved bytes, the padding byte), and only what makes a record impossible to
/// delimit is an error. Interpreting the fields (limits, strictness, the image around them) is
/// the [`ImageReader`](crate::read::ImageReader)'s job. Every decoder accepts any bytes without
/// panicking.
///
/// ```
/// use glassmaster::raw::iso9660::decode_dir_record;
/// let mut rec = vec![0u8; 34];
/// rec[0] = 34; // 9.1.1 length of the record
/// rec[32] = 1; // 9.1.10 length of the file identifier
/// let r = decode_dir_record(&rec)?;
/// assert_eq!(r.identifier, [0]);
/// assert_eq!(r.len, 34);
/// # Ok::<(), glassmaster::ParseError>(())
/// ```
pub mod iso9660 {
    pub use crate::format::iso9660::descriptor::{
        decode_volume_descriptor, VolumeDescriptor, VolumeDescriptorType, DESCRIPTOR_LEN,
        ROOT_RECORD_LEN,
    };
    pub use crate::format::iso9660::dirrec::{decode_dir_record, DirRecord};
    pub use crate::format::iso9660::pathtable::{
        decode_path_table, decode_path_table_record, PathTableRecord,
    };
}

pub use crate::codec::text;
pub use crate::format::{eltorito, udf};
