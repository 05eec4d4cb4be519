//! The interactive shell driven through a real pseudo-terminal, with its
//! output rendered by a terminal emulator (vt100) so the assertions are
//! about what a person would see on the screen.

mod common;

use common::pty::Screen;

#[test]
fn functions_persist_across_lines() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("fn double(x) { x * 2 }");
    s.line("double(21)");
    s.wait_for("> double(21)\n42");
}

#[test]
fn a_function_typed_over_three_lines() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("fn grow(x) {");
    s.line("  let y = x + 1;");
    s.line("  y * 10 }");
    s.line("grow(4)");
    s.wait_for("50");
    assert!(!s.contents().contains("error"), "{}", s.contents());
}

#[test]
fn syntax_errors_are_reported_at_once() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("let = 5;");
    s.wait_for("error: Syntax error");
}

#[test]
fn tab_completes_recvfrom() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("let s = socket(\"udp\");");
    s.type_text("s.recvf");
    s.type_text("\t");
    s.wait_for("> s.recvfrom");
}

#[test]
fn help_shows_the_signature() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("help(recvfrom)");
    s.wait_for("recvfrom(sock: Socket, n: i64) -> Received");
    s.wait_for("Receives one datagram");
    s.line(":help sendto");
    s.wait_for("sendto(sock: Socket, data: Blob, addr: Dynamic) -> i64");
}

#[test]
fn task_output_appears_above_a_half_typed_line() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("let srv = socket(\"udp\"); srv.bind(\"127.0.0.1:0\"); let port = srv.getsockname()[1];");
    s.line("let t = spawn(|| { let m = srv.recvfrom(100); print(`got ${m.data.decode()}`); });");
    s.line("`port=${port}`");
    s.wait_for("\"port=");
    let screen = s.contents();
    let port: u16 = screen
        .split("\"port=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port on screen:\n{screen}"));
    // Another program sends the datagram while a line is half typed.
    s.type_text("let half = 12");
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|u| u.send_to(b"hello", ("127.0.0.1", port)))
        .unwrap_or_else(|e| panic!("{e}"));
    s.wait_for("[Thread-1] got hello");
    // The half-typed line is still there, below the task's output, and
    // finishing it works.
    let screen = s.contents();
    let got = screen.find("[Thread-1] got hello").unwrap_or(0);
    assert!(screen[got..].contains("> let half = 12"), "{screen}");
    s.line("3;");
    s.line("half");
    s.wait_for("123");
}

#[test]
fn ctrl_c_interrupts_a_blocked_call_and_keeps_the_session() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("let keep = 7; let u = socket(\"udp\"); u.bind(\"127.0.0.1:0\");");
    // A task says when the shell's main task is blocked in recvfrom.
    s.line(&common::say_when_blocked_in("recvfrom", "now blocked"));
    s.line("let m = u.recvfrom(1024)");
    s.wait_for("now blocked");
    s.type_text("\x03");
    s.wait_for("KeyboardInterrupt");
    s.line("1 + 1");
    s.wait_for("> 1 + 1\n2");
    s.line("keep");
    s.wait_for("\n7");
}

#[test]
fn tasks_command_shows_a_task_blocked_in_accept() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("let l = socket(); l.bind(\"127.0.0.1:0\"); l.listen();");
    s.line("let t = spawn(|| l.accept());");
    s.repeat_until(":tasks", "blocked in accept on 127.0.0.1:");
    s.wait_for("Thread-1");
    s.line(":sockets");
    s.wait_for("listening>");
}

#[test]
fn no_color_means_no_escape_codes_for_colour() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("let x = \"text\"; x");
    s.line("nosuchfunction()");
    s.wait_for("error: NameError: there is no function nosuchfunction()");
    // Cursor control is the editor's business; colour (SGR, ESC [ ... m) must not appear.
    let raw = String::from_utf8_lossy(&s.raw).to_string();
    let sgr = raw.match_indices("\x1b[").any(|(i, _)| {
        raw[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ';')
            .count()
            < 12
            && raw[i + 2..]
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == ';')
                .starts_with('m')
    });
    assert!(!sgr, "colour escape codes despite NO_COLOR: {raw:?}");
}

#[test]
fn colour_is_used_on_a_terminal() {
    let mut s = Screen::start(&[]);
    s.line("nosuchfunction()");
    s.wait_for("error: NameError: there is no function nosuchfunction()");
    let raw = String::from_utf8_lossy(&s.raw).to_string();
    assert!(raw.contains("\x1b[1;31merror"), "{raw:?}");
}

#[test]
fn vars_save_and_reset() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("session.rhai");
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("let answer = 42;");
    s.line(":vars");
    s.wait_for("let answer = 42");
    s.line(&format!(":save {}", file.display()));
    s.wait_for("saved 1 entries");
    assert_eq!(
        std::fs::read_to_string(&file).ok().as_deref(),
        Some("let answer = 42;\n")
    );
    s.line(":reset");
    s.wait_for("forgotten");
    s.line("answer");
    s.wait_for("NameError: there is no variable answer");
    s.line(&format!(":load {}", file.display()));
    s.line("answer + 1");
    s.wait_for("43");
}

#[test]
fn ctrl_d_quits_and_says_tasks_stop() {
    let mut s = Screen::start(&[("NO_COLOR", "1")]);
    s.line("let t = spawn(|| sleep(60));");
    s.type_text("\x04");
    s.wait_for("stopping 1 running task");
}

#[test]
fn dash_i_runs_a_script_then_stays_with_its_variables() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("setup.rhai");
    std::fs::write(
        &file,
        "let greeting = \"hello\";\nfn shout(x) { x.to_upper() }\nprint(\"loaded\");\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut s = Screen::start_with(&[("NO_COLOR", "1")], &["-i", &file.display().to_string()]);
    s.wait_for("loaded");
    s.line("shout(greeting)");
    s.wait_for("\"HELLO\"");
}
