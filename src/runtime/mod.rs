//! The bridge between synchronous Rhai and the tokio reactor.
//!
//! Rhai evaluates synchronously, so a script never runs on a tokio worker:
//! it runs on an ordinary OS thread (the binary's main thread, or a thread
//! of its own for a task). When a native function has to wait for the
//! network, a timer or standard input, it calls [`wait`], which parks the
//! script's thread on a tokio future while the shared runtime's workers
//! drive the I/O.
//!
//! Every wait also watches the calling thread's [`CancellationToken`]. The
//! REPL's Ctrl-C and a task's `cancel()` cancel that token; the blocked call
//! then returns `KeyboardInterrupt` at once, and the engine's progress
//! callback ([`check_cancelled`]) stops the script before its next
//! operation, so even a busy loop ends promptly. Because cancelling drops the
//! future, no thread or socket is left behind by an interrupted call.

pub mod poll;
pub mod spin;
mod stdin;
pub mod task;
pub mod threads;

use std::cell::RefCell;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};
pub use tokio_util::sync::CancellationToken;

use crate::error::ScriptError;
pub use stdin::read_line;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide runtime that drives every socket and timer.
pub fn handle() -> &'static Handle {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sockrepl-io")
                .enable_all()
                .build()
                .unwrap_or_else(|err| {
                    // Nothing a script does can reach this: only an OS that
                    // refuses threads or an epoll instance at start-up.
                    eprintln!("sockrepl: cannot start the I/O runtime: {err}");
                    std::process::exit(70)
                })
        })
        .handle()
}

thread_local! {
    static CANCEL: RefCell<CancellationToken> = RefCell::new(CancellationToken::new());
}

/// Makes `token` the cancellation signal of the calling thread's script.
pub fn set_cancel_token(token: CancellationToken) {
    CANCEL.with(|cell| *cell.borrow_mut() = token);
}

/// The calling thread's cancellation signal.
pub fn cancel_token() -> CancellationToken {
    CANCEL.with(|cell| cell.borrow().clone())
}

/// True once the calling thread's script has been cancelled.
pub fn is_cancelled() -> bool {
    CANCEL.with(|cell| cell.borrow().is_cancelled())
}

/// Fails with `KeyboardInterrupt` when the calling thread was cancelled.
pub fn check_cancelled() -> Result<(), ScriptError> {
    if is_cancelled() {
        Err(ScriptError::interrupted())
    } else {
        Ok(())
    }
}

/// Blocks the calling script thread until `fut` completes, the optional
/// `timeout` passes (`TimeoutError`), or the thread is cancelled
/// (`KeyboardInterrupt`). Native functions that add their own blocking
/// calls use this so Ctrl-C and `cancel()` reach them too.
///
/// ```
/// use std::time::Duration;
/// use sockrepl::runtime;
///
/// let slept = runtime::wait(async { tokio::time::sleep(Duration::from_millis(1)).await; 5 }, None);
/// assert_eq!(slept, Ok(5));
/// let late = runtime::wait(std::future::pending::<()>(), Some(Duration::from_millis(5)));
/// assert!(late.is_err_and(|e| e.class == "TimeoutError"));
/// ```
pub fn wait<F: Future>(fut: F, timeout: Option<Duration>) -> Result<F::Output, ScriptError> {
    let token = cancel_token();
    if token.is_cancelled() {
        return Err(ScriptError::interrupted());
    }
    if Handle::try_current().is_ok() {
        // Blocking here would stall a reactor thread; embedding code must
        // run scripts on their own threads.
        return Err(ScriptError::new(
            "RuntimeError",
            "a blocking socket call was made on a tokio worker thread",
        )
        .hint("run Rhai scripts on a plain OS thread (std::thread::spawn or spawn_blocking)"));
    }
    handle().block_on(async move {
        tokio::select! {
            biased;
            _ = token.cancelled() => Err(ScriptError::interrupted()),
            out = with_timeout(fut, timeout) => out,
        }
    })
}

async fn with_timeout<F: Future>(fut: F, timeout: Option<Duration>) -> Result<F::Output, ScriptError> {
    match timeout {
        Some(limit) => tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| ScriptError::timed_out()),
        None => Ok(fut.await),
    }
}

/// Makes Ctrl-C (SIGINT) cancel `token`: the script's blocking call
/// returns and the script stops before its next operation. A second
/// Ctrl-C exits the process at once with status 130.
pub fn cancel_on_ctrl_c(token: CancellationToken) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handle = handle();
    // Registering inside the runtime's context, before the script starts,
    // means no early Ctrl-C falls through to the default "kill" action.
    let mut interrupts = {
        let _context = handle.enter();
        signal(SignalKind::interrupt())?
    };
    handle.spawn(async move {
        while interrupts.recv().await.is_some() {
            if token.is_cancelled() {
                std::process::exit(130);
            }
            token.cancel();
        }
    });
    Ok(())
}

/// Converts a script's number of seconds into a duration, refusing
/// negative, NaN and absurd values with a message instead of panicking.
pub fn seconds(secs: f64) -> Result<Duration, ScriptError> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(ScriptError::value(format!(
            "a time in seconds must be a non-negative number, not {secs}"
        )));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| ScriptError::value(format!("{secs} seconds is too long")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_returns_the_future_output() {
        assert_eq!(wait(async { 7 }, None), Ok(7));
    }

    #[test]
    fn wait_times_out() {
        let out = wait(std::future::pending::<()>(), Some(Duration::from_millis(10)));
        assert_eq!(out, Err(ScriptError::timed_out()));
    }

    #[test]
    fn cancelling_interrupts_a_pending_wait() {
        let token = CancellationToken::new();
        let remote = token.clone();
        let waiter = std::thread::spawn(move || {
            set_cancel_token(token);
            wait(std::future::pending::<()>(), None)
        });
        std::thread::sleep(Duration::from_millis(20));
        remote.cancel();
        assert_eq!(waiter.join().ok(), Some(Err(ScriptError::interrupted())));
    }

    #[test]
    fn seconds_rejects_bad_values() {
        assert!(seconds(-1.0).is_err());
        assert!(seconds(f64::NAN).is_err());
        assert_eq!(seconds(0.5), Ok(Duration::from_millis(500)));
    }
}
