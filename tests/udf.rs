//! UDF interoperability: bridge (ISO 9660 + Joliet + UDF) and UDF-only images of every
//! revision, built from a generated tree, read by independent implementations:
//!
//! | reader | 1.02 | 1.50 | 2.01 | 2.50 | 2.60 |
//! |---|---|---|---|---|---|
//! | 7-Zip `7z x` (bridge: `-tudf`) | both | both | both | both | both |
//! | udftools `udfinfo` | both | both | both | both | both |
//! | pycdlib 1.22 (`udf_path`) | bridge | bridge | bridge | bridge | bridge |
//! | isoinfo -d, xorriso (ISO side) | bridge | bridge | bridge | bridge | bridge |
//! | glassmaster `View::Udf` | both | both | both | both | both |
//!
//! "both" = bridge and UDF-only images. pycdlib needs an ISO 9660 primary volume descriptor, so
//! it refuses every UDF-only image ("Valid ISO9660 filesystems must have at least one PVD"),
//! asserted, not skipped. It also looks for the file set descriptor at the first block of the
//! physical partition without reading the metadata partition map; for 2.50 and 2.60 the
//! metadata partition starts at that block (UDF 2.2.13, `layout::pipeline`), so block n of the
//! metadata partition is block n of the physical partition and pycdlib reads every file of the
//! bridge images all the same.
//!
//! A missing tool skips its check with a note, except with `CI=true` (see `.ci/run`), where
//! it fails.

mod common;

/// Allocation extent descriptors in built images (the extent limit is lowered through
/// `glassmaster::fuzz`, feature `fuzz`, on under `--all-features`).
#[cfg(feature = "fuzz")]
#[path = "udf/aed.rs"]
mod aed;

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;

use chrono::TimeZone;
use common::*;
use glassmaster::read::{ImageReader, View};
use glassmaster::{FileSystems, Image, ImageBuilder, NoProgress, UdfRevision};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The BCD revision as tools print it: `2.01`.
fn rev_str(bcd: u16) -> String {
    format!("{:x}.{:02x}", bcd >> 8, bcd & 0xFF)
}

/// The interop tree plus names only UDF keeps: a character outside the Basic Multilingual
/// Plane (a surrogate pair in CS0), a name of 200 characters.
fn source(seed: u64) -> SourceTree {
    let mut e = interop_entries(seed, false);
    e.push(Spec::File(
        "udf/clef 𝄞 music.txt".into(),
        content(seed, 333),
    ));
    e.push(Spec::File(
        format!("udf/{}.txt", "u".repeat(200)),
        content(seed + 1, 4097),
    ));
    e.push(Spec::Dir("udf/empty".into()));
    SourceTree::create(e)
}

struct Built {
    src: SourceTree,
    out: tempfile::TempDir,
    img: std::path::PathBuf,
    image: Image,
    rev: UdfRevision,
    bridge: bool,
}

impl Built {
    fn what(&self) -> String {
        format!(
            "{} {}",
            rev_str(self.rev.bcd()),
            if self.bridge { "bridge" } else { "UDF only" }
        )
    }
    fn path(&self) -> &str {
        self.img.to_str().unwrap()
    }
}

fn build(seed: u64, rev: UdfRevision, bridge: bool) -> Built {
    let src = source(seed);
    let mut b = ImageBuilder::new();
    b.filesystems(if bridge {
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::UDF
    } else {
        FileSystems::UDF
    })
    .volume_id("UDF_INTEROP")
    .build_time(chrono::Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap());
    b.options_mut().udf.revision = rev;
    b.add_tree("/", src.path(), &mut glassmaster::NoProgress)
        .expect("add_tree");
    let image = b.build(&mut glassmaster::NoProgress).expect("build");
    let out = out_dir();
    let img = join(&out, "udf.iso");
    image.write_to_path(&img, &mut NoProgress).expect("write");
    Built {
        src,
        out,
        img,
        image,
        rev,
        bridge,
    }
}

/// Number of files and directories (the root included) of the source tree.
fn counts(src: &Path) -> (usize, usize) {
    let s = snapshot(src, false);
    let dirs = s.values().filter(|v| **v == Found::Dir).count();
    (s.len() - dirs, dirs + 1)
}

