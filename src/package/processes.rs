//! Script bindings for processes and pools.

use rhai::plugin::*;
use rhai::{Array, Dynamic, FLOAT, FnPtr, INT};

use crate::error::ScriptError;
use crate::process::{self, pool};

fn seconds(secs: FLOAT) -> Result<std::time::Duration, ScriptError> {
    crate::runtime::seconds(secs)
}

fn exit_code(code: Option<i32>) -> Dynamic {
    code.map_or(Dynamic::UNIT, |c| Dynamic::from_int(INT::from(c)))
}

fn function(value: Dynamic) -> Result<FnPtr, ScriptError> {
    if value.is_fnptr() {
        return Ok(value.cast::<FnPtr>());
    }
    if let Some(name) = value.read_lock::<rhai::ImmutableString>() {
        return FnPtr::new(name.as_str()).map_err(|_| ScriptError::value(format!("{name:?} is not a function name")));
    }
    Err(
        ScriptError::type_error(format!("expected a function, not {}", super::show::a_type(&value)))
            .hint("pass a function defined with fn, e.g. process(work, 1, 2)"),
    )
}

/// `process(f, args...)`: Python's `Process(target=f, args=...).start()`,
/// with any number of arguments.
pub fn register_process(engine: &mut rhai::Engine) {
    super::syntax::register_call(
        engine,
        "process",
        "process needs a function: process(work, args...)",
        |_ctx, values| {
            let mut values = values.into_iter();
            let func = function(values.next().unwrap_or_default())?;
            let args: Vec<Dynamic> = values.collect();
            Ok(Dynamic::from(process::start(&func, &args)?))
        },
    );
}

/// Script functions for processes and pools.
#[export_module]
pub mod processes_api {
    use super::*;

    /// A child process.
    pub type Process = crate::process::Process;
    /// A pool of worker processes.
    pub type Pool = crate::process::pool::Pool;
    /// The result of `apply_async`.
    pub type AsyncResult = crate::process::pool::AsyncResult;

