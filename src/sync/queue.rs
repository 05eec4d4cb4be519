//! `queue()` / `queue(maxsize)`: Python's `queue.Queue`, and across
//! processes `multiprocessing.Queue`.
//!
//! A bounded queue blocks producers when full and consumers when empty;
//! `maxsize` 0 (the default) means unbounded, as in Python. Items are
//! copies, except handles (sockets, locks, queues, tasks), which stay
//! shared. The Empty and Full errors start with `queue.Empty` and
//! `queue.Full` so `catch` blocks can tell them apart.
//!
//! The queue itself always lives in the process that created it. Passed
//! to a `process(...)`, it arrives there as a handle over a [`Backend`]
//! whose operations travel to the owner (the IPC layer, in
//! `process::ipc`, provides that backend and runs the same async
//! operations on the real queue), so this layer never depends on how.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::Dynamic;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::error::ScriptError;
use crate::runtime::{self, Deadline, context};

/// Queue ids are unique in the process (the IPC layer names queues by
/// them); they carry no state.
static NEXT_QUEUE: AtomicU64 = AtomicU64::new(1);

/// How long a `put`/`get` may wait.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Block {
    /// Fail at once (`put_nowait`, `get_nowait`, `block=false`).
    No,
    /// Wait for at most this many seconds.
    For(f64),
    /// Wait as long as it takes.
    Forever,
}

/// A queue handle; copies refer to the same queue.
#[derive(Clone)]
pub struct Queue {
    place: Place,
}

#[derive(Clone)]
enum Place {
    Local(Arc<Local>),
    Remote(Arc<dyn Backend>),
}

/// A queue owned by this process.
pub struct Local {
    id: u64,
    maxsize: usize,
    items: Mutex<VecDeque<Dynamic>>,
    not_empty: Notify,
    not_full: Notify,
}

fn empty() -> ScriptError {
    ScriptError::new("queue.Empty", "the queue is empty")
        .hint("check q.empty() first, or catch the error and try later")
}

fn full(maxsize: usize) -> ScriptError {
    ScriptError::new("queue.Full", format!("the queue is full ({maxsize} items)"))
        .hint("check q.full() first, or catch the error and try later")
}

impl Local {
    fn items(&self) -> std::sync::MutexGuard<'_, VecDeque<Dynamic>> {
        self.items.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// A number unique in this process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// How many items wait.
    pub fn qsize(&self) -> usize {
        self.items().len()
    }

    /// True when a bounded queue is full.
    pub fn is_full(&self) -> bool {
        self.maxsize > 0 && self.qsize() >= self.maxsize
    }

    fn try_put(&self, item: &mut Option<Dynamic>) -> bool {
        let mut items = self.items();
        if self.maxsize > 0 && items.len() >= self.maxsize {
            return false;
        }
        items.extend(item.take());
        drop(items);
        self.not_empty.notify_one();
        true
    }

    fn try_get(&self) -> Option<Dynamic> {
        let item = self.items().pop_front()?;
        self.not_full.notify_one();
        Some(item)
    }

    /// Puts back an item that was taken but never delivered (its getter
    /// went away), first in line and regardless of `maxsize`.
    pub fn put_back(&self, item: Dynamic) {
        self.items().push_front(item);
        self.not_empty.notify_one();
    }

    /// Adds `item`, waiting as `block` allows.
    pub async fn put(&self, item: Dynamic, block: Block) -> Result<(), ScriptError> {
        let mut item = Some(item);
        self.waiting(
            block,
            &self.not_full,
            || full(self.maxsize),
            || self.try_put(&mut item).then_some(()),
        )
        .await
    }

    /// Takes the oldest item, waiting as `block` allows.
    pub async fn get(&self, block: Block) -> Result<Dynamic, ScriptError> {
        self.waiting(block, &self.not_empty, empty, || self.try_get()).await
    }

