//! The interactive shell: `repl` with no file (layer 9, above the
//! session).
//!
//! The main thread reads lines with rustyline and evaluates them itself in
//! one [`Session`]; variables live in one `Scope` and functions in an
//! accumulated AST, so both persist from line to line. Each evaluation
//! gets a fresh cancellation token that Ctrl-C cancels, while tasks hang
//! off the session, so interrupting a line leaves background servers
//! running. Output printed by tasks goes through rustyline's external
//! printer while the user is typing, so it appears above the prompt,
//! tagged with the task's name, without garbling the line being edited.
//!
//! [`Repl::builder`] lets another program ship this shell with its own
//! functions, prompt, history file and banner.

pub(crate) mod commands;
pub(crate) mod helper;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use colored::Colorize;
use rhai::{AST, Dynamic, Engine, Scope};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor, ExternalPrinter};

use crate::engine::Output;
use crate::net::Net;
use crate::package::show::show;
use crate::process::Children;
use crate::runtime::context;
use crate::runtime::signal;
use crate::session::{Session, SessionBuilder, StartError};
use crate::tasks::Tasks;
use commands::{COMMANDS, Command};
use helper::ReplHelper;

/// Configures a [`Repl`].
pub struct ReplBuilder {
    prompt: String,
    history: Option<PathBuf>,
    banner: Option<String>,
    session: SessionBuilder,
}

impl Default for ReplBuilder {
    fn default() -> Self {
        ReplBuilder {
            prompt: "> ".into(),
            history: default_history_file(),
            banner: Some(format!(
                "sockrepl {} - socket programming in Rhai. help() lists functions, :help lists commands, Ctrl-D quits.",
                env!("CARGO_PKG_VERSION")
            )),
            session: SessionBuilder::default(),
        }
    }
}

fn default_history_file() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("sockrepl").join("history"))
}

impl ReplBuilder {
    /// The prompt shown before each input (default `"> "`).
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = prompt.into();
        self
    }

    /// Where history is kept (default: `sockrepl/history` in the user's
    /// data folder); `None` keeps none.
    pub fn history_file(mut self, path: Option<PathBuf>) -> Self {
        self.history = path;
        self
    }

    /// The line printed at start (`None` for none).
    pub fn banner(mut self, banner: Option<String>) -> Self {
        self.banner = banner;
        self
    }

    /// Adds functions, packages or settings to the engine before it starts.
    ///
    /// ```no_run
    /// sockrepl::Repl::builder()
    ///     .register(|engine| {
    ///         engine.register_fn("double", |x: i64| x * 2);
    ///     })
    ///     .build()?
    ///     .run();
    /// # Ok::<(), sockrepl::StartError>(())
    /// ```
    pub fn register(mut self, setup: impl FnOnce(&mut Engine) + 'static) -> Self {
        self.session = self.session.register(setup);
        self
    }

    /// Limits for what is typed (default: none).
    pub fn limits(mut self, limits: crate::Limits) -> Self {
        self.session = self.session.limits(limits);
        self
    }

    /// Builds the shell around a session holding the whole script API.
    pub fn build(self) -> Result<Repl, StartError> {
        Ok(Repl {
            prompt: self.prompt,
            history: self.history,
            banner: self.banner,
            session: self.session.build()?,
            scope: Session::scope("<repl>", &[]),
            functions: AST::empty(),
            entries: Vec::new(),
            inputs: 0,
        })
    }
}

/// The interactive shell.
///
/// ```no_run
/// let mut shell = sockrepl::Repl::builder().prompt("lab> ").build()?;
/// shell.preload("setup.rhai", &[]).ok();   // like `repl -i setup.rhai`
/// shell.run();
/// # Ok::<(), sockrepl::StartError>(())
/// ```
pub struct Repl {
    prompt: String,
    history: Option<PathBuf>,
    banner: Option<String>,
    session: Session,
    scope: Scope<'static>,
    /// Every function defined so far.
    functions: AST,
    /// What was typed and ran, for `:save`.
    entries: Vec<String>,
    /// Inputs evaluated so far; each is named `<repl:N>`.
    inputs: usize,
}

