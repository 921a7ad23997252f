//! The library API a backup tool embeds (issue 22 items 3 and 4): seekable and one-shot caller
//! sources (opens counted, bytes read back by isoinfo and 7-Zip), and the builder's surface.

mod common;

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{content, require_tool, run, tool, Rng};
use glassmaster::{Error, FileSystems, ImageBuilder, NoProgress};

/// 2.5 MB, as the backup tool's caller reader.
const BIG: usize = 2_500_000;

/// A `Read + Seek` opener over `bytes` that counts its calls.
fn counted_seekable(
    bytes: Arc<[u8]>,
    opens: Arc<AtomicUsize>,
) -> impl Fn() -> io::Result<Cursor<Arc<[u8]>>> + Send + Sync + 'static {
    move || {
        opens.fetch_add(1, Ordering::SeqCst);
        Ok(Cursor::new(bytes.clone()))
    }
}

/// A reader factory (`add_reader`) over `bytes` that counts its calls.
fn counted_reader(
    bytes: Arc<[u8]>,
    opens: Arc<AtomicUsize>,
) -> impl Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static {
    move || {
        opens.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(Cursor::new(bytes.clone())) as Box<dyn Read + Send>)
    }
}

/// Reads `len` bytes at `at` of `image` through a stream after `seeks` random seeks, comparing
/// each read with `reference` (the image as `write_to` wrote it).
fn random_seeks(image: &glassmaster::Image, reference: &[u8], seeks: usize) {
    let mut s = image.stream();
    let mut rng = Rng::new(22);
    let total = reference.len() as u64;
    let mut buf = vec![0u8; 4096];
    for i in 0..seeks {
        let at = rng.below(total - 4096);
        s.seek(SeekFrom::Start(at)).unwrap();
        let n = 1 + rng.below(4096) as usize;
        s.read_exact(&mut buf[..n]).unwrap();
        assert_eq!(
            &buf[..n],
            &reference[at as usize..at as usize + n],
            "seek {i} to {at}"
        );
    }
}

/// The measurement, before and after: a 2.5 MB caller file beside a twin of the same
/// size (so deduplication hashes it), 2,000 random seeks over the image stream. `add_reader`
/// reopens on the hash, the write and every backward seek into the file; `add_seekable` opens
/// once for all of it.
#[test]
fn seekable_source_opens_once_where_a_reader_factory_reopens() {
    let big = Arc::<[u8]>::from(content(1, BIG));
    let twin = content(2, BIG);
    let mut opens_of = Vec::new();
    for seekable in [false, true] {
        let opens = Arc::new(AtomicUsize::new(0));
        let mut b = ImageBuilder::new();
        b.add_bytes("/twin.bin", twin.clone()).unwrap();
        if seekable {
            b.add_seekable(
                "/caller.bin",
                BIG as u64,
                counted_seekable(big.clone(), opens.clone()),
            )
            .unwrap();
        } else {
            b.add_reader(
                "/caller.bin",
                BIG as u64,
                counted_reader(big.clone(), opens.clone()),
            )
            .unwrap();
        }
        let image = b.build(&mut glassmaster::NoProgress).unwrap();
        let after_build = opens.load(Ordering::SeqCst);
        let mut reference = Vec::new();
        image.write_to(&mut reference, &mut NoProgress).unwrap();
        let after_write = opens.load(Ordering::SeqCst);
        random_seeks(&image, &reference, 2000);
        let after_seeks = opens.load(Ordering::SeqCst);
        eprintln!(
            "{}: opens after build {after_build}, after write_to {after_write}, after 2,000 random seeks {after_seeks}",
            if seekable { "add_seekable" } else { "add_reader" }
        );
        opens_of.push((after_build, after_write, after_seeks));
    }
    let (reader, seekable) = (opens_of[0], opens_of[1]);
    // The factory: one open to hash, one to write, and many more for the backward seeks.
    assert!(
        reader.0 >= 1 && reader.1 >= 2,
        "add_reader opens: {reader:?}"
    );
    assert!(reader.2 > reader.1 + 100, "add_reader opens: {reader:?}");
    // The seekable source: opened once, by the hash, and seeked from then on.
    assert_eq!(
        seekable,
        (1, 1, 1),
        "add_seekable opens (build, write, seeks)"
    );
}

