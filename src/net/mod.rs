//! Sockets and addresses, in Python's shape (layer 2, above `runtime`).
//!
//! [`addr`] turns what students type into socket addresses; [`socket`]
//! holds the one socket type behind every `socket(...)` a script makes and
//! the per-session [`Net`] (open sockets, address policy); [`policy`] lets
//! an embedder restrict addresses; [`trace`] records what sockets do. Nothing here knows about Rhai: the
//! script bindings live in `package`.

pub(crate) mod addr;
pub mod policy;
pub(crate) mod socket;
pub(crate) mod trace;

pub use socket::Endpoint;
pub(crate) use socket::{Kind, Net, Socket, Target};
