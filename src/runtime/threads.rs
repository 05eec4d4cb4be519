//! The OS threads that tasks run on.
//!
//! A task is a Rhai function running on its own OS thread (Rhai evaluates
//! synchronously, and tasks block in socket calls). Starting a thread costs
//! tens of microseconds, so finished threads wait a short while for the
//! next task instead of exiting; after [`KEEP_ALIVE`] with nothing to do
//! they exit, so an idle program returns to its baseline thread count.
//!
//! A server holds one such thread per idle client, and what a blocked
//! thread costs is the stack pages it has touched: glibc's thread block
//! (about 4.3 KiB), Rhai's evaluator (about 9 KiB for a handler blocked in
//! `recv` inside a loop and a `try`), and ours. The threads are started
//! with `pthread_create` directly rather than `std::thread`, whose start-up
//! frames (1.3 KiB) would stay under every task for its whole life and push
//! the blocked stack from four pages to five: 10,000 idle clients then
//! take 40 MiB less. Nothing here needs what `std::thread` adds (a join
//! handle, a name for `thread::current`).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an idle task thread waits for more work before exiting.
pub const KEEP_ALIVE: Duration = Duration::from_secs(2);

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job that no queued job has been promised to.
    idle: usize,
}

#[derive(Default)]
struct Pool {
    queue: Mutex<Queue>,
    wake: Condvar,
}

static POOL: OnceLock<Pool> = OnceLock::new();

fn pool() -> &'static Pool {
    POOL.get_or_init(Pool::default)
}

fn lock(pool: &Pool) -> std::sync::MutexGuard<'_, Queue> {
    pool.queue.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Runs `job` on an idle task thread, or on a new one if none is idle.
pub fn run(job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let pool = pool();
    let mut queue = lock(pool);
    if queue.idle > 0 {
        queue.idle -= 1;
        queue.jobs.push_back(Box::new(job));
        drop(queue);
        pool.wake.notify_one();
        return Ok(());
    }
    drop(queue);
    start_thread(Box::new(move || {
        job();
        worker(pool);
    }))
}

/// The stack each task thread reserves (only touched pages use memory):
/// as much as `std::thread` gives, far more than the deepest call chain
/// the call-depth limit allows.
const STACK_SIZE: usize = 2 * 1024 * 1024;

type Main = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    /// Set on the threads started here, whose stacks we made.
    static TASK_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True on a thread started by [`run`].
pub fn is_task_thread() -> bool {
    TASK_THREAD.with(std::cell::Cell::get)
}

fn start_thread(main: Main) -> std::io::Result<()> {
    let main = Box::into_raw(Box::new(main));
    // SAFETY: plain pthread calls on values we own; `main` is handed to
    // the new thread, which takes it back with Box::from_raw exactly once,
    // or is freed here if the thread could not start.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        let mut rc = libc::pthread_attr_init(&mut attr);
        if rc == 0 {
            rc = libc::pthread_attr_setstacksize(&mut attr, STACK_SIZE);
        }
        if rc == 0 {
            rc = libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        }
        let mut thread: libc::pthread_t = std::mem::zeroed();
        if rc == 0 {
            rc = libc::pthread_create(&mut thread, &attr, thread_main, main.cast());
        }
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 {
            drop(Box::from_raw(main));
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        libc::pthread_setname_np(thread, c"sockrepl-task".as_ptr());
    }
    Ok(())
}

extern "C" fn thread_main(main: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `main` came from Box::into_raw in start_thread, for this
    // thread only.
    let main = unsafe { Box::from_raw(main.cast::<Main>()) };
    TASK_THREAD.with(|flag| flag.set(true));
    // A panic must never unwind into C; task bodies catch their own, so
    // this only guards the pool's bookkeeping.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(main));
    std::ptr::null_mut()
}

#[inline(never)]
fn worker(pool: &'static Pool) {
    loop {
        let mut queue = lock(pool);
        queue.idle += 1;
        let deadline = Instant::now() + KEEP_ALIVE;
        let job = loop {
            if let Some(job) = queue.jobs.pop_front() {
                // `run` took this thread off the idle count when it queued
                // the job.
                break Some(job);
            }
            let now = Instant::now();
            if now >= deadline {
                queue.idle = queue.idle.saturating_sub(1);
                break None;
            }
            queue = pool
                .wake
                .wait_timeout(queue, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poison| poison.into_inner().0);
        };
        drop(queue);
        match job {
            Some(job) => job(),
            None => return,
        }
    }
}
