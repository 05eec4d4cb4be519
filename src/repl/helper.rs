//! The line editor's helper: completion, syntax colours, hints and
//! multi-line input decided by parsing.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use colored::Colorize;
use rhai::Engine;
use rustyline::completion::{Completer, Pair};
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

/// What rustyline asks about the line being typed: completions, colours,
/// hints, and whether Enter finishes the input.
pub struct ReplHelper {
    engine: Arc<Engine>,
    /// Variables defined so far, for completion.
    pub variables: Arc<Mutex<Vec<String>>>,
    /// Every function name the engine knows (ours and Rhai's own).
    functions: Vec<String>,
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
        functions.sort();
        functions.dedup();
        ReplHelper {
            engine,
            variables: Arc::new(Mutex::new(Vec::new())),
            functions,
            history: HistoryHinter::new(),
            colour,
        }
    }
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

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
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
        if prefix.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let after_dot = line[..start].ends_with('.');
        let mut found: Vec<String> = self
            .functions
            .iter()
            .filter(|f| f.starts_with(prefix))
            .cloned()
            .collect();
        if !after_dot {
            let variables = self.variables.lock().map(|v| v.clone()).unwrap_or_default();
            found.extend(variables.into_iter().filter(|v| v.starts_with(prefix)));
            found.extend(KEYWORDS.iter().filter(|k| k.starts_with(prefix)).map(|k| k.to_string()));
        }
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
        if pos < line.len() {
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
                P::UnexpectedEOF | P::BadInput(LexError::UnterminatedString) => true,
                // An open bracket makes almost any error "too early"; an
                // error on an earlier, finished line is a real one.
                _ => at_end && unbalanced(input),
            }
        }
    }
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
        assert!(is_incomplete(&engine, "print(\"abc"));
        assert!(is_incomplete(&engine, "let a = [1, 2,"));
        assert!(!is_incomplete(&engine, "fn f(x) { x }"));
        assert!(!is_incomplete(&engine, "let = 5;"));
        assert!(!is_incomplete(&engine, "1 +* 2"));
    }
}
