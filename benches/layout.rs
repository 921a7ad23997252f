//! Criterion benches: layout of 100,000 synthetic entries (with and without Rock Ridge, and
//! consuming the builder), deduplication of same-size files, and image stream throughput.
//! Run: `cargo bench --bench layout`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use glassmaster::{ImageBuilder, NoProgress};
use std::io::Read;

/// 100,000 entries: 2,000 directories of 49 files each (with names that need mangling).
fn tree_100k() -> ImageBuilder {
    let mut b = ImageBuilder::new();
    let payload = bytes::Bytes::from_static(&[7u8; 3000]);
    for d in 0..2000 {
        let dir = format!("/dir-{:04}/sub {}", d / 40, d);
        b.add_dir(&dir).unwrap();
        for f in 0..49 {
            b.add_bytes(
                &format!("{dir}/file number {f}.data"),
                payload.slice(..(f * 61) % 3000),
            )
            .unwrap();
        }
    }
    b
}

fn layout(c: &mut Criterion) {
    let b = tree_100k();
    let mut g = c.benchmark_group("layout");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("100k entries, ISO 9660 + Joliet", |bench| {
        bench.iter(|| b.build(&mut glassmaster::NoProgress).unwrap())
    });
    let mut rr = b.clone();
    rr.filesystems(
        glassmaster::FileSystems::ISO9660
            | glassmaster::FileSystems::JOLIET
            | glassmaster::FileSystems::ROCK_RIDGE,
    );
    g.bench_function("100k entries, ISO 9660 + Joliet + Rock Ridge", |bench| {
        bench.iter(|| rr.build(&mut glassmaster::NoProgress).unwrap())
    });
    g.bench_function("100k entries, ISO 9660 + Joliet, into_image", |bench| {
        bench.iter_batched(
            || b.clone(),
            |b| b.into_image(&mut glassmaster::NoProgress).unwrap(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Deduplication hashes every file whose size occurs more than once: 20,000 files of 4 KiB,
/// all distinct, all the same size (the worst case: every file is read and hashed).
fn dedup(c: &mut Criterion) {
    let mut b = ImageBuilder::new();
    for i in 0..20_000u32 {
        let mut data = vec![0u8; 4096];
        data[..4].copy_from_slice(&i.to_le_bytes());
        b.add_bytes(&format!("/d{}/f{i}", i / 100), data).unwrap();
    }
    let mut g = c.benchmark_group("dedup");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(20_000 * 4096));
    g.bench_function("layout of 20k same-size 4 KiB files", |bench| {
        bench.iter(|| b.build(&mut glassmaster::NoProgress).unwrap())
    });
    g.finish();
}

fn stream(c: &mut Criterion) {
    // 64 files of 4 MiB each: mostly file data, rendered from memory.
    let mut b = ImageBuilder::new();
    let payload = bytes::Bytes::from(vec![0x5Au8; 4 << 20]);
    for i in 0..64 {
        b.add_bytes(&format!("/f{i}.bin"), payload.clone()).unwrap();
    }
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    let mut g = c.benchmark_group("stream");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(image.size_bytes()));
    g.bench_function("read 256 MiB image, 1 MiB reads", |bench| {
        bench.iter_batched(
            || image.stream(),
            |mut s| {
                let mut buf = vec![0u8; 1 << 20];
                while s.read(&mut buf).unwrap() > 0 {}
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("write_to sink", |bench| {
        bench.iter(|| image.write_to(std::io::sink(), &mut NoProgress).unwrap())
    });
    // Many small files: metadata-heavy stream.
    let small = tree_100k().build(&mut glassmaster::NoProgress).unwrap();
    g.throughput(Throughput::Bytes(small.size_bytes()));
    g.bench_function("write_to sink, 100k small entries", |bench| {
        bench.iter(|| small.write_to(std::io::sink(), &mut NoProgress).unwrap())
    });
    g.finish();
}

criterion_group!(benches, layout, dedup, stream);
criterion_main!(benches);
