//! Values crossing a process boundary.
//!
//! A process gets copies of its arguments, so they are serialised: plain
//! data as itself, a queue as the address of its owner's broker, and a
//! socket (as a `process(...)` argument only) as a file descriptor that the
//! child inherits. Locks, tasks and `value()` cells live in one process's
//! memory and cannot cross; trying says so.

use std::os::fd::RawFd;

use rhai::{Array, Blob, Dynamic, Map};
use serde::{Deserialize, Serialize};

use crate::error::ScriptError;
use crate::net::{Kind, Socket};
use crate::sync::{Queue, queue::Remote};

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
    /// A queue, reached through its owner's broker.
    Queue(Remote),
    /// A socket the child inherits.
    Socket {
        /// The descriptor number, the same in the child.
        fd: RawFd,
        /// `tcp`, `udp`, `tcp6`, `udp6` or `unix`.
        kind: String,
        /// Whether it is a listening socket.
        listening: bool,
    },
}

/// Serialises `value`. Sockets are allowed only when `fds` collects the
/// descriptors the child must inherit.
pub fn to_wire(value: &Dynamic, fds: &mut Option<&mut Vec<RawFd>>) -> Result<Wire, ScriptError> {
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
            .map(|v| to_wire(v, fds))
            .collect::<Result<_, _>>()
            .map(Wire::Array);
    }
    if let Some(map) = value.read_lock::<Map>() {
        let mut pairs = Vec::with_capacity(map.len());
        for (k, v) in map.iter() {
            pairs.push((k.to_string(), to_wire(v, fds)?));
        }
        return Ok(Wire::Map(pairs));
    }
    if let Some(queue) = value.read_lock::<Queue>() {
        return Ok(Wire::Queue(super::broker::share(&queue)?));
    }
    if let Some(sock) = value.read_lock::<Socket>() {
        let Some(fds) = fds.as_deref_mut() else {
            return Err(ScriptError::type_error("a socket cannot be sent through a queue")
                .hint("pass the socket as an argument of process(...) instead"));
        };
        let (fd, listening) = sock.inheritable()?;
        fds.push(fd);
        return Ok(Wire::Socket {
            fd,
            kind: sock.kind().name().to_string(),
            listening,
        });
    }
    let name = value.type_name();
    Err(
        ScriptError::type_error(format!("a {name} cannot be copied to another process"))
            .hint("processes share data through queue(); value(), lock() and tasks work between tasks only"),
    )
}

/// Rebuilds a value in the receiving process.
pub fn from_wire(wire: Wire) -> Result<Dynamic, ScriptError> {
    Ok(match wire {
        Wire::Unit => Dynamic::UNIT,
        Wire::Bool(b) => b.into(),
        Wire::Int(i) => i.into(),
        Wire::Float(f) => f.into(),
        Wire::Char(c) => c.into(),
        Wire::Str(s) => s.into(),
        Wire::Blob(b) => Dynamic::from_blob(b),
        Wire::Array(items) => {
            let array: Array = items.into_iter().map(from_wire).collect::<Result<_, _>>()?;
            array.into()
        }
        Wire::Map(pairs) => {
            let mut map = Map::new();
            for (k, v) in pairs {
                map.insert(k.into(), from_wire(v)?);
            }
            map.into()
        }
        Wire::Queue(remote) => Dynamic::from(super::broker::open(remote)),
        Wire::Socket { fd, kind, listening } => {
            Dynamic::from(Socket::from_inherited(fd, Kind::from_name(&kind)?, listening)?)
        }
    })
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
        let wire = to_wire(&value, &mut None).unwrap_or(Wire::Unit);
        let back = from_wire(wire.clone()).map(|d| to_wire(&d, &mut None));
        assert_eq!(back.ok().and_then(Result::ok), Some(wire));
    }

    #[test]
    fn locks_cannot_cross() {
        let err = to_wire(&Dynamic::from(crate::sync::Lock::new(None)), &mut None).err();
        assert!(err.is_some_and(|e| e.to_string().contains("cannot be copied to another process")));
    }
}
