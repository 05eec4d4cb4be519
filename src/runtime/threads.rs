//! The OS threads that tasks run on.
//!
//! A task is a Rhai function running on its own OS thread (Rhai evaluates
//! synchronously, and tasks block in socket calls). Starting a thread costs
//! tens of microseconds, so finished threads wait a short while for the
//! next task instead of exiting; after [`KEEP_ALIVE`] with nothing to do
//! they exit, so an idle program returns to its baseline thread count.

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
    std::thread::Builder::new()
        .name("sockrepl-task".into())
        .spawn(move || {
            job();
            worker(pool);
        })
        .map(drop)
}

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
