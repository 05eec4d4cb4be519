//! Errors as a person reads them: the file, line and column, the source
//! line with a caret under the column, the chain of calls that led there,
//! then a hint.
//!
//! Rhai reports positions, not files: a position inside a function is in
//! the text that defined the function, which in a shell session is an
//! earlier input and in a task is not the code that spawned it. So each
//! session keeps its [`Sources`]: every text it compiled, by name, and
//! which one defined each function. Rendering walks the error's call
//! frames and switches file whenever it enters a function.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use rhai::{AST, EvalAltResult, Position};

use crate::engine::{Globals, Limits};
use crate::runtime::context::guard;

/// The texts a session compiled and where each function was defined.
#[derive(Default)]
pub struct Sources {
    inner: Mutex<SourcesInner>,
}

#[derive(Default)]
struct SourcesInner {
    /// In the order they ran: a child process compiles them again.
    texts: Vec<(String, String)>,
    defined_in: HashMap<String, String>,
    /// The texts that are imported modules, by path.
    modules: std::collections::HashSet<String>,
}

impl Sources {
    /// Records `text`, named `name`, and the functions `ast` defines.
    pub fn add(&self, name: &str, text: &str, ast: &AST) {
        let mut inner = guard(&self.inner);
        // Closures are functions of the AST too, with generated names.
        for (_, _, function, _, _) in ast.shared_lib().iter_script_fn_info() {
            inner.defined_in.insert(function.to_string(), name.to_string());
        }
        inner.texts.retain(|(n, _)| n != name);
        inner.texts.push((name.to_string(), text.to_string()));
    }

    /// Records an imported module: a frame whose source names it runs
    /// in the module (Rhai names the running module in its frames, but in
    /// a session's own texts it names the text running, not the one that
    /// defined the function).
    pub fn add_module(&self, path: &str, text: &str, ast: &AST) {
        let mut inner = guard(&self.inner);
        // Frames name the module, except the first frame of a task that
        // runs one of its functions or closures: for those, the function's
        // name tells, unless the script has a function of that name too.
        for (_, _, function, _, _) in ast.shared_lib().iter_script_fn_info() {
            inner
                .defined_in
                .entry(function.to_string())
                .or_insert_with(|| path.to_string());
        }
        inner.texts.retain(|(n, _)| n != path);
        inner.texts.push((path.to_string(), text.to_string()));
        inner.modules.insert(path.to_string());
    }

    fn is_module(&self, name: &str) -> bool {
        guard(&self.inner).modules.contains(name)
    }

    /// Forgets everything (`:reset`).
    pub fn clear(&self) {
        *guard(&self.inner) = SourcesInner::default();
    }

    /// Every text, in the order they ran.
    pub fn texts(&self) -> Vec<(String, String)> {
        guard(&self.inner).texts.clone()
    }

    fn text(&self, name: &str) -> Option<String> {
        guard(&self.inner)
            .texts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    }

    /// True if some text declares a variable `name` (`let name =`).
    fn declares(&self, name: &str) -> bool {
        let wanted = format!("let {name}");
        guard(&self.inner).texts.iter().any(|(_, text)| {
            text.match_indices(&wanted).any(|(at, _)| {
                let rest = text[at + wanted.len()..].trim_start();
                rest.starts_with('=') && !rest.starts_with("==")
            })
        })
    }

    fn defined_in(&self, function: &str) -> Option<String> {
        guard(&self.inner).defined_in.get(function).cloned()
    }
}

/// What rendering needs to know about the session.
pub struct Context<'a> {
    /// A text shown under another name: a shell's current input, named
    /// `<repl:N>` in the session and shown as `<repl>`.
    pub shown_as: Option<(&'a str, &'a str)>,
    /// The texts and function origins.
    pub sources: &'a Sources,
    /// The limits, for naming the flag to raise.
    pub limits: &'a Limits,
    /// The top-level variables functions read, for assignment errors.
    pub globals: &'a Globals,
}

