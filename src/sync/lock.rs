//! `lock()`: Python's `threading.Lock`, with deadlock detection.
//!
//! Acquiring a free lock is one atomic compare-and-swap. As in Python, any
//! task may release a lock, not only the one that acquired it (seed 003's
//! ordered A→B→C demo relies on this), so "waiting for a lock" is only a
//! deadlock when nothing could ever release it. Only a task that has to
//! wait touches its session's [`WaitGraph`] and decides, with no timer:
//!
//! * a **cycle** of two or more tasks, each waiting (without a timeout) for
//!   a lock held by the next, is a deadlock, reported at once to the task
//!   that closes it;
//! * otherwise a waiter is stuck only when **no task could release** the
//!   lock: every other live task of the session is itself waiting for a
//!   held lock without a timeout (a task that waits on a lock it holds
//!   itself, with another task still running, is the legitimate
//!   signalling pattern and is left alone). This is checked when a task
//!   starts waiting and again whenever a task of the session ends.
//!
//! A task that fails or is cancelled releases the locks it still holds, as
//! Python's `with lock:` does when an exception leaves the block, so one
//! failure (a reported deadlock included) cannot hang the others. The lock
//! registers itself with the task's abandon hook for this
//! ([`crate::runtime::context::Held`]); the task layer knows nothing of locks.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::ScriptError;
use crate::runtime::context::{self, Held, SessionCore, TaskCore, guard};
use crate::runtime::{self, Deadline};

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
    waiters: AtomicUsize,
    released: Notify,
    /// For naming tasks in messages.
    session: Weak<SessionCore>,
}

impl Held for LockShared {
    fn abandon(&self, task: u64) {
        if self
            .owner
            .compare_exchange(task, 0, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            self.released.notify_one();
        }
    }

    fn is_held_by(&self, task: u64) -> bool {
        self.owner.load(Ordering::Relaxed) == task
    }
}

/// Who waits for which lock in one session.
#[derive(Default)]
pub struct WaitGraph {
    waits: Mutex<HashMap<u64, Waiting>>,
    next_lock: AtomicU64,
}

struct Waiting {
    lock: Lock,
    /// A timed wait ends by itself, so its task can still release things.
    timed: bool,
}

/// How often `acquire` retries before it sleeps: about ten microseconds.
const SPIN_ATTEMPTS: u32 = 64;

