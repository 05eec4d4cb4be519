//! `pool(n)`: a fixed set of worker processes, like Python's
//! `multiprocessing.Pool`.
//!
//! The workers are long-lived children that take jobs from a queue owned
//! here (through the broker) and put `[id, result, error]` back on another;
//! a small collector on the runtime files results by id so that each
//! `apply_async` handle can wait for its own. `close()` queues one stop
//! marker per worker behind the jobs, so `join()` returns once all queued
//! work is done, as in Python.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::{Array, Dynamic, FnPtr};
use tokio::sync::Notify;

use super::ipc::Broker;
use super::ipc::wire::Encoder;
use super::{Process, Work, launch};
use crate::error::ScriptError;
use crate::runtime::context::{self, guard};
use crate::runtime::{self, Deadline};
use crate::sync::{Block, Queue};

/// A pool handle; copies refer to the same pool.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<PoolShared>,
}

struct PoolShared {
    /// Shares the queues a job's arguments name with the workers.
    broker: Arc<Broker>,
    jobs: Queue,
    results: Queue,
    workers: Vec<Process>,
    next_id: AtomicU64,
    closed: AtomicBool,
    /// Results that arrived and are still wanted.
    done: Mutex<HashMap<u64, Finished>>,
    /// Jobs whose result some handle may still get.
    wanted: Mutex<HashSet<u64>>,
    arrived: Notify,
}

#[derive(Clone)]
enum Finished {
    Returned(Dynamic),
    Failed(String),
}

/// The handle `apply_async` returns; copies refer to the same result.
#[derive(Clone)]
pub struct AsyncResult {
    inner: Arc<ResultInner>,
}

struct ResultInner {
    pool: Arc<PoolShared>,
    id: u64,
    /// The result once got (`get` may be called again, as in Python).
    got: Mutex<Option<Finished>>,
}

impl Drop for ResultInner {
    fn drop(&mut self) {
        guard(&self.pool.wanted).remove(&self.id);
        guard(&self.pool.done).remove(&self.id);
    }
}

impl Pool {
    /// Starts `size` worker processes; if one cannot start, stops those
    /// that did.
    pub fn new(size: usize) -> Result<Pool, ScriptError> {
        if size == 0 {
            return Err(ScriptError::value("a pool needs at least one process").hint("pool() uses one per CPU core"));
        }
        let session = context::with_current(|task| task.session().clone());
        let broker = Broker::of(&session);
        let jobs = Queue::new(0);
        let results = Queue::new(0);
        let mut workers: Vec<Process> = Vec::with_capacity(size);
        for _ in 0..size {
            let started = (|| {
                let mut fds = Vec::new();
                let mut encoder = Encoder::for_child(&broker, &mut fds);
                let work = Work::PoolWorker {
                    jobs: encoder.encode(&Dynamic::from(jobs.clone()))?,
                    results: encoder.encode(&Dynamic::from(results.clone()))?,
                };
                launch(&session, work, fds, Some(broker.clone()))
            })();
            match started {
                Ok(worker) => {
                    worker.set_daemon(true);
                    workers.push(worker);
                }
                Err(err) => {
                    for worker in &workers {
                        worker.terminate();
                    }
                    return Err(err);
                }
            }
        }
        let shared = Arc::new(PoolShared {
            broker,
            jobs,
            results,
            workers,
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            done: Mutex::new(HashMap::new()),
            wanted: Mutex::new(HashSet::new()),
            arrived: Notify::new(),
        });
        let Some(results) = shared.results.local().cloned() else {
            return Err(ScriptError::new("OSError", "pool results queue is not local"));
        };
        // The collector holds the pool weakly: once the script drops every
        // handle, the pool (and this task) can go.
        let collector = Arc::downgrade(&shared);
        runtime::handle().spawn(async move {
            while let Ok(item) = results.get(Block::Forever).await {
                let Some(reply) = item.try_cast::<Array>() else { break };
                let Some(pool) = collector.upgrade() else { break };
                let [id, value, error] = <[Dynamic; 3]>::try_from(reply).unwrap_or_default();
                let id = u64::try_from(id.as_int().unwrap_or(0)).unwrap_or(0);
                if !guard(&pool.wanted).contains(&id) {
                    continue;
                }
                let finished = match error.into_string() {
                    Ok(text) => Finished::Failed(text),
                    Err(_) => Finished::Returned(value),
                };
                guard(&pool.done).insert(id, finished);
                pool.arrived.notify_waiters();
            }
        });
        Ok(Pool { shared })
    }

    /// How many worker processes.
    pub fn size(&self) -> usize {
        self.shared.workers.len()
    }

    /// The worker processes' ids.
    pub fn pids(&self) -> Vec<u32> {
        self.shared.workers.iter().map(Process::pid).collect()
    }

