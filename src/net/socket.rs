//! One socket type for TCP, UDP and Unix, shaped like Python's.
//!
//! A [`Socket`] wraps a non-blocking OS socket (socket2). Each call first
//! tries the system call directly, which is all a ready socket needs, and
//! only when it would block does it wait on the script's own thread
//! ([`wait_fd`]) until the socket is ready, its timeout passes, or the
//! script is cancelled. Keeping one raw socket, rather than separate tokio listener,
//! stream and datagram types, lets the object follow Python's life cycle:
//! create, set options, bind, then listen/connect, in any order Python
//! allows.
//!
//! Handles are cheap clones of one shared socket, so a socket can be passed
//! to a task; the file descriptor closes on `close()` or when the last
//! handle is dropped.
//!
//! Each session has its own [`Net`]: the table of its open sockets (for
//! `:sockets`, and so that ending or resetting a session closes them) and
//! its address policy. A socket is registered in the `Net` of the session
//! that made it, and an accepted connection in its listener's.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::Duration;

use socket2::{Domain, SockAddr, Type};

use super::addr::{self, HostPort, IpFamily};
use super::policy::{Action, AddressPolicy};
use super::trace::{self, Event, Tracer};
use crate::error::{Result, ScriptError};
use crate::runtime::poll::{Ready, wait_fd};
use crate::runtime::{self, Deadline, context};

/// What kind of socket: the transport and the address family together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TCP over IPv4.
    Tcp,
    /// UDP over IPv4.
    Udp,
    /// TCP over IPv6.
    Tcp6,
    /// UDP over IPv6.
    Udp6,
    /// A Unix stream socket.
    Unix,
}

impl Kind {
    /// Parses the names scripts use: `tcp`, `udp`, `tcp6`, `udp6`, `unix`.
    pub fn from_name(name: &str) -> Result<Kind> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "tcp" | "tcp4" => Kind::Tcp,
            "udp" | "udp4" => Kind::Udp,
            "tcp6" => Kind::Tcp6,
            "udp6" => Kind::Udp6,
            "unix" => Kind::Unix,
            _ => {
                return Err(ScriptError::value(format!("unknown socket kind {name:?}"))
                    .hint("use socket(), socket(\"udp\"), socket(\"tcp6\"), socket(\"udp6\") or socket(\"unix\")"));
            }
        })
    }

    /// Maps Python's `(family, type)` constants to a kind.
    pub fn from_constants(family: i64, sock_type: i64) -> Result<Kind> {
        let stream = i64::from(libc::SOCK_STREAM);
        let dgram = i64::from(libc::SOCK_DGRAM);
        Ok(match (family, sock_type) {
            (f, t) if f == i64::from(libc::AF_INET) && t == stream => Kind::Tcp,
            (f, t) if f == i64::from(libc::AF_INET) && t == dgram => Kind::Udp,
            (f, t) if f == i64::from(libc::AF_INET6) && t == stream => Kind::Tcp6,
            (f, t) if f == i64::from(libc::AF_INET6) && t == dgram => Kind::Udp6,
            (f, t) if f == i64::from(libc::AF_UNIX) && t == stream => Kind::Unix,
            _ => {
                return Err(
                    ScriptError::value(format!("unsupported socket family/type pair ({family}, {sock_type})"))
                        .hint("use AF_INET or AF_INET6 with SOCK_STREAM or SOCK_DGRAM, or AF_UNIX with SOCK_STREAM"),
                );
            }
        })
    }

    /// The name scripts use for this kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Udp => "udp",
            Kind::Tcp6 => "tcp6",
            Kind::Udp6 => "udp6",
            Kind::Unix => "unix",
        }
    }

    fn is_stream(self) -> bool {
        matches!(self, Kind::Tcp | Kind::Tcp6 | Kind::Unix)
    }

    fn ip_family(self) -> Option<IpFamily> {
        match self {
            Kind::Tcp | Kind::Udp => Some(IpFamily::V4),
            Kind::Tcp6 | Kind::Udp6 => Some(IpFamily::V6),
            Kind::Unix => None,
        }
    }
}

/// Where to bind, connect or send: a host and port, or a Unix path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host and port.
    Inet(HostPort),
    /// A Unix socket path.
    Path(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Inet(hp) => hp.fmt(f),
            Target::Path(path) => f.write_str(path),
        }
    }
}

