//! Resource limits: the command-line flags that bound a script's work and
//! memory, the cap on one receive, and that data from a peer is held to
//! the same limits as data the script builds itself.

mod common;

use common::{Running, assert_has, repl, run};

/// Runs `repl FLAGS -e CODE`, asserts it failed, and returns stderr.
fn fails_with(flags: &[&str], code: &str) -> String {
    let mut args = flags.to_vec();
    args.extend(["-e", code]);
    common::fails(&args)
}

#[test]
fn max_operations_stops_an_endless_loop_with_its_position() {
    let err = fails_with(&["--max-operations", "5000"], "let x = 0;\nloop { x += 1 }");
    assert_has(
        &err,
        &[
            "error: the script ran more than 5000 operations",
            "-e:2:",
            "hint: look for a loop that never ends, or raise --max-operations",
        ],
    );
}

#[test]
fn max_operations_counts_for_each_task_and_the_script_goes_on() {
    let out = run(&[
        "--max-operations",
        "5000",
        "-e",
        "let t = spawn(|| { let x = 0; loop { x += 1 } }); t.join(); print(`main finished, alive: ${t.is_alive()}`);",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert_has(&out.stdout, &["main finished, alive: false"]);
    assert_has(
        &out.stderr,
        &["Exception in task Thread-1", "more than 5000 operations"],
    );
}

#[test]
fn a_child_process_inherits_the_limits() {
    let out = run(&[
        "--max-operations",
        "5000",
        "-e",
        "fn spin() { let x = 0; loop { x += 1 } }\nlet p = process(spin); p.join(); print(`exitcode ${p.exitcode}`);",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    assert_has(&out.stdout, &["exitcode 1"]);
    assert_has(&out.stderr, &["more than 5000 operations"]);
}

#[test]
fn size_limits_name_the_flag_to_raise() {
    let err = fails_with(
        &["--max-string-size", "10"],
        r#"let s = ""; for i in 0..100 { s += "ab" }"#,
    );
    assert_has(&err, &["a string grew longer than 10 bytes", "raise --max-string-size"]);
    let err = fails_with(&["--max-array-size", "100"], "let b = blob(1000);");
    assert_has(
        &err,
        &["an array or blob grew past 100 items", "raise --max-array-size"],
    );
    let err = fails_with(
        &["--max-array-size", "100"],
        "let a = []; for i in 0..200 { a.push(i) }",
    );
    assert_has(&err, &["an array or blob grew past 100 items"]);
    let err = fails_with(&["--max-map-size", "2"], "let m = #{}; m.a = 1; m.b = 2; m.c = 3;");
    assert_has(&err, &["an object map grew past 2 entries", "raise --max-map-size"]);
}

#[test]
fn runaway_recursion_is_an_error_not_a_crash() {
    let err = fails_with(&[], "fn f(n) { f(n + 1) }\nf(0)");
    assert_has(
        &err,
        &[
            "functions called each other more than 64 deep",
            "look for recursion that never stops",
        ],
    );
    let err = fails_with(&["--max-call-depth", "10"], "fn f(n) { f(n + 1) }\nf(0)");
    assert_has(&err, &["more than 10 deep"]);
    // The default depth is the same in debug and release builds, and a
    // task's thread has the stack for it.
    let out = run(&[
        "-e",
        "fn depth(n) { if n == 0 { 0 } else { 1 + depth(n - 1) } }\nprint(spawn(|| depth(60)).join());",
    ]);
    assert_eq!(out.stdout.trim(), "60", "{}", out.stderr);
}

#[test]
fn one_receive_is_capped_with_a_clear_error() {
    let err = fails_with(&[], r#"let s = socket("udp"); s.bind("127.0.0.1:0"); s.recv(1 << 40);"#);
    assert_has(
        &err,
        &[
            "cannot receive 1099511627776 bytes at once",
            "ask for between 0 and 67108864 bytes",
        ],
    );
    let err = fails_with(&[], r#"let s = socket("udp"); s.bind("127.0.0.1:0"); s.recvfrom(-1);"#);
    assert_has(&err, &["cannot receive -1 bytes at once"]);
}

#[test]
fn received_data_is_held_to_the_array_limit() {
    let mut cmd = repl();
    cmd.args([
        "--max-array-size",
        "100",
        "-e",
        r#"let s = socket("udp"); s.bind("127.0.0.1:0"); print(`port ${s.getsockname()[1]}`);
           let small = s.recv(1000); print(`got ${small.len()}`);
           let big = s.recv(1000); print("not reached");"#,
    ]);
    let mut server = Running::start(cmd);
    let port = server.port();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    peer.send_to(&[1; 90], ("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(server.line(), "got 90");
    peer.send_to(&[2; 200], ("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = server.finish();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(!out.stdout.contains("not reached"), "{}", out.stdout);
    assert_has(&out.stderr, &["an array or blob grew past 100 items", "-e:3:"]);
}

#[test]
fn limits_are_listed_in_the_help() {
    let out = run(&["--help"]);
    assert_has(
        &out.stdout,
        &[
            "--max-operations",
            "--max-string-size",
            "--max-array-size",
            "--max-map-size",
            "--max-call-depth",
        ],
    );
}
