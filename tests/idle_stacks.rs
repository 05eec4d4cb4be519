//! A task that waits on an idle socket gives back the stack pages its
//! deeper calls touched (runtime::poll::release_stack_below), so a server
//! with one thread per idle client holds only what each wait needs.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Running, eventually, repl};

/// VmRSS and VmHWM (the peak) of process `pid`, in KiB.
fn resident_and_peak(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn idle_tasks_give_back_the_stack_their_deep_calls_touched() {
    let code = r#"
        fn deep(n) { if n == 0 { 0 } else { 1 + deep(n - 1) } }
        fn serve(server) { deep(40); let c = server.accept(); c.recv(10); }
        let server = socket(); server.bind("127.0.0.1:0"); server.listen();
        for i in 0..50 { spawn(serve, server); }
        print("started");
    "#;
    let mut cmd = repl();
    cmd.args(["-e", code]).stdin(Stdio::null());
    let mut running = Running::start(cmd);
    assert_eq!(running.line(), "started");
    let pid = running.child.id();
    // Fifty tasks went 40 script calls deep (megabytes of stack between
    // them) and now wait in accept; once their waits count as idle, most
    // of that is no longer resident, though the peak remembers it.
    eventually(
        "the idle tasks kept the stack their deep calls touched",
        Duration::from_secs(20),
        || {
            let (resident, peak) = resident_and_peak(pid);
            peak > resident + 8 * 1024
        },
    );
    let _ = running.child.kill();
}
