//! Script bindings for sockets: `socket(...)`, its methods, and the
//! `recvfrom`/`accept` results.

use rhai::plugin::*;
use rhai::{Array, Blob, Dynamic, INT};

use crate::error::ScriptError;
use crate::net::{Endpoint, Kind, Socket, Target, addr};

/// The largest `recv`/`recvfrom` size: bigger asks are almost always a
/// typo, and each call allocates that much.
pub const MAX_RECV: usize = 64 * 1024 * 1024;

/// An address as scripts see it: `["127.0.0.1", 9999]` like Python's
/// tuple, or a path for Unix sockets.
pub fn endpoint_to_dynamic(endpoint: &Endpoint) -> Dynamic {
    match endpoint {
        Endpoint::Inet(addr) => {
            let pair: Array = vec![addr.ip().to_string().into(), INT::from(addr.port()).into()];
            pair.into()
        }
        Endpoint::Path(path) => path.clone().into(),
    }
}

/// Reads an address argument: `"host:port"`, `[host, port]`, or a path
/// for a Unix socket.
pub fn target_from_dynamic(sock: &Socket, value: &Dynamic) -> Result<Target, ScriptError> {
    if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
        return Ok(if sock.kind() == Kind::Unix {
            Target::Path(text.to_string())
        } else {
            Target::Inet(addr::parse(&text)?)
        });
    }
    if let Some(pair) = value.read_lock::<Array>() {
        if let [host, port] = pair.as_slice() {
            let host = host.read_lock::<rhai::ImmutableString>().map(|h| h.to_string());
            let port = port.as_int().ok();
            if let (Some(host), Some(port)) = (host, port) {
                return Ok(Target::Inet(addr::HostPort {
                    host,
                    port: addr::port(port)?,
                }));
            }
        }
        return Err(
            ScriptError::type_error(format!("bad address {pair:?}: expected [host, port]"))
                .hint("for example [\"127.0.0.1\", 9999]: a string and a number"),
        );
    }
    Err(
        ScriptError::type_error(format!("an address cannot be {}", super::show::a_type(value)))
            .hint("write \"127.0.0.1:9999\" or [\"127.0.0.1\", 9999]"),
    )
}

fn host_port(host: &str, port: INT) -> Result<Target, ScriptError> {
    Ok(Target::Inet(addr::HostPort {
        host: host.to_string(),
        port: addr::port(port)?,
    }))
}

fn recv_size(n: INT) -> Result<usize, ScriptError> {
    match usize::try_from(n) {
        Ok(n) if n <= MAX_RECV => Ok(n),
        _ => Err(ScriptError::value(format!("cannot receive {n} bytes at once"))
            .hint(format!("ask for between 0 and {MAX_RECV} bytes, e.g. s.recv(1024)"))),
    }
}

fn seconds(value: f64) -> Result<Option<std::time::Duration>, ScriptError> {
    crate::runtime::seconds(value).map(Some)
}

/// What `recvfrom` returns: the datagram and who sent it.
#[derive(Clone)]
pub struct Received {
    /// The bytes received.
    pub data: Blob,
    /// The address, `[host, port]` (a path for Unix sockets).
    pub addr: Dynamic,
}

impl std::fmt::Display for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recvfrom(data: {}, addr: {})",
            crate::package::text::bytes_repr(&self.data),
            self.addr
        )
    }
}

/// Script functions for sockets.
#[export_module]
pub mod socket_api {
    use super::*;

    /// A socket.
    pub type Socket = crate::net::Socket;
    /// What `recvfrom` returns.
    pub type Received = super::Received;

    /// Creates a TCP socket over IPv4, like Python's `socket.socket()`.
    ///
    /// ```rhai
    /// let s = socket();
    /// s.connect("127.0.0.1:8000");
    /// ```
    #[rhai_fn(name = "socket", return_raw)]
    pub fn socket_tcp() -> Result<Socket, Box<EvalAltResult>> {
        Ok(Socket::new(Kind::Tcp)?)
    }

