//! Every course program in scripts/ runs end to end. The last test fails
//! when a script exists that no test in tests/ names.

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Output, Running, repl, repo, run};

/// Starts a server script on an ephemeral port; returns it and the port it
/// printed on its first line.
fn server(name: &str) -> (Running, u16) {
    let mut cmd = repl();
    cmd.arg(script(name)).arg("127.0.0.1:0").stdin(Stdio::piped());
    let mut running = Running::start(cmd);
    let line = running.line();
    let port = line
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|w| !w.is_empty())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (running, port)
}

/// One of the seeds' Python programs, from tests/scripts/seeds/ (each
/// adapted only to run on loopback with a port given by the test), run
/// unbuffered in a process group of its own.
fn seed_program(name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-u")
        .arg(repo(&format!("tests/scripts/seeds/{name}")))
        .args(args)
        .process_group(0);
    cmd
}

/// A running peer program whose process group is killed when the test
/// is done with it: the seeds' servers fork children that loop for ever
/// once their client has gone.
struct Peer {
    running: Option<Running>,
    leader: u32,
}

impl Peer {
    fn start(cmd: Command) -> Peer {
        let running = Running::start(cmd);
        let leader = running.child.id();
        Peer {
            running: Some(running),
            leader,
        }
    }

    fn running(&mut self) -> &mut Running {
        self.running.as_mut().unwrap_or_else(|| panic!("finished"))
    }

    fn line(&mut self) -> String {
        self.running().line()
    }

    /// Reads lines until one ends with a number above 1000 (the port a
    /// server reports) and returns it.
    fn number(&mut self) -> u16 {
        for _ in 0..5 {
            let line = self.line();
            if let Some(port) = line
                .rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse::<u16>().ok())
                .filter(|p| *p > 1000)
            {
                return port;
            }
        }
        panic!("no port in {:?}", self.running().seen)
    }

    /// Types `line` (and Enter) into the program.
    fn type_line(&mut self, line: &str) {
        let stdin = self
            .running()
            .child
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("no stdin"));
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Ends the input and waits for the program to exit.
    fn finish(mut self) -> Output {
        let mut running = self.running.take().unwrap_or_else(|| panic!("finished"));
        running.child.stdin = None;
        running.finish()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        kill_group(self.leader);
    }
}

fn kill_group(leader: u32) {
    if let Ok(pid) = i32::try_from(leader) {
        // SAFETY: kill() on a process group this test started has no
        // memory effects.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// Runs a script with `input` piped to it.
fn with_input(args: &[&str], input: &str) -> Output {
    common::run_with_input(args, input)
}

fn python(code: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn script(name: &str) -> String {
    repo(&format!("scripts/{name}")).display().to_string()
}

#[test]
fn socket_basics() {
    let out = run(&[&script("socket_basics.rhai")]);
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..3],
        ["<socket tcp unbound>", "[\"0.0.0.0\", 0]", "<socket tcp closed>"]
    );
    assert!(lines[3].starts_with("host name: ") && lines[3].len() > "host name: ".len());
    assert_eq!(lines[4], "localhost is 127.0.0.1");
    let other = run(&[&script("socket_basics.rhai"), "127.0.0.2"]);
    assert!(other.stdout.ends_with("127.0.0.2 is 127.0.0.2\n"), "{}", other.stdout);
}

#[test]
fn udp_echo_client_and_server() {
    let (srv, port) = server("udp_echo_server.rhai");
    let out = run(&[&script("udp_echo_client.rhai"), &format!("127.0.0.1:{port}")]);
    assert_eq!(out.stdout, format!("hi [\"127.0.0.1\", {port}]\n"), "{}", out.stderr);
    let srv = srv.finish();
    assert!(
        srv.stdout.contains("got b\"hello\" from [\"127.0.0.1\""),
        "{}",
        srv.stdout
    );
    // On its own the client starts a server itself.
    let alone = run(&[&script("udp_echo_client.rhai")]);
    assert!(alone.stdout.contains("\nhi [\"127.0.0.1\""), "{}", alone.stderr);
}

#[test]
fn udp_echo_server_answers_python() {
    let (srv, port) = server("udp_echo_server.rhai");
    let reply = python(&format!(
        "import socket\ns = socket.socket(type=socket.SOCK_DGRAM)\ns.settimeout(10)\n\
         s.sendto(b'hello', ('127.0.0.1', {port}))\nprint(s.recvfrom(1024)[0].decode())"
    ));
    assert_eq!(reply, "hi\n");
    assert!(srv.finish().status.success());
}

#[test]
fn udp_time_client_and_server() {
    let (mut srv, port) = server("udp_time_server.rhai");
    let out = with_input(
        &[&script("udp_time_client.rhai"), &format!("127.0.0.1:{port}")],
        "%Y\n\n%d %Q\n",
    );
    let year = python("import time\nprint(time.strftime('%Y'))");
    let answers: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.rsplit(">> ").next().unwrap_or_default())
        .collect();
    assert_eq!(answers[0], year.trim(), "{}", out.stdout);
    assert_eq!(answers[1].len(), "2026-11-22 21:33:00".len(), "{}", out.stdout);
    assert_eq!(answers[2], "bad format: %d %Q", "{}", out.stdout);
    // Python's own client from the seed gets the same service.
    let reply = python(&format!(
        "from socket import *\nc = socket(AF_INET, SOCK_DGRAM)\nc.settimeout(10)\n\
         c.sendto('%Y'.encode('utf-8'), ('127.0.0.1', {port}))\nprint(c.recv(1024).decode('utf-8'))"
    ));
    assert_eq!(reply, year);
    let _ = srv.child.kill();
    // Alone, the client runs its own time service.
    let alone = with_input(&[&script("udp_time_client.rhai")], "%Y\n");
    assert!(alone.stdout.contains(year.trim()), "{}", alone.stderr);
}

