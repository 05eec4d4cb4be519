//! Cancelling scripts blocked in socket calls leaves no thread and no file
//! descriptor behind. Alone in its own test binary so that no other test's
//! threads or sockets disturb the counts.

mod common;

use std::time::Duration;

use common::{eventually, fd_count, thread_count};

use sockrepl::{Outcome, Session};

#[test]
fn cancelling_blocked_scripts_leaks_no_thread_or_socket() {
    // Start the shared reactor first: its worker threads live for the
    // whole process and belong in the baseline.
    let warm_up = Session::new().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warm_up.run_source("warm-up", "sleep(0.001);"), Outcome::Done);
    drop(warm_up);
    let base_threads = thread_count();
    let base_fds = fd_count();

    const SCRIPTS: usize = 20;
    // Each script says "blocked" once its main task shows as blocked in
    // its socket call.
    let watcher = common::say_when_blocked_in("", "blocked");
    let (said, heard) = std::sync::mpsc::channel::<String>();
    let mut sessions = Vec::new();
    let mut handles = Vec::new();
    for i in 0..SCRIPTS {
        let said = said.clone();
        let session = Session::builder()
            .printer(move |text| {
                let _ = said.send(text.to_string());
            })
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        sessions.push(session.clone());
        let call = if i % 2 == 0 {
            r#"let s = socket("udp"); s.bind("127.0.0.1:0"); s.recvfrom(100);"#
        } else {
            r#"let s = socket(); s.bind("127.0.0.1:0"); s.listen(); s.accept();"#
        };
        let code = format!("{watcher}{call}");
        handles.push(std::thread::spawn(move || session.run_source("blocked", &code)));
    }
    for _ in 0..SCRIPTS {
        let line = heard
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("a script never blocked: {e}"));
        assert_eq!(line.trim(), "blocked");
    }
    assert!(handles.iter().all(|h| !h.is_finished()), "scripts should be blocked");

    for session in &sessions {
        session.end();
    }
    for handle in handles {
        let outcome = handle.join().unwrap_or_else(|_| panic!("script thread panicked"));
        assert_eq!(outcome, Outcome::Interrupted);
    }
    drop(sessions);
    eventually("threads should return to the baseline", Duration::from_secs(5), || {
        thread_count() == base_threads
    });
    eventually(
        "file descriptors should return to the baseline",
        Duration::from_secs(5),
        || fd_count() == base_fds,
    );
}
