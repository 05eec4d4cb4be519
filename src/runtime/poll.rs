//! Waiting for a socket directly on the script's thread.
//!
//! Going through the reactor costs two thread hand-offs per wait (kernel →
//! runtime worker → script thread), which dominates lock-step protocols
//! like TFTP where every packet waits for the previous reply. Sockets
//! therefore wait with `ppoll` on the script's own thread.
//!
//! The wait must still end when the thread's script is cancelled, without
//! waking up to check: a server holding 10,000 idle connections has
//! 10,000 threads in this wait, and waking each every few milliseconds
//! would keep the machine busy doing nothing. So the wait registers a
//! waker with the thread's cancellation token (which also fires when a
//! parent token is cancelled); cancelling sends the thread `SIGRTMIN+4`,
//! which interrupts its `ppoll`. The signal is blocked on the thread except
//! inside `ppoll` (its mask argument), so a signal sent just before the
//! call is not lost: it stays pending and ends the call at once.

use std::future::Future;
use std::os::fd::RawFd;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use super::signal::{install_wake_signal, wake_signal};
use super::{Deadline, cancel_token, is_cancelled};
use crate::error::ScriptError;

/// The longest a wait goes without looking at its token anyway: a safety
/// net only, since cancelling wakes the wait at once.
pub const SLICE: Duration = Duration::from_secs(5);

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Readable.
    Read,
    /// Writable.
    Write,
}

impl Ready {
    /// The `poll` events that mean this.
    pub fn events(self) -> libc::c_short {
        match self {
            Ready::Read => libc::POLLIN,
            Ready::Write => libc::POLLOUT,
        }
    }
}

thread_local! {
    /// The signal mask for `ppoll`: this thread's mask without the wake
    /// signal, which is blocked everywhere else on the thread. A property
    /// of the OS thread, not of any script.
    static WAIT_MASK: Option<libc::sigset_t> = block_wake_signal();
}

fn block_wake_signal() -> Option<libc::sigset_t> {
    // Without our handler the signal would kill the process: fall back to
    // waking in short slices instead (the session refused to start already).
    install_wake_signal().ok()?;
    // SAFETY: plain signal-set manipulation on local values, and changing
    // the calling thread's own mask.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, wake_signal());
        let mut old: libc::sigset_t = std::mem::zeroed();
        if libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old) != 0 {
            return None;
        }
        libc::sigdelset(&mut old, wake_signal());
        Some(old)
    }
}

/// Interrupts one thread's `ppoll` while that thread is in [`wait_fd`].
struct Interrupter {
    /// The waiting thread; `None` once it left the wait, so that a late
    /// wake-up never signals a thread that may have exited.
    thread: Mutex<Option<libc::pthread_t>>,
}

impl Wake for Interrupter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Ok(thread) = self.thread.lock()
            && let Some(thread) = *thread
        {
            // SAFETY: the thread is inside wait_fd (it clears this under
            // the same lock before leaving), so it is alive.
            unsafe { libc::pthread_kill(thread, wake_signal()) };
        }
    }
}

/// Clears the interrupter when the wait ends, however it ends.
struct Leaving(Arc<Interrupter>);

impl Drop for Leaving {
    fn drop(&mut self) {
        if let Ok(mut thread) = self.0.thread.lock() {
            *thread = None;
        }
    }
}

/// Waits until `fd` is ready (or in error, which the next call reports),
/// `timeout` passes (`TimeoutError`) or the thread is cancelled
/// (`KeyboardInterrupt`).
pub fn wait_fd(fd: RawFd, ready: Ready, deadline: Deadline) -> Result<(), ScriptError> {
    let events = ready.events();
    let mask = WAIT_MASK.with(|mask| *mask);
    let token = cancel_token();
    let mut cancelled = pin!(token.cancelled());
    // SAFETY: pthread_self has no preconditions.
    let interrupter = Arc::new(Interrupter {
        thread: Mutex::new(Some(unsafe { libc::pthread_self() })),
    });
    let _leaving = Leaving(interrupter.clone());
    let waker = Waker::from(interrupter);
    // Registers the waker with the token (and so with its parents).
    if cancelled.as_mut().poll(&mut Context::from_waker(&waker)).is_ready() {
        return Err(ScriptError::interrupted());
    }
    // Without a mask the signal cannot be used; fall back to short slices.
    let longest = if mask.is_some() {
        SLICE
    } else {
        Duration::from_millis(25)
    };
    loop {
        if is_cancelled() {
            return Err(ScriptError::interrupted());
        }
        let slice = match deadline.left() {
            Some(left) if left.is_zero() => return Err(ScriptError::timed_out()),
            Some(left) => left.min(longest),
            None => longest,
        };
        let mut pfd = libc::pollfd { fd, events, revents: 0 };
        let spec = libc::timespec {
            tv_sec: libc::time_t::try_from(slice.as_secs()).unwrap_or(5),
            tv_nsec: libc::c_long::from(slice.subsec_nanos()),
        };
        let mask_ptr = mask.as_ref().map_or(std::ptr::null(), |m| m as *const libc::sigset_t);
        // SAFETY: one valid pollfd, a valid timespec, a valid mask or null.
        let n = unsafe { libc::ppoll(&mut pfd, 1, &spec, mask_ptr) };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::context::{SessionCore, enter};
    use std::time::Instant;

    /// A wait with nothing to wake it but the token ends as soon as the
    /// token (here its parent) is cancelled, long before the safety slice.
    #[test]
    fn cancelling_a_parent_token_wakes_the_wait_at_once() {
        let (reader, _writer) = std::os::unix::net::UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let session = SessionCore::new();
        let task = session.new_task(None, session.root().child_token(), false);
        let waiting = std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            let _in = enter(task);
            let start = Instant::now();
            let result = wait_fd(reader.as_raw_fd(), Ready::Read, Deadline::NEVER);
            (result, start.elapsed())
        });
        std::thread::sleep(Duration::from_millis(100));
        session.cancel();
        let (result, took) = waiting.join().unwrap_or_else(|_| panic!("waiting thread panicked"));
        assert_eq!(result, Err(ScriptError::interrupted()));
        assert!(took < SLICE, "the wait should end when cancelled, took {took:?}");
    }

    #[test]
    fn a_ready_socket_and_a_timeout_still_end_the_wait() {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let (reader, mut writer) = std::os::unix::net::UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
        let timeout = wait_fd(
            reader.as_raw_fd(),
            Ready::Read,
            Deadline::after(Some(Duration::from_millis(20))),
        );
        assert_eq!(timeout, Err(ScriptError::timed_out()));
        writer.write_all(b"x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(wait_fd(reader.as_raw_fd(), Ready::Read, Deadline::NEVER), Ok(()));
    }
}
