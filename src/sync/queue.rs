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
//! to a `process(...)`, it arrives there as a [`Remote`] handle whose
//! operations travel to the owner's broker (see [`crate::process::broker`]),
//! which runs the same async operations on the real queue.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::Dynamic;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::error::ScriptError;
use crate::runtime::{self, task};

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
    Remote(Arc<Remote>),
}

/// A queue owned by this process.
pub struct Local {
    id: u64,
    maxsize: usize,
    items: Mutex<VecDeque<Dynamic>>,
    not_empty: Notify,
    not_full: Notify,
}

/// A queue owned by another process, reached through its broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    /// The owner's broker address (an abstract Unix socket name).
    pub broker: String,
    /// The queue's id in its owner.
    pub id: u64,
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
            Block::For(secs) => Some(tokio::time::Instant::now() + runtime::seconds(secs)?),
            Block::Forever => None,
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
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, woken).await.is_err() {
                        return attempt().ok_or_else(give_up);
                    }
                }
                None => woken.await,
            }
        }
    }
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

    /// A handle to a queue this process owns.
    pub fn from_local(local: Arc<Local>) -> Queue {
        Queue {
            place: Place::Local(local),
        }
    }

    /// A handle to a queue that another process owns.
    pub fn remote(remote: Remote) -> Queue {
        Queue {
            place: Place::Remote(Arc::new(remote)),
        }
    }

    /// The queue itself, if this process owns it.
    pub fn local(&self) -> Option<&Arc<Local>> {
        match &self.place {
            Place::Local(local) => Some(local),
            Place::Remote(_) => None,
        }
    }

    /// The remote address, if another process owns it.
    pub fn as_remote(&self) -> Option<&Remote> {
        match &self.place {
            Place::Local(_) => None,
            Place::Remote(remote) => Some(remote),
        }
    }

    fn what(&self, op: &str) -> String {
        match &self.place {
            Place::Local(local) => format!("{op} on queue {}", local.id),
            Place::Remote(remote) => format!("{op} on queue {} of another process", remote.id),
        }
    }

    /// Adds an item, waiting as `block` allows.
    pub fn put(&self, item: Dynamic, block: Block) -> Result<(), ScriptError> {
        let item = item.flatten_clone();
        task::with_blocked_on(&self.what("put"), || match &self.place {
            Place::Local(local) => runtime::wait(local.put(item, block), None)?,
            Place::Remote(remote) => crate::process::broker::call(remote, "put", Some(item), block).map(drop),
        })
    }

    /// Takes the oldest item, waiting as `block` allows.
    pub fn get(&self, block: Block) -> Result<Dynamic, ScriptError> {
        task::with_blocked_on(&self.what("get"), || match &self.place {
            Place::Local(local) => runtime::wait(local.get(block), None)?,
            Place::Remote(remote) => crate::process::broker::call(remote, "get", None, block),
        })
    }

    /// How many items wait.
    pub fn qsize(&self) -> Result<usize, ScriptError> {
        match &self.place {
            Place::Local(local) => Ok(local.qsize()),
            Place::Remote(remote) => {
                let size = crate::process::broker::call(remote, "qsize", None, Block::No)?;
                Ok(usize::try_from(size.as_int().unwrap_or(0)).unwrap_or(0))
            }
        }
    }

    /// True when a bounded queue is full.
    pub fn is_full(&self) -> Result<bool, ScriptError> {
        match &self.place {
            Place::Local(local) => Ok(local.is_full()),
            Place::Remote(remote) => Ok(crate::process::broker::call(remote, "full", None, Block::No)?
                .as_bool()
                .unwrap_or(false)),
        }
    }
}

/// A `Block` from a script's seconds.
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
            Place::Remote(remote) => write!(f, "<queue {} of another process>", remote.id),
        }
    }
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
