//! The raw encoders and decoders of `glassmaster::raw` (one record or structure at a time),
//! tested through the public API: byte layouts by hand, round trips, garbage that must not
//! panic. Their tests that need crate-internal items stay inline in `src/format/`.

#[path = "raw/eltorito_catalog.rs"]
mod eltorito_catalog;
#[path = "raw/udf_ad.rs"]
mod udf_ad;
#[path = "raw/udf_file.rs"]
mod udf_file;
#[path = "raw/udf_volume.rs"]
mod udf_volume;
