//! Cancelling 100 tasks blocked in socket, queue and lock waits returns
//! the thread and file descriptor counts to their baseline. Alone in its
//! own test binary so no other test disturbs the counts.

mod common;

use std::time::Duration;

use common::{eventually, fd_count, thread_count};

use rhai::Scope;
use sockrepl::{Outcome, Session};

/// Idle task threads exit after two seconds (runtime::threads::KEEP_ALIVE);
/// the counts must be back well within this.
const SETTLE: Duration = Duration::from_secs(10);

#[test]
fn cancelling_100_blocked_tasks_leaks_nothing() {
    let warm_up = Session::new().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warm_up.run_source("warm-up", "sleep(0.001);"), Outcome::Done);
    drop(warm_up);
    let base_threads = thread_count();
    let base_fds = fd_count();

    let session = Session::new().unwrap_or_else(|e| panic!("{e}"));
    let entered = session.enter();
    let code = r#"
        let q = queue(); let l = lock(); l.acquire();
        let blocked = [];
        for i in 0..100 {
            let t = if i % 4 == 0 {
                spawn(|| { let s = socket("udp"); s.bind("127.0.0.1:0"); s.recvfrom(10) })
            } else if i % 4 == 1 {
                spawn(|| { let s = socket(); s.bind("127.0.0.1:0"); s.listen(); s.accept() })
            } else if i % 4 == 2 {
                spawn(|| q.get())
            } else {
                spawn(|| l.acquire())
            };
            blocked.push(t);
        }
        sleep(0.3);
        let alive = blocked.filter(|t| t.is_alive()).len();
        for t in blocked { t.cancel(); }
        for t in blocked { t.join(5); }
        [alive, blocked.filter(|t| t.state == "cancelled").len()]
    "#;
    let result: rhai::Array = session
        .engine()
        .eval_with_scope(&mut Scope::new(), code)
        .unwrap_or_else(|e| panic!("script failed: {e}"));
    let counts: Vec<i64> = result.iter().filter_map(|v| v.as_int().ok()).collect();
    assert_eq!(counts, vec![100, 100], "all 100 should block, then end cancelled");
    drop(entered);
    drop(session);

    eventually("threads should return to the baseline", SETTLE, || {
        thread_count() == base_threads
    });
    eventually("file descriptors should return to the baseline", SETTLE, || {
        fd_count() == base_fds
    });
}
