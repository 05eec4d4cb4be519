//! Processes and pools (seed 003): real OS processes with their own pid,
//! copies of the parent's data, shared queues, inherited sockets.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Running, ok, run};

#[test]
fn a_process_has_its_own_pid_and_copies_of_the_data() {
    let out = ok(r#"
        let num = 10;
        let q = queue();
        fn run1(name, num, q) { num += 5; q.put(pid()); print(`${name}: num=${num}`); }
        let p = process(run1, "child", num, q);
        print(p.join());
        print(`num=${num}`);
        let child_pid = q.get(5);
        print(child_pid != pid() && child_pid == p.pid);
        print(p.exitcode); print(p.is_alive()); print(p.name);
    "#);
    assert_eq!(out, "child: num=15\n0\nnum=10\ntrue\n0\nfalse\nProcess-1\n");
}

#[test]
fn a_failing_process_reports_and_exits_1() {
    let out = run(&[
        "-e",
        "fn bad() { socket(\"nope\") } let p = process(bad); print(p.join());",
    ]);
    assert_eq!(out.stdout, "1\n");
    assert!(
        out.stderr
            .contains("Process Process-1:\nerror: ValueError: unknown socket kind"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bounded_queue_is_shared_between_processes() {
    let out = ok(r#"
        let q = queue(3);
        fn writer(q) { for i in 0..4 { q.put(`message ${i}`); } }
        fn reader(q, out) { for i in 0..4 { out.put(q.get(5)); } try { q.get(0.1); } catch (e) { out.put(e.split(":")[0]); } }
        let out = queue();
        let w = process(writer, q); let r = process(reader, q, out);
        w.join(); r.join();
        while !out.empty() { print(out.get()); }
    "#);
    assert_eq!(out, "message 0\nmessage 1\nmessage 2\nmessage 3\nqueue.Empty\n");
}

#[test]
fn a_pool_returns_results_in_order_and_reuses_its_workers() {
    let out = ok(r#"
        fn job(x) { [x * x, pid()] }
        let p = pool(3);
        let handles = [];
        for i in 1..=16 { handles.push(p.apply_async(job, [i])); }
        let squares = []; let pids = [];
        for h in handles { let r = h.get(); squares.push(r[0]); if !pids.contains(r[1]) { pids.push(r[1]); } }
        print(squares);
        print(pids.len() <= 3 && pids.all(|x| p.pids.contains(x)));
        print(p.map(|x| x + 1, [1, 2, 3]));
        p.close(); p.join();
        try { p.apply_async(job, [1]); } catch (e) { print(e.split("\n")[0]); }
    "#);
    assert_eq!(
        out,
        "[1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144, 169, 196, 225, 256]\ntrue\n[2, 3, 4]\nValueError: Pool not running\n"
    );
}

#[test]
fn pool_job_errors_are_raised_by_get() {
    let out = ok(r#"
        fn fail(x) { throw `bad ${x}`; }
        let p = pool(1);
        let r = p.apply_async(fail, [3]);
        try { r.get(); } catch (e) { print(e.split("\n")[0]); print(e.contains("bad 3")); }
        p.close(); p.join();
    "#);
    assert_eq!(out, "RemoteError: the job failed in a pool process:\ntrue\n");
}

#[test]
fn process_per_client_server_serves_20_clients() {
    let out = ok(r#"
        let server = socket(); server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
        server.bind("127.0.0.1:0"); server.listen(32);
        let addr = server.getsockname();
        fn serve(conn) {
            loop {
                let data = conn.recv(1024);
                if data.len() == 0 { break; }
                conn.sendall(`${pid()} ${data.decode().to_upper()}`);
            }
        }
        fn accept_loop(server) {
            for i in 0..20 { let client = server.accept(); process(serve, client.conn); client.conn.close(); }
        }
        let acceptor = spawn(accept_loop, server);
        fn client(addr, n) {
            let c = socket(); c.settimeout(20); c.connect(addr);
            c.sendall(`client ${n}`);
            let reply = c.recv(1024).decode().split(" ");
            c.close();
            if reply[1] == "CLIENT" && reply[2] == `${n}` { parse_int(reply[0]) } else { -1 }
        }
        let clients = [];
        for n in 0..20 { clients.push(spawn(client, addr, n)); }
        let pids = [];
        for c in clients { let p = c.join(); if p > 0 && !pids.contains(p) { pids.push(p); } }
        acceptor.join();
        print(pids.len()); print(!pids.contains(pid()));
    "#);
    assert_eq!(out, "20\ntrue\n");
}

/// Like a forked Python child's globals: the child changes its own copy.
#[test]
fn a_child_gets_copies_of_value_cells() {
    let out = ok(r#"
        let top = value([1]);
        fn grow(cell, out) { cell.value += 2; top.value += 3; out.put(`${cell.value} ${top.value}`); }
        let given = value([1]);
        let out = queue();
        process(grow, given, out).join();
        print(out.get(5));
        print(`${given.value} ${top.value}`);
    "#);
    assert_eq!(out, "[1, 2] [1, 3]\n[1] [1]\n");
}

#[test]
fn a_pools_jobs_share_a_queue_but_not_a_socket() {
    let out = ok(r#"
        fn write(q, n) { for i in 0..n { q.put(i); } pid() }
        fn total(q, n) { let sum = 0; for i in 0..n { sum += q.get(5); } sum }
        let p = pool(2);
        let q = queue();
        let w = p.apply_async(write, [q, 100]);
        let t = p.apply_async(total, [q, 100]);
        print(t.get(10));
        print(w.get(10) != pid());
        try { p.apply_async(write, [socket(), 1]); } catch (e) { print(e.split("\n")[0]); }
        p.close(); p.join();
        print(q.qsize());
    "#);
    assert_eq!(
        out,
        "4950\ntrue\nTypeError: a socket cannot be sent to a pool's job\n0\n"
    );
}

#[test]
fn values_that_cannot_cross_are_refused_clearly() {
    let out = run(&["-e", "fn f(x) { } process(f, lock());"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.contains("cannot be copied to another process"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: processes share data through queue()"),
        "{}",
        out.stderr
    );
}

#[test]
fn terminate_stops_a_process() {
    let out = ok(r#"
        fn forever() { loop { sleep(1); } }
        let p = process(forever);
        sleep(0.2); p.terminate();
        print(p.join(10)); print(p.is_alive());
    "#);
    assert_eq!(out, "-15\nfalse\n");
}

fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie waiting for its new parent to reap it is gone too.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn ctrl_c_leaves_no_child_process_behind() {
    let mut cmd = common::repl();
    cmd.arg("-e")
        .arg(format!(
            "fn forever() {{ loop {{ sleep(1); }} }} let p = process(forever); print(p.pid); {} p.join();",
            common::say_when_blocked_in("join", "joining")
        ))
        .stdin(Stdio::null());
    let mut parent = Running::start(cmd);
    let child: i32 = parent.line().trim().parse().unwrap_or_else(|_| panic!("no child pid"));
    assert!(!gone(child), "the child should be running");
    assert_eq!(parent.line(), "joining");
    let parent_pid = i32::try_from(parent.child.id()).unwrap_or(0);
    // SAFETY: sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(parent_pid, libc::SIGINT) }, 0);
    let out = parent.finish();
    assert_eq!(out.status.code(), Some(130), "{}", out.stderr);
    let start = Instant::now();
    while !gone(child) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "child {child} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
