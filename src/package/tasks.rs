//! Script bindings for tasks and synchronisation: `spawn`, task handles,
//! `tasks()`, `current_task()`, `lock()`, `queue()`, `value()`, `local()`.

use rhai::plugin::*;
use rhai::{Array, Dynamic, Engine, EvalContext, FLOAT, FnPtr, INT};

use crate::error::ScriptError;
use crate::runtime::context;
use crate::sync::Block;
use crate::sync::queue::block_for;
use crate::tasks;

fn timeout(secs: FLOAT) -> Result<std::time::Duration, ScriptError> {
    crate::runtime::seconds(secs)
}

/// `spawn(f, args...)` and `spawn(|| ...)`.
pub fn register_spawn(engine: &mut Engine) {
    super::syntax::register_call(
        engine,
        "spawn",
        "spawn needs a function: spawn(|| ...) or spawn(name, args...)",
        spawn_values,
    );
}

fn spawn_values(ctx: &mut EvalContext, values: Vec<Dynamic>) -> Result<Dynamic, Box<EvalAltResult>> {
    let mut values = values.into_iter();
    let target = values.next().unwrap_or_default();
    let func = if target.is_fnptr() {
        target.cast::<FnPtr>()
    } else if let Some(name) = target.read_lock::<rhai::ImmutableString>() {
        FnPtr::new(name.as_str())?
    } else {
        return Err(
            ScriptError::type_error(format!("spawn needs a function, not {}", super::show::a_type(&target)))
                .hint("write spawn(|| work()) or spawn(work, arg1, arg2) where work is a fn")
                .into(),
        );
    };
    let args: Vec<Dynamic> = values.collect();
    let mut libs = ctx.namespaces().to_vec();
    // Rhai looks a function pointer up in the first library only; put the
    // one that defines it first, so a module's function keeps its module's
    // constants and imports.
    let params = func.curry().len() + args.len();
    if let Some(at) = libs
        .iter()
        .position(|lib| lib.get_script_fn(func.fn_name(), params).is_some())
    {
        let owner = libs.remove(at);
        libs.insert(0, owner);
    }
    let env = tasks::Environment {
        libs,
        imports: ctx
            .global_runtime_state()
            .scan_imports_raw()
            .map(|(name, module)| (name.clone(), module.clone()))
            .collect(),
        constants: ctx.global_runtime_state().constants.clone(),
    };
    Ok(Dynamic::from(tasks::spawn(env, func, args)?))
}

/// Script functions for tasks and synchronisation.
#[export_module]
pub mod tasks_api {
    use super::*;

    /// A task.
    pub type Task = crate::tasks::Task;
    /// A lock.
    pub type Lock = crate::sync::Lock;
    /// A queue.
    pub type Queue = crate::sync::Queue;
    /// A shared value.
    pub type Value = crate::sync::Value;
    /// Task-local storage.
    pub type Local = crate::sync::Local;

