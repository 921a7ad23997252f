//! Treats the input as a disc image and maps every block of it (`ImageReader::block_map`), in
//! lenient and strict mode: the map either fails with an error or covers the image exactly
//! (items in order, contiguous, from block 0 to the image's last block, none empty), and
//! `from_block` finds each item again. Inputs with a UDF recognition sequence are also mapped
//! with their UDF descriptor tags resealed, so that mutations reach the UDF decoders.
#![no_main]

use std::io::Cursor;

use glassmaster::read::{ImageReader, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    map(data);
    if data.windows(4).any(|w| w == b"NSR0") {
        let mut sealed = data.to_vec();
        if glassmaster::fuzz::reseal_udf_tags(&mut sealed) > 0 {
            map(&sealed);
        }
    }
});

fn map(data: &[u8]) {
    for limits in [Limits::lenient(), Limits::strict()] {
        let Ok(mut reader) = ImageReader::open_with_limits(Cursor::new(data), limits) else {
            continue;
        };
        let Ok(map) = reader.block_map() else {
            continue;
        };
        let total = (data.len() as u64).div_ceil(2048);
        assert_eq!(map.total_blocks(), total);
        let mut next = 0u64;
        for (i, it) in map.iter().enumerate() {
            assert_eq!(it.first_block, next, "gap or overlap before item {i}");
            assert!(it.block_count > 0, "empty item {i}");
            assert_eq!(it.last_block + 1 - it.first_block, it.block_count);
            assert_eq!(map.index_of_block(it.first_block), Some(i));
            assert_eq!(map.index_of_block(it.last_block), Some(i));
            next = it.last_block + 1;
        }
        assert_eq!(next, total, "the map does not end with the image");
        assert!(map.from_block(total).is_none());
        assert!(reader.metadata_bytes_allocated() <= limits.max_metadata_bytes);
    }
}
