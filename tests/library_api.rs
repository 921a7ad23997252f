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
    assert!(reader.0 >= 1 && reader.1 >= 2, "add_reader opens: {reader:?}");
    assert!(reader.2 > reader.1 + 100, "add_reader opens: {reader:?}");
    // The seekable source: opened once, by the hash, and seeked from then on.
    assert_eq!(seekable, (1, 1, 1), "add_seekable opens (build, write, seeks)");
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
    assert_eq!(opens.load(Ordering::SeqCst), 2, "one write, one concurrent stream");
    drop((s1, s2));
    random_seeks(&image, &reference, 200);
    assert_eq!(opens.load(Ordering::SeqCst), 2, "a kept handle serves later streams");
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
    b.add_stream("/s/pipe.bin", len, Cursor::new(bytes)).unwrap();
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
    s.by_ref().take(image.size_bytes()).read_to_end(&mut all).unwrap();
    let start = all
        .windows(64)
        .position(|w| w == &bytes[..64])
        .expect("file data") as u64;
    assert_eq!(&all[start as usize..start as usize + bytes.len()], &bytes[..]);
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