/// Two streams reading one seekable file at the same time each need a handle: the second
/// opens another; afterwards one handle is kept, and a later stream opens none.
#[test]
fn seekable_source_opens_again_only_for_a_concurrent_reader() {
    let big = Arc::<[u8]>::from(content(3, 100_000));
    let opens = Arc::new(AtomicUsize::new(0));
    let mut b = ImageBuilder::new();
    b.add_seekable(
        "/f.bin",
        big.len() as u64,
        counted_seekable(big.clone(), opens.clone()),
    )
    .unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert_eq!(opens.load(Ordering::SeqCst), 0, "nothing hashed: no twin");
    let mut reference = Vec::new();
    image.write_to(&mut reference, &mut NoProgress).unwrap();
    let start = reference
        .windows(64)
        .position(|w| w == &big[..64])
        .expect("file data in the image") as u64;
    let (mut s1, mut s2) = (image.stream(), image.stream());
    let mut a = vec![0u8; 1000];
    let mut c = vec![0u8; 1000];
    s1.seek(SeekFrom::Start(start + 10)).unwrap();
    s1.read_exact(&mut a).unwrap();
    s2.seek(SeekFrom::Start(start + 20)).unwrap();
    s2.read_exact(&mut c).unwrap();
    assert_eq!(&a[..], &big[10..1010]);
    assert_eq!(&c[..], &big[20..1020]);
    assert_eq!(
        opens.load(Ordering::SeqCst),
        2,
        "one write, one concurrent stream"
    );
    drop((s1, s2));
    random_seeks(&image, &reference, 200);
    assert_eq!(
        opens.load(Ordering::SeqCst),
        2,
        "a kept handle serves later streams"
    );
}

/// A source that fails to open keeps its error's kind and cause, naming the image path.
#[test]
fn seekable_source_errors_keep_their_kind() {
    let mut b = ImageBuilder::new();
    b.add_seekable("/locked.bin", 10, || -> io::Result<Cursor<Vec<u8>>> {
        Err(io::Error::new(io::ErrorKind::PermissionDenied, "no access"))
    })
    .unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let err = image.write_to(io::sink(), &mut NoProgress).unwrap_err();
    match &err {
        Error::Source { path, source } => {
            assert_eq!(path, Path::new("/locked.bin"));
            assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
        }
        other => panic!("expected Error::Source, got {other:?}"),
    }
}

/// `cat FILE` as a one-shot source: a real pipe.
fn pipe_of(path: &Path) -> std::process::ChildStdout {
    Command::new("cat")
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cat")
        .stdout
        .take()
        .expect("piped stdout")
}

/// A backup tool's image: a tree, bytes, a seekable caller file with a same-size twin and a
/// pipe (written by the single-pass writer), read back by isoinfo and 7-Zip.
#[test]
fn seekable_and_pipe_sources_read_back_by_isoinfo_and_7z() {
    if !require_tool("isoinfo") || !require_tool("7z") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let piped = content(4, BIG + 123);
    let pipe_src = tmp.path().join("pipe-src.bin");
    std::fs::write(&pipe_src, &piped).unwrap();
    let seek = Arc::<[u8]>::from(content(5, BIG));
    let twin = content(6, BIG);
    let opens = Arc::new(AtomicUsize::new(0));
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE);
    b.add_bytes("/b/twin.bin", twin.clone()).unwrap();
    b.add_seekable(
        "/b/seek.bin",
        BIG as u64,
        counted_seekable(seek.clone(), opens.clone()),
    )
    .unwrap();
    b.add_stream("/b/pipe.bin", piped.len() as u64, pipe_of(&pipe_src))
        .unwrap();
    let iso = tmp.path().join("out.iso");
    b.build_to_path(&iso, &mut NoProgress).unwrap();
    assert_eq!(opens.load(Ordering::SeqCst), 1, "seekable source opens");
    let want: [(&str, &[u8]); 3] = [
        ("b/twin.bin", &twin),
        ("b/seek.bin", &seek),
        ("b/pipe.bin", &piped),
    ];
    for (name, bytes) in want {
        let got = run(tool("isoinfo")
            .args(["-R", "-i"])
            .arg(&iso)
            .arg("-x")
            .arg(format!("/{name}")))
        .stdout;
        assert!(got == bytes, "isoinfo -x /{name}: {} bytes", got.len());
    }
    let dest = tmp.path().join("7z");
    run(tool("7z")
        .args(["x", "-y"])
        .arg(format!("-o{}", dest.display()))
        .arg(&iso));
    for (name, bytes) in want {
        let got = std::fs::read(dest.join(name)).unwrap();
        assert!(got == bytes, "7z {name}: {} bytes", got.len());
    }
}

