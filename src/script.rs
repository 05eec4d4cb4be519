//! Running scripts and reporting their errors.
//!
//! The `repl` binary and the tests use this module the same way: build an
//! engine with [`new_engine`], run source with [`run`] on the current
//! (non-tokio) thread, and turn the [`Outcome`] into an exit status.
//! Errors are rendered the way compilers render them, with the file,
//! line and column, the source line and a caret, then the hint.

use std::fmt::Write as _;

use rhai::packages::Package;
use rhai::{Array, Dynamic, Engine, EvalAltResult, Position, Scope};

use crate::SockPackage;
use crate::package::system::ExitRequest;
use crate::runtime::{self, task};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// An engine with the whole script API registered, shared so that tasks
/// can run on it too.
pub fn new_engine() -> Arc<Engine> {
    Arc::new(new_raw_engine())
}

/// The same engine, not yet shared, for callers that add to it first.
pub fn new_raw_engine() -> Engine {
    pin_hashing_seed(None);
    let mut engine = Engine::new();
    // Rhai's defaults (64 / 32) reject ordinary teaching code such as a
    // string interpolation inside an `if` inside a loop in a function.
    engine.set_max_expr_depths(256, 128);
    limits().apply(&mut engine);
    SockPackage::new().register_into_engine(&mut engine);
    engine
}

/// How much a script may do: Rhai's safety limits, settable from the
/// command line (`repl --max-operations N ...`). Zero means unlimited,
/// which is the default because course servers run until stopped.
///
/// The sizes bound memory: no string, array, blob or map a script builds
/// (received data included) can grow past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Operations one run may take (a task or process counts its own).
    pub operations: u64,
    /// Bytes in one string.
    pub string_size: usize,
    /// Items in one array, or bytes in one blob.
    pub array_size: usize,
    /// Entries in one object map.
    pub map_size: usize,
    /// Nested function calls; zero means [`DEFAULT_CALL_DEPTH`].
    pub call_depth: usize,
}

/// How deep functions may call each other unless told otherwise. Rhai's own
/// default differs between debug and release builds (8 and 64); a script
/// should not behave differently in the two.
pub const DEFAULT_CALL_DEPTH: usize = 64;

impl Default for Limits {
    fn default() -> Limits {
        Limits::NONE
    }
}

impl Limits {
    /// Sets these limits on `engine`.
    pub fn apply(&self, engine: &mut Engine) {
        engine.set_max_operations(self.operations);
        engine.set_max_string_size(self.string_size);
        engine.set_max_array_size(self.array_size);
        engine.set_max_map_size(self.map_size);
        engine.set_max_call_levels(self.call_depth());
    }

    /// How deep functions may call each other under these limits.
    pub fn call_depth(&self) -> usize {
        match self.call_depth {
            0 => DEFAULT_CALL_DEPTH,
            depth => depth,
        }
    }

    /// No limits but the default call depth.
    pub const NONE: Limits = Limits {
        operations: 0,
        string_size: 0,
        array_size: 0,
        map_size: 0,
        call_depth: 0,
    };
}

static LIMITS: RwLock<Limits> = RwLock::new(Limits::NONE);

/// Sets the limits every engine made after this call gets, and that child
/// processes inherit.
pub fn set_limits(limits: Limits) {
    *LIMITS.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = limits;
}

/// The limits set by [`set_limits`].
pub fn limits() -> Limits {
    *LIMITS.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Fixes the seed Rhai hashes function names with, so that a child
/// process compiling the same script gives its closures the same names
/// and can run a closure it is sent. The parent picks a random seed (Rhai's
/// own protection against hash flooding stays); children get the parent's.
/// Only effective before the first engine is created in this process.
pub fn pin_hashing_seed(seed: Option<[u64; 4]>) {
    use std::hash::{BuildHasher, Hasher};
    if rhai::config::hashing::get_hashing_seed().is_some() {
        return;
    }
    let seed = seed.unwrap_or_else(|| {
        let random = || std::collections::hash_map::RandomState::new().build_hasher().finish();
        [random(), random(), random(), random()]
    });
    // Fails only if an engine already exists; named functions still work.
    let _ = rhai::config::hashing::set_hashing_seed(Some(seed));
}

/// Prints a failed task's error on stderr, as Python prints "Exception in
/// thread ..." and carries on.
pub fn report_task_error(task_name: &str, error: &EvalAltResult, source: Option<&task::Source>) {
    let text = match source {
        Some(source) => render(error, &source.name, &source.text),
        None => render(error, "<task>", ""),
    };
    eprint!("Exception in task {task_name}:\n{text}");
}

/// A scope holding `ARGS` (the script's arguments, Python's
/// `sys.argv[1:]`) and `SCRIPT` (its path) as constants.
pub fn script_scope(script: &str, args: &[String]) -> Scope<'static> {
    let mut scope = Scope::new();
    let args: Array = args.iter().map(|a| Dynamic::from(a.clone())).collect();
    scope.push_constant("ARGS", args);
    scope.push_constant("SCRIPT", script.to_string());
    scope
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The script finished.
    Done,
    /// The script called `exit(code)`.
    Exit(i32),
    /// The script failed; the text is ready to print on stderr.
    Failed(String),
    /// The script was cancelled (Ctrl-C).
    Interrupted,
}

