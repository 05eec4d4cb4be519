//! The book cannot drift: its includes resolve to anchors in files that
//! tests run, its Rhai examples run, its "you type / you see" transcripts
//! match the real shell, every command it shows prints what the book says
//! it prints, every exercise solution runs, its function reference
//! matches the engine, and its pages render without a JavaScript error.
//!
//! # How the book marks what is checked
//!
//! - A ```` ```repl ```` block is a shell transcript: lines starting `> `
//!   are typed, every other line is what the shell prints (stdout and
//!   stderr, in order).
//! - A ```` ```text ```` block whose first line starts with `$ ` is a
//!   terminal: each `$ repl ...` line is a command run from the
//!   repository's root, followed by everything it prints (stdout and
//!   stderr, in order). In the printed lines, `⟨words⟩` at the end of a
//!   line is input typed there (the terminal echoes it, then Enter),
//!   `⟨Ctrl-D⟩` ends the input, and `⟨Ctrl-C⟩` at the start of a line
//!   is Ctrl-C pressed once everything above it has been printed and
//!   the other terminals' commands (those not stopped with Ctrl-C) have
//!   finished.
//! - A terminal block preceded by a paragraph `**Terminal N**` with N > 1
//!   runs at the same time as the terminals before it: terminal N starts
//!   once terminal N-1 has printed its first line (a server saying it is
//!   listening).
//! - ```` ```text,unordered ```` compares the lines in any order: tasks
//!   and processes that print at the same time.
//! - ```` ```text,unordered,distinct ```` compares which different lines
//!   were printed, not how often: a loop that looks every half second
//!   while tasks sleep prints the same line six times on one run and
//!   seven on another.
//! - ```` ```text,alternative ```` right after a terminal is another
//!   output the same command may print (which of two tasks detects a
//!   deadlock, say); the command's output must match one of them.
//! - A caption `<span class="caption">Listing N.M</span>` names the file
//!   of the listing under it and the commands that run it; each command
//!   must appear in a checked terminal of the same chapter.
//!
//! # What is normalised
//!
//! Output is compared after the explicit rules in [`RULES`] (process ids,
//! ephemeral ports, clock times, durations, the count of a race) are
//! applied to both the book's text and the real output. Port numbers from
//! 1024 up in a command are the book's choice: the test runs the command
//! with a free port instead and writes the book's number back into the
//! output, so checks never collide with each other or with a server the
//! reader happens to run.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use common::repo;

// ---------------------------------------------------------------------------
// Reading the book

struct Chapter {
    name: String,
    path: PathBuf,
    text: String,
}

fn chapters() -> Vec<Chapter> {
    let dir = repo("book/src");
    let mut found: Vec<Chapter> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Chapter { name, path: p, text }
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// A fenced block: its chapter, info string, body, the line it starts on
/// and the paragraph right before it (its lines joined by spaces).
struct Block {
    chapter: String,
    info: String,
    body: String,
    line: usize,
    before: String,
}

impl Block {
    fn lang(&self) -> &str {
        self.info.split(',').next().unwrap_or_default().trim()
    }

    fn has_attribute(&self, attribute: &str) -> bool {
        self.info.split(',').skip(1).any(|a| a.trim() == attribute)
    }

    fn place(&self) -> String {
        format!("{}:{}", self.chapter, self.line)
    }
}

fn fenced(chapter: &Chapter) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    let mut paragraph: Vec<&str> = Vec::new();
    let mut blank = true;
    for (number, line) in chapter.text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None if trimmed.starts_with("```") => {
                open = Some(Block {
                    chapter: chapter.name.clone(),
                    info: trimmed.trim_start_matches('`').trim().to_string(),
                    body: String::new(),
                    line: number + 1,
                    before: paragraph.join(" "),
                });
            }
            None if line.trim().is_empty() => blank = true,
            None => {
                if blank {
                    paragraph.clear();
                }
                paragraph.push(line.trim());
                blank = false;
            }
            Some(_) if trimmed.starts_with("```") => {
                out.extend(open.take());
                paragraph.clear();
                blank = true;
            }
            Some(block) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
        }
    }
    out
}

fn all_blocks() -> Vec<Block> {
    chapters().iter().flat_map(fenced).collect()
}

// ---------------------------------------------------------------------------
// Normalisation

