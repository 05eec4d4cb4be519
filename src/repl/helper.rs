//! The line editor's helper: completion, syntax colours, hints and
//! multi-line input decided by parsing.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use colored::Colorize;
use rhai::Engine;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use super::commands::COMMANDS;
use crate::package::docs;

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "return", "break", "continue",
    "try", "catch", "throw", "true", "false", "spawn", "import", "export", "as", "switch", "private", "this",
];

/// What the session has defined so far, for completion.
#[derive(Default)]
pub struct Known {
    /// Variables and the script type of their value (`socket`, `blob`, ...).
    pub variables: Vec<(String, String)>,
    /// Functions defined with `fn` in the session.
    pub functions: Vec<String>,
}

/// What rustyline asks about the line being typed: completions, colours,
/// hints, and whether Enter finishes the input.
pub struct ReplHelper {
    engine: Arc<Engine>,
    /// What the session has defined, updated before each line is read.
    pub known: Arc<Mutex<Known>>,
    /// Every function name the engine knows (ours and Rhai's own).
    functions: Vec<String>,
    /// Methods (and properties) by the script type they work on.
    methods: BTreeMap<String, BTreeSet<String>>,
    files: FilenameCompleter,
    history: HistoryHinter,
    colour: bool,
}

impl ReplHelper {
    /// A helper completing the functions `engine` knows; `colour` turns
    /// highlighting on.
    pub fn new(engine: Arc<Engine>, colour: bool) -> ReplHelper {
        let mut functions: Vec<String> = engine
            .gen_fn_signatures(true)
            .into_iter()
            .filter_map(|s| s.split('(').next().map(str::to_string))
            .filter(|n| n.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && !n.contains('$'))
            .collect();
        functions.extend(docs::functions().keys().cloned());
        functions.extend(["spawn".to_string(), "help".to_string()]);
        functions.extend(crate::package::CONSTANTS.iter().map(|(name, _)| name.to_string()));
        functions.sort();
        functions.dedup();
        ReplHelper {
            methods: methods_by_type(&engine),
            engine,
            known: Arc::new(Mutex::new(Known::default())),
            functions,
            files: FilenameCompleter::new(),
            history: HistoryHinter::new(),
            colour,
        }
    }

    /// Candidates after `receiver.`: the methods of its type if the
    /// receiver is a variable whose type is known, else every method.
    fn methods_of(&self, receiver: &str) -> Vec<String> {
        let known = self.known.lock().map(|k| k.variables.clone()).unwrap_or_default();
        let ty = known
            .iter()
            .find(|(name, _)| name == receiver)
            .map(|(_, ty)| ty.clone());
        match ty.and_then(|ty| self.methods.get(&ty)) {
            Some(methods) => methods.iter().cloned().collect(),
            None => {
                let all: BTreeSet<&String> = self.methods.values().flatten().collect();
                all.into_iter().cloned().collect()
            }
        }
    }
}

/// Every function that takes a first argument, by that argument's script
/// type, from the engine's own signatures (`recv(sock: Socket, n: i64)` is
/// a method of `socket`); property getters (`get$kind`) count as methods.
fn methods_by_type(engine: &Engine) -> BTreeMap<String, BTreeSet<String>> {
    let mut methods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for signature in engine.gen_fn_signatures(true) {
        let Some((name, rest)) = signature.split_once('(') else {
            continue;
        };
        let first = rest.split([',', ')']).next().unwrap_or_default();
        let Some((_, ty)) = first.split_once(':') else { continue };
        let name = name.strip_prefix("get$").unwrap_or(name);
        if !name.chars().next().is_some_and(|c| c.is_alphabetic()) || name.contains('$') {
            continue;
        }
        let ty = crate::error::script_type(ty.trim().trim_start_matches("&mut ")).to_string();
        methods.entry(ty).or_default().insert(name.to_string());
    }
    methods
}

/// Where the identifier being typed at `pos` starts.
fn word_start(line: &str, pos: usize) -> usize {
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        if line.starts_with(":load ") || line.starts_with(":save ") {
            return self.files.complete(line, pos, ctx);
        }
        if line.starts_with(':') && !line[..pos].contains(' ') {
            let found = COMMANDS
                .iter()
                .filter(|(name, _)| name.starts_with(&line[..pos]))
                .map(|(name, _)| Pair {
                    display: name.to_string(),
                    replacement: name.to_string(),
                })
                .collect();
            return Ok((0, found));
        }
        let start = word_start(line, pos);
        let prefix = &line[start..pos];
        let after_dot = line[..start].ends_with('.');
        if prefix.is_empty() && !after_dot {
            return Ok((pos, Vec::new()));
        }
        let mut found: Vec<String> = if after_dot {
            let receiver = &line[word_start(line, start - 1)..start - 1];
            self.methods_of(receiver)
                .into_iter()
                .filter(|m| m.starts_with(prefix))
                .collect()
        } else {
            let known = self
                .known
                .lock()
                .map(|k| (k.variables.clone(), k.functions.clone()))
                .unwrap_or_default();
            let mut found: Vec<String> = self
                .functions
                .iter()
                .chain(known.1.iter())
                .chain(known.0.iter().map(|(name, _)| name))
                .filter(|f| f.starts_with(prefix))
                .cloned()
                .collect();
            found.extend(KEYWORDS.iter().filter(|k| k.starts_with(prefix)).map(|k| k.to_string()));
            found
        };
        found.sort();
        found.dedup();
        Ok((
            start,
            found
                .into_iter()
                .map(|f| Pair {
                    display: f.clone(),
                    replacement: f,
                })
                .collect(),
        ))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    /// While a call is open, the rest of the function's signature; else a
    /// matching line from history.
    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        // Without colour a hint would look like typed text: show none.
        if pos < line.len() || !self.colour {
            return None;
        }
        if let Some(open) = line.rfind('(')
            && !line[open..].contains(')')
        {
            let name = &line[word_start(line, open)..open];
            if let Some(doc) = docs::functions().get(name) {
                let signature = doc.signatures.first()?;
                let rest = signature.split_once('(').map(|(_, r)| r)?;
                let typed = line[open + 1..].matches(',').count();
                let rest: Vec<&str> = rest.splitn(typed + 1, ", ").collect();
                return rest.last().map(|r| format!("  {r}"));
            }
        }
        self.history.hint(line, pos, ctx)
    }
}

