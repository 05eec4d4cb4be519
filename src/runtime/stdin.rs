//! Standard input for `input()`.
//!
//! The calling script thread waits until standard input is readable, the
//! same cancellable wait sockets use, and only then reads. An `input()`
//! interrupted by Ctrl-C has therefore consumed nothing and left nothing
//! behind (an earlier design kept a reader thread blocked in `read`, which
//! then raced the shell's line editor for whatever was typed next). A read
//! takes what is there: one line from a terminal, possibly several from a
//! pipe, so what follows the first line waits in a buffer for the next
//! `input()`. Standard input belongs to the process, and so does that
//! buffer.

use std::sync::Mutex;

use super::poll::{Ready, wait_fd};
use super::{Deadline, context::guard};
use crate::error::ScriptError;

/// Bytes read from standard input after the last line given out.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Reads one line from standard input without its line ending; `EOFError`
/// at end of input, `KeyboardInterrupt` when cancelled.
pub fn read_line() -> Result<String, ScriptError> {
    loop {
        {
            let mut pending = guard(&PENDING);
            if let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                return Ok(text(&line[..end]));
            }
        }
        {
            let _shown = super::context::blocked_on(|| "input()".to_string());
            wait_fd(libc::STDIN_FILENO, Ready::Read, Deadline::NEVER)?;
        }
        let mut chunk = [0u8; 4096];
        // SAFETY: reads into a buffer we own, of the length given.
        let n = unsafe { libc::read(libc::STDIN_FILENO, chunk.as_mut_ptr().cast(), chunk.len()) };
        match n {
            0 => {
                // End of input: a last line without a newline still counts.
                let rest = std::mem::take(&mut *guard(&PENDING));
                if rest.is_empty() {
                    return Err(ScriptError::new("EOFError", "EOF when reading a line")
                        .hint("standard input has ended (Ctrl-D, or the end of a piped file)"));
                }
                return Ok(text(&rest));
            }
            n if n > 0 => {
                let n = usize::try_from(n).unwrap_or(0);
                guard(&PENDING).extend_from_slice(&chunk[..n]);
            }
            _ => {
                let err = std::io::Error::last_os_error();
                match err.kind() {
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock => {}
                    _ => return Err(ScriptError::os(&err, "reading standard input")),
                }
            }
        }
    }
}

fn text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}
