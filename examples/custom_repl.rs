//! Shipping the sockrepl shell with a function of your own, a prompt,
//! a banner and no history file.
//!
//!     cargo run --example custom_repl

use sockrepl::Repl;

fn main() {
    // Lets scripts typed here start processes with process()/pool().
    sockrepl::run_child_if_requested();
    // ANCHOR: builder
    Repl::builder()
        .prompt("lab> ")
        .banner(Some("Network lab shell: try lab_port() or help(socket)".into()))
        .history_file(None)
        .register(|engine| {
            engine.register_fn("lab_port", || 4242_i64);
        })
        .build()
        .unwrap_or_else(|err| {
            eprintln!("cannot start the shell: {err}");
            std::process::exit(1);
        })
        .run();
    // ANCHOR_END: builder
}
