//! Embedding, exercise 1: a Rust function of your own next to the
//! socket API. The script sends `greeting("lab")` to itself over UDP on
//! loopback and returns what arrived.

use rhai::packages::Package;
use rhai::{Engine, EvalAltResult};
use sockrepl::SockPackage;

pub fn run() -> Result<String, Box<EvalAltResult>> {
    let mut engine = Engine::new();
    SockPackage::new().register_into_engine(&mut engine);
    engine.register_fn("greeting", |name: &str| format!("hello, {name}"));
    engine.eval::<String>(
        r#"
        let s = socket("udp");
        s.bind("127.0.0.1:0");
        s.settimeout(2);
        s.sendto(greeting("lab").encode(), s.getsockname());
        s.recvfrom(100).data.decode()
        "#,
    )
}
