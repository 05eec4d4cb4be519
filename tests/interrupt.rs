//! Ctrl-C (SIGINT) interrupts every kind of blocking call promptly and
//! the process exits with status 130, as shells expect.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Running, finish, repl};

/// Starts `code`, waits until it is ready (it prints "ready" itself before
/// a loop that never blocks; otherwise until its main task is blocked),
/// sends SIGINT, and checks it exits 130 within one second.
fn interrupt(code: &str) {
    let mut cmd = repl();
    let code = if code.contains(r#"print("ready")"#) {
        code.to_string()
    } else {
        format!("{}{code}", common::say_when_blocked_in("", "ready"))
    };
    let code = code.as_str();
    cmd.arg("-e").arg(code).stdin(Stdio::piped());
    let mut running = Running::start(cmd);
    assert_eq!(running.line(), "ready");
    let pid = i32::try_from(running.child.id()).unwrap_or_else(|_| panic!("pid out of range"));
    let children = children_of(running.child.id());
    if code.contains("pool(") || code.contains("process(") {
        assert!(!children.is_empty(), "{code}: the child processes should have started");
    }
    let sent = Instant::now();
    // SAFETY: kill only sends a signal to our own child process.
    let rc = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(rc, 0, "kill failed");
    let stdin = running.child.stdin.take();
    let out = finish(running.child, Duration::from_secs(5));
    drop(stdin);
    let took = sent.elapsed();
    assert_eq!(out.status.code(), Some(130), "{code}\nstderr: {}", out.stderr);
    assert!(took < Duration::from_secs(1), "{code}: took {took:?}");
    assert!(out.stderr.contains("KeyboardInterrupt"), "{}", out.stderr);
    for child in children {
        common::eventually(
            &format!("{code}: child process {child} should be gone"),
            Duration::from_secs(5),
            || gone(child),
        );
    }
}

/// The child processes of `pid`, from /proc.
fn children_of(pid: u32) -> Vec<i32> {
    let mut found = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        found.extend(list.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
    }
    found
}

/// Gone, or a zombie waiting for init to reap it: not running.
fn gone(pid: i32) -> bool {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    state.is_empty() || state.split(") ").nth(1).is_some_and(|s| s.starts_with('Z'))
}

#[test]
fn interrupts_recv() {
    interrupt(
        r#"let s = socket(); s.bind("127.0.0.1:0"); s.listen(); let c = socket(); c.connect(s.getsockname()); let conn = s.accept().conn; conn.recv(10);"#,
    );
}

#[test]
fn interrupts_recvfrom() {
    interrupt(r#"let s = socket("udp"); s.bind("127.0.0.1:0"); s.recvfrom(10);"#);
}

#[test]
fn interrupts_accept() {
    interrupt(r#"let s = socket(); s.bind("127.0.0.1:0"); s.listen(); s.accept();"#);
}

#[test]
fn interrupts_connect() {
    // A listener with a backlog of 0 takes one pending connection; the
    // kernel drops the next SYN, so the second connect waits.
    interrupt(
        r#"let s = socket(); s.bind("127.0.0.1:0"); s.listen(0); let a = socket(); a.connect(s.getsockname()); let b = socket(); b.connect(s.getsockname());"#,
    );
}

#[test]
fn interrupts_sleep() {
    interrupt(r#"sleep(100);"#);
}

#[test]
fn interrupts_input() {
    interrupt(r#"input();"#);
}

#[test]
fn interrupts_a_busy_loop() {
    interrupt(r#"print("ready"); let n = 0; loop { n += 1; }"#);
}

#[test]
fn a_caught_interrupt_still_ends_the_script() {
    interrupt(r#"try { sleep(100); } catch (e) { } loop { }"#);
}

#[test]
fn interrupts_join() {
    interrupt(r#"let t = spawn(|| sleep(100)); t.join();"#);
}

#[test]
fn interrupts_lock_acquire() {
    // Not a deadlock: the sleeping task could still release the lock.
    interrupt(r#"let l = lock(); l.acquire(); let t = spawn(|l| { sleep(1000); l.release() }, l); l.acquire();"#);
}

#[test]
fn interrupts_queue_get() {
    interrupt(r#"let q = queue(); q.get();"#);
}

#[test]
fn interrupts_queue_put_on_a_full_queue() {
    interrupt(r#"let q = queue(1); q.put(1); q.put(2);"#);
}

#[test]
fn interrupts_sendall_to_a_peer_that_does_not_read() {
    interrupt(
        r#"let s = socket(); s.bind("127.0.0.1:0"); s.listen(); let c = socket(); c.connect(s.getsockname()); let conn = s.accept().conn; c.sendall(blob(64 * 1048576, 0));"#,
    );
}

#[test]
fn interrupts_pool_results() {
    // The pool's worker processes are checked to be gone, like every child.
    interrupt(r#"fn slow(x) { sleep(100); x } let p = pool(2); let r = p.apply_async(slow, [1]); r.get();"#);
}

/// The child process of a script interrupted in `join` is gone too.
#[test]
fn interrupts_process_join_and_leaves_no_child() {
    interrupt(r#"fn slow() { sleep(100); } let p = process(slow); p.join();"#);
}