/// What varies from run to run, replaced by a name on both sides. In a
/// pattern, `{d}` is one or more digits, `{f}` a decimal number, `{w}`
/// letters, `{s}` spaces, `{port}` a port in Linux's ephemeral range
/// (32768-60999) and `{rest}` the rest of the line.
const RULES: &[(&str, &str)] = &[
    // This machine's name.
    ("host name: {rest}", "host name: <this machine>"),
    // Process ids, and folders named after them.
    ("pid {d}", "pid <pid>"),
    ("tftp-demo-{d}", "tftp-demo-<pid>"),
    ("tftp-exercise-{d}", "tftp-exercise-<pid>"),
    ("hello from {d}", "hello from <pid>"),
    // Absolute paths, which depend on where the project is.
    ("serving /{rest} on ", "serving <folder> on "),
    // Ports the system chose (a client's port, a server bound to port 0).
    ("127.0.0.1:{port}", "127.0.0.1:<port>"),
    ("0.0.0.0:{port}", "0.0.0.0:<port>"),
    ("\"127.0.0.1\", {port}]", "\"127.0.0.1\", <port>]"),
    ("[::1]:{port}", "[::1]:<port>"),
    ("\"::1\", {port}]", "\"::1\", <port>]"),
    ("port {port}", "port <port>"),
    ("random port: {port},", "random port: <port>,"),
    // The TFTP demo downloads tftp_lib.rhai, whose size changes with it.
    ("tftp_lib.rhai: {d} bytes", "tftp_lib.rhai: <size> bytes"),
    ("tsize {d})", "tsize <size>)"),
    // Clock readings: strftime's "%Y-%m-%d %X", "%H:%M:%S", and the
    // timestamp server's "%a %b %e %H:%M:%S %Y".
    ("[{w} {w}{s}{d} {d}:{d}:{d} {d}]", "[<timestamp>]"),
    ("{d}-{d}-{d} {d}:{d}:{d}", "<date> <time>"),
    ("{d}:{d}:{d}", "<time>"),
    // Durations and rates.
    ("in {f} s", "in <secs> s"),
    ("{f} MB/s", "<rate> MB/s"),
    ("{f} seconds", "<secs> seconds"),
    // Whether a listed task is between two sleeps or in one.
    (" running, blocked in sleep({f})>", " running>"),
    // A listing taken while one of two tasks that end together has ended
    // and the other not yet (threads_enumerate.rhai, on a busy machine).
    (
        "running now: 2 [<task 1 MainThread running>, <task {d} Thread-{d} running>]",
        "running now: 3 [<task 1 MainThread running>, <task 2 Thread-1 running>, <task 3 Thread-2 running>]",
    ),
    // Which of a round's waiting tasks gets the lock first (seed 003's
    // ordered demo starts every round's tasks at once).
    ("A -- Thread-{d}", "A -- Thread-<n>"),
    ("B -- Thread-{d}", "B -- Thread-<n>"),
    ("C -- Thread-{d}", "C -- Thread-<n>"),
    // Which task serves which client of a task-per-client server.
    ("(served by Thread-{d})", "(served by Thread-<n>)"),
    // How far a writer process has got when the reader counts.
    ("qsize: {d}", "qsize: <n>"),
    // The times of a trace (`repl --trace`).
    ("{f} MainThread", "<t> MainThread"),
    ("{f} Thread-", "<t> Thread-"),
    // How many updates a race loses.
    ("num = {d} (expected", "num = <n> (expected"),
];

