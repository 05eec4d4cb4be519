//! `pool(n)`: a fixed set of worker processes, like Python's
//! `multiprocessing.Pool`.
//!
//! The workers are long-lived children that take jobs from a queue owned
//! here (through the broker) and put `[id, result, error]` back on another;
//! a small collector on the runtime files results by id so that each
//! `apply_async` handle can wait for its own. `close()` queues one stop
//! marker per worker behind the jobs, so `join()` returns once all queued
//! work is done, as in Python.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::{Array, Dynamic, FnPtr};
use tokio::sync::Notify;

use super::wire::to_wire;
use super::{Process, Work, launch};
use crate::error::ScriptError;
use crate::runtime::{self, task};
use crate::sync::{Block, Queue};

/// A pool handle; copies refer to the same pool.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<PoolShared>,
}

struct PoolShared {
    jobs: Queue,
    results: Queue,
    workers: Vec<Process>,
    next_id: AtomicU64,
    closed: AtomicBool,
    done: Mutex<HashMap<u64, Finished>>,
    arrived: Notify,
}

#[derive(Clone)]
enum Finished {
    Returned(Dynamic),
    Failed(String),
}

/// The handle `apply_async` returns.
#[derive(Clone)]
pub struct AsyncResult {
    pool: Arc<PoolShared>,
    id: u64,
}

impl Pool {
    /// Starts `size` worker processes.
    pub fn new(size: usize) -> Result<Pool, ScriptError> {
        if size == 0 {
            return Err(ScriptError::value("a pool needs at least one process").hint("pool() uses one per CPU core"));
        }
        let jobs = Queue::new(0);
        let results = Queue::new(0);
        let mut workers = Vec::with_capacity(size);
        for _ in 0..size {
            let work = Work::PoolWorker {
                jobs: to_wire(&Dynamic::from(jobs.clone()), &mut None)?,
                results: to_wire(&Dynamic::from(results.clone()), &mut None)?,
            };
            workers.push(launch(work, Vec::new())?);
        }
        let shared = Arc::new(PoolShared {
            jobs,
            results,
            workers,
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            done: Mutex::new(HashMap::new()),
            arrived: Notify::new(),
        });
        let collector = shared.clone();
        let Some(results) = shared.results.local().cloned() else {
            return Err(ScriptError::new("OSError", "pool results queue is not local"));
        };
        runtime::handle().spawn(async move {
            while let Ok(item) = results.get(Block::Forever).await {
                let Some(reply) = item.try_cast::<Array>() else { break };
                let [id, value, error] = <[Dynamic; 3]>::try_from(reply).unwrap_or_default();
                let id = u64::try_from(id.as_int().unwrap_or(0)).unwrap_or(0);
                let finished = match error.into_string() {
                    Ok(text) => Finished::Failed(text),
                    Err(_) => Finished::Returned(value),
                };
                collector
                    .done
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, finished);
                collector.arrived.notify_waiters();
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
        let curry: Array = func.curry().to_vec();
        // Check now that everything can travel, so the error points here.
        for value in curry.iter().chain(args.iter()) {
            to_wire(value, &mut None)?;
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let job: Array = vec![
            Dynamic::from_int(i64::try_from(id).unwrap_or(i64::MAX)),
            func.fn_name().into(),
            curry.into(),
            args.into(),
        ];
        self.shared.jobs.put(job.into(), Block::Forever)?;
        Ok(AsyncResult {
            pool: self.shared.clone(),
            id,
        })
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
        self.pool
            .done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&self.id)
            .cloned()
    }

    /// True once the result has arrived.
    pub fn ready(&self) -> bool {
        self.finished().is_some()
    }

    /// Waits for the result; re-raises the job's error. With a timeout,
    /// `TimeoutError` when it passes.
    pub fn get(&self, timeout: Option<Duration>) -> Result<Dynamic, ScriptError> {
        let pool = self.pool.clone();
        let id = self.id;
        let wait_for = async move {
            loop {
                let arrived = pool.arrived.notified();
                tokio::pin!(arrived);
                arrived.as_mut().enable();
                if let Some(done) = pool.done.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
                    return done.clone();
                }
                arrived.await;
            }
        };
        let what = format!("get result {id} of a pool");
        match task::with_blocked_on(&what, || runtime::wait(wait_for, timeout))? {
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
        write!(f, "<result {} {state}>", self.id)
    }
}