/// Where output goes while a line is being read: above the prompt.
struct Printer {
    reading: Arc<AtomicBool>,
    external: Option<Arc<Mutex<Box<dyn ExternalPrinter + Send>>>>,
}

impl Printer {
    fn write(&self, text: &str, to_stderr: bool) {
        if let (Some(external), true) = (&self.external, self.reading.load(Ordering::SeqCst))
            && let Ok(mut p) = external.lock()
        {
            let _ = p.print(text.to_string());
            return;
        }
        use std::io::Write;
        let _ = if to_stderr {
            write!(std::io::stderr().lock(), "{text}")
        } else {
            write!(std::io::stdout().lock(), "{text}")
        };
    }
}

impl Repl {
    /// A builder with the defaults of the `repl` binary.
    pub fn builder() -> ReplBuilder {
        ReplBuilder::default()
    }

    /// Records socket events from the start: JSON lines into `file`, or
    /// readable lines above the prompt when `lines` is set.
    pub fn trace(&self, file: Option<&std::path::Path>, lines: bool) -> std::io::Result<()> {
        match (file, lines) {
            (Some(file), _) => self.session.trace(Some(file)),
            (None, true) => self.session.trace(None),
            (None, false) => Ok(()),
        }
    }

    /// Runs `path` first and keeps its variables and functions (`repl -i`).
    pub fn preload(&mut self, path: &str, args: &[String]) -> Result<(), String> {
        let source = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        self.scope = Session::scope(path, args);
        if self.eval(path, &source) {
            self.entries.push(source);
            Ok(())
        } else {
            Err(format!("{path} failed; its variables so far are kept"))
        }
    }

