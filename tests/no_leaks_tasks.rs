//! Cancelling 100 tasks blocked in socket, queue and lock waits returns
//! the thread and file descriptor counts to their baseline. Alone in its
//! own test binary so no other test disturbs the counts.

mod common;

use std::time::Duration;

use common::{eventually, fd_count, thread_count};

use rhai::Scope;
use sockrepl::runtime::{self, threads};
use sockrepl::script;

#[test]
fn cancelling_100_blocked_tasks_leaks_nothing() {
    assert_eq!(runtime::wait(async { 1 }, None), Ok(1));
    let base_threads = thread_count();
    let base_fds = fd_count();

    let engine = script::new_engine();
    runtime::task::set_engine(engine.clone());
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
    let result: rhai::Array = engine
        .eval_with_scope(&mut Scope::new(), code)
        .unwrap_or_else(|e| panic!("script failed: {e}"));
    let counts: Vec<i64> = result.iter().filter_map(|v| v.as_int().ok()).collect();
    assert_eq!(counts, vec![100, 100], "all 100 should block, then end cancelled");
    drop(engine);
    runtime::task::clear_engine();

    let limit = threads::KEEP_ALIVE + Duration::from_secs(8);
    eventually("threads should return to the baseline", limit, || {
        thread_count() == base_threads
    });
    eventually("file descriptors should return to the baseline", limit, || {
        fd_count() == base_fds
    });
}