    /// Creates a socket of the named kind: `"tcp"`, `"udp"`, `"tcp6"`,
    /// `"udp6"` or `"unix"`.
    ///
    /// ```rhai
    /// let s = socket("udp");
    /// s.bind("127.0.0.1:9999");
    /// ```
    #[rhai_fn(name = "socket", return_raw)]
    pub fn socket_kind(kind: &str) -> Result<Socket, Box<EvalAltResult>> {
        Ok(Socket::new(Kind::from_name(kind)?)?)
    }

    /// Creates a socket from Python's constants, e.g.
    /// `socket(AF_INET, SOCK_DGRAM)` for UDP.
    ///
    /// ```rhai
    /// let s = socket(AF_INET6, SOCK_STREAM);
    /// ```
    #[rhai_fn(name = "socket", return_raw)]
    pub fn socket_constants(family: INT, sock_type: INT) -> Result<Socket, Box<EvalAltResult>> {
        Ok(Socket::new(Kind::from_constants(family, sock_type)?)?)
    }

    /// Binds the socket to a local address: `"host:port"`, `[host, port]`
    /// or a path for Unix sockets. Host `""` means every interface; port 0
    /// lets the system choose.
    ///
    /// ```rhai
    /// s.bind("127.0.0.1:0");
    /// print(s.getsockname());
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn bind(sock: &mut Socket, addr: Dynamic) -> Result<(), Box<EvalAltResult>> {
        let target = target_from_dynamic(sock, &addr)?;
        Ok(sock.bind(&target)?)
    }

