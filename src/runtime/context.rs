//! Who is running: the session and the task of the calling thread.
//!
//! A [`SessionCore`] is what one running script or shell owns at this
//! layer: the root of its cancellation tree, its live tasks, and a small
//! table of *services*, one value per type, through which the layers above
//! keep their own per-session state (the socket table in `net`, the
//! lock wait graph in `sync`, the task handles in `tasks`, the children and
//! queue broker in `process`). A service is created on first use, so a
//! layer never needs to know which others exist; the public `Session`
//! builds and configures them. Nothing here is process-wide: two sessions
//! in one process share no task, token or service.
//!
//! A [`TaskCore`] is one thread of execution in a session: the main
//! thread running the script, or a task started with `spawn`. The one
//! thread-local of the crate, [`CURRENT`], says which task the calling
//! OS thread runs; everything else is reached from there. A thread that
//! runs a script without a session (an embedder calling `engine.run` on a
//! plain engine) gets a session of its own the first time it asks.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Task ids are unique in the process, so a handle can never be mistaken
/// for another session's task; they carry no state.
static NEXT_TASK_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a thread panicked while holding it; the
    // data behind these locks is always left consistent.
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}

type Service = Arc<dyn Any + Send + Sync>;

/// The per-session state of the runtime layer.
pub struct SessionCore {
    root: CancellationToken,
    tasks: Mutex<BTreeMap<u64, Arc<TaskCore>>>,
    next_thread: AtomicU64,
    /// Woken when a task ends or starts an unbounded wait, so waiters that
    /// watch the whole session (the deadlock detector) look again.
    activity: Notify,
    services: Mutex<Vec<(TypeId, Service)>>,
}

impl SessionCore {
    /// A session with no tasks yet.
    pub fn new() -> Arc<SessionCore> {
        Arc::new(SessionCore {
            root: CancellationToken::new(),
            tasks: Mutex::new(BTreeMap::new()),
            next_thread: AtomicU64::new(1),
            activity: Notify::new(),
            services: Mutex::new(Vec::new()),
        })
    }

    /// The token whose cancellation stops every task of the session.
    pub fn root(&self) -> &CancellationToken {
        &self.root
    }

    /// This session's `T`, created with `T::default()` on first use.
    pub fn service<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        let mut services = guard(&self.services);
        let wanted = TypeId::of::<T>();
        if let Some((_, found)) = services.iter().find(|(id, _)| *id == wanted)
            && let Ok(found) = found.clone().downcast::<T>()
        {
            return found;
        }
        let made = Arc::new(T::default());
        services.push((wanted, made.clone()));
        made
    }

    /// Starts a task in this session: `name` or the next "Thread-N".
    pub fn new_task(self: &Arc<Self>, name: Option<String>, life: CancellationToken, main: bool) -> Arc<TaskCore> {
        let name = name.unwrap_or_else(|| format!("Thread-{}", self.next_thread.fetch_add(1, Ordering::Relaxed)));
        let task = Arc::new(TaskCore {
            id: NEXT_TASK_ID.fetch_add(1, Ordering::Relaxed),
            session: self.clone(),
            name: Mutex::new(name),
            main,
            daemon: AtomicBool::new(false),
            token: Mutex::new(life.clone()),
            life,
            blocked_on: Mutex::new(None),
            held: Mutex::new(Vec::new()),
        });
        guard(&self.tasks).insert(task.id, task.clone());
        task
    }

    /// The live tasks, oldest first.
    pub fn tasks(&self) -> Vec<Arc<TaskCore>> {
        guard(&self.tasks).values().cloned().collect()
    }

    /// The live task with this id.
    pub fn task(&self, id: u64) -> Option<Arc<TaskCore>> {
        guard(&self.tasks).get(&id).cloned()
    }

    /// Woken when a task ends or begins an unbounded wait.
    pub fn activity(&self) -> &Notify {
        &self.activity
    }

    /// Ends the session: every task's blocking call returns at once.
    pub fn cancel(&self) {
        self.root.cancel();
    }
}