    /// Waits for the process to exit; returns its exit code.
    ///
    /// ```rhai
    /// let code = p.join();
    /// ```
    #[rhai_fn(global, name = "join", return_raw, pure)]
    pub fn process_join(p: &mut Process) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(exit_code(p.join(None)?))
    }

    /// Waits at most `secs` seconds; `()` if it is still running.
    #[rhai_fn(global, name = "join", return_raw, pure)]
    pub fn process_join_timeout(p: &mut Process, secs: FLOAT) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(exit_code(p.join(Some(seconds(secs)?))?))
    }

    /// `join` with a whole number of seconds.
    #[rhai_fn(global, name = "join", return_raw, pure)]
    pub fn process_join_timeout_int(p: &mut Process, secs: INT) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(exit_code(p.join(Some(seconds(secs as FLOAT)?))?))
    }

    /// True until the process exits.
    #[rhai_fn(global, name = "is_alive", pure)]
    pub fn process_is_alive(p: &mut Process) -> bool {
        p.is_alive()
    }

    /// Asks the process to stop (SIGTERM).
    ///
    /// ```rhai
    /// p.terminate();
    /// ```
    #[rhai_fn(global, pure)]
    pub fn terminate(p: &mut Process) {
        p.terminate();
    }

    /// Stops the process at once (SIGKILL).
    #[rhai_fn(global, pure)]
    pub fn kill(p: &mut Process) {
        p.kill();
    }

    /// The operating system's process id.
    #[rhai_fn(global, get = "pid", pure)]
    pub fn process_pid(p: &mut Process) -> INT {
        INT::from(p.pid())
    }

    /// "Process-N".
    #[rhai_fn(global, get = "name", pure)]
    pub fn process_name(p: &mut Process) -> String {
        p.name().to_string()
    }

    /// The exit code, `()` while running; negative for a signal.
    #[rhai_fn(global, get = "exitcode", pure)]
    pub fn process_exitcode(p: &mut Process) -> Dynamic {
        exit_code(p.exitcode())
    }

    /// A daemon process does not keep the script waiting at the end.
    #[rhai_fn(global, get = "daemon", pure)]
    pub fn process_daemon(p: &mut Process) -> bool {
        p.is_daemon()
    }

    /// Marks the process as a daemon (not waited for at exit).
    #[rhai_fn(global, set = "daemon", pure)]
    pub fn set_process_daemon(p: &mut Process, daemon: bool) {
        p.set_daemon(daemon);
    }

    /// How a process prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn process_to_string(p: &mut Process) -> String {
        p.to_string()
    }

    /// A pool with one worker process per CPU core.
    ///
    /// ```rhai
    /// let p = pool();
    /// ```
    #[rhai_fn(name = "pool", return_raw)]
    pub fn new_pool_default() -> Result<Pool, Box<EvalAltResult>> {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(pool::Pool::new(cores)?)
    }

    /// A pool of `n` worker processes (Python's `Pool(n)`).
    ///
    /// ```rhai
    /// let p = pool(4);
    /// ```
    #[rhai_fn(name = "pool", return_raw)]
    pub fn new_pool(n: INT) -> Result<Pool, Box<EvalAltResult>> {
        let n = usize::try_from(n).map_err(|_| ScriptError::value(format!("pool({n}): the size must be positive")))?;
        Ok(pool::Pool::new(n)?)
    }

    /// Queues `f(args...)` for a worker; returns a result handle with `get()`.
    /// The arguments are copied to the worker; a `queue()` among them is the
    /// same queue there (Python needs a `Manager().Queue()` for that).
    ///
    /// ```rhai
    /// fn square(x) { x * x }
    /// let r = p.apply_async(square, [7]);
    /// print(r.get());   // 49
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn apply_async(p: &mut Pool, f: Dynamic, args: Array) -> Result<AsyncResult, Box<EvalAltResult>> {
        Ok(p.apply_async(&function(f)?, args)?)
    }

    /// Queues `f()` for a worker.
    #[rhai_fn(global, name = "apply_async", return_raw, pure)]
    pub fn apply_async0(p: &mut Pool, f: Dynamic) -> Result<AsyncResult, Box<EvalAltResult>> {
        Ok(p.apply_async(&function(f)?, Array::new())?)
    }

    /// Runs `f` on every item in the pool's processes; results in order.
    ///
    /// ```rhai
    /// print(p.map(square, [1, 2, 3]));   // [1, 4, 9]
    /// ```
    #[rhai_fn(global, name = "map", return_raw, pure)]
    pub fn pool_map(p: &mut Pool, f: Dynamic, items: Array) -> Result<Array, Box<EvalAltResult>> {
        Ok(p.map(&function(f)?, items)?)
    }

    /// Accepts no more jobs; workers exit when the queued ones are done.
    #[rhai_fn(global, name = "close", return_raw, pure)]
    pub fn pool_close(p: &mut Pool) -> Result<(), Box<EvalAltResult>> {
        Ok(p.close()?)
    }

    /// Waits for the workers to exit (after `close()`).
    #[rhai_fn(global, name = "join", return_raw, pure)]
    pub fn pool_join(p: &mut Pool) -> Result<(), Box<EvalAltResult>> {
        Ok(p.join()?)
    }

    /// Stops the workers now.
    #[rhai_fn(global, name = "terminate", pure)]
    pub fn pool_terminate(p: &mut Pool) {
        p.terminate();
    }

    /// The workers' process ids.
    #[rhai_fn(global, get = "pids", pure)]
    pub fn pool_pids(p: &mut Pool) -> Array {
        p.pids()
            .into_iter()
            .map(|pid| Dynamic::from_int(INT::from(pid)))
            .collect()
    }

    /// How a pool prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn pool_to_string(p: &mut Pool) -> String {
        p.to_string()
    }

    /// Waits for the job's result (re-raising its error).
    #[rhai_fn(global, name = "get", return_raw, pure)]
    pub fn result_get(r: &mut AsyncResult) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(r.get(None)?)
    }

    /// Waits at most `secs` seconds, then `TimeoutError`.
    #[rhai_fn(global, name = "get", return_raw, pure)]
    pub fn result_get_timeout(r: &mut AsyncResult, secs: FLOAT) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(r.get(Some(seconds(secs)?))?)
    }

    /// `get` with a whole number of seconds.
    #[rhai_fn(global, name = "get", return_raw, pure)]
    pub fn result_get_timeout_int(r: &mut AsyncResult, secs: INT) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(r.get(Some(seconds(secs as FLOAT)?))?)
    }

    /// True once the result has arrived.
    #[rhai_fn(global, pure)]
    pub fn ready(r: &mut AsyncResult) -> bool {
        r.ready()
    }

    /// How a pool result prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn result_to_string(r: &mut AsyncResult) -> String {
        r.to_string()
    }
}
