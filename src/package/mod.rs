//! The script API as one Rhai package.
//!
//! [`SockPackage`] combines one plugin module per area (sockets, text,
//! time and I/O). Registering it into an engine also installs what a
//! package alone cannot carry:
//!
//! * Python's constant names (`AF_INET`, `SOCK_DGRAM`, `SOL_SOCKET`, ...)
//!   as read-only variables, visible inside functions too;
//! * a progress callback that stops the script once its thread's
//!   cancellation token fires, so Ctrl-C ends even a busy loop.
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

pub mod bytes;
pub mod docs;
pub mod files;
pub mod net;
pub mod processes;
pub mod system;
pub mod tasks;
pub mod text;

use rhai::def_package;
use rhai::plugin::*;
use rhai::{Dynamic, INT};

/// Python's socket constants, with Linux's values.
pub const CONSTANTS: &[(&str, i32)] = &[
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

fn constant(name: &str) -> Option<Dynamic> {
    // Every constant is upper case; most variable names are not, so this
    // check keeps ordinary variable reads cheap.
    if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    CONSTANTS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, value)| Dynamic::from_int(INT::from(*value)))
}

/// `help()` lists the functions; `help(name)` shows one's signatures, doc
/// and example. `name` is written bare, as in Python's `help(len)`.
fn register_help(engine: &mut rhai::Engine) {
    engine.register_custom_syntax_with_state_raw(
        "help",
        |symbols, look_ahead, _state| {
            Ok(match (symbols.last().map_or("", |s| s.as_str()), look_ahead) {
                ("help", _) => Some("(".into()),
                ("(", ")") => Some(")".into()),
                ("(", _) => Some("$ident$".into()),
                (")", _) => None,
                _ => Some(")".into()),
            })
        },
        false,
        |_ctx, inputs, _state| {
            let text = match inputs.first().and_then(|e| e.get_string_value()) {
                Some(name) => docs::help_text(name).unwrap_or_else(|| {
                    let close = docs::similar(name);
                    if close.is_empty() {
                        format!("no function named {name}; help() lists them all")
                    } else {
                        format!("no function named {name}; did you mean {}?", close.join(", "))
                    }
                }),
                None => {
                    let names: Vec<&str> = docs::functions().keys().map(String::as_str).collect();
                    format!("Functions (help(name) for one):\n{}", names.join(" "))
                }
            };
            println!("{}", text.trim_end());
            Ok(Dynamic::UNIT)
        },
    );
}

def_package! {
    /// Sockets, addresses, text encoding, time and input for Rhai, in the
    /// shape of Python's `socket` and `time` modules.
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
    } |> |engine| {
        tasks::register_spawn(engine);
        register_help(engine);
        #[allow(deprecated)] // on_var is marked volatile, not deprecated.
        engine.on_var(|name, _, context| {
            let Some(value) = constant(name) else {
                return Ok(None);
            };
            // A script's own variable of the same name wins.
            if context.scope().contains(name) {
                return Ok(None);
            }
            Ok(Some(value))
        });
        // Rhai's default printer panics when stdout is a closed pipe
        // (`repl x.rhai | head`); output that cannot be written is dropped.
        engine.on_print(|text| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        });
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
            (operations % 256 == 0 && crate::runtime::is_cancelled()).then(|| Dynamic::from("KeyboardInterrupt"))
        });
    }
}
