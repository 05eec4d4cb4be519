//! Processes: `process(f, args...)` and `pool(n)`, like Python's
//! `multiprocessing`.
//!
//! A process is a fresh copy of the running program (the `repl` binary,
//! or an embedder's binary that calls [`run_child_if_requested`] first),
//! started with `SOCKREPL_CHILD=1` and given a [`Job`] on its standard
//! input: the script's source, the function to call and its arguments.
//! The child compiles the source for its functions but runs none of its
//! top-level statements, so a function sees only its arguments and the
//! parent's variables stay the parent's (seed 003's "num stays 10").
//!
//! Arguments are copies ([`wire`]); sockets are inherited file
//! descriptors, so a process-per-client server can hand the child its
//! connection; queues stay in the parent and are reached through its
//! [`broker`]. Children are started from a runtime worker thread with a
//! parent-death signal, so they cannot outlive a parent that dies.

pub mod broker;
mod child;
pub mod pool;
pub mod wire;

use std::collections::HashMap;
use std::fmt;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rhai::{Dynamic, FnPtr};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

pub use child::run_child_if_requested;
use wire::{Wire, to_wire};

use crate::error::ScriptError;
use crate::runtime::{self, task};

/// The environment variable that marks a child process.
pub const CHILD_ENV: &str = "SOCKREPL_CHILD";

/// What a child process is asked to do.
#[derive(Serialize, Deserialize)]
pub struct Job {
    /// The script's name, for messages.
    pub script_name: String,
    /// The script's source, compiled again in the child for its functions.
    pub script_text: String,
    /// The name.
    pub name: String,
    /// The parent's function-name hashing seed (see
    /// [`crate::script::pin_hashing_seed`]).
    pub hashing_seed: Option<[u64; 4]>,
    /// The parent's limits, so a child cannot do more than its parent.
    pub limits: crate::script::Limits,
    /// What to run.
    pub work: Work,
}

/// The work a child process does.
#[derive(Serialize, Deserialize)]
pub enum Work {
    /// Call one function and exit.
    Call {
        /// The function's name (a closure's generated name included).
        func: String,
        /// A closure's captured values.
        curry: Vec<Wire>,
        /// The arguments.
        args: Vec<Wire>,
    },
    /// Serve a pool: take jobs from one queue, put results on another.
    PoolWorker {
        /// The queue of `[id, func, curry, args]` jobs.
        jobs: Wire,
        /// The queue for `[id, result, error]` replies.
        results: Wire,
    },
}

static NEXT_NUMBER: AtomicU64 = AtomicU64::new(1);

/// A handle to a child process; copies refer to the same process.
#[derive(Clone)]
pub struct Process {
    shared: Arc<ProcShared>,
}

struct ProcShared {
    name: String,
    pid: u32,
    daemon: AtomicBool,
    /// The exit code once it has exited; negative for a signal, as Python.
    exit: watch::Sender<Option<i32>>,
}

/// Children that have not exited. Strong references: a child whose
/// handle the script dropped (`process(f, conn);` in an accept loop) is
/// still waited for at exit, as Python waits for its processes.
fn live() -> &'static Mutex<HashMap<u32, Arc<ProcShared>>> {
    static LIVE: OnceLock<Mutex<HashMap<u32, Arc<ProcShared>>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

