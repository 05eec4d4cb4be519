//! The child side of `process(...)` and pool workers, and the jobs that
//! start them.
//!
//! A child compiles each text its parent's session ran (a script, or each
//! input of a shell session, separately, so that entries typed without a
//! `;` do not run together) for its functions, but runs none of their
//! top-level statements: a function sees its arguments and copies of the
//! top-level values its parent's functions read, and the parent's
//! variables stay the parent's (seed 003's "num stays 10").

use std::io::Read;
use std::sync::Arc;

use rhai::{AST, Dynamic, Engine, EvalAltResult, FnPtr};
use serde::{Deserialize, Serialize};

use super::diagnostics::Sources;
use super::{Session, SessionBuilder};
use crate::engine::{self, Globals, Limits};
use crate::error::ScriptError;
use crate::package::system::ExitRequest;
use crate::process::ipc::wire::{Decoder, Encoder, Wire};
use crate::process::{CHILD_ENV, Handover, JobMaker, Work};
use crate::runtime::context::SessionCore;
use crate::sync::{Block, Queue};
use crate::tasks::Environment;

/// What a child process is asked to do.
#[derive(Serialize, Deserialize)]
struct Job {
    /// "Process-N".
    name: String,
    /// The parent's texts, in the order they ran.
    sources: Vec<(String, String)>,
    /// The parent's function-name hashing seed (see
    /// [`engine::pin_hashing_seed`]).
    hashing_seed: Option<[u64; 4]>,
    /// The parent's limits, so a child cannot do more than its parent.
    limits: Limits,
    /// Copies of the top-level values the parent's functions read.
    globals: Vec<(String, Wire)>,
    work: Work,
    handover: Handover,
}

/// Makes a session's jobs: its texts, limits and published globals.
pub(crate) struct SessionJobs {
    sources: Arc<Sources>,
    globals: Arc<Globals>,
    limits: Limits,
}

impl SessionJobs {
    pub(crate) fn new(core: &SessionCore, limits: Limits) -> SessionJobs {
        SessionJobs {
            sources: core.service::<Sources>(),
            globals: core.service::<Globals>(),
            limits,
        }
    }
}

impl JobMaker for SessionJobs {
    fn job(&self, name: &str, work: Work, handover: Handover) -> Result<Vec<u8>, ScriptError> {
        // Plain data and value() cells (copied) go along; a handle (a
        // lock, a socket, a queue) read by a function must be passed to
        // the process as an argument.
        let globals = self
            .globals
            .snapshot()
            .into_iter()
            .filter_map(|(name, value)| Encoder::for_globals().encode(&value).ok().map(|w| (name, w)))
            .collect();
        let job = Job {
            name: name.to_string(),
            sources: self.sources.texts(),
            hashing_seed: *rhai::config::hashing::get_hashing_seed(),
            limits: self.limits,
            globals,
            work,
            handover,
        };
        serde_json::to_vec(&job).map_err(|e| ScriptError::new("OSError", format!("cannot write a process's job: {e}")))
    }
}

/// If this process was started by `process(...)` or `pool(n)`, runs the
/// job it was given and exits; otherwise returns at once. Programs that
/// embed sockrepl and let scripts start processes call this first thing
/// in `main`.
///
/// ```no_run
/// sockrepl::run_child_if_requested();
/// // ... then the program itself
/// ```
pub fn run_child_if_requested() {
    run_child_if_requested_with(|builder| builder);
}

/// [`run_child_if_requested`] for a program whose sessions have their own
/// functions or address policy: `configure` gets the child's session
/// builder (its limits are the parent's) and must add the same.
pub fn run_child_if_requested_with(configure: impl FnOnce(SessionBuilder) -> SessionBuilder) {
    if std::env::var_os(CHILD_ENV).is_some() {
        std::process::exit(child_main(configure));
    }
}

enum Failure {
    Interrupted,
    Exit(i32),
    Error(String),
}

fn child_main(configure: impl FnOnce(SessionBuilder) -> SessionBuilder) -> i32 {
    let mut input = Vec::new();
    if let Err(err) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("sockrepl child: cannot read its job: {err}");
        return 1;
    }
    let job: Job = match serde_json::from_slice(&input) {
        Ok(job) => job,
        Err(err) => {
            eprintln!("sockrepl child: bad job: {err}");
            return 1;
        }
    };
    engine::pin_hashing_seed(job.hashing_seed);
    let session = match configure(Session::builder().limits(job.limits)).build() {
        Ok(session) => session,
        Err(err) => {
            eprintln!("sockrepl child: {err}");
            return 1;
        }
    };
    let _in = session.enter();
    if let Err(err) = crate::runtime::signal::on_interrupt({
        let session = session.clone();
        move || session.end()
    }) {
        eprintln!("sockrepl child: cannot watch for Ctrl-C: {err}");
    }
    let Job {
        name,
        sources,
        globals,
        work,
        mut handover,
        ..
    } = job;
    let program = match compile(&session, &sources) {
        Ok(program) => program,
        Err(text) => {
            eprint!("{text}");
            return 1;
        }
    };
    let published = session.core().service::<Globals>();
    for (global, wire) in globals {
        if let Ok(value) = Decoder::for_globals().decode(wire) {
            published.set(&global, value);
        }
    }
    let mut decoder = Decoder::for_job(&mut handover.inherited, handover.broker.as_ref());
    let outcome = match work {
        Work::Call { func, curry, args } => call(&session, &program, &mut decoder, &func, curry, args).map(drop),
        Work::PoolWorker { jobs, results } => pool_worker(&session, &program, &mut decoder, jobs, results),
    };
    let code = match outcome {
        Ok(()) => 0,
        Err(Failure::Interrupted) => 130,
        Err(Failure::Exit(code)) => code,
        Err(Failure::Error(text)) => {
            eprint!("Process {name}:\n{text}");
            1
        }
    };
    if code == 0
        && crate::tasks::Tasks::of(session.core())
            .wait_for_non_daemon(session.core())
            .is_err()
    {
        return 130;
    }
    code
}