/// `7z x` extracts names, bytes and modification times exactly.
fn check_7z(b: &Built) {
    if !require_tool("7z") {
        return;
    }
    let dest = join(&b.out, "7z");
    let mut cmd = tool("7z");
    cmd.args(["x", "-y", &format!("-o{}", dest.display())]);
    if b.bridge {
        cmd.arg("-tudf");
    }
    let out = run_clean_stdout(cmd.arg(b.path()));
    assert!(
        out.contains("Type = Udf") || out.contains("Everything is Ok"),
        "{}: {out}",
        b.what()
    );
    assert!(!out.contains("WARNING"), "{}: {out}", b.what());
    make_writable(&dest);
    assert_same_tree(b.src.path(), &dest, true, &format!("7z, {}", b.what()));
    std::fs::remove_dir_all(&dest).unwrap();
}

/// `udfinfo` reads the volume: the revision written, a closed integrity descriptor, the counts.
fn check_udfinfo(b: &Built) {
    if !require_tool("udfinfo") {
        return;
    }
    let out = run_clean_stdout(tool("udfinfo").arg(b.path()));
    let kv: BTreeMap<&str, &str> = out.lines().filter_map(|l| l.split_once('=')).collect();
    let (files, dirs) = counts(b.src.path());
    // 2.60 volumes say they are readable by 2.50 implementations (min_read_revision).
    let read_rev = rev_str(b.rev.min_read_revision());
    let expect = [
        ("udfwriterev", rev_str(b.rev.bcd())),
        ("udfrev", read_rev),
        ("integrity", "closed".into()),
        ("numfiles", files.to_string()),
        ("numdirs", dirs.to_string()),
        ("label", "UDF_INTEROP".into()),
        ("blocksize", "2048".into()),
        ("blocks", b.image.total_blocks().to_string()),
        ("accesstype", "readonly".into()),
    ];
    for (k, v) in expect {
        assert_eq!(
            kv.get(k).copied(),
            Some(v.as_str()),
            "{}: udfinfo {k}:\n{out}",
            b.what()
        );
    }
}

/// pycdlib's view of the UDF tree: `D<TAB>path` and `F<TAB>path<TAB>size<TAB>crc32`, or its
/// error.
const PYCDLIB_WALK: &str = r#"
import io, sys, zlib, pycdlib
p = pycdlib.PyCdlib()
try:
    p.open(sys.argv[1])
except Exception as e:
    print('ERROR\t' + type(e).__name__ + '\t' + str(e))
    sys.exit(0)
def walk(path):
    for c in p.list_children(udf_path=path):
        fid = c.file_ident
        full = path.rstrip('/') + '/' + fid.fi.decode(fid.encoding)
        if c.is_dir():
            print('D\t' + full)
            walk(full)
        else:
            b = io.BytesIO()
            p.get_file_from_iso_fp(b, udf_path=full)
            d = b.getvalue()
            print('F\t%s\t%d\t%08x' % (full, len(d), zlib.crc32(d)))
walk('/')
p.close()
"#;

/// The source tree in the format of [`PYCDLIB_WALK`], sorted.
fn expected_listing(src: &Path) -> Vec<String> {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut v: Vec<String> = snapshot(src, false)
        .into_iter()
        .map(|(k, f)| match f {
            Found::Dir => format!("D\t/{k}"),
            Found::File { bytes, .. } => {
                format!("F\t/{k}\t{}\t{:08x}", bytes.len(), crc.checksum(&bytes))
            }
        })
        .collect();
    v.sort();
    v
}

