//! `value(x)`: a shared mutable cell, like `multiprocessing.Value`.
//!
//! Tasks get copies of ordinary variables, so two tasks incrementing a
//! plain `num` never touch the same number. A `value` is a handle: every
//! copy reads and writes one cell. Reading and writing are separate steps,
//! exactly like Python's `num += 1` on a global, so two tasks doing
//! `n.value += 1` lose updates unless they hold a `lock()` around it —
//! which is the lesson.

use std::fmt;
use std::sync::{Arc, Mutex};

use rhai::Dynamic;

/// A shared cell; copies refer to the same cell.
#[derive(Clone)]
pub struct Value {
    cell: Arc<Mutex<Dynamic>>,
}

impl Value {
    /// A new cell holding a copy of `initial`.
    pub fn new(initial: Dynamic) -> Value {
        Value {
            cell: Arc::new(Mutex::new(initial.flatten_clone())),
        }
    }

    fn cell(&self) -> std::sync::MutexGuard<'_, Dynamic> {
        self.cell.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// The current value.
    pub fn get(&self) -> Dynamic {
        self.cell().clone()
    }

    /// Replaces the value.
    pub fn set(&self, value: Dynamic) {
        *self.cell() = value.flatten_clone();
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value({})", self.get())
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