/// An address the system reports (of the local end, the peer, a sender),
/// and what an address policy is asked about.
///
/// ```
/// let endpoint = sockrepl::Endpoint::Inet("127.0.0.1:9".parse().unwrap());
/// assert_eq!(endpoint.to_string(), "127.0.0.1:9");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An IP address and port.
    Inet(SocketAddr),
    /// A Unix socket path; empty for an unnamed socket.
    Path(String),
}

impl Endpoint {
    fn from_sockaddr(addr: &SockAddr) -> Endpoint {
        match addr.as_socket() {
            Some(inet) => Endpoint::Inet(inet),
            None => Endpoint::Path(addr.as_pathname().map(|p| p.display().to_string()).unwrap_or_default()),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Inet(addr) => addr.fmt(f),
            Endpoint::Path(path) if path.is_empty() => f.write_str("unnamed"),
            Endpoint::Path(path) => f.write_str(path),
        }
    }
}

/// Python's `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`.
pub fn shutdown_how(how: i64) -> Result<Shutdown> {
    match i32::try_from(how) {
        Ok(libc::SHUT_RD) => Ok(Shutdown::Read),
        Ok(libc::SHUT_WR) => Ok(Shutdown::Write),
        Ok(libc::SHUT_RDWR) => Ok(Shutdown::Both),
        _ => {
            Err(ScriptError::value(format!("shutdown({how}): unknown direction"))
                .hint("use SHUT_RD, SHUT_WR or SHUT_RDWR"))
        }
    }
}

/// A session's sockets, address policy and tracer.
#[derive(Default)]
pub struct Net {
    open: Mutex<HashMap<u64, Weak<Shared>>>,
    policy: RwLock<Option<AddressPolicy>>,
    /// Records socket events when the session traces.
    pub tracer: Tracer,
}

impl Net {
    /// The calling task's session's `Net`.
    pub fn current() -> Arc<Net> {
        context::with_current(|task| task.session().service::<Net>())
    }

    /// Restricts the addresses this session's scripts may use.
    pub fn set_policy(&self, policy: Option<AddressPolicy>) {
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// Asks the policy about `action` on `endpoint`.
    fn check(&self, action: Action, endpoint: &Endpoint) -> Result<()> {
        let policy = self.policy.read().unwrap_or_else(|p| p.into_inner()).clone();
        match policy {
            Some(policy) => super::policy::check(&policy, action, endpoint),
            None => Ok(()),
        }
    }

    fn register(&self, shared: &Arc<Shared>) {
        runtime::context::guard(&self.open).insert(shared.id, Arc::downgrade(shared));
    }

    fn forget(&self, id: u64) {
        runtime::context::guard(&self.open).remove(&id);
    }

    /// The sockets that are still open, oldest first.
    pub fn open_sockets(&self) -> Vec<Socket> {
        let mut found: Vec<Socket> = runtime::context::guard(&self.open)
            .values()
            .filter_map(Weak::upgrade)
            .map(|shared| Socket { shared })
            .filter(|s| !s.is_closed())
            .collect();
        found.sort_by_key(Socket::id);
        found
    }

    /// Closes every open socket (the end of a session, `:reset`).
    pub fn close_all(&self) {
        for socket in self.open_sockets() {
            socket.close();
        }
    }
}

/// A socket shared by every handle that refers to it.
#[derive(Clone)]
pub struct Socket {
    shared: Arc<Shared>,
}

struct Shared {
    id: u64,
    kind: Kind,
    net: Arc<Net>,
    state: Mutex<State>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.net.forget(self.id);
        // The last handle going away closes the socket: a trace shows it.
        if self.net.tracer.on() {
            let fd = self.state.get_mut().map_or(None, |state| state.fd.take());
            if let Some(fd) = fd {
                let local = fd.local_addr().ok().map(|a| Endpoint::from_sockaddr(&a).to_string());
                let peer = fd.peer_addr().ok().map(|a| Endpoint::from_sockaddr(&a).to_string());
                self.net.tracer.record(|t, task| Event {
                    t,
                    task,
                    tid: 0,
                    sock: self.id,
                    kind: self.kind.name().to_string(),
                    op: "close".into(),
                    local,
                    peer,
                    size: None,
                    head: String::new(),
                    error: None,
                });
            }
        }
    }
}