    /// Binds to `host` and `port` given separately.
    ///
    /// ```rhai
    /// s.bind("", 9999);
    /// ```
    #[rhai_fn(global, name = "bind", return_raw, pure)]
    pub fn bind_host_port(sock: &mut Socket, host: &str, port: INT) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.bind(&host_port(host, port)?)?)
    }

    /// Starts accepting connections on a bound TCP or Unix socket, with
    /// the system's default queue of waiting clients.
    ///
    /// ```rhai
    /// s.bind("127.0.0.1:8000");
    /// s.listen();
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn listen(sock: &mut Socket) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.listen(INT::from(libc::SOMAXCONN))?)
    }

    /// Starts accepting connections, with at most `backlog` clients
    /// waiting to be accepted.
    ///
    /// ```rhai
    /// s.listen(5);
    /// ```
    #[rhai_fn(global, name = "listen", return_raw, pure)]
    pub fn listen_backlog(sock: &mut Socket, backlog: INT) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.listen(backlog)?)
    }

    /// Waits for a client and returns the connected socket, ready for
    /// `recv`, `send` and `close`. As in Python's `conn, addr =
    /// s.accept()`, it also has `.conn` (itself) and `.addr` (the client's
    /// `[host, port]`), or `[0]` and `[1]`.
    ///
    /// ```rhai
    /// let c = server.accept();
    /// print(c.addr);
    /// c.send("hello");
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn accept(sock: &mut Socket) -> Result<Socket, Box<EvalAltResult>> {
        Ok(sock.accept()?.0)
    }

    /// Connects to a server at `"host:port"`, `[host, port]` or a Unix path.
    ///
    /// ```rhai
    /// let s = socket();
    /// s.connect("127.0.0.1:8000");
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn connect(sock: &mut Socket, addr: Dynamic) -> Result<(), Box<EvalAltResult>> {
        let target = target_from_dynamic(sock, &addr)?;
        Ok(sock.connect(&target)?)
    }

    /// Connects to `host` and `port` given separately.
    ///
    /// ```rhai
    /// s.connect("127.0.0.1", 8000);
    /// ```
    #[rhai_fn(global, name = "connect", return_raw, pure)]
    pub fn connect_host_port(sock: &mut Socket, host: &str, port: INT) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.connect(&host_port(host, port)?)?)
    }

    /// Sends bytes on a connected socket; returns how many were taken
    /// (possibly fewer than given: use `sendall` to send everything).
    ///
    /// ```rhai
    /// s.send("hello".encode());
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn send(sock: &mut Socket, data: Blob) -> Result<INT, Box<EvalAltResult>> {
        let sent = sock.send(&data)?;
        Ok(INT::try_from(sent).unwrap_or(INT::MAX))
    }

    /// Sends a string as UTF-8 bytes on a connected socket.
    ///
    /// ```rhai
    /// s.send("hello");
    /// ```
    #[rhai_fn(global, name = "send", return_raw, pure)]
    pub fn send_str(sock: &mut Socket, data: &str) -> Result<INT, Box<EvalAltResult>> {
        let sent = sock.send(data.as_bytes())?;
        Ok(INT::try_from(sent).unwrap_or(INT::MAX))
    }

    /// Sends every byte, waiting for room as often as needed.
    ///
    /// ```rhai
    /// s.sendall(blob(100000, 0x41));
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn sendall(sock: &mut Socket, data: Blob) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.sendall(&data)?)
    }

    /// Sends a whole string as UTF-8.
    ///
    /// ```rhai
    /// s.sendall("GET / HTTP/1.0\r\n\r\n");
    /// ```
    #[rhai_fn(global, name = "sendall", return_raw, pure)]
    pub fn sendall_str(sock: &mut Socket, data: &str) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.sendall(data.as_bytes())?)
    }

    /// Sends one datagram to an address; returns the bytes sent.
    ///
    /// ```rhai
    /// let s = socket("udp");
    /// s.sendto("hi".encode(), "127.0.0.1:9999");
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn sendto(sock: &mut Socket, data: Blob, addr: Dynamic) -> Result<INT, Box<EvalAltResult>> {
        let target = target_from_dynamic(sock, &addr)?;
        let sent = sock.sendto(&data, &target)?;
        Ok(INT::try_from(sent).unwrap_or(INT::MAX))
    }

    /// Sends a string as one UTF-8 datagram to an address.
    ///
    /// ```rhai
    /// s.sendto("hi", ["127.0.0.1", 9999]);
    /// ```
    #[rhai_fn(global, name = "sendto", return_raw, pure)]
    pub fn sendto_str(sock: &mut Socket, data: &str, addr: Dynamic) -> Result<INT, Box<EvalAltResult>> {
        let target = target_from_dynamic(sock, &addr)?;
        let sent = sock.sendto(data.as_bytes(), &target)?;
        Ok(INT::try_from(sent).unwrap_or(INT::MAX))
    }

    /// Receives up to `n` bytes as a blob; an empty blob means the peer
    /// closed the connection.
    ///
    /// ```rhai
    /// let data = conn.recv(1024);
    /// if data.len() == 0 { print("peer closed"); }
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn recv(sock: &mut Socket, n: INT) -> Result<Blob, Box<EvalAltResult>> {
        Ok(sock.recv(recv_size(n)?)?)
    }

    /// Receives one datagram of up to `n` bytes. The result has `.data`
    /// (a blob) and `.addr` (the sender, which `sendto` accepts).
    ///
    /// ```rhai
    /// let m = s.recvfrom(1024);
    /// s.sendto(m.data, m.addr);
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn recvfrom(sock: &mut Socket, n: INT) -> Result<Received, Box<EvalAltResult>> {
        let (data, from) = sock.recvfrom(recv_size(n)?)?;
        Ok(Received {
            data,
            addr: endpoint_to_dynamic(&from),
        })
    }

    /// Closes the socket. Closing twice does nothing.
    ///
    /// ```rhai
    /// s.close();
    /// ```
    #[rhai_fn(global, pure)]
    pub fn close(sock: &mut Socket) {
        sock.close();
    }

    /// Stops reading (`SHUT_RD`), writing (`SHUT_WR`, the peer then reads
    /// end-of-stream) or both (`SHUT_RDWR`).
    ///
    /// ```rhai
    /// s.shutdown(SHUT_WR);
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn shutdown(sock: &mut Socket, how: INT) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.shutdown(crate::net::socket::shutdown_how(how)?)?)
    }

    /// Sets a socket option, e.g. `setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`
    /// before `bind`, or `SO_BROADCAST` before sending to `"<broadcast>"`.
    ///
    /// ```rhai
    /// s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn setsockopt(sock: &mut Socket, level: INT, option: INT, value: INT) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.setsockopt(level, option, value)?)
    }

    /// Sets a yes/no socket option with `true`/`false`.
    ///
    /// ```rhai
    /// s.setsockopt(SOL_SOCKET, SO_BROADCAST, true);
    /// ```
    #[rhai_fn(global, name = "setsockopt", return_raw, pure)]
    pub fn setsockopt_bool(sock: &mut Socket, level: INT, option: INT, value: bool) -> Result<(), Box<EvalAltResult>> {
        Ok(sock.setsockopt(level, option, INT::from(value))?)
    }

    /// Reads a socket option as a number.
    ///
    /// ```rhai
    /// print(s.getsockopt(SOL_SOCKET, SO_RCVBUF));
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn getsockopt(sock: &mut Socket, level: INT, option: INT) -> Result<INT, Box<EvalAltResult>> {
        Ok(sock.getsockopt(level, option)?)
    }

    /// Makes blocking calls give up with `TimeoutError` after `secs`
    /// seconds; 0 makes them non-blocking.
    ///
    /// ```rhai
    /// s.settimeout(2);
    /// try { s.recv(10); } catch (e) { print(e); }
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn settimeout(sock: &mut Socket, secs: INT) -> Result<(), Box<EvalAltResult>> {
        sock.settimeout(seconds(secs as f64)?);
        Ok(())
    }

    /// Sets the timeout in fractional seconds.
    ///
    /// ```rhai
    /// s.settimeout(0.5);
    /// ```
    #[rhai_fn(global, name = "settimeout", return_raw, pure)]
    pub fn settimeout_float(sock: &mut Socket, secs: rhai::FLOAT) -> Result<(), Box<EvalAltResult>> {
        sock.settimeout(seconds(secs)?);
        Ok(())
    }

    /// `settimeout(())` makes calls block without limit again (Python's
    /// `settimeout(None)`).
    ///
    /// ```rhai
    /// s.settimeout(());
    /// ```
    #[rhai_fn(global, name = "settimeout", pure)]
    pub fn settimeout_none(sock: &mut Socket, _none: ()) {
        sock.settimeout(None);
    }

    /// The timeout in seconds, or `()` when calls block without limit.
    ///
    /// ```rhai
    /// print(s.gettimeout());
    /// ```
    #[rhai_fn(global, pure)]
    pub fn gettimeout(sock: &mut Socket) -> Dynamic {
        sock.gettimeout()
            .map_or(Dynamic::UNIT, |t| Dynamic::from_float(t.as_secs_f64()))
    }

    /// `setblocking(false)` is `settimeout(0)`; `setblocking(true)` is
    /// `settimeout(())`.
    ///
    /// ```rhai
    /// s.setblocking(false);
    /// ```
    #[rhai_fn(global, pure)]
    pub fn setblocking(sock: &mut Socket, blocking: bool) {
        sock.settimeout(if blocking {
            None
        } else {
            Some(std::time::Duration::ZERO)
        });
    }

    /// The local address as `[host, port]` (a path for Unix sockets).
    ///
    /// ```rhai
    /// s.bind("127.0.0.1:0");
    /// let port = s.getsockname()[1];
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn getsockname(sock: &mut Socket) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(endpoint_to_dynamic(&sock.getsockname()?))
    }

    /// The connected peer's address as `[host, port]`.
    ///
    /// ```rhai
    /// print(conn.getpeername());
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn getpeername(sock: &mut Socket) -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(endpoint_to_dynamic(&sock.getpeername()?))
    }

    /// The operating system's file descriptor number, -1 once closed.
    ///
    /// ```rhai
    /// print(s.fileno());
    /// ```
    #[rhai_fn(global, pure)]
    pub fn fileno(sock: &mut Socket) -> INT {
        sock.fileno()
    }

    /// `"tcp"`, `"udp"`, `"tcp6"`, `"udp6"` or `"unix"`.
    #[rhai_fn(global, get = "kind", pure)]
    pub fn kind(sock: &mut Socket) -> String {
        sock.kind().name().to_string()
    }

    /// True once `close()` has been called.
    #[rhai_fn(global, get = "closed", pure)]
    pub fn closed(sock: &mut Socket) -> bool {
        sock.is_closed()
    }

    /// How a socket prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn socket_to_string(sock: &mut Socket) -> String {
        sock.to_string()
    }

    /// True for two handles of one socket.
    #[rhai_fn(global, name = "==", pure)]
    pub fn socket_eq(a: &mut Socket, b: Socket) -> bool {
        a.id() == b.id()
    }

    /// The received bytes.
    #[rhai_fn(global, get = "data", pure)]
    pub fn received_data(m: &mut Received) -> Blob {
        m.data.clone()
    }

    /// The sender's address, ready to pass to `sendto`.
    #[rhai_fn(global, get = "addr", pure)]
    pub fn received_addr(m: &mut Received) -> Dynamic {
        m.addr.clone()
    }

    /// `m[0]` is the data and `m[1]` the address, as in Python's pair.
    #[rhai_fn(global, index_get, return_raw, pure)]
    pub fn received_index(m: &mut Received, index: INT) -> Result<Dynamic, Box<EvalAltResult>> {
        match index {
            0 => Ok(Dynamic::from_blob(m.data.clone())),
            1 => Ok(m.addr.clone()),
            _ => Err(ScriptError::new(
                "IndexError",
                format!("recvfrom result has [0] data and [1] addr, not [{index}]"),
            )
            .into()),
        }
    }

    /// How a `recvfrom` result prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn received_to_string(m: &mut Received) -> String {
        m.to_string()
    }

    /// The socket itself: `s.accept().conn` reads like Python's
    /// `conn, addr = s.accept()`.
    #[rhai_fn(global, get = "conn", pure)]
    pub fn socket_conn(sock: &mut Socket) -> Socket {
        sock.clone()
    }

    /// The client's `[host, port]`, for a socket `accept` returned (the
    /// peer's address for any other connected socket).
    #[rhai_fn(global, get = "addr", return_raw, pure)]
    pub fn socket_addr(sock: &mut Socket) -> Result<Dynamic, Box<EvalAltResult>> {
        match sock.accepted_from() {
            Some(peer) => Ok(endpoint_to_dynamic(&peer)),
            None => Ok(endpoint_to_dynamic(&sock.getpeername()?)),
        }
    }

    /// `c[0]` is the connection and `c[1]` the client's address, as in
    /// Python's pair.
    #[rhai_fn(global, index_get, return_raw, pure)]
    pub fn socket_index(sock: &mut Socket, index: INT) -> Result<Dynamic, Box<EvalAltResult>> {
        match index {
            0 => Ok(Dynamic::from(sock.clone())),
            1 => socket_addr(sock),
            _ => Err(ScriptError::new(
                "IndexError",
                format!("accept's result has [0] the connection and [1] the address, not [{index}]"),
            )
            .into()),
        }
    }

    /// This machine's host name.
    ///
    /// ```rhai
    /// print(gethostname());
    /// ```
    pub fn gethostname() -> String {
        gethostname::gethostname().to_string_lossy().into_owned()
    }

    /// The IPv4 address of a host name, as text.
    ///
    /// ```rhai
    /// print(gethostbyname("localhost"));   // 127.0.0.1
    /// ```
    #[rhai_fn(return_raw)]
    pub fn gethostbyname(name: &str) -> Result<String, Box<EvalAltResult>> {
        let target = addr::HostPort {
            host: name.to_string(),
            port: 0,
        };
        Ok(addr::resolve(&target, addr::IpFamily::V4)?.ip().to_string())
    }
}