#[derive(Debug)]
enum Token {
    Text(String),
    Digits,
    Float,
    Letters,
    Spaces,
    Port,
    Rest,
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = pattern;
    let mut text = String::new();
    while !rest.is_empty() {
        let class = [
            ("{d}", 0u8),
            ("{f}", 1),
            ("{w}", 2),
            ("{s}", 3),
            ("{port}", 4),
            ("{rest}", 5),
        ]
        .into_iter()
        .find(|(name, _)| rest.starts_with(name));
        match class {
            Some((name, kind)) => {
                if !text.is_empty() {
                    out.push(Token::Text(std::mem::take(&mut text)));
                }
                out.push(match kind {
                    0 => Token::Digits,
                    1 => Token::Float,
                    2 => Token::Letters,
                    3 => Token::Spaces,
                    4 => Token::Port,
                    _ => Token::Rest,
                });
                rest = &rest[name.len()..];
            }
            None => {
                let c = rest.chars().next().unwrap_or_default();
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !text.is_empty() {
        out.push(Token::Text(text));
    }
    out
}

/// Where a match of `tokens` starting at byte `at` of `s` ends, if any.
fn match_at(tokens: &[Token], s: &str, at: usize) -> Option<usize> {
    let Some((first, rest)) = tokens.split_first() else {
        return Some(at);
    };
    let tail = &s[at..];
    let run = |ok: fn(char) -> bool| {
        tail.char_indices()
            .find(|&(_, c)| !ok(c))
            .map_or(tail.len(), |(i, _)| i)
    };
    let longest = match first {
        Token::Text(t) => {
            return if tail.starts_with(t.as_str()) {
                match_at(rest, s, at + t.len())
            } else {
                None
            };
        }
        Token::Digits => run(|c| c.is_ascii_digit()),
        Token::Float => run(|c| c.is_ascii_digit() || c == '.' || c == 'e' || c == '-'),
        Token::Letters => run(|c| c.is_ascii_alphabetic()),
        Token::Spaces => run(|c| c == ' '),
        Token::Rest => run(|c| c != '\n'),
        Token::Port => {
            let n = run(|c| c.is_ascii_digit());
            let port: u32 = tail[..n].parse().ok()?;
            return if (32768..=60999).contains(&port) {
                match_at(rest, s, at + n)
            } else {
                None
            };
        }
    };
    (1..=longest).rev().find_map(|n| match_at(rest, s, at + n))
}

fn apply_rule(s: &str, pattern: &str, replacement: &str) -> String {
    let tokens = tokens(pattern);
    let mut out = String::new();
    let mut at = 0;
    while at < s.len() {
        // A number is never matched from its middle.
        let mid_number = matches!(tokens.first(), Some(Token::Digits | Token::Float | Token::Port))
            && s[..at].chars().next_back().is_some_and(|c| c.is_ascii_digit());
        match (!mid_number).then(|| match_at(&tokens, s, at)).flatten() {
            Some(end) if end > at => {
                out.push_str(replacement);
                at = end;
            }
            _ => {
                let c = s[at..].chars().next().unwrap_or_default();
                out.push(c);
                at += c.len_utf8();
            }
        }
    }
    out
}

/// Removes terminal colour codes (ESC [ ... letter).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces the whole number `from` by `to` wherever it stands alone.
fn replace_number(s: &str, from: u16, to: u16) -> String {
    let from = from.to_string();
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(&from) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + from.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit()) {
            out.push_str(&from);
        } else {
            out.push_str(&to.to_string());
        }
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

fn normalise(s: &str) -> String {
    let mut s = strip_ansi(s);
    for (pattern, replacement) in RULES {
        s = apply_rule(&s, pattern, replacement);
    }
    s
}

/// Lines with trailing blanks removed and no trailing empty lines.
fn lines_of(s: &str) -> Vec<String> {
    let mut lines: Vec<String> = s.lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

#[test]
fn normalisation_rules_do_what_they_say() {
    assert_eq!(normalise("served by pid 4242)"), "served by pid <pid>)");
    assert_eq!(normalise("hi [\"127.0.0.1\", 53214]"), "hi [\"127.0.0.1\", <port>]");
    assert_eq!(
        normalise("on 127.0.0.1:9000"),
        "on 127.0.0.1:9000",
        "a chosen port stays"
    );
    assert_eq!(normalise("[Mon Nov  2 09:05:01 2026] hello"), "[<timestamp>] hello");
    assert_eq!(normalise("2026-11-23 14:05:11"), "<date> <time>");
    assert_eq!(normalise("in 0.0123 s (4.5 MB/s)"), "in <secs> s (<rate> MB/s)");
    assert_eq!(normalise("\x1b[1;44mhello\x1b[0m"), "hello");
    assert_eq!(normalise("host name: vm-7\nnext"), "host name: <this machine>\nnext");
    assert_eq!(
        normalise("[<task 2 Thread-1 running, blocked in sleep(1)>, <task 3 Thread-2 running>]"),
        normalise("[<task 2 Thread-1 running>, <task 3 Thread-2 running, blocked in sleep(0.5)>]")
    );
    assert_eq!(normalise("B -- Thread-8"), normalise("B -- Thread-5"));
    assert_eq!(
        normalise("running now: 2 [<task 1 MainThread running>, <task 3 Thread-2 running, blocked in sleep(1)>]"),
        normalise("running now: 3 [<task 1 MainThread running>, <task 2 Thread-1 running>, <task 3 Thread-2 running>]")
    );
    assert_ne!(normalise("B -- Thread-8"), normalise("A -- Thread-8"));
    assert_eq!(
        replace_number("9999 and 19999 and :9999]", 9999, 8000),
        "8000 and 19999 and :8000]"
    );
}

// ---------------------------------------------------------------------------
// Running what the book shows

/// Checks of running programs stop after this long.
const LIMIT: Duration = Duration::from_secs(30);

/// A working folder where `scripts` and `book` are the repository's, so
/// that commands read exactly as in the book and files they write
/// (downloads) land in a folder that is removed afterwards.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for name in ["scripts", "book"] {
        std::os::unix::fs::symlink(repo(name), dir.path().join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

/// A port free for both TCP and UDP on every local address, not handed
/// out before by this test process.
fn free_port() -> u16 {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    loop {
        let tcp = std::net::TcpListener::bind("0.0.0.0:0").unwrap_or_else(|e| panic!("{e}"));
        let port = tcp.local_addr().map(|a| a.port()).unwrap_or_default();
        let udp = std::net::UdpSocket::bind(("0.0.0.0", port));
        let mut given = given.lock().unwrap_or_else(|p| p.into_inner());
        if udp.is_ok() && given.insert(port) {
            return port;
        }
    }
}

/// Splits a command line into words; single and double quotes group.
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (None, c) => word.push(c),
        }
    }
    if started || !word.is_empty() {
        out.push(word);
    }
    out
}

/// The port a command word names, if the book chose one: a number from
/// 1024 up, alone or after `host:`, that is not the value of an option.
fn chosen_port(previous: Option<&String>, word: &str) -> Option<u16> {
    if previous.is_some_and(|p| p.starts_with("--")) {
        return None;
    }
    let digits = word.rsplit(':').next().unwrap_or(word);
    let port: u16 = digits.parse().ok()?;
    (port >= 1024).then_some(port)
}

/// The ports the book chose in a command.
fn chosen_ports(cmd_words: &[String]) -> Vec<(usize, u16)> {
    (0..cmd_words.len())
        .filter_map(|i| chosen_port(i.checked_sub(1).map(|p| &cmd_words[p]), &cmd_words[i]).map(|port| (i, port)))
        .collect()
}

/// One command of a terminal and what the book says it prints.
#[derive(Clone)]
struct Step {
    command: String,
    lines: Vec<String>,
}

impl Step {
    /// What the program itself writes: the book's lines without the
    /// echo of typed input, and the input to type.
    fn expected_and_input(&self) -> (String, String, Option<usize>) {
        let mut output = String::new();
        let mut input = String::new();
        let mut interrupt_at = None;
        for line in &self.lines {
            let mut line = line.as_str();
            if let Some(rest) = line.strip_prefix("⟨Ctrl-C⟩") {
                interrupt_at = Some(output.len());
                line = rest;
            }
            if let Some(before) = line.strip_suffix("⟨Ctrl-D⟩") {
                output.push_str(before);
            } else if let (Some(open), true) = (line.rfind('⟨'), line.ends_with('⟩')) {
                output.push_str(&line[..open]);
                input.push_str(&line[open + '⟨'.len_utf8()..line.len() - '⟩'.len_utf8()]);
                input.push('\n');
            } else {
                output.push_str(line);
                output.push('\n');
            }
        }
        (output, input, interrupt_at)
    }
}

#[derive(Clone)]
struct Terminal {
    place: String,
    unordered: bool,
    /// Compare the set of different lines only.
    distinct: bool,
    steps: Vec<Step>,
    /// Other outputs the same commands may print, step by step.
    alternatives: Vec<Vec<Step>>,
}

impl Terminal {
    /// Is this terminal's last command stopped with Ctrl-C?
    fn interrupted(&self) -> bool {
        self.steps
            .last()
            .is_some_and(|s| s.lines.iter().any(|l| l.starts_with("⟨Ctrl-C⟩")))
    }
}

struct Session {
    place: String,
    terminals: Vec<Terminal>,
}

fn terminal(block: &Block) -> Option<Terminal> {
    if !block.body.starts_with("$ ") || block.lang() != "text" {
        return None;
    }
    let mut steps: Vec<Step> = Vec::new();
    for line in block.body.lines() {
        match line.strip_prefix("$ ") {
            Some(command) => steps.push(Step {
                command: command.to_string(),
                lines: Vec::new(),
            }),
            None => steps.last_mut()?.lines.push(line.to_string()),
        }
    }
    Some(Terminal {
        place: block.place(),
        unordered: block.has_attribute("unordered"),
        distinct: block.has_attribute("distinct"),
        steps,
        alternatives: Vec::new(),
    })
}

/// The checked terminals of `chapter`, grouped into sessions.
fn sessions(chapter: &Chapter) -> Vec<Session> {
    let mut out: Vec<Session> = Vec::new();
    for block in fenced(chapter) {
        let Some(t) = terminal(&block) else { continue };
        if block.has_attribute("alternative") {
            let last = out
                .last_mut()
                .and_then(|s| s.terminals.last_mut())
                .unwrap_or_else(|| panic!("{}: an alternative needs a terminal before it", block.place()));
            let same = last
                .steps
                .iter()
                .map(|s| &s.command)
                .eq(t.steps.iter().map(|s| &s.command));
            assert!(same, "{}: an alternative must run the same commands", block.place());
            last.alternatives.push(t.steps);
            continue;
        }
        let joins = block
            .before
            .strip_prefix("**Terminal ")
            .and_then(|n| n.strip_suffix("**"))
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n > 1);
        match out.last_mut() {
            Some(session) if joins => session.terminals.push(t),
            _ => {
                assert!(
                    !joins || out.is_empty(),
                    "{}: a later terminal needs a first one",
                    block.place()
                );
                out.push(Session {
                    place: block.place(),
                    terminals: vec![t],
                });
            }
        }
    }
    out
}

/// Output of a running command, written by it to a file.
struct Capture {
    file: tempfile::NamedTempFile,
}

impl Capture {
    fn new() -> Capture {
        Capture {
            file: tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}")),
        }
    }

