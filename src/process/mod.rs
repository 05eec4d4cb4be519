//! Processes: `process(f, args...)` and `pool(n)`, like Python's
//! `multiprocessing` (layer 5, above `tasks`).
//!
//! A process is a fresh copy of the running program (the `repl` binary,
//! or an embedder's binary that calls `run_child_if_requested` first),
//! started with `SOCKREPL_CHILD=1` and given its job on standard input.
//! What a job says (the session's functions, limits, the call to make) is
//! the session layer's business: it installs a [`JobMaker`] in the
//! session's [`Children`], and this layer only starts the child, hands it
//! the job and the descriptors it inherits, and tracks its exit.
//!
//! Arguments are copies ([`ipc::wire`]); sockets are inherited file
//! descriptors, so a process-per-client server can hand the child its
//! connection; queues stay in the parent and are reached through the
//! session's broker ([`ipc`]), which only the session's own children may
//! use. Children are started from a runtime worker thread with a
//! parent-death signal, so they cannot outlive a parent that dies.

pub mod ipc;
pub mod pool;

use std::collections::HashMap;
use std::fmt;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rhai::{Dynamic, FnPtr};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::error::ScriptError;
use crate::runtime::context::{self, SessionCore, guard};
use crate::runtime::{self, Deadline};
use ipc::wire::{self, Encoder, Wire};

/// The environment variable that marks a child process.
pub const CHILD_ENV: &str = "SOCKREPL_CHILD";

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

/// What a child needs besides its work: how to reach the parent's queues,
/// and which descriptors it inherited. Built only here, when a child is
/// started; the child turns it back into sockets and queue handles.
#[derive(Serialize, Deserialize)]
pub struct Handover {
    /// The parent's broker, if the child was given any queue.
    pub broker: Option<ipc::BrokerTicket>,
    /// Descriptors the child inherits, by slot.
    pub inherited: wire::Inherited,
}

/// Turns work into the bytes a child reads as its job. The session layer
/// provides it: only it knows the session's functions and limits.
pub trait JobMaker: Send + Sync {
    /// The job for a child named `name`.
    fn job(&self, name: &str, work: Work, handover: Handover) -> Result<Vec<u8>, ScriptError>;
}

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

/// A session's child processes and how their jobs are made.
#[derive(Default)]
pub struct Children {
    /// Children that have not exited. Strong references: a child whose
    /// handle the script dropped (`process(f, conn);` in an accept loop)
    /// is still waited for at exit, as Python waits for its processes.
    live: Mutex<HashMap<u32, Arc<ProcShared>>>,
    next_number: AtomicU64,
    maker: RwLock<Option<Arc<dyn JobMaker>>>,
}

impl Children {
    /// The children of `session`.
    pub fn of(session: &SessionCore) -> Arc<Children> {
        session.service::<Children>()
    }

    /// Sets how this session's jobs are made.
    pub fn set_job_maker(&self, maker: Arc<dyn JobMaker>) {
        *self.maker.write().unwrap_or_else(|p| p.into_inner()) = Some(maker);
    }

    /// Live child processes, by pid.
    pub fn processes(&self) -> Vec<Process> {
        let mut found: Vec<Process> = guard(&self.live)
            .values()
            .map(|shared| Process { shared: shared.clone() })
            .filter(Process::is_alive)
            .collect();
        found.sort_by_key(Process::pid);
        found
    }

    /// Waits for every non-daemon child, as Python does at exit.
    pub fn wait_for_non_daemon(&self) -> Result<(), ScriptError> {
        for child in self.processes().into_iter().filter(|p| !p.is_daemon()) {
            child.join(None)?;
        }
        Ok(())
    }

    /// Terminates every live child (on Ctrl-C, or at the end of a session
    /// for daemons), so none is left behind.
    pub fn terminate_all(&self) {
        for child in self.processes() {
            child.terminate();
        }
    }

