//! `import "lib" as lib;` for a session: the module is the file `lib.rhai`
//! beside the importing script, compiled once and kept.
//!
//! Rhai's own file resolver names a module by the string in the `import`
//! statement, which is not a file an error can point into, and the
//! session would not know the module's text. This one names each module
//! by its path and records its text and functions in the session's
//! [`Sources`], so an error raised inside a module, even in a task the
//! module spawned, shows the module's file, line and source line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};

use super::diagnostics::Sources;
use crate::runtime::context::guard;

/// A module compiled and run once, with what the session's [`Sources`]
/// must know of it (recorded again after the shell's `:reset`).
struct Loaded {
    module: Shared<Module>,
    name: String,
    text: String,
    ast: rhai::AST,
}

/// The session's module resolver.
pub struct Modules {
    sources: Arc<Sources>,
    loaded: Mutex<HashMap<PathBuf, Loaded>>,
}

impl Modules {
    pub fn new(sources: Arc<Sources>) -> Modules {
        Modules {
            sources,
            loaded: Mutex::default(),
        }
    }
}

/// `path` (with `.rhai` added) relative to the folder of the importing
/// text, when that text is a file.
pub(crate) fn file_of(importer: Option<&str>, path: &str) -> PathBuf {
    let folder = importer
        .filter(|name| !name.starts_with('<'))
        .and_then(|name| Path::new(name).parent())
        .unwrap_or(Path::new(""));
    let mut file = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        folder.join(path)
    };
    file.set_extension("rhai");
    file
}

impl ModuleResolver for Modules {
    fn resolve(
        &self,
        engine: &Engine,
        importer: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let file = file_of(importer, path);
        if let Some(loaded) = guard(&self.loaded).get(&file) {
            self.sources.add_module(&loaded.name, &loaded.text, &loaded.ast);
            return Ok(loaded.module.clone());
        }
        let text = std::fs::read_to_string(&file)
            .map_err(|_| Box::new(EvalAltResult::ErrorModuleNotFound(path.to_string(), pos)))?;
        let name = file.display().to_string();
        let in_module = |err: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(name.clone(), err, pos));
        // Recorded first, so that a syntax error shows its line too.
        self.sources.add_module(&name, &text, &rhai::AST::empty());
        let mut ast = engine.compile(&text).map_err(|err| in_module(err.into()))?;
        ast.set_source(name.as_str());
        self.sources.add_module(&name, &text, &ast);
        let module: Shared<Module> = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(in_module)?
            .into();
        let loaded = Loaded {
            module: module.clone(),
            name,
            text,
            ast,
        };
        guard(&self.loaded).insert(file, loaded);
        Ok(module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_is_found_beside_the_script_that_imports_it() {
        assert_eq!(
            file_of(Some("scripts/tftp.rhai"), "tftp_lib"),
            PathBuf::from("scripts/tftp_lib.rhai")
        );
        assert_eq!(
            file_of(Some("book/diagrams/x.rhai"), "../../scripts/lib"),
            PathBuf::from("book/diagrams/../../scripts/lib.rhai")
        );
        assert_eq!(file_of(Some("<repl:3>"), "lib"), PathBuf::from("lib.rhai"));
        assert_eq!(file_of(None, "/abs/lib"), PathBuf::from("/abs/lib.rhai"));
    }
}
