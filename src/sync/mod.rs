//! Synchronisation between tasks: locks, queues, shared values and
//! task-local storage, each a cheap handle over shared state so that a
//! task's copy of it still refers to the same object.

pub mod local;
pub mod lock;
pub mod queue;
pub mod value;

pub use local::Local;
pub use lock::Lock;
pub use queue::{Block, Queue};
pub use value::Value;