impl Process {
    /// The operating system's process id.
    pub fn pid(&self) -> u32 {
        self.shared.pid
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The exit code once exited (negative for a signal).
    pub fn exitcode(&self) -> Option<i32> {
        *self.shared.exit.borrow()
    }

    /// True while it runs.
    pub fn is_alive(&self) -> bool {
        self.exitcode().is_none()
    }

    /// True for a daemon, which the script does not wait for at exit.
    pub fn is_daemon(&self) -> bool {
        self.shared.daemon.load(Ordering::Relaxed)
    }

    /// Marks it as a daemon or not.
    pub fn set_daemon(&self, daemon: bool) {
        self.shared.daemon.store(daemon, Ordering::Relaxed);
    }

    /// Waits for the process to exit, at most `timeout`; returns its exit
    /// code, or `None` if it is still running.
    pub fn join(&self, timeout: Option<std::time::Duration>) -> Result<Option<i32>, ScriptError> {
        let mut exit = self.shared.exit.subscribe();
        let what = format!("join process {}", self.pid());
        let waited = task::with_blocked_on(&what, || {
            runtime::wait(
                async move { exit.wait_for(Option::is_some).await.ok().and_then(|code| *code) },
                timeout,
            )
        });
        match waited {
            Ok(code) => Ok(code),
            Err(err) if err.class == "TimeoutError" => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Sends SIGTERM (Python's `terminate()`).
    pub fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    /// Sends SIGKILL (Python's `kill()`).
    pub fn kill(&self) {
        self.signal(libc::SIGKILL);
    }

    fn signal(&self, signal: i32) {
        if self.is_alive()
            && let Ok(pid) = i32::try_from(self.pid())
        {
            // SAFETY: kill only sends a signal; the pid is our own child,
            // which has not been reaped (its exit is not yet recorded).
            unsafe { libc::kill(pid, signal) };
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.exitcode() {
            None => write!(f, "<process {} pid {} running>", self.name(), self.pid()),
            Some(code) => write!(f, "<process {} pid {} exited {code}>", self.name(), self.pid()),
        }
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Live child processes.
pub fn processes() -> Vec<Process> {
    let mut found: Vec<Process> = live()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .map(|shared| Process { shared: shared.clone() })
        .filter(Process::is_alive)
        .collect();
    found.sort_by_key(Process::pid);
    found
}

/// Waits for every non-daemon child, as Python does at exit.
pub fn wait_for_non_daemon_processes() -> Result<(), ScriptError> {
    for child in processes().into_iter().filter(|p| !p.is_daemon()) {
        child.join(None)?;
    }
    Ok(())
}

/// Terminates every live child (on Ctrl-C, so none is left behind).
pub fn terminate_all() {
    for child in processes() {
        child.terminate();
    }
}

fn script() -> Result<Arc<task::Source>, ScriptError> {
    task::current_source().ok_or_else(|| {
        ScriptError::new("RuntimeError", "process() needs the script's source")
            .hint("embedders: run scripts with sockrepl::script::run")
    })
}

/// Starts `func(args...)` in a new process.
pub fn start(func: &FnPtr, args: &[Dynamic]) -> Result<Process, ScriptError> {
    let mut fds = Vec::new();
    let mut collect = Some(&mut fds);
    let curry = func
        .iter_curry()
        .map(|v| to_wire(v, &mut collect))
        .collect::<Result<_, _>>()?;
    let args = args
        .iter()
        .map(|v| to_wire(v, &mut collect))
        .collect::<Result<_, _>>()?;
    let work = Work::Call {
        func: func.fn_name().to_string(),
        curry,
        args,
    };
    launch(work, fds)
}

/// Starts a child with `work`, letting it inherit `fds`.
pub fn launch(work: Work, fds: Vec<RawFd>) -> Result<Process, ScriptError> {
    let source = script()?;
    let number = NEXT_NUMBER.fetch_add(1, Ordering::Relaxed);
    let job = Job {
        script_name: source.name.clone(),
        script_text: source.text.clone(),
        name: format!("Process-{number}"),
        hashing_seed: *rhai::config::hashing::get_hashing_seed(),
        limits: crate::script::limits(),
        work,
    };
    let body = serde_json::to_vec(&job).map_err(|e| ScriptError::new("OSError", e.to_string()))?;
    let exe = std::env::current_exe().map_err(|e| ScriptError::os(&e, "finding this program to start a process"))?;

    let mut cmd = tokio::process::Command::new(exe);
    cmd.env(CHILD_ENV, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(false);
    // SAFETY: the closure runs in the forked child before exec and only
    // makes async-signal-safe system calls (fcntl, prctl).
    unsafe {
        cmd.pre_exec(move || {
            for &fd in &fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }

    let (exit, _) = watch::channel(None);
    let exit_tx = exit.clone();
    let (started_tx, started) = tokio::sync::oneshot::channel();
    // Spawned from a runtime worker, which lives as long as the process:
    // the parent-death signal fires when the *thread* that forked exits.
    runtime::handle().spawn(async move {
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(err) => {
                let _ = started_tx.send(Err(err));
                return;
            }
        };
        let pid_for_cleanup = child.id();
        let _ = started_tx.send(Ok(pid_for_cleanup.unwrap_or(0)));
        if let Some(mut stdin) = child.stdin.take() {
            // A child that dies before reading its job reports through
            // its exit status.
            let _ = stdin.write_all(&body).await;
        }
        let code = match child.wait().await {
            Ok(status) => {
                use std::os::unix::process::ExitStatusExt;
                status.code().or_else(|| status.signal().map(|s| -s)).unwrap_or(-1)
            }
            Err(_) => -1,
        };
        exit_tx.send_replace(Some(code));
        if let Some(pid) = pid_for_cleanup {
            live().lock().unwrap_or_else(|p| p.into_inner()).remove(&pid);
        }
    });
    let pid = runtime::wait(started, None)?
        .map_err(|_| ScriptError::new("OSError", "the process launcher stopped"))?
        .map_err(|e| ScriptError::os(&e, "starting a process"))?;
    let shared = Arc::new(ProcShared {
        name: job.name,
        pid,
        daemon: AtomicBool::new(false),
        exit,
    });
    if shared.exit.borrow().is_none() {
        live()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pid, shared.clone());
        // It may have exited, and missed the clean-up, in between.
        if shared.exit.borrow().is_some() {
            live().lock().unwrap_or_else(|p| p.into_inner()).remove(&pid);
        }
    }
    Ok(Process { shared })
}