/// The parent's functions and the modules their texts import.
struct Program {
    functions: AST,
    env: Environment,
}

fn compile(session: &Session, sources: &[(String, String)]) -> Result<Program, String> {
    let engine = session.engine();
    let mut functions = AST::empty();
    let mut env = Environment::default();
    for (name, text) in sources {
        let ast = session.compile(&rhai::Scope::new(), name, text)?;
        // Only the functions and the modules they use: the parent's
        // top-level code is not re-run.
        for stmt in ast.statements() {
            if let rhai::Stmt::Import(import, pos) = stmt
                && let rhai::Expr::StringConstant(path, _) = &import.0
            {
                let module = engine
                    .module_resolver()
                    .resolve(engine, ast.source(), path, *pos)
                    .map_err(|err| session.render(&err, name))?;
                env.imports.push((import.1.name.clone(), module));
            }
        }
        functions = functions.merge(&ast.clone_functions_only());
    }
    env.libs = vec![functions.shared_lib().clone()];
    Ok(Program { functions, env })
}

fn failure(session: &Session, err: &EvalAltResult) -> Failure {
    if let EvalAltResult::ErrorTerminated(token, _) = err.unwrap_inner()
        && let Some(ExitRequest(code)) = token.read_lock::<ExitRequest>().map(|t| *t)
    {
        return Failure::Exit(i32::try_from(code).unwrap_or(1));
    }
    if session.main().is_cancelled() {
        return Failure::Interrupted;
    }
    Failure::Error(session.render(err, "<process>"))
}

fn script_error(err: ScriptError) -> Failure {
    Failure::Error(format!("error: {err}\n"))
}

fn call(
    session: &Session,
    program: &Program,
    decoder: &mut Decoder,
    func: &str,
    curry: Vec<Wire>,
    args: Vec<Wire>,
) -> Result<Dynamic, Failure> {
    let mut decode = |list: Vec<Wire>| -> Result<Vec<Dynamic>, Failure> {
        list.into_iter()
            .map(|w| decoder.decode(w))
            .collect::<Result<_, _>>()
            .map_err(script_error)
    };
    let curry = decode(curry)?;
    let args = decode(args)?;
    run_function(session, program, func, curry, args)
}

fn run_function(
    session: &Session,
    program: &Program,
    func: &str,
    curry: Vec<Dynamic>,
    args: Vec<Dynamic>,
) -> Result<Dynamic, Failure> {
    let params = curry.len() + args.len();
    let mut fn_ptr = match program.functions.shared_lib().get_script_fn(func, params) {
        Some(def) => FnPtr::from(def.clone()),
        None => {
            return Err(script_error(
                ScriptError::new(
                    "NameError",
                    format!("no function {func} with {params} parameters in the script"),
                )
                .hint("a process can run functions defined with fn in the script"),
            ));
        }
    };
    fn_ptr.set_curry(curry);
    let engine: &Engine = session.engine();
    crate::tasks::contain_panic(|| program.env.call(engine, &fn_ptr, args)).map_err(|e| failure(session, &e))
}

/// Takes `[id, func, curry, args]` jobs until a `()`, putting
/// `[id, result, error]` on the results queue.
fn pool_worker(
    session: &Session,
    program: &Program,
    decoder: &mut Decoder,
    jobs: Wire,
    results: Wire,
) -> Result<(), Failure> {
    let jobs = decoder.decode(jobs).map_err(script_error)?;
    let results = decoder.decode(results).map_err(script_error)?;
    let (Some(jobs), Some(results)) = (jobs.try_cast::<Queue>(), results.try_cast::<Queue>()) else {
        return Err(script_error(ScriptError::new(
            "OSError",
            "pool worker started without its queues",
        )));
    };
    loop {
        let job = jobs.get(Block::Forever).map_err(|e| {
            if session.main().is_cancelled() {
                Failure::Interrupted
            } else {
                script_error(e)
            }
        })?;
        let Some(job) = job.try_cast::<rhai::Array>() else {
            return Ok(());
        };
        let [id, func, curry, args] = <[Dynamic; 4]>::try_from(job)
            .map_err(|_| script_error(ScriptError::new("OSError", "malformed pool job")))?;
        let func = func.into_string().unwrap_or_default();
        let outcome = (|| call(session, program, decoder, &func, job_wires(curry)?, job_wires(args)?))();
        let reply: rhai::Array = match outcome {
            Ok(value) => vec![id, value, Dynamic::UNIT],
            Err(Failure::Interrupted) => return Err(Failure::Interrupted),
            Err(Failure::Exit(code)) => vec![id, Dynamic::UNIT, format!("exit({code}) in a pool job").into()],
            Err(Failure::Error(text)) => vec![id, Dynamic::UNIT, text.into()],
        };
        results.put(reply.into(), Block::Forever).map_err(script_error)?;
    }
}

/// A pool job's curried values or arguments, as `Pool::apply_async`
/// encoded them (JSON, so that a queue among them reaches the worker as a
/// reference to the parent's broker, which `call`'s decoder accepts).
fn job_wires(encoded: Dynamic) -> Result<Vec<Wire>, Failure> {
    let text = encoded.into_string().unwrap_or_default();
    serde_json::from_str(&text)
        .map_err(|e| script_error(ScriptError::new("OSError", format!("malformed pool job: {e}"))))
}