fn paint(text: &str, kind: &str) -> String {
    match kind {
        "keyword" => text.magenta().bold().to_string(),
        "string" => text.green().to_string(),
        "number" => text.yellow().to_string(),
        "comment" => text.dimmed().to_string(),
        "function" => text.cyan().to_string(),
        _ => text.to_string(),
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.colour {
            return Cow::Borrowed(line);
        }
        let mut out = String::with_capacity(line.len() * 2);
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            let end_of = |j: usize| chars.get(j).map_or(line.len(), |(p, _)| *p);
            if c == '/' && chars.get(i + 1).is_some_and(|(_, n)| *n == '/') {
                out.push_str(&paint(&line[at..], "comment"));
                break;
            }
            if c == '"' || c == '`' {
                let mut j = i + 1;
                while j < chars.len() && chars[j].1 != c {
                    if chars[j].1 == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                let j = (j + 1).min(chars.len());
                out.push_str(&paint(&line[at..end_of(j)], "string"));
                i = j;
                continue;
            }
            if c.is_ascii_digit() {
                let mut j = i;
                while j < chars.len() && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.' || chars[j].1 == '_')
                {
                    j += 1;
                }
                out.push_str(&paint(&line[at..end_of(j)], "number"));
                i = j;
                continue;
            }
            if c.is_alphabetic() || c == '_' {
                let mut j = i;
                while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                    j += 1;
                }
                let word = &line[at..end_of(j)];
                let kind = if KEYWORDS.contains(&word) {
                    "keyword"
                } else if chars.get(j).is_some_and(|(_, n)| *n == '(') {
                    "function"
                } else {
                    ""
                };
                out.push_str(&paint(word, kind));
                i = j;
                continue;
            }
            out.push(c);
            i += 1;
        }
        Cow::Owned(out)
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colour {
            Cow::Owned(hint.dimmed().to_string())
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(&'s self, prompt: &'p str, _default: bool) -> Cow<'b, str> {
        if self.colour {
            Cow::Owned(prompt.blue().bold().to_string())
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.colour
    }
}

/// True when `input` fails only because it stops too early: an open
/// brace, bracket, parenthesis or string.
pub fn is_incomplete(engine: &Engine, input: &str) -> bool {
    if input.trim_start().starts_with(':') {
        return false;
    }
    match engine.compile(input) {
        Ok(_) => false,
        Err(err) => {
            use rhai::{LexError, ParseErrorType as P};
            let at_end = err
                .position()
                .line()
                .is_none_or(|line| line >= input.lines().count().max(1));
            match err.err_type() {
                P::UnexpectedEOF => true,
                // Back-tick strings may span lines; a double-quoted one may
                // not (unless the line ends in `\`), so report it at once,
                // as a script would.
                P::BadInput(LexError::UnterminatedString) => {
                    open_quote(input).is_some_and(|(q, continued)| q == '`' || continued)
                }
                // An open bracket makes almost any error "too early"; an
                // error on an earlier, finished line is a real one.
                _ => at_end && unbalanced(input),
            }
        }
    }
}

/// The quote of the string left open at the end of `input`, if any, and
/// whether the input ends in a `\` that continues it.
fn open_quote(input: &str) -> Option<(char, bool)> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in input.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '`' => quote = Some(c),
            None => {}
        }
    }
    quote.map(|q| (q, input.trim_end_matches('\n').ends_with('\\')))
}

fn unbalanced(input: &str) -> bool {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in input.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '`' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth > 0 || quote.is_some()
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_incomplete(&self.engine, ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_blocks_continue_and_errors_do_not() {
        let session = crate::Session::new().unwrap_or_else(|e| panic!("{e}"));
        let engine = session.engine().clone();
        assert!(is_incomplete(&engine, "fn f(x) {"));
        assert!(is_incomplete(&engine, "fn f(x) {\n  let y = x + 1;"));
        assert!(
            !is_incomplete(&engine, "print(\"abc"),
            "a double-quoted string cannot span lines"
        );
        assert!(is_incomplete(&engine, "print(`abc"), "a back-tick string can");
        assert!(is_incomplete(&engine, "let a = [1, 2,"));
        assert!(!is_incomplete(&engine, "fn f(x) { x }"));
        assert!(!is_incomplete(&engine, "let = 5;"));
        assert!(!is_incomplete(&engine, "1 +* 2"));
    }
}