    /// Terminates the daemon children, as Python does at exit.
    pub fn terminate_daemons(&self) {
        for child in self.processes().into_iter().filter(Process::is_daemon) {
            child.terminate();
        }
    }
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
        let deadline = Deadline::after(timeout);
        let waited = context::with_current(|task| {
            task.blocked(
                || format!("join process {}", self.pid()),
                || {
                    runtime::wait(
                        async move { exit.wait_for(Option::is_some).await.ok().and_then(|code| *code) },
                        deadline,
                    )
                },
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

/// Starts `func(args...)` in a new process of the calling task's session.
pub fn start(func: &FnPtr, args: &[Dynamic]) -> Result<Process, ScriptError> {
    let session = context::with_current(|task| task.session().clone());
    let broker = ipc::Broker::of(&session);
    let mut inherited = Vec::new();
    let mut encoder = Encoder::for_child(&broker, &mut inherited);
    let curry = func.iter_curry().map(|v| encoder.encode(v)).collect::<Result<_, _>>()?;
    let args = args.iter().map(|v| encoder.encode(v)).collect::<Result<_, _>>()?;
    let shares_queues = encoder.shared_a_queue();
    let work = Work::Call {
        func: func.fn_name().to_string(),
        curry,
        args,
    };
    launch(&session, work, inherited, shares_queues.then_some(broker))
}

/// Starts a child of `session` with `work`, letting it inherit `fds` and,
/// when given, reach `broker`'s queues.
pub fn launch(
    session: &Arc<SessionCore>,
    work: Work,
    fds: Vec<RawFd>,
    broker: Option<Arc<ipc::Broker>>,
) -> Result<Process, ScriptError> {
    let children = Children::of(session);
    let maker = children.maker.read().unwrap_or_else(|p| p.into_inner()).clone();
    let maker = maker.ok_or_else(|| {
        ScriptError::new("RuntimeError", "process() needs the session's script")
            .hint("embedders: run scripts with sockrepl::Session, which knows how to start children")
    })?;
    let ticket = match &broker {
        Some(broker) => Some(broker.ticket()?),
        None => None,
    };
    let name = format!("Process-{}", children.next_number.fetch_add(1, Ordering::Relaxed) + 1);
    let handover = Handover {
        broker: ticket,
        inherited: wire::Inherited::new(fds.clone()),
    };
    let body = maker.job(&name, work, handover)?;
    let (pid, exit) = spawn_child(body, fds, broker)?;
    let shared = Arc::new(ProcShared {
        name,
        pid,
        daemon: AtomicBool::new(false),
        exit,
    });
    guard(&children.live).insert(pid, shared.clone());
    // Forget it once it exits; a child that already exited is not kept.
    let forget = {
        let children = children.clone();
        let mut exited = shared.exit.subscribe();
        async move {
            let _ = exited.wait_for(Option::is_some).await;
            guard(&children.live).remove(&pid);
        }
    };
    runtime::handle().spawn(forget);
    Ok(Process { shared })
}

/// Forks the program with `body` on its standard input and `fds` kept
/// open; returns its pid and a channel that receives its exit code.
fn spawn_child(
    body: Vec<u8>,
    fds: Vec<RawFd>,
    broker: Option<Arc<ipc::Broker>>,
) -> Result<(u32, watch::Sender<Option<i32>>), ScriptError> {
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
        let pid = child.id().unwrap_or(0);
        // The child may use the broker as soon as it has read its job, so
        // it is known to the broker before the job is written.
        if let Some(broker) = &broker {
            broker.admit(pid);
        }
        let _ = started_tx.send(Ok(pid));
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
        if let Some(broker) = &broker {
            broker.dismiss(pid);
        }
        exit_tx.send_replace(Some(code));
    });
    let pid = runtime::wait(started, Deadline::NEVER)?
        .map_err(|_| ScriptError::new("OSError", "the process launcher stopped"))?
        .map_err(|e| ScriptError::os(&e, "starting a process"))?;
    Ok((pid, exit))
}
