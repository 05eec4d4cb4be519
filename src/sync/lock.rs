//! `lock()`: Python's `threading.Lock`, with deadlock detection.
//!
//! Acquiring a free lock is one atomic compare-and-swap. Only a task that
//! has to wait touches the global wait-for graph: before it sleeps it
//! records which lock it waits for and follows "lock held by task, task
//! waits for lock" edges from there. If the chain comes back to itself,
//! waiting would never end, so it fails at once with a `DeadlockError`
//! that names every task and lock in the cycle.
//!
//! Because any task may release any lock, a cycle is only a suspicion
//! when it forms: seed 003's ordered demo has each task wait on a lock it
//! holds itself until a neighbour releases it. A waiter therefore reports
//! a deadlock only when the cycle is still there after [`GRACE`].
//!
//! As in Python, any task may release a lock, not only the one that
//! acquired it (seed 003's ordered A→B→C demo relies on this).
//!
//! A task that fails or is cancelled releases the locks it still holds,
//! as Python's `with lock:` does when an exception leaves the block, so
//! one failure (a reported deadlock included) cannot hang the others.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::error::ScriptError;
use crate::runtime::{self, task};

static NEXT_LOCK: AtomicU64 = AtomicU64::new(1);

/// How long a wait-for cycle must persist before it is reported.
pub const GRACE: Duration = Duration::from_millis(500);

/// A lock handle; copies refer to the same lock.
#[derive(Clone)]
pub struct Lock {
    shared: Arc<LockShared>,
}

struct LockShared {
    name: String,
    /// The id of the task holding the lock; 0 when free.
    owner: AtomicU64,
    /// Tasks in the slow path; release skips the wake-up when there are none.
    waiters: std::sync::atomic::AtomicUsize,
    released: Notify,
}

/// Who waits for which lock: task id -> the lock it waits for.
fn waiting() -> &'static Mutex<HashMap<u64, Lock>> {
    static WAITING: OnceLock<Mutex<HashMap<u64, Lock>>> = OnceLock::new();
    WAITING.get_or_init(Default::default)
}

thread_local! {
    /// Locks this thread's task acquired and may still hold.
    static HELD: std::cell::RefCell<Vec<Lock>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn note_held(lock: &Lock, me: u64) {
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        if held.len() >= 64 {
            // Locks that other tasks released for us need no tracking.
            held.retain(|l| l.shared.owner.load(Ordering::Relaxed) == me);
        }
        held.push(lock.clone());
    });
}

/// Releases every lock the calling thread's task still holds; called when
/// a task fails or is cancelled.
pub fn release_abandoned(me: u64) {
    let held = HELD.with(|held| std::mem::take(&mut *held.borrow_mut()));
    for lock in held {
        if lock
            .shared
            .owner
            .compare_exchange(me, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            lock.shared.released.notify_one();
        }
    }
}

