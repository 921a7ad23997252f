//! Errors of the command-line tool, their exit statuses and how they are printed.

use std::error::Error as StdError;
use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

/// A boxed error with its cause chain.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a command failed; decides the exit status.
#[derive(Debug)]
pub enum CliError {
    /// Bad command-line usage that clap cannot check itself: exit status 2.
    Usage(String),
    /// Ctrl-C, SIGTERM or SIGHUP (or the library's `Error::Aborted`): exit status 130, 143 or
    /// 129 (128 + the signal's number).
    Interrupted,
    /// Any other failure: exit status 1.
    Failed(BoxError),
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

impl<E: StdError + Send + Sync + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        if is_aborted(&e) {
            CliError::Interrupted
        } else {
            CliError::Failed(Box::new(e))
        }
    }
}

impl CliError {
    /// A failure with a plain message (no cause).
    pub fn msg(message: impl Into<String>) -> Self {
        CliError::Failed(message.into().into())
    }

    /// Prints the error to stderr and returns the exit status.
    pub fn report(self) -> ExitCode {
        match self {
            CliError::Usage(msg) => {
                let msg = crate::report::terminal_safe(&msg);
                eprintln!("glassmaster: error: {msg}\n\nFor more information, try '--help'.");
                ExitCode::from(2)
            }
            CliError::Interrupted => {
                // After SIGHUP the terminal may be gone: a failed write must not panic.
                let _ = writeln!(
                    std::io::stderr(),
                    "glassmaster: interrupted ({})",
                    crate::interrupt::signal_name()
                );
                ExitCode::from(crate::interrupt::exit_status())
            }
            CliError::Failed(e) => {
                // Names in the message are escaped: a file named `\x1b[2J` must not reach the
                // terminal raw.
                let msg = crate::report::terminal_safe(&chain_message(&*e));
                eprintln!("glassmaster: error: {msg}");
                ExitCode::from(1)
            }
        }
    }
}

/// True if `e` is the library's `Error::Aborted` (the progress callback asked to stop).
fn is_aborted(e: &(dyn StdError + 'static)) -> bool {
    matches!(
        e.downcast_ref::<glassmaster::Error>(),
        Some(glassmaster::Error::Aborted)
    )
}

/// The error and its causes joined by ": ". A cause whose text already appears in the message
/// (many error types print their source themselves) is not repeated.
pub fn chain_message(e: &(dyn StdError + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}

/// An error with a message describing what was being done.
#[derive(Debug)]
pub struct Context {
    message: String,
    source: BoxError,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Context {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// Adds context to errors: `fs::metadata(p).context(|| format!("cannot read {}", p.display()))`.
pub trait ResultExt<T> {
    /// Wraps the error with the message `f()`; `Error::Aborted` becomes
    /// [`CliError::Interrupted`].
    fn context<S: Into<String>>(self, f: impl FnOnce() -> S) -> CliResult<T>;
}

impl<T, E: StdError + Send + Sync + 'static> ResultExt<T> for Result<T, E> {
    fn context<S: Into<String>>(self, f: impl FnOnce() -> S) -> CliResult<T> {
        self.map_err(|e| {
            if is_aborted(&e) {
                CliError::Interrupted
            } else {
                CliError::Failed(Box::new(Context {
                    message: f().into(),
                    source: Box::new(e),
                }))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn chain_skips_repeated_causes() {
        let io = io::Error::new(io::ErrorKind::NotFound, "No such file");
        let lib = glassmaster::Error::Source {
            path: "/x".into(),
            source: io,
        };
        let r: Result<(), _> = Err(lib);
        let CliError::Failed(e) = r.context(|| "cannot add /x").unwrap_err() else {
            panic!()
        };
        assert_eq!(
            chain_message(&*e),
            "cannot add /x: cannot read source /x: No such file"
        );
    }

    #[test]
    fn chain_appends_new_causes() {
        let inner = io::Error::other("disk on fire");
        let r: Result<(), _> = Err(inner);
        let CliError::Failed(e) = r.context(|| "cannot write out.iso").unwrap_err() else {
            panic!()
        };
        assert_eq!(chain_message(&*e), "cannot write out.iso: disk on fire");
    }

    #[test]
    fn aborted_is_interrupted() {
        let r: Result<(), _> = Err(glassmaster::Error::Aborted);
        assert!(matches!(r.context(|| "x"), Err(CliError::Interrupted)));
        assert!(matches!(
            CliError::from(glassmaster::Error::Aborted),
            CliError::Interrupted
        ));
    }
}
