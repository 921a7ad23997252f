//! UDF volumes whose logical blocks are not 2048 bytes (issue 19 item 8, finding F10): mkudffs
//! images made with `--blocksize=512`, `1024`, `2048`, `4096` and with `--media-type=hd` (512,
//! its default for hard disks). The reader finds the block size from where the anchor volume
//! descriptor pointer is (ECMA-167 3/8.4.2.1) and reads every structure in those blocks.
//!
//! mkudffs makes an empty file system and the images cannot be mounted here, so each test
//! writes a small tree into it: file entries, file identifier descriptors and data in free
//! blocks of the partition (ECMA-167 4/14.4, 4/14.9), the root directory's file entry
//! rewritten where the file set descriptor names it. Then `ls`, `extract` (byte-identical),
//! `map` (every file's data claimed with its name) and `verify` work, and independent readers
//! agree: `udfinfo` (label, block size) and 7-Zip (the tree and every file's bytes).
//! Damaged and lying images are errors, never panics (a proptest flips bytes of a 512-byte
//! block image and reads everything).

mod common;

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use glassmaster::read::{ImageReader, Limits, View};
use proptest::prelude::*;

// ------------------------------------------------------------------------------------------------
// Writing a tree into an empty mkudffs volume

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The descriptor tag CRC (ECMA-167 3/7.2.6: CRC-ITU-T, x^16 + x^12 + x^5 + 1, from 0).
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Fills the tag (ECMA-167 3/7.2) of descriptor `d`, whose CRC covers all of it after the tag.
fn set_tag(d: &mut [u8], ident: u16, version: u16, serial: u16, location: u32) {
    put16(d, 0, ident);
    put16(d, 2, version);
    d[5] = 0;
    put16(d, 6, serial);
    put32(d, 12, location);
    let len = d.len() - 16;
    put16(d, 10, len as u16);
    let crc = crc16(&d[16..]);
    put16(d, 8, crc);
    fix_checksum(d);
}

/// The tag checksum (ECMA-167 3/7.2.3): bytes 0-3 and 5-15, modulo 256.
fn fix_checksum(d: &mut [u8]) {
    d[4] = 0;
    d[4] = d[..16].iter().fold(0u8, |a, &x| a.wrapping_add(x));
}

/// Recomputes the CRC (over `crc_len` bytes from byte 16) and checksum of the tag at `at`.
fn retag(img: &mut [u8], at: usize) {
    let len = usize::from(get16(img, at + 10));
    let crc = crc16(&img[at + 16..at + 16 + len]);
    put16(img, at + 8, crc);
    fix_checksum(&mut img[at..at + 16]);
}

/// What the test needs of the volume mkudffs made.
struct Vol {
    bs: usize,
    part_start: usize,
    part_len: u32,
    /// Partition block of the root directory's file entry (the file set descriptor's root ICB).
    root: u32,
    tag_version: u16,
    serial: u16,
    /// The next free partition block.
    next: u32,
}

impl Vol {
    /// Reads the anchor (ECMA-167 3/10.2), the partition and logical volume descriptors of the
    /// main sequence (3/10.5, 3/10.6) and the file set descriptor (4/14.1).
    fn probe(img: &[u8], bs: usize) -> Vol {
        let a = 256 * bs;
        assert_eq!(get16(img, a), 2, "anchor at block 256 of {bs} bytes");
        let main_len = get32(img, a + 16) as usize;
        let main = get32(img, a + 20) as usize;
        let (mut part, mut fsd) = (None, None);
        for i in 0..main_len / bs {
            let d = (main + i) * bs;
            match get16(img, d) {
                5 => part = Some((get32(img, d + 188) as usize, get32(img, d + 192))),
                6 => {
                    assert_eq!(get32(img, d + 212) as usize, bs, "logical block size");
                    fsd = Some(get32(img, d + 252));
                }
                8 => break,
                _ => {}
            }
        }
        let (part_start, part_len) = part.expect("partition descriptor");
        let f = (part_start + fsd.expect("logical volume descriptor") as usize) * bs;
        assert_eq!(get16(img, f), 256, "file set descriptor");
        Vol {
            bs,
            part_start,
            part_len,
            root: get32(img, f + 404),
            tag_version: get16(img, f + 2),
            serial: get16(img, f + 6),
            next: part_len / 2,
        }
    }