impl Outcome {
    /// The process exit status for this outcome: 0, the script's own, 1 for
    /// an error, 130 for Ctrl-C as shells expect.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Done => 0,
            Outcome::Exit(code) => *code,
            Outcome::Failed(_) => 1,
            Outcome::Interrupted => 130,
        }
    }
}

/// Compiles and runs `source`, named `name` in messages, in `scope`, then
/// waits for the tasks it started (daemon tasks excepted), as Python waits
/// for threads before exiting.
///
/// ```
/// use sockrepl::script::{self, Outcome};
///
/// let engine = script::new_engine();
/// let mut scope = script::script_scope("demo.rhai", &["7".to_string()]);
/// let outcome = script::run(&engine, &mut scope, "demo.rhai", "let t = spawn(|| 6 * 7); t.join();");
/// assert_eq!(outcome, Outcome::Done);
///
/// let failed = script::run(&engine, &mut scope, "demo.rhai", "socket(\"nope\")");
/// assert!(matches!(failed, Outcome::Failed(text) if text.contains("unknown socket kind")));
/// ```
pub fn run(engine: &Arc<Engine>, scope: &mut Scope, name: &str, source: &str) -> Outcome {
    let outcome = run_source(engine, scope, name, source);
    if outcome == Outcome::Done
        && let Err(err) =
            task::wait_for_non_daemon_tasks().and_then(|()| crate::process::wait_for_non_daemon_processes())
    {
        if runtime::is_cancelled() {
            return Outcome::Interrupted;
        }
        return Outcome::Failed(format!("error: {err}\n"));
    }
    outcome
}

/// Compiles and runs `source` without waiting for its tasks.
pub fn run_source(engine: &Arc<Engine>, scope: &mut Scope, name: &str, source: &str) -> Outcome {
    task::set_engine(engine.clone());
    task::set_source(name, source);
    let mut ast = match engine.compile_with_scope(scope, source) {
        Ok(ast) => ast,
        Err(err) => return Outcome::Failed(render(&EvalAltResult::from(err), name, source)),
    };
    // `import "lib"` then resolves relative to the script's own folder.
    ast.set_source(name);
    match engine.run_ast_with_scope(scope, &ast) {
        Ok(()) => Outcome::Done,
        Err(err) => outcome_of(&err, name, source),
    }
}

fn outcome_of(err: &EvalAltResult, name: &str, source: &str) -> Outcome {
    if let EvalAltResult::ErrorTerminated(token, _) = err.unwrap_inner() {
        if let Some(ExitRequest(code)) = token.read_lock::<ExitRequest>().map(|t| *t) {
            return Outcome::Exit(i32::try_from(code).unwrap_or(1));
        }
        return Outcome::Interrupted;
    }
    if runtime::is_cancelled() {
        return Outcome::Interrupted;
    }
    Outcome::Failed(render(err, name, source))
}

/// Renders an error with the failing source line and a caret under the
/// column, the chain of function calls that led there, then any hint.
pub fn render(err: &EvalAltResult, name: &str, source: &str) -> String {
    // Each frame's call site is in its caller's file; a frame with a
    // source name is a function of an imported module.
    let mut calls = Vec::new();
    let mut inner = err;
    let mut here = Located::main(name, source);
    while let EvalAltResult::ErrorInFunctionCall(func, src, next, pos) = inner {
        calls.push((func.clone(), *pos, here.name.clone()));
        if src == name {
            here = Located::main(name, source);
        } else if !src.is_empty() {
            here = Located::module(name, src);
        }
        inner = next;
    }
    let message = match inner {
        EvalAltResult::ErrorRuntime(value, _) if value.is_string() => value.to_string(),
        other => without_position(&other.to_string()),
    };
    let (message, mut hint) = match message.split_once("\nhint: ") {
        Some((message, hint)) => (message.to_string(), Some(hint.to_string())),
        None => (message, None),
    };
    let message = match limit_error(inner) {
        Some((limit_message, limit_hint)) => {
            hint = Some(limit_hint);
            limit_message
        }
        None => message,
    };
    if let EvalAltResult::ErrorFunctionNotFound(signature, _) = inner {
        let name = signature.split([' ', '(']).next().unwrap_or_default();
        let close = crate::package::docs::similar(name);
        if !close.is_empty() && !close.contains(&name) {
            hint = Some(format!(
                "did you mean {}? help({}) shows how to call it",
                close.join(", "),
                close[0]
            ));
        } else if close.contains(&name) {
            hint = Some(format!(
                "{name} exists but not for these argument types; help({name}) shows its forms"
            ));
        }
    }

    let mut out = format!("error: {message}\n");
    let pos = inner.position();
    write_location(&mut out, &here.name, &here.text, pos);
    for (func, pos, name) in calls.iter() {
        let func = if func.starts_with("anon$") {
            "a closure"
        } else {
            func.as_str()
        };
        match (pos.line(), pos.position()) {
            (Some(line), Some(col)) => {
                let _ = writeln!(out, "   = in call to {func} at {name}:{line}:{col}");
            }
            _ => {
                let _ = writeln!(out, "   = in call to {func}");
            }
        }
    }
    if let Some(hint) = hint {
        let _ = writeln!(out, "hint: {hint}");
    }
    out
}

