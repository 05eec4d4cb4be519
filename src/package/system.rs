//! Time and I/O: `sleep`, `time`, `strftime`, `input`, `pid`.

use std::io::Write;

use chrono::format::{Item, StrftimeItems};
use rhai::plugin::*;
use rhai::{FLOAT, INT};

use crate::error::ScriptError;
use crate::runtime;

fn sleep_for(secs: FLOAT) -> Result<(), ScriptError> {
    let deadline = runtime::Deadline::after_secs(secs)?;
    let _shown = crate::runtime::context::blocked_on(|| format!("sleep({secs})"));
    // A sleep is a wait for nothing until the deadline.
    match runtime::wait(std::future::pending::<()>(), deadline) {
        Err(err) if err.class == "TimeoutError" => Ok(()),
        other => other,
    }
}

/// Formats `when` with a C/Python `strftime` format, refusing unknown
/// directives instead of panicking inside chrono.
pub fn format_time(format: &str, when: chrono::DateTime<chrono::Local>) -> Result<String, ScriptError> {
    let items: Vec<Item> = StrftimeItems::new(format).collect();
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err(ScriptError::value(format!("bad strftime format {format:?}"))
            .hint("use directives such as %Y-%m-%d %H:%M:%S, %A, %B, %j; write %% for a literal %"));
    }
    Ok(when.format_with_items(items.into_iter()).to_string())
}

/// The token carried by the error that `exit()` raises: termination
/// cannot be caught by `try`/`catch`, so `exit` always ends the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitRequest(pub INT);

fn exit_request(code: INT) -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(Dynamic::from(ExitRequest(code)), rhai::Position::NONE).into()
}

/// Python's `print(a, b, ...)`: each value as `print` shows it, separated
/// by spaces. Rhai prints the text a `print` function returns.
fn print_line(ctx: &NativeCallContext, values: &mut [Dynamic]) -> Result<String, Box<EvalAltResult>> {
    let mut parts = Vec::with_capacity(values.len());
    for value in values.iter_mut() {
        let text = if value.is_string() {
            value.clone()
        } else {
            ctx.call_native_fn_raw("to_string", true, &mut [value])?
        };
        parts.push(text.into_string().unwrap_or_default());
    }
    Ok(parts.join(" "))
}

fn set_trace(trace: crate::engine::Trace) -> Result<(), Box<EvalAltResult>> {
    let session = crate::runtime::context::with_current(|task| task.session().clone());
    crate::engine::set_trace(&session, trace).map_err(|e| ScriptError::os(&e, "opening the trace file").into())
}

/// Script functions for time and input.
#[export_module]
pub mod system_api {
    use super::*;