fn stream_image(len: u64, bytes: Vec<u8>) -> glassmaster::Image {
    let mut b = ImageBuilder::new();
    b.add_bytes("/a.txt", "a").unwrap();
    b.add_stream("/s/pipe.bin", len, Cursor::new(bytes))
        .unwrap();
    b.build(&mut glassmaster::NoProgress).unwrap()
}

fn is_read_twice(e: &Error) -> bool {
    matches!(e, Error::SourceReadTwice { image_path } if image_path == "/s/pipe.bin")
}

/// A one-shot source is read by one forward write; a second write is a typed error, not an
/// image missing the file's bytes.
#[test]
fn stream_source_is_written_once_and_refuses_a_second_write() {
    let bytes = content(7, 300_000);
    let image = stream_image(bytes.len() as u64, bytes.clone());
    let mut first = Vec::new();
    image.write_to(&mut first, &mut NoProgress).unwrap();
    assert!(first.windows(bytes.len()).any(|w| w == &bytes[..]));
    let err = image.write_to(io::sink(), &mut NoProgress).unwrap_err();
    assert!(is_read_twice(&err), "second write: {err:?}");
    assert!(err.to_string().contains("/s/pipe.bin"), "{err}");
}

/// A forward-only stream reads a one-shot source; a backward seek into its bytes is a typed
/// error at the read.
#[test]
fn stream_source_refuses_a_backward_seek_of_the_image_stream() {
    let bytes = content(8, 300_000);
    let image = stream_image(bytes.len() as u64, bytes.clone());
    let mut s = image.stream();
    // Find the file by reading forward (one read of the stream).
    let mut all = Vec::new();
    s.by_ref()
        .take(image.size_bytes())
        .read_to_end(&mut all)
        .unwrap();
    let start = all
        .windows(64)
        .position(|w| w == &bytes[..64])
        .expect("file data") as u64;
    assert_eq!(
        &all[start as usize..start as usize + bytes.len()],
        &bytes[..]
    );
    // Metadata before it still reads after a backward seek.
    s.seek(SeekFrom::Start(16 * 2048)).unwrap();
    let mut pvd = [0u8; 6];
    s.read_exact(&mut pvd).unwrap();
    assert_eq!(&pvd[1..6], b"CD001");
    s.seek(SeekFrom::Start(start + 1000)).unwrap();
    let e = s.read(&mut [0u8; 10]).unwrap_err();
    let err = Error::from_io(e);
    assert!(is_read_twice(&err), "backward seek: {err:?}");
}

/// The declared length is checked: a short or a long one-shot source fails the write.
#[test]
fn stream_source_length_is_checked() {
    for (declared, given) in [(1000u64, 999usize), (1000, 1001)] {
        let image = stream_image(declared, content(9, given));
        let err = image.write_to(io::sink(), &mut NoProgress).unwrap_err();
        assert!(
            matches!(&err, Error::SourceChanged { image_path, .. } if image_path == "/s/pipe.bin"),
            "{given} bytes for {declared}: {err:?}"
        );
    }
}

