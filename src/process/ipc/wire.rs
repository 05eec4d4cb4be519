//! Values crossing a process boundary.
//!
//! A process gets copies of its arguments, so they are serialised: plain
//! data as itself, a queue as the address of its owner's broker, and a
//! socket as a descriptor the child inherits. Only a child's start-up may
//! carry queues and sockets: an [`Encoder`] for a child shares queues with
//! the session's broker and collects descriptors, while one for queue items
//! refuses both, as Python refuses to pickle a queue or a socket into a
//! queue. On the receiving side a [`Decoder`] for items refuses them too,
//! so a frame from another process can never name a descriptor. A child
//! starts with copies of the `value()` cells it is given or its functions
//! read, as a forked Python process has its own copy of the globals: what
//! it changes stays in the child. Locks and tasks live in one process's
//! memory and cannot cross; trying says so.

use std::os::fd::RawFd;
use std::sync::Arc;

use rhai::{Array, Blob, Dynamic, Map};
use serde::{Deserialize, Serialize};

use super::{Broker, BrokerTicket, Clients, QueueRef};
use crate::error::ScriptError;
use crate::net::{Kind, Socket};
use crate::sync::Queue;

/// A value in transit to another process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Wire {
    /// Nothing: `()`.
    Unit,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A character.
    Char(char),
    /// A string.
    Str(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// An array.
    Array(Vec<Wire>),
    /// An object map.
    Map(Vec<(String, Wire)>),
    /// A queue, reached through its owner's broker (child start-up only).
    Queue(QueueRef),
    /// A `value()` cell's contents (child start-up only): the child gets
    /// a cell of its own, as a forked Python process gets its own copy of
    /// a global.
    Cell(Box<Wire>),
    /// A socket the child inherits (child start-up only): a slot in the
    /// job's [`Inherited`] descriptors.
    Socket {
        /// Which inherited descriptor.
        slot: usize,
        /// `tcp`, `udp`, `tcp6`, `udp6` or `unix`.
        kind: String,
        /// Whether it is a listening socket.
        listening: bool,
    },
}

/// The descriptors a child inherits, in the job its parent wrote. Made
/// only when a child is started; each slot can be adopted once.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Inherited {
    fds: Vec<Option<RawFd>>,
}

impl Inherited {
    pub(crate) fn new(fds: Vec<RawFd>) -> Inherited {
        Inherited {
            fds: fds.into_iter().map(Some).collect(),
        }
    }

    fn adopt(&mut self, slot: usize, kind: Kind, listening: bool) -> Result<Socket, ScriptError> {
        let fd = self.fds.get_mut(slot).and_then(Option::take).ok_or_else(|| {
            ScriptError::new("OSError", format!("no inherited socket in slot {slot}"))
                .hint("a socket reaches a process only as an argument of process(...)")
        })?;
        // SAFETY: the parent started this process with `fd` kept open for
        // it to own (the job lists it), and `take` above means no other
        // value in this process adopts it.
        unsafe { Socket::from_inherited(fd, kind, listening) }
    }
}

/// Serialises values for another process.
pub struct Encoder<'a> {
    broker: Option<&'a Arc<Broker>>,
    fds: Option<&'a mut Vec<RawFd>>,
    /// Whether `value()` cells are copied (a child's start-up).
    copies_cells: bool,
    shared_a_queue: bool,
}

