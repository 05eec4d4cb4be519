//! The TFTP client and server scripts: exact transfers of awkward sizes,
//! block-number rollover, options, a lossy path, safety of the served
//! folder, and interoperation with tftpd-hpa, tftp-hpa and curl.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Output, Running, repl, repo};
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

/// The server acknowledges the last block, then renames the upload into
/// place; give it a moment.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
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
fn the_demo_downloads_from_its_own_server() {
    let out = client(&[]);
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("downloaded demo.txt: 52890 bytes in blocks of 1024 (server said tsize 52890)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("the copy is identical"), "{}", out.stdout);
    assert!(
        out.stdout.contains("00000000  00 03 00 01 6c 69 6e 65"),
        "{}",
        out.stdout
    );
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
        wait_for(&root.path().join(&name));
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
    wait_for(&root.path().join("text.txt"));
    // On the wire (and so in a server that stores what it receives) lines
    // end in CR LF and a lone CR is CR NUL.
    assert_eq!(
        std::fs::read(root.path().join("text.txt")).ok(),
        Some(b"one\r\ntwo\r\0three\r\n".to_vec())
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

/// A UDP relay between a client and a TFTP server that drops and
/// duplicates a share of the packets after the first request.
struct LossyRelay {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LossyRelay {
    fn start(server_port: u16, percent: u64, seed: u64) -> LossyRelay {
        let front = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let back = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = front.local_addr().map(|a| a.port()).unwrap_or(0);
        for s in [&front, &back] {
            s.set_read_timeout(Some(Duration::from_millis(5)))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut rng = seed | 1;
            let mut roll = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % 100
            };
            let mut client = None;
            let mut server_tid = None;
            let mut buf = vec![0u8; 70_000];
            let started = Instant::now();
            while !stopping.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120) {
                if let Ok((n, from)) = front.recv_from(&mut buf) {
                    let first = client.is_none();
                    client = Some(from);
                    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], server_port));
                    let to = if first { listen } else { server_tid.unwrap_or(listen) };
                    let r = roll();
                    if first || r >= percent {
                        let _ = back.send_to(&buf[..n], to);
                    }
                    if !first && r < percent / 2 {
                        let _ = back.send_to(&buf[..n], to);
                    }
                }
                if let Ok((n, from)) = back.recv_from(&mut buf) {
                    server_tid = Some(from);
                    if let Some(client) = client {
                        let r = roll();
                        if r >= percent {
                            let _ = front.send_to(&buf[..n], client);
                        }
                        if r < percent / 2 {
                            let _ = front.send_to(&buf[..n], client);
                        }
                    }
                }
            }
        });
        LossyRelay {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
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
        let relay = LossyRelay::start(server.port, 10, 42 + i as u64);
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

        let relay = LossyRelay::start(server.port, 10, 99 + i as u64);
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
        // The server renames the upload into place when it is complete.
        let target = root.path().join(&remote);
        wait_for(&target);
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

fn tftpd(root: &Path) -> Tftpd {
    let exe = ["/usr/sbin/in.tftpd", "/usr/bin/in.tftpd"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let exe =
        exe.unwrap_or_else(|| panic!("tftpd-hpa is not installed: .ci/run installs it (apt-get install tftpd-hpa)"));
    // It chroots into the root and drops to the tftp user, who must be
    // able to read (and, for uploads, write) there.
    let _ = Command::new("chmod").arg("777").arg(root).status();
    for _ in 0..5 {
        let port = free_udp_port();
        let child = Command::new(exe)
            .args(["-L", "-s", "-c", "-p", "-u", "tftp", "-a", &format!("127.0.0.1:{port}")])
            .arg(root)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{exe}: {e}"));
        std::thread::sleep(Duration::from_millis(200));
        let mut server = Tftpd { child, port };
        if matches!(server.child.try_wait(), Ok(None)) {
            return server;
        }
        drop(server.child.kill());
    }
    panic!("tftpd-hpa did not start");
}

fn world_readable(path: &Path) {
    let _ = Command::new("chmod").arg("666").arg(path).status();
}

#[test]
fn our_client_interoperates_with_tftpd_hpa() {
    let root = tempdir();
    let work = tempdir();
    let data = random_bytes(1_000_000, 21);
    write(&root.path().join("hpa.bin"), &data);
    world_readable(&root.path().join("hpa.bin"));
    let server = tftpd(root.path());
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
    let root = tempdir();
    let work = tempdir();
    write(&root.path().join("ours.bin"), &random_bytes(700_000, 31));
    let server = our_server(root.path(), &[]);
    let copy = work.path().join("by-tftp");
    let status = Command::new("tftp")
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
    let status = Command::new("curl")
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
    let relays: Vec<LossyRelay> = (0..TRANSFERS)
        .map(|i| LossyRelay::start(server.port, 10, 7_000 + i as u64))
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
        wait_for(&copy);
        assert_eq!(sha256(&copy), sha256(&original), "transfer {i} is not exact");
    }
    drop(relays);
}
