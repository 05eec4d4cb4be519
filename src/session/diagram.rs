//! Sequence diagrams drawn from a recorded trace (`repl --diagram`).
//!
//! One lifeline per socket address, in the order they first appear; an
//! arrow per datagram or per chunk of a stream, labelled with what it
//! carries (TFTP packets decoded, printable text quoted, else its size);
//! a send whose receiver was traced but never received it is drawn as
//! lost, and a datagram that a relay received and did not pass on as
//! dropped. A lifeline is titled by its role (server, client, ...) or by
//! the name the script gave its task. Notes mark binds, listens, accepts,
//! closes and errors. Times and ephemeral port numbers are left out (a
//! silence of half a second or more is marked, in whole seconds), so the
//! same program draws the same picture on every run: the book's diagrams
//! are checked to be current.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::net::trace::Event;

const LANE: usize = 180;
const LEFT: usize = 40;
const TOP: usize = 70;
const ROW: usize = 30;

enum Item {
    Arrow {
        from: usize,
        to: usize,
        label: String,
        lost: bool,
        dashed: bool,
    },
    Note {
        at: usize,
        text: String,
        error: bool,
    },
    /// Nothing happened for a while (a timer ran out, say).
    Pause {
        seconds: f64,
    },
}

/// Silences shorter than this are not marked.
const PAUSE: f64 = 0.5;

/// Task names the runtime gives; any other name was chosen by the script
/// and titles the task's lifelines.
fn is_default_name(task: &str) -> bool {
    task == "MainThread" || task.strip_prefix("Thread-").is_some_and(|n| n.parse::<u64>().is_ok())
}

/// Draws the JSON-lines trace `events` as an SVG sequence diagram titled
/// `title`; the error says which line could not be read.
pub fn trace_diagram(events: &str, title: &str) -> Result<String, String> {
    let mut parsed = Vec::new();
    for (number, line) in events.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Event =
            serde_json::from_str(line).map_err(|e| format!("line {} of the trace is not an event: {e}", number + 1))?;
        parsed.push(event);
    }
    same_endpoints(&mut parsed);
    let parsed = canonical_order(parsed);
    let lanes = Lanes::of(&parsed);
    let items = items(&parsed, &lanes);
    Ok(svg(title, &lanes, &items))
}

fn is_broadcast(address: &str) -> bool {
    address.rsplit_once(':').is_some_and(|(host, _)| host.ends_with(".255"))
}

