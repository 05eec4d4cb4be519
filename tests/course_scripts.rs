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
    let mut child = repl()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    }
    common::finish(child, common::DEADLINE)
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
