//! Ctrl-C and the wake-up signal: the process's two signal handlers.
//!
//! SIGINT belongs to the process, not to a session, so it has one
//! installer: [`on_interrupt`] routes each Ctrl-C to a callback that the
//! program running the session chooses (the binary cancels the running
//! script, exiting at the second press; the shell cancels the line being
//! evaluated). Sessions themselves never touch the handler, so an embedder
//! with two sessions decides which one Ctrl-C reaches.
//!
//! The wake-up signal (`SIGRTMIN+4`) interrupts a thread blocked in `ppoll`
//! when its task is cancelled (see [`super::poll`]). Installing it checks
//! `sigaction`'s result and refuses to replace a handler that is already
//! there: an embedder that uses that signal gets a clear error at start-up
//! instead of losing its handler silently.

use std::sync::{Arc, Mutex, OnceLock};

/// The signal that interrupts a waiting thread.
pub fn wake_signal() -> libc::c_int {
    libc::SIGRTMIN() + 4
}

extern "C" fn ignore(_: libc::c_int) {}

/// Installs the wake-up signal's handler once per process. The error says
/// why it could not be, and what to do.
pub fn install_wake_signal() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED.get_or_init(install_wake_handler).clone()
}

fn install_wake_handler() -> Result<(), String> {
    let signal = wake_signal();
    // SAFETY: reads the current action of a valid signal into a zeroed
    // struct, then installs a handler that does nothing; both are plain
    // system calls on valid pointers.
    unsafe {
        let mut existing: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, std::ptr::null(), &mut existing) != 0 {
            return Err(format!(
                "cannot read the handler of signal {signal}: {}",
                std::io::Error::last_os_error()
            ));
        }
        let handler = existing.sa_sigaction;
        if handler != libc::SIG_DFL && handler != ignore as extern "C" fn(libc::c_int) as usize {
            return Err(format!(
                "signal {signal} (SIGRTMIN+4) already has a handler; sockrepl uses it to wake blocked \
                 scripts when they are cancelled. Leave that signal to sockrepl, or use another one in your program"
            ));
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore as extern "C" fn(libc::c_int) as usize;
        // Without SA_RESTART, so that ppoll returns.
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
            return Err(format!(
                "cannot install the handler of signal {signal}: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

type Callback = Arc<dyn Fn() + Send + Sync>;

fn callback() -> &'static Mutex<Option<Callback>> {
    static CALLBACK: Mutex<Option<Callback>> = Mutex::new(None);
    &CALLBACK
}

/// Makes each Ctrl-C call `f` (replacing the previous callback). The
/// listener starts on first call, inside the runtime, before any script
/// runs, so no early Ctrl-C falls through to the default "kill" action.
///
/// ```no_run
/// let session = sockrepl::Session::new()?;
/// let on_ctrl_c = session.clone();
/// sockrepl::on_interrupt(move || on_ctrl_c.end()).expect("Ctrl-C handler");
/// let outcome = session.run_source("server.rhai", "let s = socket(); s.bind(\"127.0.0.1:0\"); s.listen(); s.accept();");
/// assert_eq!(outcome, sockrepl::Outcome::Interrupted);   // after Ctrl-C
/// # Ok::<(), sockrepl::StartError>(())
/// ```
pub fn on_interrupt(f: impl Fn() + Send + Sync + 'static) -> std::io::Result<()> {
    static LISTENING: OnceLock<Result<(), String>> = OnceLock::new();
    *super::context::guard(callback()) = Some(Arc::new(f));
    let started = LISTENING.get_or_init(|| {
        use tokio::signal::unix::{SignalKind, signal};
        let handle = super::handle();
        let mut interrupts = {
            let _context = handle.enter();
            signal(SignalKind::interrupt()).map_err(|e| e.to_string())?
        };
        handle.spawn(async move {
            while interrupts.recv().await.is_some() {
                let current = super::context::guard(callback()).clone();
                if let Some(f) = current {
                    f();
                }
            }
        });
        Ok(())
    });
    started.clone().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wake_signal_installs_once() {
        assert_eq!(install_wake_signal(), Ok(()));
        assert_eq!(install_wake_signal(), Ok(()));
    }
}
