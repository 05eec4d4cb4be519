//! The native ceiling and the load generator for bench/run.sh: the same
//! workloads as bench/*.rhai written with Rust's std::net and threads, and
//! clients that drive a server script from outside.
//!
//!     cargo bench --bench native -- tcp_roundtrip N     round trips/s, one client, upper-case server
//!     cargo bench --bench native -- udp_pingpong N      UDP ping-pongs/s
//!     cargo bench --bench native -- tcp_bulk MB         bytes/s over one TCP connection
//!     cargo bench --bench native -- clients PORT C R    C clients x R requests against 127.0.0.1:PORT;
//!                                                       prints requests/s and the number of errors
//!     cargo bench --bench native -- hold PORT N         opens N idle connections, prints "held N",
//!                                                       waits for a line on stdin, then sends one
//!                                                       request on each and prints "answered K"
//!
//! Each prints one number (or two) on stdout so the bench script can take
//! ratios. Nothing here is a test: no speed is asserted.

use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const REQUEST: &[u8] = b"hello, server";

fn upper_server(listener: TcpListener) -> std::thread::JoinHandle<Result<()>> {
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept()?;
        let mut buf = [0u8; 1024];
        loop {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            conn.write_all(&buf[..n].to_ascii_uppercase())?;
        }
    })
}

fn tcp_roundtrip(n: u64) -> Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = upper_server(listener);
    let mut client = TcpStream::connect(addr)?;
    let mut reply = [0u8; 1024];
    let start = Instant::now();
    for _ in 0..n {
        client.write_all(REQUEST)?;
        let got = client.read(&mut reply)?;
        if got == 0 {
            return Err("server closed".into());
        }
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(client);
    server.join().map_err(|_| "server panicked")??;
    Ok(rate)
}

fn udp_pingpong(n: u64) -> Result<f64> {
    let server = UdpSocket::bind("127.0.0.1:0")?;
    let addr = server.local_addr()?;
    let echo = std::thread::spawn(move || -> Result<()> {
        let mut buf = [0u8; 1024];
        loop {
            let (got, from) = server.recv_from(&mut buf)?;
            if got == 0 {
                return Ok(());
            }
            server.send_to(&buf[..got], from)?;
        }
    });
    let client = UdpSocket::bind("127.0.0.1:0")?;
    let mut buf = [0u8; 1024];
    let start = Instant::now();
    for _ in 0..n {
        client.send_to(b"ping", addr)?;
        client.recv_from(&mut buf)?;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    client.send_to(b"", addr)?;
    echo.join().map_err(|_| "echo panicked")??;
    Ok(rate)
}

fn tcp_bulk(megabytes: u64) -> Result<f64> {
    let total = megabytes * 1024 * 1024;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let start = Instant::now();
    let receiver = std::thread::spawn(move || -> Result<u64> {
        let (mut conn, _) = listener.accept()?;
        let mut buf = vec![0u8; 65536];
        let mut got = 0;
        loop {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(got);
            }
            got += n as u64;
        }
    });
    let mut sender = TcpStream::connect(addr)?;
    let chunk = vec![b'x'; 65536];
    let mut sent = 0;
    while sent < total {
        sender.write_all(&chunk)?;
        sent += chunk.len() as u64;
    }
    sender.shutdown(Shutdown::Write)?;
    let got = receiver.join().map_err(|_| "receiver panicked")??;
    if got != sent {
        return Err(format!("sent {sent} bytes, received {got}").into());
    }
    Ok(got as f64 / start.elapsed().as_secs_f64())
}

/// One client: `requests` round trips, each reply checked.
fn one_client(port: u16, requests: u64) -> Result<()> {
    let mut conn = TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let expected = REQUEST.to_ascii_uppercase();
    let mut reply = vec![0u8; REQUEST.len()];
    for _ in 0..requests {
        conn.write_all(REQUEST)?;
        conn.read_exact(&mut reply)?;
        if reply != expected {
            return Err("wrong reply".into());
        }
    }
    Ok(())
}

fn clients(port: u16, clients: u64, requests: u64) -> Result<(f64, u64)> {
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| std::thread::spawn(move || one_client(port, requests)))
        .collect();
    let mut errors = 0;
    for handle in handles {
        if !matches!(handle.join(), Ok(Ok(()))) {
            errors += 1;
        }
    }
    Ok(((clients * requests) as f64 / start.elapsed().as_secs_f64(), errors))
}

fn hold(port: u16, n: usize) -> Result<()> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let conn = TcpStream::connect(("127.0.0.1", port))?;
        conn.set_read_timeout(Some(Duration::from_secs(60)))?;
        held.push(conn);
    }
    println!("held {}", held.len());
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let expected = REQUEST.to_ascii_uppercase();
    let mut answered = 0;
    for conn in &mut held {
        conn.write_all(REQUEST)?;
    }
    let mut reply = vec![0u8; REQUEST.len()];
    for conn in &mut held {
        if conn.read_exact(&mut reply).is_ok() && reply == expected {
            answered += 1;
        }
    }
    println!("answered {answered}");
    Ok(())
}

fn number(args: &[String], i: usize, default: u64) -> Result<u64> {
    match args.get(i) {
        Some(text) => Ok(text.parse()?),
        None => Ok(default),
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.first().map(String::as_str) {
        Some("tcp_roundtrip") => println!("{:.0}", tcp_roundtrip(number(&args, 1, 20000)?)?),
        Some("udp_pingpong") => println!("{:.0}", udp_pingpong(number(&args, 1, 20000)?)?),
        Some("tcp_bulk") => println!("{:.0}", tcp_bulk(number(&args, 1, 10)?)?),
        Some("clients") => {
            let port = u16::try_from(number(&args, 1, 8000)?)?;
            let (rate, errors) = clients(port, number(&args, 2, 200)?, number(&args, 3, 100)?)?;
            println!("{rate:.0} {errors}");
        }
        Some("hold") => hold(
            u16::try_from(number(&args, 1, 8000)?)?,
            usize::try_from(number(&args, 2, 10000)?)?,
        )?,
        _ => {
            // `cargo bench` with no arguments: the ceilings at full size.
            println!("tcp_roundtrip {:.0}/s", tcp_roundtrip(20000)?);
            println!("udp_pingpong  {:.0}/s", udp_pingpong(20000)?);
            println!("tcp_bulk      {:.0} MB/s", tcp_bulk(10)? / 1e6);
            println!("(bench/run.sh compares these with sockrepl and Python)");
        }
    }
    Ok(())
}
