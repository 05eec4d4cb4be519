//! Spinning briefly instead of sleeping.
//!
//! A reply on loopback, or a task that finishes at once, usually arrives
//! within tens of microseconds, while sleeping and being woken costs about
//! as much again (more on a virtual machine whose idle cores doze), so
//! lock-step protocols (TFTP, a request/response loop) and spawn-then-join
//! go markedly faster when the waiter checks again for a moment first.
//!
//! Spinning only pays while a core is free to spin on: with many busy
//! threads (a server with hundreds of clients) spinners would steal the CPU
//! from the threads doing the work. So at most one thread fewer than there
//! are cores spins at a time; the others go to sleep at once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a waiter spins before sleeping.
pub const SPIN: Duration = Duration::from_micros(50);

static SPINNING: AtomicUsize = AtomicUsize::new(0);

fn max_spinners() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_sub(1)
            .max(1)
    })
}

/// Checks `ready` repeatedly for up to [`SPIN`], if a core is free to
/// spin on; true as soon as it holds, false if the caller should sleep.
pub fn until(mut ready: impl FnMut() -> bool) -> bool {
    if SPINNING.fetch_add(1, Ordering::Relaxed) >= max_spinners() {
        SPINNING.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    let start = Instant::now();
    let mut became_ready = false;
    while start.elapsed() < SPIN {
        if ready() {
            became_ready = true;
            break;
        }
        std::hint::spin_loop();
    }
    SPINNING.fetch_sub(1, Ordering::Relaxed);
    became_ready
}
