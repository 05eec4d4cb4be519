//! What the shell does with each keystroke's line: decide whether Enter
//! continues it, complete the word at the cursor, hint, colour it, and
//! parse `:commands`. None of it may panic on any text or cursor position.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rustyline::Context;
use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use sockrepl::fuzzing::{ReplHelper, is_incomplete, parse_command};

fn shell() -> &'static (Arc<rhai::Engine>, ReplHelper) {
    static SHELL: OnceLock<(Arc<rhai::Engine>, ReplHelper)> = OnceLock::new();
    SHELL.get_or_init(|| {
        let session = sockrepl::Session::new().unwrap_or_else(|e| panic!("{e}"));
        let engine = session.engine().clone();
        let helper = ReplHelper::new(engine.clone(), true);
        (engine, helper)
    })
}

fuzz_target!(|input: &[u8]| {
    let Some((&cursor, rest)) = input.split_first() else {
        return;
    };
    let Ok(line) = std::str::from_utf8(rest) else { return };
    let (engine, helper) = shell();
    let _ = is_incomplete(engine, line);
    let _ = parse_command(line);
    let _ = helper.highlight(line, 0);
    // Every character boundary is a place the cursor can be.
    let boundaries: Vec<usize> = line.char_indices().map(|(i, _)| i).chain([line.len()]).collect();
    let pos = boundaries[usize::from(cursor) % boundaries.len()];
    let history = DefaultHistory::new();
    let ctx = Context::new(&history);
    if let Ok((start, candidates)) = helper.complete(line, pos, &ctx) {
        assert!(start <= pos, "completion starts after the cursor");
        for candidate in candidates {
            let _ = candidate.replacement;
        }
    }
    let _ = helper.hint(line, pos, &ctx);
});
