//! Ctrl-C handling: the first Ctrl-C sets a flag that the commands (and, through
//! `Progress::query_abort`, the library) poll so they can stop cleanly; a second one exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler (once per process).
pub fn install() {
    if let Err(e) = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // Second Ctrl-C: the user does not want to wait for the clean-up.
            eprintln!("\nglassmaster: interrupted again, exiting immediately");
            std::process::exit(130);
        }
    }) {
        eprintln!("glassmaster: warning: cannot install the Ctrl-C handler: {e}");
    }
}

/// True once Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