/// pycdlib lists the UDF tree of bridge images of every revision with the right sizes and bytes
/// (2.50 and 2.60 too, without following the metadata partition map), and refuses UDF-only
/// images with the documented error (see the module documentation).
fn check_pycdlib(b: &Built) {
    if !require_pycdlib() {
        return;
    }
    let out = run_stdout(tool("python3").args(["-c", PYCDLIB_WALK, b.path()]));
    let mut got: Vec<String> = out.lines().map(str::to_string).collect();
    got.sort();
    if !b.bridge {
        assert!(
            out.starts_with(
                "ERROR\tPyCdlibInvalidISO\tValid ISO9660 filesystems must have at least one PVD"
            ),
            "{}: pycdlib: {out}",
            b.what()
        );
    } else {
        let want = expected_listing(b.src.path());
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: pycdlib differs from the source: missing {missing:?}, unexpected {extra:?}",
            b.what()
        );
    }
}

/// Bridge images: ISO 9660 readers still read the ISO side (Joliet names).
fn check_iso_side(b: &Built) {
    if !b.bridge {
        return;
    }
    if require_tool("isoinfo") {
        let d = run_clean_stdout(tool("isoinfo").args(["-d", "-i", b.path()]));
        assert!(d.contains("Volume id: UDF_INTEROP"), "{}: {d}", b.what());
        assert!(
            d.contains(&format!("Volume size is: {}", b.image.total_blocks())),
            "{}: {d}",
            b.what()
        );
        assert!(d.contains("Joliet with UCS level 3"), "{}: {d}", b.what());
    }
    if require_tool("xorriso") {
        let l = run_clean_stdout(tool("xorriso").args(["-indev", b.path(), "-find", "/"]));
        let got: std::collections::BTreeSet<String> = l
            .lines()
            .filter_map(|l| l.strip_prefix('\'')?.strip_suffix('\''))
            // xorriso quotes like a shell: ' inside a name is written '"'"'.
            .map(|p| p.replace("'\"'\"'", "'"))
            .collect();
        // Joliet has no surrogate pairs: the non-BMP character became `_`; and 64 characters.
        let long = format!("/udf/{}.txt", "u".repeat(200));
        for p in snapshot(b.src.path(), false).into_keys() {
            let p = format!("/{p}");
            if p == long {
                continue;
            }
            let p = p.replace('𝄞', "_");
            assert!(got.contains(&p), "{}: xorriso lacks {p}", b.what());
        }
    }
}

/// Our reader: the UDF view equals the source, and the counts agree with the LVID.
fn check_ours(b: &Built) {
    let f = std::fs::File::open(&b.img).unwrap();
    let mut r = ImageReader::open(io::BufReader::new(f)).unwrap();
    assert!(r.warnings().is_empty(), "{}: {:?}", b.what(), r.warnings());
    let views = r.views();
    assert_eq!(views.last(), Some(&View::Udf), "{}", b.what());
    let info = r.volume_info().udf.clone().unwrap();
    assert_eq!(info.revision, b.rev.bcd());
    let (files, dirs) = counts(b.src.path());
    assert_eq!(
        (info.files, info.dirs),
        (Some(files as u32), Some(dirs as u32))
    );
    let mut got = BTreeMap::new();
    for (path, e) in r.walk(View::Udf).unwrap() {
        let v = if e.is_dir {
            Found::Dir
        } else {
            Found::File {
                bytes: r.read_file(&e).unwrap(),
                mtime: e.mtime.map(|t| t.timestamp()),
            }
        };
        got.insert(path.trim_start_matches('/').to_string(), v);
    }
    assert!(
        got == snapshot(b.src.path(), true),
        "{}: our UDF view differs from the source",
        b.what()
    );
}

fn interop(rev: UdfRevision) {
    for (i, bridge) in [true, false].into_iter().enumerate() {
        let b = build(40 + i as u64 + u64::from(rev.bcd()), rev, bridge);
        check_ours(&b);
        check_7z(&b);
        check_udfinfo(&b);
        check_pycdlib(&b);
        check_iso_side(&b);
    }
}

#[test]
fn udf_1_02() {
    interop(UdfRevision::V1_02);
}

#[test]
fn udf_1_50() {
    interop(UdfRevision::V1_50);
}

#[test]
fn udf_2_01() {
    interop(UdfRevision::V2_01);
}

#[test]
fn udf_2_50() {
    interop(UdfRevision::V2_50);
}

#[test]
fn udf_2_60() {
    interop(UdfRevision::V2_60);
}

