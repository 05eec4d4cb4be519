//! Adding sockrepl's sockets to an ordinary Rhai engine, and running
//! scripts in a session whose address policy keeps them on loopback.
//!
//!     cargo run --example embed_engine

use rhai::Engine;
use rhai::packages::Package;
use sockrepl::{Action, Endpoint, Session, SockPackage};

fn main() {
    // ANCHOR: package
    // One line adds the whole script API to an engine of your own.
    let mut engine = Engine::new();
    SockPackage::new().register_into_engine(&mut engine);
    // ANCHOR_END: package

    // A TCP exchange inside one script: the kernel queues the connection
    // until accept() takes it.
    let script = r#"
        let server = socket();
        server.bind("127.0.0.1:0");
        server.listen();
        let client = socket(AF_INET, SOCK_STREAM);
        client.connect(server.getsockname());
        let conn = server.accept().conn;
        client.sendall("ping".encode());
        let got = conn.recv(100).decode();
        conn.sendall(got.to_upper());
        `server got ${got}, client got ${client.recv(100).decode()}`
    "#;
    match engine.eval::<String>(script) {
        Ok(text) => println!("{text}"),
        Err(err) => {
            eprintln!("script failed: {err}");
            std::process::exit(1);
        }
    }

    // ANCHOR: policy
    // A session whose scripts may only use loopback addresses.
    let session = Session::builder()
        .address_policy(|_action: Action, endpoint: &Endpoint| match endpoint {
            Endpoint::Inet(addr) if addr.ip().is_loopback() || addr.ip().is_unspecified() => Ok(()),
            Endpoint::Inet(_) => Err("this example allows loopback only".into()),
            Endpoint::Path(_) => Ok(()),
        })
        .build()
        .unwrap_or_else(|err| {
            eprintln!("cannot start a session: {err}");
            std::process::exit(1);
        });
    // ANCHOR_END: policy

    // The policy at work: a public address is refused with a clear error.
    let _in = session.enter();
    match session.engine().run(r#"socket("udp").sendto("x", "192.0.2.1:9")"#) {
        Ok(()) => println!("sent (the policy should have refused)"),
        Err(err) => println!("refused: {err}"),
    }
}
