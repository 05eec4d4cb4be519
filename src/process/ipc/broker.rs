//! The broker: the parent's side of queues shared with child processes.
//!
//! The first time a session shares a queue with a child, it starts a
//! broker: a Unix socket with an abstract name (nothing on disk to clean
//! up) served by the reactor. The broker runs the same async `put`/`get`
//! as local callers, so blocking, timeouts and `queue.Empty`/`queue.Full`
//! behave identically.
//!
//! Only the session's own children get in. An abstract socket has no file
//! permissions, so the broker checks each connection's peer credentials
//! (`SO_PEERCRED`): same user, and a process this session started (or one
//! of their descendants, for a child's own children); then the first frame
//! must carry the per-run secret that each child receives in its job. A
//! frame that does not parse closes that connection and touches nothing
//! else.
//!
//! No item is lost to a client that goes away: while a `get` waits, the
//! broker also watches the connection and gives up (taking nothing) if it
//! closes; once it sends an item, it waits for the client's [`Ack`] and
//! puts the item back at the front of the queue if none comes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use rhai::Dynamic;
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;
use tokio_util::sync::CancellationToken;

use super::protocol::{Ack, Failure, Hello, Op, Reply, Request, parse, read_frame, write_frame};
use super::wire::{Decoder, Encoder, Wire};
use super::{BrokerTicket, QueueRef, abstract_addr};
use crate::error::ScriptError;
use crate::runtime;
#[cfg(test)]
use crate::runtime::Deadline;
use crate::runtime::context::{SessionCore, guard};
use crate::sync::queue::{Block, Local, Queue};

/// A session's broker; it listens once a queue is first shared.
#[derive(Default)]
pub struct Broker {
    started: OnceLock<Result<Listening, String>>,
    queues: Mutex<HashMap<u64, Arc<Local>>>,
    /// Processes this session started that have not exited.
    admitted: Mutex<HashSet<u32>>,
}

struct Listening {
    name: String,
    secret: String,
    stop: CancellationToken,
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(Ok(listening)) = self.started.get() {
            listening.stop.cancel();
        }
    }
}

impl Broker {
    /// The broker of `session` (not listening until a queue is shared).
    pub fn of(session: &SessionCore) -> Arc<Broker> {
        session.service::<Broker>()
    }

    fn listening(self: &Arc<Self>) -> Result<&Listening, ScriptError> {
        let started = self.started.get_or_init(|| self.listen());
        started.as_ref().map_err(|e| ScriptError::new("OSError", e.clone()))
    }

    fn listen(self: &Arc<Self>) -> Result<Listening, String> {
        let secret = random_hex(16).map_err(|e| format!("cannot start the queue broker: {e}"))?;
        let name = format!(
            "sockrepl-broker-{}-{}",
            std::process::id(),
            random_hex(8).unwrap_or_default()
        );
        let listener = abstract_addr(&name)
            .and_then(|addr| std::os::unix::net::UnixListener::bind_addr(&addr))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cannot start the queue broker: {e}"))?;
        let handle = runtime::handle();
        let listener = {
            let _context = handle.enter();
            tokio::net::UnixListener::from_std(listener).map_err(|e| format!("cannot start the queue broker: {e}"))?
        };
        let stop = CancellationToken::new();
        let broker = Arc::downgrade(self);
        let secret_for_loop = secret.clone();
        let stopped = stop.clone();
        handle.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = stopped.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((conn, _)) = accepted else { continue };
                let Some(live) = broker.upgrade() else { return };
                if live.lets_in(&conn) {
                    tokio::spawn(serve(Arc::downgrade(&live), conn, secret_for_loop.clone()));
                }
            }
        });
        Ok(Listening { name, secret, stop })
    }

    /// How a child reaches this broker; starts listening if need be.
    pub fn ticket(self: &Arc<Self>) -> Result<BrokerTicket, ScriptError> {
        let listening = self.listening()?;
        Ok(BrokerTicket {
            name: listening.name.clone(),
            secret: listening.secret.clone(),
        })
    }

    /// Makes `queue` reachable from this session's children.
    pub fn share(self: &Arc<Self>, queue: &Queue) -> Result<QueueRef, ScriptError> {
        let Some(local) = queue.local() else {
            return Err(
                ScriptError::type_error("a queue from another process cannot be passed on")
                    .hint("create the queue in the process that starts the others"),
            );
        };
        let listening = self.listening()?;
        guard(&self.queues).insert(local.id(), local.clone());
        Ok(QueueRef {
            broker: listening.name.clone(),
            id: local.id(),
        })
    }

    /// Lets process `pid` (a child just started) in.
    pub fn admit(&self, pid: u32) {
        guard(&self.admitted).insert(pid);
    }

    /// Forgets `pid` (it exited).
    pub fn dismiss(&self, pid: u32) {
        guard(&self.admitted).remove(&pid);
    }

    /// Same user, and one of our children or their descendants.
    fn lets_in(&self, conn: &UnixStream) -> bool {
        let Ok(cred) = conn.peer_cred() else { return false };
        // SAFETY: geteuid has no preconditions.
        if cred.uid() != unsafe { libc::geteuid() } {
            return false;
        }
        let Some(pid) = cred.pid().and_then(|p| u32::try_from(p).ok()) else {
            return false;
        };
        let admitted = guard(&self.admitted).clone();
        descends_from_any(pid, &admitted)
    }

    fn queue(&self, id: u64) -> Option<Arc<Local>> {
        guard(&self.queues).get(&id).cloned()
    }
}