impl<'a> Encoder<'a> {
    /// For a child's arguments: queues are shared with `broker`, sockets'
    /// descriptors collected in `fds` for the child to inherit.
    pub fn for_child(broker: &'a Arc<Broker>, fds: &'a mut Vec<RawFd>) -> Encoder<'a> {
        Encoder {
            broker: Some(broker),
            fds: Some(fds),
            copies_cells: true,
            shared_a_queue: false,
        }
    }

    /// For a pool's job: queues are shared with `broker` (the workers'),
    /// sockets refused.
    pub fn for_pool_job(broker: &'a Arc<Broker>) -> Encoder<'a> {
        Encoder {
            broker: Some(broker),
            fds: None,
            copies_cells: false,
            shared_a_queue: false,
        }
    }

    /// For queue items and results: plain data only.
    pub fn for_item() -> Encoder<'static> {
        Encoder {
            broker: None,
            fds: None,
            copies_cells: false,
            shared_a_queue: false,
        }
    }

    /// For the top-level variables a child starts with: plain data and
    /// copies of `value()` cells.
    pub fn for_globals() -> Encoder<'static> {
        Encoder {
            broker: None,
            fds: None,
            copies_cells: true,
            shared_a_queue: false,
        }
    }

    /// True once a queue was shared, so the child needs the broker.
    pub fn shared_a_queue(&self) -> bool {
        self.shared_a_queue
    }

    /// Serialises `value`.
    pub fn encode(&mut self, value: &Dynamic) -> Result<Wire, ScriptError> {
        let value = value.flatten_clone();
        if value.is_unit() {
            return Ok(Wire::Unit);
        }
        if let Ok(b) = value.as_bool() {
            return Ok(Wire::Bool(b));
        }
        if let Ok(i) = value.as_int() {
            return Ok(Wire::Int(i));
        }
        if let Ok(f) = value.as_float() {
            return Ok(Wire::Float(f));
        }
        if let Ok(c) = value.as_char() {
            return Ok(Wire::Char(c));
        }
        if let Some(s) = value.read_lock::<rhai::ImmutableString>() {
            return Ok(Wire::Str(s.to_string()));
        }
        if let Some(blob) = value.read_lock::<Blob>() {
            return Ok(Wire::Blob(blob.clone()));
        }
        if let Some(array) = value.read_lock::<Array>() {
            return array
                .iter()
                .map(|v| self.encode(v))
                .collect::<Result<_, _>>()
                .map(Wire::Array);
        }
        if let Some(map) = value.read_lock::<Map>() {
            let mut pairs = Vec::with_capacity(map.len());
            for (k, v) in map.iter() {
                pairs.push((k.to_string(), self.encode(v)?));
            }
            return Ok(Wire::Map(pairs));
        }
        if let Some(queue) = value.read_lock::<Queue>() {
            let Some(broker) = self.broker else {
                return Err(
                    ScriptError::type_error("a queue cannot be put in a queue or returned by a process")
                        .hint("give each process the queues it needs as arguments of process(...)"),
                );
            };
            self.shared_a_queue = true;
            return Ok(Wire::Queue(broker.share(&queue)?));
        }
        if self.copies_cells
            && let Some(cell) = value.read_lock::<crate::sync::Value>()
        {
            return Ok(Wire::Cell(Box::new(self.encode(&cell.get())?)));
        }
        if let Some(sock) = value.read_lock::<Socket>() {
            let Some(fds) = self.fds.as_deref_mut() else {
                let through = if self.broker.is_some() {
                    "to a pool's job"
                } else {
                    "through a queue"
                };
                return Err(ScriptError::type_error(format!("a socket cannot be sent {through}"))
                    .hint("pass the socket as an argument of process(...) instead"));
            };
            let (fd, listening) = sock.inheritable()?;
            fds.push(fd);
            return Ok(Wire::Socket {
                slot: fds.len() - 1,
                kind: sock.kind().name().to_string(),
                listening,
            });
        }
        let name = crate::error::script_type(value.type_name());
        Err(
            ScriptError::type_error(format!("a {name} cannot be copied to another process"))
                .hint("processes share data through queue(); lock(), local() and tasks work between tasks only"),
        )
    }
}

/// Rebuilds values in the receiving process.
pub struct Decoder<'a> {
    job: Option<(&'a mut Inherited, Option<&'a BrokerTicket>)>,
    /// Whether `value()` cells may arrive (a child's start-up).
    copies_cells: bool,
}

