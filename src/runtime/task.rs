//! Tasks: Rhai functions running concurrently, like Python's threads.
//!
//! `spawn(f, args...)` runs `f` on a task thread (see [`super::threads`])
//! with the same engine and the same script functions as its spawner.
//!
//! **The captured-variable rule: tasks get copies; share through
//! handles.** Arguments and the variables a closure captures are copied
//! when the task starts, so a task can never see its spawner's variables
//! change under it (and Rhai's shared-variable locks are never contended
//! across threads). Sockets, locks, queues, tasks and `Value`s are
//! handles: a copy of a handle refers to the same object, which is how
//! tasks share things on purpose.
//!
//! Each task has its own cancellation token, a child of its spawner's
//! task root, so cancelling a task stops it, and Ctrl-C on a script stops
//! the tasks it started.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, Module, Position, Shared};

type SharedModule = Shared<Module>;
use tokio::sync::watch;

use super::{CancellationToken, cancel_token, set_cancel_token, threads, wait};
use crate::error::ScriptError;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_THREAD_NUMBER: AtomicU64 = AtomicU64::new(1);

/// How a task ended.
#[derive(Clone)]
enum End {
    Returned(Dynamic),
    Failed(String),
    Cancelled,
}

/// A handle to a task; copies refer to the same task.
#[derive(Clone)]
pub struct Task {
    shared: Arc<TaskShared>,
}

struct TaskShared {
    id: u64,
    name: Mutex<String>,
    daemon: AtomicBool,
    /// The task standing for a thread that runs a script directly.
    main: bool,
    token: CancellationToken,
    /// `None` while running.
    end: watch::Sender<Option<End>>,
    /// What the task is waiting for right now, for `:tasks`.
    blocked_on: Mutex<Option<String>>,
}

fn live() -> &'static Mutex<HashMap<u64, Weak<TaskShared>>> {
    static LIVE: OnceLock<Mutex<HashMap<u64, Weak<TaskShared>>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poison| poison.into_inner())
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<Task>> = const { std::cell::RefCell::new(None) };
    static ENGINE: std::cell::RefCell<Option<Arc<Engine>>> = const { std::cell::RefCell::new(None) };
    static SOURCE: std::cell::RefCell<Option<Arc<Source>>> = const { std::cell::RefCell::new(None) };
}

/// The script a thread runs, so a task's errors can show its source line.
#[derive(Debug)]
pub struct Source {
    /// The name.
    pub name: String,
    /// The source text.
    pub text: String,
}

/// Records the script this thread runs; tasks it spawns inherit it.
pub fn set_source(name: &str, text: &str) {
    let source = Arc::new(Source {
        name: name.to_string(),
        text: text.to_string(),
    });
    SOURCE.with(|cell| *cell.borrow_mut() = Some(source));
}

/// The script this thread runs, if one was recorded.
pub fn current_source() -> Option<Arc<Source>> {
    SOURCE.with(|cell| cell.borrow().clone())
}

/// Makes `engine` the one that `spawn` on this thread runs tasks with.
pub fn set_engine(engine: Arc<Engine>) {
    ENGINE.with(|cell| *cell.borrow_mut() = Some(engine));
}

/// Forgets this thread's engine (the tasks keep theirs until they end).
pub fn clear_engine() {
    ENGINE.with(|cell| cell.borrow_mut().take());
}

fn engine() -> Result<Arc<Engine>, ScriptError> {
    ENGINE.with(|cell| cell.borrow().clone()).ok_or_else(|| {
        ScriptError::new("RuntimeError", "spawn needs a shared engine").hint(
            "embedders: run scripts with sockrepl::script::run, or call sockrepl::runtime::task::set_engine first",
        )
    })
}

