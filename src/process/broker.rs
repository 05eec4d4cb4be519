//! Queues shared with other processes.
//!
//! The first time a queue is handed to a process, this process starts a
//! broker: a Unix socket with an abstract name (nothing on disk to clean
//! up) served by the tokio runtime. A child's queue handle sends each
//! operation as one length-prefixed JSON request and waits for the reply;
//! the broker runs the same async `put`/`get` as local callers, so blocking,
//! timeouts and `queue.Empty`/`queue.Full` behave identically. Each child
//! thread keeps its own connection, so one task blocked in `get` does not
//! hold up another's `put`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rhai::Dynamic;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::wire::{Wire, from_wire, to_wire};
use crate::error::ScriptError;
use crate::runtime;
use crate::sync::queue::{Block, Local, Queue, Remote};

#[derive(Serialize, Deserialize)]
struct Request {
    queue: u64,
    op: String,
    item: Option<Wire>,
    block: Block,
}

#[derive(Serialize, Deserialize)]
struct Failure {
    class: String,
    message: String,
    hint: Option<String>,
}

type Reply = Result<Wire, Failure>;

/// Frames larger than this are refused rather than allocated.
const MAX_FRAME: usize = 64 * 1024 * 1024;

struct Broker {
    name: String,
    queues: Mutex<HashMap<u64, Arc<Local>>>,
}

static BROKER: OnceLock<Result<Broker, String>> = OnceLock::new();

fn abstract_addr(name: &str) -> std::io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
}

fn broker() -> Result<&'static Broker, ScriptError> {
    let started = BROKER.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("sockrepl-broker-{}-{nanos}", std::process::id());
        let listener = abstract_addr(&name)
            .and_then(|addr| std::os::unix::net::UnixListener::bind_addr(&addr))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cannot start the queue broker: {e}"))?;
        let handle = runtime::handle();
        let listener = {
            let _context = handle.enter();
            tokio::net::UnixListener::from_std(listener).map_err(|e| format!("cannot start the queue broker: {e}"))?
        };
        handle.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn));
            }
        });
        Ok(Broker {
            name,
            queues: Mutex::new(HashMap::new()),
        })
    });
    started.as_ref().map_err(|e| ScriptError::new("OSError", e.clone()))
}

/// The address under which another process reaches `queue`.
pub fn share(queue: &Queue) -> Result<Remote, ScriptError> {
    if let Some(remote) = queue.as_remote() {
        return Ok(remote.clone());
    }
    let Some(local) = queue.local() else {
        return Err(ScriptError::new("OSError", "queue cannot be shared"));
    };
    let broker = broker()?;
    broker
        .queues
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(local.id(), local.clone());
    Ok(Remote {
        broker: broker.name.clone(),
        id: local.id(),
    })
}

/// A queue handle for an address received from another process; a queue
/// that came back home is the local queue again.
pub fn open(remote: Remote) -> Queue {
    if let Some(Ok(broker)) = BROKER.get()
        && broker.name == remote.broker
    {
        let queues = broker.queues.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(local) = queues.get(&remote.id) {
            return Queue::from_local(local.clone());
        }
    }
    Queue::remote(remote)
}

async fn read_frame(conn: &mut UnixStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match conn.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = usize::try_from(u32::from_be_bytes(len)).unwrap_or(usize::MAX);
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!(
            "queue message of {len} bytes is too large"
        )));
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).await?;
    Ok(Some(body))
}

async fn write_frame(conn: &mut UnixStream, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len()).map_err(|_| std::io::Error::other("queue message too large"))?;
    conn.write_all(&len.to_be_bytes()).await?;
    conn.write_all(body).await
}

fn failure(err: ScriptError) -> Failure {
    Failure {
        class: err.class.to_string(),
        message: err.message,
        hint: err.hint,
    }
}

async fn serve(mut conn: UnixStream) {
    while let Ok(Some(body)) = read_frame(&mut conn).await {
        let reply: Reply = match serde_json::from_slice::<Request>(&body) {
            Ok(request) => handle(request).await.map_err(failure),
            Err(e) => Err(failure(ScriptError::new("OSError", format!("bad queue request: {e}")))),
        };
        let Ok(body) = serde_json::to_vec(&reply) else { return };
        if write_frame(&mut conn, &body).await.is_err() {
            return;
        }
    }
}

async fn handle(request: Request) -> Result<Wire, ScriptError> {
    let queue = broker()?
        .queues
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&request.queue)
        .cloned()
        .ok_or_else(|| ScriptError::new("OSError", format!("no queue {} here", request.queue)))?;
    match request.op.as_str() {
        "put" => {
            let item = from_wire(request.item.unwrap_or(Wire::Unit))?;
            queue.put(item, request.block).await.map(|()| Wire::Unit)
        }
        "get" => {
            let item = queue.get(request.block).await?;
            to_wire(&item, &mut None)
        }
        "qsize" => Ok(Wire::Int(i64::try_from(queue.qsize()).unwrap_or(i64::MAX))),
        "full" => Ok(Wire::Bool(queue.is_full())),
        other => Err(ScriptError::new("OSError", format!("unknown queue operation {other}"))),
    }
}

thread_local! {
    static CONNECTIONS: RefCell<HashMap<String, UnixStream>> = RefCell::new(HashMap::new());
}

fn known_class(class: &str) -> &'static str {
    match class {
        "queue.Empty" => "queue.Empty",
        "queue.Full" => "queue.Full",
        "TypeError" => "TypeError",
        "ValueError" => "ValueError",
        "KeyboardInterrupt" => "KeyboardInterrupt",
        _ => "OSError",
    }
}

/// Runs `op` on a queue owned by another process.
pub fn call(remote: &Remote, op: &str, item: Option<Dynamic>, block: Block) -> Result<Dynamic, ScriptError> {
    let request = Request {
        queue: remote.id,
        op: op.to_string(),
        item: item.map(|i| to_wire(&i, &mut None)).transpose()?,
        block,
    };
    let body = serde_json::to_vec(&request).map_err(|e| ScriptError::new("OSError", e.to_string()))?;
    let cached = CONNECTIONS.with(|c| c.borrow_mut().remove(&remote.broker));
    let broker_name = remote.broker.clone();
    let exchange = async move {
        let mut conn = match cached {
            Some(conn) => conn,
            None => {
                let addr = abstract_addr(&broker_name)?;
                let std_conn = std::os::unix::net::UnixStream::connect_addr(&addr)?;
                std_conn.set_nonblocking(true)?;
                UnixStream::from_std(std_conn)?
            }
        };
        write_frame(&mut conn, &body).await?;
        let reply = read_frame(&mut conn)
            .await?
            .ok_or_else(|| std::io::Error::other("the queue's process closed the connection"))?;
        Ok::<_, std::io::Error>((conn, reply))
    };
    let (conn, reply) = runtime::wait(exchange, None)?.map_err(|e| {
        ScriptError::os(&e, "reaching a queue in another process")
            .hint("the process that created the queue may have exited")
    })?;
    // Only a connection that finished its exchange is clean enough to reuse.
    CONNECTIONS.with(|c| c.borrow_mut().insert(remote.broker.clone(), conn));
    let reply: Reply = serde_json::from_slice(&reply).map_err(|e| ScriptError::new("OSError", e.to_string()))?;
    match reply {
        Ok(wire) => from_wire(wire),
        Err(f) => Err(ScriptError {
            class: known_class(&f.class),
            message: f.message,
            hint: f.hint,
        }),
    }
}
