//! Every course program in scripts/ runs end to end. The last test fails
//! when a script exists that no test in tests/ names.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Output, Running, repl, repo, run};

/// Starts a server script on an ephemeral port; returns it and the port it
/// printed on its first line.
fn server(name: &str) -> (Running, u16) {
    let mut cmd = repl();
    cmd.arg(script(name)).arg("127.0.0.1:0").stdin(Stdio::piped());
    let mut running = Running::start(cmd);
    let line = running.line();
    let port = line
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|w| !w.is_empty())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (running, port)
}

/// Runs a script with `input` piped to it.
fn with_input(args: &[&str], input: &str) -> Output {
    common::run_with_input(args, input)
}

fn python(code: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn script(name: &str) -> String {
    repo(&format!("scripts/{name}")).display().to_string()
}

#[test]
fn socket_basics() {
    let out = run(&[&script("socket_basics.rhai")]);
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..3],
        ["<socket tcp unbound>", "[\"0.0.0.0\", 0]", "<socket tcp closed>"]
    );
    assert!(lines[3].starts_with("host name: ") && lines[3].len() > "host name: ".len());
    assert_eq!(lines[4], "localhost is 127.0.0.1");
    let other = run(&[&script("socket_basics.rhai"), "127.0.0.2"]);
    assert!(other.stdout.ends_with("127.0.0.2 is 127.0.0.2\n"), "{}", other.stdout);
}

#[test]
fn udp_echo_client_and_server() {
    let (srv, port) = server("udp_echo_server.rhai");
    let out = run(&[&script("udp_echo_client.rhai"), &format!("127.0.0.1:{port}")]);
    assert_eq!(out.stdout, format!("hi [\"127.0.0.1\", {port}]\n"), "{}", out.stderr);
    let srv = srv.finish();
    assert!(
        srv.stdout.contains("got b\"hello\" from [\"127.0.0.1\""),
        "{}",
        srv.stdout
    );
    // On its own the client starts a server itself.
    let alone = run(&[&script("udp_echo_client.rhai")]);
    assert!(alone.stdout.contains("\nhi [\"127.0.0.1\""), "{}", alone.stderr);
}

#[test]
fn udp_echo_server_answers_python() {
    let (srv, port) = server("udp_echo_server.rhai");
    let reply = python(&format!(
        "import socket\ns = socket.socket(type=socket.SOCK_DGRAM)\ns.settimeout(10)\n\
         s.sendto(b'hello', ('127.0.0.1', {port}))\nprint(s.recvfrom(1024)[0].decode())"
    ));
    assert_eq!(reply, "hi\n");
    assert!(srv.finish().status.success());
}

#[test]
fn udp_time_client_and_server() {
    let (mut srv, port) = server("udp_time_server.rhai");
    let out = with_input(
        &[&script("udp_time_client.rhai"), &format!("127.0.0.1:{port}")],
        "%Y\n\n%d %Q\n",
    );
    let year = python("import time\nprint(time.strftime('%Y'))");
    let answers: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.rsplit(">> ").next().unwrap_or_default())
        .collect();
    assert_eq!(answers[0], year.trim(), "{}", out.stdout);
    assert_eq!(answers[1].len(), "2026-11-22 21:33:00".len(), "{}", out.stdout);
    assert_eq!(answers[2], "bad format: %d %Q", "{}", out.stdout);
    // Python's own client from the seed gets the same service.
    let reply = python(&format!(
        "from socket import *\nc = socket(AF_INET, SOCK_DGRAM)\nc.settimeout(10)\n\
         c.sendto('%Y'.encode('utf-8'), ('127.0.0.1', {port}))\nprint(c.recv(1024).decode('utf-8'))"
    ));
    assert_eq!(reply, year);
    let _ = srv.child.kill();
    // Alone, the client runs its own time service.
    let alone = with_input(&[&script("udp_time_client.rhai")], "%Y\n");
    assert!(alone.stdout.contains(year.trim()), "{}", alone.stderr);
}

