//! The child side of `process(...)` and pool workers.

use std::io::Read;
use std::sync::Arc;

use rhai::{Dynamic, Engine, FnPtr};

use super::wire::{Wire, from_wire, to_wire};
use super::{CHILD_ENV, Job, Work};
use crate::error::ScriptError;
use crate::runtime::{self, CancellationToken, task};
use crate::script;
use crate::sync::{Block, Queue};

/// If this process was started by `process(...)` or `pool(n)`, runs the
/// job it was given and exits; otherwise returns at once. Programs that
/// embed sockrepl and let scripts start processes call this first thing
/// in `main`.
pub fn run_child_if_requested() {
    if std::env::var_os(CHILD_ENV).is_some() {
        std::process::exit(child_main());
    }
}

fn child_main() -> i32 {
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
    script::pin_hashing_seed(job.hashing_seed);
    script::set_limits(job.limits);
    let token = CancellationToken::new();
    runtime::set_cancel_token(token.clone());
    if let Err(err) = runtime::cancel_on_ctrl_c(token) {
        eprintln!("sockrepl child: cannot watch for Ctrl-C: {err}");
    }
    let engine = script::new_engine();
    task::set_engine(engine.clone());
    task::set_source(&job.script_name, &job.script_text);
    let mut ast = match engine.compile(&job.script_text) {
        Ok(ast) => ast,
        Err(err) => {
            eprint!("{}", script::render(&err.into(), &job.script_name, &job.script_text));
            return 1;
        }
    };
    ast.set_source(job.script_name.as_str());
    // Only the functions and the modules they use: the parent's top-level
    // code is not re-run.
    let env = match environment(&engine, &ast) {
        Ok(env) => env,
        Err(err) => {
            eprint!("{}", script::render(&err, &job.script_name, &job.script_text));
            return 1;
        }
    };

    let outcome = match job.work {
        Work::Call { func, curry, args } => call(&engine, &ast, &env, &func, curry, args).map(drop),
        Work::PoolWorker { jobs, results } => pool_worker(&engine, &ast, &env, jobs, results),
    };
    let code = match outcome {
        Ok(()) => 0,
        Err(Failure::Interrupted) => 130,
        Err(Failure::Error(text)) => {
            eprint!("Process {}:\n{text}", job.name);
            1
        }
    };
    if code == 0 && task::wait_for_non_daemon_tasks().is_err() {
        return 130;
    }
    code
}

enum Failure {
    Interrupted,
    Error(String),
}

fn failure(err: &rhai::EvalAltResult) -> Failure {
    if runtime::is_cancelled() {
        return Failure::Interrupted;
    }
    let (name, text) = task::current_source().map_or_else(
        || ("<process>".to_string(), String::new()),
        |s| (s.name.clone(), s.text.clone()),
    );
    Failure::Error(script::render(err, &name, &text))
}

fn script_error(err: ScriptError) -> Failure {
    Failure::Error(format!("error: {err}\n"))
}

/// The script's functions and the modules its top-level `import`s name,
/// resolved the way the parent resolved them.
fn environment(engine: &Engine, ast: &rhai::AST) -> Result<task::Environment, Box<rhai::EvalAltResult>> {
    let mut env = task::Environment {
        libs: vec![ast.shared_lib().clone()],
        imports: Vec::new(),
        constants: None,
    };
    for stmt in ast.statements() {
        if let rhai::Stmt::Import(import, pos) = stmt
            && let rhai::Expr::StringConstant(path, _) = &import.0
        {
            let module = engine.module_resolver().resolve(engine, ast.source(), path, *pos)?;
            env.imports.push((import.1.name.clone(), module));
        }
    }
    Ok(env)
}

fn call(
    engine: &Arc<Engine>,
    ast: &rhai::AST,
    environ: &task::Environment,
    func: &str,
    curry: Vec<Wire>,
    args: Vec<Wire>,
) -> Result<Dynamic, Failure> {
    let curry: Vec<Dynamic> = curry
        .into_iter()
        .map(from_wire)
        .collect::<Result<_, _>>()
        .map_err(script_error)?;
    let args: Vec<Dynamic> = args
        .into_iter()
        .map(from_wire)
        .collect::<Result<_, _>>()
        .map_err(script_error)?;
    let params = curry.len() + args.len();
    let mut fn_ptr = match ast.shared_lib().get_script_fn(func, params) {
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
    environ.call(engine, &fn_ptr, args).map_err(|e| failure(&e))
}

/// Takes `[id, func, curry, args]` jobs until a `()`, putting
/// `[id, result, error]` on the results queue.
fn pool_worker(
    engine: &Arc<Engine>,
    ast: &rhai::AST,
    env: &task::Environment,
    jobs: Wire,
    results: Wire,
) -> Result<(), Failure> {
    let jobs = from_wire(jobs).map_err(script_error)?;
    let results = from_wire(results).map_err(script_error)?;
    let (Some(jobs), Some(results)) = (jobs.try_cast::<Queue>(), results.try_cast::<Queue>()) else {
        return Err(script_error(ScriptError::new(
            "OSError",
            "pool worker started without its queues",
        )));
    };
    loop {
        let job = jobs.get(Block::Forever).map_err(|e| {
            if runtime::is_cancelled() {
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
        let wires = |list: Dynamic| -> Result<Vec<Wire>, Failure> {
            let list = list.try_cast::<rhai::Array>().unwrap_or_default();
            list.iter()
                .map(|v| to_wire(v, &mut None))
                .collect::<Result<_, _>>()
                .map_err(script_error)
        };
        let func = func.into_string().unwrap_or_default();
        let outcome = call(engine, ast, env, &func, wires(curry)?, wires(args)?);
        let reply: rhai::Array = match outcome {
            Ok(value) => vec![id, value, Dynamic::UNIT],
            Err(Failure::Interrupted) => return Err(Failure::Interrupted),
            Err(Failure::Error(text)) => vec![id, Dynamic::UNIT, text.into()],
        };
        results.put(reply.into(), Block::Forever).map_err(script_error)?;
    }
}