/// A socket bound to every interface reports itself as `0.0.0.0:P` (or
/// `[::]:P`) while its peers see `127.0.0.1:P`: one endpoint, one name.
fn same_endpoints(events: &mut [Event]) {
    let wildcard = |a: &str| a.starts_with("0.0.0.0:") || a.starts_with("[::]:");
    let port = |a: &str| a.rsplit(':').next().map(str::to_string);
    let broadcast = |a: &str| a.rsplit_once(':').is_some_and(|(host, _)| host.ends_with(".255"));
    // Sockets bound to one address together (broadcast receivers with
    // SO_REUSEADDR) are separate lifelines.
    let mut bound_by: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.op == "bind") {
        if let Some(local) = &e.local {
            let socks = bound_by.entry(local.clone()).or_default();
            if !socks.contains(&e.sock) {
                socks.push(e.sock);
            }
        }
    }
    for e in events.iter_mut() {
        if let Some(local) = &e.local
            && let Some(socks) = bound_by.get(local).filter(|s| s.len() > 1)
            && let Some(nth) = socks.iter().position(|&s| s == e.sock)
        {
            e.local = Some(format!("{local} #{}", nth + 1));
        }
    }
    // Each connection a listening socket accepted is a lifeline of its own
    // (its own socket, served by its own task); what its client sends to
    // the server's address arrives there.
    let listeners: BTreeMap<String, u64> = events
        .iter()
        .filter(|e| e.op == "listen")
        .filter_map(|e| Some((e.local.clone()?, e.sock)))
        .collect();
    let mut connections: Vec<(String, u64, String)> = Vec::new();
    for e in events.iter() {
        if let (Some(local), Some(peer)) = (&e.local, &e.peer)
            && listeners.get(local).is_some_and(|&l| l != e.sock)
            && !connections.iter().any(|(_, sock, _)| *sock == e.sock)
        {
            connections.push((local.clone(), e.sock, peer.clone()));
        }
    }
    // Numbered in the order the server accepted them (one task accepts,
    // one after the other), not in the order their tasks were recorded.
    let accepted = |client: &str| {
        events
            .iter()
            .position(|e| e.op == "accept" && e.peer.as_deref() == Some(client))
            .unwrap_or(usize::MAX)
    };
    connections.sort_by_key(|(_, _, client)| accepted(client));
    let lane_of = |local: &str, sock: u64| {
        connections
            .iter()
            .position(|(_, s, _)| *s == sock)
            .map(|n| format!("{local} #conn{}", n + 1))
    };
    for e in events.iter_mut() {
        if let Some(local) = e.local.clone()
            && let Some(lane) = lane_of(&local, e.sock)
        {
            e.local = Some(lane);
        } else if e.op != "connect"
            && let (Some(local), Some(peer)) = (&e.local, &e.peer)
            && let Some(n) = connections
                .iter()
                .position(|(server, _, client)| server == peer && client == local)
        {
            e.peer = Some(format!("{peer} #conn{}", n + 1));
        }
    }
    let concrete: Vec<String> = events
        .iter()
        .flat_map(|e| [e.local.clone(), e.peer.clone()])
        .flatten()
        .filter(|a| !wildcard(a) && !broadcast(a) && !a.contains(" #"))
        .collect();
    for e in events.iter_mut() {
        for address in [&mut e.local, &mut e.peer].into_iter().flatten() {
            if wildcard(address)
                && let Some(real) = concrete.iter().find(|c| port(c) == port(address))
            {
                *address = real.clone();
            }
        }
    }
}

/// The events in an order that does not depend on timing: each task's
/// own events in the order it did them; a receive after the send it got,
/// an accept after its connect, "peer closed" after the peer's close; and
/// among events that could come next, the main thread's first, then
/// Thread-1's, and so on (each task runs until it waits for another).
/// Which task did `e`, ordered as tasks started: by number, or in a trace
/// without numbers by the runtime's name (MainThread, Thread-1, ...).
fn task_of(e: &Event) -> (u64, &str) {
    if e.tid != 0 {
        return (e.tid, "");
    }
    let rank = match e.task.as_str() {
        "MainThread" => 0,
        other => other
            .strip_prefix("Thread-")
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX),
    };
    (rank, e.task.as_str())
}

fn canonical_order(events: Vec<Event>) -> Vec<Event> {
    let n = events.len();
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waits = vec![0usize; n];
    let mut depends = |before: usize, then: usize, after: &mut Vec<Vec<usize>>| {
        after[before].push(then);
        waits[then] += 1;
    };
    let mut last_of_task: BTreeMap<(u64, &str), usize> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if let Some(&previous) = last_of_task.get(&task_of(e)) {
            depends(previous, i, &mut after);
        }
        last_of_task.insert(task_of(e), i);
    }
    for (r, recv) in events.iter().enumerate() {
        let cause = events.iter().position(|c| {
            let closes = recv.size == Some(0) && c.op == "close";
            let sends = recv.size != Some(0)
                && matches!(c.op.as_str(), "send" | "sendall" | "sendto")
                && (recv.head.starts_with(&c.head) || c.head.starts_with(&recv.head));
            let connects = recv.op == "accept" && c.op == "connect";
            let pair = c.local == recv.peer && c.peer == recv.local;
            pair && (closes || connects || (sends && matches!(recv.op.as_str(), "recv" | "recvfrom")))
        });
        if let Some(c) = cause
            && c != r
            && matches!(recv.op.as_str(), "recv" | "recvfrom" | "accept")
        {
            depends(c, r, &mut after);
        }
    }
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n)
            .filter(|&i| !done[i] && waits[i] == 0)
            .min_by_key(|&i| (task_of(&events[i]), i))
            // A cycle (two sends matching one receive): take the oldest.
            .or_else(|| (0..n).find(|&i| !done[i]));
        let Some(next) = next else { break };
        done[next] = true;
        order.push(next);
        for &then in &after[next] {
            waits[then] = waits[then].saturating_sub(1);
        }
    }
    let mut slots: Vec<Option<Event>> = events.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The lifelines: one per address, named by role.
