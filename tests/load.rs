//! Load: the course's task-per-client server (scripts/tcp_upper_server_threaded.rhai)
//! holding 1,000 clients at once, each sending 100 messages, every reply
//! checked byte for byte. Alone in its own test binary so that its
//! thousand threads do not crowd other tests.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{Running, repl, repo};

const CLIENTS: usize = 1000;
const MESSAGES: usize = 100;

/// Message `i` of client `c`: lower-case letters and digits, 1 to 1000
/// bytes, different for every client and message.
fn message(c: usize, i: usize) -> Vec<u8> {
    let len = 1 + (c * 131 + i * 977) % 1000;
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 ";
    (0..len)
        .map(|k| alphabet[(c * 7 + i * 13 + k * 31) % alphabet.len()])
        .collect()
}

/// Connects, waits for every other client to connect too, then sends its
/// messages one at a time and checks each reply. Returns the number of
/// replies that were exact.
fn client(port: u16, c: usize, all_connected: &Barrier) -> Result<usize, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("client {c}: connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    all_connected.wait();
    let mut exact = 0;
    for i in 0..MESSAGES {
        let sent = message(c, i);
        stream
            .write_all(&sent)
            .map_err(|e| format!("client {c} message {i}: send: {e}"))?;
        let mut reply = vec![0u8; sent.len()];
        stream
            .read_exact(&mut reply)
            .map_err(|e| format!("client {c} message {i}: reply: {e}"))?;
        if reply == sent.to_ascii_uppercase() {
            exact += 1;
        }
    }
    Ok(exact)
}

#[test]
fn a_thousand_clients_times_a_hundred_messages_all_answered_exactly() {
    let mut cmd = repl();
    cmd.arg(repo("scripts/tcp_upper_server_threaded.rhai"))
        .arg("127.0.0.1:0")
        .stdin(Stdio::null());
    let mut server = Running::start(cmd);
    let line = server.line();
    let port: u16 = line
        .strip_prefix("listening on port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));

    let barrier = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let barrier = barrier.clone();
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || client(port, c, &barrier))
                .unwrap_or_else(|e| panic!("cannot start client thread {c}: {e}"))
        })
        .collect();
    let mut exact = 0;
    let mut errors = Vec::new();
    for handle in clients {
        match handle.join() {
            Ok(Ok(n)) => exact += n,
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a client thread panicked".to_string()),
        }
    }
    let _ = server.child.kill();
    let out = server.finish();
    assert!(
        errors.is_empty(),
        "{} clients failed, e.g. {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert_eq!(exact, CLIENTS * MESSAGES, "replies that were not exact");
    assert!(!out.stderr.contains("Exception"), "{}", out.stderr);
}
