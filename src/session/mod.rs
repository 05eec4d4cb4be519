//! The session: what one running script or shell owns (layer 8, above
//! the package; with [`diagnostics`] and the child side of processes).
//!
//! A [`Session`] owns its engine and limits, its address policy, its task
//! and process registries, its queue broker, its socket table and the root
//! of its cancellation tree (the lower layers keep each of these as a
//! service of the session's `runtime::context::SessionCore`). Tasks and
//! child processes belong to the session that started them, so two
//! sessions in one process (two embedder threads) are independent: one's
//! end, interruption, reset or limits never touch the other's tasks,
//! processes or sockets.
//!
//! ```
//! use sockrepl::{Outcome, Session};
//!
//! let session = Session::new()?;
//! let outcome = session.run_source("demo.rhai", "let t = spawn(|| 6 * 7); t.join();");
//! assert_eq!(outcome, Outcome::Done);
//!
//! let failed = session.run_source("demo.rhai", "socket(\"nope\")");
//! assert!(matches!(failed, Outcome::Failed(text) if text.contains("unknown socket kind")));
//! # Ok::<(), sockrepl::StartError>(())
//! ```

pub(crate) mod child;
pub(crate) mod diagnostics;
pub(crate) mod diagram;
mod explain;
mod modules;

use std::fmt;
use std::sync::Arc;

use rhai::packages::Package;
use rhai::{AST, Array, Dynamic, Engine, EvalAltResult, Scope};

use crate::SockPackage;
use crate::engine::{self, Globals, Limits, Output};
use crate::net::policy::{Action, AddressPolicy};
use crate::net::{Endpoint, Net};
use crate::package::system::ExitRequest;
use crate::process::Children;
use crate::runtime::context::{self, SessionCore, TaskCore};
use crate::runtime::signal;
use crate::tasks::Tasks;
use diagnostics::Sources;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The script finished.
    Done,
    /// The script called `exit(code)`.
    Exit(i32),
    /// The script failed; the text is ready to print on stderr.
    Failed(String),
    /// The script was cancelled (Ctrl-C, or the session ended).
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

/// Why a session could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

type Setup = Box<dyn FnOnce(&mut Engine)>;

/// Configures a [`Session`].
///
/// ```
/// use sockrepl::{Action, Endpoint, Session};
///
/// let session = Session::builder()
///     .address_policy(|_action: Action, endpoint: &Endpoint| match endpoint {
///         Endpoint::Inet(addr) if addr.ip().is_loopback() => Ok(()),
///         _ => Err("only loopback addresses in this lab".into()),
///     })
///     .register(|engine| {
///         engine.register_fn("lab_port", || 4242_i64);
///     })
///     .build()?;
/// let refused = session.run_source("lab", r#"socket("udp").sendto("x", "192.0.2.1:9")"#);
/// assert!(matches!(refused, sockrepl::Outcome::Failed(text) if text.contains("PermissionError")));
/// # Ok::<(), sockrepl::StartError>(())
/// ```
#[derive(Default)]
pub struct SessionBuilder {
    limits: Limits,
    policy: Option<AddressPolicy>,
    setup: Vec<Setup>,
    printer: Option<engine::Printer>,
}

impl SessionBuilder {
    /// How much scripts may do (default: no limits).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Restricts the addresses scripts may bind, connect or send to: the
    /// function returns `Err(reason)` to refuse, which the script sees as
    /// a `PermissionError` naming the address and the reason.
    pub fn address_policy(
        mut self,
        policy: impl Fn(Action, &Endpoint) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// Adds functions, packages or settings to the session's engine.
    pub fn register(mut self, setup: impl FnOnce(&mut Engine) + 'static) -> Self {
        self.setup.push(Box::new(setup));
        self
    }

    /// Sends what scripts `print` to `printer` instead of stdout.
    pub fn printer(mut self, printer: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.printer = Some(Arc::new(printer));
        self
    }

    /// Starts the session: an engine with the whole script API and the
    /// session's hooks. Fails only if the process cannot host sessions
    /// (another handler already owns the signal that wakes blocked
    /// scripts).
    pub fn build(self) -> Result<Session, StartError> {
        signal::install_wake_signal().map_err(StartError)?;
        engine::pin_hashing_seed(None);
        let core = SessionCore::new();
        let main = core.new_task(Some("MainThread".into()), core.root().child_token(), true);
        let mut engine = Engine::new();
        engine::configure(&mut engine, &self.limits, &core);
        SockPackage::new().register_into_engine(&mut engine);
        engine.set_module_resolver(modules::Modules::new(core.service::<Sources>()));
        for setup in self.setup {
            setup(&mut engine);
        }
        let engine = Arc::new(engine);
        if let Some(printer) = self.printer {
            core.service::<Output>().set_printer(printer);
        }
        core.service::<Net>().set_policy(self.policy);
        let tasks = core.service::<Tasks>();
        tasks.set_engine(engine.clone());
        let report = {
            let sources = core.service::<Sources>();
            let globals = core.service::<Globals>();
            let output = core.service::<Output>();
            let limits = self.limits;
            Arc::new(move |name: &str, err: &EvalAltResult| {
                let context = diagnostics::Context {
                    shown_as: None,
                    sources: &sources,
                    limits: &limits,
                    globals: &globals,
                };
                let text = diagnostics::render(err, "<task>", &context);
                output.error(&format!("Exception in task {name}:\n{text}"));
            })
        };
        tasks.set_reporter(report);
        Children::of(&core).set_job_maker(Arc::new(child::SessionJobs::new(&core, self.limits)));
        Ok(Session {
            shared: Arc::new(Shared {
                core,
                main,
                engine,
                limits: self.limits,
            }),
        })
    }
}

/// One running script or shell and everything it owns. Dropping it ends
/// it: its tasks are cancelled, its child processes terminated, its
/// sockets closed.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

struct Shared {
    core: Arc<SessionCore>,
    main: Arc<TaskCore>,
    engine: Arc<Engine>,
    limits: Limits,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.core.cancel();
        Children::of(&self.core).terminate_all();
        self.core.service::<Net>().close_all();
        Tasks::of(&self.core).clear_engine();
        self.main.finish(false);
    }
}

