//! Synchronisation between tasks (layer 3, above `runtime`, `net` and
//! `bytes`): locks, queues, shared values and task-local storage, each a
//! cheap handle over shared state so that a task's copy of it still refers
//! to the same object. Locks keep their session's wait graph for deadlock
//! detection and register with the task's abandon hook; queues reach other
//! processes only through a [`queue::Backend`] that a higher layer supplies.

pub mod local;
pub mod lock;
pub mod queue;
pub mod value;

pub use local::Local;
pub use lock::Lock;
pub use queue::{Block, Queue};
pub use value::Value;
