//! The book cannot drift: its includes resolve to anchors in files that
//! tests run, its Rhai examples run, its "you type / you see" transcripts
//! match the real shell, and its function reference matches the engine.

mod common;

use std::path::{Path, PathBuf};

use common::repo;

fn chapters() -> Vec<(PathBuf, String)> {
    let dir = repo("book/src");
    let mut found: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect();
    found.sort();
    found
}

/// Fenced blocks of `lang`: (chapter, body).
fn blocks(lang: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, text) in chapters() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut body: Option<String> = None;
        for line in text.lines() {
            match &mut body {
                None if line.trim_start() == format!("```{lang}") => body = Some(String::new()),
                Some(b) if line.trim_start().starts_with("```") => {
                    out.push((name.clone(), std::mem::take(b)));
                    body = None;
                }
                Some(b) => {
                    b.push_str(line);
                    b.push('\n');
                }
                None => {}
            }
        }
    }
    out
}

#[test]
fn the_reference_matches_the_engine() {
    let generated = sockrepl::reference_markdown();
    let path = repo("book/src/reference.md");
    if std::env::var_os("SOCKREPL_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{e}"));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "book/src/reference.md differs from the engine's metadata; run SOCKREPL_BLESS=1 cargo test --test book"
    );
}

#[test]
fn every_include_names_an_anchor_in_a_tested_file() {
    let tests: String = std::fs::read_dir(repo("tests"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut count = 0;
    for (path, text) in chapters() {
        for include in text.split("{{#include ").skip(1) {
            let spec = include.split("}}").next().unwrap_or_default();
            let (file, anchor) = spec.rsplit_once(':').unwrap_or((spec, ""));
            let target = path.parent().unwrap_or(Path::new(".")).join(file);
            let source = std::fs::read_to_string(&target)
                .unwrap_or_else(|e| panic!("{}: include of {file} fails: {e}", path.display()));
            assert!(
                !anchor.is_empty(),
                "{}: include {spec} must name an anchor",
                path.display()
            );
            assert!(
                source.contains(&format!("ANCHOR: {anchor}\n")) && source.contains(&format!("ANCHOR_END: {anchor}\n")),
                "{}: {file} has no anchor {anchor}",
                path.display()
            );
            let name = Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stem = name.trim_end_matches(".rhai").trim_end_matches(".rs");
            assert!(
                tests.contains(&format!("\"{name}\"")) || tests.contains(&format!("\"{stem}\"")),
                "{file} is included but no test runs it"
            );
            count += 1;
        }
    }
    assert!(count >= 40, "only {count} includes: has the book lost its code?");
}

#[test]
fn every_rhai_block_runs_or_says_why_not() {
    let mut ran = 0;
    for (chapter, body) in blocks("rhai") {
        if body.trim_start().starts_with("{{#include") {
            continue; // checked above: the included script is run by its own test
        }
        if body.trim_start().starts_with("// not runnable:") {
            continue;
        }
        let out = common::run(&["-e", &body]);
        assert!(out.status.success(), "{chapter}: block failed:\n{body}\n{}", out.stderr);
        ran += 1;
    }
    assert!(ran >= 2, "expected runnable blocks, ran {ran}");
}

#[test]
fn transcripts_match_the_shell() {
    let empty = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let empty = empty.path().display().to_string();
    let mut checked = 0;
    for (chapter, body) in blocks("repl") {
        let inputs: Vec<&str> = body.lines().filter_map(|l| l.strip_prefix("> ")).collect();
        let expected: Vec<&str> = body.lines().filter(|l| !l.starts_with("> ")).collect();
        let mut stdin = inputs.join("\n");
        stdin.push('\n');
        let out = common::run_with_input(&["-i", &empty], &stdin);
        assert!(out.status.success(), "{chapter}: {}", out.stderr);
        // The first line is the shell's banner.
        let seen: Vec<&str> = out.stdout.lines().skip(1).collect();
        assert_eq!(
            seen, expected,
            "{chapter}: transcript differs from the shell\n{body}\nstderr: {}",
            out.stderr
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} transcripts");
}