/// Something a task holds that must be let go if the task dies holding
/// it, as Python's `with lock:` releases when an exception leaves the
/// block. Primitives register here instead of the task layer naming them.
pub trait Held: Send + Sync {
    /// Lets go of it if `task` still holds it.
    fn abandon(&self, task: u64);
    /// True while `task` holds it.
    fn is_held_by(&self, task: u64) -> bool;
}

/// One thread of execution in a session.
pub struct TaskCore {
    id: u64,
    session: Arc<SessionCore>,
    name: Mutex<String>,
    main: bool,
    daemon: AtomicBool,
    /// Cancelling this ends the task (`cancel()`, `:kill`, end of session).
    life: CancellationToken,
    /// What blocking calls watch: `life`, or for a shell's main task a
    /// child of it for the line being run, so Ctrl-C stops the line and
    /// not the session.
    token: Mutex<CancellationToken>,
    blocked_on: Mutex<Option<String>>,
    held: Mutex<Vec<Arc<dyn Held>>>,
}

impl TaskCore {
    /// A number unique in this process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The session the task belongs to.
    pub fn session(&self) -> &Arc<SessionCore> {
        &self.session
    }

    /// The name ("Thread-N" unless changed).
    pub fn name(&self) -> String {
        guard(&self.name).clone()
    }

    /// Renames it.
    pub fn set_name(&self, name: &str) {
        *guard(&self.name) = name.to_string();
    }

    /// True for the task standing for the thread that runs the script.
    pub fn is_main(&self) -> bool {
        self.main
    }

    /// True for a daemon, which the script does not wait for at exit.
    pub fn is_daemon(&self) -> bool {
        self.daemon.load(Ordering::Relaxed)
    }

    /// Marks it as a daemon or not.
    pub fn set_daemon(&self, daemon: bool) {
        self.daemon.store(daemon, Ordering::Relaxed);
    }

    /// The token that ends the task.
    pub fn life(&self) -> &CancellationToken {
        &self.life
    }

    /// What the task's blocking calls watch now.
    pub fn token(&self) -> CancellationToken {
        guard(&self.token).clone()
    }

    /// Makes blocking calls watch `token` (a shell's line token).
    pub fn set_token(&self, token: CancellationToken) {
        *guard(&self.token) = token;
    }

    /// True once the task's current token is cancelled.
    pub fn is_cancelled(&self) -> bool {
        guard(&self.token).is_cancelled()
    }

    /// Stops the task: its blocking call returns at once.
    pub fn cancel(&self) {
        self.life.cancel();
    }

    /// What the task is blocked on, for `:tasks`.
    pub fn blocked_on(&self) -> Option<String> {
        guard(&self.blocked_on).clone()
    }

    /// Runs `f` while `:tasks` shows the task as blocked on `what`.
    pub fn blocked<T>(&self, what: impl FnOnce() -> String, f: impl FnOnce() -> T) -> T {
        self.set_blocked_on(Some(what()));
        let out = f();
        self.set_blocked_on(None);
        out
    }

    // Not inlined: callers that then wait keep this frame off the stack
    // they sleep on (a server holds one such stack per client).
    #[inline(never)]
    fn set_blocked_on(&self, what: Option<String>) {
        *guard(&self.blocked_on) = what;
    }

    /// Records that the task now holds `thing`.
    pub fn hold(&self, thing: Arc<dyn Held>) {
        let mut held = guard(&self.held);
        if held.len() >= 64 {
            // Things that other tasks let go of for us need no tracking.
            held.retain(|h| h.is_held_by(self.id));
        }
        held.push(thing);
    }

    /// Forgets `thing` (it was let go of normally).
    pub fn unhold(&self, is_it: impl Fn(&Arc<dyn Held>) -> bool) {
        let mut held = guard(&self.held);
        if let Some(at) = held.iter().rposition(is_it) {
            held.swap_remove(at);
        }
    }

