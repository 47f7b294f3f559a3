//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a closed pipe (`sigil jwt decode | head -1`); these helpers
//! treat a reader that went away as the end of the output instead.

use std::io::{self, Write};

/// Writes `text` and a newline to stdout. A closed pipe is not an error.
pub(crate) fn stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one line to stderr. If stderr itself cannot be written, there is nobody to tell.
pub(crate) fn stderr(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}
