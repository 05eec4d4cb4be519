//! `local()`: task-local storage, like Python's `threading.local()`.
//!
//! One handle, shared by every task, holds a separate set of attributes
//! per task: `data.student = name` in one task is invisible to the others.
//! A task's attributes are dropped when the handle is next written after
//! the task has ended.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Map};

use crate::error::ScriptError;
use crate::runtime::context;

/// A task-local namespace; copies refer to the same namespace.
#[derive(Clone, Default)]
pub struct Local {
    per_task: Arc<Mutex<HashMap<u64, Map>>>,
}

impl Local {
    /// Empty storage.
    pub fn new() -> Local {
        Local::default()
    }

    fn per_task(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Map>> {
        self.per_task.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// This task's attribute `name`.
    pub fn get(&self, name: &str) -> Result<Dynamic, ScriptError> {
        let me = context::current();
        self.per_task()
            .get(&me.id())
            .and_then(|attrs| attrs.get(name).cloned())
            .ok_or_else(|| {
                ScriptError::new(
                    "AttributeError",
                    format!("'local' object has no attribute '{name}' in {}", me.name()),
                )
                .hint("each task sees only the attributes it set itself; set it in this task first")
            })
    }

    /// Sets this task's attribute `name`.
    pub fn set(&self, name: &str, value: Dynamic) {
        let me = context::current();
        let mut per_task = self.per_task();
        if per_task.len() > 16 {
            let alive: std::collections::HashSet<u64> = me.session().tasks().iter().map(|t| t.id()).collect();
            per_task.retain(|id, _| alive.contains(id) || *id == me.id());
        }
        per_task
            .entry(me.id())
            .or_default()
            .insert(name.into(), value.flatten_clone());
    }
}

impl fmt::Display for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<local for {} tasks>", self.per_task().len())
    }
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
