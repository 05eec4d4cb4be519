//! Tasks: Rhai functions running concurrently, like Python's threads
//! (layer 4, above `sync`).
//!
//! `spawn(f, args...)` runs `f` on a task thread (see
//! [`crate::runtime::threads`]) with the same engine and the same script
//! functions as its spawner. A task is a [`TaskCore`] of the runtime layer
//! (name, cancellation, what it holds) plus, here, how it ended.
//!
//! **The captured-variable rule: tasks get copies; share through
//! handles.** Arguments and the variables a closure captures are copied
//! when the task starts, so a task can never see its spawner's variables
//! change under it (and Rhai's shared-variable locks are never contended
//! across threads). Sockets, locks, queues, tasks and `Value`s are
//! handles: a copy of a handle refers to the same object, which is how
//! tasks share things on purpose.
//!
//! Each task's token is a child of its spawner's, so cancelling a task
//! stops the tasks it started, and ending a session stops them all. A
//! panic in native code while a task runs is caught and becomes the task's
//! error, so `join` always returns.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, Module, Position, Shared};
use tokio::sync::Notify;

use crate::error::ScriptError;
use crate::runtime::context::{self, SessionCore, TaskCore, guard};
use crate::runtime::{self, Deadline, threads};

type SharedModule = Shared<Module>;

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
    core: Arc<TaskCore>,
    /// `None` while running.
    end: Mutex<Option<End>>,
    /// Wakes joiners when `end` is set.
    ended: Notify,
}

impl TaskShared {
    fn end(&self) -> Option<End> {
        guard(&self.end).clone()
    }

    fn finish(&self, end: End) {
        *guard(&self.end) = Some(end);
        self.ended.notify_waiters();
    }
}

/// How a session reports a task that failed (Python prints "Exception in
/// thread ...").
pub type Reporter = Arc<dyn Fn(&str, &EvalAltResult) + Send + Sync>;

/// A session's tasks as script handles, the engine they run on and how
/// their failures are reported.
#[derive(Default)]
pub struct Tasks {
    engine: RwLock<Option<Arc<Engine>>>,
    reporter: RwLock<Option<Reporter>>,
    handles: Mutex<HashMap<u64, Task>>,
}

impl Tasks {
    /// The tasks of `session`.
    pub fn of(session: &SessionCore) -> Arc<Tasks> {
        session.service::<Tasks>()
    }

    /// Makes `engine` the one this session's tasks run on.
    pub fn set_engine(&self, engine: Arc<Engine>) {
        *self.engine.write().unwrap_or_else(|p| p.into_inner()) = Some(engine);
    }

    /// Forgets the engine (tasks keep theirs until they end).
    pub fn clear_engine(&self) {
        self.engine.write().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn engine(&self) -> Result<Arc<Engine>, ScriptError> {
        self.engine
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                ScriptError::new("RuntimeError", "spawn needs the session's engine")
                    .hint("embedders: run scripts with sockrepl::Session, which gives tasks its engine")
            })
    }

    /// Sets how failed tasks are reported.
    pub fn set_reporter(&self, reporter: Reporter) {
        *self.reporter.write().unwrap_or_else(|p| p.into_inner()) = Some(reporter);
    }

    fn report(&self, name: &str, error: &EvalAltResult) {
        let reporter = self.reporter.read().unwrap_or_else(|p| p.into_inner()).clone();
        match reporter {
            Some(report) => report(name, error),
            None => eprintln!("Exception in task {name}:\n{error}"),
        }
    }

    /// The handle of `core`, made for a task that was not spawned (the
    /// thread running the script).
    pub fn handle(&self, core: &Arc<TaskCore>) -> Task {
        handle_in(&mut guard(&self.handles), core)
    }

    /// Every live task of `session`, oldest first.
    pub fn live(&self, session: &SessionCore) -> Vec<Task> {
        // The list is read with the handles locked: a task that ends
        // meanwhile leaves the session's list before it drops its handle
        // (see `end_task`), so every task listed here still has the handle
        // its end will be written to, and none gets a fresh one that
        // nothing would ever finish.
        let mut handles = guard(&self.handles);
        session
            .tasks()
            .iter()
            .map(|core| handle_in(&mut handles, core))
            .collect()
    }

    /// Waits until every non-daemon task of `session` has ended, as Python
    /// does before the interpreter exits. Cancelling the caller stops the
    /// wait.
    pub fn wait_for_non_daemon(&self, session: &SessionCore) -> Result<(), ScriptError> {
        loop {
            let waiting = self.live(session).into_iter().find(|t| !t.is_daemon() && !t.is_main());
            match waiting {
                Some(task) => task.join(None).map(drop)?,
                None => return Ok(()),
            }
        }
    }
}