#[test]
fn tcp_client_and_server_and_the_reuseaddr_restart() {
    let (srv, port) = server("tcp_server.rhai");
    let out = run(&[&script("tcp_client.rhai"), &format!("127.0.0.1:{port}")]);
    assert_eq!(out.stdout, "b\"hi\"\n", "{}", out.stderr);
    assert!(srv.finish().stdout.contains("b\"hello!\" from [\"127.0.0.1\""));
    // The server closed first, so its side of the connection is in
    // TIME_WAIT; with SO_REUSEADDR it can start again on the same port.
    let mut cmd = repl();
    cmd.arg(script("tcp_server.rhai"))
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null());
    let mut again = Running::start(cmd);
    assert_eq!(again.line(), format!("listening on port {port}"));
    let reply = python(&format!(
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=10)\ns.send(b'hello from python')\nprint(s.recv(1024))"
    ));
    assert_eq!(reply, "b'hi'\n");
    assert!(again.finish().stdout.contains("hello from python"));
    let alone = run(&[&script("tcp_client.rhai")]);
    assert_eq!(alone.stdout, "b\"hi\"\n", "{}", alone.stderr);
}

/// Types `input` into a running program and ends its input there.
fn type_all(running: &mut Running, input: &str) {
    if let Some(mut stdin) = running.child.stdin.take() {
        stdin.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn udp_chat_between_a_and_b() {
    let (mut a, port) = started("udp_chat_a.rhai", &["127.0.0.1:0"], Stdio::piped());
    type_all(&mut a, "hi B\nfine\n");
    // B's empty line is not sent; B's "quit" ends both sides.
    let b = with_input(
        &[&script("udp_chat_b.rhai"), &format!("127.0.0.1:{port}")],
        "hello A\n\nhow are you\nquit\n",
    );
    assert_eq!(
        b.stdout, "user B is online\nB:>> A:>> hi B\nB:>> B:>> A:>> fine\nB:>> chat over\n",
        "{}",
        b.stderr
    );
    let a = a.finish();
    assert!(a.status.success(), "{}", a.stderr);
    assert_eq!(
        a.stdout,
        format!("user A is online, on port {port}\nB:>> hello A\nA: >> B:>> how are you\nA: >> B:>> quit\nchat over"),
        "{}",
        a.stderr
    );
    // B alone talks to a stand-in for A.
    let alone = with_input(&[&script("udp_chat_b.rhai")], "ping\nquit\n");
    assert!(
        alone.stdout.contains("A:>> (A's stand-in) you said: ping"),
        "{}",
        alone.stdout
    );
}

/// Seed 000's user B (Python) with our A: A's empty line is not sent,
/// A's "quit" is only a message, and B's "quit" ends both.
#[test]
fn udp_chat_a_with_the_seeds_user_b() {
    let (mut a, port) = started("udp_chat_a.rhai", &["127.0.0.1:0"], Stdio::piped());
    type_all(&mut a, "\nquit\n");
    let mut b = seed_program("000_udp_chat_b.py", &[&port.to_string()]);
    b.stdin(Stdio::piped());
    let b = common::run_command_with_input(b, "hello\n\nquit\n");
    assert!(b.status.success(), "{}", b.stderr);
    assert_eq!(
        b.stdout,
        "QQ用户B上线.........\nB:>> A:>>  quit\nB:>> B:>> 聊天结束.....\n"
    );
    let a = a.finish();
    assert!(a.status.success(), "{}", a.stderr);
    assert_eq!(
        a.stdout,
        format!("user A is online, on port {port}\nB:>> hello\nA: >> A: >> B:>> quit\nchat over")
    );
}

/// Seed 000's user A (Python) with our B: B's empty line is not sent (the
/// seed's A would take it as a turn and answer nothing), A's "quit" does
/// not end B, and B's "quit" ends A.
#[test]
fn udp_chat_b_with_the_seeds_user_a() {
    let mut a = seed_program("000_udp_chat_a.py", &["0"]);
    a.stdin(Stdio::piped());
    let mut a = Peer::start(a);
    let port = a.number();
    a.type_line("quit");
    let b = with_input(
        &[&script("udp_chat_b.rhai"), &format!("127.0.0.1:{port}")],
        "\nhello\nquit\n",
    );
    assert!(b.status.success(), "{}", b.stderr);
    assert_eq!(b.stdout, "user B is online\nB:>> B:>> A:>> quit\nB:>> chat over\n");
    let a = a.finish();
    assert!(a.status.success(), "{}", a.stderr);
    assert_eq!(
        a.stdout,
        format!("QQ用户A上线......... {port}\nB:>>  hello\nA: >> B:>>  quit\n聊天结束.......")
    );
}

const PY_CLIENT: &str = "import socket, sys\nport = int(sys.argv[1])\n";

#[test]
fn threaded_upper_server_serves_clients_at_the_same_time() {
    let (srv, port) = server("tcp_upper_server_threaded.rhai");
    // The first client stays connected while the second is served.
    let reply = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "{PY_CLIENT}a = socket.create_connection(('127.0.0.1', port), timeout=5)\n\
             b = socket.create_connection(('127.0.0.1', port), timeout=5)\n\
             b.send(b'second'); print(b.recv(100).decode())\n\
             a.send(b'first'); print(a.recv(100).decode())"
        ))
        .arg(port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&reply.stdout),
        "SECOND\nFIRST\n",
        "{}",
        String::from_utf8_lossy(&reply.stderr)
    );
    let ours = with_input(
        &[&script("tcp_upper_client.rhai"), &format!("127.0.0.1:{port}")],
        "hello\nworld\n",
    );
    assert_eq!(ours.stdout, ">> HELLO\n>> WORLD\n>> ", "{}", ours.stderr);
    let mut srv = srv;
    let _ = srv.child.kill();
    let alone = with_input(&[&script("tcp_upper_client.rhai")], "alone\n");
    assert_eq!(alone.stdout, ">> ALONE\n>> ", "{}", alone.stderr);
}

