//! Tasks, locks, queues, shared values and task-local storage, each
//! checked on the lesson it teaches.

mod common;

use common::{ok, run};

const RACE: &str = r#"
fn add(num, times) { for i in 0..times { num.value += 1; } }
fn add_locked(num, mutex, times) { for i in 0..times { mutex.acquire(); num.value += 1; mutex.release(); } }
let num = value(0);
let a = spawn(add, num, 100000); let b = spawn(add, num, 100000); a.join(); b.join();
print(num.value);
num.value = 0;
let mutex = lock();
let a = spawn(add_locked, num, mutex, 100000); let b = spawn(add_locked, num, mutex, 100000); a.join(); b.join();
print(num.value);
"#;

/// A task that ends while `tasks()` lists it (or while the script's end
/// waits for it) is joined, never waited for with a handle nothing ends.
#[test]
fn joining_every_listed_task_returns_while_tasks_end() {
    let out = ok(r#"
        for round in 0..200 {
            for i in 0..6 { spawn(|| sleep(0.002)); }
            sleep(0.002);
            for t in tasks() { if t != current_task() { t.join(); } }
        }
        print(tasks() == [current_task()]);
    "#);
    assert_eq!(out, "true\n");
}

#[test]
fn race_loses_updates_and_a_lock_fixes_it() {
    let mut lost_any = false;
    // Lost updates depend on the two tasks overlapping; on a loaded machine
    // one run may happen not to, so allow a few attempts.
    for _ in 0..5 {
        let out = ok(RACE);
        let totals: Vec<i64> = out.lines().filter_map(|l| l.parse().ok()).collect();
        assert_eq!(totals.len(), 2, "{out}");
        assert!(totals[0] <= 200000, "{out}");
        assert_eq!(totals[1], 200000, "the locked total must be exact");
        if totals[0] < 200000 {
            lost_any = true;
            break;
        }
    }
    assert!(lost_any, "unsynchronised increments never lost an update in 5 runs");
}

#[test]
fn tasks_get_copies_and_share_through_handles() {
    let out = ok(r#"
        let x = 5; let cell = value(5); let q = queue();
        let t = spawn(|| { x += 1; cell.value += 1; q.put(x); x });
        print(t.join()); print(x); print(cell.value); print(q.get());
    "#);
    assert_eq!(out, "6\n5\n6\n6\n");
}

#[test]
fn spawn_calls_script_functions_with_arguments() {
    let out = ok(r#"
        fn helper(n) { n * 2 }
        fn work(a, b) { helper(a) + b }
        print(spawn(work, 20, 2).join());
        print(spawn("work", 1, 1).join());
    "#);
    assert_eq!(out, "42\n3\n");
}

#[test]
fn task_handles_report_state_names_and_enumeration() {
    let out = ok(r#"
        let q = queue();
        fn wait_for(q) { q.get() }
        let t = spawn(wait_for, q);
        print(t.name.starts_with("Thread-")); print(t.is_alive());
        print(t.join(0.05) == ()); print(t.is_alive());
        let names = tasks().map(|t| t.name);
        print(names.contains("MainThread") && names.contains(t.name));
        print(current_task().name);
        print(spawn(|| current_task().name).join() != "MainThread");
        t.name = "waiter"; print(t.name);
        q.put("go"); print(t.join()); print(t.is_alive()); print(t.state);
    "#);
    assert_eq!(
        out,
        "true\ntrue\ntrue\ntrue\ntrue\nMainThread\ntrue\nwaiter\ngo\nfalse\nfinished\n"
    );
}

#[test]
fn cancelling_a_blocked_task_stops_it() {
    let out = ok(r#"
        let s = socket("udp"); s.bind("127.0.0.1:0");
        let t = spawn(|| s.recvfrom(10));
        sleep(0.05);
        print(`${t}`.contains("blocked in recvfrom on 127.0.0.1:"));
        t.cancel(); t.join(5);
        print(t.state);
    "#);
    assert_eq!(out, "true\ncancelled\n");
}

#[test]
fn a_failing_task_reports_and_the_script_goes_on() {
    let out = run(&[
        "-e",
        "let t = spawn(|| socket(\"bad\")); t.join(); print(t.state); print(t.error.contains(\"unknown socket kind\"));",
    ]);
    assert_eq!(out.stdout, "failed\ntrue\n");
    assert!(
        out.stderr
            .contains("Exception in task Thread-1:\nerror: ValueError: unknown socket kind \"bad\""),
        "{}",
        out.stderr
    );
    assert!(out.status.success());
    // `error` is the message, as `catch (e)` sees it, not Rhai's chain of
    // calls with positions.
    let out = run(&[
        "-e",
        "fn half(x) { x / 0 } let t = spawn(|| half(3)); t.join(); print(t.error);",
    ]);
    assert_eq!(out.stdout, "Division by zero: 3 / 0\n");
}

#[test]
fn the_script_waits_for_its_tasks_unless_they_are_daemons() {
    let out = ok(r#"spawn(|| { sleep(0.2); print("task done"); }); print("main done");"#);
    assert_eq!(out, "main done\ntask done\n");
    let out = ok(r#"let t = spawn(|| { sleep(30); print("never"); }); t.daemon = true; print("main done");"#);
    assert_eq!(out, "main done\n");
}

#[test]
fn deadlock_is_reported_by_name() {
    let out = run(&[
        "-e",
        r#"
        let a = lock("mutexA"); let b = lock("mutexB");
        fn one(a, b) { a.acquire(); sleep(0.1); b.acquire(); b.release(); a.release(); }
        fn two(a, b) { b.acquire(); sleep(0.1); a.acquire(); a.release(); b.release(); }
        let t1 = spawn(one, a, b); let t2 = spawn(two, a, b);
        t1.name = "T1"; t2.name = "T2";
        t1.join(2); t2.join(2);
        print([t1.state, t2.state]);
        "#,
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    let states = out.stdout.trim();
    assert!(
        states == "[\"finished\", \"failed\"]" || states == "[\"failed\", \"finished\"]",
        "{states}"
    );
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("DeadlockError"))
        .unwrap_or_default();
    for name in ["T1", "T2", "mutexA", "mutexB"] {
        assert!(line.contains(name), "{name} missing from {line:?}");
    }
}

#[test]
fn three_locks_order_three_tasks() {
    // Seed 003: each task waits for its own lock and releases the next
    // one, so the output is A B C A B C... whatever the scheduling.
    let out = ok(r#"
        let la = lock(); let lb = lock(); let lc = lock();
        lb.acquire(); lc.acquire();
        fn say(word, mine, next) { for i in 0..3 { mine.acquire(); print(word); next.release(); } }
        let ta = spawn(say, "A", la, lb); let tb = spawn(say, "B", lb, lc); let tc = spawn(say, "C", lc, la);
        ta.join(); tb.join(); tc.join();
    "#);
    assert_eq!(out, "A\nB\nC\nA\nB\nC\nA\nB\nC\n");
}

#[test]
fn non_blocking_and_timed_acquire() {
    let out = ok(r#"
        let l = lock();
        print(l.acquire(false)); print(l.locked()); print(l.acquire(false)); print(l.acquire(0.05));
        l.release(); print(l.locked());
        try { l.release(); } catch (e) { print(e.split("\n")[0]); }
    "#);
    assert_eq!(
        out,
        "true\ntrue\nfalse\nfalse\nfalse\nRuntimeError: release unlocked lock Lock-1\n"
    );
}

#[test]
fn producers_and_consumers_deliver_every_item_once() {
    let out = ok(r#"
        let q = queue(5); let done = queue();
        fn produce(q, base) { for i in 0..500 { q.put(base + i); } }
        fn consume(q, done) { loop { let x = q.get(); if x < 0 { break; } done.put(x); } }
        let producers = [spawn(produce, q, 0), spawn(produce, q, 1000)];
        let consumers = [];
        for c in 0..5 { consumers.push(spawn(consume, q, done)); }
        for p in producers { p.join(); }
        for c in consumers { q.put(-1); }
        for c in consumers { c.join(); }
        let seen = [];
        while !done.empty() { seen.push(done.get()); }
        seen.sort();
        print(seen.len());
        let expected = []; for i in 0..500 { expected.push(i); } for i in 0..500 { expected.push(1000 + i); }
        print(seen == expected);
    "#);
    assert_eq!(out, "1000\ntrue\n");
}

#[test]
fn queue_empty_and_full_are_distinct_errors() {
    let out = ok(r#"
        let q = queue(1);
        try { q.get_nowait(); } catch (e) { print(e.starts_with("queue.Empty")); }
        try { q.get(0.05); } catch (e) { print(e.starts_with("queue.Empty")); }
        q.put("a");
        print(q.full()); print(q.qsize());
        try { q.put_nowait("b"); } catch (e) { print(e.starts_with("queue.Full")); }
        try { q.put("b", 0.05); } catch (e) { print(e.starts_with("queue.Full")); }
        try { q.put("b", false); } catch (e) { print(e.starts_with("queue.Full")); }
        print(q.get(false)); print(q.empty());
    "#);
    assert_eq!(out, "true\ntrue\ntrue\n1\ntrue\ntrue\ntrue\na\ntrue\n");
}

#[test]
fn task_local_data_is_per_task() {
    let out = ok(r#"
        let data = local();
        data.student = "main";
        fn study(data, name) { data.student = name; sleep(0.05); data.student }
        let a = spawn(study, data, "Alice"); let b = spawn(study, data, "Bob");
        print(a.join()); print(b.join()); print(data.student);
        print(spawn(|| { let got = ""; try { got = data.student; } catch (e) { got = e.split("\n")[0]; } got }).join());
    "#);
    assert_eq!(
        out,
        "Alice\nBob\nmain\nAttributeError: 'local' object has no attribute 'student' in Thread-3\n"
    );
}

#[test]
fn task_per_client_server_answers_200_concurrent_clients() {
    let out = ok(r#"
        let server = socket(); server.bind("127.0.0.1:0"); server.listen(256);
        let addr = server.getsockname();
        fn serve(conn) {
            loop {
                let data = conn.recv(1024);
                if data.len() == 0 { break; }
                conn.sendall(data.decode().to_upper());
            }
            conn.close();
        }
        fn accept_loop(server) { loop { spawn(serve, server.accept().conn); } }
        let acceptor = spawn(accept_loop, server); acceptor.daemon = true;
        fn client(addr, n) {
            let c = socket(); c.settimeout(10); c.connect(addr);
            let ok = 0;
            for i in 0..3 {
                c.sendall(`client ${n} message ${i}`);
                if c.recv(1024).decode() == `CLIENT ${n} MESSAGE ${i}` { ok += 1; }
            }
            c.close();
            ok
        }
        let clients = [];
        for n in 0..200 { clients.push(spawn(client, addr, n)); }
        let total = 0;
        for c in clients { total += c.join(); }
        print(total);
        acceptor.cancel();
    "#);
    assert_eq!(out, "600\n");
}