impl<'a> Decoder<'a> {
    /// For a child's start-up: its inherited descriptors and the parent's
    /// broker.
    pub fn for_job(inherited: &'a mut Inherited, broker: Option<&'a BrokerTicket>) -> Decoder<'a> {
        Decoder {
            job: Some((inherited, broker)),
            copies_cells: true,
        }
    }

    /// For queue items from another process: plain data only.
    pub fn for_item() -> Decoder<'static> {
        Decoder {
            job: None,
            copies_cells: false,
        }
    }

    /// For the top-level variables a child starts with.
    pub fn for_globals() -> Decoder<'static> {
        Decoder {
            job: None,
            copies_cells: true,
        }
    }

    /// Rebuilds `wire`.
    pub fn decode(&mut self, wire: Wire) -> Result<Dynamic, ScriptError> {
        Ok(match wire {
            Wire::Unit => Dynamic::UNIT,
            Wire::Bool(b) => b.into(),
            Wire::Int(i) => i.into(),
            Wire::Float(f) => f.into(),
            Wire::Char(c) => c.into(),
            Wire::Str(s) => s.into(),
            Wire::Blob(b) => Dynamic::from_blob(b),
            Wire::Array(items) => {
                let array: Array = items.into_iter().map(|w| self.decode(w)).collect::<Result<_, _>>()?;
                array.into()
            }
            Wire::Map(pairs) => {
                let mut map = Map::new();
                for (k, v) in pairs {
                    map.insert(k.into(), self.decode(v)?);
                }
                map.into()
            }
            Wire::Queue(queue) => match &self.job {
                Some((_, Some(ticket))) if ticket.name == queue.broker => {
                    Dynamic::from(Clients::current().queue(ticket, queue.id))
                }
                _ => return Err(refused("a queue")),
            },
            Wire::Cell(contents) if self.copies_cells => {
                Dynamic::from(crate::sync::Value::new(self.decode(*contents)?))
            }
            Wire::Cell(_) => return Err(refused("a value() cell")),
            Wire::Socket { slot, kind, listening } => match &mut self.job {
                Some((inherited, _)) => Dynamic::from(inherited.adopt(slot, Kind::from_name(&kind)?, listening)?),
                None => return Err(refused("a socket")),
            },
        })
    }
}

fn refused(what: &str) -> ScriptError {
    ScriptError::new("OSError", format!("{what} cannot arrive through a queue"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_data_round_trips() {
        let mut map = Map::new();
        map.insert("k".into(), Dynamic::from_blob(vec![0, 255]));
        let array: Array = vec![
            1_i64.into(),
            2.5_f64.into(),
            "s".into(),
            true.into(),
            Dynamic::UNIT,
            map.into(),
        ];
        let value: Dynamic = array.into();
        let wire = Encoder::for_item().encode(&value).unwrap_or(Wire::Unit);
        let back = Decoder::for_item()
            .decode(wire.clone())
            .map(|d| Encoder::for_item().encode(&d));
        assert_eq!(back.ok().and_then(Result::ok), Some(wire));
    }

    #[test]
    fn locks_cannot_cross() {
        let err = Encoder::for_item()
            .encode(&Dynamic::from(crate::sync::Lock::new(None)))
            .err();
        assert!(err.is_some_and(|e| e.to_string().contains("cannot be copied to another process")));
    }

    #[test]
    fn items_never_carry_sockets_or_queues() {
        let socket = Wire::Socket {
            slot: 0,
            kind: "tcp".into(),
            listening: true,
        };
        assert!(Decoder::for_item().decode(socket).is_err());
        let queue = Wire::Queue(QueueRef {
            broker: "x".into(),
            id: 1,
        });
        assert!(Decoder::for_item().decode(queue).is_err());
        let err = Encoder::for_item().encode(&Dynamic::from(Queue::new(0))).err();
        assert!(err.is_some_and(|e| e.message.contains("cannot be put in a queue")));
    }

    #[test]
    fn an_inherited_slot_is_adopted_once() {
        let mut none = Inherited::default();
        let wire = Wire::Socket {
            slot: 0,
            kind: "tcp".into(),
            listening: false,
        };
        assert!(Decoder::for_job(&mut none, None).decode(wire).is_err());
    }
}