#[test]
fn single_upper_server_queues_clients_and_survives_a_reset() {
    let (mut srv, port) = server("tcp_upper_server.rhai");
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "{PY_CLIENT}import struct\n\
             a = socket.create_connection(('127.0.0.1', port), timeout=5)\n\
             a.send(b'one'); print(a.recv(100).decode())\n\
             b = socket.create_connection(('127.0.0.1', port), timeout=0.5)\n\
             b.send(b'two')\n\
             try:\n    b.recv(100); print('served too early')\nexcept socket.timeout:\n    print('waiting')\n\
             a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); a.close()\n\
             b.settimeout(5); print(b.recv(100).decode())"
        ))
        .arg(port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ONE\nwaiting\nTWO\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = srv.line(); // first client connected
    let reset = srv.line();
    assert!(reset.contains("reset: ConnectionResetError"), "{reset}");
    let _ = srv.child.kill();
}

fn lesson(name: &str, args: &[&str]) -> Output {
    let path = script(name);
    let mut all = vec![path.as_str()];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "{name}: {}", out.stderr);
    out
}

#[test]
fn threads_race_loses_updates_until_locked() {
    let mut lost = false;
    for _ in 0..5 {
        let out = lesson("threads_race.rhai", &[]);
        assert!(out.stdout.contains("with a lock:    num = 200000\n"), "{}", out.stdout);
        if !out.stdout.contains("without a lock: num = 200000 ") {
            lost = true;
            break;
        }
    }
    assert!(lost, "no run lost an update without the lock");
}

#[test]
fn threads_deadlock_is_reported_and_the_other_task_finishes() {
    let out = lesson("threads_deadlock.rhai", &[]);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("DeadlockError"))
        .unwrap_or_default();
    for name in ["Thread-1", "Thread-2", "mutexA", "mutexB"] {
        assert!(line.contains(name), "{line}");
    }
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(
        last == "Thread-1: failed, Thread-2: finished" || last == "Thread-1: finished, Thread-2: failed",
        "{last}"
    );
}

/// Seed 003's shape: three new tasks each round, each holding its turn
/// for a second (longer than a deadlock detector may wait).
#[test]
fn threads_ordered_runs_a_b_c() {
    let start = Instant::now();
    let out = lesson("threads_ordered.rhai", &["2"]);
    let took = start.elapsed();
    let words: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(words.join(""), "ABCABC", "{}", out.stdout);
    let tasks: HashSet<&str> = out.stdout.lines().filter_map(|l| l.split("-- ").nth(1)).collect();
    assert_eq!(tasks.len(), 6, "new tasks each round: {}", out.stdout);
    assert!(
        took >= Duration::from_millis(5500),
        "six turns of a second each took {took:?}"
    );
}

#[test]
fn threads_enumerate_lists_live_tasks_every_half_second() {
    let out = lesson("threads_enumerate.rhai", &[]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    // Three seconds of singing and dancing, listed every half second
    // (the two tasks mostly blocked in sleep(1)).
    let all = |l: &&&str| {
        l.starts_with("running now: 3 [<task 1 MainThread running>, <task 2 Thread-1 running")
            && l.contains(", <task 3 Thread-2 running")
    };
    let listed = lines.iter().filter(all).count();
    assert!((5..=8).contains(&listed), "{}", out.stdout);
    assert_eq!(
        lines.last().copied(),
        Some("running now: 1 [<task 1 MainThread running>]")
    );
    assert_eq!(lines.iter().filter(|l| **l == "sing").count(), 3);
    assert_eq!(lines.iter().filter(|l| **l == "dance").count(), 3);
}

#[test]
fn threads_current_names_each_of_ten_tasks() {
    let start = Instant::now();
    let out = lesson("threads_current.rhai", &[]);
    let took = start.elapsed();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..2], ["current task name: MainThread", "===== separator ====="]);
    let names: HashSet<&str> = lines.iter().filter_map(|l| l.strip_prefix("current task: ")).collect();
    let expected: HashSet<String> = (1..=10).map(|n| format!("Thread-{n}")).collect();
    assert_eq!(names, expected.iter().map(String::as_str).collect(), "{}", out.stdout);
    assert_eq!(lines.iter().filter(|l| **l == "Hello !").count(), 10);
    // Ten two-second waits at once take two seconds, not twenty.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

/// Seed 003's program: 500 items to start, producers below 1000,
/// consumers above 500, each item printed; bounded here to 2.5 seconds.
#[test]
fn producer_consumer_follows_the_seeds_thresholds() {
    let out = lesson("producer_consumer.rhai", &["2.5"]);
    let header = format!("{}consumer{}", "=".repeat(31), "=".repeat(31));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "queue size now: 500");
    assert_eq!(
        lines.get(1).copied(),
        Some(header.as_str()),
        "{}",
        &out.stdout[..200.min(out.stdout.len())]
    );
    let batches = lines.iter().filter(|l| **l == header).count();
    let items: Vec<i64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("consumed: "))
        .map(|n| n.parse().unwrap_or(-1))
        .collect();
    assert_eq!(lines.len(), 1 + batches + items.len(), "only the seed's lines");
    // Every consumer takes a whole batch of 100 before it looks again.
    assert_eq!(items.len(), 100 * batches);
    // The first 500 came from the prefill (0..499), the rest from the
    // producers' batches (0..99).
    assert!(items.contains(&499), "the prefill was consumed");
    assert!(items.iter().all(|n| (0..500).contains(n)));
    // Nothing to consume until the producers have filled it past 500:
    // the consumers' first look at 500 items sends them to sleep.
    assert!(batches >= 5, "{batches} batches");
}

#[test]
fn producer_consumer_with_stop_markers_delivers_everything() {
    let out = lesson("producer_consumer_stop.rhai", &["200"]);
    assert_eq!(out.stdout, "produced 400, consumed 400\n");
}

