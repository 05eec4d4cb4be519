//! Standard input for `input()`.
//!
//! Reading a terminal or a pipe cannot be cancelled, so one long-lived
//! reader thread reads a line only when a script asks for one and hands it
//! over a channel. An interrupted `input()` leaves that request pending and
//! the next `input()` receives the line, so interrupting never strands a
//! thread per call or loses typed text.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, mpsc};

use tokio::sync::{Mutex, mpsc as tmpsc};

use super::{Deadline, wait};
use crate::error::ScriptError;

struct Reader {
    requests: mpsc::Sender<()>,
    lines: Mutex<tmpsc::UnboundedReceiver<std::io::Result<Option<String>>>>,
    /// A line has been asked for and not yet taken.
    pending: AtomicBool,
}

static READER: OnceLock<Reader> = OnceLock::new();

fn reader() -> &'static Reader {
    READER.get_or_init(|| {
        let (requests, asked) = mpsc::channel::<()>();
        let (send_line, lines) = tmpsc::unbounded_channel();
        let spawned = std::thread::Builder::new()
            .name("sockrepl-stdin".into())
            .spawn(move || {
                let stdin = std::io::stdin();
                while asked.recv().is_ok() {
                    let mut line = String::new();
                    let read = match stdin.lock().read_line(&mut line) {
                        Ok(0) => Ok(None),
                        Ok(_) => Ok(Some(line)),
                        Err(err) => Err(err),
                    };
                    if send_line.send(read).is_err() {
                        break;
                    }
                }
            });
        if let Err(err) = spawned {
            eprintln!("sockrepl: cannot start the stdin reader: {err}");
        }
        Reader {
            requests,
            lines: Mutex::new(lines),
            pending: AtomicBool::new(false),
        }
    })
}

/// Reads one line from standard input without its line ending; `EOFError`
/// at end of input, `KeyboardInterrupt` when cancelled.
pub fn read_line() -> Result<String, ScriptError> {
    let reader = reader();
    let mut lines = wait(reader.lines.lock(), Deadline::NEVER)?;
    if !reader.pending.swap(true, Ordering::SeqCst) && reader.requests.send(()).is_err() {
        return Err(ScriptError::new("OSError", "standard input is unavailable"));
    }
    let received = wait(lines.recv(), Deadline::NEVER)?;
    reader.pending.store(false, Ordering::SeqCst);
    match received {
        Some(Ok(Some(mut line))) => {
            if line.ends_with('\n') {
                line.pop();
                if line.ends_with('\r') {
                    line.pop();
                }
            }
            Ok(line)
        }
        Some(Ok(None)) => Err(ScriptError::new("EOFError", "EOF when reading a line")
            .hint("standard input has ended (Ctrl-D, or the end of a piped file)")),
        Some(Err(err)) => Err(ScriptError::os(&err, "reading standard input")),
        None => Err(ScriptError::new("OSError", "standard input is unavailable")),
    }
}