/// A metadata partition of many allocation units (600 file entries in 20 directories, built
/// with the CLI): pycdlib, which ignores the metadata partition map, reads every file of the
/// 2.50 and 2.60 bridge images through `udf_path`, and 7-Zip, udfinfo and our reader agree.
#[cfg(feature = "cli")]
#[test]
fn metadata_partition_of_many_units_read_without_the_map() {
    let mut entries = Vec::new();
    for d in 0..20u64 {
        for f in 0..29u64 {
            entries.push(Spec::File(
                format!("dir{d:02}/file{f:02}.bin"),
                content(d * 100 + f, (d * 997 + f * 131) as usize % 5000),
            ));
        }
    }
    let src = SourceTree::create(entries);
    for rev in ["2.50", "2.60"] {
        let out = out_dir();
        let img = join(&out, "many.iso");
        run(Command::new(env!("CARGO_BIN_EXE_glassmaster"))
            .args([
                "build",
                "-q",
                "-J",
                "-V",
                "UDF_INTEROP",
                "--udf",
                "--udf-rev",
                rev,
                "-o",
            ])
            .arg(&img)
            .arg(src.path()));
        let path = img.to_str().unwrap();
        if require_pycdlib() {
            let out = run_stdout(tool("python3").args(["-c", PYCDLIB_WALK, path]));
            let mut got: Vec<String> = out.lines().map(str::to_string).collect();
            got.sort();
            assert!(
                got == expected_listing(src.path()),
                "{rev}: pycdlib differs from the source:\n{out}"
            );
        }
        if require_tool("udfinfo") {
            let info = run_clean_stdout(tool("udfinfo").arg(path));
            assert!(info.contains("numfiles=580\n"), "{rev}: {info}");
            assert!(info.contains("numdirs=21\n"), "{rev}: {info}");
        }
        if require_tool("7z") {
            let dest = join(&out, "7z");
            run_clean(
                tool("7z")
                    .args(["x", "-y", "-tudf", &format!("-o{}", dest.display())])
                    .arg(path),
            );
            make_writable(&dest);
            assert_same_tree(src.path(), &dest, false, &format!("7z, {rev}"));
        }
        let f = std::fs::File::open(&img).unwrap();
        let mut r = ImageReader::open(io::BufReader::new(f)).unwrap();
        assert!(r.volume_info().udf.as_ref().unwrap().metadata_partition);
        let mut got = BTreeMap::new();
        for (p, e) in r.walk(View::Udf).unwrap() {
            let v = if e.is_dir {
                Found::Dir
            } else {
                Found::File {
                    bytes: r.read_file(&e).unwrap(),
                    mtime: None,
                }
            };
            got.insert(p.trim_start_matches('/').to_string(), v);
        }
        assert!(got == snapshot(src.path(), false), "{rev}: our UDF view");
    }
}

/// `glassmaster ls --view udf` and `extract --view udf` on a UDF-only image.
#[cfg(feature = "cli")]
#[test]
fn cli_ls_and_extract_udf_view() {
    let b = build(99, UdfRevision::V2_50, false);
    let gm = env!("CARGO_BIN_EXE_glassmaster");
    let ls = run_clean_stdout(Command::new(gm).args(["ls", "--view", "udf", b.path()]));
    let want: Vec<String> = snapshot(b.src.path(), false)
        .into_iter()
        .map(|(k, v)| format!("/{k}{}", if v == Found::Dir { "/" } else { "" }))
        .collect();
    let mut got: Vec<String> = ls.lines().map(str::to_string).collect();
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    // The default view of a UDF-only image is UDF.
    assert_eq!(
        run_clean_stdout(Command::new(gm).args(["ls", b.path()])),
        ls
    );
    let dest = join(&b.out, "x");
    run(Command::new(gm).args(["extract", "--view", "udf", b.path(), dest.to_str().unwrap()]));
    assert_same_tree(b.src.path(), &dest, true, "glassmaster extract --view udf");
    // An ISO 9660 view is refused with the views the image has.
    let out = Command::new(gm)
        .args(["ls", "--view", "joliet", b.path()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("it has: udf"));
}

// ------------------------------------------------------------------------------------------------
// A 5 GiB file: six allocation descriptors of at most 0x3FFFF800 bytes.

/// The big file's bytes; period 65,521, not a multiple of 2048, so misplaced extents show.
const PATTERN: Pattern = Pattern {
    period: 65_521,
    mul: 37,
    xor: 0xA5,
};

fn pattern_byte(i: u64) -> u8 {
    PATTERN.byte(i)
}

fn five_gib_image(rev: UdfRevision, big: u64) -> Image {
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::UDF)
        .build_time(chrono::Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap());
    b.options_mut().udf.revision = rev;
    b.add_bytes("/before.txt", &b"before"[..]).unwrap();
    b.add_reader("/big.bin", big, PATTERN.opener(big)).unwrap();
    b.add_bytes("/zafter.txt", &b"after"[..]).unwrap();
    b.build(&mut glassmaster::NoProgress).unwrap()
}

