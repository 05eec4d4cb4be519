#![warn(missing_docs)]
//! sockrepl: socket programming in Rhai, the way Python teaches it.
//!
//! Scripts are Rhai; sockets and timers are native Rust on tokio. The crate
//! is laid out by layer:
//!
//! * [`runtime`]: the tokio runtime, the bridge that lets synchronous
//!   script threads wait on it, cancellation, standard input;
//! * [`net`]: sockets and address parsing, with no Rhai in sight;
//! * [`package`]: the Rhai package ([`SockPackage`]) that registers the
//!   script API into any engine built with rhai's `sync` feature;
//! * [`script`]: running a file or a snippet and reporting errors with the
//!   source line, as the `repl` binary does;
//! * [`repl`]: the interactive shell, which other programs can extend;
//! * [`sync`], [`process`], [`bytes`]: locks and queues, processes and
//!   pools, struct-style packing;
//! * [`error`]: Python-style errors with hints.

pub mod bytes;
pub mod error;
pub mod net;
pub mod package;
pub mod process;
pub mod repl;
pub mod runtime;
pub mod script;
pub mod sync;

pub use error::ScriptError;
pub use package::SockPackage;