    fn alloc(&mut self, bytes: usize) -> u32 {
        let at = self.next;
        self.next += bytes.div_ceil(self.bs).max(1) as u32;
        assert!(self.next < self.part_len, "the tree fits the partition");
        at
    }

    fn write(&self, img: &mut [u8], block: u32, data: &[u8]) {
        let at = (self.part_start + block as usize) * self.bs;
        img[at..at + data.len()].copy_from_slice(data);
    }

    /// A file entry (ECMA-167 4/14.9) at partition block `location` with short_ads (4/14.14.1)
    /// of (length, partition block).
    fn file_entry(
        &self,
        location: u32,
        file_type: u8,
        info_len: u64,
        ads: &[(u32, u32)],
        unique: u64,
        links: u16,
    ) -> Vec<u8> {
        let mut d = vec![0u8; 176 + 8 * ads.len()];
        // ICB tag (4/14.6): strategy 4, one entry, the file type, short_ads.
        put16(&mut d, 20, 4);
        put16(&mut d, 24, 1);
        d[27] = file_type;
        let perms: u32 = if file_type == 4 { 0x1CA5 } else { 0x1884 };
        put32(&mut d, 44, perms);
        put16(&mut d, 48, links);
        put64(&mut d, 56, info_len);
        let blocks: u64 = ads
            .iter()
            .map(|a| u64::from(a.0).div_ceil(self.bs as u64))
            .sum();
        put64(&mut d, 64, blocks);
        // Access, modification and attribute times (1/7.3): 2021-03-04 05:06:07 UTC.
        for t in [72, 84, 96] {
            put16(&mut d, t, 0x1000);
            put16(&mut d, t + 2, 2021);
            d[t + 4..t + 9].copy_from_slice(&[3, 4, 5, 6, 7]);
        }
        put32(&mut d, 108, 1);
        d[129..129 + 12].copy_from_slice(b"*udf512 test");
        put64(&mut d, 160, unique);
        put32(&mut d, 172, (8 * ads.len()) as u32);
        for (i, (len, pos)) in ads.iter().enumerate() {
            put32(&mut d, 176 + 8 * i, *len);
            put32(&mut d, 180 + 8 * i, *pos);
        }
        set_tag(&mut d, 261, self.tag_version, self.serial, location);
        d
    }

    /// A file identifier descriptor (ECMA-167 4/14.4) whose tag is at partition block
    /// `location`: `name` (8-bit CS0, 1/7.2.12) or the parent (empty name).
    fn fid(&self, location: u32, flags: u8, name: &str, icb: u32, unique: u32) -> Vec<u8> {
        let mut fi = Vec::new();
        if !name.is_empty() {
            fi.push(8);
            fi.extend_from_slice(name.as_bytes());
        }
        let mut d = vec![0u8; (38 + fi.len()).div_ceil(4) * 4];
        put16(&mut d, 16, 1);
        d[18] = flags;
        d[19] = fi.len() as u8;
        put32(&mut d, 20, self.bs as u32);
        put32(&mut d, 24, icb);
        put32(&mut d, 32, unique); // UDF 2.3.4.3: the unique id in the implementation use
        d[38..38 + fi.len()].copy_from_slice(&fi);
        set_tag(&mut d, 257, self.tag_version, self.serial, location);
        d
    }
}