/// While alive, the calling thread runs scripts in a session (see
/// [`Session::enter`]).
pub struct Entered(#[allow(dead_code)] context::Entered);

impl Session {
    /// A session with the defaults of the `repl` binary: no limits, no
    /// address policy.
    pub fn new() -> Result<Session, StartError> {
        SessionBuilder::default().build()
    }

    /// A builder for limits, an address policy, functions of your own.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    /// The session's engine. Evaluate on it directly only on a thread
    /// that has [entered](Session::enter) the session, and never on a
    /// tokio worker thread.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.shared.engine
    }

    /// The limits scripts run under.
    pub fn limits(&self) -> Limits {
        self.shared.limits
    }

    /// Makes the calling thread run scripts in this session until the
    /// guard is dropped (for embedders who call `session.engine()`
    /// themselves). [`Session::run_source`] does this for you.
    ///
    /// ```
    /// let session = sockrepl::Session::new()?;
    /// let _in = session.enter();
    /// let kind: String = session.engine().eval(r#"socket("udp").kind"#).unwrap();
    /// assert_eq!(kind, "udp");
    /// # Ok::<(), sockrepl::StartError>(())
    /// ```
    pub fn enter(&self) -> Entered {
        Entered(context::enter(self.shared.main.clone()))
    }

    /// A scope holding `ARGS` (the script's arguments, Python's
    /// `sys.argv[1:]`) and `SCRIPT` (its path) as constants.
    pub fn scope(script: &str, args: &[String]) -> Scope<'static> {
        let mut scope = Scope::new();
        let args: Array = args.iter().map(|a| Dynamic::from(a.clone())).collect();
        scope.push_constant("ARGS", args);
        scope.push_constant("SCRIPT", script.to_string());
        scope
    }

    /// Runs `source`, named `name` in messages, on the calling thread, then
    /// waits for the tasks and processes it started (daemons excepted), as
    /// Python waits for threads before exiting.
    pub fn run_source(&self, name: &str, source: &str) -> Outcome {
        self.run_with_scope(&mut Session::scope(name, &[]), name, source)
    }

    /// [`Session::run_source`] in a scope of your own (see [`Session::scope`]).
    pub fn run_with_scope(&self, scope: &mut Scope, name: &str, source: &str) -> Outcome {
        let _in = self.enter();
        let main = &self.shared.main;
        let run = main.life().child_token();
        main.set_token(run.clone());
        let mut outcome = self.execute(scope, name, source);
        if outcome == Outcome::Done {
            let waited = Tasks::of(&self.shared.core)
                .wait_for_non_daemon(&self.shared.core)
                .and_then(|()| Children::of(&self.shared.core).wait_for_non_daemon());
            if let Err(err) = waited {
                outcome = if run.is_cancelled() {
                    Outcome::Interrupted
                } else {
                    Outcome::Failed(format!("error: {err}\n"))
                };
            }
        }
        // As Python does at exit: daemon processes (pool workers) end.
        Children::of(&self.shared.core).terminate_daemons();
        main.set_token(main.life().clone());
        outcome
    }

    fn execute(&self, scope: &mut Scope, name: &str, source: &str) -> Outcome {
        let ast = match self.compile(scope, name, source) {
            Ok(ast) => ast,
            Err(text) => return Outcome::Failed(text),
        };
        let ast = self.prepare(ast, &AST::empty());
        match self.shared.engine.run_ast_with_scope(scope, &ast) {
            Ok(()) => Outcome::Done,
            Err(err) => self.outcome_of(&err, name),
        }
    }

    /// Compiles `source` in `scope`'s context and records it; the error is
    /// rendered.
    pub(crate) fn compile(&self, scope: &Scope, name: &str, source: &str) -> Result<AST, String> {
        let mut ast = self
            .shared
            .engine
            .compile_with_scope(scope, source)
            .map_err(|err| self.render_compile_error(err, name, source))?;
        // `import "lib"` then resolves relative to the script's own folder.
        ast.set_source(name);
        self.shared.core.service::<Sources>().add(name, source, &ast);
        Ok(ast)
    }

    fn render_compile_error(&self, err: rhai::ParseError, name: &str, source: &str) -> String {
        let sources = Sources::default();
        sources.add(name, source, &AST::empty());
        let context = diagnostics::Context {
            shown_as: self.shown_as(name),
            sources: &sources,
            limits: &self.shared.limits,
            globals: &Globals::default(),
        };
        diagnostics::render(&EvalAltResult::from(err), name, &context)
    }

    /// Readies `ast` to run at the top level (functions read top-level
    /// variables; `functions` are those defined by earlier inputs).
    pub(crate) fn prepare(&self, ast: AST, functions: &AST) -> AST {
        self.shared.core.service::<Globals>().prepare(ast, functions)
    }

    /// How an error that ended a run reads.
    pub(crate) fn outcome_of(&self, err: &EvalAltResult, name: &str) -> Outcome {
        if let EvalAltResult::ErrorTerminated(token, _) = err.unwrap_inner() {
            if let Some(ExitRequest(code)) = token.read_lock::<ExitRequest>().map(|t| *t) {
                return Outcome::Exit(i32::try_from(code).unwrap_or(1));
            }
            return Outcome::Interrupted;
        }
        if self.shared.main.is_cancelled() {
            return Outcome::Interrupted;
        }
        Outcome::Failed(self.render(err, name))
    }

    /// Renders an error raised while running the text named `name`.
    pub(crate) fn render(&self, err: &EvalAltResult, name: &str) -> String {
        let core = &self.shared.core;
        let sources = core.service::<Sources>();
        let globals = core.service::<Globals>();
        let context = diagnostics::Context {
            shown_as: self.shown_as(name),
            sources: &sources,
            limits: &self.shared.limits,
            globals: &globals,
        };
        diagnostics::render(err, name, &context)
    }

    /// A shell input (`<repl:N>`) is shown as `<repl>` in its own errors;
    /// earlier inputs keep their number.
    fn shown_as<'a>(&self, name: &'a str) -> Option<(&'a str, &'a str)> {
        name.starts_with("<repl:").then_some((name, "<repl>"))
    }

    /// Records every socket event of the session's tasks: readable lines
    /// (on stderr, or above the shell's prompt) with `file` `None`, JSON
    /// lines in `file` otherwise (what `repl --diagram` draws).
    ///
    /// ```
    /// let session = sockrepl::Session::new()?;
    /// let file = std::env::temp_dir().join(format!("sockrepl-doc-{}.jsonl", std::process::id()));
    /// session.trace(Some(&file)).unwrap();
    /// session.run_source("t", r#"let s = socket("udp"); s.bind("127.0.0.1:0"); s.sendto("hi", s.getsockname()); s.recvfrom(9);"#);
    /// session.untrace();
    /// let events = std::fs::read_to_string(&file).unwrap();
    /// assert!(events.contains("\"op\":\"recvfrom\""));
    /// # let _ = std::fs::remove_file(file);
    /// # Ok::<(), sockrepl::StartError>(())
    /// ```
    pub fn trace(&self, file: Option<&std::path::Path>) -> std::io::Result<()> {
        let trace = match file {
            Some(path) => engine::Trace::File(path.to_path_buf()),
            None => engine::Trace::Lines,
        };
        engine::set_trace(&self.shared.core, trace)
    }

    /// Stops recording socket events.
    pub fn untrace(&self) {
        let _ = engine::set_trace(&self.shared.core, engine::Trace::Off);
    }

    /// Stops what the session's main thread is running (what Ctrl-C does
    /// in the shell); background tasks go on.
    pub fn interrupt(&self) {
        self.shared.main.token().cancel();
    }

    /// Ends the session: every task's blocking call returns at once, child
    /// processes are terminated and sockets closed. What Ctrl-C does to a
    /// script; the session runs nothing more afterwards.
    pub fn end(&self) {
        self.shared.core.cancel();
        Children::of(&self.shared.core).terminate_all();
        self.shared.core.service::<Net>().close_all();
    }

    /// Cancels the session's tasks, terminates its processes, closes its
    /// sockets and forgets what functions read (the shell's `:reset`); the
    /// session itself goes on.
    pub fn reset(&self) {
        let core = &self.shared.core;
        for task in core.tasks().iter().filter(|t| !t.is_main()) {
            task.cancel();
        }
        Children::of(core).terminate_all();
        core.service::<Net>().close_all();
        core.service::<Globals>().clear();
        core.service::<Sources>().clear();
    }

    pub(crate) fn core(&self) -> &Arc<SessionCore> {
        &self.shared.core
    }

    pub(crate) fn main(&self) -> &Arc<TaskCore> {
        &self.shared.main
    }
}