    /// Reads and evaluates lines until `:quit` or Ctrl-D.
    pub fn run(mut self) {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        colored::control::set_override(colour);
        let session = self.session.clone();
        if let Err(err) = signal::on_interrupt(move || session.interrupt()) {
            eprintln!("cannot watch for Ctrl-C: {err}");
        }
        let Some((mut editor, reading)) = self.editor(colour) else {
            return;
        };
        if let Some(banner) = &self.banner {
            println!("{banner}");
        }
        loop {
            if let Some(helper) = editor.helper()
                && let Ok(mut known) = helper.known.lock()
            {
                known.variables = self
                    .scope
                    .iter_raw()
                    .map(|(name, _, value)| {
                        (
                            name.to_string(),
                            crate::error::script_type(value.type_name()).to_string(),
                        )
                    })
                    .collect();
                known.functions = self.functions.iter_functions().map(|f| f.name.to_string()).collect();
            }
            reading.store(true, Ordering::SeqCst);
            let line = editor.readline(&self.prompt);
            reading.store(false, Ordering::SeqCst);
            match line {
                Ok(input) if input.trim().is_empty() => {}
                Ok(input) => {
                    self.remember(&mut editor, &input);
                    if !self.handle(&input) {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => {}
                Err(ReadlineError::Eof) => break,
                Err(err) => {
                    eprintln!("cannot read input: {err}");
                    break;
                }
            }
        }
        self.stop();
    }

    /// The line editor, with output of tasks routed above its prompt and
    /// history loaded; the flag says when a line is being read.
    fn editor(&self, colour: bool) -> Option<(Editor<ReplHelper, DefaultHistory>, Arc<AtomicBool>)> {
        // History keeps 10,000 entries (rustyline's default is 100).
        let config = Config::builder()
            .max_history_size(10_000)
            .unwrap_or_else(|_| Config::builder())
            .auto_add_history(false)
            .completion_type(rustyline::CompletionType::List)
            .build();
        let mut editor: Editor<ReplHelper, DefaultHistory> = match Editor::with_config(config) {
            Ok(editor) => editor,
            Err(err) => {
                eprintln!("cannot start the line editor: {err}");
                return None;
            }
        };
        let reading = Arc::new(AtomicBool::new(false));
        let printer = Arc::new(Printer {
            reading: reading.clone(),
            external: editor
                .create_external_printer()
                .ok()
                .map(|p| Arc::new(Mutex::new(Box::new(p) as Box<dyn ExternalPrinter + Send>))),
        });
        let output = self.session.core().service::<Output>();
        let for_print = printer.clone();
        output.set_printer(Arc::new(move |text: &str| {
            let line = match context::try_current().filter(|t| !t.is_main()) {
                Some(t) => format!("{} {text}\n", format!("[{}]", t.name()).cyan()),
                None => format!("{text}\n"),
            };
            for_print.write(&line, false);
        }));
        output.set_error_printer(Arc::new(move |text: &str| printer.write(&paint_error(text), true)));
        editor.set_helper(Some(ReplHelper::new(self.session.engine().clone(), colour)));
        if let Some(path) = &self.history {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = editor.load_history(path);
        }
        Some((editor, reading))
    }

    fn remember(&self, editor: &mut Editor<ReplHelper, DefaultHistory>, input: &str) {
        let _ = editor.add_history_entry(input);
        if let Some(path) = &self.history {
            let _ = editor.append_history(path);
        }
    }

    /// Runs one input: a command or code; false to quit.
    fn handle(&mut self, input: &str) -> bool {
        if input.trim_start().starts_with(':') {
            return self.command(input.trim());
        }
        self.inputs += 1;
        let name = format!("<repl:{}>", self.inputs);
        if self.eval(&name, input) {
            self.entries.push(input.to_string());
        }
        true
    }

    /// Stops what the session still runs, saying so.
    fn stop(&self) {
        let core = self.session.core();
        let running = core.tasks().iter().filter(|t| !t.is_main()).count();
        if running > 0 {
            println!("stopping {running} running task{}", if running == 1 { "" } else { "s" });
        }
        self.session.end();
    }

    /// Evaluates one input; prints its value or its error. True if it ran.
    fn eval(&mut self, name: &str, input: &str) -> bool {
        let ast = match self.session.compile(&self.scope, name, input) {
            Ok(ast) => ast,
            Err(text) => {
                eprint!("{}", paint_error(&text));
                return false;
            }
        };
        self.functions = self.functions.merge(&ast.clone_functions_only());
        let mut run = self.functions.merge(&ast);
        run.set_source(name);
        let run = self.session.prepare(run, &self.functions);
        let _in = self.session.enter();
        let main = self.session.main().clone();
        main.set_token(main.life().child_token());
        let result = self
            .session
            .engine()
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &run);
        let interrupted = main.is_cancelled();
        main.set_token(main.life().clone());
        match result {
            Ok(value) => {
                if !value.is_unit() {
                    println!("{}", show(&value));
                }
                true
            }
            Err(_) if interrupted => {
                eprintln!("{}", "KeyboardInterrupt".red());
                true
            }
            Err(err) => {
                if let rhai::EvalAltResult::ErrorTerminated(..) = err.unwrap_inner() {
                    eprintln!("{}", "exit() ends scripts; in the shell use :quit or Ctrl-D".yellow());
                    return true;
                }
                eprint!("{}", paint_error(&self.session.render(&err, name)));
                false
            }
        }
    }

    /// Runs a `:command`; false to quit.
    fn command(&mut self, line: &str) -> bool {
        match commands::parse(line) {
            Ok(Command::Quit) => return false,
            Ok(Command::Help(name)) => help(name.as_deref()),
            Ok(Command::Tasks) => self.list_tasks(),
            Ok(Command::Sockets) => self.list_sockets(),
            Ok(Command::Kill(id)) => self.kill(id),
            Ok(Command::Load(path)) => self.load(&path),
            Ok(Command::Save(path)) => self.save(&path),
            Ok(Command::Trace(what)) => self.set_trace(what.as_deref()),
            Ok(Command::Vars) => {
                for (name, constant, value) in self.scope.iter_raw() {
                    let kind = if constant { "const" } else { "let" };
                    println!("{kind} {name} = {}", show(value));
                }
            }
            Ok(Command::Reset) => {
                self.session.reset();
                self.scope = Session::scope("<repl>", &[]);
                self.functions = AST::empty();
                self.entries.clear();
                println!("variables and functions forgotten");
            }
            Err(message) => eprintln!("{}", message.red()),
        }
        true
    }

    /// `:trace` prints socket events above the prompt, `:trace FILE`
    /// records them for `repl --diagram`, `:trace off` stops.
    fn set_trace(&self, what: Option<&str>) {
        let done = match what {
            Some("off") => {
                self.session.untrace();
                println!("socket events are no longer traced");
                Ok(())
            }
            Some(file) => self
                .session
                .trace(Some(std::path::Path::new(file)))
                .map(|()| println!("recording socket events in {file} (repl --diagram {file} draws them)")),
            None => self
                .session
                .trace(None)
                .map(|()| println!("tracing socket events (:trace off stops)")),
        };
        if let Err(err) = done {
            eprintln!("{}", format!("cannot trace: {err}").red());
        }
    }

    fn list_tasks(&self) {
        let core = self.session.core();
        for t in Tasks::of(core).live(core) {
            let what = t.blocked_on().map(|w| format!("  blocked in {w}")).unwrap_or_default();
            println!("{:>4}  {:<12} {:<9}{what}", t.id(), t.name(), t.state());
        }
        for p in Children::of(core).processes() {
            println!("pid {:>5}  {:<12} running", p.pid(), p.name());
        }
    }

    fn list_sockets(&self) {
        let open = self.session.core().service::<Net>().open_sockets();
        if open.is_empty() {
            println!("no open sockets");
        }
        for s in open {
            println!("{:>4}  {s}", s.id());
        }
    }

    fn kill(&self, id: u64) {
        let core = self.session.core();
        if core.task(id).is_some_and(|t| t.is_main()) {
            eprintln!(
                "{}",
                format!("task {id} is the shell itself (MainThread); Ctrl-C interrupts what it is running").red()
            );
            return;
        }
        if let Some(t) = core.task(id) {
            t.cancel();
            println!("cancelled {}", t.name());
        } else if let Some(p) = Children::of(core)
            .processes()
            .into_iter()
            .find(|p| u64::from(p.pid()) == id)
        {
            p.terminate();
            println!("terminated {} (pid {})", p.name(), p.pid());
        } else {
            eprintln!("{}", format!("no task {id} or process {id}; :tasks lists them").red());
        }
    }

    fn load(&mut self, path: &str) {
        match std::fs::read_to_string(path) {
            Ok(source) => {
                if self.eval(path, &source) {
                    self.entries.push(source);
                }
            }
            Err(err) => eprintln!("{}", format!("cannot read {path}: {err}").red()),
        }
    }

    /// Writes what was typed as a script that `repl FILE` and `:load` run:
    /// each entry ends a statement, even one typed without `;`.
    fn save(&self, path: &str) {
        let mut script = String::new();
        for entry in &self.entries {
            let entry = entry.trim_end();
            script.push_str(entry);
            if !entry.ends_with([';', '}']) {
                script.push(';');
            }
            script.push('\n');
        }
        match std::fs::write(path, script) {
            Ok(()) => println!("saved {} entries to {path}", self.entries.len()),
            Err(err) => eprintln!("{}", format!("cannot write {path}: {err}").red()),
        }
    }
}

fn help(name: Option<&str>) {
    match name {
        None => {
            for (_, text) in COMMANDS {
                println!("{text}");
            }
            println!("help() lists the script functions; help(name) explains one.");
        }
        Some(name) => match crate::package::docs::help_text(name) {
            Some(text) => print!("{text}"),
            None => eprintln!("{}", format!("no function named {name}").red()),
        },
    }
}

/// Colours the first line of an error red and a hint yellow.
fn paint_error(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with("error:") {
                line.red().bold().to_string()
            } else if line.starts_with("hint:") {
                line.yellow().to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