    fn stdio(&self) -> (Stdio, Stdio) {
        let out = self.file.reopen().unwrap_or_else(|e| panic!("{e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
        (Stdio::from(out), Stdio::from(err))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.file.path()).unwrap_or_default()).into_owned()
    }
}

fn start(cmd_words: &[String], dir: &Path, capture: &Capture, input: &str) -> Child {
    let (out, err) = capture.stdio();
    let mut cmd = common::repl();
    cmd.args(&cmd_words[1..])
        .current_dir(dir)
        // Temporary files (the TFTP demo's folder, say) go where the
        // working folder is removed afterwards.
        .env("TMPDIR", dir)
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd_words:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        // Everything the reader types, then end of input.
        let _ = stdin.write_all(input.as_bytes());
    }
    child
}

/// Polls until `ready` holds for the captured output, within [`LIMIT`].
fn wait_for_output(capture: &Capture, ready: impl Fn(&str) -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < LIMIT {
        if ready(&capture.text()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn wait_exit(child: &mut Child) -> bool {
    let start = Instant::now();
    while start.elapsed() < LIMIT {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Does `seen` already hold every line of `wanted` (normalised)?
fn holds(seen: &str, wanted: &str, ports: &BTreeMap<u16, u16>, unordered: bool) -> bool {
    let seen = lines_of(&normalise(&map_ports(seen, ports)));
    let wanted = lines_of(&normalise(wanted));
    if unordered {
        let mut pool = seen.clone();
        wanted.iter().all(|w| match pool.iter().position(|s| s == w) {
            Some(i) => {
                pool.swap_remove(i);
                true
            }
            None => false,
        })
    } else {
        seen.len() >= wanted.len() && seen[..wanted.len()] == wanted[..]
    }
}

/// Writes the book's port numbers back in place of the free ones.
fn map_ports(s: &str, ports: &BTreeMap<u16, u16>) -> String {
    ports
        .iter()
        .fold(s.to_string(), |s, (book, free)| replace_number(&s, *free, *book))
}

/// Runs one terminal's commands in order; returns its problems.
fn run_terminal(
    t: &Terminal,
    dir: &Path,
    ports: &BTreeMap<u16, u16>,
    started: mpsc::Sender<()>,
    running: &AtomicUsize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut started = Some(started);
    for (index, step) in t.steps.iter().enumerate() {
        let mut cmd_words = words(&step.command);
        if cmd_words.first().map(String::as_str) != Some("repl") {
            problems.push(format!(
                "{}: only repl commands can be checked: {}",
                t.place, step.command
            ));
            break;
        }
        for (i, port) in chosen_ports(&cmd_words) {
            cmd_words[i] = replace_number(&cmd_words[i], port, ports[&port]);
        }
        let (expected, input, interrupt_at) = step.expected_and_input();
        let capture = Capture::new();
        let mut child = start(&cmd_words, dir, &capture, &input);
        if let Some(tx) = started.take() {
            // The next terminal may start once this one has said something.
            let first = expected.lines().next().unwrap_or_default().to_string();
            if !first.is_empty() {
                wait_for_output(&capture, |seen| {
                    seen.contains('\n') || holds(seen, &first, ports, false)
                });
            }
            let _ = tx.send(());
        }
        if let Some(at) = interrupt_at {
            // The reader presses Ctrl-C when the other terminals are done.
            let start = Instant::now();
            while running.load(Ordering::SeqCst) > 0 && start.elapsed() < LIMIT {
                std::thread::sleep(Duration::from_millis(10));
            }
            let before = &expected[..at];
            if !wait_for_output(&capture, |seen| holds(seen, before, ports, t.unordered)) {
                problems.push(format!(
                    "{}: `{}` never printed what comes before Ctrl-C",
                    t.place, step.command
                ));
            }
            let pid = i32::try_from(child.id()).unwrap_or_default();
            // SAFETY: kill() with a pid of our own child has no memory effects.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        if !wait_exit(&mut child) {
            problems.push(format!(
                "{}: `{}` did not finish within {LIMIT:?}",
                t.place, step.command
            ));
        }
        let seen = lines_of(&normalise(&map_ports(&capture.text(), ports)));
        let comparable = |mut lines: Vec<String>| {
            if t.unordered {
                lines.sort();
            }
            if t.distinct {
                lines.dedup();
            }
            lines
        };
        let want = lines_of(&normalise(&expected));
        let others = t
            .alternatives
            .iter()
            .map(|steps| lines_of(&normalise(&steps[index].expected_and_input().0)));
        let got = comparable(seen.clone());
        if !std::iter::once(want.clone())
            .chain(others)
            .any(|w| comparable(w) == got)
        {
            problems.push(format!(
                "{}: `{}` printed something else.\n--- the book says (normalised):\n{}\n--- the program printed (normalised):\n{}\n---",
                t.place,
                step.command,
                want.join("\n"),
                seen.join("\n")
            ));
        }
    }
    if let Some(tx) = started {
        let _ = tx.send(());
    }
    if !t.interrupted() {
        running.fetch_sub(1, Ordering::SeqCst);
    }
    problems
}

fn run_session(session: &Session) -> Vec<String> {
    let dir = workdir();
    let mut ports = BTreeMap::new();
    for t in &session.terminals {
        for step in &t.steps {
            for (_, port) in chosen_ports(&words(&step.command)) {
                ports.entry(port).or_insert_with(free_port);
            }
        }
    }
    let unfinished = AtomicUsize::new(session.terminals.iter().filter(|t| !t.interrupted()).count());
    std::thread::scope(|scope| {
        let mut running = Vec::new();
        for t in &session.terminals {
            let (tx, rx) = mpsc::channel();
            let (dir, ports, unfinished) = (dir.path(), &ports, &unfinished);
            running.push(scope.spawn(move || run_terminal(t, dir, ports, tx, unfinished)));
            // Terminal N+1 starts when terminal N has printed its first line.
            let _ = rx.recv_timeout(LIMIT);
        }
        running
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![format!("{}: panicked", session.place)])
            })
            .collect()
    })
}

/// Runs sessions three at a time (most of their time is spent waiting).
fn run_sessions(sessions: &[Session]) -> Vec<String> {
    let next = Mutex::new(0usize);
    let problems = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|p| p.into_inner());
                        *n += 1;
                        *n - 1
                    };
                    let Some(session) = sessions.get(i) else { break };
                    let found = run_session(session);
                    problems.lock().unwrap_or_else(|p| p.into_inner()).extend(found);
                }
            });
        }
    });
    problems.into_inner().unwrap_or_else(|p| p.into_inner())
}