struct Lanes {
    order: Vec<String>,
    names: BTreeMap<String, String>,
}

impl Lanes {
    fn of(events: &[Event]) -> Lanes {
        let mut order: Vec<String> = Vec::new();
        // What each address did first that tells its role.
        let mut first: BTreeMap<String, String> = BTreeMap::new();
        // Which task used each address last (not the one that bound it for
        // another), and the name it had last.
        let mut user: BTreeMap<String, (u64, &str)> = BTreeMap::new();
        let mut last_name: BTreeMap<(u64, &str), &str> = BTreeMap::new();
        for e in events {
            last_name.insert(task_of(e), e.task.as_str());
            if let Some(local) = &e.local {
                user.insert(local.clone(), task_of(e));
            }
            for address in [&e.local, &e.peer].into_iter().flatten() {
                if !order.contains(address) && !address.ends_with(":0") {
                    order.push(address.clone());
                }
            }
            if let Some(local) = &e.local
                && matches!(
                    e.op.as_str(),
                    "listen" | "connect" | "send" | "sendall" | "sendto" | "recv" | "recvfrom"
                )
            {
                let broadcast = e.peer.as_ref().is_some_and(|p| is_broadcast(p));
                let did = if broadcast {
                    "broadcast".to_string()
                } else {
                    e.op.clone()
                };
                first.entry(local.clone()).or_insert(did);
            }
        }
        // A server's connections stand beside it.
        let mut grouped: Vec<String> = Vec::new();
        for address in &order {
            if address.contains(" #conn") {
                continue;
            }
            grouped.push(address.clone());
            let prefix = format!("{address} #conn");
            let mut connections: Vec<&String> = order.iter().filter(|a| a.starts_with(&prefix)).collect();
            connections.sort_by_key(|a| a[prefix.len()..].parse::<usize>().unwrap_or(usize::MAX));
            grouped.extend(connections.into_iter().cloned());
        }
        let order = grouped;
        let mut names = BTreeMap::new();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for address in &order {
            let (plain, copy) = address.split_once(" #").unwrap_or((address.as_str(), ""));
            let port = plain
                .rsplit(':')
                .next()
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(0);
            let host = plain.rsplit_once(':').map_or(plain, |(h, _)| h);
            let shown_port = if port >= 32768 {
                "*".to_string()
            } else {
                port.to_string()
            };
            let kind = if is_broadcast(plain) {
                "broadcast address"
            } else if let Some(n) = copy.strip_prefix("conn") {
                names.insert(address.clone(), format!("server, connection {n}\n{host}:{shown_port}"));
                continue;
            } else if !copy.is_empty() {
                "receiver"
            } else if let Some(task) = user
                .get(address)
                .and_then(|t| last_name.get(t))
                .filter(|n| !is_default_name(n))
            {
                task
            } else {
                match first.get(address).map(String::as_str) {
                    Some("listen" | "recv" | "recvfrom") => "server",
                    Some("broadcast") => "sender",
                    _ => "client",
                }
            };
            let count = counts.entry(kind).or_default();
            *count += 1;
            let role = if *count == 1 && kind != "receiver" {
                kind.to_string()
            } else {
                format!("{kind} {count}")
            };
            names.insert(address.clone(), format!("{role}\n{host}:{shown_port}"));
        }
        Lanes { order, names }
    }

    fn index(&self, address: &Option<String>) -> Option<usize> {
        let address = address.as_ref()?;
        self.order.iter().position(|a| a == address)
    }
}