    /// Prints a value and a newline on standard error, where messages
    /// about a problem belong (Python's `print(..., file=sys.stderr)`): a
    /// shell pipeline that reads the script's output does not see them.
    ///
    /// ```rhai
    /// eprint(`${ARGS[0]}: no such folder`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn eprint(ctx: NativeCallContext, value: Dynamic) -> Result<(), Box<EvalAltResult>> {
        let text = print_line(&ctx, &mut [value])?;
        let session = crate::runtime::context::with_current(|task| task.session().clone());
        session.service::<crate::engine::Output>().error(&format!("{text}\n"));
        Ok(())
    }

    /// Prints an empty line.
    ///
    /// ```rhai
    /// print();
    /// ```
    #[rhai_fn(name = "print")]
    pub fn print_nothing() -> String {
        String::new()
    }

    /// Prints its values separated by spaces, like Python's `print(a, b)`.
    ///
    /// ```rhai
    /// print("received", data.len(), "bytes from", m.addr);
    /// ```
    #[rhai_fn(name = "print", return_raw)]
    pub fn print2(ctx: NativeCallContext, a: Dynamic, b: Dynamic) -> Result<String, Box<EvalAltResult>> {
        print_line(&ctx, &mut [a, b])
    }

    /// `print` with three values.
    #[rhai_fn(name = "print", return_raw)]
    pub fn print3(ctx: NativeCallContext, a: Dynamic, b: Dynamic, c: Dynamic) -> Result<String, Box<EvalAltResult>> {
        print_line(&ctx, &mut [a, b, c])
    }

    /// `print` with four values.
    #[rhai_fn(name = "print", return_raw)]
    pub fn print4(
        ctx: NativeCallContext,
        a: Dynamic,
        b: Dynamic,
        c: Dynamic,
        d: Dynamic,
    ) -> Result<String, Box<EvalAltResult>> {
        print_line(&ctx, &mut [a, b, c, d])
    }

    /// `print` with five values.
    #[rhai_fn(name = "print", return_raw)]
    pub fn print5(
        ctx: NativeCallContext,
        a: Dynamic,
        b: Dynamic,
        c: Dynamic,
        d: Dynamic,
        e: Dynamic,
    ) -> Result<String, Box<EvalAltResult>> {
        print_line(&ctx, &mut [a, b, c, d, e])
    }

    /// `print` with six values.
    #[allow(clippy::too_many_arguments)] // Python's print is variadic; Rhai needs one fn per arity.
    #[rhai_fn(name = "print", return_raw)]
    pub fn print6(
        ctx: NativeCallContext,
        a: Dynamic,
        b: Dynamic,
        c: Dynamic,
        d: Dynamic,
        e: Dynamic,
        f: Dynamic,
    ) -> Result<String, Box<EvalAltResult>> {
        print_line(&ctx, &mut [a, b, c, d, e, f])
    }

    /// `print` with seven values.
    #[allow(clippy::too_many_arguments)] // Python's print is variadic; Rhai needs one fn per arity.
    #[rhai_fn(name = "print", return_raw)]
    pub fn print7(
        ctx: NativeCallContext,
        a: Dynamic,
        b: Dynamic,
        c: Dynamic,
        d: Dynamic,
        e: Dynamic,
        f: Dynamic,
        g: Dynamic,
    ) -> Result<String, Box<EvalAltResult>> {
        print_line(&ctx, &mut [a, b, c, d, e, f, g])
    }

    /// `print` with eight values.
    #[allow(clippy::too_many_arguments)] // Python's print is variadic; Rhai needs one fn per arity.
    #[rhai_fn(name = "print", return_raw)]
    pub fn print8(
        ctx: NativeCallContext,
        a: Dynamic,
        b: Dynamic,
        c: Dynamic,
        d: Dynamic,
        e: Dynamic,
        f: Dynamic,
        g: Dynamic,
        h: Dynamic,
    ) -> Result<String, Box<EvalAltResult>> {
        print_line(&ctx, &mut [a, b, c, d, e, f, g, h])
    }

    /// Pauses for `secs` seconds (Ctrl-C interrupts it).
    ///
    /// ```rhai
    /// sleep(1);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_int(secs: INT) -> Result<(), Box<EvalAltResult>> {
        Ok(sleep_for(secs as FLOAT)?)
    }

    /// Pauses for a fraction of a second.
    ///
    /// ```rhai
    /// sleep(0.1);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_float(secs: FLOAT) -> Result<(), Box<EvalAltResult>> {
        Ok(sleep_for(secs)?)
    }

    /// Seconds since 1970-01-01 UTC, with fractions (Python's `time.time()`).
    ///
    /// ```rhai
    /// let start = time();
    /// ```
    pub fn time() -> FLOAT {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0.0, |d| d.as_secs_f64())
    }

    /// The local time now, formatted like Python's `time.strftime`.
    ///
    /// ```rhai
    /// print(strftime("%Y-%m-%d %H:%M:%S"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn strftime(format: &str) -> Result<String, Box<EvalAltResult>> {
        Ok(format_time(format, chrono::Local::now())?)
    }

    /// Formats a `time()` value in local time.
    ///
    /// ```rhai
    /// print(strftime("%H:%M", time() - 3600.0));
    /// ```
    #[rhai_fn(name = "strftime", return_raw)]
    pub fn strftime_at(format: &str, secs: FLOAT) -> Result<String, Box<EvalAltResult>> {
        let nanos = (secs.fract() * 1e9) as u32;
        let utc = chrono::DateTime::from_timestamp(secs.floor() as i64, nanos)
            .ok_or_else(|| ScriptError::value(format!("time {secs} is out of range")))?;
        Ok(format_time(format, utc.with_timezone(&chrono::Local))?)
    }

    /// Reads a line typed by the user (or piped in), without its newline.
    ///
    /// ```rhai
    /// let name = input();
    /// ```
    #[rhai_fn(return_raw)]
    pub fn input() -> Result<String, Box<EvalAltResult>> {
        Ok(runtime::read_line()?)
    }

    /// Shows `prompt`, then reads a line.
    ///
    /// ```rhai
    /// let msg = input("A: >> ");
    /// ```
    #[rhai_fn(name = "input", return_raw)]
    pub fn input_prompt(prompt: &str) -> Result<String, Box<EvalAltResult>> {
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the read; the prompt is a courtesy.
        let _ = out.write_all(prompt.as_bytes()).and_then(|()| out.flush());
        drop(out);
        Ok(runtime::read_line()?)
    }

    /// Ends the script with exit status 0.
    ///
    /// ```rhai
    /// exit();
    /// ```
    #[rhai_fn(name = "exit", volatile, return_raw)]
    pub fn exit_ok() -> Result<(), Box<EvalAltResult>> {
        Err(exit_request(0))
    }

    /// Ends the script with exit status `code`, like Python's `sys.exit(code)`.
    ///
    /// ```rhai
    /// exit(2);
    /// ```
    #[rhai_fn(name = "exit", volatile, return_raw)]
    pub fn exit_code(code: INT) -> Result<(), Box<EvalAltResult>> {
        Err(exit_request(code))
    }

    /// Prints `message` on stderr and ends the script with status 1, like
    /// Python's `sys.exit("message")`.
    ///
    /// ```rhai
    /// exit("usage: repl tftp.rhai get HOST FILE");
    /// ```
    #[rhai_fn(name = "exit", volatile, return_raw)]
    pub fn exit_message(message: &str) -> Result<(), Box<EvalAltResult>> {
        eprintln!("{message}");
        Err(exit_request(1))
    }

    /// `trace(true)` prints every socket event of every task from now on
    /// (connect, accept, send and receive with sizes and first bytes,
    /// close, errors) with the time and the task; `trace(false)` stops.
    ///
    /// ```rhai
    /// trace(true);
    /// let s = socket("udp");
    /// s.sendto("ping", "127.0.0.1:9999");
    /// ```
    #[rhai_fn(name = "trace", return_raw)]
    pub fn trace_on(on: bool) -> Result<(), Box<EvalAltResult>> {
        let trace = if on {
            crate::engine::Trace::Lines
        } else {
            crate::engine::Trace::Off
        };
        set_trace(trace)
    }

    /// `trace("events.jsonl")` records socket events as JSON lines in a
    /// file, which `repl --diagram events.jsonl` draws as a sequence
    /// diagram.
    ///
    /// ```rhai
    /// trace("events.jsonl");
    /// ```
    #[rhai_fn(name = "trace", return_raw)]
    pub fn trace_to(file: &str) -> Result<(), Box<EvalAltResult>> {
        set_trace(crate::engine::Trace::File(file.into()))
    }

    /// This process's id (Python's `os.getpid()`).
    ///
    /// ```rhai
    /// print(pid());
    /// ```
    pub fn pid() -> INT {
        INT::from(std::process::id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_refuses_bad_directives() {
        assert!(format_time("%Q", chrono::Local::now()).is_err());
        assert_eq!(format_time("%%", chrono::Local::now()).ok().as_deref(), Some("%"));
    }
}
