//! Waiting for a socket directly on the script's thread.
//!
//! Going through the reactor costs two thread hand-offs per wait (kernel →
//! runtime worker → script thread), which dominates lock-step protocols
//! like TFTP where every packet waits for the previous reply. Sockets
//! therefore wait with `ppoll` on the script's own thread, in slices of
//! [`SLICE`], checking the thread's cancellation token between slices, so
//! Ctrl-C and `cancel()` still interrupt within a slice.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::is_cancelled;
use crate::error::ScriptError;

/// The longest a wait goes without checking for cancellation.
pub const SLICE: Duration = Duration::from_millis(25);

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Readable.
    Read,
    /// Writable.
    Write,
}

/// Waits until `fd` is ready (or in error, which the next call reports),
/// `timeout` passes (`TimeoutError`) or the thread is cancelled
/// (`KeyboardInterrupt`).
pub fn wait_fd(fd: RawFd, ready: Ready, timeout: Option<Duration>) -> Result<(), ScriptError> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let events = match ready {
        Ready::Read => libc::POLLIN,
        Ready::Write => libc::POLLOUT,
    };
    loop {
        if is_cancelled() {
            return Err(ScriptError::interrupted());
        }
        let slice = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(SLICE),
                _ => return Err(ScriptError::timed_out()),
            },
            None => SLICE,
        };
        let mut pfd = libc::pollfd { fd, events, revents: 0 };
        let spec = libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::c_long::try_from(slice.as_nanos()).unwrap_or(25_000_000),
        };
        // SAFETY: one valid pollfd, a valid timespec, and no signal mask.
        let n = unsafe { libc::ppoll(&mut pfd, 1, &spec, std::ptr::null()) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(ScriptError::os(&err, "poll"));
            }
        }
    }
}
