//! The trace facility (issue 17): `repl --trace`, `--trace-to` and
//! `--diagram`, `trace(...)` in a script and `:trace` in the shell record
//! every socket event of every task.

mod common;

use common::pty::Screen;
use common::{assert_has, run};

/// A TCP exchange between a task and the main task, and a refused
/// connection: every kind of event a lesson shows.
const TCP_EXCHANGE: &str = r#"
let listener = socket();
listener.bind("127.0.0.1:0");
listener.listen();
let port = listener.getsockname()[1];
let serving = spawn(|| {
    let conn = listener.accept().conn;
    conn.send(conn.recv(100));
    conn.close();
});
let client = socket();
client.connect(`127.0.0.1:${port}`);
client.sendall("ping".encode());
print(client.recv(100));
client.close();
serving.join();
let closed = listener.getsockname();
listener.close();
try { socket().connect(`127.0.0.1:${closed[1]}`); } catch (e) { print("refused"); }
"#;

#[test]
fn trace_prints_every_socket_event_of_every_task_on_stderr() {
    let out = run(&["--trace", "-e", TCP_EXCHANGE]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        out.stdout, "b\"ping\"\nrefused\n",
        "the script's own output is untouched"
    );
    assert_has(
        &out.stderr,
        &[
            "MainThread",
            "Thread-1",
            "  bind",
            "  listen",
            "  connect",
            "  accept",
            "sendall 4 bytes b\"ping\"",
            "recv 4 bytes b\"ping\"",
            "send 4 bytes b\"ping\"",
            "  close",
            "connect: ConnectionRefusedError",
        ],
    );
    // Times come first and grow.
    let times: Vec<f64> = out
        .stderr
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(times.len() >= 10, "{}", out.stderr);
    assert!(times.first() <= times.last(), "{times:?}");
}

#[test]
fn without_trace_nothing_is_printed() {
    let out = run(&["-e", TCP_EXCHANGE]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stderr, "");
}

#[test]
fn a_script_turns_tracing_on_and_off_and_records_json_lines() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let events = dir.path().join("events.jsonl");
    let script = format!(
        r#"
        let s = socket("udp");
        s.bind("127.0.0.1:0");
        let me = s.getsockname();
        s.sendto("before".encode(), me);
        s.recvfrom(100);
        trace(true);
        s.sendto("printed".encode(), me);
        s.recvfrom(100);
        trace(false);
        s.sendto("quiet".encode(), me);
        s.recvfrom(100);
        trace("{}");
        s.sendto("recorded".encode(), me);
        s.recvfrom(100);
        trace(false);
        "#,
        events.display()
    );
    let out = run(&["-e", &script]);
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stderr.contains("sendto 7 bytes b\"printed\""), "{}", out.stderr);
    assert!(
        !out.stderr.contains("before") && !out.stderr.contains("quiet"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("recorded"),
        "recorded events go to the file only: {}",
        out.stderr
    );
    let recorded = std::fs::read_to_string(&events).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<serde_json::Value> = recorded
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 2, "{recorded}");
    assert_eq!(lines[0]["op"], "sendto");
    assert_eq!(lines[0]["size"], 8);
    assert_eq!(lines[0]["head"], "7265636f72646564"); // "recorded" in hex
    assert_eq!(lines[1]["op"], "recvfrom");
    assert_eq!(lines[1]["task"], "MainThread");
}

#[test]
fn a_recorded_trace_draws_as_a_sequence_diagram() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let events = dir.path().join("events.jsonl");
    let events = events.to_string_lossy();
    let out = run(&["--trace-to", &events, "-e", TCP_EXCHANGE]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stderr, "", "--trace-to prints nothing");
    let drawn = run(&["--diagram", &events, "--title", "ping & pong"]);
    assert!(drawn.status.success(), "{}", drawn.stderr);
    let svg = drawn.stdout;
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    assert_has(
        &svg,
        &[
            "ping &amp; pong",
            "connect: SYN, SYN-ACK, ACK",
            "&quot;ping&quot;",
            "close: FIN",
            "server, connection 1",
            ">client<",
        ],
    );
}

#[test]
fn diagram_says_which_line_of_a_trace_is_wrong() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"t\":0,\"task\":\"MainThread\",\"sock\":1,\"kind\":\"udp\",\"op\":\"bind\"}\nnot json\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = run(&["--diagram", &bad.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr.contains("line 2 of the trace is not an event"),
        "{}",
        out.stderr
    );
    let missing = run(&["--diagram", "/nonexistent/events.jsonl"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        missing.stderr.contains("cannot read /nonexistent/events.jsonl"),
        "{}",
        missing.stderr
    );
}

#[test]
fn the_shell_traces_above_the_prompt_until_told_to_stop() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line(r#"let u = socket("udp"); u.bind("127.0.0.1:0"); let me = u.getsockname();"#);
    s.line(":trace");
    s.wait_for("tracing socket events (:trace off stops)");
    s.line(r#"u.sendto("seen".encode(), me); u.recvfrom(10).data"#);
    s.wait_for("recvfrom 4 bytes b\"seen\"");
    s.line(":trace off");
    s.wait_for("socket events are no longer traced");
    s.line(r#"u.sendto("unseen".encode(), me); u.recvfrom(10).data"#);
    s.wait_for("b\"unseen\"");
    s.line(r#"print("done")"#);
    s.wait_for("\ndone");
    assert!(!s.contents().contains("sendto 6 bytes"), "{}", s.contents());
    s.type_text("\x04");
    s.wait_for_exit();
}