struct State {
    /// `None` once closed.
    fd: Option<Arc<socket2::Socket>>,
    /// The client's address, for a socket that `accept` returned.
    accepted_from: Option<Endpoint>,
    /// `None` blocks forever, zero is non-blocking, as in Python.
    timeout: Option<Duration>,
    listening: bool,
    /// Connected once (by `connect`, or as a socket `accept` returned):
    /// an EPIPE then means the peer went away, not "never connected".
    was_connected: bool,
}

/// Socket ids are unique in the process (they name a socket in `:sockets`
/// and in traces); they carry no state.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Socket {
    /// Creates an unbound socket of `kind`.
    pub fn new(kind: Kind) -> Result<Socket> {
        let (domain, ty) = match kind {
            Kind::Tcp => (Domain::IPV4, Type::STREAM),
            Kind::Udp => (Domain::IPV4, Type::DGRAM),
            Kind::Tcp6 => (Domain::IPV6, Type::STREAM),
            Kind::Udp6 => (Domain::IPV6, Type::DGRAM),
            Kind::Unix => (Domain::UNIX, Type::STREAM),
        };
        let sock = socket2::Socket::new(domain, ty, None).map_err(|e| ScriptError::os(&e, "socket()"))?;
        if matches!(kind, Kind::Tcp6 | Kind::Udp6) {
            // An IPv6 socket that also took IPv4 traffic would confuse
            // lessons about address families; Python's default varies.
            sock.set_only_v6(true).map_err(|e| ScriptError::os(&e, "socket()"))?;
        }
        Self::wrap(kind, sock, false, Net::current())
    }

    fn wrap(kind: Kind, sock: socket2::Socket, listening: bool, net: Arc<Net>) -> Result<Socket> {
        sock.set_nonblocking(true)
            .map_err(|e| ScriptError::os(&e, "socket()"))?;
        // An accepted socket, or a connected one a child inherited.
        let was_connected = sock.peer_addr().is_ok();
        let fd = Arc::new(sock);
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            kind,
            net,
            state: Mutex::new(State {
                fd: Some(fd),
                accepted_from: None,
                timeout: None,
                listening,
                was_connected,
            }),
        });
        shared.net.register(&shared);
        Ok(Socket { shared })
    }

    /// A number that names this socket for as long as the process lives.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The socket's kind.
    pub fn kind(&self) -> Kind {
        self.shared.kind
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked while holding
        // it; the state itself is always consistent.
        self.shared.state.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn open_fd(&self) -> Result<(Arc<socket2::Socket>, Option<Duration>)> {
        let state = self.state();
        match &state.fd {
            Some(fd) => Ok((fd.clone(), state.timeout)),
            None => Err(ScriptError::new("OSError", "[Errno 9] Bad file descriptor")
                .hint("this socket has been closed; create a new socket")),
        }
    }

    fn sockaddr(&self, target: &Target) -> Result<SockAddr> {
        match (target, self.kind().ip_family()) {
            (Target::Inet(hp), Some(family)) => Ok(SockAddr::from(addr::resolve(hp, family)?)),
            (Target::Path(path), None) => {
                SockAddr::unix(path).map_err(|e| ScriptError::os(&e, &format!("address {path:?}")))
            }
            (Target::Path(path), Some(_)) => Err(ScriptError::value(format!("{path:?} is not a host:port address"))
                .hint("write \"127.0.0.1:9999\" or [\"127.0.0.1\", 9999]")),
            (Target::Inet(hp), None) => Err(ScriptError::value(format!("a Unix socket needs a file path, not {hp}"))
                .hint("for example s.bind(\"/tmp/demo.sock\")")),
        }
    }

    /// Runs `op` now, and while it would block, again each time the socket
    /// becomes ready, within the socket's timeout.
    fn io<R>(
        &self,
        ready: Ready,
        doing: impl Fn() -> String,
        op: impl FnMut(&socket2::Socket) -> io::Result<R>,
    ) -> Result<R> {
        let (_, timeout) = self.open_fd()?;
        self.io_until(ready, Deadline::after(timeout), doing, op)
    }

    /// [`Self::io`] with a deadline the caller computed, so that one call
    /// made of several system calls (`sendall`) has one time limit.
    fn io_until<R>(
        &self,
        ready: Ready,
        deadline: Deadline,
        doing: impl Fn() -> String,
        mut op: impl FnMut(&socket2::Socket) -> io::Result<R>,
    ) -> Result<R> {
        let (sock, timeout) = self.open_fd()?;
        let mut waited = false;
        loop {
            match op(&sock) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
                done => return done.map_err(|e| self.explain(&e, &doing())),
            }
            if timeout == Some(Duration::ZERO) {
                let e = io::Error::from_raw_os_error(libc::EAGAIN);
                return Err(ScriptError::os(&e, &doing()));
            }
            if deadline.passed() {
                return Err(ScriptError::timed_out());
            }
            if !waited && spin_until_ready(&sock, ready) {
                waited = true;
                continue;
            }
            if waited {
                wait_fd(sock.as_raw_fd(), ready, deadline)?;
            } else {
                // Name the wait for `:tasks` only when there is one.
                let _blocked =
                    context::blocked_on(|| match sock.local_addr().ok().map(|a| Endpoint::from_sockaddr(&a)) {
                        Some(local) => format!("{} on {local}", doing()),
                        None => doing(),
                    });
                wait_fd(sock.as_raw_fd(), ready, deadline)?;
                waited = true;
            }
        }
    }

    /// Turns an OS error into a script error, replacing Linux's EPIPE for
    /// a never-connected TCP socket with the clearer "not connected" (after
    /// a reset the socket has no peer either, but there EPIPE is right:
    /// Python's BrokenPipeError).
    fn explain(&self, err: &io::Error, doing: &str) -> ScriptError {
        let never_connected = { !self.state().was_connected };
        if err.raw_os_error() == Some(libc::EPIPE) && self.kind().is_stream() && never_connected {
            return ScriptError::os(&io::Error::from_raw_os_error(libc::ENOTCONN), doing);
        }
        ScriptError::os(err, doing)
    }

    /// Records an event if the session traces (see [`super::trace`]).
    fn trace(&self, op: &str, peer: Option<String>, data: Option<&[u8]>, error: Option<&ScriptError>) {
        let tracer = &self.shared.net.tracer;
        if !tracer.on() {
            return;
        }
        let local = self.getsockname().ok().map(|e| e.to_string());
        let peer = peer.or_else(|| self.getpeername().ok().map(|e| e.to_string()));
        tracer.record(|t, task| Event {
            t,
            task,
            tid: 0,
            sock: self.id(),
            kind: self.kind().name().to_string(),
            op: op.to_string(),
            local,
            peer,
            size: data.map(<[u8]>::len),
            head: data.map(trace::head).unwrap_or_default(),
            error: error.map(|e| format!("{}: {}", e.class, e.message)),
        });
    }

    /// Records how `result` ended for `op`: `done` records a success.
    fn traced<R>(&self, op: &str, result: Result<R>, done: impl FnOnce(&R)) -> Result<R> {
        if self.shared.net.tracer.on() {
            match &result {
                Ok(value) => done(value),
                Err(err) => self.trace(op, None, None, Some(err)),
            }
        }
        result
    }

    /// Binds to a local address.
    pub fn bind(&self, target: &Target) -> Result<()> {
        let result = self.bind_untraced(target);
        self.traced("bind", result, |()| self.trace("bind", None, None, None))
    }

    /// Starts accepting connections, with at most `backlog` waiting.
    pub fn listen(&self, backlog: i64) -> Result<()> {
        let result = self.listen_untraced(backlog);
        self.traced("listen", result, |()| self.trace("listen", None, None, None))
    }

    /// Waits for a connection; returns the connected socket and its peer.
    pub fn accept(&self) -> Result<(Socket, Endpoint)> {
        let result = self.accept_untraced();
        self.traced("accept", result, |(_, peer)| {
            self.trace("accept", Some(peer.to_string()), None, None)
        })
    }

    /// Connects to `target`, waiting within the timeout.
    pub fn connect(&self, target: &Target) -> Result<()> {
        let result = self.connect_untraced(target);
        if result.is_ok() {
            self.state().was_connected = true;
        }
        if let Err(err) = &result
            && self.shared.net.tracer.on()
        {
            self.trace("connect", Some(target.to_string()), None, Some(err));
            return result;
        }
        self.traced("connect", result, |()| self.trace("connect", None, None, None))
    }

    /// Sends what the kernel takes now; returns the count, as Python does.
    pub fn send(&self, data: &[u8]) -> Result<usize> {
        let result = self.send_untraced(data);
        self.traced("send", result, |&n| {
            self.trace("send", None, Some(&data[..n.min(data.len())]), None)
        })
    }

    /// Sends every byte, waiting as often as needed; the socket's timeout
    /// covers the whole call, as in Python 3.5 and later.
    pub fn sendall(&self, data: &[u8]) -> Result<()> {
        let result = self.sendall_untraced(data);
        self.traced("sendall", result, |()| self.trace("sendall", None, Some(data), None))
    }

    /// Sends one datagram to `target`.
    pub fn sendto(&self, data: &[u8], target: &Target) -> Result<usize> {
        let result = self.sendto_untraced(data, target);
        let to = || {
            self.sockaddr(target)
                .ok()
                .map(|a| Endpoint::from_sockaddr(&a).to_string())
                .unwrap_or_else(|| target.to_string())
        };
        self.traced("sendto", result, |&n| {
            self.trace("sendto", Some(to()), Some(&data[..n.min(data.len())]), None)
        })
    }

    /// Receives at most `max` bytes; empty when a stream peer has closed.
    pub fn recv(&self, max: usize) -> Result<Vec<u8>> {
        let result = self.recv_untraced(max);
        self.traced("recv", result, |data| self.trace("recv", None, Some(data), None))
    }

    /// Receives one datagram (or stream chunk) and who sent it.
    pub fn recvfrom(&self, max: usize) -> Result<(Vec<u8>, Endpoint)> {
        let result = self.recvfrom_untraced(max);
        self.traced("recvfrom", result, |(data, from)| {
            self.trace("recvfrom", Some(from.to_string()), Some(data), None)
        })
    }

    /// Shuts down reading, writing or both.
    pub fn shutdown(&self, how: Shutdown) -> Result<()> {
        let result = self.shutdown_untraced(how);
        self.traced("shutdown", result, |()| self.trace("shutdown", None, None, None))
    }

    fn bind_untraced(&self, target: &Target) -> Result<()> {
        let addr = self.sockaddr(target)?;
        self.shared.net.check(Action::Bind, &Endpoint::from_sockaddr(&addr))?;
        let (fd, _) = self.open_fd()?;
        fd.bind(&addr)
            .map_err(|e| ScriptError::os(&e, &format!("bind to {target}")))
    }

    fn listen_untraced(&self, backlog: i64) -> Result<()> {
        if !self.kind().is_stream() {
            return Err(
                ScriptError::new("OSError", "[Errno 95] Operation not supported (listen on a UDP socket)")
                    .hint("UDP has no connections: bind() and then recvfrom() instead of listen()/accept()"),
            );
        }
        let backlog = i32::try_from(backlog.clamp(0, i64::from(libc::SOMAXCONN))).unwrap_or(libc::SOMAXCONN);
        let (fd, _) = self.open_fd()?;
        fd.listen(backlog).map_err(|e| ScriptError::os(&e, "listen"))?;
        self.state().listening = true;
        Ok(())
    }

    fn accept_untraced(&self) -> Result<(Socket, Endpoint)> {
        if !self.kind().is_stream() {
            return Err(
                ScriptError::new("OSError", "[Errno 95] Operation not supported (accept on a UDP socket)")
                    .hint("UDP has no connections: use recvfrom() to receive datagrams and their sender"),
            );
        }
        if !self.state().listening {
            return Err(
                ScriptError::new("OSError", "[Errno 22] Invalid argument (accept before listen)")
                    .hint("call s.listen() after bind() and before accept()"),
            );
        }
        let (conn, peer) = self.io(Ready::Read, || "accept".into(), |s| s.accept())?;
        let peer = Endpoint::from_sockaddr(&peer);
        let conn = Socket::wrap(self.kind(), conn, false, self.shared.net.clone())?;
        conn.state().accepted_from = Some(peer.clone());
        Ok((conn, peer))
    }

    fn connect_untraced(&self, target: &Target) -> Result<()> {
        let addr = self.sockaddr(target)?;
        self.shared
            .net
            .check(Action::Connect, &Endpoint::from_sockaddr(&addr))?;
        let doing = format!("connect to {target}");
        let (fd, timeout) = self.open_fd()?;
        match fd.connect(&addr) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) || e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(ScriptError::os(&e, &doing)),
        }
        if timeout == Some(Duration::ZERO) {
            // A non-blocking connect has started and goes on in the kernel,
            // as in Python: the socket becomes writable once connected.
            return Err(
                ScriptError::os(&io::Error::from_raw_os_error(libc::EINPROGRESS), &doing).hint(
                    "the socket is non-blocking: the connection goes on in the background; \
                       wait until it is writable, or settimeout(()) before connect to wait for it",
                ),
            );
        }
        let deadline = Deadline::after(timeout);
        context::with_current(|task| {
            task.blocked(|| doing.clone(), || wait_fd(fd.as_raw_fd(), Ready::Write, deadline))
        })?;
        match fd.take_error() {
            Ok(None) => Ok(()),
            Ok(Some(e)) | Err(e) => Err(ScriptError::os(&e, &doing)),
        }
    }

    fn check_can_transfer(&self, what: &str) -> Result<()> {
        if self.state().listening {
            return Err(ScriptError::new(
                "OSError",
                format!("[Errno 107] Transport endpoint is not connected ({what} on a listening socket)"),
            )
            .hint(format!(
                "a listening socket only accepts: call conn = s.accept().conn and {what} on conn"
            )));
        }
        Ok(())
    }

    fn send_untraced(&self, data: &[u8]) -> Result<usize> {
        self.check_can_transfer("send")?;
        self.io(
            Ready::Write,
            || "send".into(),
            |s| s.send_with_flags(data, libc::MSG_NOSIGNAL),
        )
    }

    fn sendall_untraced(&self, data: &[u8]) -> Result<()> {
        self.check_can_transfer("sendall")?;
        let (_, timeout) = self.open_fd()?;
        let deadline = Deadline::after(timeout);
        let mut sent = 0;
        while sent < data.len() {
            sent += self.io_until(
                Ready::Write,
                deadline,
                || "sendall".into(),
                |s| s.send_with_flags(&data[sent..], libc::MSG_NOSIGNAL),
            )?;
        }
        Ok(())
    }

    fn sendto_untraced(&self, data: &[u8], target: &Target) -> Result<usize> {
        let addr = self.sockaddr(target)?;
        self.shared.net.check(Action::SendTo, &Endpoint::from_sockaddr(&addr))?;
        self.io(
            Ready::Write,
            || format!("sendto {target}"),
            |s| s.send_to_with_flags(data, &addr, libc::MSG_NOSIGNAL),
        )
    }

    fn recv_untraced(&self, max: usize) -> Result<Vec<u8>> {
        self.check_can_transfer("recv")?;
        // The buffer exists only while a receive is attempted: a server
        // with many idle clients does not hold one per client.
        let buf = self.io(
            Ready::Read,
            || "recv".into(),
            |s| {
                let mut buf: Vec<u8> = Vec::with_capacity(max);
                let n = s.recv(buf.spare_capacity_mut())?;
                // SAFETY: recv reports that the kernel wrote `n` bytes into
                // the start of the spare capacity, so they are initialised.
                unsafe { buf.set_len(n) };
                Ok(buf)
            },
        )?;
        Ok(fit(buf))
    }

    fn recvfrom_untraced(&self, max: usize) -> Result<(Vec<u8>, Endpoint)> {
        self.check_can_transfer("recvfrom")?;
        let (buf, from) = self.io(
            Ready::Read,
            || "recvfrom".into(),
            |s| {
                let mut buf: Vec<u8> = Vec::with_capacity(max);
                let (n, from) = s.recv_from(buf.spare_capacity_mut())?;
                // SAFETY: recv_from reports that the kernel wrote `n` bytes
                // into the start of the spare capacity, so they are
                // initialised.
                unsafe { buf.set_len(n) };
                Ok((buf, from))
            },
        )?;
        let buf = fit(buf);
        let from = match from.as_socket() {
            Some(_) => Endpoint::from_sockaddr(&from),
            // Streams report no sender: the sender is the peer.
            None if self.kind().is_stream() => self.getpeername()?,
            None => Endpoint::from_sockaddr(&from),
        };
        Ok((buf, from))
    }

    fn shutdown_untraced(&self, how: Shutdown) -> Result<()> {
        let (fd, _) = self.open_fd()?;
        fd.shutdown(how).map_err(|e| ScriptError::os(&e, "shutdown"))
    }

    /// Closes the socket; closing twice is harmless, as in Python.
    pub fn close(&self) {
        if self.shared.net.tracer.on() && !self.is_closed() {
            self.trace("close", None, None, None);
        }
        let mut state = self.state();
        state.fd = None;
        state.listening = false;
        drop(state);
        self.shared.net.forget(self.id());
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.state().fd.is_none()
    }

    /// `None` blocks forever; zero makes every call non-blocking.
    pub fn settimeout(&self, timeout: Option<Duration>) {
        self.state().timeout = timeout;
    }

    /// The timeout; `None` blocks forever.
    pub fn gettimeout(&self) -> Option<Duration> {
        self.state().timeout
    }

    /// The local address.
    pub fn getsockname(&self) -> Result<Endpoint> {
        let (fd, _) = self.open_fd()?;
        let addr = fd.local_addr().map_err(|e| ScriptError::os(&e, "getsockname"))?;
        Ok(Endpoint::from_sockaddr(&addr))
    }

    /// The client's address, if `accept` returned this socket.
    pub fn accepted_from(&self) -> Option<Endpoint> {
        self.state().accepted_from.clone()
    }

    /// The connected peer's address.
    pub fn getpeername(&self) -> Result<Endpoint> {
        let (fd, _) = self.open_fd()?;
        let addr = fd.peer_addr().map_err(|e| ScriptError::os(&e, "getpeername"))?;
        Ok(Endpoint::from_sockaddr(&addr))
    }

    /// Python's `setsockopt(level, option, value)` for the options the
    /// course uses.
    pub fn setsockopt(&self, level: i64, option: i64, value: i64) -> Result<()> {
        let (fd, _) = self.open_fd()?;
        let s = &fd;
        let on = value != 0;
        let size = || {
            usize::try_from(value).map_err(|_| ScriptError::value(format!("buffer size {value} must not be negative")))
        };
        let done = match sockopt(level, option)? {
            SockOpt::ReuseAddr => s.set_reuse_address(on),
            SockOpt::ReusePort => s.set_reuse_port(on),
            SockOpt::Broadcast => s.set_broadcast(on),
            SockOpt::KeepAlive => s.set_keepalive(on),
            SockOpt::RecvBuf => s.set_recv_buffer_size(size()?),
            SockOpt::SendBuf => s.set_send_buffer_size(size()?),
            SockOpt::NoDelay => s.set_tcp_nodelay(on),
        };
        done.map_err(|e| ScriptError::os(&e, "setsockopt"))
    }

    /// Reads a socket option as a number.
    pub fn getsockopt(&self, level: i64, option: i64) -> Result<i64> {
        let (fd, _) = self.open_fd()?;
        let s = &fd;
        let flag = |r: io::Result<bool>| r.map(i64::from);
        let size = |r: io::Result<usize>| r.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let got = match sockopt(level, option)? {
            SockOpt::ReuseAddr => flag(s.reuse_address()),
            SockOpt::ReusePort => flag(s.reuse_port()),
            SockOpt::Broadcast => flag(s.broadcast()),
            SockOpt::KeepAlive => flag(s.keepalive()),
            SockOpt::RecvBuf => size(s.recv_buffer_size()),
            SockOpt::SendBuf => size(s.send_buffer_size()),
            SockOpt::NoDelay => flag(s.tcp_nodelay()),
        };
        got.map_err(|e| ScriptError::os(&e, "getsockopt"))
    }

    /// The descriptor and listening state, for a child process to inherit.
    pub fn inheritable(&self) -> Result<(RawFd, bool)> {
        let (fd, _) = self.open_fd()?;
        Ok((fd.as_raw_fd(), self.state().listening))
    }

    /// Adopts a socket descriptor inherited from the parent process.
    ///
    /// # Safety
    ///
    /// `raw` must be a descriptor this process owns and that nothing else
    /// will use or close: only process start-up, for the descriptors the
    /// parent handed over in the job, may call this.
    pub(crate) unsafe fn from_inherited(raw: RawFd, kind: Kind, listening: bool) -> Result<Socket> {
        // SAFETY: F_GETFD only reads descriptor flags; it fails for a
        // descriptor that is not open.
        if unsafe { libc::fcntl(raw, libc::F_GETFD) } == -1 {
            return Err(ScriptError::new(
                "OSError",
                format!("[Errno 9] Bad file descriptor {raw} from the parent process"),
            ));
        }
        // SAFETY: the caller guarantees this process owns the descriptor
        // and nothing else uses it; it is open (checked above).
        let sock = unsafe { <socket2::Socket as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        // Keep it from leaking into this process's own children.
        sock.set_cloexec(true)
            .map_err(|e| ScriptError::os(&e, "adopting a socket"))?;
        Self::wrap(kind, sock, listening, Net::current())
    }

    /// The OS file descriptor, or -1 once closed (Python's `fileno()`).
    pub fn fileno(&self) -> i64 {
        self.state().fd.as_ref().map_or(-1, |fd| i64::from(fd.as_raw_fd()))
    }
}

