//! The interactive shell: `repl` with no file.
//!
//! The main thread reads lines with rustyline and evaluates them itself;
//! variables live in one `Scope` and functions in an accumulated AST, so
//! both persist from line to line. Each evaluation gets a fresh
//! cancellation token that Ctrl-C cancels, while tasks hang off a session
//! token, so interrupting a line leaves background servers running.
//! Output printed by tasks goes through rustyline's external printer while
//! the user is typing, so it appears above the prompt, tagged with the
//! task's name, without garbling the line being edited.
//!
//! [`Repl::builder`] lets another program ship this shell with its own
//! functions, prompt, history file and banner.

pub mod commands;
pub mod helper;
pub mod show;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use colored::Colorize;
use rhai::{AST, Dynamic, Engine, Scope};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor, ExternalPrinter};

use crate::runtime::{self, CancellationToken, task};
use crate::script;
use commands::{COMMANDS, Command};
use helper::ReplHelper;

type Setup = Box<dyn FnOnce(&mut Engine)>;

/// Configures a [`Repl`].
pub struct ReplBuilder {
    prompt: String,
    history: Option<PathBuf>,
    banner: Option<String>,
    setup: Vec<Setup>,
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
            setup: Vec::new(),
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
    /// sockrepl::repl::Repl::builder()
    ///     .register(|engine| {
    ///         engine.register_fn("double", |x: i64| x * 2);
    ///     })
    ///     .build()
    ///     .run();
    /// ```
    pub fn register(mut self, setup: impl FnOnce(&mut Engine) + 'static) -> Self {
        self.setup.push(Box::new(setup));
        self
    }

    /// Builds the shell with an engine holding the whole script API.
    pub fn build(self) -> Repl {
        let mut engine = script::new_raw_engine();
        for setup in self.setup {
            setup(&mut engine);
        }
        Repl {
            prompt: self.prompt,
            history: self.history,
            banner: self.banner,
            engine,
            scope: script::script_scope("<repl>", &[]),
            functions: AST::empty(),
            session: Vec::new(),
        }
    }
}

/// The interactive shell.
pub struct Repl {
    prompt: String,
    history: Option<PathBuf>,
    banner: Option<String>,
    engine: Engine,
    scope: Scope<'static>,
    /// Every function defined so far.
    functions: AST,
    /// What was typed and ran, for `:save` and for child processes.
    session: Vec<String>,
}

/// The token Ctrl-C cancels: that of the line being evaluated.
static FOREGROUND: Mutex<Option<CancellationToken>> = Mutex::new(None);

fn watch_ctrl_c() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handle = runtime::handle();
    let mut interrupts = {
        let _context = handle.enter();
        signal(SignalKind::interrupt())?
    };
    handle.spawn(async move {
        while interrupts.recv().await.is_some() {
            if let Some(token) = FOREGROUND.lock().ok().and_then(|t| t.clone()) {
                token.cancel();
            }
        }
    });
    Ok(())
}

impl Repl {
    /// A builder with the defaults of the `repl` binary.
    pub fn builder() -> ReplBuilder {
        ReplBuilder::default()
    }

    /// Runs `path` first and keeps its variables and functions (`repl -i`).
    pub fn preload(&mut self, path: &str, args: &[String]) -> Result<(), String> {
        let source = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        self.scope = script::script_scope(path, args);
        self.session.push(source.clone());
        let engine = Arc::new(std::mem::take(&mut self.engine));
        let ok = self.eval(&engine, path, &source);
        self.engine = Arc::try_unwrap(engine).unwrap_or_else(|_| script::new_raw_engine());
        if ok {
            Ok(())
        } else {
            Err(format!("{path} failed; its variables so far are kept"))
        }
    }

