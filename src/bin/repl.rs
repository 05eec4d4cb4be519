//! The `repl` command: run a socket script, a snippet, or piped input.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sockrepl::{DEFAULT_CALL_DEPTH, Limits, Outcome, Repl, Session};

/// Socket programming in Rhai, the way Python teaches it.
#[derive(Parser)]
#[command(
    name = "repl",
    version,
    about,
    after_help = "With no FILE and a terminal on standard input, opens the interactive shell.\n\nExamples:\n  repl\n  repl scripts/tftp.rhai get 127.0.0.1:6969 file.bin\n  repl -i scripts/socket_basics.rhai\n  repl -e 'print(gethostbyname(\"localhost\"))'\n  repl < commands.rhai"
)]
struct Cli {
    /// Run CODE instead of a file.
    #[arg(short = 'e', value_name = "CODE", conflicts_with = "file")]
    eval: Option<String>,
    /// Run FILE, then stay in the interactive shell with its variables.
    #[arg(short = 'i', requires = "file")]
    interactive: bool,
    /// The script to run.
    file: Option<PathBuf>,
    /// Arguments for the script, visible to it as ARGS.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// Stop the script after N operations (each task and process counts its own; 0 = no limit).
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_operations: u64,
    /// Longest string a script may build, in bytes (0 = no limit).
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    max_string_size: usize,
    /// Most items in one array or bytes in one blob, received data included (0 = no limit).
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_array_size: usize,
    /// Most entries in one object map (0 = no limit).
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_map_size: usize,
    /// Print every socket event (connect, accept, send, recv, close, errors) as the script runs.
    #[arg(long)]
    trace: bool,
    /// Record every socket event as JSON lines in FILE (for --diagram).
    #[arg(long, value_name = "FILE")]
    trace_to: Option<PathBuf>,
    /// Draw the trace in FILE (from --trace-to) as an SVG sequence diagram on standard output.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "eval", "interactive"])]
    diagram: Option<PathBuf>,
    /// The diagram's title (with --diagram).
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "What the sockets did",
        requires = "diagram"
    )]
    title: String,
    /// How deep functions may call each other.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CALL_DEPTH)]
    max_call_depth: usize,
}

impl Cli {
    fn limits(&self) -> Limits {
        Limits {
            operations: self.max_operations,
            string_size: self.max_string_size,
            array_size: self.max_array_size,
            map_size: self.max_map_size,
            call_depth: self.max_call_depth,
        }
    }
}

fn main() -> ExitCode {
    sockrepl::run_child_if_requested();
    let cli = Cli::parse();
    if let Some(trace) = &cli.diagram {
        return diagram(trace, &cli.title);
    }
    if cli.interactive || (cli.eval.is_none() && cli.file.is_none() && std::io::stdin().is_terminal()) {
        return shell(&cli);
    }
    let (name, source) = match load(&cli) {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("repl: {message}");
            return ExitCode::from(2);
        }
    };
    let session = match Session::builder().limits(cli.limits()).build() {
        Ok(session) => session,
        Err(err) => {
            eprintln!("repl: {err}");
            return ExitCode::from(70);
        }
    };
    // Ctrl-C ends the script and everything it started; a second Ctrl-C
    // exits at once.
    let interrupted = std::sync::atomic::AtomicBool::new(false);
    let on_ctrl_c = {
        let session = session.clone();
        move || {
            if interrupted.swap(true, std::sync::atomic::Ordering::SeqCst) {
                std::process::exit(130);
            }
            session.end();
        }
    };
    if let Err(err) = sockrepl::on_interrupt(on_ctrl_c) {
        eprintln!("repl: cannot watch for Ctrl-C: {err}");
    }
    if let Err(err) = trace(&session, &cli) {
        eprintln!("repl: cannot record the trace: {err}");
        return ExitCode::from(2);
    }
    let mut scope = Session::scope(&name, &cli.args);
    let outcome = session.run_with_scope(&mut scope, &name, &source);
    match &outcome {
        Outcome::Failed(text) => eprint!("{text}"),
        Outcome::Interrupted => eprintln!("KeyboardInterrupt"),
        Outcome::Done | Outcome::Exit(_) => {}
    }
    drop(session);
    ExitCode::from(u8::try_from(outcome.exit_code()).unwrap_or(1))
}

fn trace(session: &Session, cli: &Cli) -> std::io::Result<()> {
    match (&cli.trace_to, cli.trace) {
        (Some(file), _) => session.trace(Some(file)),
        (None, true) => session.trace(None),
        (None, false) => Ok(()),
    }
}

fn diagram(trace: &std::path::Path, title: &str) -> ExitCode {
    let drawn = std::fs::read_to_string(trace)
        .map_err(|e| format!("cannot read {}: {e}", trace.display()))
        .and_then(|events| sockrepl::trace_diagram(&events, title));
    match drawn {
        Ok(svg) => {
            print!("{svg}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("repl: {message}");
            ExitCode::from(2)
        }
    }
}

fn shell(cli: &Cli) -> ExitCode {
    let mut shell = match Repl::builder().limits(cli.limits()).build() {
        Ok(shell) => shell,
        Err(err) => {
            eprintln!("repl: {err}");
            return ExitCode::from(70);
        }
    };
    if let Err(err) = shell.trace(cli.trace_to.as_deref(), cli.trace) {
        eprintln!("repl: cannot record the trace: {err}");
        return ExitCode::from(2);
    }
    if let Some(file) = &cli.file
        && let Err(message) = shell.preload(&file.display().to_string(), &cli.args)
    {
        eprintln!("{message}");
    }
    shell.run();
    ExitCode::SUCCESS
}

fn load(cli: &Cli) -> Result<(String, String), String> {
    if let Some(code) = &cli.eval {
        return Ok(("-e".to_string(), code.clone()));
    }
    if let Some(path) = &cli.file {
        let name = path.display().to_string();
        return std::fs::read_to_string(path)
            .map(|source| (name.clone(), source))
            .map_err(|err| format!("cannot read {name}: {err}"));
    }
    let mut source = String::new();
    std::io::stdin()
        .read_to_string(&mut source)
        .map_err(|err| format!("cannot read standard input: {err}"))?;
    Ok(("<stdin>".to_string(), source))
}