fn spin_until_ready(sock: &socket2::Socket, ready: Ready) -> bool {
    runtime::spin::until(|| poll_now(sock, ready))
}

fn poll_now(sock: &socket2::Socket, ready: Ready) -> bool {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: ready.events(),
        revents: 0,
    };
    // SAFETY: one valid pollfd and a zero timeout.
    unsafe { libc::poll(&mut pfd, 1, 0) > 0 }
}

enum SockOpt {
    ReuseAddr,
    ReusePort,
    Broadcast,
    KeepAlive,
    RecvBuf,
    SendBuf,
    NoDelay,
}

fn sockopt(level: i64, option: i64) -> Result<SockOpt> {
    let (Ok(level), Ok(option)) = (i32::try_from(level), i32::try_from(option)) else {
        return Err(unsupported(level, option));
    };
    Ok(match (level, option) {
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => SockOpt::ReuseAddr,
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => SockOpt::ReusePort,
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => SockOpt::Broadcast,
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => SockOpt::KeepAlive,
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => SockOpt::RecvBuf,
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => SockOpt::SendBuf,
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => SockOpt::NoDelay,
        _ => return Err(unsupported(level.into(), option.into())),
    })
}

fn unsupported(level: i64, option: i64) -> ScriptError {
    ScriptError::value(format!("unsupported socket option ({level}, {option})")).hint(
        "supported: SOL_SOCKET with SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF; IPPROTO_TCP with TCP_NODELAY",
    )
}