/// Forgets the calling thread's held locks without releasing them (a task
/// that returned normally keeps Python's semantics).
pub fn forget_held() {
    HELD.with(|held| held.borrow_mut().clear());
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// How often `acquire` retries before it sleeps: about ten microseconds.
const SPIN_ATTEMPTS: u32 = 64;

impl Lock {
    /// A new unlocked lock; `name` appears in deadlock reports.
    pub fn new(name: Option<&str>) -> Lock {
        let id = NEXT_LOCK.fetch_add(1, Ordering::Relaxed);
        Lock {
            shared: Arc::new(LockShared {
                name: name.map_or_else(|| format!("Lock-{id}"), str::to_string),
                owner: AtomicU64::new(0),
                waiters: std::sync::atomic::AtomicUsize::new(0),
                released: Notify::new(),
            }),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// True while held.
    pub fn locked(&self) -> bool {
        self.shared.owner.load(Ordering::Acquire) != 0
    }

    fn try_take(&self, me: u64) -> bool {
        let taken = self
            .shared
            .owner
            .compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if taken {
            note_held(self, me);
        }
        taken
    }

    /// Takes the lock without waiting; false if another task holds it.
    pub fn try_acquire(&self) -> bool {
        self.try_take(task::current_id())
    }

    /// Waits for the lock, at most `timeout`; false when time runs out.
    pub fn acquire(&self, timeout: Option<Duration>) -> Result<bool, ScriptError> {
        let id = task::current_id();
        // A lock in a script is usually held for a few operations, far less
        // than going to sleep and being woken costs: try again briefly
        // before taking the slow path that records the wait.
        for attempt in 0..SPIN_ATTEMPTS {
            if self.try_take(id) {
                return Ok(true);
            }
            if timeout == Some(Duration::ZERO) {
                return Ok(false);
            }
            if attempt < SPIN_ATTEMPTS / 2 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        let me = task::current_or_main();
        let deadline = timeout.map(|t| Instant::now() + t);
        let what = format!("acquire {}", self.name());
        self.shared.waiters.fetch_add(1, Ordering::SeqCst);
        let result = task::with_blocked_on(&what, || self.acquire_slow(&me, deadline));
        self.shared.waiters.fetch_sub(1, Ordering::SeqCst);
        guard(waiting()).remove(&me.id());
        result
    }

    fn acquire_slow(&self, me: &task::Task, deadline: Option<Instant>) -> Result<bool, ScriptError> {
        let mut suspected: Option<Instant> = None;
        loop {
            let mut recheck = None;
            {
                let mut waits = guard(waiting());
                if self.try_take(me.id()) {
                    return Ok(true);
                }
                waits.insert(me.id(), self.clone());
                match find_cycle(&waits, me.id(), self) {
                    Some(cycle) => {
                        let since = *suspected.get_or_insert_with(Instant::now);
                        match GRACE.checked_sub(since.elapsed()) {
                            Some(left) if !left.is_zero() => recheck = Some(left),
                            _ => {
                                waits.remove(&me.id());
                                return Err(ScriptError::new("DeadlockError", cycle).hint(
                                    "acquire locks in the same order in every task, or use acquire(false) / acquire(timeout) and back off",
                                ));
                            }
                        }
                    }
                    None => suspected = None,
                }
            }
            let released = self.shared.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.try_take(me.id()) {
                return Ok(true);
            }
            let left = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) => Some(left),
                    None => return Ok(false),
                },
                None => None,
            };
            let nap = match (left, recheck) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match runtime::wait(released, nap) {
                Ok(()) => {}
                Err(err) if err.class == "TimeoutError" => {
                    if self.try_take(me.id()) {
                        return Ok(true);
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(false);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Releases the lock; `RuntimeError` if it is not locked.
    pub fn release(&self) -> Result<(), ScriptError> {
        let owner = self.shared.owner.swap(0, Ordering::SeqCst);
        if owner == 0 {
            return Err(
                ScriptError::new("RuntimeError", format!("release unlocked lock {}", self.name()))
                    .hint("call release() once for each successful acquire()"),
            );
        }
        if self.shared.waiters.load(Ordering::SeqCst) > 0 {
            self.shared.released.notify_one();
        }
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            if let Some(at) = held.iter().rposition(|l| Arc::ptr_eq(&l.shared, &self.shared)) {
                held.swap_remove(at);
            }
        });
        Ok(())
    }
}

fn task_name(id: u64) -> String {
    task::tasks()
        .into_iter()
        .find(|t| t.id() == id)
        .map_or_else(|| format!("task {id}"), |t| t.name())
}

/// Follows "held by" / "waits for" edges from `wanted`; returns the text of
/// the cycle if it leads back to task `me`.
fn find_cycle(waits: &HashMap<u64, Lock>, me: u64, wanted: &Lock) -> Option<String> {
    let mut steps = vec![format!("{} waits for {}", task_name(me), wanted.name())];
    if wanted.shared.owner.load(Ordering::Acquire) == me {
        return Some(format!(
            "deadlock: {} waits for {}, which it holds itself and no other task released",
            task_name(me),
            wanted.name()
        ));
    }
    let mut lock = wanted.clone();
    for _ in 0..=waits.len() {
        let holder = lock.shared.owner.load(Ordering::Acquire);
        if holder == 0 {
            return None;
        }
        steps.push(format!("held by {}", task_name(holder)));
        if holder == me {
            return Some(format!("deadlock: {}", steps.join(", ")));
        }
        let next = waits.get(&holder)?;
        steps.push(format!("which waits for {}", next.name()));
        lock = next.clone();
    }
    None
}

impl fmt::Display for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shared.owner.load(Ordering::Acquire) {
            0 => write!(f, "<lock {} unlocked>", self.name()),
            owner => write!(f, "<lock {} locked by {}>", self.name(), task_name(owner)),
        }
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
