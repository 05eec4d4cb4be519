//! Script-facing errors, and the way values are named in them (script type
//! names, bytes as `b"..."`); used by every layer, it depends on none.
//!
//! Every failure a script can meet becomes a Rhai runtime error whose value
//! is a string shaped like Python's exception text (`ConnectionRefusedError:
//! [Errno 111] Connection refused ...`), so students recognise it and scripts
//! can tell errors apart with `e.starts_with("TimeoutError")` inside
//! `try`/`catch`. A hint, when one helps, follows on its own line starting
//! with `hint: `; the command-line runner moves it below the source caret.
//!
//! The position is left empty on purpose: Rhai fills in the position of the
//! native call that failed, which is the line the student wrote.

use std::fmt;
use std::io;

use rhai::{EvalAltResult, Position};

/// A failure with a Python exception class, a message and an optional
/// hint: what a native function of yours returns so that scripts see an
/// error like the package's own.
///
/// ```
/// let err = sockrepl::ScriptError::value("port must be positive").hint("try 9999");
/// assert_eq!(err.to_string(), "ValueError: port must be positive\nhint: try 9999");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// Python's exception class name, e.g. `ConnectionResetError`.
    pub class: &'static str,
    /// What went wrong, in Python's words where Python has them.
    pub message: String,
    /// What to try next, when there is something useful to say.
    pub hint: Option<String>,
}

impl ScriptError {
    /// An error of `class` with `message` and no hint.
    pub fn new(class: &'static str, message: impl Into<String>) -> Self {
        ScriptError {
            class,
            message: message.into(),
            hint: None,
        }
    }

    /// A `ValueError`: the script passed something unusable.
    pub fn value(message: impl Into<String>) -> Self {
        Self::new("ValueError", message)
    }

    /// A `TypeError`: the script passed the wrong kind of value.
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new("TypeError", message)
    }

    /// The error every blocking call reports when it is cancelled.
    pub fn interrupted() -> Self {
        Self::new("KeyboardInterrupt", "interrupted")
    }

    /// Python's `socket.timeout` text.
    pub fn timed_out() -> Self {
        Self::new("TimeoutError", "timed out")
    }

    /// Adds or replaces the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Wraps an OS error, naming what was being done (`"connect to
    /// 127.0.0.1:9"`) and adding the hint the errno usually deserves.
    pub fn os(err: &io::Error, doing: &str) -> Self {
        let errno = err.raw_os_error();
        let class = errno.map_or("OSError", class_for_errno);
        let text = match errno {
            Some(n) => format!("[Errno {n}] {}", strerror(err)),
            None => err.to_string(),
        };
        let message = if doing.is_empty() {
            text
        } else {
            format!("{text} ({doing})")
        };
        ScriptError {
            class,
            message,
            hint: errno.and_then(hint_for_errno).map(str::to_string),
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScriptError {}

impl From<ScriptError> for Box<EvalAltResult> {
    fn from(err: ScriptError) -> Self {
        EvalAltResult::ErrorRuntime(err.to_string().into(), Position::NONE).into()
    }
}

/// The script name of a type Rhai names (`i64`, `&str | ImmutableString |
/// String`, `sockrepl::net::socket::Socket`, ...).
pub fn script_type(rust: &str) -> &str {
    match rust {
        "i64" | "i32" | "u8" | "INT" => "int",
        "f64" | "f32" | "FLOAT" => "float",
        "bool" => "bool",
        "char" => "char",
        "()" => "()",
        "string" | "&str" | "String" | "ImmutableString" | "&str | ImmutableString | String" => "string",
        "blob" | "Blob" | "Vec<u8>" => "blob",
        "array" | "Array" | "Vec<Dynamic>" => "array",
        "map" | "Map" => "map",
        "Fn" | "FnPtr" => "function",
        "Dynamic" => "any value",
        other => {
            let last = other.rsplit("::").next().unwrap_or(other);
            match last {
                "Socket" => "socket",
                "Task" => "task",
                "Lock" => "lock",
                "Queue" => "queue",
                "Value" => "value",
                "Local" => "local",
                "Process" => "process",
                "Pool" => "pool",
                "AsyncResult" => "pool result",
                "Received" => "recvfrom result",
                "File" => "file",
                _ => other,
            }
        }
    }
}

/// Bytes as Python prints them: `b"hi\x00\n"`.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push_str("b\"");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Shorthand for native functions.
pub type Result<T> = std::result::Result<T, ScriptError>;

/// `std::io::Error`'s text without the " (os error N)" suffix, since the
/// errno is already shown Python-style.
fn strerror(err: &io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn class_for_errno(errno: i32) -> &'static str {
    match errno {
        libc::ECONNREFUSED => "ConnectionRefusedError",
        libc::ECONNRESET => "ConnectionResetError",
        libc::ECONNABORTED => "ConnectionAbortedError",
        libc::EPIPE | libc::ESHUTDOWN => "BrokenPipeError",
        libc::ETIMEDOUT => "TimeoutError",
        libc::EAGAIN | libc::EINPROGRESS | libc::EALREADY => "BlockingIOError",
        libc::EACCES | libc::EPERM => "PermissionError",
        libc::ENOENT => "FileNotFoundError",
        libc::EEXIST => "FileExistsError",
        libc::EINTR => "InterruptedError",
        _ => "OSError",
    }
}

fn hint_for_errno(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EADDRINUSE => {
            "another socket already has this address (or a server that just stopped left it in TIME_WAIT); \
             call s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind, or choose another port"
        }
        libc::ECONNREFUSED => "nothing is listening there: is the server running, and on this host and port?",
        libc::ECONNRESET => "the peer closed the connection abruptly; catch this error to keep serving other clients",
        libc::EPIPE => "the peer has closed the connection; stop sending or reconnect",
        libc::ENOTCONN => {
            "this socket is not connected: call connect() first, or on a server use the socket that accept() returns"
        }
        libc::EADDRNOTAVAIL => "this machine has no such address; bind to \"127.0.0.1\", \"0.0.0.0\" or \"\" instead",
        libc::EACCES => "ports below 1024 need root, and broadcast needs s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)",
        libc::EISCONN => "this socket is already connected; make a new socket for another connection",
        libc::EINVAL => "the socket is not in the right state for this call (already bound? closed?)",
        libc::EHOSTUNREACH | libc::ENETUNREACH => "no route to that host; check the address",
        libc::EAGAIN => "the socket is non-blocking and nothing is ready; try again later or settimeout(())",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_read_like_python_with_a_hint() {
        let err = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        let text = ScriptError::os(&err, "connect to 127.0.0.1:9").to_string();
        assert_eq!(
            text.lines().next(),
            Some("ConnectionRefusedError: [Errno 111] Connection refused (connect to 127.0.0.1:9)")
        );
        assert!(text.contains("\nhint: nothing is listening"), "{text}");
    }

    #[test]
    fn errors_without_errno_keep_their_text() {
        let err = io::Error::other("custom");
        assert_eq!(ScriptError::os(&err, "").to_string(), "OSError: custom");
    }
}