/// Seed 003's ThreadLocal: func and func2 take no parameter and still find
/// their own task's student.
#[test]
fn thread_local_keeps_each_tasks_student() {
    let text = std::fs::read_to_string(script("thread_local.rhai")).unwrap_or_default();
    assert!(text.contains("fn func() {") && text.contains("fn func2() {"), "{text}");
    let out = lesson("thread_local.rhai", &[]);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "current task: Thread-1, its student: Xiaobai",
            "current task: Thread-1, student: Xiaobai",
            "current task: Thread-2, its student: Xiaohei",
            "current task: Thread-2, student: Xiaohei",
            "stu-name: Student:XiaobaiOK",
            "stu-name: Student:XiaoheiOK",
        ],
        "{}",
        out.stdout
    );
}

/// The pid a line `... (pid N)` names.
fn pid_in(line: &str) -> &str {
    line.rsplit("(pid ").next().unwrap_or_default().trim_end_matches(')')
}

/// A child process changes its copy (num stays 10 in the parent); tasks
/// change one shared cell (num becomes 25).
#[test]
fn processes_basics_copy_the_data_and_tasks_share_it() {
    let out = lesson("processes_basics.rhai", &[]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let parent = out
        .stdout
        .split("from pid ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap_or_default();
    let child = |prefix: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .copied()
            .unwrap_or_else(|| panic!("no {prefix:?} in {}", out.stdout))
    };
    for (prefix, num) in [("child 1: ", 15), ("child 2: ", 20)] {
        let line = child(prefix);
        assert!(line.starts_with(&format!("{prefix}num= {num} (pid ")), "{line}");
        assert_ne!(pid_in(line), parent, "a child ran in the parent: {line}");
    }
    assert_eq!(
        lines[3..],
        [
            "num: 10".to_string(),
            format!("task 1: num= 15 (pid {parent})"),
            format!("task 2: num= 25 (pid {parent})"),
            "num: 25".to_string(),
        ],
        "{}",
        out.stdout
    );
}

/// Seed 003's ClockTimer: run() counts down in another process; start and
/// join work as Process's do.
#[test]
fn clock_timer_runs_in_a_child_process() {
    let out = lesson("clock_timer.rhai", &[]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", out.stdout);
    let child = pid_in(lines[0]);
    for (line, n) in lines.iter().zip([5, 4, 3, 2, 1]) {
        assert_eq!(*line, format!("num: {n} (pid {child})"));
    }
    assert!(lines[5].starts_with("program finished ... (pid "), "{}", lines[5]);
    assert_ne!(pid_in(lines[5]), child, "run() ran in the parent");
}

#[test]
fn process_pool_runs_jobs_on_six_workers() {
    let out = lesson("process_pool.rhai", &["16", "0.05"]);
    assert_eq!(out.stdout.matches("newNum: ").count(), 16);
    assert!(
        out.stdout
            .contains("squares: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144, 169, 196, 225, 256]"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("worker processes: 6\n"));
    let pids: std::collections::HashSet<&str> = out.stdout.lines().filter_map(|l| l.split("(pid ").nth(1)).collect();
    assert!(pids.len() <= 6, "{pids:?}");
}

/// Seed 003's "write, then read until empty": the writer has finished
/// before the reader starts, in another process.
#[test]
fn process_queue_passes_every_message() {
    let out = lesson("process_queue.rhai", &[]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let words: Vec<&str> = lines
        .iter()
        .map(|l| l.split(" (pid").next().unwrap_or_default())
        .collect();
    assert_eq!(
        words,
        [
            "put a",
            "put b",
            "put c",
            "got a",
            "got b",
            "got c",
            "left in the queue: 0"
        ],
        "{}",
        out.stdout
    );
    assert_ne!(
        pid_in(lines[0]),
        pid_in(lines[3]),
        "writer and reader are two processes"
    );
}

/// Seed 003's Queue(3): qsize() before anything is there, get(1) waiting
/// for the first put, and full() after the fourth put found room.
#[test]
fn process_queue_full_shows_qsize_get_timeout_and_full() {
    let out = lesson("process_queue_full.rhai", &[]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    let sizes = ["qsize: 0", "qsize: 1", "qsize: 2", "qsize: 3"];
    assert!(sizes.contains(&lines[0]), "{}", out.stdout);
    assert_eq!(lines[1], "message 1", "get(1) waited for the first put: {}", out.stdout);
    let mut last = lines[2..].to_vec();
    last.sort_unstable();
    assert!(last[0] == "full: true" && sizes.contains(&last[1]), "{}", out.stdout);
}

/// Seed 003's Pool with a Manager().Queue(): the reader, two seconds
/// later, finds everything the writer put.
#[test]
fn pool_queue_reads_what_the_writer_put() {
    let out = lesson("pool_queue.rhai", &[]);
    assert_eq!(out.stdout, "a\nb\nc\nd\ne\n");
}

#[test]
fn struct_demo_packs_like_python() {
    let out = lesson("struct_demo.rhai", &[]);
    let python_bytes = python(
        "import struct\nname = 'server-bus-refresh.png'\n\
         print(struct.pack('!H{}sb5sb'.format(len(name)), 1, name.encode(), 0, b'octet', 0).hex())",
    );
    let hex: String = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("000000") && l.contains('|'))
        .flat_map(|l| l[10..58].split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert_eq!(hex, python_bytes.trim());
    assert!(out.stdout.contains("calcsize(\"!H22sb5sb\") = 31"));
    assert!(
        out.stdout
            .contains("opcode 3, block 1, 18 bytes of data\nACK: b\"\\x00\\x04\\x00\\x01\""),
        "{}",
        out.stdout
    );
}

#[test]
fn sticky_packets_problem_and_fix() {
    let out = lesson("sticky_packets.rhai", &[]);
    assert_eq!(
        out.stdout,
        "the problem: one recv got b\"helloworld\"\nthe fix: hello / world\n"
    );
}

#[test]
fn threads_unordered_each_runs_once_per_round() {
    let out = lesson("threads_unordered.rhai", &["4"]);
    for letter in ["A ----", "B ----", "C ----"] {
        assert_eq!(out.stdout.matches(letter).count(), 4, "{}", out.stdout);
    }
}

#[test]
fn broadcast_reaches_every_receiver() {
    let mut first = Running::start({
        let mut cmd = repl();
        cmd.arg(script("broadcast_receiver.rhai")).arg("0").stdin(Stdio::null());
        cmd
    });
    let port = first.line().rsplit(' ').next().unwrap_or_default().to_string();
    let mut second = Running::start({
        let mut cmd = repl();
        cmd.arg(script("broadcast_receiver.rhai"))
            .arg(&port)
            .stdin(Stdio::null());
        cmd
    });
    assert_eq!(second.line(), format!("listening on port {port}"));
    let out = lesson("broadcast_sender.rhai", &[&port, "127.255.255.255"]);
    assert_eq!(out.stdout.matches("hello from ").count(), 2, "{}", out.stdout);
    assert!(first.finish().stdout.contains("Hello Everyone! from 127.0.0.1"));
    assert!(second.finish().stdout.contains("Hello Everyone! from 127.0.0.1"));
}

#[test]
fn process_per_client_server_with_a_pool_of_clients() {
    let mut cmd = repl();
    cmd.arg(script("tcp_process_server.rhai"))
        .arg("127.0.0.1:0")
        .arg("6")
        .stdin(Stdio::null());
    let mut srv = Running::start(cmd);
    let line = srv.line();
    let port = line
        .split("port ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_default()
        .to_string();
    let parent = line
        .split("(pid ")
        .nth(1)
        .map(|r| r.trim_end_matches(')').to_string())
        .unwrap_or_default();
    let clients = lesson("tcp_pool_clients.rhai", &[&format!("127.0.0.1:{port}"), "2"]);
    assert_eq!(
        clients.stdout.matches("got: Hello Client").count(),
        6,
        "{}",
        clients.stdout
    );
    let out = srv.finish();
    let served_by: std::collections::HashSet<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split("served by pid ").nth(1))
        .collect();
    assert_eq!(served_by.len(), 6, "one process per client: {}", out.stdout);
    assert!(!served_by.contains(parent.as_str()));
    // Alone, the clients bring their own server.
    let alone = lesson("tcp_pool_clients.rhai", &["demo", "1"]);
    assert_eq!(alone.stdout.matches("got: Hello Client").count(), 3, "{}", alone.stdout);
}

#[test]
fn timestamp_client_and_server_over_tcp_and_udp() {
    for kind in ["tcp", "udp"] {
        let mut cmd = repl();
        cmd.arg(script("timestamp_server.rhai"))
            .arg(kind)
            .arg("127.0.0.1:0")
            .stdin(Stdio::null());
        let mut srv = Running::start(cmd);
        let port = srv.line().rsplit(' ').next().unwrap_or_default().to_string();
        let out = with_input(
            &[&script("timestamp_client.rhai"), kind, &format!("127.0.0.1:{port}")],
            "hello\nworld\n",
        );
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{kind}: {}", out.stdout);
        assert!(
            lines[0].starts_with("> [") && lines[0].ends_with("] hello"),
            "{kind}: {}",
            out.stdout
        );
        assert!(lines[1].ends_with("] world"), "{kind}: {}", out.stdout);
        // A Python client sees the same service.
        let reply = python(&format!(
            "from socket import *\nkind = '{kind}'\n\
             s = socket(AF_INET, SOCK_STREAM if kind == 'tcp' else SOCK_DGRAM)\ns.settimeout(5)\n\
             addr = ('127.0.0.1', {port})\n\
             (s.connect(addr), s.send(b'py')) if kind == 'tcp' else s.sendto(b'py', addr)\nprint(s.recv(1024).decode())"
        ));
        let year = python("import time\nprint(time.strftime('%Y'))");
        assert!(
            reply.trim().ends_with(&format!("{}] py", year.trim())),
            "{kind}: {reply}"
        );
        let _ = srv.child.kill();
        let alone = with_input(&[&script("timestamp_client.rhai"), kind], "solo\n");
        assert!(alone.stdout.contains("] solo"), "{kind}: {}", alone.stderr);
    }
}

#[test]
fn udp_sender_loop_sends_from_a_fixed_port() {
    let out = lesson("udp_sender_loop.rhai", &["demo", "2", "0"]);
    let senders: std::collections::HashSet<&str> = out.stdout.lines().collect();
    assert_eq!(out.stdout.lines().count(), 2);
    assert_eq!(senders.len(), 1, "both messages from one port: {}", out.stdout);
    assert!(out.stdout.ends_with(": Hello 您好\n"), "{}", out.stdout);
    // Against Python's receiver the source port is the one chosen.
    let port = {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        probe.local_addr().map(|a| a.port()).unwrap_or(0)
    };
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(
        "import socket\ns = socket.socket(type=socket.SOCK_DGRAM)\ns.bind(('127.0.0.1', 0))\n\
         print('port', s.getsockname()[1], flush=True)\n\
         for i in range(2):\n    d, a = s.recvfrom(2048)\n    s.sendto(('from port %d' % a[1]).encode(), a)",
    );
    let mut py = Running::start(cmd);
    let target = py.port();
    let out = lesson(
        "udp_sender_loop.rhai",
        &[&format!("127.0.0.1:{target}"), "2", &port.to_string()],
    );
    assert_eq!(out.stdout, format!("from port {port}\nfrom port {port}\n"));
    assert!(py.finish().status.success());
}

#[test]
fn qq_chat_client_and_server() {
    let mut cmd = repl();
    cmd.arg(script("qq_chat_server.rhai"))
        .arg("127.0.0.1:0")
        .stdin(Stdio::piped());
    let mut srv = Running::start(cmd);
    let port = srv.line().rsplit(' ').next().unwrap_or_default().to_string();
    if let Some(mut stdin) = srv.child.stdin.take() {
        stdin
            .write_all(b"  nice to meet you  \n")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = with_input(
        &[&script("qq_chat_client.rhai"), &format!("server=127.0.0.1:{port}")],
        "nobody\nserver\nhello\nq\n",
    );
    assert!(out.stdout.contains("contacts: [\"server\"]"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "message from [127.0.0.1:{port}]: \x1b[1;44mnice to meet you\x1b[0m"
        )),
        "{:?}",
        out.stdout
    );
    // The server keeps serving; stop it and read what it showed.
    let _ = srv.child.kill();
    let srv = srv.finish();
    assert!(srv.stdout.contains("\x1b[1;44mhello\x1b[0m"), "{:?}", srv.stdout);
    let alone = with_input(&[&script("qq_chat_client.rhai")], "lily\nhi\nq\n");
    assert!(alone.stdout.contains("lily read: hi"), "{}", alone.stdout);
}

/// Starts `name ARGS` and returns it with the last number of its first line.
fn started(name: &str, args: &[&str], stdin: Stdio) -> (Running, u16) {
    let mut cmd = repl();
    cmd.arg(script(name)).args(args).stdin(stdin);
    let mut running = Running::start(cmd);
    let line = running.line();
    let port = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .filter_map(|w| w.parse::<u16>().ok())
        .find(|p| *p > 1000)
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (running, port)
}

#[test]
fn python_clients_talk_to_the_other_servers() {
    // Process per client.
    let (srv, port) = started("tcp_process_server.rhai", &["127.0.0.1:0", "2"], Stdio::null());
    let reply = python(&format!(
        "import socket\nfor i in range(2):\n    c = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n\
         \x20   c.send(b'Hello server py'); print(c.recv(2048).decode())"
    ));
    assert_eq!(reply, "Hello Client\nHello Client\n");
    assert!(srv.finish().status.success());
    // QQ chat server.
    let (mut srv, port) = started("qq_chat_server.rhai", &["127.0.0.1:0"], Stdio::piped());
    if let Some(mut stdin) = srv.child.stdin.take() {
        stdin.write_all(b"from rhai\n").unwrap_or_else(|e| panic!("{e}"));
    }
    let reply = python(&format!(
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(5)\n\
         s.sendto('hi'.encode('utf-8'), ('127.0.0.1', {port}))\nprint(s.recvfrom(1024)[0].decode('utf-8'))"
    ));
    assert_eq!(reply, "from rhai\n");
    let _ = srv.child.kill();
    // Broadcast receiver, with Python as the sender.
    let (rx, port) = started("broadcast_receiver.rhai", &["0", "1"], Stdio::null());
    let reply = python(&format!(
        "from socket import *\nbd = socket(AF_INET, SOCK_DGRAM)\nbd.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)\n\
         bd.settimeout(5)\nbd.sendto(b'Hello Everyone!', ('127.255.255.255', {port}))\nprint(bd.recv(1024).decode()[:10])"
    ));
    assert_eq!(reply, "hello from\n");
    assert!(rx.finish().stdout.contains("Hello Everyone! from 127.0.0.1"));
}

#[test]
fn recvfrom_results_index_like_python_tuples() {
    let out = run(&[
        "-e",
        r#"let s = socket("udp"); s.bind("127.0.0.1:0"); s.sendto("x", s.getsockname());
           let r = s.recvfrom(10); print(type_of(r[0])); print(r[0].decode()); print(r[1] == s.getsockname());"#,
    ]);
    assert_eq!(out.stdout, "blob\nx\ntrue\n", "{}", out.stderr);
}

/// Seed 000's multi-process server: the seed's own interactive client
/// (Python) types three lines, one at a time, and each is printed by the
/// process serving it; "quit" ends that process, and the client never
/// meets a broken pipe.
#[test]
fn lines_server_prints_the_seeds_client() {
    let (mut srv, port) = started("tcp_lines_server.rhai", &["127.0.0.1:0", "1"], Stdio::null());
    let mut client = seed_program("000_line_client.py", &[&port.to_string()]);
    client.stdin(Stdio::piped());
    let mut client = Peer::start(client);
    for (typed, shown) in [("hello", "hello"), ("", ""), ("world", "world"), ("quit", "quit")] {
        client.type_line(typed);
        if shown.is_empty() {
            continue; // the seed's client does not send an empty line
        }
        let line = srv.line();
        assert!(
            line.starts_with("127.0.0.1:") && line.ends_with(&format!(":> {shown}")),
            "{line}"
        );
    }
    // The server served its one client and ends once that process has.
    let srv = srv.finish();
    assert!(srv.status.success(), "{}", srv.stderr);
    // The seed's client does not stop at "quit" (it compares bytes with
    // a str); it ends with EOFError when its input does.
    let client = client.finish();
    assert!(!client.stderr.contains("BrokenPipeError"), "{}", client.stderr);
    assert!(client.stderr.contains("EOFError"), "{}", client.stderr);
}

/// Our client against seed 000's multi-process server (Python): each
/// typed line is printed there, an empty one is not sent, and "quit"
/// ends the client.
#[test]
fn lines_client_talks_to_the_seeds_server() {
    let mut srv = Peer::start(seed_program("000_process_server.py", &["0"]));
    let port = srv.number();
    let mut cmd = repl();
    cmd.arg(script("tcp_lines_client.rhai"))
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped());
    let mut client = Peer::start(cmd);
    for typed in ["one", "", "two", "quit"] {
        client.type_line(typed);
        if !typed.is_empty() {
            let line = srv.line();
            assert!(
                line.starts_with("127.0.0.1") && line.ends_with(&format!(":> {typed}")),
                "{line}"
            );
        }
    }
    // "quit" ended the client by itself, its input still open.
    let start = Instant::now();
    while client.running().child.try_wait().ok().flatten().is_none() {
        assert!(start.elapsed() < common::DEADLINE, "the client did not stop at quit");
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = client.finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stdout, "client: >> client: >> client: >> client: >> ");
    // Alone, a stand-in prints what it receives.
    let mut cmd = repl();
    cmd.arg(script("tcp_lines_client.rhai")).stdin(Stdio::piped());
    let mut alone = Peer::start(cmd);
    alone.type_line("hi");
    let line = alone.line();
    assert!(
        line.starts_with("client: >> ") && line.contains("127.0.0.1:") && line.ends_with(":> hi"),
        "{line}"
    );
    alone.type_line("quit");
    assert!(alone.finish().status.success());
}

/// Seed 000's one-shot TCP server and client (Python) against ours, both
/// ways.
#[test]
fn seed_000_tcp_server_and_client_with_ours() {
    let (srv, port) = server("tcp_server.rhai");
    let out = common::run_command_with_input(seed_program("000_tcp_client.py", &[&port.to_string()]), "");
    assert_eq!(out.stdout, "接收服务端发送的消息: hi\n", "{}", out.stderr);
    assert!(srv.finish().stdout.contains("b\"hello server\" from [\"127.0.0.1\""));
    let mut theirs = Peer::start(seed_program("000_tcp_server.py", &["0"]));
    let port = theirs.number();
    let out = run(&[&script("tcp_client.rhai"), &format!("127.0.0.1:{port}")]);
    assert_eq!(out.stdout, "b\"hello client\"\n", "{}", out.stderr);
    assert_eq!(theirs.line(), "接收到客户端发送的消息: hello!");
    assert!(theirs.finish().status.success());
}

/// Seed 003's one-at-a-time server: the seed's clients (a pool of three,
/// and simple_client) each get "Hello", served strictly one after the
/// other; a message longer than 1024 bytes is read in two recvs, the
/// seed's short-read rule.
#[test]
fn hello_server_answers_the_seeds_clients() {
    let (srv, port) = started("tcp_hello_server.rhai", &["127.0.0.1:0", "5"], Stdio::null());
    let port_text = port.to_string();
    let pool = common::run_command_with_input(seed_program("003_tcp_clients.py", &[&port_text, "1", "0"]), "");
    assert_eq!(
        pool.stdout.matches("接收到的数据:Hello\n").count(),
        3,
        "{}",
        pool.stderr
    );
    let simple = common::run_command_with_input(
        seed_program("003_tcp_clients.py", &[&port_text, "1", "0", "simple"]),
        "",
    );
    assert!(simple.stdout.contains("接收数据: Hello\n"), "{}", simple.stderr);
    let long = python(&format!(
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=10)\n\
         s.sendall(b'x' * 1024 + b'tail')\nprint(s.recv(100).decode())"
    ));
    assert_eq!(long, "Hello\n");
    let out = srv.finish();
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().skip(1).collect();
    // Four clients of one message each, then the long one in two reads.
    assert_eq!(lines.len(), 5 * 3 + 1, "{}", out.stdout);
    for served in lines[..12].chunks(3) {
        assert_eq!(served[0], "connection established ...");
        assert!(served[1].starts_with("data from the client: Hello "), "{}", served[1]);
        assert_eq!(served[2], "connection to the client closed ...");
    }
    assert_eq!(lines[13], format!("data from the client: {}", "x".repeat(1024)));
    assert_eq!(lines[14], "data from the client: tail");
}

/// Our pool of clients against seed 003's one-at-a-time server (Python).
#[test]
fn pool_clients_talk_to_the_seeds_server() {
    let mut srv = Peer::start(seed_program("003_tcp_server.py", &["0"]));
    let port = srv.number();
    let out = lesson("tcp_pool_clients.rhai", &[&format!("127.0.0.1:{port}"), "1"]);
    let mut got: Vec<&str> = out.stdout.lines().collect();
    got.sort_unstable();
    assert_eq!(
        got,
        ["client 0 got: Hello", "client 1 got: Hello", "client 2 got: Hello"]
    );
    let mut seen = Vec::new();
    for _ in 0..9 {
        seen.push(srv.line());
    }
    for name in 0..3 {
        assert!(
            seen.contains(&format!("来自客户端的数据: Hello server {name}")),
            "{seen:?}"
        );
    }
}

/// Seed 003's task-per-client server: the seed's pool of clients is
/// served by three tasks, and a client that connects and says nothing
/// does not hold up the next one.
#[test]
fn thread_server_answers_the_seeds_clients_at_the_same_time() {
    let (srv, port) = started("tcp_thread_server.rhai", &["127.0.0.1:0", "3"], Stdio::null());
    let pool = common::run_command_with_input(seed_program("003_tcp_clients.py", &[&port.to_string(), "1", "0"]), "");
    assert_eq!(
        pool.stdout.matches("接收到的数据:Hello Client\n").count(),
        3,
        "{}",
        pool.stderr
    );
    let out = srv.finish();
    assert!(out.status.success(), "{}", out.stderr);
    let tasks: HashSet<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split("(served by ").nth(1))
        .collect();
    assert_eq!(tasks.len(), 3, "a task per client: {}", out.stdout);
    let (srv, port) = started("tcp_thread_server.rhai", &["127.0.0.1:0", "2"], Stdio::null());
    let reply = python(&format!(
        "import socket\nquiet = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n\
         other = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n\
         other.send(b'second'); print(other.recv(100).decode())\n\
         quiet.send(b'first'); print(quiet.recv(100).decode())"
    ));
    assert_eq!(reply, "Hello Client\nHello Client\n");
    assert!(srv.finish().status.success());
}

/// The reconnecting client, refused while no server runs, says so, and
/// connects once seed 002's single-threaded server (Python) is up.
#[test]
fn upper_client_says_refused_and_connects_when_the_server_starts() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        probe.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"))
    };
    let mut cmd = repl();
    cmd.arg(script("tcp_upper_client.rhai"))
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped());
    let mut client = Peer::start(cmd);
    client.type_line("hello");
    assert_eq!(
        client.line(),
        "connection refused: is the server running? Trying again in 2 seconds"
    );
    let mut srv = Peer::start(seed_program("002_upper_server.py", &[&port.to_string()]));
    assert_eq!(srv.number(), port);
    let out = client.finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.ends_with(">> HELLO\n>> "), "{}", out.stdout);
}

