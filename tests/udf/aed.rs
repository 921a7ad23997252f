//! Allocation extent descriptors (ECMA-167 4/14.5; UDF 2.3.11) in built images. With the
//! extent limit lowered to one block (`UdfOptions::extent_limit`, set through
//! `glassmaster::fuzz::set_udf_extent_limit`: feature `fuzz`, on under `--all-features`),
//! files of a few hundred KiB need more descriptors than a file entry holds, as files of over
//! 114 GiB (long_ads) or 228 GiB (short_ads) do with the real limit of 0x3FFFF800 bytes.
//!
//! Read back by our reader and by GRUB's UDF driver (`grub-fstest`), which follows allocation
//! extents (1.02 to 2.01: GRUB 2.06 does not open a metadata partition, so for 2.60 our reader
//! is the only one); 7-Zip does not (it extracts the other files and refuses those: asserted as
//! a known limitation). pycdlib 1.x does not follow them either (it has the descriptor's class but never
//! reads one), and this kernel has no `udf` module to mount an image with.

use std::path::Path;
use std::process::Command;

use glassmaster::raw::udf::ad::{chain_counts, AED_HEADER_LEN, LONG_AD_LEN, SHORT_AD_LEN};
use glassmaster::raw::udf::file::max_descriptors;
use glassmaster::read::{ImageReader, View};
use glassmaster::{FileSystems, ImageBuilder, NoProgress, UdfRevision, BLOCK_SIZE};

use crate::common::require_tool;

/// `len` bytes of a pattern whose period is not a multiple of 2048, so a misplaced block shows.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 2039) as u8).wrapping_mul(31) ^ seed ^ ((i / 2039) as u8))
        .collect()
}

struct Case {
    path: &'static str,
    data: Vec<u8>,
    /// Allocation descriptors of file data it needs (one per block).
    extents: usize,
    /// Allocation extent descriptors it needs.
    aed_blocks: usize,
}

/// Files around the limits of `rev`: one whose descriptors just fit in its entry, one with
/// one too many (one allocation extent), one needing three chained allocation extents.
fn cases(rev: UdfRevision) -> Vec<Case> {
    let per = if rev.has_metadata_partition() {
        LONG_AD_LEN
    } else {
        SHORT_AD_LEN
    };
    let cap = max_descriptors(rev, per);
    let in_block = (BLOCK_SIZE - AED_HEADER_LEN) / per;
    let three = cap - 1 + 2 * (in_block - 1) + 7;
    [
        ("/a-fits.bin", cap, cap * BLOCK_SIZE - 100, 1u8),
        ("/b-one-more.bin", cap + 1, cap * BLOCK_SIZE + 5, 2),
        ("/c-three.bin", three, (three - 1) * BLOCK_SIZE + 777, 3),
    ]
    .into_iter()
    .map(|(path, extents, len, seed)| {
        let (_, chain) = chain_counts(extents, cap, per);
        Case {
            path,
            data: pattern(seed, len),
            extents,
            aed_blocks: chain.len(),
        }
    })
    .collect()
}

fn build(rev: UdfRevision, cases: &[Case]) -> glassmaster::Image {
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::UDF)
        .build_time(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default());
    b.options_mut().udf.revision = rev;
    glassmaster::fuzz::set_udf_extent_limit(b.options_mut(), BLOCK_SIZE as u32);
    b.add_bytes("/0-before.txt", &b"before"[..]).unwrap();
    for c in cases {
        b.add_bytes(c.path, c.data.clone()).unwrap();
    }
    b.add_hard_link("/d/link.bin", "/c-three.bin").unwrap();
    b.add_bytes("/d/z-after.txt", &b"after"[..]).unwrap();
    b.build(&mut glassmaster::NoProgress).unwrap()
}