/// Checks the big file through our UDF view of `r`: six extents, contiguous, the last MiB and
/// the bytes around the first extent boundary.
fn check_big<R: Read + Seek>(r: &mut ImageReader<R>, big: u64, what: &str) {
    let e = r.lookup(View::Udf, "/big.bin").unwrap();
    assert_eq!(e.size, big, "{what}");
    assert_eq!(e.extents.len(), 6, "{what}");
    for w in e.extents.windows(2) {
        assert_eq!(w[0].len, 0x3FFF_F800, "{what}");
        assert_eq!(w[1].lba, w[0].lba + 0x3FFF_F800 / 2048, "{what}");
    }
    let mut f = r.open_file(&e).unwrap();
    for at in [big - MIB, 0x3FFF_F800 - 4096] {
        f.seek(SeekFrom::Start(at)).unwrap();
        let mut got = vec![0u8; MIB as usize];
        f.read_exact(&mut got).unwrap();
        let want: Vec<u8> = (at..at + MIB).map(pattern_byte).collect();
        assert!(got == want, "{what}: bytes at {at}");
    }
    f.seek(SeekFrom::Start(big - 1)).unwrap();
    let mut rest = Vec::new();
    f.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, [pattern_byte(big - 1)], "{what}");
    drop(f);
    let after = r.lookup(View::Udf, "/zafter.txt").unwrap();
    assert_eq!(r.read_file(&after).unwrap(), b"after");
}

/// Every revision through the image stream (nothing written), and one written to disk for
/// 7-Zip and udfinfo (about 5 GiB in the temporary directory; about 10 s).
#[test]
fn five_gib_file() {
    let big = 5 * GIB + 12_345;
    for rev in UdfRevision::ALL {
        let image = five_gib_image(rev, big);
        let mut r = ImageReader::open(image.stream()).unwrap();
        check_big(&mut r, big, &format!("{rev:?} stream"));
    }
    if !require_temp_space(big + 512 * MIB) {
        return;
    }
    let image = five_gib_image(UdfRevision::V2_50, big);
    let out = out_dir();
    let img = join(&out, "big.udf");
    let started = std::time::Instant::now();
    image.write_to_path(&img, &mut NoProgress).unwrap();
    eprintln!(
        "wrote {} bytes in {:?}",
        image.size_bytes(),
        started.elapsed()
    );
    let f = std::fs::File::open(&img).unwrap();
    let mut r = ImageReader::open(io::BufReader::new(f)).unwrap();
    check_big(&mut r, big, "2.50 file");
    let p = img.to_str().unwrap();
    if require_tool("7z") {
        let l = run_clean_stdout(tool("7z").args(["l", p]));
        let line = l
            .lines()
            .find(|l| l.ends_with(" big.bin"))
            .unwrap_or_else(|| panic!("7z l:\n{l}"));
        assert!(
            line.contains(&format!(" {big} ")),
            "7z l does not report {big} bytes: {line}"
        );
    }
    if require_tool("udfinfo") {
        let i = run_clean_stdout(tool("udfinfo").arg(p));
        assert!(
            i.contains("numfiles=3\n") && i.contains("integrity=closed"),
            "{i}"
        );
    }
    drop(r);
    std::fs::remove_file(&img).unwrap();
}

