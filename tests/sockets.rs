//! End-to-end socket exchanges between separate `repl` processes, and with
//! Python as an independent peer, all on loopback with ephemeral ports.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Running, fixture, repl, run};

fn server(script: &str, args: &[&str]) -> Running {
    let mut cmd = repl();
    cmd.arg(fixture(script)).args(args).stdin(Stdio::null());
    Running::start(cmd)
}

#[test]
fn tcp_hello_between_two_scripts() {
    let mut srv = server("tcp_hello_server.rhai", &["127.0.0.1:0"]);
    let port = srv.port();
    let client = run(&[&fixture("tcp_hello_client.rhai"), &format!("127.0.0.1:{port}")]);
    assert_eq!(client.stdout.trim(), "client got: hello client", "{}", client.stderr);
    assert!(client.status.success());
    let out = srv.finish();
    assert!(out.stdout.contains("server got: hello server"), "{}", out.stdout);
    assert!(out.status.success(), "{}", out.stderr);
}

#[test]
fn udp_echo_between_two_scripts() {
    let mut srv = server("udp_echo_server.rhai", &["127.0.0.1:0", "1"]);
    let port = srv.port();
    let client = run(&[&fixture("udp_echo_client.rhai"), &format!("127.0.0.1:{port}"), "ping"]);
    assert_eq!(client.stdout.trim(), "reply ping", "{}", client.stderr);
    let out = srv.finish();
    assert!(out.stdout.contains("echo ping to 127.0.0.1"), "{}", out.stdout);
}

#[test]
fn udp_echo_over_ipv6_loopback() {
    let mut srv = server("udp_echo_server.rhai", &["[::1]:0", "1", "udp6"]);
    let port = srv.port();
    let client = run(&[
        &fixture("udp_echo_client.rhai"),
        &format!("[::1]:{port}"),
        "six",
        "udp6",
    ]);
    assert_eq!(client.stdout.trim(), "reply six", "{}", client.stderr);
    let out = srv.finish();
    assert!(out.stdout.contains("echo six to ::1"), "{}", out.stdout);
}

#[test]
fn tcp_over_ipv6_loopback() {
    let out = run(&[
        "-e",
        r#"let s = socket("tcp6"); s.bind(["::1", 0]); s.listen();
           let c = socket(AF_INET6, SOCK_STREAM); c.connect(s.getsockname());
           let a = s.accept(); c.sendall("v6"); print(a.conn.recv(10).decode()); print(a.addr[0]);"#,
    ]);
    assert_eq!(out.stdout, "v6\n::1\n", "{}", out.stderr);
}

#[test]
fn unix_socket_exchange() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("echo.sock").display().to_string();
    let out = run(&[&fixture("unix_echo.rhai"), &path]);
    assert_eq!(
        out.stdout,
        format!("server got: over unix\nclient got: ack\n{path}\n"),
        "{}",
        out.stderr
    );
}

fn python(code: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(code);
    cmd
}

#[test]
fn python_tcp_client_talks_to_rhai_server() {
    let mut srv = server("tcp_hello_server.rhai", &["127.0.0.1:0"]);
    let port = srv.port();
    let out = python(&format!(
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=10)\n\
         s.sendall(b'hello from python')\nprint(s.recv(1024).decode())"
    ))
    .output()
    .unwrap_or_else(|e| panic!("python3: {e}"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello client");
    let out = srv.finish();
    assert!(out.stdout.contains("server got: hello from python"), "{}", out.stdout);
}

#[test]
fn python_udp_client_talks_to_rhai_server() {
    let mut srv = server("udp_echo_server.rhai", &["127.0.0.1:0", "2"]);
    let port = srv.port();
    let out = python(&format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(10)\n\
         for word in (b'one', b'two'):\n    s.sendto(word, ('127.0.0.1', {port}))\n    print(s.recvfrom(100)[0].decode())"
    ))
    .output()
    .unwrap_or_else(|e| panic!("python3: {e}"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\n");
    assert!(srv.finish().status.success());
}

#[test]
fn rhai_client_talks_to_python_server() {
    let mut cmd = python(
        "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\n\
         print('port', s.getsockname()[1], flush=True)\nc, a = s.accept()\nc.sendall(c.recv(100).upper())",
    );
    cmd.stdin(Stdio::null());
    let mut py = Running::start(cmd);
    let port = py.port();
    let out = run(&[
        "-e",
        &format!("let c = socket(); c.connect(\"127.0.0.1\", {port}); c.send(\"shout\"); print(c.recv(100).decode());"),
    ]);
    assert_eq!(out.stdout, "SHOUT\n", "{}", out.stderr);
    assert!(py.finish().status.success());
}

#[test]
fn script_arguments_and_path_are_visible() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("args.rhai");
    let mut file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    writeln!(file, "print(ARGS); print(SCRIPT.ends_with(\"args.rhai\"));").unwrap_or_else(|e| panic!("{e}"));
    let out = run(&[&path.display().to_string(), "a", "-b", "--c"]);
    assert_eq!(out.stdout, "[\"a\", \"-b\", \"--c\"]\ntrue\n", "{}", out.stderr);
}

#[test]
fn piped_stdin_runs_as_a_script_and_input_reads_lines() {
    let out = common::run_with_input(
        &[
            "-e",
            r#"let a = input("name? "); let b = input(); print(`${a}+${b}`); try { input() } catch (e) { print(e) }"#,
        ],
        "ann\r\nbob\n",
    );
    assert!(
        out.stdout
            .starts_with("name? ann+bob\nEOFError: EOF when reading a line"),
        "{}",
        out.stdout
    );
}

#[test]
fn broadcast_reaches_two_receivers_on_loopback() {
    let out = run(&[
        "-e",
        r#"let a = socket("udp"); a.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1); a.bind("0.0.0.0:0");
           let port = a.getsockname()[1];
           let b = socket("udp"); b.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1); b.bind("0.0.0.0", port);
           let tx = socket("udp");
           try { tx.sendto("x", ["127.255.255.255", port]); print("sent"); } catch (e) { print(e.split("\n")[0]); }
           tx.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
           tx.sendto("hello all", ["127.255.255.255", port]);
           a.settimeout(5); b.settimeout(5);
           print(a.recvfrom(100).data.decode()); print(b.recvfrom(100).data.decode());"#,
    ]);
    assert_eq!(
        out.stdout,
        "PermissionError: [Errno 13] Permission denied (sendto 127.255.255.255:{})\nhello all\nhello all\n"
            .replace("{}", &port_of(&out.stdout)),
        "{}",
        out.stderr
    );
}

fn port_of(stdout: &str) -> String {
    stdout
        .split("sendto 127.255.255.255:")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or("?")
        .to_string()
}
