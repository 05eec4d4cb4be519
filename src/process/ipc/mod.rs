//! Queues shared between processes: the broker (the owner's side), the
//! frames they exchange, the values on the wire, and the client (a child's
//! side), which plugs into `sync::Queue` as a [`Backend`].
//!
//! Sharing is an explicit step: only starting a child shares queues (its
//! arguments are encoded with the session's [`Broker`]), so converting a
//! value never starts a server as a side effect.

mod broker;
pub mod protocol;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rhai::Dynamic;
use serde::{Deserialize, Serialize};
use tokio::net::UnixStream;

pub use broker::Broker;
use protocol::{Ack, Hello, Op, Reply, Request, read_frame, write_frame};
use wire::{Decoder, Encoder};

use crate::error::ScriptError;
use crate::runtime::context::{self, guard};
use crate::runtime::{self, Deadline};
use crate::sync::queue::{Backend, Block, Queue};

/// How a child reaches its parent's broker: the socket's name and the
/// run's secret. Handed over in the child's job only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerTicket {
    /// The abstract socket name.
    pub name: String,
    /// What the first frame must carry.
    pub secret: String,
}

/// A queue in another process: its broker and its id there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRef {
    /// The owner's broker (an abstract socket name).
    pub broker: String,
    /// The queue's id in its owner.
    pub id: u64,
}

fn abstract_addr(name: &str) -> std::io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
}

/// A child's connections to its parent's broker, one client per broker.
#[derive(Default)]
pub struct Clients {
    by_broker: Mutex<HashMap<String, Arc<Client>>>,
}

impl Clients {
    /// The calling task's session's clients.
    pub fn current() -> Arc<Clients> {
        context::with_current(|task| task.session().service::<Clients>())
    }

    /// A handle on queue `id` behind the broker of `ticket`.
    pub fn queue(&self, ticket: &BrokerTicket, id: u64) -> Queue {
        let client = guard(&self.by_broker)
            .entry(ticket.name.clone())
            .or_insert_with(|| {
                Arc::new(Client {
                    ticket: ticket.clone(),
                    idle: Mutex::new(Vec::new()),
                })
            })
            .clone();
        Queue::from_backend(Arc::new(RemoteQueue { client, id }))
    }
}

/// Connections to one broker. Each exchange takes an idle connection (or
/// opens one), so one task blocked in `get` does not hold up another's
/// `put`; only a connection that finished its exchange goes back.
struct Client {
    ticket: BrokerTicket,
    idle: Mutex<Vec<UnixStream>>,
}

impl Client {
    async fn connect(ticket: &BrokerTicket) -> std::io::Result<UnixStream> {
        let addr = abstract_addr(&ticket.name)?;
        let std_conn = std::os::unix::net::UnixStream::connect_addr(&addr)?;
        std_conn.set_nonblocking(true)?;
        let mut conn = UnixStream::from_std(std_conn)?;
        write_frame(
            &mut conn,
            &Hello {
                secret: ticket.secret.clone(),
            },
        )
        .await?;
        Ok(conn)
    }

    fn call(&self, request: Request) -> Result<Dynamic, ScriptError> {
        let op = request.op;
        let cached = guard(&self.idle).pop();
        let ticket = self.ticket.clone();
        let exchange = async move {
            let mut conn = match cached {
                Some(conn) => conn,
                None => Client::connect(&ticket).await?,
            };
            write_frame(&mut conn, &request).await?;
            let body = read_frame(&mut conn)
                .await?
                .ok_or_else(|| std::io::Error::other("the queue's process closed the connection"))?;
            let reply: Reply = protocol::parse(&body)
                .ok_or_else(|| std::io::Error::other("the queue's process sent a malformed reply"))?;
            if op == Op::Get && reply.is_ok() {
                write_frame(&mut conn, &Ack).await?;
            }
            Ok::<_, std::io::Error>((conn, reply))
        };
        // Cancelling drops the exchange and its connection: the broker sees
        // the close and takes (or keeps) nothing.
        let (conn, reply) = runtime::wait(exchange, Deadline::NEVER)?.map_err(|e| {
            ScriptError::os(&e, "reaching a queue in another process")
                .hint("the process that created the queue may have exited")
        })?;
        guard(&self.idle).push(conn);
        match reply {
            Ok(wire) => Decoder::for_item().decode(wire),
            Err(f) => Err(ScriptError {
                class: known_class(&f.class),
                message: f.message,
                hint: f.hint,
            }),
        }
    }
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

/// A queue owned by another process.
struct RemoteQueue {
    client: Arc<Client>,
    id: u64,
}

impl RemoteQueue {
    fn call(&self, op: Op, item: Option<&Dynamic>, block: Block) -> Result<Dynamic, ScriptError> {
        let item = item.map(|i| Encoder::for_item().encode(i)).transpose()?;
        self.client.call(Request {
            queue: self.id,
            op,
            item,
            block,
        })
    }
}

impl Backend for RemoteQueue {
    fn put(&self, item: Dynamic, block: Block) -> Result<(), ScriptError> {
        self.call(Op::Put, Some(&item), block).map(drop)
    }

    fn get(&self, block: Block) -> Result<Dynamic, ScriptError> {
        self.call(Op::Get, None, block)
    }

    fn qsize(&self) -> Result<usize, ScriptError> {
        let size = self.call(Op::Qsize, None, Block::No)?;
        Ok(usize::try_from(size.as_int().unwrap_or(0)).unwrap_or(0))
    }

    fn is_full(&self) -> Result<bool, ScriptError> {
        Ok(self.call(Op::Full, None, Block::No)?.as_bool().unwrap_or(false))
    }

    fn describe(&self) -> String {
        format!("<queue {} of another process>", self.id)
    }
}