/// Options that read every file before the write are refused with a one-shot source; it is
/// never hashed for deduplication (a same-size twin does not consume it).
#[test]
fn stream_source_is_never_hashed_and_checksums_are_refused() {
    let bytes = content(10, 5000);
    let mut b = ImageBuilder::new();
    b.add_bytes("/twin.bin", bytes.clone()).unwrap();
    b.add_stream("/s/pipe.bin", 5000, Cursor::new(bytes.clone()))
        .unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert_eq!(image.dedup_saved(), (0, 0), "a stream is never shared");
    let mut out = Vec::new();
    image.write_to(&mut out, &mut NoProgress).unwrap();
    assert_eq!(
        out.windows(5000).filter(|w| *w == &bytes[..]).count(),
        2,
        "both copies written"
    );
    b.options_mut().checksums = true;
    let err = b.build(&mut glassmaster::NoProgress).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidOption(m) if m.contains("/s/pipe.bin") && m.contains("one-shot")),
        "{err:?}"
    );
}

// ------------------------------------------------------------------------------------------------
// Item 4: the builder's surface.

/// Records the scan's entries and aborts when asked to.
#[derive(Default)]
struct ScanLog {
    scanned: Vec<String>,
    abort: bool,
}

impl glassmaster::Progress for ScanLog {
    fn scanned(&mut self, image_path: &str) {
        self.scanned.push(image_path.to_string());
    }
    fn query_abort(&mut self) -> bool {
        self.abort
    }
}

fn small_tree() -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir(src.path().join("d")).unwrap();
    std::fs::write(src.path().join("d/x.txt"), b"xx").unwrap();
    std::fs::write(src.path().join("a.txt"), b"a").unwrap();
    src
}

/// `add_tree` takes the image path first, as `add_file` does, and its progress: one entry
/// point with progress and abort.
#[test]
fn add_tree_takes_the_image_path_first_and_a_progress() {
    let src = small_tree();
    let mut b = ImageBuilder::new();
    let mut log = ScanLog::default();
    b.add_tree("/in", src.path(), &mut log).unwrap();
    assert_eq!(log.scanned, ["/in/a.txt", "/in/d", "/in/d/x.txt"]);
    b.add_file("/in2/a.txt", src.path().join("a.txt")).unwrap();
    assert_eq!(b.file_len("/in/d/x.txt"), Some(2));
    let mut stop = ScanLog {
        abort: true,
        ..ScanLog::default()
    };
    let err = ImageBuilder::new()
        .add_tree("/", src.path(), &mut stop)
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, Error::Aborted), "{err:?}");
}

/// `FileSystems` combines with `|` and `|=`, and says what it holds.
#[test]
fn file_systems_combine_and_read_well() {
    let mut fs = FileSystems::ISO9660;
    fs |= FileSystems::ROCK_RIDGE;
    fs |= FileSystems::UDF;
    assert!(fs.contains(FileSystems::ISO9660 | FileSystems::UDF));
    assert!(!fs.contains(FileSystems::JOLIET));
    assert_eq!(format!("{fs:?}"), "FileSystems(ISO9660 | ROCK_RIDGE | UDF)");
    assert_eq!(format!("{:?}", FileSystems::NONE), "FileSystems(NONE)");
    assert_eq!(
        fs & (FileSystems::JOLIET | FileSystems::UDF),
        FileSystems::UDF
    );
}

