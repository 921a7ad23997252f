//! Terminal progress display (indicatif) and the [`Progress`] implementation used while
//! scanning, laying out and writing.

use std::io::{self, IsTerminal};
use std::time::Duration;

use glassmaster::{Outcome, Phase, Progress, ProgressItem};
use indicatif::{ProgressBar, ProgressStyle};

use crate::interrupt;

/// How many characters of a path the progress line shows (its end, which says the most).
const MESSAGE_CHARS: usize = 48;

/// A progress bar or spinner on stderr, or nothing when stderr is not a terminal or the user
/// asked for quiet. Every method is a no-op while nothing is shown.
pub struct Bar {
    show: bool,
    pb: Option<ProgressBar>,
}

impl Bar {
    /// Shows progress only if stderr is a terminal and not `quiet`.
    pub fn new(quiet: bool) -> Bar {
        Bar {
            show: !quiet && io::stderr().is_terminal(),
            pb: None,
        }
    }

    /// A bar that never shows anything.
    #[cfg(test)]
    pub fn hidden() -> Bar {
        Bar {
            show: false,
            pb: None,
        }
    }

    fn replace(&mut self, pb: ProgressBar) {
        self.finish();
        pb.enable_steady_tick(Duration::from_millis(120));
        self.pb = Some(pb);
    }

    /// A spinner counting entries: "⠋ scanning 1234 entries  /path/being/scanned".
    pub fn spinner(&mut self, what: &'static str, start: u64) {
        if !self.show {
            return;
        }
        let style = ProgressStyle::with_template(
            "{spinner:.green} {prefix} {pos} entries {elapsed:.dim} {wide_msg:.dim}",
        )
        .expect("valid template");
        let pb = ProgressBar::new_spinner()
            .with_style(style)
            .with_prefix(what)
            .with_position(start);
        self.replace(pb);
    }

    /// A bar counting items: "laying out [=====>     ] 120/300".
    pub fn counter(&mut self, what: &'static str, total: u64) {
        if !self.show {
            return;
        }
        let style = ProgressStyle::with_template(
            "{spinner:.green} {prefix} [{bar:30.cyan/blue}] {pos}/{len} {wide_msg:.dim}",
        )
        .expect("valid template")
        .progress_chars("=> ");
        self.replace(ProgressBar::new(total).with_style(style).with_prefix(what));
    }

    /// A bar counting bytes, with the rate, the ETA and the current path as message.
    pub fn bytes(&mut self, total_bytes: u64) {
        if !self.show {
            return;
        }
        let style = ProgressStyle::with_template(
            "{spinner:.green} [{bar:30.cyan/blue}] {decimal_bytes}/{decimal_total_bytes} \
             {decimal_bytes_per_sec} ETA {eta} {wide_msg}",
        )
        .expect("valid template")
        .progress_chars("=> ");
        self.replace(ProgressBar::new(total_bytes).with_style(style));
    }

    /// Sets the position (bytes or entries).
    pub fn set_position(&self, pos: u64) {
        if let Some(pb) = &self.pb {
            pb.set_position(pos);
        }
    }

    /// Advances the position.
    pub fn inc(&self, delta: u64) {
        if let Some(pb) = &self.pb {
            pb.inc(delta);
        }
    }

    /// Shows `msg` (a path; its tail is kept if it is long).
    pub fn set_message(&self, msg: &str) {
        if let Some(pb) = &self.pb {
            pb.set_message(tail(&crate::report::terminal_safe(msg), MESSAGE_CHARS));
        }
    }

    /// Removes the bar or spinner from the terminal.
    pub fn finish(&mut self) {
        if let Some(pb) = self.pb.take() {
            pb.finish_and_clear();
        }
    }

