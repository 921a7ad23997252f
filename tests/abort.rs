//! Progress callbacks and aborting: scanning (`add_tree`), layout
//! (`build`) and writing (`write_to`, `write_to_path`). Each phase is bracketed by
//! `begin`/`end` with the right phase and outcome; an abort returns `Error::Aborted` promptly;
//! while writing, `item_started` fires once per item in order and `update` / `query_abort` come
//! at least every MiB.

mod common;

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use common::*;
use glassmaster::{Error, ImageBuilder, Outcome, Phase, Progress, ProgressItem};

const MIB: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Begin(Phase, u64),
    Scanned(String),
    Item(ProgressItem),
    /// done, total, bytes the writer had received at that moment
    Update(u64, u64, u64),
    Query(u64),
    End(Phase, Outcome),
}

/// Records every callback; `query_abort` answers true from the `abort_on_query`-th call on, or
/// once the writer has received `abort_at_bytes`.
#[derive(Default)]
struct Recorder {
    events: Vec<Ev>,
    queries: usize,
    abort_on_query: Option<usize>,
    abort_at_bytes: Option<u64>,
    bytes: Rc<Cell<u64>>,
    bytes_at_abort: Option<u64>,
}

impl Recorder {
    fn aborting_on_query(n: usize) -> Self {
        Recorder {
            abort_on_query: Some(n),
            ..Default::default()
        }
    }
    fn scanned(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| {
                if let Ev::Scanned(p) = e {
                    Some(p.as_str())
                } else {
                    None
                }
            })
            .collect()
    }
    fn updates(&self) -> Vec<(u64, u64, u64)> {
        self.events
            .iter()
            .filter_map(|e| {
                if let Ev::Update(a, b, c) = e {
                    Some((*a, *b, *c))
                } else {
                    None
                }
            })
            .collect()
    }
    /// Exactly one begin (first) and one end (last), of `phase`.
    fn assert_bracketed(&self, phase: Phase, outcome: Outcome) {
        assert!(
            matches!(self.events.first(), Some(Ev::Begin(p, _)) if *p == phase),
            "first event: {:?}",
            self.events.first()
        );
        assert_eq!(self.events.last(), Some(&Ev::End(phase, outcome)));
        let begins = self
            .events
            .iter()
            .filter(|e| matches!(e, Ev::Begin(..)))
            .count();
        let ends = self
            .events
            .iter()
            .filter(|e| matches!(e, Ev::End(..)))
            .count();
        assert_eq!((begins, ends), (1, 1));
    }
}

impl Progress for Recorder {
    fn begin(&mut self, phase: Phase, total: u64) {
        self.events.push(Ev::Begin(phase, total));
    }
    fn scanned(&mut self, p: &str) {
        self.events.push(Ev::Scanned(p.to_string()));
    }
    fn item_started(&mut self, item: &ProgressItem) {
        self.events.push(Ev::Item(item.clone()));
    }
    fn update(&mut self, done: u64, total: u64) {
        self.events.push(Ev::Update(done, total, self.bytes.get()));
    }
    fn query_abort(&mut self) -> bool {
        self.queries += 1;
        self.events.push(Ev::Query(self.bytes.get()));
        let abort = self.abort_on_query.is_some_and(|n| self.queries >= n)
            || self.abort_at_bytes.is_some_and(|b| self.bytes.get() >= b);
        if abort && self.bytes_at_abort.is_none() {
            self.bytes_at_abort = Some(self.bytes.get());
        }
        abort
    }
    fn end(&mut self, phase: Phase, outcome: Outcome) {
        self.events.push(Ev::End(phase, outcome));
    }
}