/// `entries` lists the tree as built: kinds, sizes and where each file's bytes come from.
#[test]
fn entries_enumerate_the_builders_tree() {
    use glassmaster::{EntryKind, SourceKind, SpecialKind, TreeEntry};
    let src = small_tree();
    let mut b = ImageBuilder::new();
    b.add_tree("/t", src.path(), &mut NoProgress).unwrap();
    b.add_bytes("/mem.bin", vec![1u8; 7]).unwrap();
    b.add_seekable("/seek.bin", 3, || Ok(Cursor::new(vec![0u8; 3])))
        .unwrap();
    b.add_stream("/pipe.bin", 4, Cursor::new(vec![0u8; 4]))
        .unwrap();
    b.add_reader("/reader.bin", 5, || {
        Ok(Box::new(Cursor::new(vec![0u8; 5])) as Box<dyn Read + Send>)
    })
    .unwrap();
    b.add_symlink("/link", "t/a.txt").unwrap();
    b.add_special("/fifo", SpecialKind::Fifo, 0, 0).unwrap();
    b.add_hard_link("/again.bin", "/mem.bin").unwrap();
    b.set_hidden("/mem.bin", true).unwrap();
    let got: Vec<TreeEntry> = b.entries().collect();
    let brief: Vec<(String, EntryKind, u64, SourceKind, bool)> = got
        .iter()
        .map(|e| {
            (
                e.path.clone(),
                e.kind.clone(),
                e.size,
                e.source.clone(),
                e.hidden,
            )
        })
        .collect();
    let f = |p: &str, size, source| (p.to_string(), EntryKind::File, size, source, false);
    let want = vec![
        (
            "/t".to_string(),
            EntryKind::Directory,
            0,
            SourceKind::None,
            false,
        ),
        f("/t/a.txt", 1, SourceKind::Disk(src.path().join("a.txt"))),
        (
            "/t/d".to_string(),
            EntryKind::Directory,
            0,
            SourceKind::None,
            false,
        ),
        f(
            "/t/d/x.txt",
            2,
            SourceKind::Disk(src.path().join("d/x.txt")),
        ),
        (
            "/mem.bin".to_string(),
            EntryKind::File,
            7,
            SourceKind::Bytes,
            true,
        ),
        f("/seek.bin", 3, SourceKind::Seekable),
        f("/pipe.bin", 4, SourceKind::Stream),
        f("/reader.bin", 5, SourceKind::Reader),
        (
            "/link".to_string(),
            EntryKind::Symlink {
                target: "t/a.txt".into(),
            },
            0,
            SourceKind::None,
            false,
        ),
        (
            "/fifo".to_string(),
            EntryKind::Special(SpecialKind::Fifo),
            0,
            SourceKind::None,
            false,
        ),
        f("/again.bin", 7, SourceKind::Bytes),
    ];
    assert_eq!(brief, want);
    // Scanned entries carry their modification time.
    assert!(got[1].mtime.is_some());
}

/// `ImageStream::len` is the image's size, where `SeekFrom::End(0)` lands.
#[test]
fn image_stream_len_is_the_image_size() {
    let mut b = ImageBuilder::new();
    b.add_bytes("/a.txt", "a").unwrap();
    let image = b.build(&mut NoProgress).unwrap();
    let mut s = image.stream();
    assert_eq!(s.len(), image.size_bytes());
    assert!(!s.is_empty());
    assert_eq!(s.seek(SeekFrom::End(0)).unwrap(), s.len());
}

/// The file-data extent of every name of the image, as isoinfo lists it (`[ lba ...]`).
fn isoinfo_lbas(iso: &Path) -> std::collections::BTreeMap<String, u64> {
    let out = run(tool("isoinfo").args(["-R", "-l", "-i"]).arg(iso)).stdout;
    let text = String::from_utf8_lossy(&out);
    let mut dir = String::new();
    let mut found = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("Directory listing of ") {
            dir = d.trim().to_string();
            continue;
        }
        let (Some(open), Some(close)) = (line.find('['), line.find(']')) else {
            continue;
        };
        let lba: u64 = line[open + 1..close]
            .split_whitespace()
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let name = line[close + 1..].trim();
        if !line.starts_with('-') || name == "." || name == ".." {
            continue;
        }
        found.insert(format!("{dir}{name}"), lba);
    }
    found
}