impl Task {
    fn new(name: String, token: CancellationToken, main: bool) -> Task {
        let shared = Arc::new(TaskShared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name: Mutex::new(name),
            daemon: AtomicBool::new(false),
            main,
            token,
            end: watch::Sender::new(None),
            blocked_on: Mutex::new(None),
        });
        lock(live()).insert(shared.id, Arc::downgrade(&shared));
        Task { shared }
    }

    /// A number unique in this process.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The name ("Thread-N" unless changed).
    pub fn name(&self) -> String {
        lock(&self.shared.name).clone()
    }

    /// Renames it.
    pub fn set_name(&self, name: &str) {
        *lock(&self.shared.name) = name.to_string();
    }

    /// True for the task that stands for the thread running the script.
    pub fn is_main(&self) -> bool {
        self.shared.main
    }

    /// True for a daemon, which the script does not wait for at exit.
    pub fn is_daemon(&self) -> bool {
        self.shared.daemon.load(Ordering::Relaxed)
    }

    /// Marks it as a daemon or not.
    pub fn set_daemon(&self, daemon: bool) {
        self.shared.daemon.store(daemon, Ordering::Relaxed);
    }

    /// True while it runs.
    pub fn is_alive(&self) -> bool {
        self.shared.end.borrow().is_none()
    }

    /// Asks the task to stop: its blocking call returns at once and the
    /// script ends before its next operation.
    pub fn cancel(&self) {
        self.shared.token.cancel();
    }

    /// What the task is blocked on, if anything.
    pub fn blocked_on(&self) -> Option<String> {
        lock(&self.shared.blocked_on).clone()
    }

    /// "running", "finished", "failed" or "cancelled".
    pub fn state(&self) -> &'static str {
        match &*self.shared.end.borrow() {
            None => "running",
            Some(End::Returned(_)) => "finished",
            Some(End::Failed(_)) => "failed",
            Some(End::Cancelled) => "cancelled",
        }
    }

    /// Waits for the task to end and returns what its function returned
    /// (`()` if it failed or was cancelled). With a timeout, returns `()`
    /// when time runs out, as Python's `join(timeout)` does; check
    /// `is_alive()` to tell.
    pub fn join(&self, timeout: Option<Duration>) -> Result<Dynamic, ScriptError> {
        if current().is_some_and(|me| me.id() == self.id()) {
            return Err(ScriptError::new("RuntimeError", "cannot join current thread")
                .hint("a task cannot wait for itself to finish"));
        }
        // A short task is often done before a sleeping join would wake.
        if timeout != Some(Duration::ZERO) {
            super::spin::until(|| self.shared.end.borrow().is_some());
        }
        let mut ended = self.shared.end.subscribe();
        let waited = with_blocked_on(&format!("join {}", self.name()), || {
            wait(
                async move { ended.wait_for(Option::is_some).await.map(|end| end.clone()) },
                timeout,
            )
        });
        match waited {
            Ok(Ok(Some(End::Returned(value)))) => Ok(value),
            Ok(_) => Ok(Dynamic::UNIT),
            Err(err) if err.class == "TimeoutError" => Ok(Dynamic::UNIT),
            Err(err) => Err(err),
        }
    }

    /// The error text if the task failed.
    pub fn error(&self) -> Option<String> {
        match &*self.shared.end.borrow() {
            Some(End::Failed(text)) => Some(text.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<task {} {} {}", self.id(), self.name(), self.state())?;
        if let Some(what) = self.blocked_on() {
            write!(f, ", blocked in {what}")?;
        }
        if self.is_daemon() && !self.shared.main {
            write!(f, ", daemon")?;
        }
        write!(f, ">")
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The task running on this thread; `None` on a thread that runs a script
/// directly (the main thread), which [`current_or_main`] names.
pub fn current() -> Option<Task> {
    CURRENT.with(|cell| cell.borrow().clone())
}

/// The calling thread's task, creating the "MainThread" task for a thread
/// that runs a script directly.
pub fn current_or_main() -> Task {
    CURRENT.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| Task::new("MainThread".into(), cancel_token(), true))
            .clone()
    })
}

/// The id of the calling thread's task, without cloning its handle (the
/// lock fast path calls this on every acquire).
pub fn current_id() -> u64 {
    let known = CURRENT.with(|cell| cell.borrow().as_ref().map(Task::id));
    known.unwrap_or_else(|| current_or_main().id())
}

/// Makes `token` the main task's token, the root of the tokens of the
/// tasks it spawns. The REPL gives it a session token, so that Ctrl-C on
/// one line (a different token) does not stop background tasks.
pub fn set_main_token(token: CancellationToken) {
    CURRENT.with(|cell| *cell.borrow_mut() = Some(Task::new("MainThread".into(), token, true)));
}

/// Runs `f` while `:tasks` shows this thread's task as blocked on `what`.
pub fn with_blocked_on<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let task = current();
    if let Some(task) = &task {
        *lock(&task.shared.blocked_on) = Some(what.to_string());
    }
    let out = f();
    if let Some(task) = &task {
        *lock(&task.shared.blocked_on) = None;
    }
    out
}

