//! The TFTP client and server scripts: exact transfers of awkward sizes,
//! block-number rollover, options, lossy and duplicating paths, uploads
//! that are on disk when acknowledged, netascii, safety of the served
//! folder, the seed-sized downloader, and interoperation with tftpd-hpa,
//! tftp-hpa and curl.

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Output, Running, peers, repl, repo};
use sha2::{Digest, Sha256};

fn script(name: &str) -> String {
    repo(&format!("scripts/{name}")).display().to_string()
}

fn sha256(path: &Path) -> String {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic pseudo-random bytes.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

struct Server {
    running: Running,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.running.child.kill();
        let _ = self.running.child.wait();
    }
}

/// Starts scripts/tftp_server.rhai on an ephemeral port.
fn our_server(root: &Path, flags: &[&str]) -> Server {
    let mut cmd = repl();
    cmd.arg(script("tftp_server.rhai"))
        .arg(root)
        .arg("0")
        .args(flags)
        .stdin(Stdio::null());
    let mut running = Running::start(cmd);
    let line = running.line();
    let port = line
        .rsplit("on port ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    Server { running, port }
}

fn client(args: &[&str]) -> Output {
    let mut cmd = repl();
    cmd.arg(script("tftp.rhai"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::finish(cmd.spawn().unwrap_or_else(|e| panic!("{e}")), Duration::from_secs(120))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn packets_are_built_and_parsed_by_the_library() {
    let lib = script("tftp_lib.rhai");
    let module = lib.trim_end_matches(".rhai");
    let code = format!(
        r#"import "{module}" as tftp;
        print(tftp::request(tftp::RRQ, "a.txt", "octet", #{{ blksize: 1024 }}));
        print(tftp::describe(tftp::parse(tftp::request(tftp::WRQ, "b", "NetASCII", #{{}}))));
        print(tftp::describe(tftp::parse(tftp::data_packet(65537, "xy".encode()))));
        print(tftp::describe(tftp::parse(tftp::error_packet(1, "File not found"))));
        print(tftp::describe(tftp::parse(tftp::oack_packet(#{{ tsize: 5 }}))));
        print(tftp::describe(tftp::parse(blob(1))));
        print(tftp::describe(tftp::parse(pack("!H", 9))));"#
    );
    let out = common::run(&["-e", &code]);
    assert_eq!(
        out.stdout,
        "b\"\\x00\\x01a.txt\\x00octet\\x00blksize\\x001024\\x00\"\n\
         WRQ file=b mode=netascii options=#{}\n\
         DATA block=1 (2 bytes)\n\
         ERROR code=1 \"File not found\"\n\
         OACK options=#{\"tsize\": \"5\"}\n\
         malformed: packet shorter than 2 bytes\n\
         malformed: unknown opcode 9\n",
        "{}",
        out.stderr
    );
}

#[test]
fn the_demo_downloads_from_its_own_server_and_leaves_nothing_behind() {
    // The demo serves the scripts folder and downloads the TFTP library
    // into a temporary file, which it removes again.
    let temp = tempdir();
    let mut cmd = repl();
    cmd.arg(script("tftp.rhai"))
        .env("TMPDIR", temp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = common::finish(cmd.spawn().unwrap_or_else(|e| panic!("{e}")), Duration::from_secs(120));
    assert!(out.status.success(), "{}", out.stderr);
    let size = std::fs::metadata(script("tftp_lib.rhai")).map(|m| m.len()).unwrap_or(0);
    assert!(
        out.stdout.contains(&format!(
            "downloaded tftp_lib.rhai: {size} bytes in blocks of 1024 (server said tsize {size})"
        )),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("the copy is identical"), "{}", out.stdout);
    // DATA, block 1, then the library's first line: "// TFTP, ..."
    assert!(
        out.stdout.contains("00000000  00 03 00 01 2f 2f 20 54"),
        "{}",
        out.stdout
    );
    let left: Vec<_> = std::fs::read_dir(temp.path())
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "the demo left {left:?} in its temporary folder");
}

#[test]
fn awkward_sizes_download_and_upload_exactly() {
    let root = tempdir();
    let work = tempdir();
    let server = our_server(root.path(), &["--write"]);
    let address = format!("127.0.0.1:{}", server.port);
    for (size, options) in [
        (0, &[][..]),
        (511, &[][..]),
        (512, &[][..]),
        (513, &[][..]),
        (1_000_000, &[][..]),
        (1_000_000, &["--blksize", "1428"][..]),
        (1_000_000, &["--blksize", "8192", "--windowsize", "16"][..]),
        (4096, &["--no-options"][..]),
    ] {
        let name = format!("f{size}-{}", options.join("").replace("--", "-"));
        let original = work.path().join(&name);
        write(&original, &random_bytes(size, size as u64 + 7));
        let original_text = original.display().to_string();

        let mut put = vec!["put", &address, &original_text, &name];
        put.extend_from_slice(options);
        let out = client(&put);
        assert!(out.status.success(), "put {name}: {}", out.stderr);
        assert_eq!(sha256(&root.path().join(&name)), sha256(&original), "upload of {name}");

        let copy = work.path().join(format!("{name}.copy")).display().to_string();
        let mut get = vec!["get", &address, &name, &copy];
        get.extend_from_slice(options);
        let out = client(&get);
        assert!(out.status.success(), "get {name}: {}", out.stderr);
        assert!(
            out.stdout.starts_with(&format!("received {size} bytes")),
            "{}",
            out.stdout
        );
        assert_eq!(sha256(Path::new(&copy)), sha256(&original), "download of {name}");
    }
}

#[test]
fn block_numbers_roll_over_past_65535() {
    let root = tempdir();
    let work = tempdir();
    // 65535 x 512 bytes and a bit more: block numbers wrap to 0.
    let size = 65535 * 512 + 1000;
    write(&root.path().join("big"), &random_bytes(size, 3));
    let server = our_server(root.path(), &[]);
    let copy = work.path().join("big.copy");
    let out = client(&[
        "get",
        &format!("127.0.0.1:{}", server.port),
        "big",
        &copy.display().to_string(),
        "--windowsize",
        "8",
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(sha256(&copy), sha256(&root.path().join("big")));
    // And with tiny blocks, many times over.
    let copy = work.path().join("big.copy8");
    let small = &random_bytes(70_000 * 8, 5);
    write(&root.path().join("small-blocks"), small);
    let out = client(&[
        "get",
        &format!("127.0.0.1:{}", server.port),
        "small-blocks",
        &copy.display().to_string(),
        "--blksize",
        "8",
        "--windowsize",
        "32",
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(sha256(&copy), sha256(&root.path().join("small-blocks")));
}

#[test]
fn trace_prints_each_packet_decoded() {
    let root = tempdir();
    write(&root.path().join("t.txt"), b"hello tftp");
    let server = our_server(root.path(), &[]);
    let work = tempdir();
    let copy = work.path().join("t.copy").display().to_string();
    let out = client(&[
        "get",
        &format!("127.0.0.1:{}", server.port),
        "t.txt",
        &copy,
        "--blksize",
        "1024",
        "--trace",
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "-> RRQ file=t.txt mode=octet options=#{\"blksize\": \"1024\", \"tsize\": \"0\"}"
    );
    assert_eq!(lines[1], "<- OACK options=#{\"blksize\": \"1024\", \"tsize\": \"10\"}");
    assert_eq!(lines[2], "-> ACK block=0");
    assert_eq!(lines[3], "<- DATA block=1 (10 bytes)");
    assert_eq!(lines[4], "-> ACK block=1");
}

#[test]
fn netascii_converts_line_endings() {
    let root = tempdir();
    let work = tempdir();
    let server = our_server(root.path(), &["--write"]);
    let address = format!("127.0.0.1:{}", server.port);
    let local = work.path().join("text.txt");
    write(&local, b"one\ntwo\rthree\n");
    let out = client(&["put", &address, &local.display().to_string(), "text.txt", "--netascii"]);
    assert!(out.status.success(), "{}", out.stderr);
    // On the wire lines end in CR LF and a lone CR is CR NUL; the server
    // turns that back into this machine's text, as tftpd-hpa does (it
    // used to store the wire form: netascii_matches_tftpd_hpa_byte_for_byte
    // checks both directions against tftpd-hpa).
    assert_eq!(
        std::fs::read(root.path().join("text.txt")).ok(),
        Some(b"one\ntwo\rthree\n".to_vec())
    );
    let copy = work.path().join("copy.txt");
    let out = client(&["get", &address, "text.txt", &copy.display().to_string(), "--netascii"]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(std::fs::read(&copy).ok(), Some(b"one\ntwo\rthree\n".to_vec()));
}

#[test]
fn the_server_refuses_escapes_and_unwanted_writes() {
    let base = tempdir();
    let root = base.path().join("root");
    std::fs::create_dir(&root).unwrap_or_else(|e| panic!("{e}"));
    write(&base.path().join("secret"), b"outside the root");
    write(&root.path_join_file("inside"), b"ok");
    std::os::unix::fs::symlink(base.path().join("secret"), root.join("link")).unwrap_or_else(|e| panic!("{e}"));
    let work = tempdir();
    let local = work.path().join("upload");
    write(&local, b"data");
    let local = local.display().to_string();
    let copy = work.path().join("copy").display().to_string();

    let server = our_server(&root, &[]);
    let address = format!("127.0.0.1:{}", server.port);
    for (args, expected) in [
        (
            vec!["get", &address, "../secret", &copy],
            "TFTP error 2: Access violation: path escapes the served folder",
        ),
        (
            vec!["get", &address, "sub/../../secret", &copy],
            "TFTP error 2: Access violation: path escapes the served folder",
        ),
        (
            vec!["get", &address, "link", &copy],
            "TFTP error 2: Access violation: path escapes the served folder",
        ),
        (vec!["get", &address, "/secret", &copy], "TFTP error 1: File not found"),
        (vec!["get", &address, "missing", &copy], "TFTP error 1: File not found"),
        (
            vec!["put", &address, &local, "new"],
            "TFTP error 2: Access violation: this server does not accept uploads",
        ),
    ] {
        let out = client(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            out.stderr.starts_with(&format!("error: {expected}")),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!Path::new(&copy).exists(), "a failed download must not leave a file");
    }
    drop(server);

    let server = our_server(&root, &["--write"]);
    let address = format!("127.0.0.1:{}", server.port);
    for (args, expected) in [
        (
            vec!["put", &address, &local, "inside"],
            "TFTP error 6: File already exists",
        ),
        (
            vec!["put", &address, &local, "../escaped"],
            "TFTP error 2: Access violation: path escapes the served folder",
        ),
        (
            vec!["put", &address, &local, "nodir/x"],
            "TFTP error 2: Access violation: no such folder",
        ),
    ] {
        let out = client(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            out.stderr.starts_with(&format!("error: {expected}")),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(!base.path().join("escaped").exists());
    assert_eq!(std::fs::read(root.join("inside")).ok(), Some(b"ok".to_vec()));
    assert_eq!(
        std::fs::read(base.path().join("secret")).ok(),
        Some(b"outside the root".to_vec())
    );
    let names: Vec<String> = std::fs::read_dir(base.path())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names.len(), 2, "nothing new next to the root: {names:?}");
}

trait JoinFile {
    fn path_join_file(&self, name: &str) -> PathBuf;
}

impl JoinFile for PathBuf {
    fn path_join_file(&self, name: &str) -> PathBuf {
        self.join(name)
    }
}

/// What a relay does to the packets it forwards.
#[derive(Clone, Copy)]
struct Faults {
    /// Percent of packets dropped, in each direction.
    drop: u64,
    /// Percent of the packets forwarded that are sent twice.
    duplicate: u64,
    /// At most this many packets in a row from one side, without one from
    /// the other or a 2 ms pause in between: a receiver whose socket
    /// buffer holds only so many drops the tail of a longer burst.
    burst: Option<usize>,
    seed: u64,
}

impl Faults {
    fn lossy(drop: u64, duplicate: u64, seed: u64) -> Faults {
        Faults {
            drop,
            duplicate,
            burst: None,
            seed,
        }
    }
}

/// Deterministic rolls from 0 to 99 (xorshift).
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % 100
    }
}

#[derive(Default)]
struct RelayState {
    client: Option<SocketAddr>,
    server_tid: Option<SocketAddr>,
    /// Packets in a row from the client, and from the server.
    in_a_row: [usize; 2],
    /// When the last packet from each side came.
    last: [Option<Instant>; 2],
}

/// A UDP relay between one client and a TFTP server, with `Faults`.
/// Requests (RRQ, WRQ) go to the server's port, everything else to the
/// port the server last answered from; requests are dropped and
/// duplicated like any other packet, as a real network does.
struct Relay {
    port: u16,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(server_port: u16, faults: Faults) -> Relay {
        let bind = || {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
            s.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap_or_else(|e| panic!("{e}"));
            s
        };
        let (front, back) = (Arc::new(bind()), Arc::new(bind()));
        let port = front.local_addr().map(|a| a.port()).unwrap_or(0);
        let listen = SocketAddr::from(([127, 0, 0, 1], server_port));
        let state = Arc::new(Mutex::new(RelayState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for towards_server in [true, false] {
            let (from, to) = if towards_server {
                (front.clone(), back.clone())
            } else {
                (back.clone(), front.clone())
            };
            let (state, stop) = (state.clone(), stop.clone());
            let mut dice = Dice((faults.seed * 2 + u64::from(towards_server)) | 1);
            threads.push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 70_000];
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(300) {
                    let Ok((n, sender)) = from.recv_from(&mut buf) else {
                        continue;
                    };
                    let destination = {
                        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                        let (mine, theirs) = if towards_server { (0, 1) } else { (1, 0) };
                        if st.last[mine].is_some_and(|t| t.elapsed() > Duration::from_millis(2)) {
                            st.in_a_row[mine] = 0;
                        }
                        st.last[mine] = Some(Instant::now());
                        st.in_a_row[mine] += 1;
                        st.in_a_row[theirs] = 0;
                        if faults.burst.is_some_and(|limit| st.in_a_row[mine] > limit) {
                            continue;
                        }
                        if towards_server {
                            st.client = Some(sender);
                            let request = n >= 2 && buf[0] == 0 && (buf[1] == 1 || buf[1] == 2);
                            if request {
                                Some(listen)
                            } else {
                                st.server_tid.or(Some(listen))
                            }
                        } else {
                            st.server_tid = Some(sender);
                            st.client
                        }
                    };
                    let Some(destination) = destination else { continue };
                    if dice.roll() < faults.drop {
                        continue;
                    }
                    let _ = to.send_to(&buf[..n], destination);
                    if dice.roll() < faults.duplicate {
                        let _ = to.send_to(&buf[..n], destination);
                    }
                }
            }));
        }
        Relay { port, stop, threads }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[test]
fn transfers_survive_ten_percent_loss_and_duplication() {
    let root = tempdir();
    let work = tempdir();
    let data = random_bytes(100_000, 11);
    write(&root.path().join("lossy"), &data);
    let local = work.path().join("up");
    write(&local, &data);
    // Short retransmission timeouts keep the test quick; they are local
    // settings (the RFC 2349 option is whole seconds).
    let server = our_server(root.path(), &["--write", "--timeout", "0.2"]);
    for (i, options) in [
        &["--timeout", "0.2"][..],
        &["--blksize", "1024", "--windowsize", "8", "--timeout", "0.2"][..],
    ]
    .iter()
    .enumerate()
    {
        let relay = Relay::start(server.port, Faults::lossy(10, 5, 42 + i as u64));
        let address = format!("127.0.0.1:{}", relay.port);
        let copy = work.path().join(format!("down{i}"));
        let mut args = vec!["get", &address, "lossy"];
        let copy_text = copy.display().to_string();
        args.push(&copy_text);
        args.extend_from_slice(options);
        args.push("--trace");
        let out = client(&args);
        assert!(
            out.status.success(),
            "{options:?}: {}\n{}",
            out.stderr,
            out.stdout.lines().rev().take(40).collect::<Vec<_>>().join("\n")
        );
        assert_eq!(
            sha256(&copy),
            sha256(&root.path().join("lossy")),
            "download {options:?}"
        );
        drop(relay);

        let relay = Relay::start(server.port, Faults::lossy(10, 5, 99 + i as u64));
        let address = format!("127.0.0.1:{}", relay.port);
        let remote = format!("up{i}");
        let local_text = local.display().to_string();
        let mut args = vec!["put", &address, &local_text, &remote];
        args.extend_from_slice(options);
        args.push("--trace");
        let out = client(&args);
        assert!(
            out.status.success(),
            "{options:?}: {}\n{}",
            out.stderr,
            out.stdout.lines().rev().take(30).collect::<Vec<_>>().join("\n")
        );
        // The server acknowledges the last block only once the upload is
        // in place, so the file is there as soon as the client is done.
        let target = root.path().join(&remote);
        assert_eq!(sha256(&target), sha256(&local), "upload {options:?}");
    }
}

/// tftpd-hpa serving `root` on an ephemeral port, run by this test.
struct Tftpd {
    child: std::process::Child,
    port: u16,
}

impl Drop for Tftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// tftpd-hpa serving `root` on a free port, once it answers; `None`
/// (with the skip line) when it is not installed.
fn tftpd(root: &Path, test: &str) -> Option<Tftpd> {
    let exe = peers::find(&peers::TFTPD_HPA, test)?;
    // It chroots into the root and drops to the tftp user, who must be
    // able to read (and, for uploads, write) there.
    make_world_writable(root);
    for _ in 0..5 {
        let port = free_udp_port();
        let child = Command::new(&exe)
            .args(["-L", "-s", "-c", "-p", "-u", "tftp", "-a", &format!("127.0.0.1:{port}")])
            .arg(root)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
        let mut server = Tftpd { child, port };
        if answers(port, &mut server.child) {
            return Some(server);
        }
    }
    panic!("tftpd-hpa did not start");
}

/// True once a TFTP server on `port` answers a request (for a file that
/// is not there); false if `child` exits first (its port was taken).
fn answers(port: u16, child: &mut std::process::Child) -> bool {
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let _ = probe.set_read_timeout(Some(Duration::from_millis(100)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        let _ = probe.send_to(b"\x00\x01sockrepl-probe-no-such-file\x00octet\x00", ("127.0.0.1", port));
        let mut answer = [0u8; 600];
        if probe.recv_from(&mut answer).is_ok() {
            return true;
        }
    }
    false
}

fn make_world_writable(folder: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o777));
}

fn world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666));
}

#[test]
fn our_client_interoperates_with_tftpd_hpa() {
    let root = tempdir();
    let work = tempdir();
    let data = random_bytes(1_000_000, 21);
    write(&root.path().join("hpa.bin"), &data);
    world_readable(&root.path().join("hpa.bin"));
    let Some(server) = tftpd(root.path(), "our_client_interoperates_with_tftpd_hpa") else {
        return;
    };
    let address = format!("127.0.0.1:{}", server.port);
    for options in [
        &[][..],
        &["--blksize", "8192"][..],
        &["--blksize", "70000"][..],
        &["--windowsize", "4"][..],
    ] {
        let copy = work.path().join("hpa.copy");
        let copy_text = copy.display().to_string();
        let mut args = vec!["get", &address, "hpa.bin", &copy_text];
        args.extend_from_slice(options);
        let out = client(&args);
        assert!(out.status.success(), "{options:?}: {}", out.stderr);
        assert_eq!(sha256(&copy), sha256(&root.path().join("hpa.bin")), "{options:?}");
    }
    // blksize 70000 is answered with tftpd-hpa's maximum.
    let out = client(&[
        "get",
        &address,
        "hpa.bin",
        &work.path().join("x").display().to_string(),
        "--blksize",
        "70000",
    ]);
    assert!(out.stdout.contains("blksize 65464"), "{}", out.stdout);
    // Upload, then compare what the server stored.
    let local = work.path().join("up.bin");
    write(&local, &random_bytes(300_000, 22));
    let out = client(&[
        "put",
        &address,
        &local.display().to_string(),
        "up.bin",
        "--blksize",
        "1024",
    ]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(sha256(&root.path().join("up.bin")), sha256(&local));
    // An error packet from a real server reads well.
    let out = client(&["get", &address, "nope", &work.path().join("n").display().to_string()]);
    assert!(
        out.stderr.starts_with("error: TFTP error 1: File not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn tftp_hpa_and_curl_download_from_our_server() {
    let test = "tftp_hpa_and_curl_download_from_our_server";
    let (Some(tftp), Some(curl)) = (peers::find(&peers::TFTP_HPA, test), peers::find(&peers::CURL, test)) else {
        return;
    };
    let root = tempdir();
    let work = tempdir();
    write(&root.path().join("ours.bin"), &random_bytes(700_000, 31));
    let server = our_server(root.path(), &[]);
    let copy = work.path().join("by-tftp");
    let status = Command::new(&tftp)
        .args([
            "127.0.0.1",
            &server.port.to_string(),
            "-m",
            "octet",
            "-c",
            "get",
            "ours.bin",
        ])
        .arg(&copy)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("tftp-hpa is not installed (.ci/run installs it): {e}"));
    assert!(status.success());
    // tftp-hpa exits 0 even on failure: the checksum is the real test.
    assert_eq!(sha256(&copy), sha256(&root.path().join("ours.bin")));
    let copy = work.path().join("by-curl");
    let status = Command::new(&curl)
        .args(["-sS", "--tftp-blksize", "8192", "-o"])
        .arg(&copy)
        .arg(format!("tftp://127.0.0.1:{}/ours.bin", server.port))
        .status()
        .unwrap_or_else(|e| panic!("curl is not installed: {e}"));
    assert!(status.success());
    assert_eq!(sha256(&copy), sha256(&root.path().join("ours.bin")));
}

/// Twenty transfers at once through twenty lossy paths (10% of packets
/// dropped, 5% duplicated, each path its own pattern) to one server:
/// fourteen downloads and six uploads, every file exact.
#[test]
fn twenty_simultaneous_transfers_under_ten_percent_loss_are_exact() {
    const TRANSFERS: usize = 20;
    const UPLOADS: usize = 6;
    let root = tempdir();
    let work = tempdir();
    for i in 0..TRANSFERS {
        write(
            &root.path().join(format!("file{i}")),
            &random_bytes(60_000 + i * 1_111, 500 + i as u64),
        );
        write(
            &work.path().join(format!("local{i}")),
            &random_bytes(50_000 + i * 777, 900 + i as u64),
        );
    }
    // Short timeouts keep the test quick; many retries keep a machine busy
    // with other tests from being mistaken for a dead peer.
    let server = our_server(root.path(), &["--write", "--timeout", "0.2", "--retries", "30"]);
    let relays: Vec<Relay> = (0..TRANSFERS)
        .map(|i| Relay::start(server.port, Faults::lossy(10, 5, 7_000 + i as u64)))
        .collect();
    let transfers: Vec<_> = relays
        .iter()
        .enumerate()
        .map(|(i, relay)| {
            let address = format!("127.0.0.1:{}", relay.port);
            let root = root.path().to_path_buf();
            let work = work.path().to_path_buf();
            std::thread::spawn(move || {
                let lockstep = ["--timeout", "0.2", "--retries", "30"];
                let windowed = [
                    "--blksize",
                    "1024",
                    "--windowsize",
                    "4",
                    "--timeout",
                    "0.2",
                    "--retries",
                    "30",
                ];
                let options: &[&str] = if i % 2 == 0 { &lockstep } else { &windowed };
                if i < UPLOADS {
                    let local = work.join(format!("local{i}")).display().to_string();
                    let remote = format!("up{i}");
                    let mut args = vec!["put", &address, &local, &remote];
                    args.extend_from_slice(options);
                    let out = client(&args);
                    (i, out, PathBuf::from(local), root.join(remote))
                } else {
                    let copy = work.join(format!("copy{i}")).display().to_string();
                    let remote = format!("file{i}");
                    let mut args = vec!["get", &address, &remote, &copy];
                    args.extend_from_slice(options);
                    let out = client(&args);
                    (i, out, root.join(remote), PathBuf::from(copy))
                }
            })
        })
        .collect();
    for transfer in transfers {
        let (i, out, original, copy) = transfer.join().unwrap_or_else(|_| panic!("transfer thread panicked"));
        assert!(out.status.success(), "transfer {i}: {}", out.stderr);
        assert_eq!(sha256(&copy), sha256(&original), "transfer {i} is not exact");
    }
    drop(relays);
}

// ---------------------------------------------------------------------
// A TFTP client written out here, for what the scripts cannot be made to
// do: send a request twice, act between blocks, see every packet and the
// port it came from. Lock-step, no options, 512-byte blocks.

fn request_packet(opcode: u8, name: &str, mode: &str) -> Vec<u8> {
    let mut p = vec![0, opcode];
    p.extend_from_slice(name.as_bytes());
    p.push(0);
    p.extend_from_slice(mode.as_bytes());
    p.push(0);
    p
}

fn data_packet(block: u16, data: &[u8]) -> Vec<u8> {
    let mut p = vec![0, 3];
    p.extend_from_slice(&block.to_be_bytes());
    p.extend_from_slice(data);
    p
}

fn ack_packet(block: u16) -> Vec<u8> {
    let mut p = vec![0, 4];
    p.extend_from_slice(&block.to_be_bytes());
    p
}

fn error_packet(code: u16, message: &str) -> Vec<u8> {
    let mut p = vec![0, 5];
    p.extend_from_slice(&code.to_be_bytes());
    p.extend_from_slice(message.as_bytes());
    p.push(0);
    p
}

/// Opcode and block number (or error code) of a packet.
fn head(p: &[u8]) -> (u16, u16) {
    if p.len() < 4 {
        return (0, 0);
    }
    (u16::from_be_bytes([p[0], p[1]]), u16::from_be_bytes([p[2], p[3]]))
}

fn error_text(p: &[u8]) -> String {
    let (_, code) = head(p);
    let message = p
        .get(4..)
        .unwrap_or_default()
        .split(|b| *b == 0)
        .next()
        .unwrap_or_default();
    format!("ERROR {code} {}", String::from_utf8_lossy(message))
}

struct RawClient {
    sock: UdpSocket,
    server: SocketAddr,
    /// The port of the transfer, once the server has answered.
    tid: Option<SocketAddr>,
    /// Every port the server has sent us anything from.
    ports: BTreeSet<u16>,
}

impl RawClient {
    fn new(server_port: u16) -> RawClient {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap_or_else(|e| panic!("{e}"));
        RawClient {
            sock,
            server: SocketAddr::from(([127, 0, 0, 1], server_port)),
            tid: None,
            ports: BTreeSet::new(),
        }
    }

    fn port(&self) -> u16 {
        self.sock.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    fn to_server(&self, packet: &[u8]) {
        self.sock.send_to(packet, self.server).unwrap_or_else(|e| panic!("{e}"));
    }

    fn to_transfer(&self, packet: &[u8]) {
        let tid = self.tid.unwrap_or_else(|| panic!("no transfer yet"));
        self.sock.send_to(packet, tid).unwrap_or_else(|e| panic!("{e}"));
    }

    /// The next packet and where it came from, failing after `DEADLINE`.
    fn any(&mut self) -> (Vec<u8>, SocketAddr) {
        let start = Instant::now();
        let mut buf = vec![0u8; 70_000];
        while start.elapsed() < common::DEADLINE {
            if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                self.ports.insert(from.port());
                return (buf[..n].to_vec(), from);
            }
        }
        panic!("no packet within {:?}", common::DEADLINE);
    }

    /// The next packet of the transfer. Packets from any other port are
    /// answered with ERROR 5, as a client must.
    fn next(&mut self) -> Vec<u8> {
        loop {
            let (packet, from) = self.any();
            match self.tid {
                None => self.tid = Some(from),
                Some(tid) if tid != from => {
                    let _ = self.sock.send_to(&error_packet(5, "Unknown transfer ID"), from);
                    continue;
                }
                Some(_) => {}
            }
            return packet;
        }
    }

    /// Uploads `data` as `name`; `sends` copies of the request, `between`
    /// runs once the server has accepted it. Ok once the last block is
    /// acknowledged, Err with the server's ERROR otherwise.
    fn put(&mut self, name: &str, data: &[u8], sends: usize, between: impl FnOnce()) -> Result<(), String> {
        let wrq = request_packet(2, name, "octet");
        for _ in 0..sends {
            self.to_server(&wrq);
        }
        let answer = self.next();
        if head(&answer) != (4, 0) {
            return Err(error_text(&answer));
        }
        between();
        let blocks = data.len() / 512 + 1;
        for k in 1..=blocks {
            let chunk = &data[(k - 1) * 512..(k * 512).min(data.len())];
            let block = (k % 65536) as u16;
            self.to_transfer(&data_packet(block, chunk));
            loop {
                let reply = self.next();
                match head(&reply) {
                    (4, n) if n == block => break,
                    // The server timed out waiting and ACKed the block
                    // before: send this one again.
                    (4, n) if n == block.wrapping_sub(1) => self.to_transfer(&data_packet(block, chunk)),
                    (5, _) => return Err(error_text(&reply)),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Downloads `name` in `mode` and returns the bytes as sent.
    fn get(&mut self, name: &str, mode: &str) -> Vec<u8> {
        self.to_server(&request_packet(1, name, mode));
        let mut wire = Vec::new();
        let mut expected: u16 = 1;
        loop {
            let packet = self.next();
            let (op, block) = head(&packet);
            assert_eq!(op, 3, "expected DATA, got {}", error_text(&packet));
            if block == expected {
                wire.extend_from_slice(&packet[4..]);
                self.to_transfer(&ack_packet(block));
                if packet.len() < 516 {
                    return wire;
                }
                expected = expected.wrapping_add(1);
            } else {
                self.to_transfer(&ack_packet(expected.wrapping_sub(1)));
            }
        }
    }
}

/// Names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = repl();
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    common::finish(cmd.spawn().unwrap_or_else(|e| panic!("{e}")), Duration::from_secs(120))
}

// ---------------------------------------------------------------------

/// The seed's 26-line downloader, ported: it fetches the same bytes from
/// tftpd-hpa and from our server, printing the seed's line per block.
#[test]
fn the_seed_downloader_fetches_from_tftpd_hpa_and_from_our_server() {
    let root = tempdir();
    // Three blocks with a short last one, and an exact multiple of 512
    // that ends with an empty block.
    for (name, size) in [("seed.bin", 1500), ("even.bin", 1024)] {
        write(&root.path().join(name), &random_bytes(size, size as u64));
        world_readable(&root.path().join(name));
    }
    // Our server always; tftpd-hpa too when it is installed.
    let hpa = tftpd(
        root.path(),
        "the_seed_downloader_fetches_from_tftpd_hpa_and_from_our_server",
    );
    let ours = our_server(root.path(), &[]);
    for port in std::iter::once(ours.port).chain(hpa.as_ref().map(|h| h.port)) {
        for (name, sizes) in [("seed.bin", &[512, 512, 476][..]), ("even.bin", &[512, 512, 0][..])] {
            let work = tempdir();
            let out = run_in(
                work.path(),
                &[&script("tftp_download.rhai"), &format!("127.0.0.1:{port}"), name],
            );
            assert!(out.status.success(), "port {port}: {}", out.stderr);
            assert_eq!(
                std::fs::read(work.path().join(name)).ok(),
                std::fs::read(root.path().join(name)).ok(),
                "{name} from port {port}"
            );
            let lines: Vec<&str> = out.stdout.lines().collect();
            assert_eq!(lines[0], format!("b\"\\x00\\x01{name}\\x00octet\\x00\""));
            assert_eq!(lines.len(), 1 + sizes.len(), "{}", out.stdout);
            let random_port = lines[1].split("random port: ").nth(1).and_then(|r| r.split(',').next());
            for (k, (line, size)) in lines[1..].iter().zip(sizes).enumerate() {
                let port = random_port.unwrap_or("?");
                assert_eq!(
                    *line,
                    format!(
                        "opcode: 3, ACK: {}, server's random port: {port}, data length: {size}",
                        k + 1
                    )
                );
            }
            assert_ne!(
                random_port,
                Some(port.to_string().as_str()),
                "the server answers from a new port"
            );
        }
        let work = tempdir();
        let out = run_in(
            work.path(),
            &[&script("tftp_download.rhai"), &format!("127.0.0.1:{port}"), "missing"],
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stderr.contains("TFTP error 1: File not found"), "{}", out.stderr);
        assert!(names(work.path()).is_empty(), "no file is left for a missing one");
    }
}

/// The same WRQ arriving twice from one port (a duplicating network)
/// starts one transfer, not two racing over one temporary file.
#[test]
fn a_duplicated_write_request_starts_one_transfer_and_stores_the_file() {
    let root = tempdir();
    let server = our_server(root.path(), &["--write"]);
    let data = random_bytes(20_000, 61);
    let mut client = RawClient::new(server.port);
    assert_eq!(client.put("twice.bin", &data, 2, || {}), Ok(()));
    // The last ACK came after the file was moved into place.
    assert_eq!(std::fs::read(root.path().join("twice.bin")).ok(), Some(data));
    assert_eq!(client.ports.len(), 1, "answers came from {:?}", client.ports);
    assert_eq!(names(root.path()), ["twice.bin"], "no temporary file is left");
}

/// An upload that cannot be moved into place ends with an ERROR, never
/// with the final ACK.
#[test]
fn an_upload_that_cannot_be_stored_gets_an_error_not_the_final_ack() {
    let root = tempdir();
    let work = tempdir();
    let data = random_bytes(3_000, 62);
    let local = work.path().join("local");
    write(&local, &data);
    let local = local.display().to_string();

    let server = our_server(root.path(), &["--write", "--overwrite"]);
    let address = format!("127.0.0.1:{}", server.port);
    // A folder of that name already: refused at once.
    std::fs::create_dir(root.path().join("folder")).unwrap_or_else(|e| panic!("{e}"));
    let out = client(&["put", &address, &local, "folder"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr
            .starts_with("error: TFTP error 2: Access violation: that is a folder"),
        "{}",
        out.stderr
    );
    // A folder that appears during the upload: the rename fails, and the
    // client is told so instead of "done".
    let target = root.path().join("late");
    let mut raw = RawClient::new(server.port);
    let result = raw.put("late", &data, 1, || {
        std::fs::create_dir(&target).unwrap_or_else(|e| panic!("{e}"));
    });
    let error = result.err().unwrap_or_default();
    assert!(
        error.starts_with("ERROR 2 Access violation: cannot store the file"),
        "{error}"
    );
    assert!(target.is_dir());
    assert_eq!(names(root.path()), ["folder", "late"], "no temporary file is left");
    drop(server);

    // Without --overwrite, a file that appears meanwhile is kept.
    let server = our_server(root.path(), &["--write"]);
    let target = root.path().join("raced");
    let mut raw = RawClient::new(server.port);
    let result = raw.put("raced", &data, 1, || write(&target, b"first"));
    assert_eq!(result, Err("ERROR 6 File already exists".to_string()));
    assert_eq!(std::fs::read(&target).ok(), Some(b"first".to_vec()));
    assert_eq!(names(root.path()), ["folder", "late", "raced"]);
}

/// Uploads through relays that drop 10% and duplicate 5% of the packets
/// in each direction, requests included: every upload the client reports
/// as done is on disk, byte for byte, the moment it says so.
#[test]
fn uploads_reported_done_through_a_lossy_duplicating_path_are_on_disk() {
    let root = tempdir();
    let work = tempdir();
    let server = our_server(root.path(), &["--write"]);
    let options: [&[&str]; 3] = [&[], &["--no-options"], &["--blksize", "1024", "--windowsize", "8"]];
    for i in 0..9 {
        let data = random_bytes(40_000 + i * 9_999, 300 + i as u64);
        let local = work.path().join(format!("local{i}"));
        write(&local, &data);
        let relay = Relay::start(server.port, Faults::lossy(10, 5, 800 + i as u64));
        let (local, remote) = (local.display().to_string(), format!("up{i}"));
        let address = relay.address();
        let mut args = vec!["put", &address, &local, &remote, "--retries", "20"];
        args.extend_from_slice(options[i % 3]);
        let out = client(&args);
        assert!(out.status.success(), "upload {i} {:?}: {}", options[i % 3], out.stderr);
        assert_eq!(
            std::fs::read(root.path().join(&remote)).ok(),
            Some(data),
            "upload {i} reported done"
        );
    }
    let parts: Vec<String> = names(root.path())
        .into_iter()
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(parts.is_empty(), "temporary files left: {parts:?}");
}

/// A relay that lets only six packets in a row through, like a receiver
/// whose socket buffer is full: windowed transfers of 16 blocks lose the
/// tail of every window at first, and still complete exactly.
#[test]
fn windowed_transfers_complete_when_the_receiver_drops_each_windows_tail() {
    let root = tempdir();
    let work = tempdir();
    let data = random_bytes(300_000, 71);
    write(&root.path().join("down"), &data);
    let local = work.path().join("up");
    write(&local, &data);
    let server = our_server(root.path(), &["--write"]);
    let full = Faults {
        drop: 0,
        duplicate: 0,
        burst: Some(6),
        seed: 1,
    };
    let window = ["--blksize", "1024", "--windowsize", "16"];
    let relay = Relay::start(server.port, full);
    let address = relay.address();
    let local_text = local.display().to_string();
    let mut args = vec!["put", &address, &local_text, "up"];
    args.extend_from_slice(&window);
    let out = client(&args);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(std::fs::read(root.path().join("up")).ok(), Some(data.clone()));
    drop(relay);

    let relay = Relay::start(server.port, full);
    let address = relay.address();
    let copy = work.path().join("copy").display().to_string();
    let mut args = vec!["get", &address, "down", &copy];
    args.extend_from_slice(&window);
    let out = client(&args);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(std::fs::read(&copy).ok(), Some(data));
}

/// Netascii (RFC 764) like tftpd-hpa, byte for byte: what goes on the
/// wire for a download, what is stored for an upload, and what tftp-hpa's
/// client makes of both servers, awkward bytes included.
#[test]
fn netascii_matches_tftpd_hpa_byte_for_byte() {
    let test = "netascii_matches_tftpd_hpa_byte_for_byte";
    let Some(tftp) = peers::find(&peers::TFTP_HPA, test) else {
        return;
    };
    // CR LF, lone CR, CR NUL, CR CR LF, NUL, a CR at the very end, and
    // enough of them to span several blocks.
    let mut text = b"a\nb\r\nc\rd\r\0e\r\r\nf\n\r\0\0".to_vec();
    text.extend(random_bytes(3_000, 81).iter().map(|b| b"ab\r\n\0"[*b as usize % 5]));
    text.push(b'\r');
    let mut expected_wire = Vec::new();
    for b in &text {
        match b {
            b'\n' => expected_wire.extend_from_slice(b"\r\n"),
            b'\r' => expected_wire.extend_from_slice(b"\r\0"),
            b => expected_wire.push(*b),
        }
    }
    let hpa_root = tempdir();
    let our_root = tempdir();
    for root in [&hpa_root, &our_root] {
        write(&root.path().join("text"), &text);
        world_readable(&root.path().join("text"));
    }
    let Some(hpa) = tftpd(hpa_root.path(), test) else {
        return;
    };
    let ours = our_server(our_root.path(), &["--write"]);

    // Downloads: the same bytes on the wire from both.
    let hpa_wire = RawClient::new(hpa.port).get("text", "netascii");
    assert_eq!(hpa_wire, expected_wire, "tftpd-hpa's netascii");
    assert_eq!(RawClient::new(ours.port).get("text", "netascii"), hpa_wire);

    // Uploads: the same bytes stored from the same wire bytes, stray
    // sequences included (a CR before anything else, a bare LF).
    let mut wire = b"x\r\ny\r\0z\rq\n\r\r\n\0\r\0\0".to_vec();
    wire.extend(random_bytes(2_000, 82).iter().map(|b| b"ab\r\n\0"[*b as usize % 5]));
    wire.push(b'\r');
    for (port, root) in [(hpa.port, &hpa_root), (ours.port, &our_root)] {
        let mut raw = RawClient::new(port);
        raw.to_server(&request_packet(2, "wire", "netascii"));
        assert_eq!(head(&raw.next()), (4, 0));
        for (k, chunk) in wire.chunks(512).enumerate() {
            raw.to_transfer(&data_packet(k as u16 + 1, chunk));
            assert_eq!(head(&raw.next()), (4, k as u16 + 1));
        }
        if wire.len().is_multiple_of(512) {
            raw.to_transfer(&data_packet((wire.len() / 512) as u16 + 1, &[]));
            assert_eq!(head(&raw.next()).0, 4);
        }
        assert!(root.path().join("wire").exists(), "port {port}");
    }
    assert_eq!(
        std::fs::read(our_root.path().join("wire")).ok(),
        std::fs::read(hpa_root.path().join("wire")).ok(),
        "stored netascii uploads differ"
    );

    // tftp-hpa's client in netascii mode, against both servers.
    let work = tempdir();
    for (port, name) in [(hpa.port, "hpa"), (ours.port, "ours")] {
        let copy = work.path().join(format!("from-{name}"));
        let status = Command::new(&tftp)
            .args(["127.0.0.1", &port.to_string(), "-m", "netascii", "-c", "get", "text"])
            .arg(&copy)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("tftp-hpa: {e}"));
        assert!(status.success());
        assert_eq!(std::fs::read(&copy).ok(), Some(text.clone()), "tftp-hpa from {name}");
        let status = Command::new(&tftp)
            .args(["127.0.0.1", &port.to_string(), "-m", "netascii", "-c", "put"])
            .arg(hpa_root.path().join("text"))
            .arg("by-tftp-hpa")
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("tftp-hpa: {e}"));
        assert!(status.success());
    }
    assert_eq!(
        std::fs::read(hpa_root.path().join("by-tftp-hpa")).ok(),
        Some(text.clone())
    );
    assert_eq!(
        std::fs::read(our_root.path().join("by-tftp-hpa")).ok(),
        Some(text.clone())
    );

    // Our client's --netascii against tftpd-hpa (which refuses tsize in
    // netascii mode, so the client does not ask for it).
    let address = format!("127.0.0.1:{}", hpa.port);
    let copy = work.path().join("ours-from-hpa").display().to_string();
    let out = client(&["get", &address, "text", &copy, "--netascii", "--blksize", "1024"]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(std::fs::read(&copy).ok(), Some(text.clone()));
    let local = hpa_root.path().join("text").display().to_string();
    let out = client(&["put", &address, &local, "by-our-client", "--netascii"]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(std::fs::read(hpa_root.path().join("by-our-client")).ok(), Some(text));
}

/// RFC 1350: an ERROR is never answered, so two programs cannot bounce
/// errors at each other. Anything else that is not a request still gets
/// ERROR 4. With --trace the server logs what it dropped.
#[test]
fn error_packets_sent_to_the_server_are_not_answered() {
    let root = tempdir();
    let mut server = our_server(root.path(), &["--trace"]);
    let mut raw = RawClient::new(server.port);
    raw.to_server(&error_packet(0, "stray"));
    // A request after it: the first answer must be the request's, from
    // the transfer's own port. (An answer to the ERROR would come first,
    // from the server's port.)
    raw.to_server(&request_packet(1, "missing", "octet"));
    let (answer, from) = raw.any();
    assert_eq!(error_text(&answer), "ERROR 1 File not found");
    assert_ne!(from.port(), server.port);
    let who = format!("127.0.0.1:{}", raw.port());
    assert_eq!(server.running.line(), format!("{who} <- ERROR code=0 \"stray\""));
    assert_eq!(
        server.running.line(),
        format!("{who} <- RRQ file=missing mode=octet options=#{{}}")
    );
    assert_eq!(
        server.running.line(),
        format!("{who} -> ERROR code=1 \"File not found\"")
    );
    // An ACK out of the blue is an illegal operation.
    raw.to_server(&ack_packet(1));
    let (answer, from) = raw.any();
    assert_eq!(error_text(&answer), "ERROR 4 Illegal TFTP operation");
    assert_eq!(from.port(), server.port);
}

/// The server's log: every traced line names the client, its own ERROR
/// replies included, and a transfer that dies is one line, not a script
/// error with a source excerpt.
#[test]
fn the_server_log_names_clients_and_reports_an_abort_in_one_line() {
    let root = tempdir();
    write(&root.path().join("t.txt"), b"hello tftp");
    let mut server = our_server(root.path(), &["--trace", "--timeout", "0.1", "--retries", "2"]);
    let mut raw = RawClient::new(server.port);
    let who = format!("127.0.0.1:{}", raw.port());
    raw.to_server(&request_packet(1, "t.txt", "octet"));
    // Receive block 1 and never acknowledge it.
    assert_eq!(head(&raw.next()), (3, 1));
    assert_eq!(
        server.running.line(),
        format!("{who} <- RRQ file=t.txt mode=octet options=#{{}}")
    );
    let mut line = server.running.line();
    let mut resent = 0;
    while line == format!("{who} -> DATA block=1 (10 bytes)") && resent < 100 {
        resent += 1;
        line = server.running.line();
    }
    assert!(resent >= 2, "block 1 was sent {resent} times");
    assert_eq!(
        line,
        format!("{who} RRQ t.txt: aborted: TFTP: the receiver stopped answering")
    );
    let _ = server.running.child.kill();
    let _ = server.running.child.wait();
    let mut stderr = String::new();
    if let Some(mut e) = server.running.child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    assert_eq!(stderr, "", "nothing on stderr");
}

/// `--trace` shows each packet once, also the first DATA block of a
/// transfer without options.
#[test]
fn trace_prints_the_first_block_once_without_options() {
    let root = tempdir();
    write(&root.path().join("t.txt"), b"hello tftp");
    let server = our_server(root.path(), &[]);
    let work = tempdir();
    let copy = work.path().join("t.copy").display().to_string();
    let address = format!("127.0.0.1:{}", server.port);
    let out = client(&["get", &address, "t.txt", &copy, "--no-options", "--trace"]);
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "-> RRQ file=t.txt mode=octet options=#{}",
            "<- DATA block=1 (10 bytes)",
            "-> ACK block=1"
        ]
    );
    assert!(lines[3].starts_with("received 10 bytes"), "{}", out.stdout);
    assert_eq!(lines.len(), 4, "{}", out.stdout);
}

/// A download is written to FILE.part and renamed when complete: while
/// it runs, and if it is interrupted, FILE does not exist.
#[test]
fn downloads_appear_under_their_name_only_when_complete() {
    let work = tempdir();
    let local = work.path().join("file");
    let part = work.path().join("file.part");
    for interrupt in [false, true] {
        // A server written out here, so the test decides when blocks go.
        let listen = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        listen
            .set_read_timeout(Some(common::DEADLINE))
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listen.local_addr().map(|a| a.port()).unwrap_or(0);
        let mut cmd = repl();
        cmd.arg(script("tftp.rhai"))
            .args(["get", &format!("127.0.0.1:{port}"), "file"])
            .arg(&local)
            .args(["--no-options", "--timeout", "5"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
        let mut buf = [0u8; 600];
        let (_, client) = listen.recv_from(&mut buf).unwrap_or_else(|e| panic!("no request: {e}"));
        let tid = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        tid.set_read_timeout(Some(common::DEADLINE))
            .unwrap_or_else(|e| panic!("{e}"));
        let block = |k: u16, len: usize| {
            tid.send_to(&data_packet(k, &vec![b'x'; len]), client)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut ack = [0u8; 16];
            loop {
                let n = tid.recv(&mut ack).unwrap_or_else(|e| panic!("no ACK {k}: {e}"));
                if head(&ack[..n]) == (4, k) {
                    break;
                }
            }
        };
        block(1, 512);
        block(2, 512);
        assert!(!local.exists(), "the name appears only when the download is complete");
        assert_eq!(std::fs::metadata(&part).map(|m| m.len()).ok(), Some(1024));
        if interrupt {
            // Ctrl-C: whether or not the partial file is cleaned up, it
            // never has the final name.
            let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
            let out = common::finish(child, common::DEADLINE);
            assert_eq!(out.status.code(), Some(130), "{}", out.stderr);
            assert!(!local.exists());
        } else {
            // The ACK of the last block comes once the file is in place.
            block(3, 100);
            assert_eq!(std::fs::metadata(&local).map(|m| m.len()).ok(), Some(1124));
            assert!(!part.exists());
            let out = common::finish(child, common::DEADLINE);
            assert!(out.status.success(), "{}", out.stderr);
            std::fs::remove_file(&local).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Started with no folder, the server serves the current one, read-only,
/// and says so; --bind chooses the address. (Without --port it would
/// listen on 6969; tests use ports the system picks.)
#[test]
fn the_server_serves_the_current_folder_read_only_by_default() {
    let here = tempdir();
    write(&here.path().join("here.txt"), b"served from the current folder");
    let mut cmd = repl();
    cmd.arg(script("tftp_server.rhai"))
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .current_dir(here.path())
        .stdin(Stdio::null());
    let mut running = Running::start(cmd);
    let line = running.line();
    let real = std::fs::canonicalize(here.path()).unwrap_or_else(|e| panic!("{e}"));
    let prefix = format!("serving {} on port ", real.display());
    assert!(
        line.starts_with(&prefix) && line.ends_with(" at 127.0.0.1, read-only"),
        "{line}"
    );
    let port = line[prefix.len()..].split(' ').next().unwrap_or("");
    let server = Server {
        running,
        port: port.parse().unwrap_or_else(|_| panic!("{line}")),
    };
    let address = format!("127.0.0.1:{}", server.port);
    let work = tempdir();
    let copy = work.path().join("copy").display().to_string();
    let out = client(&["get", &address, "here.txt", &copy]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        std::fs::read(&copy).ok(),
        Some(b"served from the current folder".to_vec())
    );
    let out = client(&["put", &address, &copy, "new.txt"]);
    assert!(out.stderr.contains("does not accept uploads"), "{}", out.stderr);
    assert!(!here.path().join("new.txt").exists());
}

/// Usage errors exit with status 2 and the usage line on stderr.
#[test]
fn the_server_and_client_report_usage_errors_with_status_2() {
    let here = tempdir();
    let root = here.path().display().to_string();
    let server = script("tftp_server.rhai");
    let tftp = script("tftp.rhai");
    for (args, problem) in [
        (vec![server.as_str(), "--bogus"], "--bogus: unknown option"),
        (
            vec![server.as_str(), "--port", "x"],
            "--port: expected a number from 0 to 65535, not \"x\"",
        ),
        (vec![server.as_str(), "--port", "70000"], "--port: expected a number"),
        (vec![server.as_str(), &root, "port"], "PORT: expected a number"),
        (
            vec![server.as_str(), "/no/such/folder"],
            "/no/such/folder: no such folder",
        ),
        (
            vec![server.as_str(), &root, "--timeout"],
            "--timeout: unknown option, or its value is missing",
        ),
        (vec![tftp.as_str(), "fetch", "127.0.0.1", "x"], ""),
        (vec![tftp.as_str(), "get", "127.0.0.1", "x", "--blksize", "big"], ""),
    ] {
        let out = common::run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with(problem), "{args:?}: {}", out.stderr);
        // The problem on a line of its own, then the usage lines.
        let usage = out
            .stderr
            .lines()
            .position(|l| l.starts_with("usage: repl scripts/tftp"));
        assert!(usage.is_some(), "{args:?}: {}", out.stderr);
        assert_eq!(usage == Some(0), problem.is_empty(), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("\\n"), "{args:?}: a literal \\n: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
}

/// --bind ::1 serves over IPv6 (loopback only).
#[test]
fn the_server_binds_to_the_address_it_is_given() {
    let root = tempdir();
    write(&root.path().join("six"), &random_bytes(2_000, 91));
    let mut cmd = repl();
    cmd.arg(script("tftp_server.rhai"))
        .arg(root.path())
        .args(["--port", "0", "--bind", "[::1]"])
        .stdin(Stdio::null());
    let mut running = Running::start(cmd);
    let line = running.line();
    assert!(line.ends_with(" at ::1, read-only"), "{line}");
    let port = line
        .rsplit("on port ")
        .next()
        .and_then(|r| r.split(' ').next())
        .unwrap_or("");
    let server = Server {
        running,
        port: port.parse().unwrap_or_else(|_| panic!("{line}")),
    };
    let work = tempdir();
    let copy = work.path().join("copy").display().to_string();
    let out = client(&["get", &format!("[::1]:{}", server.port), "six", &copy]);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(std::fs::read(&copy).ok(), std::fs::read(root.path().join("six")).ok());
}

/// Without the peers, `cargo test` still passes: each peer test says in
/// one line what to install and returns.
#[test]
fn peer_tests_skip_with_one_line_when_the_peers_are_missing() {
    for (test, missing) in [
        (
            "our_client_interoperates_with_tftpd_hpa",
            "in.tftpd is not installed; install tftpd-hpa",
        ),
        (
            "tftp_hpa_and_curl_download_from_our_server",
            "tftp is not installed; install tftp-hpa",
        ),
        (
            "tftp_hpa_and_curl_download_from_our_server",
            "curl is not installed; install curl",
        ),
        (
            "netascii_matches_tftpd_hpa_byte_for_byte",
            "tftp is not installed; install tftp-hpa",
        ),
        (
            "the_seed_downloader_fetches_from_tftpd_hpa_and_from_our_server",
            "in.tftpd is not installed",
        ),
    ] {
        let (passed, printed) = peers::run_without_peers(test);
        assert!(passed, "{test} failed without its peers:\n{printed}");
        assert!(
            printed.contains(&format!("{}{test}: {missing}", peers::SKIPPED)),
            "{test} did not say what to install:\n{printed}"
        );
    }
}