/// The data extent of every file as xorriso reports it (`-find / -exec report_lba`).
fn xorriso_lbas(iso: &Path) -> std::collections::BTreeMap<String, u64> {
    let out = run(tool("xorriso")
        .args(["-abort_on", "FAILURE", "-indev"])
        .arg(iso)
        .args(["-find", "/", "-type", "f", "-exec", "report_lba"]))
    .stdout;
    let text = String::from_utf8_lossy(&out);
    let mut found = std::collections::BTreeMap::new();
    for line in text.lines() {
        // File data lba:  0 ,     35 ,      1 ,       5 , '/a.txt'
        let Some(rest) = line.strip_prefix("File data lba:") else {
            continue;
        };
        let fields: Vec<&str> = rest.split(',').map(str::trim).collect();
        if let (Some(lba), Some(name)) = (fields.get(1), fields.get(4)) {
            found.insert(
                name.trim_matches('\'').to_string(),
                lba.parse().unwrap_or(0),
            );
        }
    }
    found
}

/// `from_description` finds the item of a hard link's or a deduplicated copy's path, and
/// `paths_of` lists every name of an extent; isoinfo and xorriso show those names at that
/// extent.
#[test]
fn from_description_finds_every_name_of_an_extent() {
    if !require_tool("isoinfo") || !require_tool("xorriso") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let bytes = content(11, 10_000);
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE);
    b.add_bytes("/a/orig.bin", bytes.clone()).unwrap();
    b.add_bytes("/b/copy.bin", bytes.clone()).unwrap();
    b.add_hard_link("/c/link.bin", "/a/orig.bin").unwrap();
    b.add_bytes("/other.bin", content(12, 10_000)).unwrap();
    let image = b.build(&mut NoProgress).unwrap();
    let items = image.progress_items();
    let orig = items.from_description("/a/orig.bin").expect("orig item");
    for name in ["/b/copy.bin", "/c/link.bin"] {
        let it = items.from_description(name).expect(name);
        assert_eq!(it, orig, "{name}");
    }
    assert!(items.from_description("/nowhere.bin").is_none());
    let other = items.from_description("/other.bin").unwrap();
    assert_ne!(other, orig);
    let index = items.index_of_block(orig.first_block).unwrap();
    let mut names = items.paths_of(index);
    assert_eq!(names[0], "/a/orig.bin", "the item's own name first");
    names.sort();
    assert_eq!(names, ["/a/orig.bin", "/b/copy.bin", "/c/link.bin"]);
    assert_eq!(
        items.paths_of(items.index_of_block(other.first_block).unwrap()),
        ["/other.bin"]
    );
    let iso = tmp.path().join("x.iso");
    image.write_to_path(&iso, &mut NoProgress).unwrap();
    let by_isoinfo = isoinfo_lbas(&iso);
    let by_xorriso = xorriso_lbas(&iso);
    for name in ["/a/orig.bin", "/b/copy.bin", "/c/link.bin"] {
        assert_eq!(
            by_isoinfo.get(name),
            Some(&orig.first_block),
            "isoinfo {name}: {by_isoinfo:?}"
        );
        assert_eq!(
            by_xorriso.get(name),
            Some(&orig.first_block),
            "xorriso {name}: {by_xorriso:?}"
        );
    }
    assert_eq!(by_isoinfo.get("/other.bin"), Some(&other.first_block));
}