fn handle_in(handles: &mut HashMap<u64, Task>, core: &Arc<TaskCore>) -> Task {
    handles
        .entry(core.id())
        .or_insert_with(|| Task {
            shared: Arc::new(TaskShared {
                core: core.clone(),
                end: Mutex::new(None),
                ended: Notify::new(),
            }),
        })
        .clone()
}

impl Task {
    /// A number unique in this process.
    pub fn id(&self) -> u64 {
        self.shared.core.id()
    }

    /// The name ("Thread-N" unless changed).
    pub fn name(&self) -> String {
        self.shared.core.name()
    }

    /// Renames it.
    pub fn set_name(&self, name: &str) {
        self.shared.core.set_name(name);
    }

    /// True for the task that stands for the thread running the script.
    pub fn is_main(&self) -> bool {
        self.shared.core.is_main()
    }

    /// True for a daemon, which the script does not wait for at exit.
    pub fn is_daemon(&self) -> bool {
        self.shared.core.is_daemon()
    }

    /// Marks it as a daemon or not.
    pub fn set_daemon(&self, daemon: bool) {
        self.shared.core.set_daemon(daemon);
    }

    /// True while it runs.
    pub fn is_alive(&self) -> bool {
        guard(&self.shared.end).is_none()
    }

    /// Asks the task to stop: its blocking call returns at once and the
    /// script ends before its next operation.
    pub fn cancel(&self) {
        self.shared.core.cancel();
    }

    /// What the task is blocked on, if anything.
    pub fn blocked_on(&self) -> Option<String> {
        self.shared.core.blocked_on()
    }

    /// "running", "finished", "failed" or "cancelled".
    pub fn state(&self) -> &'static str {
        match &*guard(&self.shared.end) {
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
        let me = context::current();
        if me.id() == self.id() {
            return Err(ScriptError::new("RuntimeError", "cannot join current thread")
                .hint("a task cannot wait for itself to finish"));
        }
        if self.is_main() {
            return Err(ScriptError::new("RuntimeError", "cannot join the main thread")
                .hint("the main thread ends when the script does; join the tasks you spawned"));
        }
        // A short task is often done before a sleeping join would wake.
        if timeout != Some(Duration::ZERO) {
            runtime::spin::until(|| !self.is_alive());
        }
        let shared = self.shared.clone();
        let ended = async move {
            loop {
                let woken = shared.ended.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                if let Some(end) = shared.end() {
                    return end;
                }
                woken.await;
            }
        };
        let deadline = Deadline::after(timeout);
        let waited = me.blocked(|| format!("join {}", self.name()), || runtime::wait(ended, deadline));
        match waited {
            Ok(End::Returned(value)) => Ok(value),
            Ok(_) => Ok(Dynamic::UNIT),
            Err(err) if err.class == "TimeoutError" => Ok(Dynamic::UNIT),
            Err(err) => Err(err),
        }
    }