impl fmt::Display for Socket {
    /// `<socket tcp 127.0.0.1:5000 listening>`, `<socket tcp
    /// 127.0.0.1:40000 -> 127.0.0.1:5000>`, `<socket udp unbound>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind().name();
        let (fd, listening) = {
            let state = self.state();
            (state.fd.clone(), state.listening)
        };
        let Some(fd) = fd else {
            return write!(f, "<socket {kind} closed>");
        };
        let local = fd.local_addr().ok().map(|a| Endpoint::from_sockaddr(&a));
        let peer = fd.peer_addr().ok().map(|a| Endpoint::from_sockaddr(&a));
        let unbound = match &local {
            None => true,
            Some(Endpoint::Inet(a)) => a.port() == 0,
            Some(Endpoint::Path(p)) => p.is_empty() && peer.is_none(),
        };
        write!(f, "<socket {kind}")?;
        if unbound {
            write!(f, " unbound")?;
        } else if let Some(local) = local {
            write!(f, " {local}")?;
        }
        if let Some(peer) = peer {
            write!(f, " -> {peer}")?;
        }
        if listening {
            write!(f, " listening")?;
        }
        write!(f, ">")
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Gives back the unused part of a receive buffer, so that keeping many
/// short replies to `recv(65536)` does not keep 64 KiB each.
fn fit(mut buf: Vec<u8>) -> Vec<u8> {
    if buf.capacity() > 2 * buf.len() + 4096 {
        buf.shrink_to_fit();
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_goes_from_one_socket_to_another() -> Result<()> {
        let here = |hp: &str| -> Result<Target> { Ok(Target::Inet(addr::parse(hp)?)) };
        let server = Socket::new(Kind::Udp)?;
        server.bind(&here("127.0.0.1:0")?)?;
        let Endpoint::Inet(at) = server.getsockname()? else {
            return Err(ScriptError::value("not an inet socket"));
        };
        let client = Socket::new(Kind::Udp)?;
        client.sendto(b"hi", &here(&at.to_string())?)?;
        let (data, _from) = server.recvfrom(16)?;
        assert_eq!(data, b"hi");
        Ok(())
    }

    #[test]
    fn registration_is_per_session_and_forgotten_on_close() -> Result<()> {
        let net = Net::current();
        let before = net.open_sockets().len();
        let s = Socket::new(Kind::Tcp)?;
        assert_eq!(net.open_sockets().len(), before + 1);
        s.close();
        assert_eq!(net.open_sockets().len(), before);
        Ok(())
    }

    #[test]
    fn a_short_receive_does_not_keep_its_whole_buffer() {
        let mut buf = Vec::with_capacity(65536);
        buf.extend_from_slice(b"hello");
        assert!(fit(buf).capacity() < 4096);
        let mut full = Vec::with_capacity(1000);
        full.extend_from_slice(&[0; 900]);
        assert_eq!(fit(full).capacity(), 1000, "a nearly full buffer is kept as is");
    }
}