#[test]
fn tcp_client_and_server_and_the_reuseaddr_restart() {
    let (srv, port) = server("tcp_server.rhai");
    let out = run(&[&script("tcp_client.rhai"), &format!("127.0.0.1:{port}")]);
    assert_eq!(out.stdout, "b\"hi\"\n", "{}", out.stderr);
    assert!(srv.finish().stdout.contains("b\"hello!\" from [\"127.0.0.1\""));
    // The server closed first, so its side of the connection is in
    // TIME_WAIT; with SO_REUSEADDR it can start again on the same port.
    let mut cmd = repl();
    cmd.arg(script("tcp_server.rhai"))
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null());
    let mut again = Running::start(cmd);
    assert_eq!(again.line(), format!("listening on port {port}"));
    let reply = python(&format!(
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=10)\ns.send(b'hello from python')\nprint(s.recv(1024))"
    ));
    assert_eq!(reply, "b'hi'\n");
    assert!(again.finish().stdout.contains("hello from python"));
    let alone = run(&[&script("tcp_client.rhai")]);
    assert_eq!(alone.stdout, "b\"hi\"\n", "{}", alone.stderr);
}

#[test]
fn udp_chat_between_a_and_b() {
    let mut cmd = repl();
    cmd.arg(script("udp_chat_a.rhai"))
        .arg("127.0.0.1:0")
        .stdin(Stdio::piped());
    let mut a = Running::start(cmd);
    let line = a.line();
    let port = line.rsplit(' ').next().unwrap_or_default().to_string();
    if let Some(mut stdin) = a.child.stdin.take() {
        stdin.write_all(b"hi B\nquit\n").unwrap_or_else(|e| panic!("{e}"));
    }
    let b = with_input(
        &[&script("udp_chat_b.rhai"), &format!("127.0.0.1:{port}")],
        "hello A\nhow are you\n",
    );
    assert_eq!(b.stdout, "B:>> A:>> hi B\nB:>> A:>> quit\n", "{}", b.stderr);
    let a = a.finish();
    assert!(
        a.stdout.contains("B:>> hello A\nA: >> B:>> how are you\nA: >> "),
        "{}",
        a.stdout
    );
    // B alone talks to a stand-in for A.
    let alone = with_input(&[&script("udp_chat_b.rhai")], "ping\nquit\n");
    assert!(
        alone.stdout.contains("A:>> (A's stand-in) you said: ping"),
        "{}",
        alone.stdout
    );
}

const PY_CLIENT: &str = "import socket, sys\nport = int(sys.argv[1])\n";

#[test]
fn threaded_upper_server_serves_clients_at_the_same_time() {
    let (srv, port) = server("tcp_upper_server_threaded.rhai");
    // The first client stays connected while the second is served.
    let reply = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "{PY_CLIENT}a = socket.create_connection(('127.0.0.1', port), timeout=5)\n\
             b = socket.create_connection(('127.0.0.1', port), timeout=5)\n\
             b.send(b'second'); print(b.recv(100).decode())\n\
             a.send(b'first'); print(a.recv(100).decode())"
        ))
        .arg(port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&reply.stdout),
        "SECOND\nFIRST\n",
        "{}",
        String::from_utf8_lossy(&reply.stderr)
    );
    let ours = with_input(
        &[&script("tcp_upper_client.rhai"), &format!("127.0.0.1:{port}")],
        "hello\nworld\n",
    );
    assert_eq!(ours.stdout, ">> HELLO\n>> WORLD\n>> ", "{}", ours.stderr);
    let mut srv = srv;
    let _ = srv.child.kill();
    let alone = with_input(&[&script("tcp_upper_client.rhai")], "alone\n");
    assert_eq!(alone.stdout, ">> ALONE\n>> ", "{}", alone.stderr);
}