/// The setters for what the CLI sets reach the primary volume descriptor, as isoinfo and
/// xorriso read it.
#[test]
fn identifier_setters_reach_the_volume_descriptor() {
    if !require_tool("isoinfo") || !require_tool("xorriso") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut b = ImageBuilder::new();
    b.volume_id("BACKUP_22")
        .publisher("PUBLISHER_X")
        .preparer("PREPARER_Y")
        .application("APP_Z")
        .system_id("SYS_W")
        .volume_set_id("SET_V")
        .dedup(false)
        .checksums(false)
        .padding_blocks(0);
    b.add_bytes("/a.txt", "a").unwrap();
    let iso = tmp.path().join("ids.iso");
    b.build(&mut NoProgress)
        .unwrap()
        .write_to_path(&iso, &mut NoProgress)
        .unwrap();
    let d = String::from_utf8_lossy(&run(tool("isoinfo").args(["-d", "-i"]).arg(&iso)).stdout)
        .into_owned();
    for want in [
        "Volume id: BACKUP_22",
        "Publisher id: PUBLISHER_X",
        "Data preparer id: PREPARER_Y",
        "Application id: APP_Z",
        "System id: SYS_W",
        "Volume set id: SET_V",
    ] {
        assert!(d.contains(want), "isoinfo -d lacks {want:?}:\n{d}");
    }
    let x = run(tool("xorriso")
        .args(["-abort_on", "FAILURE", "-indev"])
        .arg(&iso)
        .arg("-pvd_info"));
    let x = String::from_utf8_lossy(&x.stdout).into_owned() + &String::from_utf8_lossy(&x.stderr);
    for want in [
        "BACKUP_22",
        "PUBLISHER_X",
        "PREPARER_Y",
        "APP_Z",
        "SYS_W",
        "SET_V",
    ] {
        assert!(x.contains(want), "xorriso -pvd_info lacks {want:?}:\n{x}");
    }
}

/// `clamp_times` records later times as the limit; earlier ones stay. Read back by isoinfo
/// (Rock Ridge listing) and 7-Zip.
#[test]
fn clamp_times_limits_file_times() {
    if !require_tool("isoinfo") || !require_tool("7z") {
        return;
    }
    use chrono::{TimeZone, Utc};
    let src = tempfile::tempdir().unwrap();
    let set = |name: &str, secs: u64| {
        let p = src.path().join(name);
        std::fs::write(&p, name).unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
            .unwrap();
    };
    set("late.txt", 1_900_000_000); // 2030-03-17
    set("early.txt", 946_771_200); // 2000-01-02
    let limit = Utc.with_ymd_and_hms(2020, 6, 15, 12, 0, 0).unwrap();
    let mut b = ImageBuilder::new();
    b.filesystems(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE)
        .build_time(limit)
        .clamp_times(Some(limit));
    b.add_tree("/", src.path(), &mut NoProgress).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let iso = tmp.path().join("clamp.iso");
    b.build(&mut NoProgress)
        .unwrap()
        .write_to_path(&iso, &mut NoProgress)
        .unwrap();
    let l =
        String::from_utf8_lossy(&run(tool("isoinfo").args(["-R", "-l", "-i"]).arg(&iso)).stdout)
            .into_owned();
    let line = |name: &str| {
        l.lines()
            .find(|x| x.trim_end().ends_with(name))
            .unwrap_or_else(|| panic!("{name} in {l}"))
            .to_string()
    };
    assert!(
        line("late.txt").contains("Jun 15 2020"),
        "{}",
        line("late.txt")
    );
    assert!(
        line("early.txt").contains("Jan 02 2000") || line("early.txt").contains("Jan  2 2000"),
        "{}",
        line("early.txt")
    );
    let s =
        String::from_utf8_lossy(&run(tool("7z").args(["l", "-slt"]).arg(&iso)).stdout).into_owned();
    let modified = |name: &str| {
        let block = s
            .split("\n\n")
            .find(|b| b.lines().any(|x| x == format!("Path = {name}")))
            .unwrap_or_else(|| panic!("{name} in {s}"));
        block
            .lines()
            .find_map(|x| x.strip_prefix("Modified = "))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        modified("late.txt").starts_with("2020-06-15 12:00:00"),
        "{}",
        modified("late.txt")
    );
    assert!(
        modified("early.txt").starts_with("2000-01-02"),
        "{}",
        modified("early.txt")
    );
}

