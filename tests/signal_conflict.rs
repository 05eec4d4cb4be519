//! An embedder's own handler for the signal sockrepl uses to wake blocked
//! scripts is refused with a clear error when a session starts, never
//! replaced silently. Alone in its own test program: signal handlers
//! belong to the whole process.

extern "C" fn embedders_handler(_: libc::c_int) {}

#[test]
fn a_handler_already_on_the_wake_signal_is_refused_at_start() {
    let wake = libc::SIGRTMIN() + 4;
    // SAFETY: installs a handler that does nothing, before any session
    // exists in this process.
    let previous = unsafe {
        libc::signal(
            wake,
            embedders_handler as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )
    };
    assert_ne!(previous, libc::SIG_ERR);
    let refused = sockrepl::Session::new()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("already has a handler") && refused.contains("SIGRTMIN+4"),
        "{refused:?}"
    );
    // The embedder's handler is still there.
    // SAFETY: reads the current action of a valid signal.
    let still = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        libc::sigaction(wake, std::ptr::null(), &mut action);
        action.sa_sigaction
    };
    assert_eq!(still, embedders_handler as extern "C" fn(libc::c_int) as usize);
}