/// Renders `err`, raised while running the text named `name`.
pub fn render(err: &EvalAltResult, name: &str, context: &Context) -> String {
    // Each frame's call site is in its caller's text; the frame's own
    // positions are in the text that defined its function.
    let mut calls = Vec::new();
    let mut inner = err;
    let mut here = name.to_string();
    loop {
        match inner {
            EvalAltResult::ErrorInFunctionCall(func, src, next, pos) => {
                calls.push((func.clone(), *pos, here.clone()));
                // A function runs in the text that defined it: the frame
                // names it (a module's path), or the session knows it.
                here = Some(src)
                    .filter(|src| context.sources.is_module(src))
                    .cloned()
                    .or_else(|| context.sources.defined_in(func))
                    .unwrap_or(here);
                inner = next;
            }
            // An error while a module loads: its positions are in the module.
            EvalAltResult::ErrorInModule(module, next, pos) => {
                calls.push((format!("import \"{module}\""), *pos, here.clone()));
                here = module.clone();
                inner = next;
            }
            _ => break,
        }
    }
    let message = match inner {
        EvalAltResult::ErrorRuntime(value, _) if value.is_string() => value.to_string(),
        other => without_position(&other.to_string()),
    };
    let (message, mut hint) = match message.split_once("\nhint: ") {
        Some((message, hint)) => (message.to_string(), Some(hint.to_string())),
        None => (message, None),
    };
    let message = match limit_error(inner, context.limits) {
        Some((limit_message, limit_hint)) => {
            hint = Some(limit_hint);
            limit_message
        }
        None => message,
    };
    let message = match inner {
        EvalAltResult::ErrorAssignmentToConstant(var, _) if context.globals.is_published(var) => {
            hint = Some(format!(
                "functions read top-level variables but cannot assign them (Python needs `global {var}` \
                 for that); to share a number between functions and tasks, make it `let {var} = value(0);` \
                 and write `{var}.value += 1`"
            ));
            format!("cannot assign to the top-level variable {var} from inside a function")
        }
        _ => message,
    };
    let message = match inner {
        EvalAltResult::ErrorFunctionNotFound(signature, _) => {
            let (message, explained) =
                super::explain::function_not_found(signature, |name| context.sources.declares(name));
            hint = explained.or(hint);
            message
        }
        EvalAltResult::ErrorModuleNotFound(path, _) => {
            let file = super::modules::file_of(Some(&here), path).display().to_string();
            hint = Some(
                "`import \"lib\" as lib;` reads lib.rhai from the folder of the script that imports it".to_string(),
            );
            format!("ModuleNotFoundError: there is no file {file}")
        }
        EvalAltResult::ErrorVariableNotFound(name, _) => {
            if let Some(habit) = super::explain::python_name(name) {
                hint = Some(habit.to_string());
            }
            format!("NameError: there is no variable {name}")
        }
        EvalAltResult::ErrorParsing(..) => {
            let line = inner.position().line().and_then(|l| {
                locate(&here, context.sources)
                    .text
                    .lines()
                    .nth(l.saturating_sub(1))
                    .map(str::to_string)
            });
            if let Some(word) = message
                .strip_prefix("Syntax error: '")
                .and_then(|m| m.strip_suffix("' is a reserved keyword"))
            {
                hint = Some(match word {
                    "sync" => {
                        "sync is a word Rhai keeps for itself; to flush a file to disk, call fsync(f)".to_string()
                    }
                    _ => format!("{word} is a word Rhai keeps for itself; choose another name"),
                });
            } else if let Some(habit) = line.as_deref().and_then(super::explain::python_habit) {
                hint = Some(habit.to_string());
            }
            message
        }
        _ => message,
    };

    let shown = |located: &str| -> String {
        match context.shown_as {
            Some((real, shown)) if real == located => shown.to_string(),
            _ => located.to_string(),
        }
    };
    let mut out = format!("error: {message}\n");
    let located = locate(&here, context.sources);
    write_location(&mut out, &shown(&located.name), &located.text, inner.position());
    for (func, pos, name) in calls.iter() {
        let what = if let Some(module) = func.strip_prefix("import ") {
            format!("while importing {module}")
        } else if func.starts_with("anon$") {
            "in call to a closure".to_string()
        } else {
            format!("in call to {func}")
        };
        let name = shown(name);
        match (pos.line(), pos.position()) {
            (Some(line), Some(col)) => {
                let _ = writeln!(out, "   = {what} at {name}:{line}:{col}");
            }
            _ => {
                let _ = writeln!(out, "   = {what}");
            }
        }
    }
    if let Some(hint) = hint {
        let _ = writeln!(out, "hint: {hint}");
    }
    out
}

/// The message and hint for an error raised by one of the [`Limits`].
fn limit_error(err: &EvalAltResult, limits: &Limits) -> Option<(String, String)> {
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

/// A text an error points into: one the session compiled or imported.
struct Located {
    name: String,
    text: String,
}

fn locate(name: &str, sources: &Sources) -> Located {
    Located {
        name: name.to_string(),
        text: sources.text(name).unwrap_or_default(),
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