    /// Ends the task: a task that failed or was cancelled lets go of what
    /// it holds; one that returned keeps Python's semantics (a lock it did
    /// not release stays locked). Waiters watching the session look again.
    pub fn finish(&self, failed: bool) {
        let held = std::mem::take(&mut *guard(&self.held));
        if failed {
            for thing in held {
                thing.abandon(self.id);
            }
        }
        guard(&self.session.tasks).remove(&self.id);
        self.session.activity.notify_waiters();
    }
}

thread_local! {
    /// The task the calling OS thread runs.
    static CURRENT: RefCell<Option<Arc<TaskCore>>> = const { RefCell::new(None) };
}

/// The calling thread's task. A thread that never entered one (an
/// embedder running a plain engine) becomes the main task of a session of
/// its own.
pub fn current() -> Arc<TaskCore> {
    CURRENT.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| {
                let session = SessionCore::new();
                let life = session.root().child_token();
                session.new_task(Some("MainThread".into()), life, true)
            })
            .clone()
    })
}

/// The calling thread's task, if it has one.
pub fn try_current() -> Option<Arc<TaskCore>> {
    CURRENT.with(|cell| cell.borrow().clone())
}

/// Runs `f` with the calling thread's task, without cloning its handle
/// (the hot paths: every wait, every lock acquire).
pub fn with_current<R>(f: impl FnOnce(&TaskCore) -> R) -> R {
    let known = CURRENT.with(|cell| cell.borrow().clone());
    match known {
        Some(task) => f(&task),
        None => f(&current()),
    }
}

/// Makes `task` the calling thread's task until the guard is dropped,
/// then restores what was there before.
pub fn enter(task: Arc<TaskCore>) -> Entered {
    let previous = CURRENT.with(|cell| cell.borrow_mut().replace(task));
    Entered { previous }
}

/// Restores the calling thread's previous task when dropped.
pub struct Entered {
    previous: Option<Arc<TaskCore>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|cell| *cell.borrow_mut() = previous);
    }
}

/// Shows the calling task as blocked on `what` (for `:tasks`) until the
/// guard is dropped. Made and returned before the wait starts, so that the
/// formatting of `what` is not on the stack during the wait.
#[inline(never)]
pub fn blocked_on(what: impl FnOnce() -> String) -> Blocked {
    let task = current();
    task.set_blocked_on(Some(what()));
    Blocked(task)
}

/// Clears what the task was shown blocked on, when dropped.
pub struct Blocked(Arc<TaskCore>);

impl Drop for Blocked {
    fn drop(&mut self) {
        self.0.set_blocked_on(None);
    }
}

/// The calling thread's cancellation signal.
pub fn cancel_token() -> CancellationToken {
    with_current(TaskCore::token)
}

/// True once the calling thread's task has been cancelled.
pub fn is_cancelled() -> bool {
    with_current(TaskCore::is_cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Counter(AtomicU64);

    #[test]
    fn services_are_per_session_and_made_once() {
        let a = SessionCore::new();
        let b = SessionCore::new();
        a.service::<Counter>().0.fetch_add(1, Ordering::Relaxed);
        a.service::<Counter>().0.fetch_add(1, Ordering::Relaxed);
        assert_eq!(a.service::<Counter>().0.load(Ordering::Relaxed), 2);
        assert_eq!(b.service::<Counter>().0.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn entering_a_task_is_undone_by_the_guard() {
        let session = SessionCore::new();
        let task = session.new_task(None, session.root().child_token(), false);
        let before = try_current().map(|t| t.id());
        {
            let _in = enter(task.clone());
            assert_eq!(current().id(), task.id());
        }
        assert_eq!(try_current().map(|t| t.id()), before);
    }

    #[test]
    fn cancelling_the_session_reaches_its_tasks_only() {
        let one = SessionCore::new();
        let two = SessionCore::new();
        let a = one.new_task(None, one.root().child_token(), false);
        let b = two.new_task(None, two.root().child_token(), false);
        one.cancel();
        assert!(a.is_cancelled());
        assert!(!b.is_cancelled());
        assert_eq!(a.name(), "Thread-1");
        assert_eq!(b.name(), "Thread-1", "each session numbers its own tasks");
    }
}
