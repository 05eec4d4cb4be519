//! System programs some tests talk to: tftpd-hpa, tftp-hpa, curl, python3,
//! mdbook, Chromium. A test that needs one asks [`find`]. When the program
//! is installed the test gets its path; when it is not, one line naming
//! the package to install goes to the terminal (past the test harness's
//! capture) and the test returns early, so `cargo test` passes on a
//! machine without them. `.ci/run` installs every peer and sets
//! `SOCKREPL_REQUIRE_PEERS=1`, which makes a missing peer a failure: CI
//! checks interoperability on every run.
//!
//! Programs are looked for on `PATH` only (and in the `sbin` folder beside
//! each `bin` folder of it, where Debian puts daemons), so a test can hide
//! them all by emptying `PATH`.

use std::io::Write;
use std::path::PathBuf;

/// A program and how to get it.
pub struct Peer {
    /// Names to look for, in order.
    pub programs: &'static [&'static str],
    /// What to install, as the skip line says it.
    pub install: &'static str,
}

pub const TFTPD_HPA: Peer = Peer {
    programs: &["in.tftpd"],
    install: "tftpd-hpa (apt-get install tftpd-hpa)",
};
pub const TFTP_HPA: Peer = Peer {
    programs: &["tftp"],
    install: "tftp-hpa (apt-get install tftp-hpa)",
};
pub const CURL: Peer = Peer {
    programs: &["curl"],
    install: "curl (apt-get install curl)",
};
pub const PYTHON3: Peer = Peer {
    programs: &["python3"],
    install: "python3 (apt-get install python3)",
};
pub const MDBOOK: Peer = Peer {
    programs: &["mdbook"],
    install: "mdbook (cargo install mdbook)",
};
pub const CHROMIUM: Peer = Peer {
    programs: &["chromium", "chromium-browser", "google-chrome"],
    install: "Chromium (apt-get install chromium)",
};

/// The variable that turns a missing peer into a failure.
pub const REQUIRE: &str = "SOCKREPL_REQUIRE_PEERS";

/// The first line of what a test prints when it skips for want of a peer.
pub const SKIPPED: &str = "skipped: ";

/// Where `peer` is installed. If it is not: with `SOCKREPL_REQUIRE_PEERS`
/// set, the test fails; otherwise `test` is reported as skipped in one
/// line and `None` comes back.
pub fn find(peer: &Peer, test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut folders: Vec<PathBuf> = Vec::new();
    for folder in std::env::split_paths(&path) {
        if folder.as_os_str().is_empty() {
            continue;
        }
        let sbin = folder
            .to_string_lossy()
            .strip_suffix("/bin")
            .map(|p| PathBuf::from(format!("{p}/sbin")));
        folders.push(folder);
        folders.extend(sbin);
    }
    let found = peer.programs.iter().find_map(|program| {
        folders
            .iter()
            .map(|f| f.join(program))
            .find(|candidate| is_executable(candidate))
    });
    if found.is_none() {
        let wanted = std::env::var_os(REQUIRE).is_some_and(|v| !v.is_empty() && v != "0");
        assert!(
            !wanted,
            "{test}: {} is not installed; install {} ({REQUIRE} is set)",
            peer.programs[0], peer.install
        );
        // Straight to stderr: the test harness does not capture it.
        let _ = writeln!(
            std::io::stderr(),
            "{SKIPPED}{test}: {} is not installed; install {} to run it",
            peer.programs[0],
            peer.install
        );
    }
    found
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs this test binary's test `name` alone with an empty `PATH` and
/// without `SOCKREPL_REQUIRE_PEERS`, and returns what it printed (stdout
/// and stderr) and whether it passed.
pub fn run_without_peers(name: &str) -> (bool, String) {
    let me = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(me)
        .args([name, "--exact", "--test-threads", "1"])
        .env("PATH", "")
        .env_remove(REQUIRE)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.contains("1 passed"), text)
}
