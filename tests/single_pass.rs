//! `ImageBuilder::build_to_path`: with deduplication, small files sharing their size with
//! another are hashed as they are written (read once) and duplicates are left out. The image
//! must be byte for byte what `build` + `write_to` make, with the same items; errors, aborts and
//! changed sources must leave nothing at the destination.

mod common;

use chrono::TimeZone;
use glassmaster::{BootImage, Error, FileSystems, ImageBuilder, NoProgress, Progress, UdfRevision};
use std::path::Path;

fn fixed(b: &mut ImageBuilder) {
    b.build_time(chrono::Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap());
}

/// A tree with many same-size files, some identical, in memory, from readers and on disk.
fn populate(b: &mut ImageBuilder, disk: &Path, seed: u64) {
    let mut rng = common::Rng::new(seed);
    // 40 sizes x 6 files; about a third are copies of an earlier file of their size.
    let mut made: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 40];
    for i in 0..240usize {
        let s = i % 40;
        let len = 1 + s * 997 + (s % 3) * 70_000;
        let bytes = if !made[s].is_empty() && rng.below(3) == 0 {
            made[s][rng.below(made[s].len() as u64) as usize].clone()
        } else {
            common::content(rng.next_u64(), len)
        };
        made[s].push(bytes.clone());
        let path = format!("/d{}/f{i:03}.bin", i % 7);
        match i % 3 {
            0 => {
                b.add_bytes(&path, bytes).unwrap();
            }
            1 => {
                // Written once: a rewrite would change its time, and so the image.
                let f = disk.join(format!("src{i}"));
                if !f.exists() {
                    std::fs::write(&f, &bytes).unwrap();
                }
                b.add_file(&path, &f).unwrap();
            }
            _ => {
                let shared = std::sync::Arc::new(bytes);
                let len = shared.len() as u64;
                b.add_reader(&path, len, move || {
                    Ok(Box::new(std::io::Cursor::new(shared.as_ref().clone())))
                })
                .unwrap();
            }
        }
    }
    // Large duplicates (over 1 MiB: decided before writing, by the prefix pass), empty files.
    let big = common::content(seed ^ 7, (1 << 20) + 12_345);
    b.add_bytes("/big/a", big.clone()).unwrap();
    b.add_bytes("/big/b", big).unwrap();
    b.add_bytes("/empty1", Vec::new()).unwrap();
    b.add_bytes("/empty2", Vec::new()).unwrap();
    b.add_hard_link("/d0/link", "/d0/f000.bin").unwrap();
}

/// The image of `make()` written both ways; returns (two-pass bytes, single-pass bytes).
fn both_ways(make: &dyn Fn() -> ImageBuilder) -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let two = make().build(&mut glassmaster::NoProgress).unwrap();
    let mut a = Vec::new();
    two.write_to(&mut a, &mut NoProgress).unwrap();
    let out = dir.path().join("single.iso");
    let one = make().build_to_path(&out, &mut NoProgress).unwrap();
    let b = std::fs::read(&out).unwrap();
    assert_eq!(
        one.progress_items().iter().collect::<Vec<_>>(),
        two.progress_items().iter().collect::<Vec<_>>(),
        "items differ"
    );
    assert_eq!(one.dedup_saved(), two.dedup_saved());
    assert_eq!(one.total_blocks(), two.total_blocks());
    // The returned image streams the same bytes as the file holds.
    let mut c = Vec::new();
    one.write_to(&mut c, &mut NoProgress).unwrap();
    assert!(c == b, "the returned image differs from the file written");
    (a, b)
}

#[test]
fn same_bytes_as_two_passes_in_every_file_system_combination() {
    let disk = tempfile::tempdir().unwrap();
    let combos = [
        FileSystems::ISO9660,
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE,
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
        FileSystems::UDF,
    ];
    for (k, fs) in combos.into_iter().enumerate() {
        for rev in [UdfRevision::V1_02, UdfRevision::V2_60] {
            if !fs.contains(FileSystems::UDF) && rev == UdfRevision::V2_60 {
                continue;
            }
            let sub = disk.path().join(format!("{k}-{rev:?}"));
            std::fs::create_dir_all(&sub).unwrap();
            let make = || {
                let mut b = ImageBuilder::new();
                b.filesystems(fs);
                b.options_mut().udf.revision = rev;
                fixed(&mut b);
                populate(&mut b, &sub, 11);
                b
            };
            let (a, b) = both_ways(&make);
            assert!(a == b, "{fs:?} {rev:?}: single-pass bytes differ");
            let saved = make()
                .build(&mut glassmaster::NoProgress)
                .unwrap()
                .dedup_saved();
            assert!(saved.0 > 30, "{fs:?}: only {saved:?} deduplicated");
        }
    }
}

