//! The TFTP server's path for a packet from the network, in the course's
//! own scripts/tftp_lib.rhai: `parse` must turn any datagram into a map
//! (malformed ones into op 0) without a script error, since an error there
//! would stop the server; `describe` must print it; and for a request,
//! `resolve` must refuse any file name that leads outside the served
//! folder, symbolic links included.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rhai::{AST, Blob, Dynamic, Engine, Map, Scope};

struct Harness {
    session: sockrepl::Session,
    ast: AST,
    root: String,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts");
        let session = sockrepl::Session::builder()
            .register(move |engine: &mut Engine| {
                engine.set_module_resolver(rhai::module_resolvers::FileModuleResolver::new_with_path(&scripts));
            })
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let ast = session
            .engine()
            .compile(r#"import "tftp_lib" as tftp; fn parse(b) { tftp::parse(b) } fn describe(p) { tftp::describe(p) } fn resolve(root, name) { tftp::resolve(root, name) }"#)
            .unwrap_or_else(|e| panic!("{e}"));
        // A served folder with a file, a subfolder and a link pointing out.
        let root = std::env::temp_dir().join(format!("sockrepl-fuzz-root-{}", std::process::id()));
        let _ = std::fs::create_dir_all(root.join("sub"));
        let _ = std::fs::write(root.join("a.txt"), b"a");
        let _ = std::os::unix::fs::symlink("/etc", root.join("out"));
        let root = std::fs::canonicalize(&root).unwrap_or(root).display().to_string();
        Harness { session, ast, root }
    })
}

fuzz_target!(|packet: &[u8]| {
    let h = harness();
    let _in = h.session.enter();
    let mut scope = Scope::new();
    let parsed: Map = h
        .session
        .engine()
        .call_fn(&mut scope, &h.ast, "parse", (Blob::from(packet),))
        .unwrap_or_else(|e| panic!("parse failed on {packet:?}: {e}"));
    let _: String = h
        .session
        .engine()
        .call_fn(&mut scope, &h.ast, "describe", (parsed.clone(),))
        .unwrap_or_else(|e| panic!("describe failed on {packet:?}: {e}"));
    let Some(name) = parsed.get("filename").and_then(|n| n.clone().into_string().ok()) else {
        return;
    };
    let resolved: Map = h
        .session
        .engine()
        .call_fn(&mut scope, &h.ast, "resolve", (h.root.clone(), name.clone()))
        .unwrap_or_else(|e| panic!("resolve failed on {name:?}: {e}"));
    if let Some(path) = resolved.get("path").map(Dynamic::to_string) {
        // Whatever exists of the path must really be inside the root.
        let mut existing = PathBuf::from(&path);
        while !existing.exists() {
            if !existing.pop() {
                break;
            }
        }
        if let Ok(real) = std::fs::canonicalize(&existing) {
            assert!(
                real.starts_with(&h.root),
                "{name:?} resolved to {path}, which is {real:?}, outside {}",
                h.root
            );
        }
    }
});