fn book_sessions(solutions: bool) -> Vec<Session> {
    chapters()
        .iter()
        .filter(|c| (c.name == "solutions.md") == solutions)
        .flat_map(sessions)
        .collect()
}

// ---------------------------------------------------------------------------
// The tests

#[test]
fn the_reference_matches_the_engine() {
    let generated = sockrepl::reference_markdown();
    let path = repo("book/src/reference.md");
    if std::env::var_os("SOCKREPL_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{e}"));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "book/src/reference.md differs from the engine's metadata; run SOCKREPL_BLESS=1 cargo test --test book"
    );
}

#[test]
fn every_include_names_an_anchor_in_a_tested_file() {
    let tests: String = std::fs::read_dir(repo("tests"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    let solutions = std::fs::read_to_string(repo("book/src/solutions.md")).unwrap_or_default();
    let mut count = 0;
    for chapter in chapters() {
        for include in chapter.text.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().unwrap_or_default();
            let (file, anchor) = match spec.rsplit_once(':') {
                Some((file, anchor)) => (file, anchor),
                None => (spec, ""),
            };
            let target = chapter.path.parent().unwrap_or(Path::new(".")).join(file);
            let source = std::fs::read_to_string(&target)
                .unwrap_or_else(|e| panic!("{}: include of {file} fails: {e}", chapter.name));
            if file.starts_with("../solutions/") {
                // A solution is shown whole; the appendix runs it (Rhai),
                // or this test compiles and runs it (Rust).
                let name = file.trim_start_matches("../");
                let run = solutions
                    .lines()
                    .any(|l| l.starts_with("$ repl ") && l.contains(&format!(" book/{name}")));
                assert!(
                    run || tests.contains(&format!("\"../book/{name}\"")),
                    "{}: {file} is included but nothing runs it",
                    chapter.name
                );
                count += 1;
                continue;
            }
            assert!(
                !anchor.is_empty(),
                "{}: include {spec} must name an anchor",
                chapter.name
            );
            assert!(
                source.contains(&format!("ANCHOR: {anchor}\n")) && source.contains(&format!("ANCHOR_END: {anchor}\n")),
                "{}: {file} has no anchor {anchor}",
                chapter.name
            );
            let name = Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = name.trim_end_matches(".rhai").trim_end_matches(".rs");
            assert!(
                tests.contains(&format!("\"{name}\"")) || tests.contains(&format!("\"{stem}\"")),
                "{file} is included but no test runs it"
            );
            count += 1;
        }
    }
    assert!(count >= 40, "only {count} includes: has the book lost its code?");
}

#[test]
fn every_rhai_block_runs_or_says_why_not() {
    let mut ran = 0;
    for block in all_blocks().iter().filter(|b| b.lang() == "rhai") {
        let body = &block.body;
        if body.trim_start().starts_with("{{#include") {
            continue; // checked above: the included script is run by its own test
        }
        if body.trim_start().starts_with("// not runnable:") {
            continue;
        }
        let out = common::run(&["-e", body]);
        assert!(
            out.status.success(),
            "{}: block failed:\n{body}\n{}",
            block.place(),
            out.stderr
        );
        ran += 1;
    }
    assert!(ran >= 1, "expected runnable blocks, ran {ran}");
}

#[test]
fn transcripts_match_the_shell() {
    let empty = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let empty = empty.path().display().to_string();
    let mut checked = 0;
    let mut problems = Vec::new();
    for block in all_blocks().iter().filter(|b| b.lang() == "repl") {
        let body = &block.body;
        let inputs: Vec<&str> = body.lines().filter_map(|l| l.strip_prefix("> ")).collect();
        let expected: Vec<&str> = body.lines().filter(|l| !l.starts_with("> ")).collect();
        let mut stdin = inputs.join("\n");
        stdin.push('\n');
        let capture = Capture::new();
        let dir = workdir();
        let mut child = start(
            &["repl".into(), "-i".into(), empty.clone()],
            dir.path(),
            &capture,
            &stdin,
        );
        assert!(wait_exit(&mut child), "{}: the shell did not finish", block.place());
        let text = capture.text();
        // The first line is the shell's banner.
        let seen = lines_of(&normalise(text.split_once('\n').map_or("", |(_, rest)| rest)));
        let want = lines_of(&normalise(&(expected.join("\n") + "\n")));
        if seen != want {
            problems.push(format!(
                "{}: transcript differs from the shell\n--- the book:\n{}\n--- the shell:\n{}\n---",
                block.place(),
                want.join("\n"),
                seen.join("\n")
            ));
        }
        checked += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(checked >= 20, "only {checked} transcripts");
}

#[test]
fn commands_in_the_chapters_print_what_the_book_shows() {
    let sessions = book_sessions(false);
    let problems = run_sessions(&sessions);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(sessions.len() >= 25, "only {} checked sessions", sessions.len());
}

#[test]
fn every_exercise_solution_runs_and_prints_what_the_book_shows() {
    let dir = repo("book/solutions");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rhai"))
        .collect();
    let sessions = book_sessions(true);
    let run: BTreeSet<String> = sessions
        .iter()
        .flat_map(|s| &s.terminals)
        .flat_map(|t| &t.steps)
        .flat_map(|s| words(&s.command))
        .filter_map(|w| w.strip_prefix("book/solutions/").map(str::to_string))
        .collect();
    let missing: Vec<&String> = files.difference(&run).collect();
    assert!(
        missing.is_empty(),
        "solutions that solutions.md never runs: {missing:?}"
    );
    let problems = run_sessions(&sessions);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(files.len() >= 30, "only {} solutions", files.len());
}

#[path = "../book/solutions/embedding-1.rs"]
mod embedding_1;
#[path = "../book/solutions/embedding-2.rs"]
mod embedding_2;
#[path = "../book/solutions/embedding-3.rs"]
mod embedding_3;

/// The Rust solutions of the embedding chapter are compiled into this
/// test and run here, in order (the address policy is global).
#[test]
fn the_rust_solutions_do_what_the_book_says() {
    assert_eq!(
        embedding_1::run().map_err(|e| e.to_string()),
        Ok("hello, lab".to_string())
    );
    let two = embedding_2::run().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        two.starts_with("bound a free port: true; port 80: PermissionError:")
            && two.contains("ports below 1024 are not for scripts"),
        "{two}"
    );
    let three = embedding_3::run();
    assert!(
        three.starts_with("stopped: ") && three.contains("operations"),
        "{three}"
    );
}

#[test]
fn every_exercise_section_has_solutions_and_every_chapter_a_summary() {
    let solutions = std::fs::read_to_string(repo("book/src/solutions.md")).unwrap_or_default();
    let mut exercises = 0;
    for chapter in chapters() {
        if ["SUMMARY.md", "reference.md", "solutions.md", "introduction.md"].contains(&chapter.name.as_str()) {
            continue;
        }
        assert!(chapter.text.contains("\n## Summary\n"), "{}: no summary", chapter.name);
        let section = chapter
            .text
            .split_once("\n## Exercises\n")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("{}: no exercises", chapter.name));
        let count = section.lines().filter(|l| l.starts_with(char::is_numeric)).count();
        assert!(
            (3..=5).contains(&count),
            "{}: {count} exercises (3 to 5 wanted)",
            chapter.name
        );
        let stem = chapter.name.trim_end_matches(".md");
        assert!(
            solutions.contains(&format!("{{#{stem}-")),
            "{}: solutions.md has no answers for it",
            chapter.name
        );
        exercises += count;
    }
    assert!(exercises >= 40, "only {exercises} exercises");
}