/// Counts the bytes it receives (shared with a [`Recorder`]).
struct Counter(Rc<Cell<u64>>);
impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.set(self.0.get() + buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------------
// Scan

fn scan_tree() -> SourceTree {
    let mut v = Vec::new();
    for i in 0..40 {
        v.push(Spec::File(format!("d{}/f{i}.txt", i % 4), content(i, 10)));
    }
    v.push(Spec::Dir("empty".into()));
    SourceTree::create(v)
}

#[test]
fn scan_completes_and_reports_every_entry() {
    let src = scan_tree();
    let mut rec = Recorder::default();
    let mut b = ImageBuilder::new();
    b.add_tree("/in", src.path(), &mut rec).unwrap();
    rec.assert_bracketed(Phase::Scan, Outcome::Completed);
    assert_eq!(rec.events[0], Ev::Begin(Phase::Scan, 0));
    let mut scanned: Vec<&str> = rec.scanned();
    scanned.sort();
    let mut want: Vec<String> = snapshot(src.path(), false)
        .into_keys()
        .map(|k| format!("/in/{k}"))
        .collect();
    want.sort();
    assert_eq!(scanned, want);
    // Polled once per directory entry.
    assert!(
        rec.queries >= want.len(),
        "{} polls for {} entries",
        rec.queries,
        want.len()
    );
}

#[test]
fn abort_during_scan() {
    let src = scan_tree();
    for n in [1, 10, 30] {
        let mut rec = Recorder::aborting_on_query(n);
        let mut b = ImageBuilder::new();
        assert!(matches!(
            b.add_tree("/", src.path(), &mut rec),
            Err(Error::Aborted)
        ));
        rec.assert_bracketed(Phase::Scan, Outcome::Aborted);
        assert_eq!(rec.queries, n, "kept polling after the abort");
        assert!(
            rec.scanned().len() < n,
            "{} entries scanned after {n} polls",
            rec.scanned().len()
        );
    }
}

#[test]
fn scan_failure_is_reported_as_failed() {
    let mut rec = Recorder::default();
    let mut b = ImageBuilder::new();
    assert!(b.add_tree("/", "/definitely/not/here", &mut rec).is_err());
    rec.assert_bracketed(Phase::Scan, Outcome::Failed);
}

// ------------------------------------------------------------------------------------------------
// Layout

fn many_entries(n: usize) -> ImageBuilder {
    let mut b = ImageBuilder::new();
    for i in 0..n {
        b.add_bytes(
            &format!("/d{}/file_{i:05}.txt", i % 50),
            if i % 3 == 0 {
                vec![]
            } else {
                vec![i as u8; 10]
            },
        )
        .unwrap();
    }
    b
}

#[test]
fn layout_completes_with_progress() {
    let b = many_entries(6000);
    let mut rec = Recorder::default();
    let image = b.build(&mut rec).unwrap();
    rec.assert_bracketed(Phase::Layout, Outcome::Completed);
    let Ev::Begin(_, total) = rec.events[0] else {
        unreachable!()
    };
    assert_eq!(total, 6000 + 50 + 1, "layout total counts the tree's nodes");
    let ups = rec.updates();
    assert!(!ups.is_empty(), "no layout progress for 6000 entries");
    for (done, t, _) in &ups {
        assert!(
            *done <= *t && *t == total,
            "update {done}/{t} with total {total}"
        );
    }
    assert!(
        rec.queries >= 5,
        "layout polled only {} times for 6000 entries",
        rec.queries
    );
    assert!(image.total_blocks() > 0);
}

#[test]
fn layout_progress_never_goes_backwards() {
    let b = many_entries(6000);
    let mut rec = Recorder::default();
    b.build(&mut rec).unwrap();
    let done: Vec<u64> = rec.updates().iter().map(|u| u.0).collect();
    assert!(
        done.windows(2).all(|w| w[0] <= w[1]),
        "layout progress goes backwards: {done:?}"
    );
}

#[test]
fn abort_during_layout() {
    let b = many_entries(6000);
    for n in [1, 3, 6] {
        let mut rec = Recorder::aborting_on_query(n);
        assert!(
            matches!(b.build(&mut rec), Err(Error::Aborted)),
            "abort on poll {n}"
        );
        rec.assert_bracketed(Phase::Layout, Outcome::Aborted);
        assert_eq!(rec.queries, n);
    }
    // The builder is unharmed: a later build succeeds.
    b.build(&mut glassmaster::NoProgress).unwrap();
}

#[test]
fn layout_failure_is_reported_as_failed() {
    let mut b = ImageBuilder::new();
    b.level(glassmaster::IsoLevel::Level1);
    b.add_dir("/1/2/3/4/5/6/7/8").unwrap();
    let mut rec = Recorder::default();
    assert!(matches!(b.build(&mut rec), Err(Error::TooDeep { .. })));
    rec.assert_bracketed(Phase::Layout, Outcome::Failed);
}

// ------------------------------------------------------------------------------------------------
// Write

/// About 20 MiB: large files from memory and from a reader, many small ones, an empty one.
fn twenty_mib() -> glassmaster::Image {
    let mut b = ImageBuilder::new();
    b.add_bytes("/big/a.bin", content(1, 7 * MIB as usize + 5))
        .unwrap();
    let data = std::sync::Arc::new(content(2, 6 * MIB as usize));
    b.add_reader("/big/b.bin", data.len() as u64, move || {
        Ok(Box::new(io::Cursor::new(data.clone().to_vec())) as Box<dyn Read + Send>)
    })
    .unwrap();
    for i in 0..200 {
        b.add_bytes(
            &format!("/small/{i}.txt"),
            content(100 + i, (i as usize * 97) % 5000),
        )
        .unwrap();
    }
    b.add_bytes("/big/c.bin", content(3, 6 * MIB as usize))
        .unwrap();
    b.add_bytes("/empty", Vec::new()).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    assert!(image.size_bytes() >= 19 * MIB && image.size_bytes() <= 21 * MIB);
    image
}

#[test]
fn write_progress_items_updates_and_polls() {
    let image = twenty_mib();
    let mut rec = Recorder::default();
    image
        .write_to(Counter(rec.bytes.clone()), &mut rec)
        .unwrap();
    rec.assert_bracketed(Phase::Write, Outcome::Completed);
    assert_eq!(rec.events[0], Ev::Begin(Phase::Write, image.total_blocks()));
    assert_eq!(rec.bytes.get(), image.size_bytes());

    // item_started: once per item, in order.
    let started: Vec<&ProgressItem> = rec
        .events
        .iter()
        .filter_map(|e| if let Ev::Item(i) = e { Some(i) } else { None })
        .collect();
    let items: Vec<ProgressItem> = image.progress_items().iter().collect();
    let items: Vec<&ProgressItem> = items.iter().collect();
    assert_eq!(started, items);

    // update: at least every MiB, reporting what the writer has received, ending at the total.
    let ups = rec.updates();
    let mut last = 0u64;
    for &(done, total, bytes) in &ups {
        assert_eq!(total, image.total_blocks());
        assert_eq!(
            done * 2048,
            bytes,
            "update reports {done} blocks when the writer has {bytes} bytes"
        );
        assert!(
            bytes - last <= MIB,
            "{} bytes written between updates",
            bytes - last
        );
        assert!(bytes >= last);
        last = bytes;
    }
    assert_eq!(ups.last().unwrap().0, image.total_blocks());

    // query_abort: at least once per item and once per MiB.
    let mut polled_since_item = true;
    let mut last_poll = 0u64;
    for e in &rec.events {
        match e {
            Ev::Item(it) => {
                assert!(
                    polled_since_item,
                    "no poll during the item before {}",
                    it.description
                );
                polled_since_item = false;
            }
            Ev::Query(bytes) => {
                assert!(
                    bytes - last_poll <= MIB,
                    "{} bytes between polls",
                    bytes - last_poll
                );
                last_poll = *bytes;
                polled_since_item = true;
            }
            _ => {}
        }
    }
    assert!(image.size_bytes() - last_poll <= MIB);
}

#[test]
fn abort_during_write() {
    let image = twenty_mib();
    for at in [0, 1, 5 * MIB, 5 * MIB + 12345, 15 * MIB] {
        let mut rec = Recorder {
            abort_at_bytes: Some(at),
            ..Default::default()
        };
        let r = image.write_to(Counter(rec.bytes.clone()), &mut rec);
        assert!(matches!(r, Err(Error::Aborted)), "abort at {at}: {r:?}");
        rec.assert_bracketed(Phase::Write, Outcome::Aborted);
        let when = rec.bytes_at_abort.unwrap();
        let total = rec.bytes.get();
        assert!(
            total <= when + MIB,
            "abort at {at}: {total} bytes written, {when} when abort was requested"
        );
        assert!(total < image.size_bytes());
        // Nothing is polled or started after the abort.
        let abort_idx = rec
            .events
            .iter()
            .position(|e| matches!(e, Ev::Query(b) if *b == when))
            .unwrap();
        assert!(
            rec.events[abort_idx + 1..]
                .iter()
                .all(|e| matches!(e, Ev::End(..))),
            "events after the abort: {:?}",
            &rec.events[abort_idx + 1..]
        );
    }
    for n in [1, 2, 50] {
        let mut rec = Recorder::aborting_on_query(n);
        assert!(matches!(
            image.write_to(Counter(rec.bytes.clone()), &mut rec),
            Err(Error::Aborted)
        ));
        rec.assert_bracketed(Phase::Write, Outcome::Aborted);
        assert_eq!(rec.queries, n);
    }
}

#[test]
fn aborted_write_to_path_leaves_nothing() {
    let image = twenty_mib();
    let dir = out_dir();
    let dest = dir.path().join("image.iso");
    let mut rec = Recorder::aborting_on_query(10);
    assert!(matches!(
        image.write_to_path(&dest, &mut rec),
        Err(Error::Aborted)
    ));
    rec.assert_bracketed(Phase::Write, Outcome::Aborted);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "files left after an aborted write_to_path"
    );
}

