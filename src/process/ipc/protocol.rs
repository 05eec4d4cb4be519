//! The frames between a child's queue handle and its parent's broker.
//!
//! Each frame is a 4-byte big-endian length and a JSON body. A connection
//! starts with a [`Hello`] carrying the run's secret; then each request
//! gets one reply, and a `get` that delivered an item is confirmed with an
//! [`Ack`]: until the broker has it, the item is not counted as taken, so
//! a child killed or cancelled mid-`get` never swallows one.
//!
//! Everything here parses bytes from another process, so it never
//! panics and never allocates more than [`MAX_FRAME`] for a frame; it is
//! fuzzed (fuzz/fuzz_targets/broker_frame.rs).

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::wire::Wire;
use crate::sync::Block;

/// Frames larger than this are refused rather than allocated.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// The first frame of a connection.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    /// The run's secret, from the child's job.
    pub secret: String,
}

/// What a queue operation asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Add an item.
    Put,
    /// Take the oldest item.
    Get,
    /// Count the items.
    Qsize,
    /// Is a bounded queue full?
    Full,
}

/// One operation on one queue.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The queue's id in the broker.
    pub queue: u64,
    /// What to do.
    pub op: Op,
    /// The item, for `put`.
    pub item: Option<Wire>,
    /// How long to wait.
    pub block: Block,
}

/// The confirmation that a `get`'s item arrived.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ack;

/// A failed operation, as the child re-raises it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Failure {
    /// The Python exception class.
    pub class: String,
    /// The message.
    pub message: String,
    /// The hint, if any.
    pub hint: Option<String>,
}

/// The broker's answer.
pub type Reply = Result<Wire, Failure>;

/// Parses a frame body as `T`; `None` for anything malformed.
pub fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Option<T> {
    serde_json::from_slice(body).ok()
}

/// Reads one frame; `None` at a clean end of the connection.
pub async fn read_frame(conn: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Option<Vec<u8>>> {
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

/// Writes `value` as one frame.
pub async fn write_frame(conn: &mut (impl AsyncWrite + Unpin), value: &impl Serialize) -> std::io::Result<()> {
    let body = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&n| n as usize <= MAX_FRAME)
        .ok_or_else(|| std::io::Error::other("queue message too large"))?;
    conn.write_all(&len.to_be_bytes()).await?;
    conn.write_all(&body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_frames_parse_to_nothing() {
        assert!(parse::<Request>(b"{").is_none());
        assert!(parse::<Request>(b"{\"queue\":1,\"op\":\"Steal\",\"item\":null,\"block\":\"No\"}").is_none());
        assert!(parse::<Hello>(&[0xff, 0xfe]).is_none());
        let ok = parse::<Request>(b"{\"queue\":1,\"op\":\"Get\",\"item\":null,\"block\":\"Forever\"}");
        assert!(ok.is_some_and(|r| r.op == Op::Get));
    }
}
