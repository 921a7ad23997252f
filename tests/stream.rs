//! Stream independence: however an `ImageStream` is seeked (`Start`, `Current`, `End`) and read
//! (1 byte to 3 MiB at a time), it yields the bytes of one sequential `write_to` pass; reading at
//! or past the end returns 0; seeking before the start fails and leaves the position alone.
//! Sources mix `add_bytes`, `add_file` and `add_reader` (with a reader that returns short reads).

mod common;

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use chrono::TimeZone;
use common::*;
use glassmaster::{Image, ImageBuilder, IsoLevel};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const MIB: usize = 1 << 20;

/// Serves `data`, at most `chunk` bytes per `read` call.
struct Choppy {
    data: Arc<Vec<u8>>,
    pos: usize,
    chunk: usize,
}

impl Read for Choppy {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn add_choppy(b: &mut ImageBuilder, path: &str, data: Vec<u8>, chunk: usize) {
    let data = Arc::new(data);
    let len = data.len() as u64;
    b.add_reader(path, len, move || {
        Ok(Box::new(Choppy {
            data: data.clone(),
            pos: 0,
            chunk,
        }) as Box<dyn Read + Send>)
    })
    .unwrap();
}

#[derive(Clone, Copy, Debug)]
enum Source {
    Bytes,
    File,
    Reader(usize),
}

/// Builds an image from `(name, size, source)`; files on disk go to `dir`.
fn build(files: &[(String, usize, Source)], dir: &std::path::Path, level: IsoLevel) -> Image {
    let mut b = ImageBuilder::new();
    b.level(level)
        .build_time(chrono::Utc.with_ymd_and_hms(2010, 1, 1, 0, 0, 0).unwrap());
    for (i, (name, size, src)) in files.iter().enumerate() {
        let data = content(i as u64 * 7919 + *size as u64, *size);
        match *src {
            Source::Bytes => {
                b.add_bytes(name, data).unwrap();
            }
            Source::File => {
                let p = dir.join(format!("src{i}"));
                std::fs::write(&p, &data).unwrap();
                b.add_file(name, &p).unwrap();
            }
            Source::Reader(chunk) => add_choppy(&mut b, name, data, chunk),
        }
    }
    b.build(&mut glassmaster::NoProgress).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Step {
    /// Seek to a fraction of the image (may land past the end) plus an offset.
    Start(f64, i64),
    Current(i64),
    /// Seek relative to the end by a fraction of the image (negative) plus an offset.
    End(f64, i64),
    Read(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let jitter = prop_oneof![Just(0i64), -4096i64..4096, -3 * MIB as i64..3 * MIB as i64];
    let read = prop_oneof![
        1usize..16,
        2040usize..2060,
        1usize..70_000,
        1usize..3 * MIB + 1
    ];
    prop_oneof![
        1 => (0.0f64..1.1, jitter.clone()).prop_map(|(f, j)| Step::Start(f, j)),
        1 => jitter.clone().prop_map(Step::Current),
        1 => (0.0f64..1.0, jitter).prop_map(|(f, j)| Step::End(f, j)),
        4 => read.prop_map(Step::Read),
    ]
}

/// Runs `steps` on a fresh stream of `image`, checking every byte against `reference`.
fn check_schedule(image: &Image, reference: &[u8], steps: &[Step]) {
    let total = reference.len() as i128;
    let mut s = image.stream();
    let mut pos: i128 = 0;
    let mut buf = vec![0u8; 3 * MIB + 1];
    for (i, st) in steps.iter().enumerate() {
        let (target, seek) = match *st {
            Step::Start(f, j) => {
                let p = ((total as f64 * f) as i128 + j as i128).max(0);
                (p, SeekFrom::Start(p as u64))
            }
            Step::Current(d) => (pos + d as i128, SeekFrom::Current(d)),
            Step::End(f, j) => {
                let d = -((total as f64 * f) as i64) + j;
                (total + d as i128, SeekFrom::End(d))
            }
            Step::Read(n) => {
                let buf = &mut buf[..n];
                let mut got = 0;
                loop {
                    let k = s
                        .read(&mut buf[got..])
                        .unwrap_or_else(|e| panic!("step {i}: read failed: {e}"));
                    if k == 0 {
                        assert!(
                            pos >= total,
                            "step {i}: read returned 0 at {pos} before the end ({total})"
                        );
                        break;
                    }
                    assert!(
                        pos < total,
                        "step {i}: read returned {k} bytes at {pos}, past the end ({total})"
                    );
                    let p = pos as usize;
                    assert!(
                        buf[got..got + k] == reference[p..p + k],
                        "step {i}: {k} bytes at {p} differ from write_to"
                    );
                    got += k;
                    pos += k as i128;
                    if got == n {
                        break;
                    }
                }
                continue;
            }
        };
        let r = s.seek(seek);
        if target < 0 {
            assert!(r.is_err(), "step {i}: seek to {target} succeeded");
            // The position is unchanged: the next read continues where we were.
            assert_eq!(
                s.stream_position().unwrap() as i128,
                pos,
                "step {i}: failed seek moved the stream"
            );
        } else {
            assert_eq!(r.unwrap() as i128, target, "step {i}: seek result");
            pos = target;
        }
    }
    // Reading at the end returns 0, also after seeking past it.
    s.seek(SeekFrom::End(0)).unwrap();
    assert_eq!(s.read(&mut buf[..10]).unwrap(), 0);
    s.seek(SeekFrom::End(12345)).unwrap();
    assert_eq!(s.read(&mut buf[..10]).unwrap(), 0);
    s.seek(SeekFrom::Start(u64::MAX / 2)).unwrap();
    assert_eq!(s.read(&mut buf[..1]).unwrap(), 0);
}

fn fixed_files() -> Vec<(String, usize, Source)> {
    vec![
        ("/a/bytes_small.txt".into(), 100, Source::Bytes),
        ("/a/bytes_block.bin".into(), 2048, Source::Bytes),
        ("/a/empty_bytes".into(), 0, Source::Bytes),
        ("/b/file_big.bin".into(), 2 * MIB + 123, Source::File),
        ("/b/file_odd.bin".into(), 4097, Source::File),
        ("/b/empty_file".into(), 0, Source::File),
        ("/c/reader_big.bin".into(), 3 * MIB - 5, Source::Reader(777)),
        ("/c/reader_one.bin".into(), 1, Source::Reader(1)),
        ("/c/reader_empty".into(), 0, Source::Reader(10)),
        (
            "/c/reader_medium.bin".into(),
            600_000,
            Source::Reader(65_536),
        ),
        ("/d/bytes_big.bin".into(), MIB + 1, Source::Bytes),
        ("/d/file_medium.bin".into(), 300_001, Source::File),
    ]
}

/// One ~7 MiB image, many random schedules.
#[test]
fn random_schedules_match_write_to() {
    let dir = tempfile::tempdir().unwrap();
    let image = build(&fixed_files(), dir.path(), IsoLevel::Level3);
    let reference = render(&image);
    assert!(reference.len() > 6 * MIB);
    let mut runner = TestRunner::new(Config {
        cases: proptest_cases(48),
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(step(), 1..24), |steps| {
            check_schedule(&image, &reference, &steps);
            Ok(())
        })
        .unwrap();
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        Just(Source::Bytes),
        Just(Source::File),
        (1usize..5000).prop_map(Source::Reader)
    ]
}

fn file_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(2048),
        Just(4096),
        1usize..5000,
        1usize..400_000
    ]
}

/// Random small images (sources, sizes, levels), random schedules.
#[test]
fn random_images_random_schedules() {
    let mut runner = TestRunner::new(Config {
        cases: proptest_cases(32),
        ..Config::default()
    });
    let files = proptest::collection::vec((file_size(), source()), 0..12);
    let level = prop_oneof![
        Just(IsoLevel::Level1),
        Just(IsoLevel::Level3),
        Just(IsoLevel::Iso1999)
    ];
    runner
        .run(
            &(files, level, proptest::collection::vec(step(), 1..16)),
            |(files, level, steps)| {
                let dir = tempfile::tempdir().unwrap();
                let named: Vec<_> = files
                    .iter()
                    .enumerate()
                    .map(|(i, &(n, s))| (format!("/d{}/f{i}.bin", i % 3), n, s))
                    .collect();
                let image = build(&named, dir.path(), level);
                let reference = render(&image);
                check_schedule(&image, &reference, &steps);
                Ok(())
            },
        )
        .unwrap();
}

/// Sequential reads in any fixed chunk size give the same bytes; two streams of one image read
/// alternately do not disturb each other.
#[test]
fn chunk_sizes_and_interleaved_streams() {
    let dir = tempfile::tempdir().unwrap();
    let image = build(&fixed_files(), dir.path(), IsoLevel::Level2);
    let reference = render(&image);
    for chunk in [1usize << 20, 2048, 4093, 3 * MIB] {
        let mut s = image.stream();
        let mut out = Vec::with_capacity(reference.len());
        let mut buf = vec![0u8; chunk];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert!(
            out == reference,
            "chunk {chunk}: sequential read differs from write_to"
        );
    }
    let mut a = image.stream();
    let mut b = image.clone().stream();
    b.seek(SeekFrom::End(-(reference.len() as i64) / 2))
        .unwrap();
    let half = reference.len() - reference.len() / 2;
    let (mut pa, mut pb) = (0usize, half);
    let mut buf = vec![0u8; 100_003];
    while pa < half {
        let n = a.read(&mut buf[..(half - pa).min(100_003)]).unwrap();
        assert!(buf[..n] == reference[pa..pa + n]);
        pa += n;
        let m = b.read(&mut buf[..77_777]).unwrap();
        assert!(buf[..m] == reference[pb..pb + m]);
        pb += m;
    }
    // Single bytes across every segment boundary.
    let mut s = image.stream();
    for it in image.progress_items().iter() {
        for off in [it.byte_offset(), it.byte_offset() + it.byte_len() - 1] {
            s.seek(SeekFrom::Start(off)).unwrap();
            let mut one = [0u8; 1];
            s.read_exact(&mut one).unwrap();
            assert_eq!(
                one[0], reference[off as usize],
                "byte {off} ({})",
                it.description
            );
        }
    }
    // read_exact past the end is an UnexpectedEof error.
    s.seek(SeekFrom::End(-10)).unwrap();
    let mut twenty = [0u8; 20];
    assert_eq!(
        s.read_exact(&mut twenty).unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
}

/// `Image::write_to_file` into a pipe (here `cat`'s standard input, as `build -o - | ...`):
/// the data of files on disk goes by `sendfile` (no copy through user space), the rest
/// through the buffer, and the bytes are those of `write_to`. A reader that stops early is the
/// output's failure (a write error), not a changed source.
#[cfg(unix)]
#[test]
fn write_to_file_into_a_pipe_matches_write_to() {
    use std::os::fd::OwnedFd;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let image = build(&fixed_files(), dir.path(), IsoLevel::Level2);
    let reference = render(&image);
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = std::fs::File::from(OwnedFd::from(child.stdin.take().unwrap()));
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        out.read_to_end(&mut got).unwrap();
        got
    });
    image
        .write_to_file(&pipe, &mut glassmaster::NoProgress)
        .unwrap();
    drop(pipe);
    let got = reader.join().unwrap();
    child.wait().unwrap();
    assert_eq!(got.len(), reference.len());
    assert!(got == reference, "the bytes through the pipe differ");

    // The reader goes away after 1 MiB: the error is a write error.
    let mut child = Command::new("head")
        .args(["-c", "1048576"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pipe = std::fs::File::from(OwnedFd::from(child.stdin.take().unwrap()));
    let err = image
        .write_to_file(&pipe, &mut glassmaster::NoProgress)
        .unwrap_err();
    child.wait().unwrap();
    assert!(
        matches!(err, glassmaster::Error::Write(_)),
        "a closed pipe is the output's failure: {err}"
    );
}
