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
    while let EvalAltResult::ErrorInFunctionCall(func, src, next, pos) = inner {
        calls.push((func.clone(), *pos, here.clone()));
        here = context
            .sources
            .defined_in(func)
            .or_else(|| (!src.is_empty()).then(|| src.clone()))
            .unwrap_or(here);
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
            let (message, explained) = super::explain::function_not_found(signature);
            hint = explained.or(hint);
            message
        }
        EvalAltResult::ErrorVariableNotFound(name, _) => {
            if let Some(habit) = super::explain::python_name(name) {
                hint = Some(habit.to_string());
            }
            format!("NameError: there is no variable {name}")
        }
        EvalAltResult::ErrorParsing(..) => {
            let line = inner.position().line().and_then(|l| {
                locate(&here, name, context.sources)
                    .text
                    .lines()
                    .nth(l.saturating_sub(1))
                    .map(str::to_string)
            });
            if let Some(habit) = line.as_deref().and_then(super::explain::python_habit) {
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
    let located = locate(&here, name, context.sources);
    write_location(&mut out, &shown(&located.name), &located.text, inner.position());
    for (func, pos, name) in calls.iter() {
        let func = if func.starts_with("anon$") {
            "a closure"
        } else {
            func.as_str()
        };
        let name = shown(&locate(name, name, context.sources).name);
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

/// A text an error points into: one the session compiled, or a module a
/// script imported (read from beside the script).
struct Located {
    name: String,
    text: String,
}

fn locate(name: &str, script: &str, sources: &Sources) -> Located {
    if let Some(text) = sources.text(name) {
        return Located {
            name: name.to_string(),
            text,
        };
    }
    // `import "lib"` in `scripts/x.rhai` is `scripts/lib.rhai`.
    let path = std::path::Path::new(script)
        .parent()
        .unwrap_or(std::path::Path::new(""))
        .join(format!("{name}.rhai"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Located {
            name: path.display().to_string(),
            text,
        },
        Err(_) => Located {
            name: name.to_string(),
            text: String::new(),
        },
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