    /// The error text if the task failed.
    pub fn error(&self) -> Option<String> {
        match self.shared.end() {
            Some(End::Failed(text)) => Some(text),
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
        if self.is_daemon() && !self.is_main() {
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

/// The calling thread's task.
pub fn current() -> Task {
    let core = context::current();
    core.session().service::<Tasks>().handle(&core)
}

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
        // Rhai's runtime state is large; kept on the heap, it is not part
        // of the stack a task sleeps on (see runtime::threads).
        let global = self.global_state(engine);
        let context =
            rhai::NativeCallContext::new_with_all_fields(engine, func.fn_name(), None, &global, Position::NONE);
        func.call_raw(&context, None, args)
    }

    #[inline(never)]
    fn global_state(&self, engine: &Engine) -> Box<rhai::GlobalRuntimeState> {
        let mut global = Box::new(engine.new_global_runtime_state());
        global.lib.extend(self.libs.iter().cloned());
        for (name, module) in &self.imports {
            global.push_import(name.clone(), module.clone());
        }
        global.constants.clone_from(&self.constants);
        global
    }
}

/// Runs `body`, turning a panic into a script error: a bug in native code
/// must end the task with a message, never leave its joiners waiting.
pub fn contain_panic(
    body: impl FnOnce() -> Result<Dynamic, Box<EvalAltResult>>,
) -> Result<Dynamic, Box<EvalAltResult>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        Err(ScriptError::new("RuntimeError", format!("internal error: {what}"))
            .hint("this is a bug in sockrepl, not in your script; please report it with the script that caused it")
            .into())
    })
}

#[inline(never)]
fn run_body(
    core: &Arc<TaskCore>,
    env: &Environment,
    engine: &Engine,
    func: &FnPtr,
    args: Vec<Dynamic>,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let _in = context::enter(core.clone());
    contain_panic(|| env.call(engine, func, args))
}

#[inline(never)]
fn end_task(core: &TaskCore, tasks: &Tasks, task: &Task, result: Result<Dynamic, Box<EvalAltResult>>) {
    let end = match result {
        Ok(value) => End::Returned(value),
        Err(_) if core.is_cancelled() => End::Cancelled,
        // `exit()` in a task ends that task quietly, as `sys.exit()` does
        // in a Python thread.
        Err(err) if matches!(*err, EvalAltResult::ErrorTerminated(..)) => End::Returned(Dynamic::UNIT),
        Err(err) => {
            tasks.report(&core.name(), &err);
            End::Failed(error_text(&err))
        }
    };
    // In this order: off the session's list, ended, then the handle
    // dropped (`Tasks::live` relies on it).
    core.finish(!matches!(end, End::Returned(_)));
    task.shared.finish(end);
    guard(&tasks.handles).remove(&core.id());
}

/// What `task.error` reads: the error's own message, as `catch (e)` would
/// see it, without the chain of calls and positions (the report printed
/// when the task failed shows those).
fn error_text(err: &EvalAltResult) -> String {
    let mut inner = err;
    while let EvalAltResult::ErrorInFunctionCall(_, _, next, _) = inner {
        inner = next;
    }
    match inner {
        EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
        other => {
            let text = other.to_string();
            let end = [" @ '", " (line "]
                .iter()
                .filter_map(|cut| text.find(cut))
                .min()
                .unwrap_or(text.len());
            text[..end].to_string()
        }
    }
}

/// Starts `func(args...)` as a new task in `env`; `func`'s captured
/// values and `args` are copied.
pub fn spawn(env: Environment, func: FnPtr, args: Vec<Dynamic>) -> Result<Task, ScriptError> {
    let spawner = context::current();
    let session = spawner.session().clone();
    let tasks = session.service::<Tasks>();
    let engine = tasks.engine()?;
    let mut func = func;
    let copies: Vec<Dynamic> = func.iter_curry().map(Dynamic::flatten_clone).collect();
    func.set_curry(copies);
    let args: Vec<Dynamic> = args.into_iter().map(|a| a.flatten()).collect();

    let core = session.new_task(None, spawner.life().child_token(), false);
    let task = tasks.handle(&core);
    let running = task.clone();
    let registry = tasks.clone();
    // The closure stays on the task's stack while the task runs (and
    // sleeps), so its own frame is kept small: the work and the
    // bookkeeping after it are functions of their own.
    let started = threads::run(move || {
        let result = run_body(&core, &env, &engine, &func, args);
        end_task(&core, &tasks, &running, result);
    });
    if let Err(err) = started {
        task.shared.core.finish(true);
        task.shared.finish(End::Failed(err.to_string()));
        guard(&registry.handles).remove(&task.id());
        return Err(ScriptError::os(&err, "starting a task thread"));
    }
    Ok(task)
}
