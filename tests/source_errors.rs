//! Errors keep their cause (issue 22 item 1): a caller's reader that cannot be opened or fails
//! mid-stream is `Error::SourceRead` with its own `io::Error` (kind and cause chain), not a
//! "changed during the build"; a source that really changed (fewer or more bytes than declared)
//! stays `Error::SourceChanged`; through `ImageStream` (`Read + Seek`) each surfaces with a
//! sensible `io::ErrorKind` and is recovered by `Error::from_io`. The builder's and the
//! reader's lookups say "not found" the same way.

mod common;

use std::error::Error as _;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

use glassmaster::read::{ImageReader, View};
use glassmaster::{Error, ImageBuilder, NoProgress, ParseErrorKind};

/// The cause a caller's reader attaches to its error (a network client's own error type).
#[derive(Debug)]
struct Upstream;

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("upstream did not answer in 30 s")
    }
}

impl std::error::Error for Upstream {}

/// A reader that gives `good` bytes of 0x5a, then fails with `kind` (caused by [`Upstream`]).
struct FailAfter {
    good: u64,
    kind: io::ErrorKind,
}

impl Read for FailAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good == 0 {
            return Err(io::Error::new(self.kind, Upstream));
        }
        let n = (buf.len() as u64).min(self.good) as usize;
        buf[..n].fill(0x5a);
        self.good -= n as u64;
        Ok(n)
    }
}

const LEN: u64 = 300_000;

/// An image with `/a.txt` and the caller's reader at `/net/blob.bin` (declared `LEN` bytes).
fn with_reader<F>(open: F) -> glassmaster::Image
where
    F: Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
{
    let mut b = ImageBuilder::new();
    b.add_bytes("/a.txt", &b"plain"[..]).unwrap();
    b.add_reader("/net/blob.bin", LEN, open).unwrap();
    b.build(&mut glassmaster::NoProgress).unwrap()
}

/// Every cause below `e`, as text.
fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push(c.to_string());
        cur = c.source();
    }
    out
}

/// `e` is `SourceRead` naming `/net/blob.bin`, of `kind`, with no path on disk.
fn assert_source_read(e: &Error, kind: io::ErrorKind) {
    match e {
        Error::SourceRead {
            image_path,
            path,
            source,
        } => {
            assert_eq!(image_path, "/net/blob.bin");
            assert_eq!(path, &None);
            assert_eq!(source.kind(), kind);
        }
        other => panic!("expected SourceRead of kind {kind:?}, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains("/net/blob.bin"), "{text}");
    assert!(!text.contains("changed during the build"), "{text}");
    assert_eq!(e.io_kind(), kind);
}

#[test]
fn reader_that_cannot_be_opened_keeps_permission_denied() {
    let image = with_reader(|| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "token expired",
        ))
    });
    // The writer.
    let e = image.write_to(io::sink(), &mut NoProgress).unwrap_err();
    assert_source_read(&e, io::ErrorKind::PermissionDenied);
    assert!(e.source().is_some(), "the io::Error is the cause");
    assert!(e.to_string().contains("token expired"), "{e}");
    // The stream: the caller's kind, and the typed error inside.
    let mut s = image.stream();
    let ioe = io::copy(&mut s, &mut io::sink()).unwrap_err();
    assert_eq!(ioe.kind(), io::ErrorKind::PermissionDenied);
    assert_source_read(&Error::from_io(ioe), io::ErrorKind::PermissionDenied);
}

#[test]
fn reader_that_times_out_mid_stream_keeps_kind_and_cause() {
    let image = with_reader(|| {
        Ok(Box::new(FailAfter {
            good: 100_000,
            kind: io::ErrorKind::TimedOut,
        }) as Box<dyn Read + Send>)
    });
    let mut s = image.stream();
    let mut buf = Vec::new();
    let ioe = s.read_to_end(&mut buf).unwrap_err();
    assert_eq!(ioe.kind(), io::ErrorKind::TimedOut, "{ioe}");
    let e = Error::from_io(ioe);
    assert_source_read(&e, io::ErrorKind::TimedOut);
    // The caller's own error type is still in the chain, for it to downcast.
    let causes = chain(&e);
    assert!(
        causes.iter().any(|c| c.contains("upstream did not answer")),
        "{causes:?}"
    );
    let Error::SourceRead { source, .. } = &e else {
        unreachable!()
    };
    assert!(source.get_ref().is_some_and(|i| i.is::<Upstream>()));
    // A retry after a seek back works as far as the reader gives bytes: the stream is usable.
    s.seek(SeekFrom::Start(0)).unwrap();
    let mut head = [0u8; 2048];
    s.read_exact(&mut head).unwrap();
    // The writer reports the same error, typed.
    let e = image.write_to(io::sink(), &mut NoProgress).unwrap_err();
    assert_source_read(&e, io::ErrorKind::TimedOut);
}