    /// Reads and evaluates lines until `:quit` or Ctrl-D.
    pub fn run(mut self) {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        colored::control::set_override(colour);
        if let Err(err) = watch_ctrl_c() {
            eprintln!("cannot watch for Ctrl-C: {err}");
        }
        task::set_main_token(CancellationToken::new());

        let config = Config::builder()
            .auto_add_history(false)
            .completion_type(rustyline::CompletionType::List)
            .build();
        let mut editor: Editor<ReplHelper, DefaultHistory> = match Editor::with_config(config) {
            Ok(editor) => editor,
            Err(err) => {
                eprintln!("cannot start the line editor: {err}");
                return;
            }
        };
        // Background output: above the prompt while reading, plain otherwise.
        let reading = Arc::new(AtomicBool::new(false));
        let printer: Option<Arc<Mutex<Box<dyn ExternalPrinter + Send>>>> = editor
            .create_external_printer()
            .ok()
            .map(|p| Arc::new(Mutex::new(Box::new(p) as Box<dyn ExternalPrinter + Send>)));
        {
            let reading = reading.clone();
            self.engine.on_print(move |text| {
                let line = match task::current().filter(|t| !t.is_main()) {
                    Some(t) => format!("{} {text}", format!("[{}]", t.name()).cyan()),
                    None => text.to_string(),
                };
                match (&printer, reading.load(Ordering::SeqCst)) {
                    (Some(printer), true) => {
                        if let Ok(mut p) = printer.lock() {
                            let _ = p.print(format!("{line}\n"));
                        }
                    }
                    _ => {
                        use std::io::Write;
                        let _ = writeln!(std::io::stdout().lock(), "{line}");
                    }
                }
            });
        }
        let engine = Arc::new(std::mem::take(&mut self.engine));
        let helper = ReplHelper::new(engine.clone(), colour);
        let variables = helper.variables.clone();
        editor.set_helper(Some(helper));
        if let Some(path) = &self.history {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = editor.load_history(path);
        }
        if let Some(banner) = &self.banner {
            println!("{banner}");
        }

        loop {
            if let Ok(mut names) = variables.lock() {
                *names = self.scope.iter_raw().map(|(name, _, _)| name.to_string()).collect();
            }
            reading.store(true, Ordering::SeqCst);
            let line = editor.readline(&self.prompt);
            reading.store(false, Ordering::SeqCst);
            match line {
                Ok(input) => {
                    if input.trim().is_empty() {
                        continue;
                    }
                    let _ = editor.add_history_entry(input.as_str());
                    if let Some(path) = &self.history {
                        let _ = editor.append_history(path);
                    }
                    if input.trim_start().starts_with(':') {
                        if !self.command(&engine, input.trim()) {
                            break;
                        }
                    } else if self.eval(&engine, "<repl>", &input) {
                        self.session.push(input);
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(err) => {
                    eprintln!("cannot read input: {err}");
                    break;
                }
            }
        }
        let running: Vec<_> = task::tasks().into_iter().filter(|t| !t.is_main()).collect();
        if !running.is_empty() {
            println!(
                "stopping {} running task{}",
                running.len(),
                if running.len() == 1 { "" } else { "s" }
            );
        }
        task::cancel_all();
        crate::process::terminate_all();
    }

    /// Evaluates one input; prints its value or its error. True if it ran.
    fn eval(&mut self, engine: &Arc<Engine>, name: &str, input: &str) -> bool {
        let ast = match engine.compile_with_scope(&self.scope, input) {
            Ok(ast) => ast,
            Err(err) => {
                eprint!("{}", paint_error(&script::render(&err.into(), name, input)));
                return false;
            }
        };
        self.functions = self.functions.merge(&ast.clone_functions_only());
        let mut run = self.functions.merge(&ast);
        run.set_source(name);
        task::set_engine(engine.clone());
        let mut everything = self.session.join("\n");
        everything.push('\n');
        everything.push_str(input);
        task::set_source(name, &everything);
        let token = CancellationToken::new();
        runtime::set_cancel_token(token.clone());
        if let Ok(mut foreground) = FOREGROUND.lock() {
            *foreground = Some(token);
        }
        let result = engine.eval_ast_with_scope::<Dynamic>(&mut self.scope, &run);
        if let Ok(mut foreground) = FOREGROUND.lock() {
            *foreground = None;
        }
        let interrupted = runtime::is_cancelled();
        runtime::set_cancel_token(CancellationToken::new());
        match result {
            Ok(value) => {
                if !value.is_unit() {
                    println!("{}", show::show(&value));
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
                eprint!("{}", paint_error(&script::render(&err, name, input)));
                false
            }
        }
    }

    /// Runs a `:command`; false to quit.
    fn command(&mut self, engine: &Arc<Engine>, line: &str) -> bool {
        let command = match commands::parse(line) {
            Ok(command) => command,
            Err(message) => {
                eprintln!("{}", message.red());
                return true;
            }
        };
        match command {
            Command::Quit => return false,
            Command::Help(None) => {
                for (_, text) in COMMANDS {
                    println!("{text}");
                }
                println!("help() lists the script functions; help(name) explains one.");
            }
            Command::Help(Some(name)) => match crate::package::docs::help_text(&name) {
                Some(text) => print!("{text}"),
                None => eprintln!("{}", format!("no function named {name}").red()),
            },
            Command::Tasks => {
                let tasks = task::tasks();
                for t in &tasks {
                    let what = t.blocked_on().map(|w| format!("  blocked in {w}")).unwrap_or_default();
                    println!("{:>4}  {:<12} {:<9}{what}", t.id(), t.name(), t.state());
                }
                for p in crate::process::processes() {
                    println!("pid {:>5}  {:<12} running", p.pid(), p.name());
                }
            }
            Command::Sockets => {
                let open = crate::net::socket::open_sockets();
                if open.is_empty() {
                    println!("no open sockets");
                }
                for s in open {
                    println!("{:>4}  {s}", s.id());
                }
            }
            Command::Kill(id) => {
                if let Some(t) = task::tasks().into_iter().find(|t| t.id() == id && !t.is_main()) {
                    t.cancel();
                    println!("cancelled {}", t.name());
                } else if let Some(p) = crate::process::processes()
                    .into_iter()
                    .find(|p| u64::from(p.pid()) == id)
                {
                    p.terminate();
                    println!("terminated {} (pid {})", p.name(), p.pid());
                } else {
                    eprintln!("{}", format!("no task {id} or process {id}; :tasks lists them").red());
                }
            }
            Command::Load(path) => match std::fs::read_to_string(&path) {
                Ok(source) => {
                    if self.eval(engine, &path, &source) {
                        self.session.push(source);
                    }
                }
                Err(err) => eprintln!("{}", format!("cannot read {path}: {err}").red()),
            },
            Command::Save(path) => match std::fs::write(&path, self.session.join("\n") + "\n") {
                Ok(()) => println!("saved {} entries to {path}", self.session.len()),
                Err(err) => eprintln!("{}", format!("cannot write {path}: {err}").red()),
            },
            Command::Vars => {
                for (name, constant, value) in self.scope.iter_raw() {
                    let kind = if constant { "const" } else { "let" };
                    println!("{kind} {name} = {}", show::show(value));
                }
            }
            Command::Reset => {
                self.scope = script::script_scope("<repl>", &[]);
                self.functions = AST::empty();
                self.session.clear();
                println!("variables and functions forgotten");
            }
        }
        true
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
