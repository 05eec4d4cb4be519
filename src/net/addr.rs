//! Address text as students write it, and name resolution.
//!
//! Python takes `("127.0.0.1", 9999)`; scripts here write `"127.0.0.1:9999"`,
//! `["127.0.0.1", 9999]` or pass host and port as two arguments. All of
//! them end up as a [`HostPort`], which [`resolve`] turns into a socket
//! address of the socket's family. Python's special hosts keep their
//! meaning: `""` is every interface and `"<broadcast>"` is
//! 255.255.255.255.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{Result, ScriptError};
use crate::runtime;

/// A host name or address text, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The host name or address text.
    pub host: String,
    /// The port number.
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// IPv4 or IPv6: which addresses a socket accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

const EXAMPLE: &str =
    "write addresses as \"127.0.0.1:9999\", \"[::1]:9999\", [\"127.0.0.1\", 9999] or s.bind(\"127.0.0.1\", 9999)";

/// Checks a port number from a script.
pub fn port(port: i64) -> Result<u16> {
    u16::try_from(port).map_err(|_| {
        ScriptError::value(format!("port {port} is out of range"))
            .hint("ports go from 0 to 65535; 0 lets the system pick a free one")
    })
}

/// Parses `"host:port"`, `"[v6]:port"` or `":port"`.
pub fn parse(text: &str) -> Result<HostPort> {
    let bad = |why: &str| ScriptError::value(format!("bad address {text:?}: {why}")).hint(EXAMPLE);
    let (host, port_text) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
        let port_text = after
            .strip_prefix(':')
            .ok_or_else(|| bad("missing ':port' after ']'"))?;
        if !host.contains(':') {
            return Err(bad("brackets are only for IPv6 addresses, like \"[::1]:9999\""));
        }
        (host, port_text)
    } else {
        let (host, port_text) = text.rsplit_once(':').ok_or_else(|| bad("missing ':port'"))?;
        if host.contains(':') {
            return Err(bad("IPv6 addresses need brackets, like \"[::1]:9999\""));
        }
        (host, port_text)
    };
    let number: i64 = port_text
        .parse()
        .map_err(|_| bad(&format!("{port_text:?} is not a port number")))?;
    Ok(HostPort {
        host: host.to_string(),
        port: port(number)?,
    })
}

/// Resolves `target` to one address of `family`, looking names up in DNS
/// (`/etc/hosts` first) when they are not literal addresses.
pub fn resolve(target: &HostPort, family: IpFamily) -> Result<SocketAddr> {
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let literal = match host {
        "" => Some(match family {
            IpFamily::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpFamily::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }),
        "<broadcast>" => Some(IpAddr::V4(Ipv4Addr::BROADCAST)),
        _ => host.parse::<IpAddr>().ok(),
    };
    if let Some(ip) = literal {
        return match (ip, family) {
            (IpAddr::V4(_), IpFamily::V4) | (IpAddr::V6(_), IpFamily::V6) => Ok(SocketAddr::new(ip, target.port)),
            (IpAddr::V6(_), IpFamily::V4) => Err(ScriptError::value(format!(
                "{target} is an IPv6 address but this is an IPv4 socket"
            ))
            .hint("create the socket with socket(\"tcp6\") or socket(\"udp6\")")),
            (IpAddr::V4(_), IpFamily::V6) => Err(ScriptError::value(format!(
                "{target} is an IPv4 address but this is an IPv6 socket"
            ))
            .hint("use an IPv6 address such as \"[::1]:port\", or an IPv4 socket")),
        };
    }
    let query = (host.to_string(), target.port);
    let found = runtime::wait(tokio::net::lookup_host(query), runtime::Deadline::NEVER)?
        .map_err(|err| not_found(host, &err.to_string()))?
        .find(|addr| match family {
            IpFamily::V4 => addr.is_ipv4(),
            IpFamily::V6 => addr.is_ipv6(),
        });
    found.ok_or_else(|| not_found(host, "no address of this socket's family"))
}

fn not_found(host: &str, why: &str) -> ScriptError {
    ScriptError::new("socket.gaierror", format!("cannot resolve host {host:?}: {why}"))
        .hint("check the spelling, or use an IP address such as \"127.0.0.1\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(
            parse("127.0.0.1:9999").ok(),
            Some(HostPort {
                host: "127.0.0.1".into(),
                port: 9999
            })
        );
        assert_eq!(
            parse("[::1]:80").ok(),
            Some(HostPort {
                host: "::1".into(),
                port: 80
            })
        );
        assert_eq!(
            parse(":8000").ok(),
            Some(HostPort {
                host: "".into(),
                port: 8000
            })
        );
        assert_eq!(
            parse("localhost:0").ok(),
            Some(HostPort {
                host: "localhost".into(),
                port: 0
            })
        );
    }

    #[test]
    fn every_parsed_address_prints_back_to_itself() {
        for text in [
            "127.0.0.1:80",
            "[::1]:9",
            ":0",
            "[fe80::1%lo]:5",
            "[a:b]:1",
            "host name:7",
        ] {
            let parsed = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parse(&parsed.to_string()).ok(), Some(parsed), "{text}");
        }
    }

    #[test]
    fn rejects_bad_text_with_an_example() {
        // "[W\t\x11A]:6" was found by fuzz/fuzz_targets/address.rs: it parsed,
        // but printed without brackets it no longer did.
        for text in [
            "127.0.0.1",
            "host:http",
            "::1:80",
            "[::1]80",
            "h:70000",
            "h:-1",
            "[W\t\x11A]:6",
            "[localhost]:80",
        ] {
            let err = parse(text).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.starts_with("ValueError: "), "{text}: {err}");
            assert!(err.contains("hint: "), "{text}: {err}");
        }
    }

    #[test]
    fn resolves_special_hosts() {
        let any = resolve(
            &HostPort {
                host: "".into(),
                port: 1,
            },
            IpFamily::V4,
        )
        .ok();
        assert_eq!(any, Some("0.0.0.0:1".parse().unwrap_or_else(|_| unreachable!())));
        let bcast = resolve(
            &HostPort {
                host: "<broadcast>".into(),
                port: 2,
            },
            IpFamily::V4,
        )
        .ok();
        assert_eq!(bcast.map(|a| a.ip()), Some(IpAddr::V4(Ipv4Addr::BROADCAST)));
        let local = resolve(
            &HostPort {
                host: "localhost".into(),
                port: 3,
            },
            IpFamily::V4,
        )
        .ok();
        assert_eq!(local.map(|a| a.ip()), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }

    #[test]
    fn refuses_the_wrong_family() {
        assert!(
            resolve(
                &HostPort {
                    host: "::1".into(),
                    port: 1
                },
                IpFamily::V4
            )
            .is_err()
        );
        assert!(
            resolve(
                &HostPort {
                    host: "127.0.0.1".into(),
                    port: 1
                },
                IpFamily::V6
            )
            .is_err()
        );
    }
}
