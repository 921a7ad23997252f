//! Treats the input as a disc image: opens it, walks every view, reads every file twice (the
//! two reads must agree and have the entry's size) and checks seeking inside each file. Then
//! the same in strict mode: whatever strict mode accepts, lenient mode must accept with the same
//! result, and both stay inside the metadata budget. Then it lists the sessions (multisession)
//! and opens a few of them. Last, if the input holds a UDF recognition sequence, the same on a
//! copy whose UDF descriptor tags are resealed (checksum and CRC recomputed), so that mutations
//! inside UDF descriptors reach their decoders instead of stopping at the CRC.
#![no_main]

use std::io::{Cursor, Read, Seek, SeekFrom};

use glassmaster::read::{ImageReader, Limits};
use libfuzzer_sys::fuzz_target;

/// Bytes of file data read per input, at most: keeps every run short even when thousands of
/// entries all point at the whole image.
const READ_BUDGET: u64 = 32 << 20;
/// Lookups per view, at most (each one re-reads the directories on its path).
const LOOKUP_BUDGET: usize = 64;

fuzz_target!(|data: &[u8]| {
    lenient(data);
    strict_implies_lenient(data);
    sessions(data);
    if data.windows(4).any(|w| w == b"NSR0") {
        let mut sealed = data.to_vec();
        if glassmaster::fuzz::reseal_udf_tags(&mut sealed) > 0 {
            lenient(&sealed);
            strict_implies_lenient(&sealed);
        }
    }
});

/// Lists the sessions (multisession records and saved heads) and opens a few of them: a chain
/// of session records must end, and every listed session must be one the reader can try.
fn sessions(data: &[u8]) {
    let Ok(list) = glassmaster::read::sessions(&mut Cursor::new(data)) else {
        return;
    };
    assert!(!list.is_empty(), "sessions() returned an empty list");
    for s in list.iter().take(4) {
        if let Ok(mut reader) = ImageReader::open_session(Cursor::new(data), Some(s.index)) {
            for view in reader.views() {
                let _ = reader.walk(view);
            }
        }
    }
}

/// Strict mode accepts a subset of what lenient mode accepts, and reads it the same way.
fn strict_implies_lenient(data: &[u8]) {
    let Ok(mut strict) = ImageReader::open_with_limits(Cursor::new(data), Limits::strict()) else {
        return;
    };
    let mut lenient = ImageReader::open(Cursor::new(data)).expect("strict opens, lenient fails");
    assert_eq!(strict.views(), lenient.views());
    for view in strict.views() {
        if let Ok(s) = strict.walk(view) {
            let l = lenient.walk(view).expect("strict walks, lenient fails");
            assert_eq!(s, l, "strict and lenient walks differ");
            assert!(strict.metadata_bytes_allocated() <= Limits::strict().max_metadata_bytes);
        }
        if let Ok(s) = strict.path_table(view) {
            let l = lenient
                .path_table(view)
                .expect("strict path table, lenient fails");
            assert_eq!(s, l);
        }
    }
}

fn lenient(data: &[u8]) {
    let Ok(mut reader) = ImageReader::open(Cursor::new(data)) else {
        return;
    };
    let _ = reader.volume_info();
    let _ = reader.default_view();
    let mut budget = READ_BUDGET;
    // El Torito: the catalog, the boot images' sizes and bytes (bounded by the image).
    let _ = reader.boot_catalog();
    if let Ok(images) = reader.boot_images() {
        for info in images.iter().take(4) {
            if info.len > budget {
                break;
            }
            budget -= info.len;
            if let Ok(bytes) = reader.read_boot_image(info) {
                assert_eq!(bytes.len() as u64, info.len, "boot image length");
            }
        }
    }
    for view in reader.views() {
        let Ok(root) = reader.root(view) else {
            panic!("views() lists {view} but root() fails");
        };
        let _ = reader.read_dir(&root);
        let _ = reader.path_table(view);
        let Ok(entries) = reader.walk(view) else {
            continue;
        };
        assert!(reader.metadata_bytes_allocated() <= reader.limits().max_metadata_bytes);
        for (path, entry) in entries.iter().take(LOOKUP_BUDGET) {
            let _ = reader.lookup(view, path);
            let _ = entry;
        }
        for (_, entry) in &entries {
            if entry.is_dir {
                continue;
            }
            if entry.size > budget {
                break;
            }
            budget -= entry.size;
            let first = reader.read_file(entry);
            let second = reader.read_file(entry);
            assert_eq!(first, second, "two reads of the same file differ");
            let Ok(bytes) = first else {
                continue;
            };
            assert_eq!(
                bytes.len() as u64,
                entry.size,
                "read_file length != entry size"
            );
            // Seek to the middle and read the rest: it must match the tail of the full read.
            let mid = entry.size / 2;
            let mut f = reader
                .open_file(entry)
                .expect("open_file after a successful read");
            assert_eq!(f.seek(SeekFrom::Start(mid)).expect("seek"), mid);
            let mut tail = Vec::new();
            f.read_to_end(&mut tail).expect("read after seek");
            assert_eq!(
                &tail[..],
                &bytes[mid as usize..],
                "seek + read != tail of read_file"
            );
        }
    }
}
