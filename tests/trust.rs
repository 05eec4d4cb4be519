//! Trust boundaries: what a local user, a killed child, a script or an
//! embedder can do must never lose a queue item, steal a descriptor,
//! panic, abort or hang the process.

mod common;

use std::io::{Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Running, assert_has, ok, repl, run};

/// The abstract socket name of `pid`'s queue broker, from /proc/net/unix.
fn broker_of(pid: u32) -> String {
    let table = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
    let prefix = format!("@sockrepl-broker-{pid}-");
    table
        .split_whitespace()
        .find(|field| field.starts_with(&prefix))
        .map(|name| name.trim_start_matches('@').to_string())
        .unwrap_or_else(|| panic!("no broker of {pid} in /proc/net/unix"))
}

fn frame(body: &str) -> Vec<u8> {
    let mut out = u32::try_from(body.len()).unwrap_or(0).to_be_bytes().to_vec();
    out.extend_from_slice(body.as_bytes());
    out
}

/// A process that is not one of the script's children reaches the
/// broker's socket, sends a frame naming the script's listening socket
/// as a queue item, and is turned away: the socket keeps working and the
/// item never arrives.
#[test]
fn the_broker_turns_strangers_away_and_no_frame_names_a_descriptor() {
    let mut cmd = repl();
    cmd.args([
        "-e",
        r#"
        fn idle(q) { sleep(60); }
        let q = queue();
        let p = process(idle, q);
        let s = socket();
        s.bind("127.0.0.1:0");
        s.listen();
        print(`ready ${s.getsockname()[1]} ${s.fileno()}`);
        try { print(q.get(1)); } catch (e) { print(e.split(":")[0]); }
        let c = s.accept();
        print("still accepting");
        p.terminate();
        "#,
    ]);
    let mut script = Running::start(cmd);
    let ready = script.line();
    let fields: Vec<&str> = ready.split(' ').collect();
    let (port, fd) = (fields[1].to_string(), fields[2].to_string());
    let name = broker_of(script.child.id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut stranger = UnixStream::connect_addr(&addr).unwrap_or_else(|e| panic!("{e}"));
    stranger
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = stranger.write_all(&frame(r#"{"secret":"guess"}"#));
    let put = format!(
        r#"{{"queue":1,"op":"Put","item":{{"Socket":{{"slot":0,"kind":"tcp","listening":true,"fd":{fd}}}}},"block":"No"}}"#
    );
    let _ = stranger.write_all(&frame(&put));
    let mut reply = Vec::new();
    let closed = stranger.read_to_end(&mut reply);
    assert!(
        matches!(closed, Ok(0)) || closed.is_err(),
        "the broker should close the connection, got {reply:?}"
    );
    assert_eq!(script.line(), "queue.Empty", "no item may arrive from a stranger");
    std::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .unwrap_or_else(|e| panic!("the listening socket should still work: {e}"));
    assert_eq!(script.line(), "still accepting");
    let out = script.finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(!out.stderr.contains("IO Safety"), "{}", out.stderr);
}

/// Children blocked in `get` are killed; then producer and consumer
/// processes move 1,000 items. Every item put is got exactly once.
#[test]
fn no_item_is_lost_to_a_killed_getter() {
    let out = ok(r#"
        fn victim(q, ready) { ready.put(pid()); q.get(); }
        fn produce(q, base, n) { for i in 0..n { q.put(base + i); } }
        fn consume(q, out) { loop { let x = q.get(); if x < 0 { break; } out.put(x); } }
        let q = queue(); let out = queue(); let ready = queue();
        let victims = [];
        for i in 0..4 { victims.push(process(victim, q, ready)); }
        for v in victims { ready.get(10); }
        // Give them a moment to send their get; the result must not depend on it.
        sleep(0.2);
        for v in victims { v.kill(); }
        for v in victims { v.join(10); }
        let consumers = [];
        for i in 0..3 { consumers.push(process(consume, q, out)); }
        let producers = [process(produce, q, 0, 400), process(produce, q, 400, 300), process(produce, q, 700, 300)];
        for p in producers { p.join(); }
        for c in consumers { q.put(-1); }
        for c in consumers { c.join(); }
        let count = 0; let sum = 0; let seen = [];
        while !out.empty() { let x = out.get(); count += 1; sum += x; }
        print(`${count} ${sum}`);
    "#);
    // 0 + 1 + ... + 999
    assert_eq!(out.trim(), "1000 499500");
}

/// Pool results are freed once got: memory after 100,000 small jobs is
/// about what it was after 10,000.
#[test]
fn a_pool_keeps_its_memory_flat() {
    // 100,000 jobs take about 20 s in a debug build.
    let child = repl()
        .args(["-e", POOL_MEMORY])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let out = common::finish(child, Duration::from_secs(180));
    assert!(out.status.success(), "{}", out.stderr);
    let kib: Vec<i64> = out.stdout.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    assert_eq!(kib.len(), 2, "{}", out.stdout);
    let grew = kib[1] - kib[0];
    assert!(
        grew < 2 * 1024,
        "resident memory grew by {grew} KiB between 10k and 100k jobs ({kib:?})"
    );
}

const POOL_MEMORY: &str = r#"
        fn rss_kib() {
            let status = open("/proc/self/status").read().decode();
            for line in status.split("\n") {
                if line.starts_with("VmRSS:") { let kib = line.sub_string(6); kib.trim(); return parse_int(kib.split(" ")[0]); }
            }
            0
        }
        fn same(x) { x }
        let p = pool(2);
        let batch = [];
        for i in 0..1000 { batch.push(i); }
        let at = [];
        for round in 0..100 {
            let results = p.map(same, batch);
            if results.len() != 1000 { throw "lost results"; }
            if round == 9 || round == 99 { at.push(rss_kib()); }
        }
        p.close(); p.join();
        print(`${at[0]} ${at[1]}`);
    "#;

/// A pool that is never closed still lets the script end, as Python's
/// daemonic workers do, and its workers are gone afterwards.
#[test]
fn pool_workers_are_daemons() {
    let out = ok(r#"
        fn double(x) { x * 2 }
        let p = pool(2);
        print(p.apply_async(double, [21]).get(10));
        print(p.pids.len());
    "#);
    assert_eq!(out, "42\n2\n");
}

/// A pool that cannot start all its workers stops those it started.
#[test]
fn a_pool_that_fails_half_way_leaves_no_worker() {
    // With few descriptors the later workers cannot start (each needs
    // pipes and a connection to the broker).
    let repl = env!("CARGO_BIN_EXE_repl");
    let out = Command::new("sh")
        .args([
            "-c",
            &format!(
                r#"ulimit -n 24; exec {repl} -e 'try {{ let p = pool(30); print("started"); }} catch (e) {{ print(e.split(":")[0]); }} print(`children ${{open("/proc/self/task/" + pid() + "/children").read().decode().trim()}}`)'"#
            ),
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("started"),
        "the pool should fail to start: {stdout}{stderr}"
    );
    // Terminated workers may still be exiting; none may remain once reaped.
    let children = stdout
        .lines()
        .find_map(|l| l.strip_prefix("children"))
        .unwrap_or("")
        .trim();
    let alive = children
        .split_whitespace()
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z ")))
        .count();
    assert!(
        alive == 0 || children.is_empty(),
        "workers left running: {children} ({stdout}{stderr})"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn exit_in_a_task_ends_it_quietly_and_in_a_process_sets_its_exitcode() {
    let out = run(&[
        "-e",
        r#"
        let t = spawn(|| { exit(3); print("never"); });
        t.join();
        print(t.state);
        fn leave(code) { exit(code); }
        let p = process(leave, 7);
        print(p.join());
        print("main goes on");
        "#,
    ]);
    assert_eq!(out.stdout, "finished\n7\nmain goes on\n", "{}", out.stderr);
    assert!(!out.stderr.contains("Exception"), "{}", out.stderr);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn timeouts_too_long_to_represent_wait_for_ever_and_bad_ones_are_value_errors() {
    let out = ok(r#"
        let t = spawn(|| 5);
        print(t.join(1e19));
        let l = lock(); print(l.acquire(1e19)); l.release();
        let q = queue(); q.put(1); print(q.get(1e19));
        for bad in [-1.0, -0.5] {
            try { sleep(bad); } catch (e) { print(e.split(":")[0]); }
        }
        try { t.join(-1); } catch (e) { print(e.split(":")[0]); }
        let s = socket("udp"); s.bind("127.0.0.1:0"); s.settimeout(1e19);
        s.sendto("x", s.getsockname()); print(s.recvfrom(10).data.decode());
    "#);
    assert_eq!(out, "5\ntrue\n1\nValueError\nValueError\nValueError\nx\n");
}

#[test]
fn a_huge_pack_is_a_catchable_memory_error() {
    let huge = "1073741824x".repeat(8);
    let out = run(&[
        "--max-array-size",
        "1000",
        "-e",
        &format!(
            r#"try {{ pack("{huge}"); }} catch (e) {{ print(e.split("\n")[0]); }}
               try {{ pack("2000x"); }} catch (e) {{ print(e.split("\n")[0]); }}
               print(pack("4x").len());"#
        ),
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "MemoryError: pack would make 8589934592 bytes, more than --max-array-size allows (1000)\n\
         MemoryError: pack would make 2000 bytes, more than --max-array-size allows (1000)\n4\n"
    );
    let out = ok(&format!(
        r#"try {{ pack("{huge}"); }} catch (e) {{ print(e.split(":")[0]); }}"#
    ));
    assert_eq!(out, "MemoryError\n");
}

/// A peer that reads slowly: each chunk of `sendall` would finish within
/// the timeout, but the whole call cannot. Python 3.5+ times out the call.
#[test]
fn sendalls_timeout_covers_the_whole_call() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let reader = std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else { return };
        let mut buf = vec![0u8; 32 * 1024];
        for _ in 0..400 {
            if matches!(conn.read(&mut buf), Ok(0) | Err(_)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let out = ok(&format!(
        r#"let s = socket(); s.connect("127.0.0.1:{port}"); s.settimeout(0.5);
           try {{ s.sendall(blob(50000000, 65)); print("sent"); }} catch (e) {{ print(e.split(":")[0]); }}
           s.close();"#
    ));
    assert_eq!(out, "TimeoutError\n");
    let _ = reader.join();
}

#[test]
fn a_non_blocking_connect_raises_blocking_io_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = ok(&format!(
        r#"let s = socket(); s.setblocking(false);
           try {{ s.connect("127.0.0.1:{port}"); print("connected at once"); }}
           catch (e) {{ print(e.split("\n")[0]); }}"#
    ));
    assert!(
        out.starts_with("BlockingIOError: [Errno 115] Operation now in progress") || out == "connected at once\n",
        "{out}"
    );
}

/// A native function that panics while a task runs: the task fails with
/// an internal error and `join` returns.
#[test]
fn a_panic_in_a_task_becomes_its_error() {
    let (send, printed) = std::sync::mpsc::channel();
    let session = sockrepl::Session::builder()
        .register(|engine| {
            engine.register_fn("explode", || -> i64 { panic!("boom") });
        })
        .printer(move |text| {
            let _ = send.send(text.to_string());
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let outcome = session.run_source(
        "panic.rhai",
        "let t = spawn(|| explode()); t.join(); print(t.state); print(t.error.split(\"\\n\")[0]);",
    );
    assert_eq!(outcome, sockrepl::Outcome::Done);
    let lines: Vec<String> = printed.try_iter().collect();
    assert_eq!(lines[0], "failed");
    assert_has(&lines[1], &["RuntimeError: internal error: boom"]);
}
