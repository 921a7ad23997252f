//! Signal handling: the first SIGINT (Ctrl-C), SIGTERM or SIGHUP sets a flag that the commands
//! (and, through `Progress::query_abort`, the library) poll so they can stop cleanly and remove
//! their temporary files; a second one exits at once. The exit status says which signal came
//! first: 128 + its number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), as shells report
//! a process killed by it.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Once;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The first signal received (0: none yet).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
static INSTALL: Once = Once::new();

/// SIGINT's number, whose exit status (130) is reported when no signal number is known.
const SIGINT: i32 = 2;

/// Installs the handlers (once per process).
pub fn install() {
    INSTALL.call_once(install_handlers);
}

/// Records a signal; a second one ends the process at once.
#[cfg(any(unix, windows))]
fn received(signal: i32) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // Second signal: the user does not want to wait for the clean-up.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\nglassmaster: interrupted again, exiting immediately"
        );
        std::process::exit(exit_status_of(signal));
    }
    SIGNAL.store(signal, Ordering::SeqCst);
}

/// A thread waits for the signals (signal-hook's self-pipe: nothing runs in the handler itself
/// but a write) and records them.
#[cfg(unix)]
fn install_handlers() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(mut signals) => {
            let spawned = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        received(signal);
                    }
                });
            if let Err(e) = spawned {
                eprintln!("glassmaster: warning: cannot watch for signals: {e}");
            }
        }
        Err(e) => eprintln!("glassmaster: warning: cannot install the signal handlers: {e}"),
    }
}

#[cfg(windows)]
fn install_handlers() {
    if let Err(e) = ctrlc::set_handler(|| received(SIGINT)) {
        eprintln!("glassmaster: warning: cannot install the Ctrl-C handler: {e}");
    }
}

/// Targets with neither Unix signals nor Windows' console events (WASI): nothing to watch.
#[cfg(not(any(unix, windows)))]
fn install_handlers() {}

/// True once a signal (Ctrl-C, SIGTERM, SIGHUP) was received.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The exit status after an interruption: 128 + the first signal's number (130 if none was
/// recorded, e.g. when the library reported an abort by itself).
pub fn exit_status() -> u8 {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => exit_status_of(SIGINT) as u8,
        s => exit_status_of(s) as u8,
    }
}

fn exit_status_of(signal: i32) -> i32 {
    (128 + signal).clamp(0, 255)
}

/// The name of the signal that interrupted the command, for the message.
pub fn signal_name() -> &'static str {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGTERM};
        match SIGNAL.load(Ordering::SeqCst) {
            SIGHUP => return "SIGHUP",
            SIGTERM => return "SIGTERM",
            _ => {}
        }
    }
    "SIGINT"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(exit_status_of(2), 130);
        assert_eq!(exit_status_of(15), 143);
        assert_eq!(exit_status_of(1), 129);
    }
}