#[test]
fn boot_files_catalog_and_placement_weights() {
    let disk = tempfile::tempdir().unwrap();
    let make = || {
        let mut b = ImageBuilder::new();
        b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
        fixed(&mut b);
        populate(&mut b, disk.path(), 5);
        // Boot images placed after duplicates (their blocks move when those are left out):
        // the catalog and the boot info table must name the final blocks.
        let boot = common::content(99, 4096);
        b.add_bytes("/zz/boot.bin", boot.clone()).unwrap();
        b.add_bytes("/zz/boot-twin.bin", boot).unwrap();
        b.add_bytes("/zz/efi.img", common::content(98, 8192))
            .unwrap();
        let mut e = BootImage::bios("/zz/boot.bin");
        e.boot_info_table = true;
        b.add_boot_entry(e);
        b.add_boot_entry(BootImage::efi("/zz/efi.img"));
        // Weights: the later directories first, so the first placed of twins is not the first
        // added.
        b.set_weight("/d6", 10).unwrap();
        b.set_weight("/d5", 5).unwrap();
        b
    };
    let (a, b) = both_ways(&make);
    assert!(
        a == b,
        "single-pass bytes differ with boot entries and weights"
    );
}

#[test]
fn embedded_checksums_fall_back_to_two_passes() {
    let disk = tempfile::tempdir().unwrap();
    let make = || {
        let mut b = ImageBuilder::new();
        fixed(&mut b);
        b.options_mut().checksums = true;
        populate(&mut b, disk.path(), 3);
        b
    };
    let (a, b) = both_ways(&make);
    assert!(a == b);
}

#[test]
fn size_limit_counts_the_deduplicated_size() {
    let make = |max: Option<u64>| {
        let mut b = ImageBuilder::new();
        fixed(&mut b);
        let x = common::content(1, 100_000);
        for i in 0..20 {
            b.add_bytes(&format!("/f{i}"), x.clone()).unwrap();
        }
        b.options_mut().max_blocks = max;
        b
    };
    let need = make(None)
        .build(&mut glassmaster::NoProgress)
        .unwrap()
        .total_blocks();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fits.iso");
    let img = make(Some(need))
        .build_to_path(&out, &mut NoProgress)
        .unwrap();
    assert_eq!(img.total_blocks(), need);
    let out2 = dir.path().join("too-big.iso");
    let err = make(Some(need - 1))
        .build_to_path(&out2, &mut NoProgress)
        .unwrap_err();
    assert!(matches!(err, Error::ImageTooLarge { .. }), "{err}");
    assert_no_leftovers(dir.path(), &["fits.iso"]);
}

fn assert_no_leftovers(dir: &Path, allowed: &[&str]) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !allowed.contains(&n.as_str()))
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");
}

/// Aborts on the `n`th `query_abort` of the write phase.
struct AbortAt {
    n: u64,
    polls: u64,
    writing: bool,
    items: u64,
}

impl Progress for AbortAt {
    fn begin(&mut self, phase: glassmaster::Phase, _total: u64) {
        self.writing = phase == glassmaster::Phase::Write;
    }
    fn item_started(&mut self, _item: &glassmaster::ProgressItem) {
        self.items += 1;
    }
    fn query_abort(&mut self) -> bool {
        if !self.writing {
            return false;
        }
        self.polls += 1;
        self.polls >= self.n
    }
}