/// A directory entry of the tree written: a file (its bytes) or a directory.
enum Node {
    File(&'static str, Vec<u8>),
    Dir(&'static str, Vec<Node>),
}

/// The tree every test writes: files of one block, of several blocks in two extents that are
/// not contiguous, an empty file, nested directories, one of them empty.
fn tree() -> Vec<Node> {
    vec![
        Node::File("hello.txt", b"hello, world\n".to_vec()),
        Node::File("big.bin", content(512, 70_000)),
        Node::File("empty.txt", Vec::new()),
        Node::Dir(
            "sub",
            vec![
                Node::File("inner.dat", content(7, 5000)),
                Node::Dir("deeper", Vec::new()),
            ],
        ),
    ]
}

/// Writes the directory `nodes` whose file entry is at `fe_block` (parent `parent`) and
/// everything under it.
fn write_dir(
    v: &mut Vol,
    img: &mut [u8],
    fe_block: u32,
    parent: u32,
    unique: u64,
    nodes: &[Node],
    next_unique: &mut u64,
) {
    // Children's file entries first (their blocks go in the FIDs).
    let mut kids = Vec::new();
    for _ in nodes {
        let fe = v.alloc(1);
        *next_unique += 1;
        kids.push((fe, *next_unique));
    }
    // The FIDs: the parent's, then one per child; each tagged with the block it starts in.
    let mut fids: Vec<(u8, &str, u32, u32)> = vec![(0x0A, "", parent, 0)];
    for (n, (fe, u)) in nodes.iter().zip(&kids) {
        match n {
            Node::File(name, _) => fids.push((0, name, *fe, *u as u32)),
            Node::Dir(name, _) => fids.push((0x02, name, *fe, *u as u32)),
        }
    }
    let size: usize = fids
        .iter()
        .map(|f| (38 + if f.1.is_empty() { 0 } else { 1 + f.1.len() }).div_ceil(4) * 4)
        .sum();
    let data_block = v.alloc(size);
    let mut data = Vec::new();
    for (flags, name, icb, u) in fids {
        let loc = data_block + (data.len() / v.bs) as u32;
        data.extend(v.fid(loc, flags, name, icb, u));
    }
    v.write(img, data_block, &data);
    let subdirs = nodes.iter().filter(|n| matches!(n, Node::Dir(..))).count();
    let fe = v.file_entry(
        fe_block,
        4,
        data.len() as u64,
        &[(data.len() as u32, data_block)],
        unique,
        1 + subdirs as u16,
    );
    v.write(img, fe_block, &fe);
    for (n, (kid, u)) in nodes.iter().zip(kids) {
        match n {
            Node::File(_, bytes) if bytes.is_empty() => {
                let fe = v.file_entry(kid, 5, 0, &[], u, 1);
                v.write(img, kid, &fe);
            }
            Node::File(_, bytes) => {
                // Over 4 blocks: two extents with a gap of 3 blocks between them (ECMA-167
                // 4/12.1: every extent but the last a whole number of blocks).
                let blocks = bytes.len().div_ceil(v.bs);
                let ads = if blocks > 4 {
                    let first = (blocks / 2) * v.bs;
                    let a = v.alloc(first);
                    v.alloc(3 * v.bs);
                    let b = v.alloc(bytes.len() - first);
                    v.write(img, a, &bytes[..first]);
                    v.write(img, b, &bytes[first..]);
                    vec![(first as u32, a), ((bytes.len() - first) as u32, b)]
                } else {
                    let a = v.alloc(bytes.len());
                    v.write(img, a, bytes);
                    vec![(bytes.len() as u32, a)]
                };
                let fe = v.file_entry(kid, 5, bytes.len() as u64, &ads, u, 1);
                v.write(img, kid, &fe);
            }
            Node::Dir(_, sub) => write_dir(v, img, kid, fe_block, u, sub, next_unique),
        }
    }
}

/// The mkudffs program (it lives in /usr/sbin, often not on a user's PATH).
fn mkudffs() -> Option<PathBuf> {
    ["/usr/sbin/mkudffs", "/sbin/mkudffs"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf)
        .or_else(|| require_tool("mkudffs").then(|| "mkudffs".into()))
}

/// An image of `len` bytes made by mkudffs with `args`, and the test tree written into it.
fn mkudffs_image(path: &Path, len: usize, bs: usize, args: &[&str]) -> Option<Vec<u8>> {
    let mk = mkudffs()?;
    fs::write(path, vec![0u8; len]).unwrap();
    run_clean(Command::new(mk).args(args).arg(path));
    let mut img = fs::read(path).unwrap();
    let mut v = Vol::probe(&img, bs);
    let mut unique = 15;
    let root = v.root;
    write_dir(&mut v, &mut img, root, root, 0, &tree(), &mut unique);
    fs::write(path, &img).unwrap();
    Some(img)
}

/// Every (path, bytes) of the tree, and every directory path ("/sub", ...).
fn expected() -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    fn go(
        prefix: &str,
        nodes: &[Node],
        files: &mut Vec<(String, Vec<u8>)>,
        dirs: &mut Vec<String>,
    ) {
        for n in nodes {
            match n {
                Node::File(name, b) => files.push((format!("{prefix}/{name}"), b.clone())),
                Node::Dir(name, sub) => {
                    let p = format!("{prefix}/{name}");
                    dirs.push(p.clone());
                    go(&p, sub, files, dirs);
                }
            }
        }
    }
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    go("", &tree(), &mut files, &mut dirs);
    (files, dirs)
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_glassmaster"))
        .args(args)
        .output()
        .unwrap()
}

fn cli_ok(args: &[&str]) -> (String, String) {
    let out = cli(args);
    assert!(
        out.status.success(),
        "glassmaster {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ------------------------------------------------------------------------------------------------
// Each block size

/// The whole check for one mkudffs image of `bs`-byte blocks.
fn check_block_size(bs: usize, args: &[&str], label: &str) {
    let out = out_dir();
    let img_path = join(&out, "u.udf");
    let Some(img) = mkudffs_image(&img_path, 4 << 20, bs, args) else {
        return;
    };
    let img_s = img_path.to_str().unwrap();
    let (files, dirs) = expected();

    // The library: the block size, the label, the tree and every file's bytes.
    let mut r = ImageReader::open(Cursor::new(&img)).expect("open");
    assert_eq!(r.views(), [View::Udf]);
    let udf = r.volume_info().udf.clone().expect("UDF info");
    assert_eq!(udf.block_size as usize, bs);
    assert_eq!(udf.logical_volume_id, label);
    assert!(r.warnings().is_empty(), "{:?}", r.warnings());
    let walk = r.walk(View::Udf).expect("walk");
    let mut seen_dirs: Vec<String> = walk
        .iter()
        .filter(|(_, e)| e.is_dir)
        .map(|(p, _)| p.clone())
        .collect();
    seen_dirs.sort();
    let mut want_dirs = dirs.clone();
    want_dirs.sort();
    assert_eq!(seen_dirs, want_dirs);
    for (path, bytes) in &files {
        let e = r.lookup(View::Udf, path).expect(path);
        assert_eq!(&r.read_file(&e).expect(path), bytes, "{path}");
        assert_eq!(
            e.mtime.map(|t| t.timestamp()),
            Some(1_614_834_367),
            "{path}"
        );
    }

    // The block map: in UDF blocks (the image has no ISO 9660 volume); every file's data
    // (each block of it) belongs to an item that names it.
    let map = r.block_map().expect("block_map");
    assert_eq!(map.block_size() as usize, bs);
    let unit = map.block_size() as usize;
    assert_eq!(map.total_blocks() as usize, img.len() / unit);
    let mut at = 0;
    for it in map.iter() {
        assert_eq!(it.first_block, at, "contiguous map");
        at = it.last_block + 1;
    }
    assert_eq!(at, map.total_blocks());
    for (path, bytes) in files.iter().filter(|f| !f.1.is_empty()) {
        let e = r.lookup(View::Udf, path).unwrap();
        assert_eq!(e.extents.len(), if bytes.len() > 4 * bs { 2 } else { 1 });
        for x in &e.extents {
            let first = u64::from(x.lba) * bs as u64 / unit as u64;
            let count = (x.len as usize).div_ceil(unit) as u64;
            for b in first..first + count {
                let it = map.from_block(b).unwrap();
                assert!(
                    it.names
                        .iter()
                        .any(|n| n.view == View::Udf && &n.path == path),
                    "block {b} of {path}: {it:?}"
                );
            }
        }
    }
    for path in dirs.iter().map(String::as_str).chain(["/"]) {
        assert!(
            map.from_description(&format!("UDF file entry of {path}"))
                .is_some(),
            "file entry of {path}"
        );
    }
    // The recognition sequence: three descriptors of 2048 bytes, or of the block size if
    // larger (ECMA-167 2/8.3.1); and no block holds data nothing refers to.
    let vrs = map
        .from_description("UDF volume recognition sequence")
        .expect("VRS");
    assert_eq!(vrs.first_block as usize * unit, 32768);
    assert_eq!(vrs.block_count as usize * unit, 3 * bs.max(2048));
    assert!(
        map.iter()
            .all(|it| it.description != "Unused (not zero, referenced by nothing)"),
        "{map:?}"
    );
    // The anchor at block 256 of the volume's blocks.
    let anchor = map.from_block((256 * bs / unit) as u64).expect("block 256");
    assert_eq!(anchor.description, "UDF anchor volume descriptor pointer");

    // The command line: ls, extract (byte-identical), map (says its block size), verify.
    let (ls, _) = cli_ok(&["ls", img_s]);
    for (path, _) in &files {
        let name = path.rsplit('/').next().unwrap();
        assert!(ls.contains(name), "ls misses {path}:\n{ls}");
    }
    let dest = join(&out, "x");
    cli_ok(&["extract", "-q", img_s, dest.to_str().unwrap()]);
    for (path, bytes) in &files {
        assert_eq!(&fs::read(dest.join(&path[1..])).unwrap(), bytes, "{path}");
    }
    for d in &dirs {
        assert!(dest.join(&d[1..]).is_dir(), "{d}");
    }
    let (table, notes) = cli_ok(&["map", img_s]);
    assert!(table.contains("/big.bin"), "{table}");
    assert!(table.contains("UDF file entry of /sub/deeper"), "{table}");
    if bs != 2048 {
        assert!(
            notes.contains(&format!("logical blocks of {bs} bytes")),
            "map does not say its block size: {notes}"
        );
    } else {
        assert!(!notes.contains("logical blocks of"), "{notes}");
    }
    let (v, _) = cli_ok(&["verify", img_s]);
    assert!(v.contains("no damage"), "{v}");
    assert!(
        v.contains(&format!("{} files readable", files.len())),
        "{v}"
    );

    // udfinfo: the label and block size, and its layout lines (`start=N, blocks=M, type=T`,
    // in blocks of the volume) are the map's items at those blocks.
    if require_tool("udfinfo") {
        let info = run_stdout(tool("udfinfo").arg(&img_path));
        assert!(
            info.lines().any(|l| l == format!("blocksize={bs}")),
            "{info}"
        );
        assert!(
            info.lines().any(|l| l == format!("label={label}")),
            "{info}"
        );
        let mut seen = 0;
        for line in info.lines().filter(|l| l.starts_with("start=")) {
            let kv: Vec<(&str, &str)> =
                line.split(", ").filter_map(|p| p.split_once('=')).collect();
            let get = |k: &str| kv.iter().find(|x| x.0 == k).map(|x| x.1).unwrap();
            let start: u64 = get("start").parse().unwrap();
            let blocks: u64 = get("blocks").parse().unwrap();
            let want = match get("type") {
                "MVDS" => "UDF main volume descriptor sequence",
                "RVDS" => "UDF reserve volume descriptor sequence",
                "ANCHOR" => "UDF anchor volume descriptor pointer",
                "LVID" => "UDF logical volume integrity sequence",
                _ => continue,
            };
            let it = map.from_block(start).unwrap();
            assert!(it.description.starts_with(want), "{line}: {it:?}");
            assert_eq!(it.first_block, start, "{line}");
            assert!(it.block_count >= blocks, "{line}: {it:?}");
            seen += 1;
        }
        assert!(seen >= 5, "udfinfo:\n{info}");
    }
    // 7-Zip: the same tree, the same bytes. It opens UDF volumes of 512 and 2048-byte blocks
    // only (not even mkudffs's empty ones of 1024 or 4096: "Cannot open the file as [Udf]
    // archive"), so there udfinfo is the independent reader.
    if (bs == 512 || bs == 2048) && require_tool("7z") {
        let x7 = join(&out, "x7");
        run(tool("7z")
            .arg("x")
            .arg("-y")
            .arg(format!("-o{}", x7.display()))
            .arg(&img_path));
        for (path, bytes) in &files {
            assert_eq!(
                &fs::read(x7.join(&path[1..])).unwrap_or_default(),
                bytes,
                "7-Zip: {path}"
            );
        }
        assert!(x7.join("sub/deeper").is_dir(), "7-Zip: /sub/deeper");
    }
}

#[test]
fn mkudffs_blocksize_512() {
    check_block_size(
        512,
        &["--blocksize=512", "--udfrev=2.01", "--label=B512"],
        "B512",
    );
}

#[test]
fn mkudffs_blocksize_1024() {
    check_block_size(
        1024,
        &["--blocksize=1024", "--udfrev=2.01", "--label=B1024"],
        "B1024",
    );
}

#[test]
fn mkudffs_blocksize_2048() {
    check_block_size(
        2048,
        &["--blocksize=2048", "--udfrev=2.01", "--label=B2048"],
        "B2048",
    );
}

#[test]
fn mkudffs_blocksize_4096() {
    check_block_size(
        4096,
        &["--blocksize=4096", "--udfrev=2.01", "--label=B4096"],
        "B4096",
    );
}

/// `--media-type=hd` without a block size: mkudffs's default for disks, 512-byte blocks.
#[test]
fn mkudffs_media_type_hd_default() {
    check_block_size(512, &["--media-type=hd", "--label=HDDEF"], "HDDEF");
}

// ------------------------------------------------------------------------------------------------
// Damaged and lying images

/// A 512-byte block image with the tree (1 MiB), made once.
fn small_image() -> Option<&'static Vec<u8>> {
    static IMG: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    IMG.get_or_init(|| {
        let out = out_dir();
        let p = join(&out, "small.udf");
        mkudffs_image(
            &p,
            1 << 20,
            512,
            &["--blocksize=512", "--udfrev=2.01", "--label=SMALL"],
        )
    })
    .as_ref()
}

/// Opens `img` in both modes and, where it opens, walks the UDF view and reads every file:
/// whatever happens is a result, never a panic. True if it opened.
fn read_everything(img: &[u8]) -> bool {
    let mut opened = false;
    for limits in [Limits::lenient(), Limits::strict()] {
        let Ok(mut r) = ImageReader::open_with_limits(Cursor::new(img), limits) else {
            continue;
        };
        opened = true;
        if let Ok(walk) = r.walk(View::Udf) {
            for (_, e) in walk.iter().filter(|(_, e)| !e.is_dir) {
                let _ = r.read_file(e);
            }
        }
        let _ = r.block_map();
    }
    opened
}

/// Cut anywhere (inside the anchor, the descriptor sequences, the file data): an error or a
/// readable image, never a panic; cut before the anchor's block ends, no UDF volume.
#[test]
fn truncated_512_byte_block_images_fail_cleanly() {
    let Some(img) = small_image() else { return };
    for cut in [0, 100, 32 * 1024, 256 * 512, 256 * 512 + 300] {
        let part = &img[..cut];
        read_everything(part);
        let err = ImageReader::open(Cursor::new(part)).err();
        assert!(err.is_some(), "cut at {cut}: opened");
    }
    for cut in (257 * 512..img.len()).step_by(4093) {
        read_everything(&img[..cut]);
    }
}

/// An anchor whose tag lies about the block it is in is not an anchor: with the two at the
/// end sound, they are used (with a warning); with all three lying, strict mode fails and
/// nothing panics.
#[test]
fn anchors_that_lie_about_their_location() {
    let Some(img) = small_image() else { return };
    let n = img.len() / 512;
    let mut one = img.clone();
    put32(&mut one, 256 * 512 + 12, 255);
    retag(&mut one, 256 * 512);
    let r = ImageReader::open(Cursor::new(&one)).expect("the anchors at the end");
    assert_eq!(r.volume_info().udf.as_ref().unwrap().block_size, 512);
    assert!(
        r.warnings()
            .iter()
            .any(|w| w.contains("anchor at block 256")),
        "{:?}",
        r.warnings()
    );
    let mut all = one.clone();
    for b in [n - 1, n - 257] {
        let at = b * 512;
        if get16(&all, at) == 2 {
            put32(&mut all, at + 12, 7);
            retag(&mut all, at);
        }
    }
    let Err(e) = ImageReader::open_with_limits(Cursor::new(&all), Limits::strict()) else {
        panic!("opened without a sound anchor");
    };
    assert!(e.to_string().contains("anchor"), "{e}");
    read_everything(&all);
}

/// An anchor that claims another block size: the 512-byte anchor copied to block 256 of
/// 2048 bytes (tag location 256, so it is found first, 2048 being tried first) names a
/// descriptor sequence at 2048-byte block 96, where there is none: an error, not a panic. And
/// a logical volume descriptor whose block size (ECMA-167 3/10.6.7) is not the one the anchor
/// was found at is an error naming both.
#[test]
fn anchors_and_descriptors_that_lie_about_the_block_size() {
    let Some(img) = small_image() else { return };
    let mut lie = img.clone();
    let anchor = img[256 * 512..257 * 512].to_vec();
    lie[256 * 2048..256 * 2048 + 512].copy_from_slice(&anchor);
    match ImageReader::open(Cursor::new(&lie)) {
        Err(e) => assert!(e.to_string().contains("volume descriptor"), "{e}"),
        Ok(r) => panic!("opened with block size {:?}", r.volume_info().udf),
    }
    read_everything(&lie);

    // The logical volume descriptor of the main sequence: the reserve one is used instead,
    // with a warning naming the block size; of both sequences, an error naming it.
    let mut lvd_lie = img.clone();
    let lvd_of = |seq_at: usize| {
        let seq = get32(img, 256 * 512 + seq_at) as usize;
        (seq..seq + 16)
            .map(|b| b * 512)
            .find(|&at| get16(img, at) == 6)
            .expect("logical volume descriptor")
    };
    let main = lvd_of(20);
    put32(&mut lvd_lie, main + 212, 2048);
    retag(&mut lvd_lie, main);
    let r = ImageReader::open(Cursor::new(&lvd_lie)).expect("the reserve sequence");
    assert!(
        r.warnings()
            .iter()
            .any(|w| w.contains("logical block size 2048")),
        "{:?}",
        r.warnings()
    );
    let reserve = lvd_of(28);
    put32(&mut lvd_lie, reserve + 212, 2048);
    retag(&mut lvd_lie, reserve);
    let Err(e) = ImageReader::open(Cursor::new(&lvd_lie)) else {
        panic!("opened with a block size that is not the anchor's");
    };
    assert!(
        e.to_string().contains("logical block size 2048")
            && e.to_string().contains("blocks of 512 bytes"),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: proptest_cases(64),
        ..ProptestConfig::default()
    })]