impl Lock {
    /// A new unlocked lock in the calling task's session; `name` appears
    /// in deadlock reports (default "Lock-N").
    pub fn new(name: Option<&str>) -> Lock {
        let session = context::with_current(|task| task.session().clone());
        let graph = session.service::<WaitGraph>();
        let name = match name {
            Some(name) => name.to_string(),
            None => format!("Lock-{}", graph.next_lock.fetch_add(1, Ordering::Relaxed) + 1),
        };
        Lock {
            shared: Arc::new(LockShared {
                name,
                owner: AtomicU64::new(0),
                waiters: AtomicUsize::new(0),
                released: Notify::new(),
                session: Arc::downgrade(&session),
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

    fn owner(&self) -> u64 {
        self.shared.owner.load(Ordering::Acquire)
    }

    fn try_take(&self, me: &TaskCore) -> bool {
        let taken = self
            .shared
            .owner
            .compare_exchange(0, me.id(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if taken {
            me.hold(self.shared.clone());
        }
        taken
    }

    /// Takes the lock without waiting; false if another task holds it.
    pub fn try_acquire(&self) -> bool {
        context::with_current(|me| self.try_take(me))
    }

    /// Waits for the lock, at most `timeout`; false when time runs out.
    pub fn acquire(&self, timeout: Option<Duration>) -> Result<bool, ScriptError> {
        let me = context::current();
        // A lock in a script is usually held for a few operations, far less
        // than going to sleep and being woken costs: try again briefly
        // before taking the slow path that records the wait.
        for attempt in 0..SPIN_ATTEMPTS {
            if self.try_take(&me) {
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
        let deadline = Deadline::after(timeout);
        let graph = me.session().service::<WaitGraph>();
        self.shared.waiters.fetch_add(1, Ordering::SeqCst);
        let result = me.blocked(
            || format!("acquire {}", self.name()),
            || self.acquire_slow(&me, &graph, deadline),
        );
        self.shared.waiters.fetch_sub(1, Ordering::SeqCst);
        guard(&graph.waits).remove(&me.id());
        result
    }

    fn acquire_slow(&self, me: &TaskCore, graph: &WaitGraph, deadline: Deadline) -> Result<bool, ScriptError> {
        let session = me.session();
        loop {
            let released = self.shared.released.notified();
            let activity = session.activity().notified();
            tokio::pin!(released, activity);
            released.as_mut().enable();
            activity.as_mut().enable();
            {
                let mut waits = guard(&graph.waits);
                if self.try_take(me) {
                    waits.remove(&me.id());
                    return Ok(true);
                }
                waits.insert(
                    me.id(),
                    Waiting {
                        lock: self.clone(),
                        timed: !deadline.is_never(),
                    },
                );
                if deadline.is_never()
                    && let Some(report) = find_deadlock(&waits, session, me.id())
                {
                    waits.remove(&me.id());
                    return Err(ScriptError::new("DeadlockError", report).hint(
                        "acquire locks in the same order in every task, or use acquire(false) / acquire(timeout) and back off",
                    ));
                }
            }
            let woken = async {
                tokio::select! {
                    () = &mut released => {}
                    () = &mut activity => {}
                }
            };
            match runtime::wait(woken, deadline) {
                Ok(()) => {}
                Err(err) if err.class == "TimeoutError" => return Ok(self.try_take(me)),
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
        context::with_current(|me| me.unhold(|held| is_this(held, &self.shared)));
        Ok(())
    }

    fn task_name(&self, id: u64) -> String {
        self.shared
            .session
            .upgrade()
            .and_then(|session| session.task(id))
            .map_or_else(|| format!("task {id}"), |t| t.name())
    }
}

fn is_this(held: &Arc<dyn Held>, lock: &Arc<LockShared>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(held), Arc::as_ptr(lock))
}

/// Whether task `me`, about to wait without a timeout, would wait for
/// ever; the text of the report if so. Called with the wait graph locked
/// and `me` already in it.
fn find_deadlock(waits: &HashMap<u64, Waiting>, session: &SessionCore, me: u64) -> Option<String> {
    let name = |id: u64| session.task(id).map_or_else(|| format!("task {id}"), |t| t.name());
    // A waiter is blocked for good only while its lock is held by someone
    // and it has no timeout to wake it.
    let blocked = |id: u64| waits.get(&id).filter(|w| !w.timed && w.lock.owner() != 0);
    let first = &blocked(me)?.lock;

    // A cycle through me: me waits for a lock held by A, A waits for one
    // held by B, ..., back to me.
    let mut steps = vec![format!("{} waits for {}", name(me), first.name())];
    let mut lock = first.clone();
    for _ in 0..=waits.len() {
        let holder = lock.owner();
        if holder == me {
            if steps.len() > 1 {
                steps.push(format!("held by {}", name(me)));
                return Some(format!("deadlock: {}", steps.join(", ")));
            }
            break;
        }
        let Some(next) = blocked(holder) else { break };
        steps.push(format!(
            "held by {}, which waits for {}",
            name(holder),
            next.lock.name()
        ));
        lock = next.lock.clone();
    }

    // No cycle: stuck only if no live task could ever release anything.
    let others: Vec<u64> = session.tasks().iter().map(|t| t.id()).filter(|&id| id != me).collect();
    if others.iter().any(|&id| blocked(id).is_none()) {
        return None;
    }
    let holder = first.owner();
    let held_by = if holder == me {
        "which it holds itself".to_string()
    } else if session.task(holder).is_some() {
        format!("held by {}", name(holder))
    } else {
        format!("held by {}, which ended without releasing it", name(holder))
    };
    let rest = if others.is_empty() {
        "no other task is running to release it".to_string()
    } else {
        format!(
            "and every other task ({}) is waiting for a lock too, so nothing can release it",
            others.iter().map(|&id| name(id)).collect::<Vec<_>>().join(", ")
        )
    };
    Some(format!(
        "deadlock: {} waits for {}, {held_by}; {rest}",
        name(me),
        first.name()
    ))
}

impl fmt::Display for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.owner() {
            0 => write!(f, "<lock {} unlocked>", self.name()),
            owner => write!(f, "<lock {} locked by {}>", self.name(), self.task_name(owner)),
        }
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
