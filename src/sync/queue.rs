//! `queue()` / `queue(maxsize)`: Python's `queue.Queue`.
//!
//! A bounded queue blocks producers when full and consumers when empty;
//! `maxsize` 0 (the default) means unbounded, as in Python. Items are
//! copies, except handles (sockets, locks, queues, tasks), which stay
//! shared. The Empty and Full errors start with `queue.Empty` and
//! `queue.Full` so `catch` blocks can tell them apart.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::Dynamic;
use tokio::sync::Notify;

use crate::error::ScriptError;
use crate::runtime::{self, task};

static NEXT_QUEUE: AtomicU64 = AtomicU64::new(1);

/// A queue handle; copies refer to the same queue.
#[derive(Clone)]
pub struct Queue {
    shared: Arc<QueueShared>,
}

struct QueueShared {
    id: u64,
    maxsize: usize,
    items: Mutex<VecDeque<Dynamic>>,
    not_empty: Notify,
    not_full: Notify,
}

/// How long a `put`/`get` may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// Fail at once (`put_nowait`, `get_nowait`, `block=false`).
    No,
    /// Wait for at most this long.
    For(Duration),
    /// Wait as long as it takes.
    Forever,
}

fn empty() -> ScriptError {
    ScriptError::new("queue.Empty", "the queue is empty")
        .hint("check q.empty() first, or catch the error and try later")
}

fn full(maxsize: usize) -> ScriptError {
    ScriptError::new("queue.Full", format!("the queue is full ({maxsize} items)"))
        .hint("check q.full() first, or catch the error and try later")
}

impl Queue {
    /// A new queue holding at most `maxsize` items (0: no limit).
    pub fn new(maxsize: usize) -> Queue {
        Queue {
            shared: Arc::new(QueueShared {
                id: NEXT_QUEUE.fetch_add(1, Ordering::Relaxed),
                maxsize,
                items: Mutex::new(VecDeque::new()),
                not_empty: Notify::new(),
                not_full: Notify::new(),
            }),
        }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, VecDeque<Dynamic>> {
        self.shared.items.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    pub fn qsize(&self) -> usize {
        self.items().len()
    }

    pub fn maxsize(&self) -> usize {
        self.shared.maxsize
    }

    pub fn is_full(&self) -> bool {
        self.shared.maxsize > 0 && self.qsize() >= self.shared.maxsize
    }

    pub fn put(&self, item: Dynamic, block: Block) -> Result<(), ScriptError> {
        let mut item = Some(item.flatten_clone());
        let what = format!("put on queue {}", self.shared.id);
        self.waiting(
            block,
            &what,
            &self.shared.not_full,
            || full(self.shared.maxsize),
            || {
                let mut items = self.items();
                if self.shared.maxsize > 0 && items.len() >= self.shared.maxsize {
                    return None;
                }
                items.extend(item.take());
                drop(items);
                self.shared.not_empty.notify_one();
                Some(())
            },
        )
    }

    pub fn get(&self, block: Block) -> Result<Dynamic, ScriptError> {
        let what = format!("get on queue {}", self.shared.id);
        self.waiting(block, &what, &self.shared.not_empty, empty, || {
            let item = self.items().pop_front()?;
            self.shared.not_full.notify_one();
            Some(item)
        })
    }

    /// Tries `attempt` until it succeeds, waiting for `wake` in between,
    /// within `block`'s limit.
    fn waiting<T>(
        &self,
        block: Block,
        what: &str,
        wake: &Notify,
        give_up: impl Fn() -> ScriptError,
        mut attempt: impl FnMut() -> Option<T>,
    ) -> Result<T, ScriptError> {
        if let Some(done) = attempt() {
            return Ok(done);
        }
        let deadline = match block {
            Block::No => return Err(give_up()),
            Block::For(limit) => Some(Instant::now() + limit),
            Block::Forever => None,
        };
        task::with_blocked_on(what, || {
            loop {
                let woken = wake.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                if let Some(done) = attempt() {
                    // Pass on a wake-up this waiter may have taken from another.
                    wake.notify_one();
                    return Ok(done);
                }
                let left = match deadline {
                    Some(deadline) => Some(deadline.checked_duration_since(Instant::now()).ok_or_else(&give_up)?),
                    None => None,
                };
                match runtime::wait(woken, left) {
                    Ok(()) => {}
                    Err(err) if err.class == "TimeoutError" => return attempt().ok_or_else(&give_up),
                    Err(err) => return Err(err),
                }
            }
        })
    }
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = self.qsize();
        match self.shared.maxsize {
            0 => write!(f, "<queue {} with {size} items>", self.shared.id),
            max => write!(f, "<queue {} with {size}/{max} items>", self.shared.id),
        }
    }
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
