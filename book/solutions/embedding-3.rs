//! Embedding, exercise 3: an engine that stops a runaway script. Rhai
//! counts operations; past the limit, evaluation ends with an error that
//! the program can report, instead of hanging.

use rhai::Engine;
use rhai::packages::Package;
use sockrepl::SockPackage;

pub fn run() -> String {
    let mut engine = Engine::new();
    SockPackage::new().register_into_engine(&mut engine);
    engine.set_max_operations(10_000);
    match engine.run("let n = 0; loop { n += 1; }") {
        Ok(()) => "the loop ended (it should not have)".to_string(),
        Err(err) => format!("stopped: {err}"),
    }
}
