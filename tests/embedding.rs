//! Embedding: the examples run and print what they promise, and an
//! address policy refuses a forbidden connect with a readable error.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use sockrepl::{Action, Endpoint, Outcome, Session};

/// `cargo test` builds the examples next to the test binaries.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("no target dir"));
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: cargo test builds examples",
        path.display()
    );
    path
}

#[test]
fn the_engine_example_exchanges_over_tcp_and_is_refused_elsewhere() {
    let child = std::process::Command::new(example("embed_engine"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let out = common::finish(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "server got ping, client got PING");
    assert!(
        lines[1].starts_with("refused: Runtime error: PermissionError: [Errno 1] Operation not permitted (sendto 192.0.2.1:9 is not allowed: this example allows loopback only)"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_custom_repl_has_its_own_function_and_banner() {
    let out = common::run_command_with_input(
        std::process::Command::new(example("custom_repl")),
        "lab_port() * 2\nlet s = socket(\"udp\"); s.kind\n",
    );
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Network lab shell: try lab_port() or help(socket)\n8484\n\"udp\"\n"
    );
}

#[test]
fn a_policy_denies_a_forbidden_connect_with_a_readable_error() {
    let session = Session::builder()
        .address_policy(|action: Action, endpoint: &Endpoint| match (action, endpoint) {
            (Action::Connect, Endpoint::Inet(addr)) if addr.port() == 25 => Err("no mail from the lab".into()),
            _ => Ok(()),
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let refused = match session.run_source("lab", r#"socket().connect("127.0.0.1:25")"#) {
        Outcome::Failed(text) => text,
        other => format!("unexpected {other:?}"),
    };
    let allowed = session.run_source("lab", r#"let s = socket("udp"); s.bind("127.0.0.1:0");"#);
    // Another session in the same process has no policy.
    let elsewhere = Session::new()
        .unwrap_or_else(|e| panic!("{e}"))
        .run_source("free", r#"let s = socket(); try { s.connect("127.0.0.1:25") } catch (e) { if e.contains("PermissionError") { throw e } }"#);
    assert_eq!(elsewhere, Outcome::Done, "the policy belongs to its session only");
    assert!(
        refused.contains("PermissionError: [Errno 1] Operation not permitted (connect to 127.0.0.1:25 is not allowed: no mail from the lab)"),
        "{refused}"
    );
    assert!(refused.contains("hint: the program running this script restricts which addresses it may use"));
    assert_eq!(allowed, Outcome::Done);
}

/// Functions added with `Repl::builder().register(...)` are still there
/// after `repl -i FILE` ran the file first.
#[test]
fn registered_functions_survive_a_preload() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("uses_it.rhai");
    std::fs::write(&file, "let port = lab_port();").unwrap_or_else(|e| panic!("{e}"));
    let mut shell = sockrepl::Repl::builder()
        .history_file(None)
        .banner(None)
        .register(|engine| {
            engine.register_fn("lab_port", || 4242_i64);
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let loaded = shell.preload(&file.display().to_string(), &[]);
    assert_eq!(loaded, Ok(()));
}

/// The package registers functions only: an embedder's own print,
/// debug and variable hooks stay in place.
#[test]
fn the_package_leaves_the_embedders_hooks_alone() {
    use rhai::Engine;
    use rhai::packages::Package;
    use std::sync::{Arc, Mutex};

    let printed = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut engine = Engine::new();
    let sink = printed.clone();
    engine.on_print(move |text| sink.lock().unwrap_or_else(|p| p.into_inner()).push(text.to_string()));
    #[allow(deprecated)] // on_var is volatile, not deprecated.
    engine.on_var(|name, _, _| Ok((name == "lab").then(|| rhai::Dynamic::from(7_i64))));
    sockrepl::SockPackage::new().register_into_engine(&mut engine);
    engine
        .run(r#"print(`${lab} ${socket("udp").kind} ${AF_INET}`);"#)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        *printed.lock().unwrap_or_else(|p| p.into_inner()),
        vec!["7 udp 2".to_string()]
    );
}
