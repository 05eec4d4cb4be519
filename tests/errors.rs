//! Bad input gives a Python-style error with the script position and a
//! hint, on stderr, with exit status 1; usage mistakes exit 2.

mod common;

use common::{assert_has, run};

/// Runs `code` and returns stderr, asserting exit status 1.
fn fails(code: &str) -> String {
    common::fails(&["-e", code])
}

#[test]
fn address_in_use_suggests_so_reuseaddr() {
    let err = fails(r#"let a = socket(); a.bind("127.0.0.1:0"); let b = socket(); b.bind(a.getsockname());"#);
    assert_has(
        &err,
        &[
            "error: OSError: [Errno 98] Address already in use (bind to 127.0.0.1:",
            "hint: ",
            "SO_REUSEADDR",
        ],
    );
}

#[test]
fn connection_refused_asks_if_the_server_runs() {
    // Bind a port and close it so nothing listens there.
    let err = fails(
        r#"let a = socket(); a.bind("127.0.0.1:0"); let addr = a.getsockname(); a.close(); socket().connect(addr);"#,
    );
    assert_has(
        &err,
        &[
            "ConnectionRefusedError: [Errno 111] Connection refused (connect to 127.0.0.1:",
            "is the server running",
        ],
    );
}

#[test]
fn recv_on_a_listening_socket_explains_accept() {
    let err = fails(r#"let s = socket(); s.bind("127.0.0.1:0"); s.listen(); s.recv(10);"#);
    assert_has(&err, &["recv on a listening socket", "s.accept().conn"]);
}

#[test]
fn send_on_an_unconnected_tcp_socket_explains_connect() {
    let err = fails(r#"socket().send("hi");"#);
    assert_has(
        &err,
        &[
            "[Errno 107] Transport endpoint is not connected (send)",
            "call connect() first",
        ],
    );
}

#[test]
fn bad_address_text_shows_the_forms_that_work() {
    for (code, why) in [
        (r#"socket().connect("localhost");"#, "missing ':port'"),
        (
            r#"socket().connect("127.0.0.1:http");"#,
            "\"http\" is not a port number",
        ),
        (r#"socket().bind("127.0.0.1:70000");"#, "port 70000 is out of range"),
        (r#"socket().connect("::1:80");"#, "IPv6 addresses need brackets"),
        (r#"socket().connect(["127.0.0.1"]);"#, "expected [host, port]"),
        (r#"socket().connect(8080);"#, "an address cannot be an int"),
        (
            r#"socket().connect("no-such-host.invalid:80");"#,
            "cannot resolve host \"no-such-host.invalid\"",
        ),
        (
            r#"socket("udp6").sendto("x", "127.0.0.1:9");"#,
            "is an IPv4 address but this is an IPv6 socket",
        ),
    ] {
        let err = fails(code);
        assert_has(&err, &[why, "hint: "]);
    }
}

#[test]
fn errors_show_file_line_column_source_and_caret() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bad.rhai");
    std::fs::write(&path, "let s = socket(\"udp\");\nlet n = 1;\n    s.recv(-5);\n").unwrap_or_else(|e| panic!("{e}"));
    let name = path.display().to_string();
    let out = run(&[&name]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "error: ValueError: cannot receive -5 bytes at once\n  --> {name}:3:7\n   |\n 3 |     s.recv(-5);\n   |       ^\nhint: "
    );
    assert!(out.stderr.starts_with(&expected), "{}", out.stderr);
}

#[test]
fn other_mistakes_are_explained() {
    for (code, parts) in [
        (
            r#"socket("sctp");"#,
            &["unknown socket kind \"sctp\"", "socket(\"udp\")"][..],
        ),
        (
            r#"socket(99, 1);"#,
            &["unsupported socket family/type pair (99, 1)"][..],
        ),
        (
            r#"let s = socket(); s.close(); s.bind("127.0.0.1:0");"#,
            &["[Errno 9] Bad file descriptor", "closed"][..],
        ),
        (
            r#"let s = socket(); s.bind("127.0.0.1:0"); s.accept();"#,
            &["accept before listen", "s.listen()"][..],
        ),
        (
            r#"socket("udp").listen();"#,
            &["listen on a UDP socket", "recvfrom"][..],
        ),
        (
            r#"socket("udp").recv(1 << 40);"#,
            &["cannot receive 1099511627776 bytes"][..],
        ),
        (r#"socket().settimeout(-1);"#, &["non-negative number"][..]),
        (
            r#"socket().setsockopt(1, 999, 1);"#,
            &["unsupported socket option (1, 999)", "SO_REUSEADDR"][..],
        ),
        (r#"socket().shutdown(7);"#, &["shutdown(7): unknown direction"][..]),
        (r#"blob(1, 0xff).decode();"#, &["UnicodeDecodeError", "hexdump"][..]),
        (r#""x".encode("gbk");"#, &["LookupError: unsupported encoding: gbk"][..]),
        (r#"strftime("%Q");"#, &["bad strftime format"][..]),
        (r#"sleep(-1);"#, &["non-negative"][..]),
        (
            r#"let s = socket("udp"); s.settimeout(0); s.bind("127.0.0.1:0"); s.recvfrom(10);"#,
            &["BlockingIOError: [Errno 11]"][..],
        ),
        (
            r#"let s = socket("udp"); s.settimeout(0.05); s.bind("127.0.0.1:0"); s.recvfrom(10);"#,
            &["TimeoutError: timed out"][..],
        ),
        (
            r#"let s = socket("udp"); s.bind("127.0.0.1:0"); s.sendto("x", s.getsockname()); s.recvfrom(10)[2];"#,
            &["IndexError"][..],
        ),
    ] {
        let err = fails(code);
        assert_has(&err, parts);
    }
}

#[test]
fn errors_are_catchable_and_tell_their_class() {
    let out = run(&[
        "-e",
        r#"let s = socket("udp"); s.settimeout(0.01); s.bind("127.0.0.1:0");
           try { s.recvfrom(1); } catch (e) { print(e.starts_with("TimeoutError")); }
           let a = socket(); a.bind("127.0.0.1:0"); let addr = a.getsockname(); a.close();
           try { socket().connect(addr); } catch (e) { print(e.starts_with("ConnectionRefusedError")); }"#,
    ]);
    assert_eq!(out.stdout, "true\ntrue\n", "{}", out.stderr);
}

#[test]
fn peer_reset_is_a_catchable_connection_reset_error() {
    // SO_LINGER 0 is not in the script API, so Python resets the connection.
    let mut py = common::Running::start({
        let mut cmd = std::process::Command::new("python3");
        cmd.arg("-c").arg(
            "import socket, struct\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\n\
             print('port', s.getsockname()[1], flush=True)\nc, a = s.accept()\nc.recv(10)\n\
             c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\nc.close()",
        );
        cmd
    });
    let port = py.port();
    let out = run(&[
        "-e",
        &format!(
            r#"let c = socket(); c.connect("127.0.0.1", {port}); c.send("x");
               try {{ c.recv(10); print("no error"); }} catch (e) {{ print(e.split("\n")[0]); }}"#
        ),
    ]);
    assert_eq!(
        out.stdout, "ConnectionResetError: [Errno 104] Connection reset by peer (recv)\n",
        "{}",
        out.stderr
    );
    assert!(py.finish().status.success());
}

#[test]
fn command_line_usage() {
    let version = run(&["--version"]);
    assert_eq!(version.stdout.trim(), format!("repl {}", env!("CARGO_PKG_VERSION")));
    let help = run(&["--help"]);
    assert!(
        help.status.success() && help.stdout.contains("Usage: repl"),
        "{}",
        help.stdout
    );
    let bad_flag = run(&["--no-such-flag"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    let missing = run(&["/nonexistent/script.rhai"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        missing.stderr.contains("cannot read /nonexistent/script.rhai"),
        "{}",
        missing.stderr
    );
    let exit = run(&["-e", "print(1); exit(7); print(2);"]);
    assert_eq!((exit.status.code(), exit.stdout.as_str()), (Some(7), "1\n"));
}

#[test]
fn errors_inside_an_imported_module_point_into_that_module() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("lib.rhai"), "fn boom(x) {\n    socket(x)\n}\n").unwrap_or_else(|e| panic!("{e}"));
    let main = dir.path().join("main.rhai");
    std::fs::write(&main, "import \"lib\" as lib;\nlet k = \"sctp\";\nlib::boom(k);\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let main = main.display().to_string();
    let out = run(&[&main]);
    assert_eq!(out.status.code(), Some(1));
    let lib = dir.path().join("lib.rhai").display().to_string();
    let expected = format!(
        "error: ValueError: unknown socket kind \"sctp\"\n  --> {lib}:2:5\n   |\n 2 |     socket(x)\n   |     ^\n   = in call to boom at {main}:3:6\n"
    );
    assert!(out.stderr.starts_with(&expected), "{}", out.stderr);
}

/// A module that spawns tasks (as the TFTP server does, one per
/// transfer): an error in such a task points into the module, whether the
/// task runs a module function or a closure the module made.
#[test]
fn errors_in_tasks_a_module_spawned_point_into_the_module() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let lib = dir.path().join("lib.rhai");
    std::fs::write(
        &lib,
        "fn handle(x) {\n    let y = x + 1;\n    y / 0\n}\nfn serve() {\n    spawn(handle, 1).join();\n    spawn(|| handle(2)).join();\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let main = dir.path().join("server.rhai");
    std::fs::write(&main, "import \"lib\" as lib;\nlib::serve();\n").unwrap_or_else(|e| panic!("{e}"));
    let out = run(&[&main.display().to_string()]);
    assert!(out.status.success(), "{}", out.stderr);
    let lib = lib.display().to_string();
    assert_eq!(
        out.stderr
            .matches(&format!("--> {lib}:3:7\n   |\n 3 |     y / 0\n"))
            .count(),
        2,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("   = in call to handle at {lib}:7:14")),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("<task>") && !out.stderr.contains("server.rhai:3"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_module_that_does_not_compile_or_is_missing_says_which_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("broken.rhai"), "// fine\nfn f( {\n").unwrap_or_else(|e| panic!("{e}"));
    let main = dir.path().join("main.rhai");
    std::fs::write(&main, "import \"broken\" as b;\n").unwrap_or_else(|e| panic!("{e}"));
    let main = main.display().to_string();
    let out = run(&[&main]);
    assert_eq!(out.status.code(), Some(1));
    let broken = dir.path().join("broken.rhai").display().to_string();
    assert_has(
        &out.stderr,
        &[
            &format!("  --> {broken}:2:7\n"),
            " 2 | fn f( {\n",
            &format!("   = while importing \"{broken}\" at {main}:1:8"),
        ],
    );
    std::fs::write(dir.path().join("main.rhai"), "import \"gone\" as g;\n").unwrap_or_else(|e| panic!("{e}"));
    let out = run(&[&main]);
    let gone = dir.path().join("gone.rhai").display().to_string();
    assert_has(
        &out.stderr,
        &[
            &format!("error: ModuleNotFoundError: there is no file {gone}"),
            "hint: `import \"lib\" as lib;` reads lib.rhai from the folder of the script that imports it",
        ],
    );
}

#[test]
fn eprint_writes_a_line_to_stderr() {
    let out = run(&["-e", r#"print("out"); eprint("problem"); eprint(42);"#]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "problem\n42\n");
}

/// Sending to a peer that closed: the first send may still succeed, then
/// the reset comes back and further sends fail with BrokenPipeError, as in
/// Python, not with "not connected" (which is for a socket that never
/// connected).
#[test]
fn sending_after_the_peer_closed_is_a_broken_pipe() {
    let out = run(&[
        "-e",
        r#"let l = socket(); l.bind("127.0.0.1:0"); l.listen();
           let c = socket(); c.connect(l.getsockname());
           l.accept().conn.close();
           let errors = [];
           for i in 0..200 {
               try { c.send("x".encode()); } catch (e) { errors.push(e.split(":")[0]); }
               if errors.len() >= 2 { break; }
               sleep(0.01);
           }
           print(errors);
           try { socket().send("x".encode()); } catch (e) { print(e.split(" (")[0]); }"#,
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0] == r#"["BrokenPipeError", "BrokenPipeError"]"#
            || lines[0] == r#"["ConnectionResetError", "BrokenPipeError"]"#,
        "{}",
        out.stdout
    );
    assert_eq!(lines[1], "OSError: [Errno 107] Transport endpoint is not connected");
}