/// `SOURCE_DATE_EPOCH` is read by the library (this test runs itself again with the variable
/// set: the environment of a running test binary is not changed).
#[test]
fn source_date_epoch_sets_the_build_time() {
    use chrono::DateTime;
    match std::env::var("GM_LIBRARY_API_CHILD").as_deref() {
        Ok("good") => {
            let mut b = ImageBuilder::new();
            b.source_date_epoch().unwrap();
            assert_eq!(
                b.options().build_time,
                DateTime::from_timestamp(1_700_000_000, 0)
            );
            assert_eq!(
                glassmaster::source_date_epoch().unwrap(),
                DateTime::from_timestamp(1_700_000_000, 0)
            );
            return;
        }
        Ok("bad") => {
            let err = ImageBuilder::new()
                .source_date_epoch()
                .map(|_| ())
                .unwrap_err();
            assert!(
                matches!(&err, Error::InvalidOption(m) if m.contains("SOURCE_DATE_EPOCH=\"soon\"")),
                "{err:?}"
            );
            return;
        }
        _ => {}
    }
    for (mode, value) in [("good", "1700000000"), ("bad", "soon")] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "source_date_epoch_sets_the_build_time",
                "--nocapture",
            ])
            .env("GM_LIBRARY_API_CHILD", mode)
            .env("SOURCE_DATE_EPOCH", value)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "{mode}: {text}"
        );
    }
    // Unset: the build time stays as it was.
    if std::env::var_os("SOURCE_DATE_EPOCH").is_none() {
        let mut b = ImageBuilder::new();
        b.source_date_epoch().unwrap();
        assert_eq!(b.options().build_time, None);
    }
}

/// Every setter lands in the options the build reads (the CLI's options, one by one).
#[test]
fn setters_set_the_options() {
    use chrono::{TimeZone, Utc};
    use glassmaster::{RripVersion, SpecialFiles, UdfRevision, VolumeDate, VolumeDates};
    let t = Utc.with_ymd_and_hms(2021, 2, 3, 4, 5, 6).unwrap();
    let mut dates = VolumeDates::default();
    dates.expires = Some(VolumeDate::At(t));
    let mut b = ImageBuilder::new();
    b.volume_files("COPY.TXT", "ABS.TXT", "BIB.TXT")
        .volume_dates(dates.clone())
        .volume_ids_as_given(true)
        .joliet_utf16(true)
        .dedup(false)
        .checksums(true)
        .padding_blocks(7)
        .follow_symlinks(true)
        .special_files(SpecialFiles::Skip)
        .rock_ridge_rationalize(true)
        .rock_ridge_version(RripVersion::V1_10)
        .udf_revision(UdfRevision::V2_60)
        .udf_links_and_special_files(false)
        .clamp_times(Some(t));
    let o = b.options();
    assert_eq!(
        (&*o.copyright_file, &*o.abstract_file, &*o.biblio_file),
        ("COPY.TXT", "ABS.TXT", "BIB.TXT")
    );
    assert_eq!(o.volume_dates, dates);
    assert!(o.volume_ids_as_given && o.joliet_utf16 && !o.dedup && o.checksums);
    assert_eq!(o.padding_blocks, 7);
    assert!(o.rock_ridge.follow_symlinks && o.rock_ridge.rationalize);
    assert_eq!(o.rock_ridge.special_files, SpecialFiles::Skip);
    assert_eq!(o.rock_ridge.version, RripVersion::V1_10);
    assert_eq!(o.udf.revision, UdfRevision::V2_60);
    assert!(!o.udf.links_and_special_files);
    assert_eq!(o.clamp_times, Some(t));
}

/// A one-shot reader that times out mid-stream: the write fails with its error, kind kept.
#[test]
fn stream_source_read_errors_keep_their_kind() {
    struct Flaky(usize);
    impl Read for Flaky {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "network timeout"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(7);
            self.0 -= n;
            Ok(n)
        }
    }
    let mut b = ImageBuilder::new();
    b.add_stream("/s/pipe.bin", 100_000, Flaky(5000)).unwrap();
    let image = b.build(&mut NoProgress).unwrap();
    let err = image.write_to(io::sink(), &mut NoProgress).unwrap_err();
    match &err {
        Error::Source { path, source } => {
            assert_eq!(path, Path::new("/s/pipe.bin"));
            assert_eq!(source.kind(), io::ErrorKind::TimedOut);
        }
        other => panic!("expected Error::Source, got {other:?}"),
    }
}
