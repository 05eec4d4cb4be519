//! What a student porting a Python program line by line expects (issue 16):
//! locks any task may release, functions that read module-level variables,
//! Python's print, accept's connection used directly, and errors in script
//! terms with hints for Python habits.

mod common;

use common::{assert_has, fails, ok};

/// Seed 003's ordered demo: each round starts new tasks; each task waits
/// for a lock that another task releases after a pause longer than the old
/// detector's grace period.
#[test]
fn the_ordered_lesson_with_pauses_is_not_a_deadlock() {
    let out = ok(r#"
        let a = lock("mutexA"); let b = lock("mutexB"); let c = lock("mutexC");
        b.acquire(); c.acquire();
        fn step(word, mine, next) { if mine.acquire() { print(word); sleep(0.6); next.release(); } }
        let all = [];
        for round in 0..2 {
            all.push(spawn(step, "A", a, b));
            all.push(spawn(step, "B", b, c));
            all.push(spawn(step, "C", c, a));
        }
        for t in all { t.join(); }
        print(all.filter(|t| t.state == "failed").len());
    "#);
    assert_eq!(out, "A\nB\nC\nA\nB\nC\n0\n");
}

#[test]
fn a_lock_released_by_another_task_is_not_a_deadlock() {
    let out = ok(r#"
        let l = lock();
        l.acquire();
        spawn(|| { sleep(1); l.release(); });
        print(l.acquire(5));
    "#);
    assert_eq!(out, "true\n");
}

#[test]
fn real_deadlocks_are_still_reported_at_once() {
    // Nothing else could ever release it.
    let err = fails(&["-e", "let l = lock(\"solo\"); l.acquire(); l.acquire();"]);
    assert_has(
        &err,
        &[
            "DeadlockError",
            "MainThread waits for solo, which it holds itself",
            "no other task",
        ],
    );
    // Every other task is waiting for a lock too.
    let err = fails(&[
        "-e",
        "let l = lock(\"L\"); l.acquire(); let t = spawn(|| l.acquire()); sleep(0.2); l.acquire();",
    ]);
    assert_has(
        &err,
        &["DeadlockError", "every other task (Thread-1) is waiting for a lock"],
    );
}

/// Seed 003's ThreadLocal program: the functions use the thread-local
/// without receiving it, as Python functions use a module global.
#[test]
fn functions_read_top_level_variables() {
    let out = ok(r#"
        let thread_local = local();
        let mutex = lock();
        let results = queue();
        fn func() { print(`${current_task().name} ${thread_local.student}`); }
        fn run(name) {
            thread_local.student = name;
            mutex.acquire(); func(); mutex.release();
            results.put(name);
        }
        let t1 = spawn(run, "Alice"); t1.name = "thread-a"; t1.join();
        let t2 = spawn(run, "Bob"); t2.name = "thread-b"; t2.join();
        print(results.qsize());
        let count = 10;
        fn report() { count }
        count = 11;
        print(report());
    "#);
    assert!(out.contains(" Alice\n") && out.contains(" Bob\n"), "{out}");
    assert!(out.ends_with("2\n11\n"), "{out}");
}

#[test]
fn assigning_a_top_level_value_in_a_function_explains_value() {
    let err = fails(&["-e", "let num = 0; fn work() { num += 1; } work();"]);
    assert_has(
        &err,
        &[
            "cannot assign to the top-level variable num from inside a function",
            "let num = value(0);",
            "num.value += 1",
        ],
    );
    let out = ok("let num = value(0); fn work() { num.value += 1; } work(); work(); print(num.value);");
    assert_eq!(out, "2\n");
}

#[test]
fn print_takes_any_number_of_values() {
    let out = ok(r#"print("got", 3, "bytes from", ["127.0.0.1", 9], blob(2)); print(); print(1);"#);
    assert_eq!(out, "got 3 bytes from [\"127.0.0.1\", 9] b\"\\x00\\x00\"\n\n1\n");
}

#[test]
fn the_connection_accept_returns_is_a_socket() {
    let out = ok(r#"
        let s = socket(); s.bind("127.0.0.1:0"); s.listen();
        let client = socket(); client.connect(s.getsockname());
        let c = s.accept();
        client.send("hi");
        print(c.recv(10).decode());
        c.send("yo"); print(client.recv(10).decode());
        print(c.conn == c, c[0] == c, c.addr == c[1], c.addr[0]);
        c.close(); print(c.closed);
    "#);
    assert_eq!(out, "hi\nyo\ntrue true true 127.0.0.1\ntrue\n");
}

#[test]
fn wrong_types_are_explained_in_script_terms() {
    let err = fails(&["-e", r#"let s = socket("udp"); s.sendto(5, "127.0.0.1:9");"#]);
    assert_has(
        &err,
        &["TypeError: sendto's data must be a blob or a string, not an int"],
    );
    for code in [
        r#"socket("udp").sendto(5, "127.0.0.1:9")"#,
        "5.recv(10)",
        "socket().bind()",
        "sleep([1])",
        "process(|l| 1, lock())",
        "let t = spawn(|| 1); t.join(\"x\")",
        "queue().put()",
    ] {
        let err = fails(&["-e", code]);
        for rust in [
            "i64",
            "ImmutableString",
            "&str",
            "sockrepl::",
            "Dynamic",
            "Array",
            "f64",
        ] {
            assert!(!err.contains(rust), "{code}: a Rust type name in:\n{err}");
        }
    }
}

#[test]
fn close_names_and_python_habits_get_hints() {
    assert_has(
        &fails(&["-e", "prnt(1)"]),
        &["there is no function prnt(int)", "did you mean print"],
    );
    assert_has(&fails(&["-e", "tpye_of(1)"]), &["did you mean type_of"]);
    assert_has(
        &fails(&["-e", r#"let a = ("127.0.0.1", 9000);"#]),
        &["Rhai has no tuples", "\"127.0.0.1:9000\""],
    );
    assert_has(&fails(&["-e", r#"let x = b"hi";"#]), &["\"hi\".encode()"]);
    assert_has(
        &fails(&["-e", "let s = socket(); let conn, addr = s.accept();"]),
        &["cannot unpack a pair", "let c = s.accept();"],
    );
    assert_has(
        &fails(&["-e", "let running = True;"]),
        &["true and false in lower case"],
    );
}
