//! Address text as scripts write it: "host:port", "[v6]:port", ":port".
//! A parsed address prints back as text that parses to the same address,
//! and resolving a numeric host never panics (names are not looked up:
//! that would leave the machine).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockrepl::fuzzing::{self as addr, IpFamily};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let Ok(parsed) = addr::parse_address(text) else { return };
    let again = addr::parse_address(&parsed.to_string())
        .unwrap_or_else(|e| panic!("{parsed} (from {text:?}) does not parse again: {e}"));
    assert_eq!(again, parsed);
    if parsed.host.is_empty() || parsed.host.parse::<std::net::IpAddr>().is_ok() {
        let _ = addr::resolve(&parsed, IpFamily::V4);
        let _ = addr::resolve(&parsed, IpFamily::V6);
    }
});