#[test]
fn abort_at_any_point_leaves_no_file() {
    let disk = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let make = || {
        let mut b = ImageBuilder::new();
        fixed(&mut b);
        populate(&mut b, disk.path(), 9);
        b
    };
    // How many polls a whole write makes.
    let mut count = AbortAt {
        n: u64::MAX,
        polls: 0,
        writing: false,
        items: 0,
    };
    make()
        .build_to_path(&out_dir.path().join("whole.iso"), &mut count)
        .unwrap();
    assert!(
        count.polls > 5 && count.items > 100,
        "{} polls",
        count.polls
    );
    std::fs::remove_file(out_dir.path().join("whole.iso")).unwrap();
    for n in [1, 2, count.polls / 2, count.polls - 1, count.polls] {
        let mut p = AbortAt {
            n,
            polls: 0,
            writing: false,
            items: 0,
        };
        let r = make().build_to_path(&out_dir.path().join("x.iso"), &mut p);
        assert!(matches!(r, Err(Error::Aborted)), "abort at poll {n}: {r:?}");
        assert_no_leftovers(out_dir.path(), &[]);
    }
}

#[test]
fn changed_source_fails_and_leaves_no_file() {
    let disk = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let src = disk.path().join("tree");
    std::fs::create_dir(&src).unwrap();
    for i in 0..50 {
        std::fs::write(src.join(format!("f{i:02}")), common::content(i % 5, 3000)).unwrap();
    }
    for (what, change) in [("grew", 3001usize), ("shrank", 2999), ("vanished", 0)] {
        let mut b = ImageBuilder::new();
        b.add_tree("/", &src, &mut glassmaster::NoProgress).unwrap();
        let victim = src.join("f37");
        let keep = std::fs::read(&victim).unwrap();
        if change == 0 {
            std::fs::remove_file(&victim).unwrap();
        } else {
            std::fs::write(&victim, common::content(77, change)).unwrap();
        }
        let r = b.build_to_path(&out_dir.path().join("x.iso"), &mut NoProgress);
        std::fs::write(&victim, keep).unwrap();
        match r {
            Err(Error::SourceChanged { image_path, .. }) => {
                assert_eq!(image_path, "/f37", "{what}")
            }
            other => panic!("{what}: {other:?}"),
        }
        assert_no_leftovers(out_dir.path(), &[]);
    }
}

#[test]
fn modified_same_size_source_is_refused() {
    // Same size, new modification time, between the scan and the write: never written as it
    // was scanned nor silently as it is now.
    let disk = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    for i in 0..10 {
        std::fs::write(
            disk.path().join(format!("f{i}")),
            common::content(i % 2, 5000),
        )
        .unwrap();
    }
    let mut b = ImageBuilder::new();
    b.add_tree("/", disk.path(), &mut glassmaster::NoProgress)
        .unwrap();
    let f = disk.path().join("f3");
    std::fs::write(&f, common::content(55, 5000)).unwrap();
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(100);
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(t)
        .unwrap();
    let r = b.build_to_path(&out_dir.path().join("x.iso"), &mut NoProgress);
    assert!(matches!(r, Err(Error::SourceChanged { .. })), "{r:?}");
    assert_no_leftovers(out_dir.path(), &[]);
}

#[test]
fn readers_of_interop_tools_agree() {
    // The single-pass image of an on-disk tree with duplicates, read by isoinfo and 7z.
    if !common::require_tools(&["isoinfo", "7z"]) {
        return;
    }
    let disk = tempfile::tempdir().unwrap();
    let src = disk.path().join("tree");
    for i in 0..300usize {
        let d = src.join(format!("d{}", i % 9));
        std::fs::create_dir_all(&d).unwrap();
        let len = 100 + (i % 13) * 1000;
        std::fs::write(
            d.join(format!("f{i}.txt")),
            common::content((i % 13) as u64, len),
        )
        .unwrap();
    }
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    b.add_tree("/", &src, &mut glassmaster::NoProgress).unwrap();
    let out = disk.path().join("t.iso");
    let img = b.build_to_path(&out, &mut NoProgress).unwrap();
    assert!(img.dedup_saved().0 > 100, "{:?}", img.dedup_saved());
    let x = disk.path().join("x7z");
    common::run_clean(
        common::tool("7z")
            .arg("x")
            .arg(format!("-o{}", x.display()))
            .arg(&out),
    );
    common::assert_same_tree(&src, &x, false, "7z");
    let listing =
        common::run_clean_stdout(common::tool("isoinfo").args(["-R", "-f", "-i"]).arg(&out));
    assert_eq!(listing.lines().filter(|l| l.ends_with(".txt")).count(), 300);
}
