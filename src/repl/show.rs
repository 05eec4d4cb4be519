//! How the REPL prints a value: type-aware, one readable line where
//! possible, bytes like Python's, with a hexdump when they are binary.

use rhai::{Blob, Dynamic};

use crate::bytes::hexdump;
use crate::package::text::bytes_repr;

/// The text the REPL shows for a result.
pub fn show(value: &Dynamic) -> String {
    if let Some(bytes) = value.read_lock::<Blob>() {
        let repr = bytes_repr(&bytes);
        let binary = bytes
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t') || b >= 0x7f);
        return if binary && !bytes.is_empty() {
            format!("{repr}\n{}", hexdump(&bytes).trim_end())
        } else {
            repr
        };
    }
    if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
        return format!("{:?}", text.as_str());
    }
    macro_rules! shown_by_display {
        ($($ty:ty),*) => {
            $(if let Some(v) = value.read_lock::<$ty>() { return v.to_string(); })*
        };
    }
    shown_by_display!(
        crate::net::Socket,
        crate::runtime::task::Task,
        crate::sync::Lock,
        crate::sync::Queue,
        crate::sync::Value,
        crate::sync::Local,
        crate::process::Process,
        crate::process::pool::Pool,
        crate::process::pool::AsyncResult
    );
    if let Some(m) = value.read_lock::<crate::package::net::Received>() {
        return format!("recvfrom(data: {}, addr: {})", bytes_repr(&m.data), m.addr);
    }
    if let Some(a) = value.read_lock::<crate::package::net::Accepted>() {
        return format!("accept(conn: {}, addr: {})", a.conn, a.addr);
    }
    format!("{value:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_bytes_get_a_hexdump() {
        assert_eq!(show(&Dynamic::from_blob(b"hi".to_vec())), "b\"hi\"");
        let text = show(&Dynamic::from_blob(vec![0, 1, 104]));
        assert!(text.starts_with("b\"\\x00\\x01h\"\n00000000  00 01 68"), "{text}");
    }

    #[test]
    fn strings_are_quoted() {
        assert_eq!(show(&Dynamic::from("a\"b")), "\"a\\\"b\"");
    }
}