#[test]
fn every_listing_is_captioned_and_its_commands_are_checked() {
    for chapter in chapters() {
        let checked: Vec<String> = sessions(&chapter)
            .iter()
            .flat_map(|s| &s.terminals)
            .flat_map(|t| &t.steps)
            .map(|s| s.command.clone())
            .collect();
        for block in fenced(&chapter) {
            let body = block.body.trim_start();
            if !body.starts_with("{{#include ../../scripts/") && !body.starts_with("{{#include ../solutions/") {
                continue;
            }
            let included = body
                .trim_start_matches("{{#include ")
                .split(['}', ':'])
                .next()
                .unwrap_or_default();
            // The path as the reader runs it, from the project's folder.
            let file =
                included
                    .replacen("../../scripts/", "scripts/", 1)
                    .replacen("../solutions/", "book/solutions/", 1);
            assert!(
                block.before.starts_with("<span class=\"caption\">") && block.before.contains(&format!("`{file}`")),
                "{}: the listing of {file} needs a caption naming it",
                block.place()
            );
            for command in block
                .before
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|c| c.starts_with("repl "))
            {
                assert!(
                    checked.iter().any(|c| c == command),
                    "{}: the caption's command `{command}` has no checked output in this chapter",
                    block.place()
                );
            }
        }
        for block in fenced(&chapter) {
            if block.lang() == "text" && terminal(&block).is_none() {
                assert!(
                    !block.body.lines().any(|l| l.starts_with("error:")) && !block.body.starts_with('$'),
                    "{}: output shown without a checked command (start the block with `$ repl ...`)",
                    block.place()
                );
            }
        }
    }
}