/// The body of `fn name(` in `text`, up to the closing brace at the
/// start of a line.
fn body_of<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = text.find(&format!("\nfn {name}("))?;
    let before = text[..start].trim_end();
    // It must be a test: `#[test]` is the last attribute before it (a
    // doc comment may come first).
    if !before.ends_with("#[test]") {
        return None;
    }
    let rest = &text[start + 1..];
    Some(&rest[..rest.find("\n}\n").map_or(rest.len(), |end| end + 2)])
}

/// The words in backquotes in a table cell.
fn quoted(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// scripts/README.md's tables: seed program -> script -> test. Every
/// script and test named exists, every script is in a row, and one of a
/// row's tests runs each script of the row.
#[test]
fn the_table_names_real_scripts_and_tests() {
    let readme = std::fs::read_to_string(repo("scripts/README.md")).unwrap_or_else(|e| panic!("{e}"));
    let mut in_rows: HashSet<String> = HashSet::new();
    let mut columns: Option<(usize, usize)> = None;
    let mut rows = 0;
    for line in readme.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some((script_at, test_at)) = columns else {
            let find = |name: &str| {
                cells
                    .iter()
                    .position(|c| *c == name)
                    .unwrap_or_else(|| panic!("a table without a {name} column: {line}"))
            };
            columns = Some((find("script"), find("test")));
            continue;
        };
        if cells.iter().all(|c| c.chars().all(|ch| ch == '-')) {
            continue; // the line under the header
        }
        rows += 1;
        let scripts: Vec<&str> = quoted(cells[script_at])
            .into_iter()
            .filter(|s| s.ends_with(".rhai"))
            .collect();
        let tests = quoted(cells[test_at]);
        assert!(
            !scripts.is_empty() && !tests.is_empty(),
            "a row needs a script and a test: {line}"
        );
        let mut bodies = Vec::new();
        for test in &tests {
            let (file, name) = test
                .split_once("::")
                .unwrap_or_else(|| panic!("a test is named file::function: {test}"));
            let text = std::fs::read_to_string(repo(&format!("tests/{file}.rs")))
                .unwrap_or_else(|e| panic!("{test}: tests/{file}.rs: {e}"));
            let body = body_of(&text, name).unwrap_or_else(|| panic!("no #[test] fn {name} in tests/{file}.rs"));
            bodies.push(body.to_string());
        }
        for script in scripts {
            assert!(
                repo(&format!("scripts/{script}")).is_file(),
                "{script} is not in scripts/"
            );
            assert!(
                bodies.iter().any(|b| b.contains(&format!("\"{script}\""))),
                "none of {tests:?} runs {script}"
            );
            in_rows.insert(script.to_string());
        }
    }
    assert!(rows >= 50, "only {rows} rows");
    let dir = std::fs::read_dir(repo("scripts")).unwrap_or_else(|e| panic!("{e}"));
    let mut missing: Vec<String> = dir
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rhai") && !in_rows.contains(n))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "scripts in no row of scripts/README.md: {missing:?}"
    );
}

