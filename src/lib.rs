#![warn(missing_docs)]
//! sockrepl: socket programming in Rhai, the way Python teaches it.
//!
//! Scripts are Rhai; sockets, tasks, locks and queues are native Rust on
//! tokio. What an embedder uses:
//!
//! * [`Session`]: runs scripts; owns everything a running script owns
//!   (engine, limits, address policy, tasks, processes, queue broker,
//!   sockets), so two sessions in one process are independent;
//! * [`SockPackage`]: the script API as a Rhai package, for an engine of
//!   your own (functions and types only; see [`Session`] for the hooks);
//! * [`Repl`]: the interactive shell, with your own functions added;
//! * [`Limits`], and an address policy ([`Action`], [`Endpoint`]) through
//!   [`SessionBuilder::address_policy`];
//! * [`run_child_if_requested`]: the entry point of child processes, first
//!   thing in `main` of a program whose scripts call `process()`.
//!
//! # Layers
//!
//! Each module depends only on those listed before it (a test reads the
//! `use crate::` lines and fails on a cycle):
//!
//! 1. `runtime`: the reactor, waits, cancellation, who is running;
//! 2. `net`, `bytes`: sockets and addresses; struct packing;
//! 3. `sync`: locks, queues, shared values, task-local storage;
//! 4. `tasks`: spawned Rhai functions;
//! 5. `process`: child processes, pools, inter-process queues;
//! 6. `engine`: limits and the engine-wide hooks;
//! 7. `package`: the Rhai API;
//! 8. `session`: running scripts, diagnostics, the child side;
//! 9. `repl`: the shell; and the `repl` binary on top.
//!
//! `error` (Python-style errors) is used by all of them.

pub(crate) mod bytes;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod net;
pub(crate) mod package;
pub(crate) mod process;
pub(crate) mod repl;
pub(crate) mod runtime;
pub(crate) mod session;
pub(crate) mod sync;
pub(crate) mod tasks;

pub use engine::{DEFAULT_CALL_DEPTH, Limits};
pub use error::ScriptError;
pub use net::Endpoint;
pub use net::policy::Action;
pub use package::{SockPackage, reference_markdown};
pub use repl::{Repl, ReplBuilder};
pub use runtime::signal::on_interrupt;
pub use session::child::{run_child_if_requested, run_child_if_requested_with};
pub use session::diagram::trace_diagram;
pub use session::{Entered, Outcome, Session, SessionBuilder, StartError};

/// Internals the fuzz targets drive directly (built with `--cfg fuzzing`
/// by cargo fuzz only; not part of the API).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::bytes::pack::Format;
    pub use crate::net::addr::{HostPort, IpFamily, parse as parse_address, resolve};
    pub use crate::process::ipc::protocol::{Hello, Request, parse as parse_frame};
    pub use crate::process::ipc::wire::{Decoder, Wire};
    pub use crate::repl::commands::parse as parse_command;
    pub use crate::repl::helper::{ReplHelper, is_incomplete};
}