/// A 50 GiB file in UDF-only images (2.01 with short_ads, 2.60 with the metadata partition and
/// long_ads): 50 allocation descriptors of at most 0x3FFFF800 bytes, read back through the lazy
/// stream without writing the image (the pattern source is skipped over in memory).
#[test]
fn fifty_gib_file() {
    let big = 50 * GIB + 777;
    for rev in [UdfRevision::V2_01, UdfRevision::V2_60] {
        let image = five_gib_image(rev, big);
        let mut r = ImageReader::open(image.stream()).unwrap();
        let e = r.lookup(View::Udf, "/big.bin").unwrap();
        assert_eq!(e.size, big, "{rev:?}");
        assert_eq!(e.extents.len() as u64, big.div_ceil(0x3FFF_F800), "{rev:?}");
        assert!(e.extents.iter().all(|x| x.len <= 0x3FFF_F800), "{rev:?}");
        assert_eq!(
            e.extents.iter().map(|x| x.len as u64).sum::<u64>(),
            big,
            "{rev:?}"
        );
        let mut f = r.open_file(&e).unwrap();
        for at in [0x3FFF_F800 * 7 - 4096, big - MIB] {
            f.seek(SeekFrom::Start(at)).unwrap();
            let mut got = vec![0u8; MIB as usize];
            f.read_exact(&mut got).unwrap();
            let want: Vec<u8> = (at..at + MIB).map(pattern_byte).collect();
            assert!(got == want, "{rev:?}: bytes at {at}");
        }
    }
}

/// Files with more allocation descriptors than a file entry holds, at the real extent limit:
/// 120 GiB with long_ads (2.60: 114 fit in an extended file entry) and 240 GiB with short_ads
/// (2.01: 229 fit). The rest continues in an allocation extent descriptor (ECMA-167 4/14.5),
/// which the image lists as its own segment; read back through the lazy stream (nothing is
/// written; `layout/udf_aed_tests.rs` checks small files with GRUB and 7-Zip).
#[test]
fn files_past_the_descriptors_of_one_entry() {
    for (rev, big) in [
        (UdfRevision::V2_60, 120 * GIB + 3),
        (UdfRevision::V2_01, 240 * GIB + 5),
    ] {
        let image = five_gib_image(rev, big);
        let aed = image
            .progress_items()
            .from_description("UDF allocation extent descriptors")
            .unwrap_or_else(|| panic!("{rev:?}: no allocation extent segment"));
        assert_eq!(aed.block_count, 1, "{rev:?}");
        assert!(
            image
                .warnings()
                .iter()
                .any(|w| w.contains("/big.bin") && w.contains("allocation extent descriptors")),
            "{rev:?}: {:?}",
            image.warnings()
        );
        let mut r = ImageReader::open(image.stream()).unwrap();
        let e = r.lookup(View::Udf, "/big.bin").unwrap();
        assert_eq!(e.size, big, "{rev:?}");
        assert_eq!(e.extents.len() as u64, big.div_ceil(0x3FFF_F800), "{rev:?}");
        for w in e.extents.windows(2) {
            assert_eq!(w[1].lba, w[0].lba + 0x3FFF_F800 / 2048, "{rev:?}");
        }
        let mut f = r.open_file(&e).unwrap();
        // Across the last descriptor of the entry and the first of the allocation extent.
        let seam = 0x3FFF_F800 * if rev == UdfRevision::V2_60 { 113 } else { 228 };
        for at in [seam - MIB / 2, big - MIB] {
            f.seek(SeekFrom::Start(at)).unwrap();
            let mut got = vec![0u8; MIB as usize];
            f.read_exact(&mut got).unwrap();
            let want: Vec<u8> = (at..at + MIB).map(pattern_byte).collect();
            assert!(got == want, "{rev:?}: bytes at {at}");
        }
        drop(f);
        let after = r.lookup(View::Udf, "/zafter.txt").unwrap();
        assert_eq!(r.read_file(&after).unwrap(), b"after");
    }
}