/// True if `pid` or one of its ancestors (a few generations up) is in
/// `admitted`.
fn descends_from_any(mut pid: u32, admitted: &HashSet<u32>) -> bool {
    for _ in 0..8 {
        if admitted.contains(&pid) {
            return true;
        }
        match parent_of(pid) {
            Some(parent) if parent > 1 && parent != std::process::id() => pid = parent,
            _ => return false,
        }
    }
    false
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

fn random_hex(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    // SAFETY: fills a buffer we own, of the length given.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if usize::try_from(n).ok() != Some(buf.len()) {
        return Err(std::io::Error::last_os_error());
    }
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn failure(err: ScriptError) -> Failure {
    Failure {
        class: err.class.to_string(),
        message: err.message,
        hint: err.hint,
    }
}

/// Serves one child's connection until it closes or misbehaves.
async fn serve(broker: Weak<Broker>, mut conn: UnixStream, secret: String) {
    let hello = match read_frame(&mut conn).await {
        Ok(Some(body)) => parse::<Hello>(&body),
        _ => None,
    };
    if hello.is_none_or(|h| h.secret != secret) {
        return;
    }
    while let Ok(Some(body)) = read_frame(&mut conn).await {
        let Some(request) = parse::<Request>(&body) else { return };
        let Some(queue) = broker.upgrade().and_then(|b| b.queue(request.queue)) else {
            let reply: Reply = Err(failure(ScriptError::new(
                "OSError",
                format!("no queue {} here", request.queue),
            )));
            if write_frame(&mut conn, &reply).await.is_err() {
                return;
            }
            continue;
        };
        let done = match request.op {
            Op::Get => get(&queue, request.block, &mut conn).await,
            Op::Put => {
                let Some(item) = request.item.map(|w| Decoder::for_item().decode(w)) else {
                    return;
                };
                let Ok(item) = item else { return };
                let reply: Reply = match until_gone(queue.put(item, request.block), &mut conn).await {
                    Some(done) => done.map(|()| Wire::Unit).map_err(failure),
                    None => return,
                };
                write_frame(&mut conn, &reply).await.is_ok()
            }
            Op::Qsize => {
                let size = i64::try_from(queue.qsize()).unwrap_or(i64::MAX);
                write_frame(&mut conn, &Reply::Ok(Wire::Int(size))).await.is_ok()
            }
            Op::Full => write_frame(&mut conn, &Reply::Ok(Wire::Bool(queue.is_full())))
                .await
                .is_ok(),
        };
        if !done {
            return;
        }
    }
}

/// Runs `op` unless the client goes away first (it sends nothing while it
/// waits, so anything readable means it closed or broke the protocol).
/// `None` if it went away; `op` is then dropped, which for a queue
/// operation means it took or added nothing.
async fn until_gone<T>(op: impl std::future::Future<Output = T>, conn: &mut UnixStream) -> Option<T> {
    let mut probe = [0u8; 1];
    tokio::select! {
        done = op => Some(done),
        _ = conn.read(&mut probe) => None,
    }
}

/// A `get` for a child: the item counts as taken only once the child
/// confirms it; otherwise it goes back to the front of the queue.
async fn get(queue: &Arc<Local>, block: Block, conn: &mut UnixStream) -> bool {
    let Some(got) = until_gone(queue.get(block), conn).await else {
        return false;
    };
    let item: Dynamic = match got {
        Ok(item) => item,
        Err(err) => return write_frame(conn, &Reply::Err(failure(err))).await.is_ok(),
    };
    let wire = match Encoder::for_item().encode(&item) {
        Ok(wire) => wire,
        Err(err) => {
            queue.put_back(item);
            return write_frame(conn, &Reply::Err(failure(err))).await.is_ok();
        }
    };
    let confirmed = write_frame(conn, &Reply::Ok(wire)).await.is_ok()
        && matches!(read_frame(conn).await, Ok(Some(body)) if parse::<Ack>(&body).is_some());
    if !confirmed {
        queue.put_back(item);
    }
    confirmed
}

/// Waits on the broker's side for `fut` without blocking a script thread;
/// used by tests that stand in for a child.
#[cfg(test)]
fn block_on<T>(fut: impl std::future::Future<Output = T>) -> T {
    runtime::wait(fut, Deadline::NEVER).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admitted_processes_and_their_descendants_get_in() {
        let mut admitted = HashSet::new();
        assert!(!descends_from_any(std::process::id(), &admitted));
        admitted.insert(std::process::id());
        assert!(descends_from_any(std::process::id(), &admitted));
    }

    #[test]
    fn a_connection_without_the_secret_is_closed() {
        let broker = Arc::new(Broker::default());
        let ticket = broker.ticket().unwrap_or_else(|e| panic!("{e}"));
        broker.admit(std::process::id());
        let closed = block_on(async {
            let addr = abstract_addr(&ticket.name)?;
            let std_conn = std::os::unix::net::UnixStream::connect_addr(&addr)?;
            std_conn.set_nonblocking(true)?;
            let mut conn = UnixStream::from_std(std_conn)?;
            write_frame(&mut conn, &Hello { secret: "wrong".into() }).await?;
            read_frame(&mut conn).await
        });
        assert!(matches!(closed, Ok(None)), "{closed:?}");
    }
}