/// GRUB's UDF driver (`grub-fstest`, grub-common) follows allocation extents: every file is
/// copied out whole and compared.
///
/// GRUB 2.06 does not know the metadata partition of UDF 2.50 and later ("unknown
/// filesystem"): asserted as it is.
fn check_with_grub(fstest: &str, img: &Path, out: &Path, rev: UdfRevision, cases: &[Case]) {
    if rev.has_metadata_partition() {
        let run = Command::new(fstest)
            .arg(img)
            .args(["cat", "(loop0)/d/z-after.txt"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            !run.status.success() && stderr.contains("unknown filesystem"),
            "{rev:?}: GRUB now reads UDF with a metadata partition; check the files: {stderr}"
        );
        return;
    }
    std::fs::create_dir_all(out).unwrap();
    let mut want: Vec<(&str, &[u8])> = cases.iter().map(|c| (c.path, &c.data[..])).collect();
    want.push(("/d/link.bin", &cases[2].data));
    want.push(("/d/z-after.txt", b"after"));
    for (k, (path, data)) in want.into_iter().enumerate() {
        let dst = out.join(format!("{k}"));
        let run = Command::new(fstest)
            .arg(img)
            .arg("cp")
            .arg(format!("(loop0){path}"))
            .arg(&dst)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{rev:?}: grub-fstest cp {path} failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(
            std::fs::read(&dst).unwrap() == data,
            "{rev:?}: GRUB read {path} wrongly"
        );
    }
}

/// 7-Zip (26.02) extracts the files whose descriptors fit in their entries, and refuses those
/// with allocation extents ("Unsupported Method": it keeps the type-3 descriptor as an extent
/// and does not follow it). Asserted as it is, so a 7-Zip that reads them shows up here.
fn check_with_7z(sz: &str, img: &Path, out: &Path, rev: UdfRevision, cases: &[Case]) {
    let run = Command::new(sz)
        .arg("x")
        .arg("-y")
        .arg(format!("-o{}", out.display()))
        .arg(img)
        .output()
        .unwrap();
    // The per-file errors go to stderr.
    let stdout = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let mut refused: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ERROR: Unsupported Method : "))
        .collect();
    refused.sort_unstable();
    let mut expected: Vec<&str> = cases
        .iter()
        .filter(|c| c.aed_blocks > 0)
        .map(|c| c.path.trim_start_matches('/'))
        .chain(["d/link.bin"])
        .collect();
    expected.sort_unstable();
    assert_eq!(refused, expected, "{rev:?}: 7z x:\n{stdout}");
    for c in cases.iter().filter(|c| c.aed_blocks == 0) {
        let got = std::fs::read(out.join(c.path.trim_start_matches('/'))).unwrap();
        assert!(got == c.data, "{rev:?}: 7z extracted {} wrongly", c.path);
    }
    assert_eq!(std::fs::read(out.join("d/z-after.txt")).unwrap(), b"after");
}

/// Every revision family: file entries with short_ads (1.02), extended file entries with
/// short_ads (2.01), extended file entries with long_ads and the entries (and so the allocation
/// extents) in the metadata partition (2.60).
#[test]
fn files_with_more_descriptors_than_an_entry_holds() {
    // A missing tool skips its check with a note (fails under CI=true).
    let fstest = require_tool("grub-fstest").then_some("grub-fstest");
    let sz = require_tool("7z").then_some("7z");
    let dir = tempfile::tempdir().unwrap();
    for rev in [UdfRevision::V1_02, UdfRevision::V2_01, UdfRevision::V2_60] {
        let cases = cases(rev);
        assert_eq!(
            cases.iter().map(|c| c.aed_blocks).collect::<Vec<_>>(),
            [0, 1, 3],
            "{rev:?}: the cases do not cover what they should"
        );
        let image = build(rev, &cases);
        let item = image
            .progress_items()
            .from_description("UDF allocation extent descriptors")
            .unwrap_or_else(|| panic!("{rev:?}: no allocation extent segment"));
        assert_eq!(item.block_count, 4, "{rev:?}");

        let img = dir.path().join(format!("aed-{:04x}.udf", rev.bcd()));
        image.write_to_path(&img, &mut NoProgress).unwrap();
        let mut r = ImageReader::open(std::fs::File::open(&img).unwrap()).unwrap();
        for c in &cases {
            let e = r.lookup(View::Udf, c.path).unwrap();
            assert_eq!(e.size, c.data.len() as u64, "{rev:?} {}", c.path);
            // One extent per descriptor: the reader followed the whole chain.
            assert_eq!(e.extents.len(), c.extents, "{rev:?} {}", c.path);
            assert!(r.read_file(&e).unwrap() == c.data, "{rev:?} {}", c.path);
        }
        let link = r.lookup(View::Udf, "/d/link.bin").unwrap();
        assert!(r.read_file(&link).unwrap() == cases[2].data, "{rev:?}");
        let after = r.lookup(View::Udf, "/d/z-after.txt").unwrap();
        assert_eq!(r.read_file(&after).unwrap(), b"after", "{rev:?}");

        if let Some(fstest) = fstest {
            let out = dir.path().join(format!("g{:04x}", rev.bcd()));
            check_with_grub(fstest, &img, &out, rev, &cases);
        }
        if let Some(sz) = sz {
            let out = dir.path().join(format!("x{:04x}", rev.bcd()));
            check_with_7z(sz, &img, &out, rev, &cases);
        }
    }
}

/// The same tree without the lowered limit has no allocation extent segment at all, and the
/// image is the same as before allocation extents existed: one descriptor per 0x3FFFF800 bytes.
#[test]
fn no_allocation_extents_without_need() {
    let cases = cases(UdfRevision::V2_01);
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::UDF);
    for c in &cases {
        b.add_bytes(c.path, c.data.clone()).unwrap();
    }
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert!(image
        .progress_items()
        .from_description("UDF allocation extent descriptors")
        .is_none());
}
