//! Field decoders shared by the UDF descriptors (ECMA-167 3/7, 4/7): each reads one field at an
//! offset of a descriptor and names what is wrong, never panicking on short or hostile bytes.

use chrono::{DateTime, Utc};

use super::cs0::decode_dstring;
use super::ids::EntityId;
use super::tag::{verify_tag, Tag};
use super::time::decode_timestamp;
use super::{get_u16, get_u32, get_u64, get_u8, slice, DecodeError};
use crate::BLOCK_SIZE;

/// A whole sector.
pub type Sector = [u8; BLOCK_SIZE];

/// Verifies the tag of `buf` at `location` and that it is `want`.
pub(crate) fn check_tag(buf: &[u8], want: u16, location: u32) -> Result<Tag, DecodeError> {
    let tag = verify_tag(buf, location)?;
    if tag.ident != want {
        return Err(DecodeError::Ident {
            expected: want,
            found: tag.ident,
        });
    }
    Ok(tag)
}

pub(crate) fn dstring_at(buf: &[u8], off: usize, len: usize) -> Result<String, DecodeError> {
    decode_dstring(slice(buf, off, len)?).ok_or(DecodeError::Invalid("dstring"))
}

pub(crate) fn time_at(buf: &[u8], off: usize) -> Result<DateTime<Utc>, DecodeError> {
    decode_timestamp(slice(buf, off, 12)?)
        .map(|t| t.with_timezone(&Utc))
        .ok_or(DecodeError::Invalid("timestamp"))
}

pub(crate) fn u32_at(buf: &[u8], off: usize) -> Result<u32, DecodeError> {
    get_u32(buf, off).ok_or(DecodeError::Truncated {
        need: off + 4,
        have: buf.len(),
    })
}
pub(crate) fn u16_at(buf: &[u8], off: usize) -> Result<u16, DecodeError> {
    get_u16(buf, off).ok_or(DecodeError::Truncated {
        need: off + 2,
        have: buf.len(),
    })
}
pub(crate) fn u64_at(buf: &[u8], off: usize) -> Result<u64, DecodeError> {
    get_u64(buf, off).ok_or(DecodeError::Truncated {
        need: off + 8,
        have: buf.len(),
    })
}
pub(crate) fn u8_at(buf: &[u8], off: usize) -> Result<u8, DecodeError> {
    get_u8(buf, off).ok_or(DecodeError::Truncated {
        need: off + 1,
        have: buf.len(),
    })
}
pub(crate) fn entity_at(buf: &[u8], off: usize) -> Result<EntityId, DecodeError> {
    EntityId::decode(slice(buf, off, 32)?).ok_or(DecodeError::Invalid("entity identifier"))
}
