//! How a value is shown to a person: type-aware, one readable line where
//! possible, bytes like Python's, with a hexdump when they are binary. The
//! shell's echo uses [`show`]; every type's own text is its `Display`,
//! which its `to_string` function returns too, so the two cannot differ.

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
        crate::tasks::Task,
        crate::sync::Lock,
        crate::sync::Queue,
        crate::sync::Value,
        crate::sync::Local,
        crate::process::Process,
        crate::process::pool::Pool,
        crate::process::pool::AsyncResult,
        crate::package::net::Received,
        crate::package::net::Accepted
    );
    format!("{value:?}")
}

/// A value's type as scripts speak of it: `int`, `string`, `blob`,
/// `socket`, ... never a Rust type name.
pub fn type_name(value: &Dynamic) -> String {
    script_type(value.type_name()).to_string()
}

/// The script name of a type Rhai names (`i64`, `&str | ImmutableString |
/// String`, `sockrepl::net::socket::Socket`, ...).
pub fn script_type(rust: &str) -> &str {
    match rust {
        "i64" | "i32" | "u8" | "INT" => "int",
        "f64" | "f32" | "FLOAT" => "float",
        "bool" => "bool",
        "char" => "char",
        "()" => "()",
        "string" | "&str" | "String" | "ImmutableString" | "&str | ImmutableString | String" => "string",
        "blob" | "Blob" | "Vec<u8>" => "blob",
        "array" | "Array" | "Vec<Dynamic>" => "array",
        "map" | "Map" => "map",
        "Fn" | "FnPtr" => "function",
        "Dynamic" => "any value",
        other => {
            let last = other.rsplit("::").next().unwrap_or(other);
            match last {
                "Socket" => "socket",
                "Task" => "task",
                "Lock" => "lock",
                "Queue" => "queue",
                "Value" => "value",
                "Local" => "local",
                "Process" => "process",
                "Pool" => "pool",
                "AsyncResult" => "pool result",
                "Received" => "recvfrom result",
                "Accepted" => "accept result",
                "File" => "file",
                _ => other,
            }
        }
    }
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
