//! The script API as one Rhai package (layer 7, above engine
//! configuration).
//!
//! [`SockPackage`] combines one plugin module per area (sockets, text,
//! binary data, files, time and I/O, tasks, processes), in the style of
//! rhai-fs: it registers functions, types and Python's constant names
//! (`AF_INET`, `SOCK_DGRAM`, `SOL_SOCKET`, ... as module variables, which
//! Rhai finds from inside functions too), plus the two forms that are
//! syntax rather than functions (`spawn`, a reserved word, and
//! `help(name)`). It installs no engine-wide hook: print, progress and
//! variable resolution belong to the `Session` that owns the engine (see
//! `engine`).
//!
//! ```
//! use rhai::Engine;
//! use rhai::packages::Package;
//! use sockrepl::SockPackage;
//!
//! let mut engine = Engine::new();
//! SockPackage::new().register_into_engine(&mut engine);
//! let kind: String = engine.eval(r#"socket(AF_INET, SOCK_DGRAM).kind"#).unwrap();
//! assert_eq!(kind, "udp");
//! ```

pub(crate) mod bytes;
pub(crate) mod docs;
pub(crate) mod files;
pub(crate) mod net;
pub(crate) mod processes;
pub(crate) mod show;
pub(crate) mod syntax;
pub(crate) mod system;
pub(crate) mod tasks;
pub(crate) mod text;

use rhai::def_package;
use rhai::plugin::*;
use rhai::{Dynamic, INT};

/// Python's socket constants, with Linux's values.
pub(crate) const CONSTANTS: &[(&str, i32)] = &[
    ("AF_INET", libc::AF_INET),
    ("AF_INET6", libc::AF_INET6),
    ("AF_UNIX", libc::AF_UNIX),
    ("SOCK_STREAM", libc::SOCK_STREAM),
    ("SOCK_DGRAM", libc::SOCK_DGRAM),
    ("SOL_SOCKET", libc::SOL_SOCKET),
    ("SO_REUSEADDR", libc::SO_REUSEADDR),
    ("SO_REUSEPORT", libc::SO_REUSEPORT),
    ("SO_BROADCAST", libc::SO_BROADCAST),
    ("SO_KEEPALIVE", libc::SO_KEEPALIVE),
    ("SO_RCVBUF", libc::SO_RCVBUF),
    ("SO_SNDBUF", libc::SO_SNDBUF),
    ("IPPROTO_TCP", libc::IPPROTO_TCP),
    ("TCP_NODELAY", libc::TCP_NODELAY),
    ("SHUT_RD", libc::SHUT_RD),
    ("SHUT_WR", libc::SHUT_WR),
    ("SHUT_RDWR", libc::SHUT_RDWR),
];

/// `help()` lists the functions; `help(name)` shows one's signatures, doc
/// and example. `name` is written bare, as in Python's `help(len)`.
/// Refuses to make a value of `bytes` bytes (for `what`) when the limits,
/// or the hard cap, say it is too big, before allocating: a failed
/// allocation would abort the process. CPython raises `MemoryError` too.
pub(crate) fn check_size(engine: &rhai::Engine, bytes: usize, what: &str) -> Result<(), crate::ScriptError> {
    use crate::ScriptError;
    let limit = engine.max_array_size();
    if limit > 0 && bytes > limit {
        return Err(ScriptError::new(
            "MemoryError",
            format!("{what} would make {bytes} bytes, more than --max-array-size allows ({limit})"),
        )
        .hint("raise --max-array-size if the script really needs more"));
    }
    if bytes > crate::engine::HARD_CAP {
        return Err(ScriptError::new(
            "MemoryError",
            format!(
                "{what} would make {bytes} bytes, more than one value may hold ({})",
                crate::engine::HARD_CAP
            ),
        )
        .hint("work in smaller pieces"));
    }
    Ok(())
}

/// `help` lists the functions, `help(name)` shows one's forms, doc and
/// example. `name` is written bare, as in Python's `help(len)`, and may be
/// a reserved word (`help(print)`, `help(spawn)`).
fn register_help(engine: &mut rhai::Engine) {
    engine.register_custom_syntax_with_state_raw(
        "help",
        |symbols, look_ahead, _state| {
            Ok(match (symbols.last().map_or("", |s| s.as_str()), look_ahead) {
                ("help", "(") => Some("(".into()),
                // Rhai reads `()` as one token, the unit value.
                ("help", "()") => Some("()".into()),
                ("help", _) | ("()", _) => None,
                ("(", ")") => Some(")".into()),
                ("(", _) => Some("$token$".into()),
                (")", _) => None,
                _ => Some(")".into()),
            })
        },
        true,
        |_ctx, inputs, _state| {
            let name = inputs
                .first()
                .and_then(|e| e.get_string_value())
                .map(|n| n.trim_matches(['"', '`']).to_string());
            let text = match name {
                Some(name) => docs::help_text(&name).unwrap_or_else(|| {
                    let close = docs::similar(&name);
                    if close.is_empty() {
                        format!("no function named {name}; help() lists them all")
                    } else {
                        format!("no function named {name}; did you mean {}?", close.join(", "))
                    }
                }),
                None => docs::overview(),
            };
            crate::runtime::context::with_current(|task| {
                task.session().service::<crate::engine::Output>().print(text.trim_end())
            });
            Ok(Dynamic::UNIT)
        },
    );
}

def_package! {
    /// The whole script API (sockets, pack/unpack, files, time and input,
    /// tasks, locks, queues, processes) for any Rhai engine built with the
    /// `sync` feature, in the shape of Python's modules.
    ///
    /// ```
    /// use rhai::{Engine, packages::Package};
    ///
    /// let mut engine = Engine::new();
    /// sockrepl::SockPackage::new().register_into_engine(&mut engine);
    /// let size: i64 = engine.eval(r#"calcsize("!HH")"#).unwrap();
    /// assert_eq!(size, 4);
    /// ```
    pub SockPackage(module) {
        combine_with_exported_module!(module, "net", net::socket_api);
        combine_with_exported_module!(module, "text", text::text_api);
        combine_with_exported_module!(module, "bytes", bytes::bytes_api);
        combine_with_exported_module!(module, "files", files::files_api);
        combine_with_exported_module!(module, "system", system::system_api);
        combine_with_exported_module!(module, "tasks", tasks::tasks_api);
        combine_with_exported_module!(module, "processes", processes::processes_api);
        // Rhai's own blob iterator yields u8, which cannot be compared with
        // number literals (`for b in data { if b < 16 ... }` fails); bytes
        // are numbers here, as in Python.
        module.set_iter(std::any::TypeId::of::<rhai::Blob>(), |blob| {
            let bytes = blob.cast::<rhai::Blob>();
            Box::new(bytes.into_iter().map(|b| Dynamic::from_int(INT::from(b))))
        });
        for (name, value) in CONSTANTS {
            module.set_var(*name, INT::from(*value));
        }
    } |> |engine| {
        tasks::register_spawn(engine);
        processes::register_process(engine);
        bytes::register_pack(engine);
        register_help(engine);
    }
}

/// The function reference of the book (`book/src/reference.md`), generated
/// from the package's own function metadata, so that it cannot drift.
///
/// ```
/// let page = sockrepl::reference_markdown();
/// assert!(page.contains("## recvfrom"));
/// ```
pub fn reference_markdown() -> String {
    docs::reference_markdown()
}