#[test]
fn single_upper_server_queues_clients_and_survives_a_reset() {
    let (mut srv, port) = server("tcp_upper_server.rhai");
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "{PY_CLIENT}import struct\n\
             a = socket.create_connection(('127.0.0.1', port), timeout=5)\n\
             a.send(b'one'); print(a.recv(100).decode())\n\
             b = socket.create_connection(('127.0.0.1', port), timeout=0.5)\n\
             b.send(b'two')\n\
             try:\n    b.recv(100); print('served too early')\nexcept socket.timeout:\n    print('waiting')\n\
             a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); a.close()\n\
             b.settimeout(5); print(b.recv(100).decode())"
        ))
        .arg(port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ONE\nwaiting\nTWO\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = srv.line(); // first client connected
    let reset = srv.line();
    assert!(reset.contains("reset: ConnectionResetError"), "{reset}");
    let _ = srv.child.kill();
}

fn lesson(name: &str, args: &[&str]) -> Output {
    let path = script(name);
    let mut all = vec![path.as_str()];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "{name}: {}", out.stderr);
    out
}

#[test]
fn threads_race_loses_updates_until_locked() {
    let mut lost = false;
    for _ in 0..5 {
        let out = lesson("threads_race.rhai", &[]);
        assert!(out.stdout.contains("with a lock:    num = 200000\n"), "{}", out.stdout);
        if !out.stdout.contains("without a lock: num = 200000 ") {
            lost = true;
            break;
        }
    }
    assert!(lost, "no run lost an update without the lock");
}

#[test]
fn threads_deadlock_is_reported_and_the_other_task_finishes() {
    let out = lesson("threads_deadlock.rhai", &[]);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("DeadlockError"))
        .unwrap_or_default();
    for name in ["Thread-1", "Thread-2", "mutexA", "mutexB"] {
        assert!(line.contains(name), "{line}");
    }
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(
        last == "Thread-1: failed, Thread-2: finished" || last == "Thread-1: finished, Thread-2: failed",
        "{last}"
    );
}

#[test]
fn threads_ordered_runs_a_b_c() {
    let out = lesson("threads_ordered.rhai", &["4"]);
    let words: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(words.join(""), "ABCABCABCABC");
}

