//! Embedding, exercise 2: an address policy of your own. Loopback only,
//! and no port below 1024 even there (port 0, "any free port", is fine).
//! The script can catch the refusal, which is a PermissionError carrying
//! the policy's reason.

use rhai::EvalAltResult;
use sockrepl::{Action, Endpoint, Session};

pub fn run() -> Result<String, Box<EvalAltResult>> {
    // The policy belongs to this session only; other sessions in the same
    // program are not affected.
    let session = Session::builder()
        .address_policy(|_action: Action, endpoint: &Endpoint| match endpoint {
            Endpoint::Inet(addr) if !addr.ip().is_loopback() => Err("loopback only".into()),
            Endpoint::Inet(addr) if addr.port() != 0 && addr.port() < 1024 => {
                Err("ports below 1024 are not for scripts".into())
            }
            _ => Ok(()),
        })
        .build()
        .map_err(|e| e.to_string())?;
    let _in = session.enter();
    session.engine().eval::<String>(
        r#"
        let ok = socket();
        ok.bind("127.0.0.1:0");
        let refused = "";
        try {
            socket().bind("127.0.0.1:80");
        } catch (e) {
            refused = e.split("\n")[0];
        }
        `bound a free port: ${ok.getsockname()[1] > 0}; port 80: ${refused}`
        "#,
    )
}
