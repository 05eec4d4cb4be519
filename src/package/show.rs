//! How a value is shown to a person: type-aware, one readable line where
//! possible, bytes like Python's, with a hexdump when they are binary. The
//! shell's echo uses [`show`]; every type's own text is its `Display`,
//! which its `to_string` function returns too, so the two cannot differ.

use rhai::{Blob, Dynamic};

use crate::bytes::hexdump;
use crate::package::text::bytes_repr;

/// Bytes the shell shows of a blob before cutting it short.
const SHOWN_BYTES: usize = 256;

/// The text the REPL shows for a result.
pub fn show(value: &Dynamic) -> String {
    if let Some(bytes) = value.read_lock::<Blob>() {
        let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
        let repr = bytes_repr(shown);
        let binary = shown
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t') || b >= 0x7f);
        let mut out = if binary && !shown.is_empty() {
            format!("{repr}\n{}", hexdump(shown).trim_end())
        } else {
            repr
        };
        if bytes.len() > SHOWN_BYTES {
            out.push_str(&format!(
                "\n... {} bytes in all; the first {SHOWN_BYTES} are shown (print(data) or hexdump(data) shows all)",
                bytes.len()
            ));
        }
        return out;
    }
    inline(value)
}

/// A value on one line: strings quoted, bytes as `b"..."` (also inside
/// arrays and maps), handles as their own readable text.
fn inline(value: &Dynamic) -> String {
    if let Some(bytes) = value.read_lock::<Blob>() {
        let cut = bytes.len() > SHOWN_BYTES;
        let repr = bytes_repr(&bytes[..bytes.len().min(SHOWN_BYTES)]);
        return if cut { format!("{repr}...") } else { repr };
    }
    if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
        return format!("{:?}", text.as_str());
    }
    if let Some(items) = value.read_lock::<rhai::Array>() {
        let shown: Vec<String> = items.iter().map(inline).collect();
        return format!("[{}]", shown.join(", "));
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        let shown: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {}", inline(v))).collect();
        return format!("#{{{}}}", shown.join(", "));
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
        crate::package::net::Received
    );
    if value.is_unit() {
        return "()".to_string();
    }
    value.to_string()
}

/// A value's type as scripts speak of it: `int`, `string`, `blob`,
/// `socket`, ... never a Rust type name.
pub fn type_name(value: &Dynamic) -> String {
    script_type(value.type_name()).to_string()
}

pub use crate::error::script_type;

/// The type with its article, for messages: "an int", "a socket".
pub fn a_type(value: &Dynamic) -> String {
    let name = type_name(value);
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
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
    fn blobs_inside_arrays_and_maps_show_as_bytes() {
        let array: rhai::Array = vec![
            Dynamic::from_int(1),
            Dynamic::from_blob(b"test.txt".to_vec()),
            "octet".into(),
        ];
        assert_eq!(show(&array.into()), "[1, b\"test.txt\", \"octet\"]");
        let mut map = rhai::Map::new();
        map.insert("data".into(), Dynamic::from_blob(vec![0, 1]));
        assert_eq!(show(&map.into()), "#{data: b\"\\x00\\x01\"}");
    }

    #[test]
    fn a_huge_blob_is_cut_with_a_note() {
        let text = show(&Dynamic::from_blob(vec![7; 100_000]));
        assert!(
            text.ends_with("100000 bytes in all; the first 256 are shown (print(data) or hexdump(data) shows all)"),
            "{text}"
        );
        assert!(text.lines().count() < 20, "{text}");
    }

    #[test]
    fn strings_are_quoted() {
        assert_eq!(show(&Dynamic::from("a\"b")), "\"a\\\"b\"");
    }
}
