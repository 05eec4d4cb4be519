//! Sockets and addresses, in Python's shape, on tokio.
//!
//! [`addr`] turns what students type into socket addresses; [`socket`]
//! holds the one socket type behind every `socket(...)` a script makes.
//! Nothing here knows about Rhai: the script bindings live in
//! [`crate::package`].

pub mod addr;
pub mod policy;
pub mod socket;

pub use addr::HostPort;
pub use socket::{Endpoint, Kind, Socket, Target};