/// The message and hint for an error raised by one of the [`Limits`].
fn limit_error(err: &EvalAltResult) -> Option<(String, String)> {
    let limits = limits();
    let raise = |flag: &str| format!("raise {flag} if the script really needs more");
    Some(match err {
        EvalAltResult::ErrorTooManyOperations(_) => (
            format!("the script ran more than {} operations", limits.operations),
            format!("look for a loop that never ends, or {}", raise("--max-operations")),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            format!("functions called each other more than {} deep", limits.call_depth()),
            format!("look for recursion that never stops, or {}", raise("--max-call-depth")),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) if what.contains("string") => (
            format!("a string grew longer than {} bytes", limits.string_size),
            raise("--max-string-size"),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) if what.contains("map") => (
            format!("an object map grew past {} entries", limits.map_size),
            raise("--max-map-size"),
        ),
        EvalAltResult::ErrorDataTooLarge(..) => (
            format!("an array or blob grew past {} items", limits.array_size),
            raise("--max-array-size"),
        ),
        _ => return None,
    })
}

/// A file an error points into: the script, or a module it imported.
struct Located {
    name: String,
    text: String,
}

impl Located {
    fn main(name: &str, text: &str) -> Located {
        Located {
            name: name.to_string(),
            text: text.to_string(),
        }
    }

    /// `import "lib"` in `scripts/x.rhai` is `scripts/lib.rhai`.
    fn module(script: &str, module: &str) -> Located {
        let path = std::path::Path::new(script)
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join(format!("{module}.rhai"));
        Located {
            name: path.display().to_string(),
            text: std::fs::read_to_string(&path).unwrap_or_default(),
        }
    }
}

/// Rhai's own text ends with " (line L, position C)"; the location is
/// shown separately, with the source line.
fn without_position(text: &str) -> String {
    match text.rfind(" (line ") {
        Some(cut) if text.ends_with(')') => text[..cut].to_string(),
        _ => text.to_string(),
    }
}

fn write_location(out: &mut String, name: &str, source: &str, pos: Position) {
    let (Some(line), col) = (pos.line(), pos.position()) else {
        return;
    };
    let col = col.unwrap_or(1);
    let _ = writeln!(out, "  --> {name}:{line}:{col}");
    if let Some(text) = source.lines().nth(line.saturating_sub(1)) {
        let number = line.to_string();
        let pad = " ".repeat(number.len());
        let _ = writeln!(out, " {pad} |");
        let _ = writeln!(out, " {number} | {text}");
        let _ = writeln!(out, " {pad} | {}^", " ".repeat(col.saturating_sub(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(source: &str) -> String {
        let engine = new_engine();
        match run(&engine, &mut Scope::new(), "t.rhai", source) {
            Outcome::Failed(text) => text,
            other => format!("unexpected {other:?}"),
        }
    }

    #[test]
    fn native_errors_point_at_the_call() {
        let text = failure("let s = socket();\n  s.bind(\"nonsense\");");
        assert!(
            text.starts_with("error: ValueError: bad address \"nonsense\""),
            "{text}"
        );
        assert!(text.contains("--> t.rhai:2:5"), "{text}");
        assert!(text.contains(" 2 |   s.bind(\"nonsense\");\n   |     ^"), "{text}");
        assert!(text.trim_end().ends_with("or s.bind(\"127.0.0.1\", 9999)"), "{text}");
    }

    #[test]
    fn errors_inside_functions_show_the_call_chain() {
        let text = failure("fn f() {\n  socket(\"sctp\")\n}\nf();");
        assert!(text.contains("--> t.rhai:2:3"), "{text}");
        assert!(text.contains("= in call to f at t.rhai:4:1"), "{text}");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let text = failure("let x = ;");
        assert!(text.starts_with("error: Syntax error"), "{text}");
        assert!(text.contains("--> t.rhai:1:"), "{text}");
    }

    #[test]
    fn exit_codes() {
        let engine = new_engine();
        let code = |src: &str| run(&engine, &mut Scope::new(), "t", src).exit_code();
        assert_eq!(code("1 + 1;"), 0);
        assert_eq!(code("exit(3);"), 3);
        assert_eq!(code("throw \"x\";"), 1);
        assert_eq!(code("fn f() { exit(4) } try { f() } catch { }"), 4);
    }
}