#[test]
fn write_failure_is_reported_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("src.bin");
    std::fs::write(&f, b"1234").unwrap();
    let mut b = ImageBuilder::new();
    b.add_file("/f.bin", &f).unwrap();
    let image = b.build(&mut glassmaster::NoProgress).unwrap();
    std::fs::remove_file(&f).unwrap();
    let mut rec = Recorder::default();
    assert!(matches!(
        image.write_to(Counter(rec.bytes.clone()), &mut rec),
        Err(Error::SourceChanged { .. })
    ));
    rec.assert_bracketed(Phase::Write, Outcome::Failed);
}

/// 100,000 names in one directory, all sharing a long prefix (every ISO 9660 level shortens
/// them to one base name, so each gets a numbered suffix): the layout polls `query_abort`
/// every few hundred entries while it names, sorts and sizes that one directory, so an abort
/// on any poll stops it there. Counted in polls, not in wall time.
#[test]
fn abort_during_layout_of_one_huge_directory() {
    use glassmaster::FileSystems;
    let huge = |fs: FileSystems| {
        let mut b = ImageBuilder::new();
        b.filesystems(fs);
        for i in 0..100_000 {
            b.add_bytes(
                &format!("/big/a_very_long_shared_prefix_of_forty_characters_{i:05}.txt"),
                vec![],
            )
            .unwrap();
        }
        b
    };
    // ISO 9660 with Rock Ridge: the whole layout runs on the caller's thread, so the polls
    // come at the same points in every run.
    let b = huge(FileSystems::ISO9660 | FileSystems::ROCK_RIDGE);
    let mut rec = Recorder::default();
    b.build(&mut rec).unwrap();
    let polls = rec.queries;
    // Naming, sorting and sizing each poll every few hundred entries: well over 1,000 polls
    // (one per 1,024 entries, as before, gave under 100).
    assert!(
        polls >= 1_000,
        "layout of 100,000 names in one directory polled only {polls} times"
    );
    // An abort on an early, a middle and a late poll stops the layout on that very poll.
    for n in [2, polls / 3, polls / 2, polls * 9 / 10] {
        let mut rec = Recorder::aborting_on_query(n);
        assert!(
            matches!(b.build(&mut rec), Err(Error::Aborted)),
            "abort on poll {n} of {polls}"
        );
        rec.assert_bracketed(Phase::Layout, Outcome::Aborted);
        assert_eq!(rec.queries, n, "polls after the abort on poll {n}");
    }
    // With Joliet and UDF built beside it on two more threads, an abort in the middle of the
    // ISO 9660 view stops those threads too, and nothing polls after it.
    let b = huge(
        FileSystems::ISO9660 | FileSystems::JOLIET | FileSystems::ROCK_RIDGE | FileSystems::UDF,
    );
    for n in [2, polls / 2] {
        let mut rec = Recorder::aborting_on_query(n);
        assert!(
            matches!(b.build(&mut rec), Err(Error::Aborted)),
            "abort on poll {n} (all file systems)"
        );
        rec.assert_bracketed(Phase::Layout, Outcome::Aborted);
        assert_eq!(rec.queries, n, "polls after the abort on poll {n}");
    }
    let mut rec = Recorder::default();
    b.build(&mut rec).unwrap();
    assert!(rec.queries >= polls / 2);
}