/// Pairs each receive with the send it got, wherever each was recorded
/// (a receive can be recorded before its send: the sender records after
/// its system call returns). `sent[i]` is the receive of a send that
/// arrived, `got[i]` true for a receive whose send is in the trace.
fn deliveries(events: &[Event]) -> (Vec<Option<usize>>, Vec<bool>) {
    let mut sent = vec![None; events.len()];
    let mut got = vec![false; events.len()];
    for (r, recv) in events.iter().enumerate() {
        if !matches!(recv.op.as_str(), "recv" | "recvfrom") || recv.size == Some(0) {
            continue;
        }
        let matching = events.iter().enumerate().position(|(s, send)| {
            sent[s].is_none()
                && matches!(send.op.as_str(), "send" | "sendall" | "sendto")
                && send.local == recv.peer
                && send.peer == recv.local
                && (recv.head.starts_with(&send.head) || send.head.starts_with(&recv.head))
        });
        if let Some(s) = matching {
            sent[s] = Some(r);
            got[r] = true;
        }
    }
    (sent, got)
}

/// `dropped[i]` is true for a datagram that a relay (a socket that
/// passes on what it receives, as a lossy relay does) received and did
/// not pass on: its next event was another receive, or none.
fn relay_drops(events: &[Event]) -> Vec<bool> {
    let mut dropped = vec![false; events.len()];
    let next_on_socket = |i: usize| {
        let e = &events[i];
        events[i + 1..]
            .iter()
            .find(|n| n.task == e.task && n.sock == e.sock && n.error.is_none())
    };
    let forwards = |recv: &Event, next: &Event| next.op == "sendto" && next.head == recv.head && next.peer != recv.peer;
    let relays: Vec<u64> = events
        .iter()
        .enumerate()
        .filter(|(i, e)| e.op == "recvfrom" && e.error.is_none() && next_on_socket(*i).is_some_and(|n| forwards(e, n)))
        .map(|(_, e)| e.sock)
        .collect();
    for (i, e) in events.iter().enumerate() {
        if e.op == "recvfrom" && e.error.is_none() && relays.contains(&e.sock) {
            dropped[i] = !next_on_socket(i).is_some_and(|n| forwards(e, n));
        }
    }
    dropped
}

fn items(events: &[Event], lanes: &Lanes) -> Vec<Item> {
    let traced: Vec<&String> = events.iter().filter_map(|e| e.local.as_ref()).collect();
    let (sent, got) = deliveries(events);
    let dropped = relay_drops(events);
    let mut items = Vec::new();
    let mut latest = events.first().map_or(0.0, |e| e.t);
    for (i, e) in events.iter().enumerate() {
        if e.t - latest >= PAUSE {
            items.push(Item::Pause { seconds: e.t - latest });
        }
        latest = latest.max(e.t);
        let here = lanes.index(&e.local);
        if let Some(error) = &e.error {
            if let Some(at) = here.or_else(|| lanes.index(&e.peer)) {
                items.push(Item::Note {
                    at,
                    text: format!("{}: {}", e.op, error.split(" (").next().unwrap_or(error)),
                    error: true,
                });
            }
            continue;
        }
        let datagram = e.kind.starts_with("udp");
        match e.op.as_str() {
            "send" | "sendall" | "sendto" => {
                if let (Some(from), Some(to)) = (here, lanes.index(&e.peer)) {
                    // Only a datagram can be lost; a stream's chunks may be
                    // merged or split on the way.
                    let lost = datagram && sent[i].is_none() && e.peer.as_ref().is_some_and(|p| traced.contains(&p));
                    items.push(Item::Arrow {
                        from,
                        to,
                        label: describe(e),
                        lost,
                        dashed: false,
                    });
                    if sent[i].is_some_and(|r| dropped[r]) {
                        items.push(Item::Note {
                            at: to,
                            text: "✕ dropped".into(),
                            error: true,
                        });
                    }
                }
            }
            "recv" | "recvfrom" if dropped[i] => {}
            "recv" | "recvfrom" => {
                if e.size == Some(0) && !datagram {
                    if let Some(at) = here {
                        items.push(Item::Note {
                            at,
                            text: "recv → b\"\": peer closed".into(),
                            error: false,
                        });
                    }
                } else if !got[i]
                    && let (Some(from), Some(to)) = (lanes.index(&e.peer), here)
                {
                    // Sent by a peer outside the trace.
                    items.push(Item::Arrow {
                        from,
                        to,
                        label: describe(e),
                        lost: false,
                        dashed: false,
                    });
                }
            }
            "connect" => {
                if let (Some(from), Some(to)) = (here, lanes.index(&e.peer)) {
                    let label = if datagram {
                        "connect (sets the peer)"
                    } else {
                        "connect: SYN, SYN-ACK, ACK"
                    };
                    items.push(Item::Arrow {
                        from,
                        to,
                        label: label.into(),
                        lost: false,
                        dashed: true,
                    });
                }
            }
            "accept" | "bind" | "listen" | "shutdown" => {
                if let Some(at) = here {
                    items.push(Item::Note {
                        at,
                        text: e.op.clone(),
                        error: false,
                    });
                }
            }
            "close" => match (here, lanes.index(&e.peer)) {
                (Some(from), Some(to)) if !datagram => items.push(Item::Arrow {
                    from,
                    to,
                    label: "close: FIN".into(),
                    lost: false,
                    dashed: true,
                }),
                (Some(at), _) => items.push(Item::Note {
                    at,
                    text: "close".into(),
                    error: false,
                }),
                _ => {}
            },
            _ => {}
        }
    }
    items
}