/// The first screen of every script is its lesson: the first anchor the
/// book includes comes within 20 lines, and nothing before it opens a
/// socket or starts a task (a client's stand-in server comes from
/// demo.rhai, whose functions exist).
#[test]
fn client_scripts_open_with_their_lesson() {
    let demo = std::fs::read_to_string(repo("scripts/demo.rhai")).unwrap_or_else(|e| panic!("{e}"));
    let dir = std::fs::read_dir(repo("scripts")).unwrap_or_else(|e| panic!("{e}"));
    let mut clients = 0;
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // The demo module and the TFTP library are no lessons; tftp.rhai
        // and tftp_server.rhai are the full TFTP tools (the lesson is
        // tftp_download.rhai).
        let tools = ["demo.rhai", "tftp_lib.rhai", "tftp.rhai", "tftp_server.rhai"];
        if !name.ends_with(".rhai") || tools.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = text.lines().collect();
        let first = lines
            .iter()
            .position(|l| l.trim_start().starts_with("// ANCHOR:"))
            .unwrap_or_else(|| panic!("{name} has no anchor"));
        assert!(first < 20, "{name}: the lesson starts on line {}", first + 1);
        for line in &lines[..first] {
            assert!(
                !line.contains("spawn(") && !line.contains("socket("),
                "{name}: scaffolding before the lesson: {line}"
            );
        }
        for call in text.split("demo::").skip(1) {
            let function = call.split('(').next().unwrap_or_default();
            assert!(
                demo.contains(&format!("\nfn {function}(")),
                "{name}: demo.rhai has no {function}"
            );
            clients += 1;
        }
    }
    assert!(clients >= 9, "{clients} clients use a stand-in");
}

/// Seed 003 ends a read loop at the first read shorter than the buffer;
/// the scripts that port those loops keep that rule, and say in the same
/// line that it is only a guess, pointing to the framing lesson.
#[test]
fn the_seeds_short_read_rule_is_kept_and_explained() {
    for name in [
        "tcp_hello_server.rhai",
        "tcp_thread_server.rhai",
        "tcp_process_server.rhai",
        "tcp_pool_clients.rhai",
    ] {
        let text = std::fs::read_to_string(script(name)).unwrap_or_else(|e| panic!("{e}"));
        let line = text
            .lines()
            .find(|l| l.contains("if data.len() < 1024 { break; }"))
            .unwrap_or_else(|| panic!("{name} lost the seed's short-read rule"));
        assert!(
            line.contains("framing.md") && line.contains("sticky_packets.rhai"),
            "{name}: {line}"
        );
    }
}

#[test]
fn every_script_is_tested() {
    let tests: String = std::fs::read_dir(repo("tests"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    let dir = repo("scripts");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut untested = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rhai") && !tests.contains(&format!("\"{name}\"")) {
            untested.push(name);
        }
    }
    assert!(
        untested.is_empty(),
        "scripts that no test in tests/ names: {untested:?}"
    );
}
