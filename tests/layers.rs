//! The crate's layering (src/lib.rs): reads every `crate::...` path in
//! src/ and checks that each module uses only modules of lower layers, so
//! the import graph between modules has no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first; a module may use its own layer's module
/// only if it is itself, and any lower layer. `error` is below everything.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["runtime"],
    &["net", "bytes"],
    &["sync"],
    &["tasks"],
    &["process"],
    &["engine"],
    &["package"],
    &["session"],
    &["repl"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file belongs to: src/net/socket.rs is `net`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::NAME` in `text`, with `use crate::{a, b}` groups too.
fn crate_references(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.insert(name);
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.insert(name);
        }
    }
    found
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let Some(layer) = layer_of(&module) else {
            // lib.rs re-exports and the binary sit above every layer.
            assert!(
                matches!(module.as_str(), "lib" | "bin"),
                "{} is in no layer; add its module to LAYERS and to the list in src/lib.rs",
                file.display()
            );
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
        for used in crate_references(&text) {
            let Some(used_layer) = layer_of(&used) else { continue };
            if used != module {
                graph.entry(module.clone()).or_default().insert(used.clone());
                if used_layer >= layer {
                    wrong.push(format!("{} uses crate::{used}", file.display()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "uses of a layer that is not lower:\n{}",
        wrong.join("\n")
    );
    assert!(
        graph.contains_key("session"),
        "the scan found no imports at all: {graph:?}"
    );
}

#[test]
fn the_scan_sees_grouped_imports() {
    let refs = crate_references("use crate::{net, sync::Lock};\nlet x = crate::runtime::handle();");
    assert_eq!(refs, ["net", "runtime", "sync"].iter().map(|s| s.to_string()).collect());
}