#[test]
fn threads_enumerate_counts_running_tasks() {
    let out = lesson("threads_enumerate.rhai", &[]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    // The tasks may print before the main task does: they run at once.
    assert!(lines.contains(&"running now: 3 tasks"), "{}", out.stdout);
    assert_eq!(lines.last().copied(), Some("running now: 1 task (MainThread)"));
    assert_eq!(out.stdout.matches("sing").count(), 3);
    assert_eq!(out.stdout.matches("dance").count(), 3);
}

#[test]
fn producer_consumer_delivers_everything() {
    let out = lesson("producer_consumer.rhai", &["200"]);
    assert_eq!(out.stdout, "produced 400, consumed 400\n");
}

#[test]
fn thread_local_keeps_each_tasks_student() {
    let out = lesson("thread_local.rhai", &[]);
    assert!(out.stdout.contains("Hello, Alice (in Thread-1)\n"), "{}", out.stdout);
    assert!(out.stdout.contains("Hello, Bob (in Thread-2)\n"), "{}", out.stdout);
}

#[test]
fn processes_basics_copy_the_data() {
    let out = lesson("processes_basics.rhai", &[]);
    assert!(out.stdout.contains("child 1: num=15 (pid "), "{}", out.stdout);
    assert!(out.stdout.contains("child 2: num=20 (pid "), "{}", out.stdout);
    assert!(out.stdout.ends_with("num: 10\n"), "{}", out.stdout);
    let parent = out
        .stdout
        .split("from pid ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap_or_default();
    assert!(
        !out.stdout.contains(&format!("(pid {parent})\n")),
        "a child ran in the parent: {}",
        out.stdout
    );
}

#[test]
fn process_pool_runs_jobs_on_six_workers() {
    let out = lesson("process_pool.rhai", &["16", "0.05"]);
    assert_eq!(out.stdout.matches("newNum: ").count(), 16);
    assert!(
        out.stdout
            .contains("squares: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144, 169, 196, 225, 256]"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("worker processes: 6\n"));
    let pids: std::collections::HashSet<&str> = out.stdout.lines().filter_map(|l| l.split("(pid ").nth(1)).collect();
    assert!(pids.len() <= 6, "{pids:?}");
}

#[test]
fn process_queue_passes_every_message() {
    let out = lesson("process_queue.rhai", &[]);
    let got: Vec<&str> = out.stdout.lines().filter_map(|l| l.strip_prefix("got ")).collect();
    assert_eq!(got, ["a", "b", "c", "d", "e"]);
    assert!(out.stdout.ends_with("left in the queue: 0\n"));
}

#[test]
fn struct_demo_packs_like_python() {
    let out = lesson("struct_demo.rhai", &[]);
    let python_bytes = python(
        "import struct\nname = 'server-bus-refresh.png'\n\
         print(struct.pack('!H{}sb5sb'.format(len(name)), 1, name.encode(), 0, b'octet', 0).hex())",
    );
    let hex: String = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("000000") && l.contains('|'))
        .flat_map(|l| l[10..58].split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert_eq!(hex, python_bytes.trim());
    assert!(out.stdout.contains("calcsize(\"!H22sb5sb\") = 31"));
    assert!(
        out.stdout
            .contains("opcode 3, block 1, 18 bytes of data\nACK: b\"\\x00\\x04\\x00\\x01\""),
        "{}",
        out.stdout
    );
}

#[test]
fn sticky_packets_problem_and_fix() {
    let out = lesson("sticky_packets.rhai", &[]);
    assert_eq!(
        out.stdout,
        "the problem: one recv got b\"helloworld\"\nthe fix: hello / world\n"
    );
}

#[test]
fn threads_unordered_each_runs_once_per_round() {
    let out = lesson("threads_unordered.rhai", &["4"]);
    for letter in ["A ----", "B ----", "C ----"] {
        assert_eq!(out.stdout.matches(letter).count(), 4, "{}", out.stdout);
    }
}

#[test]
fn broadcast_reaches_every_receiver() {
    let mut first = Running::start({
        let mut cmd = repl();
        cmd.arg(script("broadcast_receiver.rhai")).arg("0").stdin(Stdio::null());
        cmd
    });
    let port = first.line().rsplit(' ').next().unwrap_or_default().to_string();
    let mut second = Running::start({
        let mut cmd = repl();
        cmd.arg(script("broadcast_receiver.rhai"))
            .arg(&port)
            .stdin(Stdio::null());
        cmd
    });
    assert_eq!(second.line(), format!("listening on port {port}"));
    let out = lesson("broadcast_sender.rhai", &[&port, "127.255.255.255"]);
    assert_eq!(out.stdout.matches("hello from ").count(), 2, "{}", out.stdout);
    assert!(first.finish().stdout.contains("Hello Everyone! from 127.0.0.1"));
    assert!(second.finish().stdout.contains("Hello Everyone! from 127.0.0.1"));
}

#[test]
fn process_per_client_server_with_a_pool_of_clients() {
    let mut cmd = repl();
    cmd.arg(script("tcp_process_server.rhai"))
        .arg("127.0.0.1:0")
        .arg("6")
        .stdin(Stdio::null());
    let mut srv = Running::start(cmd);
    let line = srv.line();
    let port = line
        .split("port ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_default()
        .to_string();
    let parent = line
        .split("(pid ")
        .nth(1)
        .map(|r| r.trim_end_matches(')').to_string())
        .unwrap_or_default();
    let clients = lesson("tcp_pool_clients.rhai", &[&format!("127.0.0.1:{port}"), "2"]);
    assert_eq!(
        clients.stdout.matches("got: Hello Client").count(),
        6,
        "{}",
        clients.stdout
    );
    let out = srv.finish();
    let served_by: std::collections::HashSet<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split("served by pid ").nth(1))
        .collect();
    assert_eq!(served_by.len(), 6, "one process per client: {}", out.stdout);
    assert!(!served_by.contains(parent.as_str()));
    // Alone, the clients bring their own server.
    let alone = lesson("tcp_pool_clients.rhai", &[]);
    assert_eq!(alone.stdout.matches("got: Hello Client").count(), 9, "{}", alone.stdout);
}

#[test]
fn timestamp_client_and_server_over_tcp_and_udp() {
    for kind in ["tcp", "udp"] {
        let mut cmd = repl();
        cmd.arg(script("timestamp_server.rhai"))
            .arg(kind)
            .arg("127.0.0.1:0")
            .stdin(Stdio::null());
        let mut srv = Running::start(cmd);
        let port = srv.line().rsplit(' ').next().unwrap_or_default().to_string();
        let out = with_input(
            &[&script("timestamp_client.rhai"), kind, &format!("127.0.0.1:{port}")],
            "hello\nworld\n",
        );
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{kind}: {}", out.stdout);
        assert!(
            lines[0].starts_with("> [") && lines[0].ends_with("] hello"),
            "{kind}: {}",
            out.stdout
        );
        assert!(lines[1].ends_with("] world"), "{kind}: {}", out.stdout);
        // A Python client sees the same service.
        let reply = python(&format!(
            "from socket import *\nkind = '{kind}'\n\
             s = socket(AF_INET, SOCK_STREAM if kind == 'tcp' else SOCK_DGRAM)\ns.settimeout(5)\n\
             addr = ('127.0.0.1', {port})\n\
             (s.connect(addr), s.send(b'py')) if kind == 'tcp' else s.sendto(b'py', addr)\nprint(s.recv(1024).decode())"
        ));
        let year = python("import time\nprint(time.strftime('%Y'))");
        assert!(
            reply.trim().ends_with(&format!("{}] py", year.trim())),
            "{kind}: {reply}"
        );
        let _ = srv.child.kill();
        let alone = with_input(&[&script("timestamp_client.rhai"), kind], "solo\n");
        assert!(alone.stdout.contains("] solo"), "{kind}: {}", alone.stderr);
    }
}

#[test]
fn udp_sender_loop_sends_from_a_fixed_port() {
    let out = lesson("udp_sender_loop.rhai", &["demo", "2", "0"]);
    let senders: std::collections::HashSet<&str> = out.stdout.lines().collect();
    assert_eq!(out.stdout.lines().count(), 2);
    assert_eq!(senders.len(), 1, "both messages from one port: {}", out.stdout);
    assert!(out.stdout.ends_with(": Hello 您好\n"), "{}", out.stdout);
    // Against Python's receiver the source port is the one chosen.
    let port = {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        probe.local_addr().map(|a| a.port()).unwrap_or(0)
    };
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(
        "import socket\ns = socket.socket(type=socket.SOCK_DGRAM)\ns.bind(('127.0.0.1', 0))\n\
         print('port', s.getsockname()[1], flush=True)\n\
         for i in range(2):\n    d, a = s.recvfrom(2048)\n    s.sendto(('from port %d' % a[1]).encode(), a)",
    );
    let mut py = Running::start(cmd);
    let target = py.port();
    let out = lesson(
        "udp_sender_loop.rhai",
        &[&format!("127.0.0.1:{target}"), "2", &port.to_string()],
    );
    assert_eq!(out.stdout, format!("from port {port}\nfrom port {port}\n"));
    assert!(py.finish().status.success());
}

#[test]
fn qq_chat_client_and_server() {
    let mut cmd = repl();
    cmd.arg(script("qq_chat_server.rhai"))
        .arg("127.0.0.1:0")
        .stdin(Stdio::piped());
    let mut srv = Running::start(cmd);
    let port = srv.line().rsplit(' ').next().unwrap_or_default().to_string();
    if let Some(mut stdin) = srv.child.stdin.take() {
        stdin
            .write_all(b"  nice to meet you  \n")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = with_input(
        &[&script("qq_chat_client.rhai"), &format!("server=127.0.0.1:{port}")],
        "nobody\nserver\nhello\nq\n",
    );
    assert!(out.stdout.contains("contacts: [\"server\"]"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "message from [127.0.0.1:{port}]: \x1b[1;44mnice to meet you\x1b[0m"
        )),
        "{:?}",
        out.stdout
    );
    // The server keeps serving; stop it and read what it showed.
    let _ = srv.child.kill();
    let srv = srv.finish();
    assert!(srv.stdout.contains("\x1b[1;44mhello\x1b[0m"), "{:?}", srv.stdout);
    let alone = with_input(&[&script("qq_chat_client.rhai")], "lily\nhi\nq\n");
    assert!(alone.stdout.contains("lily read: hi"), "{}", alone.stdout);
}

/// Starts `name ARGS` and returns it with the last number of its first line.
fn started(name: &str, args: &[&str], stdin: Stdio) -> (Running, u16) {
    let mut cmd = repl();
    cmd.arg(script(name)).args(args).stdin(stdin);
    let mut running = Running::start(cmd);
    let line = running.line();
    let port = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .filter_map(|w| w.parse::<u16>().ok())
        .find(|p| *p > 1000)
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (running, port)
}

#[test]
fn python_clients_talk_to_the_other_servers() {
    // Process per client.
    let (srv, port) = started("tcp_process_server.rhai", &["127.0.0.1:0", "2"], Stdio::null());
    let reply = python(&format!(
        "import socket\nfor i in range(2):\n    c = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n\
         \x20   c.send(b'Hello server py'); print(c.recv(2048).decode())"
    ));
    assert_eq!(reply, "Hello Client\nHello Client\n");
    assert!(srv.finish().status.success());
    // QQ chat server.
    let (mut srv, port) = started("qq_chat_server.rhai", &["127.0.0.1:0"], Stdio::piped());
    if let Some(mut stdin) = srv.child.stdin.take() {
        stdin.write_all(b"from rhai\n").unwrap_or_else(|e| panic!("{e}"));
    }
    let reply = python(&format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(5)\n\
         s.sendto('hi'.encode('utf-8'), ('127.0.0.1', {port}))\nprint(s.recvfrom(1024)[0].decode('utf-8'))"
    ));
    assert_eq!(reply, "from rhai\n");
    let _ = srv.child.kill();
    // User A of the UDP chat, with the seed's user B written in Python.
    let (mut a, port) = started("udp_chat_a.rhai", &["127.0.0.1:0"], Stdio::piped());
    if let Some(mut stdin) = a.child.stdin.take() {
        stdin.write_all(b"hello python\n").unwrap_or_else(|e| panic!("{e}"));
    }
    let reply = python(&format!(
        "import socket\nudpclient = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nudpclient.settimeout(5)\n\
         udpclient.sendto('hi A'.encode('utf-8'), ('127.0.0.1', {port}))\n\
         print('A:>> ', udpclient.recvfrom(1024)[0].decode('utf-8'))\n\
         udpclient.sendto(b'quit', ('127.0.0.1', {port}))"
    ));
    assert_eq!(reply, "A:>>  hello python\n");
    assert!(a.finish().stdout.contains("B:>> hi A"));
    // Broadcast receiver, with Python as the sender.
    let (rx, port) = started("broadcast_receiver.rhai", &["0", "1"], Stdio::null());
    let reply = python(&format!(
        "from socket import *\nbd = socket(AF_INET, SOCK_DGRAM)\nbd.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)\n\
         bd.settimeout(5)\nbd.sendto(b'Hello Everyone!', ('127.255.255.255', {port}))\nprint(bd.recv(1024).decode()[:10])"
    ));
    assert_eq!(reply, "hello from\n");
    assert!(rx.finish().stdout.contains("Hello Everyone! from 127.0.0.1"));
}

#[test]
fn recvfrom_results_index_like_python_tuples() {
    let out = run(&[
        "-e",
        r#"let s = socket("udp"); s.bind("127.0.0.1:0"); s.sendto("x", s.getsockname());
           let r = s.recvfrom(10); print(type_of(r[0])); print(r[0].decode()); print(r[1] == s.getsockname());"#,
    ]);
    assert_eq!(out.stdout, "blob\nx\ntrue\n", "{}", out.stderr);
}

#[test]
fn every_script_is_tested() {
    let tests: String = std::fs::read_dir(repo("tests"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    let dir = repo("scripts");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut untested = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rhai") && !tests.contains(&format!("\"{name}\"")) {
            untested.push(name);
        }
    }
    assert!(
        untested.is_empty(),
        "scripts that no test in tests/ names: {untested:?}"
    );
}