/// Every task that has not ended, oldest first.
pub fn tasks() -> Vec<Task> {
    let mut found: Vec<Task> = lock(live())
        .values()
        .filter_map(Weak::upgrade)
        .map(|shared| Task { shared })
        .filter(Task::is_alive)
        .collect();
    found.sort_by_key(Task::id);
    found
}

/// Waits until every non-daemon task has ended, as Python does before
/// the interpreter exits. Cancelling the caller stops the wait.
pub fn wait_for_non_daemon_tasks() -> Result<(), ScriptError> {
    loop {
        let Some(task) = tasks().into_iter().find(|t| !t.is_daemon() && !t.shared.main) else {
            return Ok(());
        };
        task.join(None).map(drop)?;
    }
}

/// Cancels every live task.
pub fn cancel_all() {
    for task in tasks() {
        task.cancel();
    }
}

/// How a failed task reports itself (Python prints "Exception in thread").
pub type ErrorReporter = fn(task_name: &str, error: &rhai::EvalAltResult, source: Option<&Source>);

/// What a function needs to run away from the code that defined it: the
/// script's function libraries and the modules it imported.
#[derive(Clone, Default)]
pub struct Environment {
    /// The script function libraries, the defining one first.
    pub libs: Vec<SharedModule>,
    /// Imported modules with their aliases.
    pub imports: Vec<(ImmutableString, SharedModule)>,
    /// A module's `export const` values, which its functions read as
    /// `global::NAME`.
    pub constants: Option<GlobalConstants>,
}

/// Rhai's table of global constants (its `SharedGlobalConstants`).
pub type GlobalConstants = Shared<std::sync::RwLock<std::collections::BTreeMap<ImmutableString, Dynamic>>>;

impl Environment {
    /// Calls `func(args...)` on `engine` within this environment.
    pub fn call(&self, engine: &Engine, func: &FnPtr, args: Vec<Dynamic>) -> Result<Dynamic, Box<EvalAltResult>> {
        let mut global = engine.new_global_runtime_state();
        global.lib.extend(self.libs.iter().cloned());
        for (name, module) in &self.imports {
            global.push_import(name.clone(), module.clone());
        }
        global.constants.clone_from(&self.constants);
        let context =
            rhai::NativeCallContext::new_with_all_fields(engine, func.fn_name(), None, &global, Position::NONE);
        func.call_raw(&context, None, args)
    }
}

/// Starts `func(args...)` as a new task in `env`; `func`'s captured
/// values and `args` are copied.
pub fn spawn(env: Environment, func: FnPtr, args: Vec<Dynamic>, report: ErrorReporter) -> Result<Task, ScriptError> {
    let engine = engine()?;
    let mut func = func;
    let copies: Vec<Dynamic> = func.iter_curry().map(Dynamic::flatten_clone).collect();
    func.set_curry(copies);
    let args: Vec<Dynamic> = args.into_iter().map(|a| a.flatten()).collect();

    let token = current_or_main().shared.token.child_token();
    let number = NEXT_THREAD_NUMBER.fetch_add(1, Ordering::Relaxed);
    let task = Task::new(format!("Thread-{number}"), token.clone(), false);
    let running = task.clone();
    let script = current_source();
    threads::run(move || {
        SOURCE.with(|cell| *cell.borrow_mut() = script.clone());
        set_cancel_token(token.clone());
        set_engine(engine.clone());
        CURRENT.with(|cell| *cell.borrow_mut() = Some(running.clone()));
        let result = env.call(&engine, &func, args);
        let end = match result {
            Ok(value) => End::Returned(value),
            Err(_) if token.is_cancelled() => End::Cancelled,
            Err(err) => {
                report(&running.name(), &err, script.as_deref());
                End::Failed(err.to_string())
            }
        };
        match end {
            End::Returned(_) => crate::sync::lock::forget_held(),
            _ => crate::sync::lock::release_abandoned(running.id()),
        }
        running.shared.end.send_replace(Some(end));
        lock(live()).remove(&running.id());
        // Drop everything this thread held for the task before it idles.
        CURRENT.with(|cell| cell.borrow_mut().take());
        ENGINE.with(|cell| cell.borrow_mut().take());
        SOURCE.with(|cell| cell.borrow_mut().take());
        set_cancel_token(CancellationToken::new());
    })
    .map_err(|err| ScriptError::os(&err, "starting a task thread"))?;
    Ok(task)
}
