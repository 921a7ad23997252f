//! Content deduplication: identical files are stored once and every view reads them; files of
//! equal size but other bytes stay apart; duplicates keep their own identity (Rock Ridge serial
//! numbers, link counts); hard links stay hard links; boot files with a patched info table are
//! never shared; `dedup = false` stores every file.

use glassmaster::read::{ImageReader, View};
use glassmaster::{BootImage, FileSystems, ImageBuilder, NoProgress};
use std::io::Cursor;

fn builder(dedup: bool) -> ImageBuilder {
    let mut b = ImageBuilder::new();
    b.filesystems(
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
    );
    b.options_mut().dedup = dedup;
    let same = vec![0xA5u8; 50_000];
    let mut other = same.clone();
    other[49_999] = 0; // equal size, one byte apart
    b.add_bytes("/a.bin", same.clone()).unwrap();
    b.add_bytes("/dir/copy.bin", same.clone()).unwrap();
    b.add_bytes("/dir/other.bin", other).unwrap();
    b.add_hard_link("/link.bin", "/a.bin").unwrap();
    // A boot file identical to another file: its info table is patched, so never shared.
    let boot = vec![0x90u8; 4096];
    b.add_bytes("/boot.bin", boot.clone()).unwrap();
    b.add_bytes("/boot-copy.bin", boot).unwrap();
    let mut e = BootImage::bios("/boot.bin");
    e.boot_info_table = true;
    b.add_boot_entry(e);
    b
}

#[test]
fn identical_files_are_stored_once() {
    let on = builder(true).build(&mut glassmaster::NoProgress).unwrap();
    let off = builder(false).build(&mut glassmaster::NoProgress).unwrap();
    let (files, bytes) = on.dedup_saved();
    assert_eq!(
        (files, bytes),
        (1, 50_000),
        "only /dir/copy.bin shares /a.bin's data"
    );
    assert_eq!(off.dedup_saved(), (0, 0));
    assert_eq!(
        off.total_blocks() - on.total_blocks(),
        50_000u64.div_ceil(2048)
    );
    let m = on.manifest();
    let blocks = |p: &str| m.iter().find(|e| e.path == p).unwrap().blocks;
    assert_eq!(blocks("/a.bin"), blocks("/dir/copy.bin"));
    assert_eq!(blocks("/a.bin"), blocks("/link.bin"));
    assert_ne!(blocks("/a.bin"), blocks("/dir/other.bin"));
    assert_ne!(blocks("/boot.bin"), blocks("/boot-copy.bin"));

    let mut iso = Vec::new();
    on.write_to(&mut iso, &mut NoProgress).unwrap();
    let mut r = ImageReader::open(Cursor::new(iso)).unwrap();
    for view in [View::Iso9660, View::Joliet, View::RockRidge, View::Udf] {
        for (path, e) in r.walk(view).unwrap() {
            if e.is_dir || path.to_ascii_lowercase().contains("boot") || path.contains("CHECKSUM") {
                continue;
            }
            let data = r.read_file(&e).unwrap();
            let want_last = if path.to_ascii_lowercase().contains("other") {
                0
            } else {
                0xA5
            };
            assert_eq!(data.len(), 50_000, "{view} {path}");
            assert_eq!(data[49_999], want_last, "{view} {path}");
        }
    }
    // Rock Ridge: the duplicate is its own file (serial, one link); the hard link shares both.
    let px = |r: &mut ImageReader<Cursor<Vec<u8>>>, p: &str| {
        let e = r.lookup(View::RockRidge, p).unwrap();
        let x = e.posix.unwrap();
        (x.serial, x.nlink)
    };
    let (a, copy, link) = (
        px(&mut r, "/a.bin"),
        px(&mut r, "/dir/copy.bin"),
        px(&mut r, "/link.bin"),
    );
    assert_eq!(a, link);
    assert_eq!(a.1, 2);
    assert_eq!(copy.1, 1);
    assert_ne!(a.0, copy.0);
}

/// Caller readers with declared lengths (no path on disk), as a backup tool streams from its own
/// store: deduplicated (hashed from the readers at layout), hashed in the manifest and the
/// embedded checksums, and read back exactly.
#[test]
fn streaming_sources_in_every_backup_feature() {
    use std::io::Read;
    let payload: std::sync::Arc<Vec<u8>> =
        std::sync::Arc::new((0..300_000u32).map(|i| (i * 7 % 251) as u8).collect());
    let mut b = ImageBuilder::new();
    b.options_mut().checksums = true;
    for name in ["/store/one.bin", "/store/two.bin"] {
        let p = payload.clone();
        b.add_reader(name, p.len() as u64, move || {
            Ok(Box::new(std::io::Cursor::new(p.to_vec())) as Box<dyn Read + Send>)
        })
        .unwrap();
    }
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert_eq!(image.dedup_saved(), (1, 300_000));
    let m = image.manifest_with_hashes(&mut NoProgress).unwrap();
    let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&payload[..]).into();
    for p in ["/store/one.bin", "/store/two.bin"] {
        assert_eq!(
            m.iter().find(|e| e.path == p).unwrap().sha256,
            Some(digest),
            "{p}"
        );
    }
    let mut iso = Vec::new();
    image.write_to(&mut iso, &mut NoProgress).unwrap();
    let mut r = ImageReader::open(Cursor::new(iso)).unwrap();
    for p in ["/store/one.bin", "/store/two.bin"] {
        let e = r.lookup(View::Joliet, p).unwrap();
        assert_eq!(r.read_file(&e).unwrap(), *payload, "{p}");
    }
    let list = r.lookup(View::Joliet, "/CHECKSUM/SHA256.TXT").unwrap();
    let text = String::from_utf8(r.read_file(&list).unwrap()).unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(text.matches(&hex).count(), 2, "{text}");
}

/// Large files of equal size go through a prefix pass first: distinct prefixes are never
/// shared, equal prefixes with different tails are not shared either, true copies are.
#[test]
fn large_files_prefix_pass() {
    let size = 3 << 20; // above the prefix pass threshold (1 MiB)
    let base: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let mut other_prefix = base.clone();
    other_prefix[10] ^= 1;
    let mut other_tail = base.clone();
    other_tail[size - 1] ^= 1;
    let mut b = ImageBuilder::new();
    b.add_bytes("/base.bin", base.clone()).unwrap();
    b.add_bytes("/copy.bin", base.clone()).unwrap();
    b.add_bytes("/other_prefix.bin", other_prefix.clone())
        .unwrap();
    b.add_bytes("/other_tail.bin", other_tail.clone()).unwrap();
    b.add_bytes("/alone_prefix.bin", {
        let mut v = base.clone();
        v[0] ^= 0xFF;
        v
    })
    .unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert_eq!(image.dedup_saved(), (1, size as u64));
    let mut iso = Vec::new();
    image.write_to(&mut iso, &mut NoProgress).unwrap();
    let mut r = ImageReader::open(Cursor::new(iso)).unwrap();
    for (path, want) in [
        ("/base.bin", &base),
        ("/copy.bin", &base),
        ("/other_prefix.bin", &other_prefix),
        ("/other_tail.bin", &other_tail),
    ] {
        let e = r.lookup(View::Joliet, path).unwrap();
        assert_eq!(&r.read_file(&e).unwrap(), want, "{path}");
    }
}
