//! Two sessions in one process are independent: one's end, reset or
//! limits never touch the other's tasks, processes or sockets.
//!
//! The scripts start child processes, which are copies of this test
//! program, so it has a `main` of its own that runs a child's job first
//! (`harness = false` in Cargo.toml).

use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sockrepl::{Limits, Outcome, Session};

const DEADLINE: Duration = Duration::from_secs(20);

/// Starts a server task and a child process, prints `PORT PID`, then
/// waits for one connection before letting the child finish.
const SCRIPT: &str = r#"
fn worker(q) { q.get(); }
let q = queue();
let p = process(worker, q);
let s = socket();
s.bind("127.0.0.1:0");
s.listen();
let t = spawn(|s| { let c = s.accept(); c.conn.close(); }, s);
print(`${s.getsockname()[1]} ${p.pid}`);
t.join();
q.put("go");
p.join();
print("done");
"#;

struct Running {
    session: Session,
    lines: mpsc::Receiver<String>,
    thread: JoinHandle<Outcome>,
    port: u16,
    pid: u32,
}

fn start(limits: Limits, script: &'static str) -> Running {
    let (send, lines) = mpsc::channel();
    let session = Session::builder()
        .limits(limits)
        .printer(move |text| {
            let _ = send.send(text.to_string());
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let running = session.clone();
    let thread = std::thread::spawn(move || running.run_source("two.rhai", script));
    let first = lines
        .recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("the script printed nothing"));
    let mut parts = first
        .split(' ')
        .map(|p| p.parse::<u32>().unwrap_or_else(|e| panic!("{first:?}: {e}")));
    let (port, pid) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    Running {
        session,
        lines,
        thread,
        port: u16::try_from(port).unwrap_or_else(|e| panic!("{e}")),
        pid,
    }
}

fn finish(thread: JoinHandle<Outcome>) -> Outcome {
    let start = Instant::now();
    while !thread.is_finished() {
        assert!(start.elapsed() < DEADLINE, "the script did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    thread.join().unwrap_or_else(|_| panic!("the script thread panicked"))
}

fn gone(pid: u32) -> bool {
    // Reaped, or a zombie waiting to be.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| stat.contains(") Z "))
}

fn eventually(what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// B runs to its end, untouched by whatever happened to A.
fn b_still_works(b: Running) {
    assert!(!gone(b.pid), "B's process should still run");
    TcpStream::connect(("127.0.0.1", b.port)).unwrap_or_else(|e| panic!("B's server should still accept: {e}"));
    assert_eq!(finish(b.thread), Outcome::Done);
    assert_eq!(b.lines.recv_timeout(DEADLINE).ok().as_deref(), Some("done"));
    eventually("B's process should exit by itself", || gone(b.pid));
}

fn ending_one_leaves_the_other() {
    let a = start(Limits::NONE, SCRIPT);
    let b = start(Limits::NONE, SCRIPT);
    a.session.end();
    assert_eq!(finish(a.thread), Outcome::Interrupted);
    eventually("A's process should be terminated", || gone(a.pid));
    assert!(
        TcpStream::connect(("127.0.0.1", a.port)).is_err(),
        "A's listening socket should be closed"
    );
    b_still_works(b);
}

fn resetting_one_leaves_the_other() {
    let a = start(Limits::NONE, SCRIPT);
    let b = start(Limits::NONE, SCRIPT);
    // `:reset` cancels A's tasks (its server task), closes its sockets and
    // terminates its process; A's main code then fails or ends, on its own.
    a.session.reset();
    eventually("A's process should be terminated", || gone(a.pid));
    assert!(TcpStream::connect(("127.0.0.1", a.port)).is_err());
    let _ = finish(a.thread);
    b_still_works(b);
}

fn limits_are_per_session() {
    let counting = r#"let n = 0; for i in 0..20000 { n += 1; } print(`counted ${n}`);"#;
    let tight = Session::builder()
        .limits(Limits {
            operations: 1000,
            ..Limits::NONE
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let free = Session::new().unwrap_or_else(|e| panic!("{e}"));
    let limited = std::thread::spawn(move || tight.run_source("tight", counting));
    let unlimited = std::thread::spawn(move || free.run_source("free", counting));
    let limited = finish(limited);
    assert!(
        matches!(&limited, Outcome::Failed(text) if text.contains("--max-operations")),
        "{limited:?}"
    );
    assert_eq!(finish(unlimited), Outcome::Done);
}

fn main() {
    sockrepl::run_child_if_requested();
    let tests: &[(&str, fn())] = &[
        ("ending_one_leaves_the_other", ending_one_leaves_the_other),
        ("resetting_one_leaves_the_other", resetting_one_leaves_the_other),
        ("limits_are_per_session", limits_are_per_session),
    ];
    for (name, test) in tests {
        println!("test {name} ...");
        test();
        println!("test {name} ... ok");
    }
}