#[test]
fn reader_that_ends_early_or_goes_on_changed() {
    for (got, what) in [(LEN - 1, "shrank"), (LEN + 1, "grew")] {
        let image =
            with_reader(move || Ok(Box::new(io::repeat(7).take(got)) as Box<dyn Read + Send>));
        let e = image.write_to(io::sink(), &mut NoProgress).unwrap_err();
        match &e {
            Error::SourceChanged { image_path, .. } => assert_eq!(image_path, "/net/blob.bin"),
            other => panic!("{what}: expected SourceChanged, got {other:?}"),
        }
        assert!(e.to_string().contains("changed during the build"), "{e}");
        let ioe = io::copy(&mut image.stream(), &mut io::sink()).unwrap_err();
        assert_eq!(ioe.kind(), io::ErrorKind::InvalidData, "{what}: {ioe}");
        assert!(
            matches!(Error::from_io(ioe), Error::SourceChanged { .. }),
            "{what}"
        );
    }
}

#[test]
fn dedup_hashing_keeps_the_readers_error() {
    // Two readers of the same length: deduplication hashes both while the image is laid out.
    let mut b = ImageBuilder::new();
    b.options_mut().dedup = true;
    b.add_reader("/ok.bin", 5000, || {
        Ok(Box::new(io::repeat(1).take(5000)) as Box<dyn Read + Send>)
    })
    .unwrap();
    b.add_reader("/net/blob.bin", 5000, || {
        Ok(Box::new(FailAfter {
            good: 1000,
            kind: io::ErrorKind::ConnectionAborted,
        }) as Box<dyn Read + Send>)
    })
    .unwrap();
    let e = b.build(&mut glassmaster::NoProgress).unwrap_err();
    assert_source_read(&e, io::ErrorKind::ConnectionAborted);
    assert!(chain(&e).iter().any(|c| c.contains("upstream")), "{e}");
}

#[test]
fn stream_error_kinds_are_documented_mapping() {
    // Aborted is not `Interrupted` (which read_exact and io::copy retry): Other, recovered.
    let ioe = io::Error::from(Error::Aborted);
    assert_eq!(ioe.kind(), io::ErrorKind::Other);
    assert!(matches!(Error::from_io(ioe), Error::Aborted));
    let changed = Error::SourceChanged {
        image_path: "/x".into(),
        reason: "was modified".into(),
    };
    assert_eq!(io::Error::from(changed).kind(), io::ErrorKind::InvalidData);
    assert_eq!(
        io::Error::from(Error::NotFound("/x".into())).kind(),
        io::ErrorKind::NotFound
    );
    // A write error is its own io::Error, kind kept.
    let w = Error::Write(io::Error::new(io::ErrorKind::StorageFull, "full"));
    assert_eq!(io::Error::from(w).kind(), io::ErrorKind::StorageFull);
}

#[test]
fn builder_and_reader_say_not_found_the_same_way() {
    let mut b = ImageBuilder::new();
    b.add_bytes("/a.txt", &b"x"[..]).unwrap();
    let built = b.set_hidden("/nope/b.txt", true).unwrap_err();
    let Error::NotFound(p) = &built else {
        panic!("{built:?}")
    };
    assert_eq!(p, "/nope/b.txt");

    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut bytes = Vec::new();
    image.write_to(&mut bytes, &mut NoProgress).unwrap();
    let mut r = ImageReader::open(io::Cursor::new(bytes)).unwrap();
    let read = r.lookup(View::Iso9660, "/nope/b.txt").unwrap_err();
    assert_eq!(read.kind, ParseErrorKind::NotFound("/nope/b.txt".into()));
    assert_eq!(read.to_string(), built.to_string());
    assert_eq!(io::Error::from(read).kind(), io::ErrorKind::NotFound);
    // A view the image does not have is not a path that is missing.
    let v = r.root(View::Udf).unwrap_err();
    assert_eq!(v.kind, ParseErrorKind::NoSuchView("udf".into()));
}

#[test]
fn base_image_that_cannot_be_read_keeps_its_error() {
    use glassmaster::multisession::{BaseImage, BaseOpener, ReadSeek};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let mut b = ImageBuilder::new();
    b.add_bytes("/old.txt", &b"old"[..]).unwrap();
    let mut bytes = Vec::new();
    b.build(&mut glassmaster::NoProgress)
        .unwrap()
        .write_to(&mut bytes, &mut NoProgress)
        .unwrap();
    let bytes: Arc<[u8]> = bytes.into();
    let down = Arc::new(AtomicBool::new(false));
    let opener: BaseOpener = {
        let down = down.clone();
        Arc::new(move || {
            if down.load(Ordering::SeqCst) {
                return Err(io::Error::new(io::ErrorKind::TimedOut, Upstream));
            }
            Ok(Box::new(io::Cursor::new(bytes.clone())) as Box<dyn ReadSeek>)
        })
    };
    let base = BaseImage::from_opener(opener).unwrap();
    let mut next = ImageBuilder::import(&base).unwrap();
    next.add_bytes("/new.txt", &b"new"[..]).unwrap();
    // The storage behind the base goes away: appending says so, with the storage's error.
    down.store(true, Ordering::SeqCst);
    let e = next.build_append(&base).unwrap_err();
    match &e {
        Error::SourceRead {
            image_path,
            path,
            source,
        } => {
            assert_eq!((image_path.as_str(), path), ("/", &None));
            assert_eq!(source.kind(), io::ErrorKind::TimedOut);
        }
        other => panic!("expected SourceRead, got {other:?}"),
    }
    assert!(!e.to_string().contains("cannot write image"), "{e}");
    assert!(chain(&e).iter().any(|c| c.contains("upstream")), "{e}");
}