    /// Queues `func(args...)` for a worker; returns a handle to its result.
    pub fn apply_async(&self, func: &FnPtr, args: Array) -> Result<AsyncResult, ScriptError> {
        if self.shared.closed.load(Ordering::Relaxed) {
            return Err(ScriptError::value("Pool not running").hint("apply_async must come before close()"));
        }
        // Encoded here, so an argument that cannot travel is an error at
        // this call; queues are shared with the workers through the broker
        // (Python needs a Manager().Queue() for that).
        let mut encoder = Encoder::for_pool_job(&self.shared.broker);
        let mut encode = |values: &[Dynamic]| -> Result<String, ScriptError> {
            let wires = values
                .iter()
                .map(|v| encoder.encode(v))
                .collect::<Result<Vec<_>, _>>()?;
            serde_json::to_string(&wires)
                .map_err(|e| ScriptError::new("OSError", format!("cannot encode a pool job: {e}")))
        };
        let curry = encode(func.curry())?;
        let args = encode(&args)?;
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        guard(&self.shared.wanted).insert(id);
        let job: Array = vec![
            Dynamic::from_int(i64::try_from(id).unwrap_or(i64::MAX)),
            func.fn_name().into(),
            curry.into(),
            args.into(),
        ];
        let handle = AsyncResult {
            inner: Arc::new(ResultInner {
                pool: self.shared.clone(),
                id,
                got: Mutex::new(None),
            }),
        };
        self.shared.jobs.put(job.into(), Block::Forever)?;
        Ok(handle)
    }

    /// Runs `func` on every item, in parallel, and returns the results in
    /// order.
    pub fn map(&self, func: &FnPtr, items: Array) -> Result<Array, ScriptError> {
        let handles = items
            .into_iter()
            .map(|item| self.apply_async(func, vec![item]))
            .collect::<Result<Vec<_>, _>>()?;
        handles.iter().map(|h| h.get(None)).collect()
    }

    /// No more jobs: each worker exits after the work already queued.
    pub fn close(&self) -> Result<(), ScriptError> {
        if self.shared.closed.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        for _ in &self.shared.workers {
            self.shared.jobs.put(Dynamic::UNIT, Block::Forever)?;
        }
        Ok(())
    }

    /// Waits for every worker to exit; call `close()` first.
    pub fn join(&self) -> Result<(), ScriptError> {
        if !self.shared.closed.load(Ordering::Relaxed) {
            return Err(ScriptError::value("Pool is still running").hint("call close() (or terminate()) before join()"));
        }
        for worker in &self.shared.workers {
            worker.join(None)?;
        }
        // Stop the collector once nothing more can arrive.
        self.shared.results.put(Dynamic::UNIT, Block::Forever)
    }

    /// Stops the workers at once, finished or not.
    pub fn terminate(&self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        for worker in &self.shared.workers {
            worker.terminate();
        }
    }
}

impl AsyncResult {
    fn finished(&self) -> Option<Finished> {
        let got = guard(&self.inner.got).clone();
        got.or_else(|| guard(&self.inner.pool.done).get(&self.inner.id).cloned())
    }

    /// True once the result has arrived.
    pub fn ready(&self) -> bool {
        self.finished().is_some()
    }

    /// Waits for the result; re-raises the job's error. With a timeout,
    /// `TimeoutError` when it passes. The pool forgets the result once it
    /// is got; this handle keeps it for another `get`.
    pub fn get(&self, timeout: Option<Duration>) -> Result<Dynamic, ScriptError> {
        let known = guard(&self.inner.got).clone();
        let finished = match known {
            Some(finished) => finished,
            None => {
                let pool = self.inner.pool.clone();
                let id = self.inner.id;
                let wait_for = async move {
                    loop {
                        let arrived = pool.arrived.notified();
                        tokio::pin!(arrived);
                        arrived.as_mut().enable();
                        if let Some(done) = guard(&pool.done).remove(&id) {
                            guard(&pool.wanted).remove(&id);
                            return done;
                        }
                        arrived.await;
                    }
                };
                let deadline = Deadline::after(timeout);
                let finished = context::with_current(|task| {
                    task.blocked(
                        || format!("get result {id} of a pool"),
                        || runtime::wait(wait_for, deadline),
                    )
                })?;
                *guard(&self.inner.got) = Some(finished.clone());
                finished
            }
        };
        match finished {
            Finished::Returned(value) => Ok(value),
            Finished::Failed(text) => Err(ScriptError::new(
                "RemoteError",
                format!("the job failed in a pool process:\n{text}"),
            )),
        }
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.shared.closed.load(Ordering::Relaxed) {
            "closed"
        } else {
            "running"
        };
        write!(f, "<pool of {} processes, {state}>", self.size())
    }
}

impl fmt::Display for AsyncResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.ready() { "ready" } else { "pending" };
        write!(f, "<result {} {state}>", self.inner.id)
    }
}
