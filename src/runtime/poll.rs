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

/// What a thread needs to sleep in `ppoll`; properties of the OS thread,
/// not of any script, worked out once per thread.
struct Sleeper {
    /// The signal mask for `ppoll`: this thread's mask without the wake
    /// signal, which is blocked everywhere else on the thread.
    mask: Option<libc::sigset_t>,
    /// The lowest address of this thread's stack, for task threads only
    /// (0 elsewhere: a main thread's stack bounds are an estimate).
    stack_low: usize,
}

thread_local! {
    static SLEEPER: Sleeper = Sleeper {
        mask: block_wake_signal(),
        stack_low: if super::threads::is_task_thread() { stack_low() } else { 0 },
    };
}

fn stack_low() -> usize {
    // SAFETY: reads the calling thread's own attributes into local values.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return 0;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: usize = 0;
        let found = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if found == 0 { addr as usize } else { 0 }
    }
}

const PAGE: usize = 4096;

/// How long a wait lasts before its thread counts as idle and gives back
/// its unused stack (see `release_stack_below`). A busy connection's
/// waits are shorter and never pay for the `madvise`, whose TLB flush
/// across cores cost a task-per-client server a third of its requests
/// per second when every wait made it.
const IDLE_AFTER: Duration = Duration::from_millis(100);

/// Gives back the stack pages below the current frame that an earlier,
/// deeper call touched, before a task thread goes to sleep. A server holds
/// one sleeping thread per idle client, and what each costs is its
/// resident stack; the deepest moment of a request (formatting a message,
/// a first function lookup) need not stay resident while the client is
/// idle. The pages come back zero-filled if the thread goes that deep again.
/// Called once a wait has lasted [`IDLE_AFTER`].
///
/// Only what is certainly unused is released: below the stack pointer,
/// below the 128-byte red zone a leaf function may use, and with the
/// system call made inline so that no return address is pushed into the
/// range. Elsewhere than x86-64 Linux this does nothing.
#[inline(never)]
fn release_stack_below(stack_low: usize) {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        if stack_low == 0 {
            return;
        }
        let sp: usize;
        // SAFETY: reads the stack pointer; no memory is touched.
        unsafe { std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
        let end = sp.saturating_sub(128) & !(PAGE - 1);
        let start = (stack_low + PAGE - 1) & !(PAGE - 1);
        if end <= start {
            return;
        }
        // SAFETY: [start, end) is part of this thread's own stack (a task
        // thread's exact bounds) and lies below the stack pointer and its
        // red zone, so no live data is there; the `syscall` instruction
        // itself uses no user stack. MADV_DONTNEED on private anonymous
        // memory makes the pages read as zeros when next touched.
        unsafe {
            let _ret: usize;
            std::arch::asm!(
                "syscall",
                inlateout("rax") libc::SYS_madvise as usize => _ret,
                in("rdi") start,
                in("rsi") end - start,
                in("rdx") libc::MADV_DONTNEED as usize,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    let _ = stack_low;
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
    // The pinned future lives on the heap: this frame is part of the stack
    // every sleeping task keeps (see release_stack_below).
    let mut cancelled = Box::pin(cancel_token().cancelled_owned());
    // SAFETY: pthread_self has no preconditions.
    let interrupter = Arc::new(Interrupter {
        thread: Mutex::new(Some(unsafe { libc::pthread_self() })),
    });
    let _leaving = Leaving(interrupter.clone());
    // Registers the waker with the token (and so with its parents).
    let waker = Waker::from(interrupter);
    if cancelled.as_mut().poll(&mut Context::from_waker(&waker)).is_ready() {
        return Err(ScriptError::interrupted());
    }
    // The mask stays in the thread-local; ppoll reads it from there.
    let (mask, stack_low) = SLEEPER.with(|s| (s.mask.as_ref().map(|m| m as *const libc::sigset_t), s.stack_low));
    // Without a mask the signal cannot be used; fall back to short slices.
    let longest = if mask.is_some() {
        SLICE
    } else {
        Duration::from_millis(25)
    };
    let mut idle = false;
    loop {
        if is_cancelled() {
            return Err(ScriptError::interrupted());
        }
        let slice = match deadline.left() {
            Some(left) if left.is_zero() => return Err(ScriptError::timed_out()),
            Some(left) => left.min(longest),
            None => longest,
        };
        let slice = if idle { slice } else { slice.min(IDLE_AFTER) };
        let mut pfd = libc::pollfd {
            fd,
            events: ready.events(),
            revents: 0,
        };
        let spec = libc::timespec {
            tv_sec: libc::time_t::try_from(slice.as_secs()).unwrap_or(5),
            tv_nsec: libc::c_long::from(slice.subsec_nanos()),
        };
        // SAFETY: one valid pollfd, a valid timespec, and a mask that is
        // null or points into this thread's own thread-local, which lives
        // as long as the thread.
        let n = unsafe { libc::ppoll(&mut pfd, 1, &spec, mask.unwrap_or(std::ptr::null())) };
        if n > 0 {
            return Ok(());
        }
        if n == 0 && !idle {
            idle = true;
            release_stack_below(stack_low);
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
