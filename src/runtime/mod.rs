//! The bottom layer: the reactor, waiting, cancellation, and who runs.
//!
//! Rhai evaluates synchronously, so a script never runs on a tokio worker:
//! it runs on an ordinary OS thread (the thread that called
//! `Session::run`, or a thread of its own for a task). When a native
//! function has to wait for the network, a timer or standard input, it
//! calls [`wait`], which parks the script's thread on a tokio future while
//! the reactor's workers drive the I/O; sockets wait on their own thread
//! with [`poll::wait_fd`].
//!
//! Every wait also watches the calling task's cancellation token (see
//! [`context`]). Cancelling a task, Ctrl-C on a line, or the end of a
//! session cancels that token; the blocked call then returns
//! `KeyboardInterrupt` at once, and the engine's progress hook stops the
//! script before its next operation, so even a busy loop ends promptly.
//! Because cancelling drops the future, no thread or socket is left behind
//! by an interrupted call.
//!
//! Process-wide here, and only here: the reactor (one set of I/O threads
//! serves every session), the pool of idle task threads, the spin budget
//! (a property of the machine's cores), standard input (the process has
//! one) and the signal handlers (signals belong to the process). None of
//! them holds a script's state.

pub mod context;
pub mod deadline;
pub mod poll;
pub mod signal;
pub mod spin;
mod stdin;
pub mod threads;

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};

pub use context::{cancel_token, is_cancelled};
pub use deadline::{Deadline, seconds};
pub use stdin::read_line;

use crate::error::ScriptError;

/// The reactor that drives every socket and timer in the process.
pub fn handle() -> &'static Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
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

/// Blocks the calling script thread until `fut` completes, the `deadline`
/// passes (`TimeoutError`), or the calling task is cancelled
/// (`KeyboardInterrupt`). Native functions that add their own blocking
/// calls use this so Ctrl-C and `cancel()` reach them too.
pub fn wait<F: Future>(fut: F, deadline: Deadline) -> Result<F::Output, ScriptError> {
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
            out = until(fut, deadline) => out,
        }
    })
}

/// `fut`, or `TimeoutError` once `deadline` passes.
pub async fn until<F: Future>(fut: F, deadline: Deadline) -> Result<F::Output, ScriptError> {
    match deadline.instant() {
        Some(at) => tokio::time::timeout_at(at.into(), fut)
            .await
            .map_err(|_| ScriptError::timed_out()),
        None => Ok(fut.await),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn wait_returns_the_future_output() {
        assert_eq!(wait(async { 7 }, Deadline::NEVER), Ok(7));
    }

    #[test]
    fn wait_times_out() {
        let out = wait(
            std::future::pending::<()>(),
            Deadline::after(Some(Duration::from_millis(10))),
        );
        assert_eq!(out, Err(ScriptError::timed_out()));
    }

    #[test]
    fn cancelling_interrupts_a_pending_wait() {
        let session = context::SessionCore::new();
        let task = session.new_task(None, session.root().child_token(), false);
        let remote = task.clone();
        let waiter = std::thread::spawn(move || {
            let _in = context::enter(task);
            wait(std::future::pending::<()>(), Deadline::NEVER)
        });
        std::thread::sleep(Duration::from_millis(20));
        remote.cancel();
        assert_eq!(waiter.join().ok(), Some(Err(ScriptError::interrupted())));
    }
}