#[test]
fn figures_exist_and_are_well_formed() {
    let mut figures = 0;
    for chapter in chapters() {
        for part in chapter.text.split("](figures/").skip(1) {
            let name = part.split(')').next().unwrap_or_default();
            let path = repo(&format!("book/src/figures/{name}"));
            let svg = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {name}: {e}", chapter.name));
            assert!(
                svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{name}: not a standalone SVG"
            );
            assert!(svg.contains("viewBox"), "{name}: needs a viewBox to scale");
            figures += 1;
        }
    }
    assert!(figures >= 5, "only {figures} figures");
}

/// Builds the book into a temporary folder and opens pages in headless
/// Chromium with a recorder of console errors, uncaught exceptions,
/// resources that fail to load and code blocks wider than the page.
#[test]
fn pages_render_without_javascript_errors() {
    let test = "pages_render_without_javascript_errors";
    let (Some(mdbook), Some(chromium)) = (
        common::peers::find(&common::peers::MDBOOK, test),
        common::peers::find(&common::peers::CHROMIUM, test),
    ) else {
        return;
    };
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let built = Command::new(&mdbook)
        .arg("build")
        .arg(repo("book"))
        .arg("-d")
        .arg(out.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        built.status.success(),
        "mdbook build failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let recorder = r#"<script>
(function () {
  var seen = [];
  function note(kind, text) { seen.push(kind + ": " + String(text).slice(0, 300)); }
  var error = console.error;
  console.error = function () { note("console.error", Array.prototype.join.call(arguments, " ")); error.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    if (e.target && e.target !== window) { note("failed to load", e.target.src || e.target.href); }
    else { note("uncaught", e.message); }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { note("unhandled rejection", e.reason); });
  window.addEventListener("load", function () {
    document.querySelectorAll("pre").forEach(function (pre) {
      if (pre.scrollWidth > pre.clientWidth + 1) { note("scrolls sideways", pre.textContent.split("\n")[0]); }
    });
    if (document.documentElement.scrollWidth > window.innerWidth + 1) { note("page scrolls sideways", location.href); }
    var box = document.createElement("pre");
    box.id = "render-problems";
    // Built from pieces, so that the script's own text never matches.
    var tag = "RENDER" + "-PROBLEMS";
    box.textContent = tag + "[" + seen.join("\n") + "]" + tag;
    document.body.appendChild(box);
  });
})();
</script>"#;
    let mut problems = Vec::new();
    for page in [
        "print.html",
        "index.html",
        "tcp.html",
        "threads-and-locks.html",
        "tftp.html",
    ] {
        let path = out.path().join(page);
        let html = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{page}: {e}"));
        let html = html.replacen("<head>", &format!("<head>{recorder}"), 1);
        std::fs::write(&path, html).unwrap_or_else(|e| panic!("{e}"));
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // The DOM of print.html is larger than a pipe holds: write it to a file.
        let dump = Capture::new();
        let (dom_out, _) = dump.stdio();
        let child = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1280,2000",
                "--virtual-time-budget=5000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("file://{}", path.display()))
            .stdin(Stdio::null())
            .stdout(dom_out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let finished = common::finish(child, Duration::from_secs(120));
        assert!(finished.status.success(), "chromium failed on {page}");
        let dom = dump.text();
        match dom
            .split("RENDER-PROBLEMS[")
            .nth(1)
            .and_then(|r| r.split("]RENDER-PROBLEMS").next())
        {
            Some("") => {}
            Some(found) => problems.push(format!("{page}:\n{found}")),
            None => problems.push(format!("{page}: the page never finished loading")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The sequence diagrams are drawn from real runs: each scenario in
/// book/diagrams/ runs with its socket events traced, and the drawing of
/// the trace must be the figure the book shows (book/diagrams/draw.sh
/// redraws them; so does SOCKREPL_BLESS=1).
#[test]
fn trace_diagrams_are_current() {
    let repl = env!("CARGO_BIN_EXE_repl");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(repo("book/diagrams"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .collect();
    scenarios.sort();
    assert!(
        scenarios.len() >= 5,
        "only {} scenarios in book/diagrams",
        scenarios.len()
    );
    let draw = |scenario: &Path, title: &str| -> String {
        let trace = dir.path().join("events.jsonl");
        let ran = Command::new(repl)
            .current_dir(repo(""))
            .arg("--trace-to")
            .arg(&trace)
            .arg(scenario)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            ran.status.success(),
            "{}: {}",
            scenario.display(),
            String::from_utf8_lossy(&ran.stderr)
        );
        let drawn = Command::new(repl)
            .arg("--diagram")
            .arg(&trace)
            .args(["--title", title])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(drawn.status.success(), "{}", String::from_utf8_lossy(&drawn.stderr));
        String::from_utf8_lossy(&drawn.stdout).into_owned()
    };
    let mut figures_used = String::new();
    for chapter in chapters() {
        figures_used.push_str(&chapter.text);
    }
    for scenario in &scenarios {
        let source = std::fs::read_to_string(scenario).unwrap_or_default();
        let title = source
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// diagram: "))
            .unwrap_or_else(|| panic!("{}: the first line must be `// diagram: TITLE`", scenario.display()));
        let name = scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let figure = format!("trace-{name}.svg");
        let path = repo(&format!("book/src/figures/{figure}"));
        assert!(
            figures_used.contains(&format!("(figures/{figure})")),
            "no chapter shows {figure}"
        );
        // The picture leaves out times, so a run draws what every run
        // draws, unless a machine so loaded that a 5 ms retransmission
        // timer fires for no loss gets in the way: such a run is tried
        // again, three times at most.
        let mut drawn = String::new();
        for _ in 0..3 {
            drawn = draw(scenario, title);
            if std::env::var_os("SOCKREPL_BLESS").is_some() {
                std::fs::write(&path, &drawn).unwrap_or_else(|e| panic!("{e}"));
            }
            if std::fs::read_to_string(&path).unwrap_or_default() == drawn {
                break;
            }
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == drawn,
            "{} is not what {} draws now; run sh book/diagrams/draw.sh (or SOCKREPL_BLESS=1 cargo test --test book) and look at the new picture",
            path.display(),
            scenario.display()
        );
        assert!(
            drawn.contains("<line") && drawn.contains("marker-end"),
            "{figure}: no arrows"
        );
    }
}

/// Without mdbook and Chromium, `cargo test` still passes and says what
/// to install.
#[test]
fn the_rendering_check_skips_with_one_line_without_mdbook_or_chromium() {
    let test = "pages_render_without_javascript_errors";
    let (passed, printed) = common::peers::run_without_peers(test);
    assert!(passed, "{test} failed without its peers:\n{printed}");
    for missing in [
        "mdbook is not installed; install mdbook",
        "chromium is not installed; install Chromium",
    ] {
        assert!(
            printed.contains(&format!("{}{test}: {missing}", common::peers::SKIPPED)),
            "no skip line for {missing}:\n{printed}"
        );
    }
}
