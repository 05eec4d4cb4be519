//! Engine configuration (layer 6, above `process`): the limits, and the
//! engine-wide hooks a session installs on its engine.
//!
//! The script API itself (the package) only registers functions and
//! types; what must be engine-wide is installed here, by the session that
//! owns the engine:
//!
//! * **print** goes to the session's [`Output`] (the shell routes it above
//!   the prompt; a closed stdout is ignored instead of panicking);
//! * **debug** goes to stderr with the source and line;
//! * **progress** stops a script whose task was cancelled, every 256
//!   operations, so Ctrl-C ends even a busy loop;
//! * **variable resolution** lets functions read the top-level variables
//!   ([`globals`]).
//!
//! An embedder who brings an engine of their own and registers the package
//! without a session gets none of these: print and debug are Rhai's,
//! busy loops cannot be interrupted, and functions see only their
//! parameters, as in plain Rhai. Calling [`install_hooks`] on that engine
//! (with the session it will run in) adds them.

pub mod globals;
pub mod limits;

use std::sync::{Arc, RwLock};

use rhai::{Dynamic, Engine};

use crate::runtime::context::{self, SessionCore};
pub use globals::Globals;
pub use limits::{DEFAULT_CALL_DEPTH, HARD_CAP, Limits};

/// Where a session's `print` output goes.
pub type Printer = Arc<dyn Fn(&str) + Send + Sync>;

/// A session's output: `print` to stdout and errors of background tasks
/// to stderr, unless printers are set (the shell shows both above the
/// line being typed).
#[derive(Default)]
pub struct Output {
    printer: RwLock<Option<Printer>>,
    error_printer: RwLock<Option<Printer>>,
}

impl Output {
    /// Sends `print` output to `printer`.
    pub fn set_printer(&self, printer: Printer) {
        *self.printer.write().unwrap_or_else(|p| p.into_inner()) = Some(printer);
    }

    /// Sends error reports (a failed task's) to `printer`.
    pub fn set_error_printer(&self, printer: Printer) {
        *self.error_printer.write().unwrap_or_else(|p| p.into_inner()) = Some(printer);
    }

    /// Reports an error that has no caller to return to: a task's.
    pub fn error(&self, text: &str) {
        let printer = self.error_printer.read().unwrap_or_else(|p| p.into_inner()).clone();
        match printer {
            Some(printer) => printer(text),
            None => eprint!("{text}"),
        }
    }

    /// Prints one line.
    pub fn print(&self, text: &str) {
        let printer = self.printer.read().unwrap_or_else(|p| p.into_inner()).clone();
        match printer {
            Some(printer) => printer(text),
            None => {
                use std::io::Write;
                // Output that cannot be written (`repl x.rhai | head`) is
                // dropped, as Rhai's own printer would panic.
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }
        }
    }
}

/// Starts tracing `session`'s sockets: readable lines where the session's
/// errors go (stderr, or above the shell's prompt), or JSON lines into
/// `file` (what `repl --diagram` draws); `Trace::Off` stops.
pub fn set_trace(session: &SessionCore, trace: Trace) -> std::io::Result<()> {
    use crate::net::trace::Sink;
    let sink = match trace {
        Trace::Off => None,
        Trace::Lines => {
            let output = session.service::<Output>();
            Some(Sink::Lines(Box::new(move |line| output.error(&format!("{line}\n")))))
        }
        Trace::File(path) => {
            let file = std::fs::File::create(&path)?;
            Some(Sink::Json(std::sync::Mutex::new(Box::new(std::io::BufWriter::new(
                file,
            )))))
        }
    };
    session.service::<crate::net::Net>().tracer.set(sink);
    Ok(())
}

/// What to do with socket events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trace {
    /// Record nothing.
    Off,
    /// Print readable lines.
    Lines,
    /// Write JSON lines to this file.
    File(std::path::PathBuf),
}

/// Configures a new engine for `session`: expression depths fit for
/// teaching code, `limits`, and the hooks.
pub fn configure(engine: &mut Engine, limits: &Limits, session: &Arc<SessionCore>) {
    // Rhai's defaults (64 / 32) reject ordinary teaching code such as a
    // string interpolation inside an `if` inside a loop in a function.
    engine.set_max_expr_depths(256, 128);
    limits.apply(engine);
    install_hooks(engine, session);
}

/// Installs print, debug, progress and variable-resolution hooks that
/// serve `session`, replacing any the engine had.
pub fn install_hooks(engine: &mut Engine, session: &Arc<SessionCore>) {
    let output = session.service::<Output>();
    engine.on_print(move |text| output.print(text));
    engine.on_debug(|text, source, pos| {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = match (source, pos.line()) {
            (Some(source), Some(line)) => writeln!(err, "{source}:{line}: {text}"),
            (None, Some(line)) => writeln!(err, "{line}: {text}"),
            _ => writeln!(err, "{text}"),
        };
    });
    // Checking every 256 operations keeps a busy loop's reaction to
    // Ctrl-C far below a millisecond at a fraction of the cost.
    engine.on_progress(|operations| {
        (operations % 256 == 0 && context::is_cancelled()).then(|| Dynamic::from("KeyboardInterrupt"))
    });
    let globals = session.service::<Globals>();
    #[allow(deprecated)] // on_var is marked volatile, not deprecated.
    engine.on_var(move |name, index, context| Ok(globals.resolve(name, index, &context)));
}

/// Fixes the seed Rhai hashes function names with, so that a child
/// process compiling the same script gives its closures the same names
/// and can run a closure it is sent. The parent picks a random seed (Rhai's
/// own protection against hash flooding stays); children get the parent's.
/// Only effective before the first engine is created in this process.
pub fn pin_hashing_seed(seed: Option<[u64; 4]>) {
    use std::hash::{BuildHasher, Hasher};
    if rhai::config::hashing::get_hashing_seed().is_some() {
        return;
    }
    let seed = seed.unwrap_or_else(|| {
        let random = || std::collections::hash_map::RandomState::new().build_hasher().finish();
        [random(), random(), random(), random()]
    });
    // Fails only if an engine already exists; named functions still work.
    let _ = rhai::config::hashing::set_hashing_seed(Some(seed));
}