    /// Waits for the task to finish and returns what its function returned.
    ///
    /// ```rhai
    /// let t = spawn(|| 6 * 7);
    /// print(t.join());   // 42
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn join(t: &mut Task) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(t.join(None)?)
    }

    /// Waits at most `secs` seconds; returns `()` if the task is still
    /// running (check `is_alive()`).
    ///
    /// ```rhai
    /// t.join(0.5);
    /// ```
    #[rhai_fn(global, name = "join", return_raw, pure)]
    pub fn join_timeout(t: &mut Task, secs: FLOAT) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(t.join(Some(timeout(secs)?))?)
    }

    /// `join` with a whole number of seconds.
    #[rhai_fn(global, name = "join", return_raw, pure)]
    pub fn join_timeout_int(t: &mut Task, secs: INT) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(t.join(Some(timeout(secs as FLOAT)?))?)
    }

    /// True while the task runs.
    ///
    /// ```rhai
    /// print(t.is_alive());
    /// ```
    #[rhai_fn(global, pure)]
    pub fn is_alive(t: &mut Task) -> bool {
        t.is_alive()
    }

    /// Stops the task: a blocking call in it returns at once and it ends
    /// before its next step.
    ///
    /// ```rhai
    /// server_task.cancel();
    /// ```
    #[rhai_fn(global, pure)]
    pub fn cancel(t: &mut Task) {
        t.cancel();
    }

    /// The task's name, "Thread-N" unless set.
    #[rhai_fn(global, get = "name", pure)]
    pub fn get_name(t: &mut Task) -> String {
        t.name()
    }

    /// Renames the task.
    #[rhai_fn(global, set = "name", pure)]
    pub fn set_name(t: &mut Task, name: &str) {
        t.set_name(name);
    }

    /// A number unique to the task.
    #[rhai_fn(global, get = "id", pure)]
    pub fn get_id(t: &mut Task) -> INT {
        INT::try_from(t.id()).unwrap_or(INT::MAX)
    }

    /// A daemon task does not keep a script running when its main code
    /// ends (Python's `daemon = True`).
    #[rhai_fn(global, get = "daemon", pure)]
    pub fn get_daemon(t: &mut Task) -> bool {
        t.is_daemon()
    }

    /// Marks the task as a daemon (not waited for at exit).
    #[rhai_fn(global, set = "daemon", pure)]
    pub fn set_daemon(t: &mut Task, daemon: bool) {
        t.set_daemon(daemon);
    }

    /// "running", "finished", "failed" or "cancelled".
    #[rhai_fn(global, get = "state", pure)]
    pub fn get_state(t: &mut Task) -> String {
        t.state().to_string()
    }

    /// The error that ended the task, or `()`.
    #[rhai_fn(global, get = "error", pure)]
    pub fn get_error(t: &mut Task) -> Dynamic {
        t.error().map_or(Dynamic::UNIT, Dynamic::from)
    }

    /// How a task prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn task_to_string(t: &mut Task) -> String {
        t.to_string()
    }

    /// True for two handles of one task.
    #[rhai_fn(global, name = "==", pure)]
    pub fn task_eq(a: &mut Task, b: Task) -> bool {
        a.id() == b.id()
    }

    /// True for handles of two different tasks.
    #[rhai_fn(global, name = "!=", pure)]
    pub fn task_ne(a: &mut Task, b: Task) -> bool {
        a.id() != b.id()
    }

    /// The live tasks, including the main one (Python's
    /// `threading.enumerate()`).
    ///
    /// ```rhai
    /// print(tasks().len());
    /// ```
    pub fn tasks() -> Array {
        let session = context::with_current(|task| task.session().clone());
        tasks::Tasks::of(&session)
            .live(&session)
            .into_iter()
            .map(Dynamic::from)
            .collect()
    }

    /// The task running this code; "MainThread" outside any task.
    ///
    /// ```rhai
    /// print(current_task().name);
    /// ```
    pub fn current_task() -> Task {
        tasks::current()
    }

    /// A new unlocked lock (Python's `threading.Lock()`).
    ///
    /// ```rhai
    /// let mutex = lock();
    /// mutex.acquire();
    /// mutex.release();
    /// ```
    #[rhai_fn(name = "lock")]
    pub fn new_lock() -> Lock {
        Lock::new(None)
    }

    /// A new lock with a name that deadlock reports use.
    ///
    /// ```rhai
    /// let a = lock("mutexA");
    /// ```
    #[rhai_fn(name = "lock")]
    pub fn new_named_lock(name: &str) -> Lock {
        Lock::new(Some(name))
    }

    /// Waits until the lock is free and takes it; returns true. A wait
    /// that could never end (a deadlock) fails with `DeadlockError`.
    ///
    /// ```rhai
    /// mutex.acquire();
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn acquire(l: &mut Lock) -> Result<bool, Box<EvalAltResult>> {
        Ok(l.acquire(None)?)
    }

    /// `acquire(false)` takes the lock only if it is free now and says
    /// whether it did; `acquire(true)` waits.
    ///
    /// ```rhai
    /// if mutex.acquire(false) { mutex.release(); }
    /// ```
    #[rhai_fn(global, name = "acquire", return_raw, pure)]
    pub fn acquire_blocking(l: &mut Lock, blocking: bool) -> Result<bool, Box<EvalAltResult>> {
        if blocking {
            Ok(l.acquire(None)?)
        } else {
            Ok(l.try_acquire())
        }
    }

    /// Waits at most `secs` seconds; false if the lock stayed taken.
    ///
    /// ```rhai
    /// if !mutex.acquire(0.5) { print("busy"); }
    /// ```
    #[rhai_fn(global, name = "acquire", return_raw, pure)]
    pub fn acquire_timeout(l: &mut Lock, secs: FLOAT) -> Result<bool, Box<EvalAltResult>> {
        Ok(l.acquire(Some(timeout(secs)?))?)
    }

    /// `acquire` with a whole number of seconds.
    #[rhai_fn(global, name = "acquire", return_raw, pure)]
    pub fn acquire_timeout_int(l: &mut Lock, secs: INT) -> Result<bool, Box<EvalAltResult>> {
        Ok(l.acquire(Some(timeout(secs as FLOAT)?))?)
    }

    /// Frees the lock. Any task may release it.
    ///
    /// ```rhai
    /// mutex.release();
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn release(l: &mut Lock) -> Result<(), Box<EvalAltResult>> {
        Ok(l.release()?)
    }

    /// True while some task holds the lock.
    #[rhai_fn(global, pure)]
    pub fn locked(l: &mut Lock) -> bool {
        l.locked()
    }

    /// The lock's name, as deadlock reports show it.
    #[rhai_fn(global, get = "name", pure)]
    pub fn lock_name(l: &mut Lock) -> String {
        l.name().to_string()
    }

    /// How a lock prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn lock_to_string(l: &mut Lock) -> String {
        l.to_string()
    }

    /// A new unbounded queue (Python's `queue.Queue()`).
    ///
    /// ```rhai
    /// let q = queue();
    /// q.put(1);
    /// print(q.get());
    /// ```
    #[rhai_fn(name = "queue")]
    pub fn new_queue() -> Queue {
        Queue::new(0)
    }

    /// A queue holding at most `maxsize` items; `put` waits while it is full.
    ///
    /// ```rhai
    /// let q = queue(3);
    /// ```
    #[rhai_fn(name = "queue", return_raw)]
    pub fn new_bounded_queue(maxsize: INT) -> Result<Queue, Box<EvalAltResult>> {
        Ok(Queue::new(usize::try_from(maxsize.max(0)).unwrap_or(usize::MAX)))
    }

    /// Adds an item, waiting while the queue is full.
    #[rhai_fn(global, return_raw, pure)]
    pub fn put(q: &mut Queue, item: Dynamic) -> Result<(), Box<EvalAltResult>> {
        Ok(q.put(item, Block::Forever)?)
    }

    /// Adds an item, waiting at most `secs` seconds; then `queue.Full`.
    ///
    /// ```rhai
    /// q.put("job", 1.5);
    /// ```
    #[rhai_fn(global, name = "put", return_raw, pure)]
    pub fn put_timeout(q: &mut Queue, item: Dynamic, secs: FLOAT) -> Result<(), Box<EvalAltResult>> {
        Ok(q.put(item, block_for(secs)?)?)
    }

    /// `put(item, false)` fails with `queue.Full` at once instead of waiting.
    #[rhai_fn(global, name = "put", return_raw, pure)]
    pub fn put_blocking(q: &mut Queue, item: Dynamic, block: bool) -> Result<(), Box<EvalAltResult>> {
        Ok(q.put(item, if block { Block::Forever } else { Block::No })?)
    }

    /// Adds an item or fails with `queue.Full` at once.
    ///
    /// ```rhai
    /// try { q.put_nowait(1); } catch (e) { print(e); }
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn put_nowait(q: &mut Queue, item: Dynamic) -> Result<(), Box<EvalAltResult>> {
        Ok(q.put(item, Block::No)?)
    }

    /// Removes and returns the oldest item, waiting while the queue is empty.
    #[rhai_fn(global, return_raw, pure)]
    pub fn get(q: &mut Queue) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(q.get(Block::Forever)?)
    }

    /// Waits at most `secs` seconds for an item; then `queue.Empty`.
    ///
    /// ```rhai
    /// let job = q.get(2);
    /// ```
    #[rhai_fn(global, name = "get", return_raw, pure)]
    pub fn get_timeout(q: &mut Queue, secs: FLOAT) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(q.get(block_for(secs)?)?)
    }

    /// `put` with a whole number of seconds.
    #[rhai_fn(global, name = "put", return_raw, pure)]
    pub fn put_timeout_int(q: &mut Queue, item: Dynamic, secs: INT) -> Result<(), Box<EvalAltResult>> {
        Ok(q.put(item, block_for(secs as FLOAT)?)?)
    }

    /// `get` with a whole number of seconds.
    #[rhai_fn(global, name = "get", return_raw, pure)]
    pub fn get_timeout_int(q: &mut Queue, secs: INT) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(q.get(block_for(secs as FLOAT)?)?)
    }

    /// `get(false)` fails with `queue.Empty` at once instead of waiting.
    #[rhai_fn(global, name = "get", return_raw, pure)]
    pub fn get_blocking(q: &mut Queue, block: bool) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(q.get(if block { Block::Forever } else { Block::No })?)
    }

    /// Takes an item or fails with `queue.Empty` at once.
    #[rhai_fn(global, return_raw, pure)]
    pub fn get_nowait(q: &mut Queue) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(q.get(Block::No)?)
    }

    /// How many items are waiting.
    #[rhai_fn(global, pure, return_raw)]
    pub fn qsize(q: &mut Queue) -> Result<INT, Box<EvalAltResult>> {
        Ok(INT::try_from(q.qsize()?).unwrap_or(INT::MAX))
    }

    /// True when no item is waiting.
    #[rhai_fn(global, pure, return_raw)]
    pub fn empty(q: &mut Queue) -> Result<bool, Box<EvalAltResult>> {
        Ok(q.qsize()? == 0)
    }

    /// True when a bounded queue holds `maxsize` items.
    #[rhai_fn(global, pure, return_raw)]
    pub fn full(q: &mut Queue) -> Result<bool, Box<EvalAltResult>> {
        Ok(q.is_full()?)
    }

    /// How a queue prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn queue_to_string(q: &mut Queue) -> String {
        q.to_string()
    }

    /// A shared mutable cell that every task sees (tasks get copies of
    /// ordinary variables). Read and write it through `.value`.
    ///
    /// ```rhai
    /// let num = value(0);
    /// let t = spawn(|| num.value += 1);
    /// t.join();
    /// print(num.value);   // 1
    /// ```
    #[rhai_fn(name = "value")]
    pub fn new_value(initial: Dynamic) -> Value {
        Value::new(initial)
    }

    /// Reads the shared value.
    #[rhai_fn(global, get = "value", pure)]
    pub fn value_get(v: &mut Value) -> Dynamic {
        v.get()
    }

    /// Writes the shared value.
    #[rhai_fn(global, set = "value", pure)]
    pub fn value_set(v: &mut Value, new: Dynamic) {
        v.set(new);
    }

    /// How a shared value prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn value_to_string(v: &mut Value) -> String {
        v.to_string()
    }

    /// Task-local storage (Python's `threading.local()`): each task sees
    /// only the attributes it set.
    ///
    /// ```rhai
    /// let data = local();
    /// data.student = "Alice";
    /// print(data.student);
    /// ```
    #[rhai_fn(name = "local")]
    pub fn new_local() -> Local {
        Local::new()
    }

    /// Reads this task's attribute `name`.
    #[rhai_fn(global, index_get, return_raw, pure)]
    pub fn local_get(l: &mut Local, name: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(l.get(name)?)
    }

    /// Sets this task's attribute `name`.
    #[rhai_fn(global, index_set, pure)]
    pub fn local_set(l: &mut Local, name: &str, value: Dynamic) {
        l.set(name, value);
    }

    /// How task-local storage prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn local_to_string(l: &mut Local) -> String {
        l.to_string()
    }
}
