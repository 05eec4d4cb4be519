//! Helpers for driving the real `repl` binary from tests. Every wait here
//! has a deadline, so a broken build fails a test instead of hanging CI.

#![allow(dead_code)] // each test file uses a different subset

pub mod peers;
pub mod pty;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(20);

pub fn repl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_repl"));
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A path under the repository root.
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Waits for `child` to exit within `limit`, killing it otherwise.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let out = collect(&mut child);
                panic!(
                    "process did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    out.0, out.1
                );
            }
        }
    };
    let (stdout, stderr) = collect(&mut child);
    Output { status, stdout, stderr }
}

fn collect(child: &mut Child) -> (String, String) {
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let _ = child.wait();
    (stdout, stderr)
}

/// Runs `cmd` to completion with `input` on its standard input.
pub fn run_command_with_input(mut cmd: Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    }
    finish(child, DEADLINE)
}

/// Runs `repl ARGS...` with `input` piped in.
pub fn run_with_input(args: &[&str], input: &str) -> Output {
    let mut cmd = repl();
    cmd.args(args);
    run_command_with_input(cmd, input)
}

/// Threads of this process, from /proc.
pub fn thread_count() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// One line of Rhai to put before a blocking call: a daemon task prints
/// `say` once the script's main task shows (as `:tasks` shows it) that
/// it is blocked in `call` ("" for any call), for at most 20 s. A test
/// that reads `say` acts while the call is really waiting, not on a
/// guess of how long starting it takes.
pub fn say_when_blocked_in(call: &str, say: &str) -> String {
    format!(
        "let blocked_watch = current_task(); \
         let blocked_watcher = spawn(|| {{ for i in 0..4000 {{ \
         if `${{blocked_watch}}`.contains(\"blocked in {call}\") {{ print(\"{say}\"); return; }} \
         sleep(0.005); }} }}); \
         blocked_watcher.daemon = true; "
    )
}

/// Polls `check` every 10 ms until it holds, failing with `what` after `limit`.
pub fn eventually(what: &str, limit: Duration, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `repl ARGS...` to completion with empty stdin.
pub fn run(args: &[&str]) -> Output {
    let child = repl()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start repl: {e}"));
    finish(child, DEADLINE)
}

/// Runs `repl -e CODE`, asserts it succeeded without a panic, and returns
/// stdout.
pub fn ok(code: &str) -> String {
    let out = run(&["-e", code]);
    assert!(
        out.status.success(),
        "{code}\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.stdout
}

/// Runs `repl ARGS...`, asserts it failed with status 1 and did not
/// panic, and returns stderr.
pub fn fails(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.stderr
}

/// Asserts that `text` contains every one of `parts`.
pub fn assert_has(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

/// A running process whose stdout is read line by line with deadlines.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    pub fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next stdout line, failing the test after `DEADLINE`.
    pub fn line(&mut self) -> String {
        match self.lines.recv_timeout(DEADLINE) {
            Ok(line) => {
                self.seen.push(line.clone());
                line
            }
            Err(_) => {
                let _ = self.child.kill();
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!(
                    "no output line within {DEADLINE:?}; seen {:?}; stderr:\n{err}",
                    self.seen
                )
            }
        }
    }

    /// Reads the `port N` line a fixture server prints first.
    pub fn port(&mut self) -> u16 {
        let line = self.line();
        line.strip_prefix("port ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("expected 'port N', got {line:?}"))
    }

    /// Waits for exit, then returns everything printed after what was read.
    pub fn finish(mut self) -> Output {
        self.child.stdout = None;
        let mut out = finish(self.child, DEADLINE);
        // The reader thread ends at end of output, which closes the channel.
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            self.seen.push(line);
        }
        out.stdout = self.seen.join("\n");
        out
    }
}

pub fn fixture(name: &str) -> String {
    repo(&format!("tests/scripts/{name}")).display().to_string()
}