    /// Any bytes flipped anywhere in a 512-byte block image (the volume structures, the
    /// directories, the file entries: the first 40 KiB past the anchor are where they are, so
    /// half the flips land there): reading everything is an error or a result, never a panic.
    #[test]
    fn byte_flips_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>(), any::<u8>()), 1..24)
    ) {
        let Some(img) = small_image() else { return Ok(()) };
        let mut img = img.clone();
        let len = img.len();
        for (i, near, x) in flips {
            let at = if near {
                32 * 1024 + i.index(len / 2)
            } else {
                i.index(len)
            };
            if let Some(b) = img.get_mut(at) {
                *b ^= x.max(1);
            }
        }
        read_everything(&img);
    }
}

/// Growing a volume of 512-byte blocks by a session (`build --append-to`) is refused as for
/// any UDF-only image (sessions are ISO 9660's), with an error that says so, and the image is
/// left as it was.
#[test]
fn append_to_a_512_byte_block_volume_is_refused() {
    let out = out_dir();
    let img_path = join(&out, "u.udf");
    let Some(before) = mkudffs_image(
        &img_path,
        4 << 20,
        512,
        &["--blocksize=512", "--udfrev=2.01", "--label=GROW"],
    ) else {
        return;
    };
    let src = join(&out, "src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("added.txt"), b"added\n").unwrap();
    let o = cli(&[
        "build",
        "-q",
        src.to_str().unwrap(),
        "--append-to",
        img_path.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("UDF only"), "{err}");
    assert!(fs::read(&img_path).unwrap() == before, "the image changed");
}
