//! Every course program in scripts/ runs end to end. The last test fails
//! when a script exists that no test in tests/ names.

mod common;

use common::{repo, run};

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
        if name.ends_with(".rhai") && !tests.contains(&format!("script(\"{name}\")")) {
            untested.push(name);
        }
    }
    assert!(
        untested.is_empty(),
        "scripts without a test in tests/course_scripts.rs: {untested:?}"
    );
}