/// What a payload is, in a few words.
fn describe(e: &Event) -> String {
    let data = e.head_bytes();
    let size = e.size.unwrap_or(data.len());
    if e.kind.starts_with("udp")
        && let Some(tftp) = tftp(&data, size)
    {
        return tftp;
    }
    let printable = !data.is_empty()
        && data
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r');
    if printable {
        let text: String = String::from_utf8_lossy(&data).replace('\n', "\\n").replace('\r', "\\r");
        let cut = text.chars().count() > 26 || size > data.len();
        let shown: String = text.chars().take(26).collect();
        return format!("\"{shown}{}\"", if cut { "…" } else { "" });
    }
    format!("{size} bytes")
}

/// A TFTP packet as RFC 1350 names it, if `data` is one.
fn tftp(data: &[u8], size: usize) -> Option<String> {
    let opcode = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
    let strings = || -> Vec<String> {
        data[2..]
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    };
    let number = || u16::from_be_bytes([data.get(2).copied().unwrap_or(0), data.get(3).copied().unwrap_or(0)]);
    Some(match opcode {
        1 | 2 => {
            let parts = strings();
            let name = if opcode == 1 { "RRQ" } else { "WRQ" };
            if parts.len() < 2 {
                return None;
            }
            let options = parts[2..]
                .chunks(2)
                .map(|kv| kv.join("="))
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "{name} {} {}{}{options}",
                parts[0],
                parts[1],
                if options.is_empty() { "" } else { " " }
            )
        }
        3 if size >= 4 => format!("DATA {} ({} bytes)", number(), size - 4),
        4 if size == 4 => format!("ACK {}", number()),
        5 if size >= 4 => {
            let message = data.get(4..).unwrap_or_default();
            let end = message.iter().position(|&b| b == 0).unwrap_or(message.len());
            format!("ERROR {} {}", number(), String::from_utf8_lossy(&message[..end]))
        }
        6 => format!(
            "OACK {}",
            strings().chunks(2).map(|kv| kv.join("=")).collect::<Vec<_>>().join(" ")
        ),
        _ => return None,
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn svg(title: &str, lanes: &Lanes, items: &[Item]) -> String {
    // Notes are written to the right of a lifeline: room for the last.
    let width = LEFT * 2 + LANE * lanes.order.len().max(1) + 80;
    let height = TOP + 50 + ROW * (items.len() + 1);
    let x = |lane: usize| LEFT + LANE / 2 + lane * LANE;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="13">"##
    );
    let _ = writeln!(out, r##"  <title>{}</title>"##, escape(title));
    let _ = writeln!(
        out,
        r##"  <defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>"##
    );
    let _ = writeln!(out, r##"  <rect width="{width}" height="{height}" fill="white"/>"##);
    let _ = writeln!(
        out,
        r##"  <text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"##,
        width / 2,
        escape(title)
    );
    for (lane, address) in lanes.order.iter().enumerate() {
        let name = lanes.names.get(address).cloned().unwrap_or_default();
        let (role, place) = name.split_once('\n').unwrap_or((name.as_str(), ""));
        let cx = x(lane);
        let _ = writeln!(
            out,
            r##"  <rect x="{}" y="34" width="{}" height="36" rx="5" fill="#eef3fb" stroke="#4a6fa5"/>"##,
            cx - 80,
            160
        );
        let _ = writeln!(
            out,
            r##"  <text x="{cx}" y="49" text-anchor="middle" font-weight="bold">{}</text>"##,
            escape(role)
        );
        let _ = writeln!(
            out,
            r##"  <text x="{cx}" y="64" text-anchor="middle" font-family="monospace" font-size="12">{}</text>"##,
            escape(place)
        );
        let _ = writeln!(
            out,
            r##"  <line x1="{cx}" y1="70" x2="{cx}" y2="{}" stroke="#999" stroke-dasharray="4 4"/>"##,
            height - 10
        );
    }
    for (row, item) in items.iter().enumerate() {
        let y = TOP + 30 + row * ROW;
        match item {
            Item::Arrow {
                from,
                to,
                label,
                lost,
                dashed,
            } => {
                let (x1, x2) = (x(*from), x(*to));
                let end = if *lost { (x1 + x2) / 2 } else { x2 };
                let dash = if *dashed { r##" stroke-dasharray="6 3""## } else { "" };
                let marker = if *lost { "" } else { r##" marker-end="url(#head)""## };
                if from == to {
                    let _ = writeln!(
                        out,
                        r##"  <path d="M{x1},{} h30 v14 h-30" fill="none" stroke="#333"{dash}{marker}/>"##,
                        y - 7
                    );
                } else {
                    let _ = writeln!(
                        out,
                        r##"  <line x1="{x1}" y1="{y}" x2="{end}" y2="{y}" stroke="#333"{dash}{marker}/>"##
                    );
                }
                if *lost {
                    let _ = writeln!(
                        out,
                        r##"  <text x="{end}" y="{}" text-anchor="middle" fill="#c0392b" font-weight="bold">✕ lost</text>"##,
                        y + 5
                    );
                }
                let mid = (x1 + x2) / 2;
                let _ = writeln!(
                    out,
                    r##"  <text x="{mid}" y="{}" text-anchor="middle" font-family="monospace" font-size="12">{}</text>"##,
                    y - 5,
                    escape(label)
                );
            }
            Item::Pause { seconds } => {
                let _ = writeln!(
                    out,
                    r##"  <text x="{}" y="{}" text-anchor="middle" fill="#555" font-style="italic">⋯ {seconds:.0} s later ⋯</text>"##,
                    width / 2,
                    y + 4
                );
            }
            Item::Note { at, text, error } => {
                let cx = x(*at);
                let colour = if *error { "#c0392b" } else { "#555" };
                let _ = writeln!(
                    out,
                    r##"  <text x="{}" y="{}" fill="{colour}" font-style="italic">{}</text>"##,
                    cx + 8,
                    y + 4,
                    escape(text)
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(op: &str, local: &str, peer: &str, data: &[u8]) -> String {
        by(0.0, "MainThread", 1, op, local, peer, data)
    }

    /// An event at time `t` of task `task` (numbered `tid`; its socket too).
    fn by(t: f64, task: &str, tid: u64, op: &str, local: &str, peer: &str, data: &[u8]) -> String {
        let event = Event {
            t,
            task: task.into(),
            tid,
            sock: tid,
            kind: "udp".into(),
            op: op.into(),
            local: Some(local.into()),
            peer: Some(peer.into()),
            size: Some(data.len()),
            head: crate::net::trace::head(data),
            error: None,
        };
        serde_json::to_string(&event).unwrap_or_default()
    }

    #[test]
    fn a_delivered_datagram_is_one_arrow_and_a_lost_one_ends_in_a_cross() {
        let trace = [
            event("sendto", "127.0.0.1:40000", "127.0.0.1:9999", b"hello"),
            event("recvfrom", "127.0.0.1:9999", "127.0.0.1:40000", b"hello"),
            event("sendto", "127.0.0.1:9999", "127.0.0.1:40000", b"\x00\x03\x00\x01abc"),
        ]
        .join("\n");
        let picture = trace_diagram(&trace, "echo").unwrap_or_default();
        assert_eq!(picture.matches("marker-end").count(), 1, "{picture}");
        assert!(picture.contains("&quot;hello&quot;"), "{picture}");
        assert!(picture.contains("DATA 1 (3 bytes)"), "{picture}");
        assert!(picture.contains("✕ lost"), "{picture}");
        assert!(
            picture.contains("127.0.0.1:*") && picture.contains("127.0.0.1:9999"),
            "{picture}"
        );
    }

    #[test]
    fn a_relay_that_passes_nothing_on_drops_and_a_long_silence_is_marked() {
        let (client, relay, server) = ("127.0.0.1:40000", "127.0.0.1:6970", "127.0.0.1:6969");
        let trace = [
            by(0.0, "MainThread", 1, "sendto", client, relay, b"one"),
            by(0.0, "lossy relay", 2, "recvfrom", relay, client, b"one"),
            by(1.2, "MainThread", 1, "sendto", client, relay, b"two"),
            by(1.2, "lossy relay", 2, "recvfrom", relay, client, b"two"),
            by(1.2, "lossy relay", 2, "sendto", relay, server, b"two"),
            by(1.2, "server", 3, "recvfrom", server, relay, b"two"),
        ]
        .join("\n");
        let picture = trace_diagram(&trace, "relay").unwrap_or_default();
        assert_eq!(picture.matches("✕ dropped").count(), 1, "{picture}");
        assert!(!picture.contains("✕ lost"), "{picture}");
        assert!(picture.contains("1 s later"), "{picture}");
        // Named tasks title their lifelines; the client keeps its role.
        assert!(
            picture.contains(">lossy relay<") && picture.contains(">server<"),
            "{picture}"
        );
        assert!(picture.contains(">client<"), "{picture}");
        // The drop is drawn right after the datagram that was dropped,
        // before the silence.
        let dropped = picture.find("✕ dropped").unwrap_or(usize::MAX);
        assert!(dropped < picture.find("1 s later").unwrap_or(0), "{picture}");
    }

    #[test]
    fn a_task_renamed_while_it_runs_is_one_task_titled_by_its_last_name() {
        let trace = [
            by(
                0.0,
                "Thread-1",
                5,
                "recvfrom",
                "127.0.0.1:6969",
                "127.0.0.1:40000",
                b"x",
            ),
            by(
                0.0,
                "sending hello.txt",
                5,
                "sendto",
                "127.0.0.1:6969",
                "127.0.0.1:40000",
                b"y",
            ),
        ]
        .join("\n");
        let picture = trace_diagram(&trace, "renamed").unwrap_or_default();
        assert!(picture.contains(">sending hello.txt<"), "{picture}");
        assert!(!picture.contains(">server<"), "{picture}");
    }

    #[test]
    fn tftp_packets_are_named() {
        assert_eq!(
            tftp(b"\x00\x01hello.txt\x00octet\x00", 17).as_deref(),
            Some("RRQ hello.txt octet")
        );
        assert_eq!(tftp(b"\x00\x04\x00\x07", 4).as_deref(), Some("ACK 7"));
        assert_eq!(
            tftp(b"\x00\x05\x00\x01File not found\x00", 19).as_deref(),
            Some("ERROR 1 File not found")
        );
        assert_eq!(tftp(b"hi", 2), None);
    }
}