    /// Prints a line to stderr without garbling the bar.
    /// A failed write (the terminal gone after SIGHUP) is ignored, not a panic.
    pub fn eprintln(&self, line: &str) {
        use std::io::Write as _;
        let print = || {
            let _ = writeln!(io::stderr(), "{line}");
        };
        match &self.pb {
            Some(pb) => pb.suspend(print),
            None => print(),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The last `max` characters of `s`, prefixed with "…" if anything was cut.
pub fn tail(s: &str, max: usize) -> String {
    let count = s.chars().count();
    if count <= max {
        return s.to_string();
    }
    let skip = count - (max - 1);
    let mut out = String::from("…");
    out.extend(s.chars().skip(skip));
    out
}

/// The [`Progress`] given to the library by `build` and `map`: drives the [`Bar`] and reports
/// Ctrl-C through `query_abort`.
pub struct BuildProgress {
    bar: Bar,
    phase: Option<Phase>,
    entries: u64,
}

impl BuildProgress {
    /// A progress sink drawing on `bar`.
    pub fn new(bar: Bar) -> Self {
        BuildProgress {
            bar,
            phase: None,
            entries: 0,
        }
    }

    /// The progress display, e.g. to print warnings.
    pub fn bar(&self) -> &Bar {
        &self.bar
    }
}

impl Progress for BuildProgress {
    fn begin(&mut self, phase: Phase, total: u64) {
        self.phase = Some(phase);
        match phase {
            Phase::Scan => self.bar.spinner("scanning", self.entries),
            Phase::Layout => self.bar.counter("laying out", total),
            Phase::Write => self
                .bar
                .bytes(total.saturating_mul(glassmaster::BLOCK_SIZE_U64)),
            _ => {}
        }
    }

    fn scanned(&mut self, image_path: &str) {
        self.entries += 1;
        self.bar.set_position(self.entries);
        self.bar.set_message(image_path);
    }

    fn item_started(&mut self, item: &ProgressItem) {
        self.bar.set_message(&item.description);
    }

    fn update(&mut self, done: u64, _total: u64) {
        match self.phase {
            // Blocks written; the bar counts bytes.
            Some(Phase::Write) => self
                .bar
                .set_position(done.saturating_mul(glassmaster::BLOCK_SIZE_U64)),
            // Nodes laid out.
            _ => self.bar.set_position(done),
        }
    }

    fn query_abort(&mut self) -> bool {
        interrupt::interrupted()
    }

    fn end(&mut self, _phase: Phase, _outcome: Outcome) {
        self.phase = None;
        self.bar.finish();
    }
}

/// The progress of writing every volume of a spanned set: one bar over the whole set, whose
/// message names the volume and the item being written.
pub struct SetProgress<'a> {
    inner: &'a mut BuildProgress,
    total: u64,
    /// Blocks of the volumes written before the current one.
    offset: u64,
    current: u64,
    label: String,
}

impl<'a> SetProgress<'a> {
    /// Starts the bar for `total` blocks.
    pub fn new(inner: &'a mut BuildProgress, total: u64) -> Self {
        inner.begin(Phase::Write, total);
        SetProgress {
            inner,
            total,
            offset: 0,
            current: 0,
            label: String::new(),
        }
    }
    /// The next volume (`blocks` long) begins.
    pub fn next_volume(&mut self, label: &str, blocks: u64) {
        self.offset += self.current;
        self.current = blocks;
        self.label = label.to_string();
    }
    /// Removes the bar.
    pub fn finish(&mut self) {
        self.inner.end(Phase::Write, Outcome::Completed);
    }
}

impl Progress for SetProgress<'_> {
    fn item_started(&mut self, item: &ProgressItem) {
        self.inner
            .bar
            .set_message(&format!("{}: {}", self.label, item.description));
    }
    fn update(&mut self, done: u64, _total: u64) {
        self.inner
            .update(self.offset + done.min(self.current), self.total);
    }
    fn query_abort(&mut self) -> bool {
        self.inner.query_abort()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("/a/b", 10), "/a/b");
        assert_eq!(tail("/abcdefghij", 5), "…ghij");
        assert_eq!(tail("ééééé", 5), "ééééé");
        assert_eq!(tail("éééééé", 5), "…éééé");
    }

    #[test]
    fn counts_scanned_entries() {
        let mut p = BuildProgress::new(Bar::hidden());
        p.begin(Phase::Scan, 0);
        p.scanned("/img/d");
        p.scanned("/img/d/f");
        p.end(Phase::Scan, Outcome::Completed);
        assert_eq!(p.phase, None);
        assert_eq!(p.entries, 2);
    }
}
