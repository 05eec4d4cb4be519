//! A student's session at the prompt (issue 16): each test drives the real
//! shell in a pseudo-terminal the way a learner following the course would,
//! and checks what the screen shows.

mod common;

use common::pty::Screen;

fn shell() -> Screen {
    Screen::start(&[("NO_COLOR", "1")])
}

#[test]
fn ctrl_c_at_an_input_prompt_leaves_the_session_usable() {
    let mut s = shell();
    s.line(r#"let name = input("your name: ")"#);
    s.wait_for("your name: ");
    s.type_text("\x03");
    s.wait_for("KeyboardInterrupt");
    s.line("40 + 2");
    s.wait_for("\n42");
    s.line(r#"let again = input("again: ")"#);
    s.wait_for("again: ");
    s.line("Bob");
    s.line("again");
    s.wait_for("\"Bob\"");
    // Ctrl-D still quits.
    s.type_text("\x04");
    s.wait_for_exit();
}

#[test]
fn process_pool_and_save_work_after_entries_without_semicolons() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("session.rhai");
    let mut s = shell();
    s.line("fn square(x) { x * x }");
    s.line("let s = 5");
    s.line("s");
    s.line("1+1");
    s.line("let p = pool(2)");
    s.line("p.map(square, [1, 2, 3])");
    s.wait_for("[1, 4, 9]");
    s.line("process(square, 3).join()");
    s.wait_for("\n0\n");
    s.line(&format!(":save {}", file.display()));
    s.wait_for("saved");
    let saved = std::fs::read_to_string(&file).unwrap_or_default();
    let run = common::run(&[&file.display().to_string()]);
    assert!(run.status.success(), "{saved}\n{}", run.stderr);
    s.line(":reset");
    s.line(&format!(":load {}", file.display()));
    s.line("square(s)");
    s.wait_for("\n25");
    assert!(!s.contents().contains("Expecting"), "{}", s.contents());
}

#[test]
fn an_unterminated_string_is_reported_at_once() {
    let mut s = shell();
    s.line(r#"print("abc"#);
    s.wait_for("Open string is not terminated");
    s.line("1 + 2");
    s.wait_for("\n3");
    // A back-tick string may go on to the next line.
    s.line("let t = `first");
    s.line("second`;");
    s.line("t.len()");
    s.wait_for("\n12");
}

#[test]
fn help_in_every_form_the_banner_suggests() {
    let mut s = shell();
    s.line("help()");
    s.wait_for("Sockets: socket bind listen accept");
    s.line("help(print)");
    s.wait_for("print(values...)");
    s.line(":help print");
    s.wait_for("Prints its values separated by spaces");
    s.line("help(spawn)");
    s.wait_for("spawn(function, args...) -> Task");
    assert!(!s.contents().contains("reserved"), "{}", s.contents());
}

#[test]
fn an_error_in_a_task_points_into_the_function_and_the_prompt_comes_back() {
    let mut s = shell();
    s.line("fn bad(x) {");
    s.line("  let y = x + 1;");
    s.line("  y.recv(5)");
    s.line("}");
    s.line("let t = spawn(|| { sleep(0.3); bad(1) });");
    // The failure arrives while a line is being typed: it is printed
    // above the prompt and the half-typed line is redrawn.
    s.type_text("let typed");
    s.wait_for("Exception in task Thread-1");
    s.wait_for(" 3 |   y.recv(5)");
    s.wait_for("> let typed");
    assert!(s.contents().contains("--> <repl:1>:3:5"), "{}", s.contents());
}

#[test]
fn bytes_inside_arrays_echo_as_bytes_and_long_dumps_collapse() {
    let mut s = shell();
    s.line(r#"let rrq = pack("!H8sb5sb", 1, "test.txt", 0, "octet", 0)"#);
    s.line(r#"unpack("!H8sb5sb", rrq)"#);
    s.wait_for(r#"[1, b"test.txt", 0, b"octet", 0]"#);
    s.line("blob(64)");
    s.wait_for("00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n*\n00000040");
    s.line("blob(100000, 65)");
    s.wait_for("100000 bytes in all; the first 256 are shown");
}

#[test]
fn completion_knows_types_constants_session_functions_and_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("lesson_one.rhai"), "1").unwrap_or_else(|e| panic!("{e}"));
    let mut s = shell();
    s.line(r#"let s = socket("udp")"#);
    s.line("let l = lock()");
    s.line("fn my_helper() { 1 }");
    // A lock's methods only: `release`, not recv, read, remove, rename...
    s.type_text("l.re\t");
    s.wait_for("> l.release");
    s.type_text("\x15"); // Ctrl-U clears the line
    // A socket's: after `s.recv` only recv and recvfrom.
    s.type_text("s.recv\t\t");
    s.wait_for("recv      recvfrom");
    s.type_text("\x15");
    s.type_text("SOCK_D\t");
    s.wait_for("> SOCK_DGRAM");
    s.type_text("\x15");
    s.type_text("my_he\t");
    s.wait_for("> my_helper");
    s.type_text("\x15");
    s.type_text(&format!(":load {}/lesson_o\t", dir.path().display()));
    s.wait_for("lesson_one.rhai");
}

#[test]
fn kill_refuses_the_shell_itself_and_reset_stops_tasks_and_closes_sockets() {
    let mut s = shell();
    s.line(":kill 1");
    s.wait_for("task 1 is the shell itself");
    s.line(r#"let srv = socket(); srv.bind("127.0.0.1:0"); srv.listen(); let t = spawn(|| srv.accept());"#);
    s.line(":sockets");
    s.wait_for("listening");
    s.line(":reset");
    s.wait_for("forgotten");
    s.line(":sockets");
    s.wait_for("no open sockets");
    s.line(":tasks");
    s.line(r#"print("end of the list")"#);
    s.wait_for("\nend of the list");
    assert!(!s.contents().contains("Thread-1     running"), "{}", s.contents());
}

#[test]
fn history_keeps_more_than_a_hundred_entries() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let home = dir.path().display().to_string();
    {
        let mut s = Screen::start(&[("NO_COLOR", "1"), ("XDG_DATA_HOME", &home)]);
        for i in 0..150 {
            s.type_text(&format!("{i};\r"));
        }
        s.wait_for("> 149;");
    }
    let history = std::fs::read_to_string(dir.path().join("sockrepl/history")).unwrap_or_default();
    assert!(
        history.contains("\n0;\n") || history.starts_with("0;\n") || history.contains("0;"),
        "{history}"
    );
    assert!(history.lines().filter(|l| l.ends_with(';')).count() >= 150, "{history}");
}

#[test]
fn no_hints_without_colour() {
    let mut s = shell();
    s.type_text("recvfrom(");
    // A hint is drawn as the line is redrawn after each key; the next key's
    // echo shows that the redraw for "recvfrom(" is on the screen.
    s.type_text("1");
    s.wait_for("recvfrom(1");
    let raw = String::from_utf8_lossy(&s.raw).to_string();
    assert!(
        !raw.contains("recvfrom(n"),
        "a hint shown as plain text: {}",
        s.contents()
    );
}
