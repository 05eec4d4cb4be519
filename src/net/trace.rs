//! Recording what sockets do, for students to watch and for the book's
//! sequence diagrams.
//!
//! When tracing is on (`trace(true)` in a script, `repl --trace`, `:trace`
//! in the shell), every socket operation of every task of the session is
//! recorded: bind, listen, connect, accept, send and receive with their
//! sizes and first bytes, sendto and recvfrom with addresses, shutdown,
//! close, and errors, with the time since tracing started and the task
//! that did it. Events go to a [`Sink`]: readable lines (on stderr, or the
//! shell's screen) or JSON lines in a file, which `repl --diagram` draws.
//! When tracing is off, the cost is one atomic load per operation.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::runtime::context::{self, guard};

/// How many bytes of each payload a trace keeps.
pub const HEAD: usize = 48;

/// One socket event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since tracing started.
    pub t: f64,
    /// The task that did it, by name.
    pub task: String,
    /// The task's number, unique in the process and growing in the order
    /// tasks start (the name can change while the task runs).
    #[serde(default)]
    pub tid: u64,
    /// The socket's id (`:sockets` shows it).
    pub sock: u64,
    /// `tcp`, `udp`, `tcp6`, `udp6` or `unix`.
    pub kind: String,
    /// What happened: bind, listen, connect, accept, send, recv, sendto,
    /// recvfrom, shutdown, close.
    pub op: String,
    /// The socket's own address, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// The other end: the peer, the destination or the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// Bytes sent or received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    /// The first bytes of the payload, in hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub head: String,
    /// The error the operation raised, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Event {
    /// The payload bytes the trace kept.
    pub fn head_bytes(&self) -> Vec<u8> {
        (0..self.head.len() / 2)
            .filter_map(|i| u8::from_str_radix(self.head.get(2 * i..2 * i + 2)?, 16).ok())
            .collect()
    }

    /// One readable line.
    pub fn line(&self) -> String {
        let arrow = match self.op.as_str() {
            "recv" | "recvfrom" | "accept" => "<-",
            _ => "->",
        };
        let mut out = format!("{:>9.6} {:<12} #{} {}", self.t, self.task, self.sock, self.kind);
        if let Some(local) = &self.local {
            out.push_str(&format!(" {local}"));
        }
        if let Some(peer) = &self.peer {
            out.push_str(&format!(" {arrow} {peer}"));
        }
        out.push_str(&format!("  {}", self.op));
        if let Some(size) = self.size {
            out.push_str(&format!(" {size} bytes"));
            if size > 0 {
                let shown = crate::error::bytes_repr(&self.head_bytes());
                let more = if size > HEAD { "..." } else { "" };
                out.push_str(&format!(" {shown}{more}"));
            }
        }
        if let Some(error) = &self.error {
            out.push_str(&format!(": {error}"));
        }
        out
    }
}

/// Where events go.
pub enum Sink {
    /// Readable lines, each given to the function (stderr, the shell).
    Lines(Box<dyn Fn(&str) + Send + Sync>),
    /// JSON lines written to a file.
    Json(Mutex<Box<dyn Write + Send>>),
}

/// A session's tracer.
#[derive(Default)]
pub struct Tracer {
    on: AtomicBool,
    sink: RwLock<Option<(Instant, Arc<Sink>)>>,
}

impl Tracer {
    /// True while events are recorded (cheap: one atomic load).
    pub fn on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Starts recording into `sink`, or stops with `None`.
    pub fn set(&self, sink: Option<Sink>) {
        let mut slot = self.sink.write().unwrap_or_else(|p| p.into_inner());
        *slot = sink.map(|sink| (Instant::now(), Arc::new(sink)));
        self.on.store(slot.is_some(), Ordering::Relaxed);
    }

    /// Records an event made by `fill` (which gets the elapsed time).
    pub fn record(&self, fill: impl FnOnce(f64, String) -> Event) {
        let sink = self.sink.read().unwrap_or_else(|p| p.into_inner()).clone();
        let Some((start, sink)) = sink else { return };
        let current = context::try_current();
        let task = current.as_ref().map_or_else(|| "?".to_string(), |t| t.name());
        let mut event = fill(start.elapsed().as_secs_f64(), task);
        event.tid = current.map_or(0, |t| t.id());
        match &*sink {
            Sink::Lines(print) => print(&event.line()),
            Sink::Json(out) => {
                if let Ok(text) = serde_json::to_string(&event) {
                    let mut out = guard(out);
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                }
            }
        }
    }
}

/// Hex of the first [`HEAD`] bytes of `data`.
pub fn head(data: &[u8]) -> String {
    data.iter().take(HEAD).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_as_a_line_and_round_trips_as_json() {
        let event = Event {
            t: 0.5,
            task: "Thread-1".into(),
            tid: 0,
            sock: 3,
            kind: "udp".into(),
            op: "recvfrom".into(),
            local: Some("127.0.0.1:9999".into()),
            peer: Some("127.0.0.1:40000".into()),
            size: Some(5),
            head: head(b"hello"),
            error: None,
        };
        assert_eq!(
            event.line(),
            " 0.500000 Thread-1     #3 udp 127.0.0.1:9999 <- 127.0.0.1:40000  recvfrom 5 bytes b\"hello\""
        );
        let json = serde_json::to_string(&event).unwrap_or_default();
        let back: Option<Event> = serde_json::from_str(&json).ok();
        assert_eq!(back, Some(event));
    }
}
