//! Builds a small image from arbitrary files, then runs an arbitrary schedule of seeks and reads
//! on `image.stream()`; every read must return exactly the bytes one sequential `write_to` pass
//! produced at that position.
#![no_main]

use std::io::{Read, Seek, SeekFrom};

use glassmaster::{FileSystems, ImageBuilder, IsoLevel, NoProgress};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Step {
    Start(u32),
    Current(i32),
    End(i32),
    /// Seek to a block boundary (as a block device would).
    Block(u16),
    Read(u16),
    ReadExact(u16),
    /// A fresh stream, positioned at 0.
    Reopen,
}

#[derive(Arbitrary, Debug)]
struct Input {
    files: Vec<(u8, Vec<u8>, u16)>,
    joliet: bool,
    level: u8,
    steps: Vec<Step>,
}

fuzz_target!(|input: Input| {
    let mut b = ImageBuilder::new();
    b.level(if input.level & 1 == 0 {
        IsoLevel::Level3
    } else {
        IsoLevel::Iso1999
    });
    if !input.joliet {
        b.filesystems(FileSystems::ISO9660);
    }
    b.build_time(chrono::DateTime::from_timestamp(1_600_000_000, 0).unwrap());
    for (i, (dir, data, pad)) in input.files.iter().take(32).enumerate() {
        let mut bytes = data.clone();
        bytes.extend(std::iter::repeat_n(i as u8, usize::from(*pad % 5000)));
        let _ = b.add_bytes(&format!("/d{}/f{i}.bin", dir % 4), bytes);
    }
    let Ok(image) = b.build(&mut glassmaster::NoProgress) else {
        return;
    };
    let mut full = Vec::new();
    image
        .write_to(&mut full, &mut NoProgress)
        .expect("write_to memory");
    let size = full.len() as u64;
    assert_eq!(size, image.size_bytes());

    let mut s = image.stream();
    let mut pos = 0u64;
    for step in input.steps.iter().take(256) {
        let target = match step {
            Step::Start(p) => Some(Some(u64::from(*p))),
            Step::Current(d) => Some(pos.checked_add_signed(i64::from(*d))),
            Step::End(d) => Some(size.checked_add_signed(i64::from(*d))),
            Step::Block(n) => Some(Some(u64::from(*n) * 2048)),
            Step::Read(_) | Step::ReadExact(_) | Step::Reopen => None,
        };
        if let Some(target) = target {
            let res = match step {
                Step::Start(p) => s.seek(SeekFrom::Start(u64::from(*p))),
                Step::Current(d) => s.seek(SeekFrom::Current(i64::from(*d))),
                Step::End(d) => s.seek(SeekFrom::End(i64::from(*d))),
                Step::Block(n) => s.seek(SeekFrom::Start(u64::from(*n) * 2048)),
                _ => unreachable!(),
            };
            match (target, res) {
                (Some(t), Ok(got)) => {
                    assert_eq!(got, t, "seek result");
                    pos = t;
                }
                (None, Err(_)) => {}
                (t, r) => panic!("seek {step:?} from {pos}: expected {t:?}, got {r:?}"),
            }
            continue;
        }
        match step {
            Step::Read(n) => {
                let mut buf = vec![0u8; usize::from(*n)];
                let k = s.read(&mut buf).expect("read");
                if pos >= size || *n == 0 {
                    assert_eq!(k, 0, "read past the end or into an empty buffer");
                } else {
                    assert!(k > 0, "read returned 0 before the end");
                    assert!(k as u64 <= (size - pos).min(u64::from(*n)));
                    let at = pos as usize;
                    assert_eq!(&buf[..k], &full[at..at + k], "bytes at {pos}");
                }
                pos += k as u64;
            }
            Step::ReadExact(n) => {
                let mut buf = vec![0u8; usize::from(*n)];
                let r = s.read_exact(&mut buf);
                if *n == 0 {
                    r.expect("read_exact of nothing");
                } else if pos + u64::from(*n) <= size {
                    r.expect("read_exact inside the image");
                    let at = pos as usize;
                    assert_eq!(&buf[..], &full[at..at + buf.len()], "bytes at {pos}");
                    pos += u64::from(*n);
                } else {
                    assert!(r.is_err(), "read_exact past the end succeeded");
                    // read_exact leaves the position unspecified: find it again.
                    pos = s.stream_position().expect("position");
                    assert!(pos <= size.max(pos));
                }
            }
            Step::Reopen => {
                s = image.stream();
                pos = 0;
            }
            _ => unreachable!(),
        }
        assert_eq!(s.stream_position().expect("position"), pos);
    }
    // Finally, the whole stream read sequentially from 0 equals write_to.
    s.seek(SeekFrom::Start(0)).expect("rewind");
    let mut again = Vec::new();
    s.read_to_end(&mut again).expect("read_to_end");
    assert!(again == full, "stream != write_to");
});
