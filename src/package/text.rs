//! Strings to bytes and back, as Python's `str.encode()` and
//! `bytes.decode()`.

use rhai::Blob;
use rhai::plugin::*;

use crate::error::ScriptError;

fn check_encoding(encoding: &str) -> Result<(), ScriptError> {
    match encoding.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" => Ok(()),
        other => Err(
            ScriptError::new("LookupError", format!("unsupported encoding: {other}"))
                .hint("sockrepl speaks UTF-8 only: use encode() / decode() or \"utf-8\""),
        ),
    }
}

pub use crate::error::bytes_repr;

fn decode_utf8(bytes: &[u8]) -> Result<String, ScriptError> {
    String::from_utf8(bytes.to_vec()).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        let bad = bytes.get(at).copied().unwrap_or_default();
        ScriptError::new(
            "UnicodeDecodeError",
            format!("'utf-8' codec can't decode byte 0x{bad:02x} in position {at}: invalid start byte or truncated character"),
        )
        .hint("the data is not UTF-8 text; look at it with hexdump(data) or keep it as a blob")
    })
}

/// Script functions for text and bytes.
#[export_module]
pub mod text_api {
    use super::*;

    /// Blobs print like Python bytes: `b"hi\x00"`.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn blob_to_string(bytes: &mut Blob) -> String {
        bytes_repr(bytes)
    }

    /// The items of an array as text, separated by `sep` (Python's
    /// `sep.join(items)`).
    ///
    /// ```rhai
    /// print(["a", "b", 3].join(", "));   // a, b, 3
    /// ```
    #[rhai_fn(global, pure)]
    pub fn join(items: &mut rhai::Array, sep: &str) -> String {
        let texts: Vec<String> = items
            .iter()
            .map(|item| match item.read_lock::<Blob>() {
                Some(bytes) => bytes_repr(&bytes),
                None => item.to_string(),
            })
            .collect();
        texts.join(sep)
    }

    /// Splits bytes at each occurrence of `sep` (Python's
    /// `data.split(b"\0")`).
    ///
    /// ```rhai
    /// let parts = packet.extract(2).split(blob(1, 0));   // file name, mode, ...
    /// ```
    #[rhai_fn(global, name = "split", return_raw, pure)]
    pub fn split_bytes(bytes: &mut Blob, sep: Blob) -> Result<rhai::Array, Box<EvalAltResult>> {
        if sep.is_empty() {
            return Err(ScriptError::value("empty separator").into());
        }
        let mut parts = rhai::Array::new();
        let mut rest: &[u8] = bytes;
        while let Some(at) = rest.windows(sep.len()).position(|w| w == sep.as_slice()) {
            parts.push(Dynamic::from_blob(rest[..at].to_vec()));
            rest = &rest[at + sep.len()..];
        }
        parts.push(Dynamic::from_blob(rest.to_vec()));
        Ok(parts)
    }

    /// The UTF-8 bytes of a string, as a blob.
    ///
    /// ```rhai
    /// let b = "hi".encode();   // b"hi"
    /// ```
    #[rhai_fn(global, pure)]
    pub fn encode(text: &mut ImmutableString) -> Blob {
        text.as_bytes().to_vec()
    }

    /// The bytes of a string in `encoding`; only `"utf-8"` is supported.
    ///
    /// ```rhai
    /// let b = "hi".encode("utf-8");
    /// ```
    #[rhai_fn(global, name = "encode", return_raw, pure)]
    pub fn encode_with(text: &mut ImmutableString, encoding: &str) -> Result<Blob, Box<EvalAltResult>> {
        check_encoding(encoding)?;
        Ok(text.as_bytes().to_vec())
    }

    /// The text in a blob of UTF-8 bytes; `UnicodeDecodeError` if the bytes
    /// are not UTF-8.
    ///
    /// ```rhai
    /// let text = conn.recv(1024).decode();
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn decode(bytes: &mut Blob) -> Result<String, Box<EvalAltResult>> {
        Ok(decode_utf8(bytes)?)
    }

    /// Decodes with `encoding`; only `"utf-8"` is supported.
    ///
    /// ```rhai
    /// let text = data.decode("utf-8");
    /// ```
    #[rhai_fn(global, name = "decode", return_raw, pure)]
    pub fn decode_with(bytes: &mut Blob, encoding: &str) -> Result<String, Box<EvalAltResult>> {
        check_encoding(encoding)?;
        Ok(decode_utf8(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_print_like_python() {
        assert_eq!(bytes_repr(b"hi\x00\n\"\\"), r#"b"hi\x00\n\"\\""#);
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_replacement() {
        let err = decode_utf8(b"ok\xff").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.starts_with("UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 2"),
            "{err}"
        );
    }
}