    async fn waiting<T>(
        &self,
        block: Block,
        wake: &Notify,
        give_up: impl Fn() -> ScriptError,
        mut attempt: impl FnMut() -> Option<T>,
    ) -> Result<T, ScriptError> {
        if let Some(done) = attempt() {
            return Ok(done);
        }
        let deadline = match block {
            Block::No => return Err(give_up()),
            Block::For(secs) => Deadline::after_secs(secs)?,
            Block::Forever => Deadline::NEVER,
        };
        loop {
            let woken = wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(done) = attempt() {
                // This waiter may have taken a wake-up meant for another.
                wake.notify_one();
                return Ok(done);
            }
            if runtime::until(woken, deadline).await.is_err() {
                return attempt().ok_or_else(give_up);
            }
        }
    }
}

/// Where a queue's items really are: this process, or another one reached
/// through inter-process communication. The IPC layer implements this for
/// queues owned by another process; this layer knows nothing of it.
pub trait Backend: Send + Sync {
    /// Adds an item, waiting as `block` allows.
    fn put(&self, item: Dynamic, block: Block) -> Result<(), ScriptError>;
    /// Takes the oldest item, waiting as `block` allows.
    fn get(&self, block: Block) -> Result<Dynamic, ScriptError>;
    /// How many items wait.
    fn qsize(&self) -> Result<usize, ScriptError>;
    /// True when a bounded queue is full.
    fn is_full(&self) -> Result<bool, ScriptError>;
    /// How the queue prints, e.g. `<queue 3 of another process>`.
    fn describe(&self) -> String;
}

impl Queue {
    /// A new queue holding at most `maxsize` items (0: no limit).
    pub fn new(maxsize: usize) -> Queue {
        Queue {
            place: Place::Local(Arc::new(Local {
                id: NEXT_QUEUE.fetch_add(1, Ordering::Relaxed),
                maxsize,
                items: Mutex::new(VecDeque::new()),
                not_empty: Notify::new(),
                not_full: Notify::new(),
            })),
        }
    }

    /// A handle to a queue kept elsewhere.
    pub fn from_backend(backend: Arc<dyn Backend>) -> Queue {
        Queue {
            place: Place::Remote(backend),
        }
    }

    /// The queue itself, if this process owns it.
    pub fn local(&self) -> Option<&Arc<Local>> {
        match &self.place {
            Place::Local(local) => Some(local),
            Place::Remote(_) => None,
        }
    }

    fn what(&self, op: &str) -> String {
        match &self.place {
            Place::Local(local) => format!("{op} on queue {}", local.id),
            Place::Remote(backend) => format!("{op} on {}", backend.describe()),
        }
    }

    /// Adds an item, waiting as `block` allows.
    pub fn put(&self, item: Dynamic, block: Block) -> Result<(), ScriptError> {
        let item = item.flatten_clone();
        context::with_current(|task| {
            task.blocked(
                || self.what("put"),
                || match &self.place {
                    Place::Local(local) => runtime::wait(local.put(item, block), Deadline::NEVER)?,
                    Place::Remote(backend) => backend.put(item, block),
                },
            )
        })
    }

    /// Takes the oldest item, waiting as `block` allows.
    pub fn get(&self, block: Block) -> Result<Dynamic, ScriptError> {
        context::with_current(|task| {
            task.blocked(
                || self.what("get"),
                || match &self.place {
                    Place::Local(local) => runtime::wait(local.get(block), Deadline::NEVER)?,
                    Place::Remote(backend) => backend.get(block),
                },
            )
        })
    }

    /// How many items wait.
    pub fn qsize(&self) -> Result<usize, ScriptError> {
        match &self.place {
            Place::Local(local) => Ok(local.qsize()),
            Place::Remote(backend) => backend.qsize(),
        }
    }

    /// True when a bounded queue is full.
    pub fn is_full(&self) -> Result<bool, ScriptError> {
        match &self.place {
            Place::Local(local) => Ok(local.is_full()),
            Place::Remote(backend) => backend.is_full(),
        }
    }
}

/// A `Block` from a script's seconds (`ValueError` for negative or NaN).
pub fn block_for(secs: f64) -> Result<Block, ScriptError> {
    runtime::seconds(secs).map(|d: Duration| Block::For(d.as_secs_f64()))
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Place::Local(local) => {
                let size = local.qsize();
                match local.maxsize {
                    0 => write!(f, "<queue {} with {size} items>", local.id),
                    max => write!(f, "<queue {} with {size}/{max} items>", local.id),
                }
            }
            Place::Remote(backend) => f.write_str(&backend.describe()),
        }
    }
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
