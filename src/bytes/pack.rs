//! Python's `struct` module: `pack`, `unpack`, `calcsize`.
//!
//! A format is an optional byte order (`@` native with alignment, `=`
//! native without, `<` little-endian, `>`/`!` big-endian/network) followed
//! by codes with optional repeat counts: `x` pad, `c` one byte, `b B`
//! 8-bit, `?` bool, `h H` 16-bit, `i I l L` 32-bit (`l L` are 64-bit in
//! native `@` mode, as on Linux), `q Q` 64-bit, `e f d` floats, `s`
//! bytes, `p` Pascal string. The bytes produced match CPython's for the
//! same call, and the error texts follow CPython's `struct.error`.

use crate::error::ScriptError;

/// A value to pack, or one unpacked.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A signed integer.
    Int(i64),
    /// Unsigned 64-bit values beyond `i64::MAX` are kept exact.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Bytes, for `s`, `p` and `c`.
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Native,
    NativeUnaligned,
    Little,
    Big,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    Pad,
    Char,
    Int { size: usize, signed: bool },
    Bool,
    Half,
    Float,
    Double,
    Bytes,
    Pascal,
}

#[derive(Debug, Clone, Copy)]
struct Field {
    code: Code,
    letter: char,
    /// For `s`, `p` and `x`: the byte count; otherwise how many items.
    count: usize,
}

/// A parsed format string.
#[derive(Debug, Clone)]
pub struct Format {
    order: Order,
    fields: Vec<Field>,
}

fn error(message: impl Into<String>) -> ScriptError {
    ScriptError::new("struct.error", message)
}

fn bad_char(c: char) -> ScriptError {
    error(format!("bad char in struct format: {c:?}"))
        .hint("codes are x c b B ? h H i I l L q Q e f d s p, with an optional count before each and a byte order (@ = < > !) first")
}

impl Format {
    /// Parses a format string, with CPython's error for a bad one.
    pub fn parse(text: &str) -> Result<Format, ScriptError> {
        let mut chars = text.chars().peekable();
        let order = match chars.peek() {
            Some('@') => Some(Order::Native),
            Some('=') => Some(Order::NativeUnaligned),
            Some('<') => Some(Order::Little),
            Some('>') | Some('!') => Some(Order::Big),
            _ => None,
        };
        if order.is_some() {
            chars.next();
        }
        let order = order.unwrap_or(Order::Native);
        let native = order == Order::Native;
        let mut fields = Vec::new();
        while let Some(c) = chars.next() {
            if c.is_whitespace() {
                continue;
            }
            let (count, letter) = if c.is_ascii_digit() {
                let mut count: usize = c.to_digit(10).map_or(0, |d| d as usize);
                let mut letter = None;
                for d in chars.by_ref() {
                    match d.to_digit(10) {
                        Some(digit) => {
                            count = count
                                .checked_mul(10)
                                .and_then(|n| n.checked_add(digit as usize))
                                .filter(|n| *n <= 1 << 30)
                                .ok_or_else(|| error("total struct size too long"))?;
                        }
                        None => {
                            letter = Some(d);
                            break;
                        }
                    }
                }
                let letter = letter.ok_or_else(|| error("repeat count given without format specifier"))?;
                (count, letter)
            } else {
                (1, c)
            };
            let code = match letter {
                'x' => Code::Pad,
                'c' => Code::Char,
                'b' => Code::Int { size: 1, signed: true },
                'B' => Code::Int { size: 1, signed: false },
                '?' => Code::Bool,
                'h' => Code::Int { size: 2, signed: true },
                'H' => Code::Int { size: 2, signed: false },
                'i' => Code::Int { size: 4, signed: true },
                'I' => Code::Int { size: 4, signed: false },
                'l' => Code::Int {
                    size: if native { 8 } else { 4 },
                    signed: true,
                },
                'L' => Code::Int {
                    size: if native { 8 } else { 4 },
                    signed: false,
                },
                'q' => Code::Int { size: 8, signed: true },
                'Q' => Code::Int { size: 8, signed: false },
                'e' => Code::Half,
                'f' => Code::Float,
                'd' => Code::Double,
                's' => Code::Bytes,
                'p' => Code::Pascal,
                other => return Err(bad_char(other)),
            };
            fields.push(Field { code, letter, count });
        }
        Ok(Format { order, fields })
    }

    fn size_of(code: Code) -> usize {
        match code {
            Code::Pad | Code::Char | Code::Bool | Code::Bytes | Code::Pascal => 1,
            Code::Int { size, .. } => size,
            Code::Half => 2,
            Code::Float => 4,
            Code::Double => 8,
        }
    }

    /// Padding needed before a field at `offset` in native mode.
    fn align(&self, offset: usize, code: Code) -> usize {
        if self.order != Order::Native {
            return 0;
        }
        let size = Self::size_of(code);
        (size - offset % size) % size
    }

    /// The packed size in bytes (saturating: a format too big to
    /// represent is as big as can be, which any size check refuses).
    pub fn size(&self) -> usize {
        let mut offset: usize = 0;
        for field in &self.fields {
            if field.count == 0 && matches!(field.code, Code::Bytes | Code::Pascal | Code::Pad) {
                continue;
            }
            offset = offset.saturating_add(self.align(offset, field.code));
            offset = offset.saturating_add(match field.code {
                Code::Bytes | Code::Pascal | Code::Pad => field.count,
                code => Self::size_of(code).saturating_mul(field.count),
            });
        }
        offset
    }

    /// How many values `pack` takes and `unpack` returns.
    pub fn items(&self) -> usize {
        self.fields
            .iter()
            .map(|f| match f.code {
                Code::Pad => 0,
                Code::Bytes | Code::Pascal => 1,
                _ => f.count,
            })
            .fold(0, usize::saturating_add)
    }

    fn big_endian(&self) -> bool {
        match self.order {
            Order::Big => true,
            Order::Little => false,
            Order::Native | Order::NativeUnaligned => cfg!(target_endian = "big"),
        }
    }

    /// Packs `values` into bytes.
    pub fn pack(&self, values: &[Item]) -> Result<Vec<u8>, ScriptError> {
        let expected = self.items();
        if values.len() != expected {
            return Err(error(format!(
                "pack expected {expected} items for packing (got {})",
                values.len()
            )));
        }
        let mut out = Vec::with_capacity(self.size());
        let mut values = values.iter();
        for field in &self.fields {
            if field.count == 0 && matches!(field.code, Code::Bytes | Code::Pascal | Code::Pad) {
                if matches!(field.code, Code::Bytes | Code::Pascal) {
                    values.next();
                }
                continue;
            }
            out.resize(out.len() + self.align(out.len(), field.code), 0);
            match field.code {
                Code::Pad => out.resize(out.len() + field.count, 0),
                Code::Bytes | Code::Pascal => {
                    let data = match values.next() {
                        Some(Item::Bytes(b)) => b,
                        _ => return Err(error(format!("argument for '{}' must be a bytes object", field.letter))),
                    };
                    if field.code == Code::Bytes {
                        let n = data.len().min(field.count);
                        out.extend_from_slice(&data[..n]);
                        out.resize(out.len() + field.count - n, 0);
                    } else {
                        let n = data.len().min(field.count - 1).min(255);
                        out.push(u8::try_from(n).unwrap_or(255));
                        out.extend_from_slice(&data[..n]);
                        out.resize(out.len() + field.count - 1 - n, 0);
                    }
                }
                code => {
                    for _ in 0..field.count {
                        let value = values.next().ok_or_else(|| error("not enough items"))?;
                        self.pack_one(&mut out, code, field.letter, value)?;
                    }
                }
            }
        }
        Ok(out)
    }

    fn pack_one(&self, out: &mut Vec<u8>, code: Code, letter: char, value: &Item) -> Result<(), ScriptError> {
        let big = self.big_endian();
        let put = |out: &mut Vec<u8>, bytes: &[u8]| {
            if big {
                out.extend(bytes.iter().rev());
            } else {
                out.extend_from_slice(bytes);
            }
        };
        match code {
            Code::Char => match value {
                Item::Bytes(b) if b.len() == 1 => out.push(b[0]),
                _ => return Err(error("char format requires a bytes object of length 1")),
            },
            Code::Bool => match value {
                Item::Bool(b) => out.push(u8::from(*b)),
                Item::Int(i) => out.push(u8::from(*i != 0)),
                Item::UInt(u) => out.push(u8::from(*u != 0)),
                Item::Float(f) => out.push(u8::from(*f != 0.0)),
                Item::Bytes(b) => out.push(u8::from(!b.is_empty())),
            },
            Code::Int { size, signed } => {
                let wide: i128 = match value {
                    Item::Int(i) => i128::from(*i),
                    Item::UInt(u) => i128::from(*u),
                    Item::Bool(b) => i128::from(*b),
                    _ => return Err(error("required argument is not an integer")),
                };
                let bits = 8 * size as u32;
                let (min, max) = if signed {
                    (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
                } else {
                    (0, (1i128 << bits) - 1)
                };
                if wide < min || wide > max {
                    return Err(error(format!("'{letter}' format requires {min} <= number <= {max}")));
                }
                // Little-endian two's complement bytes of the value.
                let le = wide.to_le_bytes();
                put(out, &le[..size]);
            }
            Code::Half | Code::Float | Code::Double => {
                let f = match value {
                    Item::Float(f) => *f,
                    Item::Int(i) => *i as f64,
                    Item::UInt(u) => *u as f64,
                    Item::Bool(b) => f64::from(u8::from(*b)),
                    Item::Bytes(_) => return Err(error("required argument is not a float")),
                };
                match code {
                    Code::Half => {
                        let h = half::f16::from_f64(f);
                        if h.is_infinite() && f.is_finite() {
                            return Err(ScriptError::new(
                                "OverflowError",
                                "float too large to pack with e format",
                            ));
                        }
                        put(out, &h.to_le_bytes());
                    }
                    Code::Float => {
                        let single = f as f32;
                        if single.is_infinite() && f.is_finite() {
                            return Err(ScriptError::new(
                                "OverflowError",
                                "float too large to pack with f format",
                            ));
                        }
                        put(out, &single.to_le_bytes());
                    }
                    _ => put(out, &f.to_le_bytes()),
                }
            }
            Code::Pad | Code::Bytes | Code::Pascal => {}
        }
        Ok(())
    }

    /// Unpacks exactly `self.size()` bytes.
    pub fn unpack(&self, data: &[u8]) -> Result<Vec<Item>, ScriptError> {
        let size = self.size();
        if data.len() != size {
            return Err(error(format!("unpack requires a buffer of {size} bytes")).hint(format!(
                "the buffer has {} bytes; use unpack_from(fmt, data, offset) to read part of it",
                data.len()
            )));
        }
        self.unpack_at(data, 0)
    }

    /// Unpacks starting at `offset`, needing `self.size()` bytes there.
    pub fn unpack_from(&self, data: &[u8], offset: usize) -> Result<Vec<Item>, ScriptError> {
        let size = self.size();
        if offset.checked_add(size).is_none_or(|end| end > data.len()) {
            return Err(error(format!(
                "unpack_from requires a buffer of at least {} bytes for unpacking {size} bytes at offset {offset} (actual buffer size is {})",
                offset.saturating_add(size),
                data.len()
            )));
        }
        self.unpack_at(data, offset)
    }

    fn unpack_at(&self, data: &[u8], mut at: usize) -> Result<Vec<Item>, ScriptError> {
        let big = self.big_endian();
        let start = at;
        let mut out = Vec::with_capacity(self.items());
        let take = |at: &mut usize, n: usize| -> Vec<u8> {
            let mut bytes = data[*at..*at + n].to_vec();
            *at += n;
            if big {
                bytes.reverse();
            }
            bytes
        };
        for field in &self.fields {
            if field.count == 0 && matches!(field.code, Code::Bytes | Code::Pascal | Code::Pad) {
                if matches!(field.code, Code::Bytes | Code::Pascal) {
                    out.push(Item::Bytes(Vec::new()));
                }
                continue;
            }
            at += self.align(at - start, field.code);
            match field.code {
                Code::Pad => at += field.count,
                Code::Bytes => {
                    out.push(Item::Bytes(data[at..at + field.count].to_vec()));
                    at += field.count;
                }
                Code::Pascal => {
                    let n = usize::from(data[at]).min(field.count - 1);
                    out.push(Item::Bytes(data[at + 1..at + 1 + n].to_vec()));
                    at += field.count;
                }
                code => {
                    for _ in 0..field.count {
                        let item = match code {
                            Code::Char => Item::Bytes(take(&mut at, 1)),
                            Code::Bool => Item::Bool(take(&mut at, 1)[0] != 0),
                            Code::Int { size, signed } => {
                                let le = take(&mut at, size);
                                let mut wide = [0u8; 16];
                                wide[..size].copy_from_slice(&le);
                                if signed && le[size - 1] & 0x80 != 0 {
                                    wide[size..].fill(0xff);
                                }
                                let value = i128::from_le_bytes(wide);
                                match i64::try_from(value) {
                                    Ok(v) => Item::Int(v),
                                    Err(_) => Item::UInt(u64::try_from(value).unwrap_or(u64::MAX)),
                                }
                            }
                            Code::Half => {
                                let b = take(&mut at, 2);
                                Item::Float(half::f16::from_le_bytes([b[0], b[1]]).to_f64())
                            }
                            Code::Float => {
                                let b = take(&mut at, 4);
                                Item::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                            }
                            _ => {
                                let b = take(&mut at, 8);
                                let mut arr = [0u8; 8];
                                arr.copy_from_slice(&b);
                                Item::Float(f64::from_le_bytes(arr))
                            }
                        };
                        out.push(item);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(fmt: &str, items: &[Item]) -> Vec<u8> {
        Format::parse(fmt)
            .and_then(|f| f.pack(items))
            .unwrap_or_else(|e| panic!("{fmt}: {e}"))
    }

    #[test]
    fn tftp_request_like_the_seed() {
        let bytes = pack(
            "!H8sb5sb",
            &[
                Item::Int(1),
                Item::Bytes(b"test.txt".to_vec()),
                Item::Int(0),
                Item::Bytes(b"octet".to_vec()),
                Item::Int(0),
            ],
        );
        assert_eq!(bytes, b"\x00\x01test.txt\x00octet\x00");
    }

    #[test]
    fn native_alignment_matches_cpython() {
        assert_eq!(Format::parse("bi").map(|f| f.size()).ok(), Some(8));
        assert_eq!(Format::parse("=bi").map(|f| f.size()).ok(), Some(5));
        assert_eq!(Format::parse("l").map(|f| f.size()).ok(), Some(8));
        assert_eq!(Format::parse("<l").map(|f| f.size()).ok(), Some(4));
    }

    #[test]
    fn errors_read_like_cpython() {
        let err = |fmt: &str, items: &[Item]| {
            Format::parse(fmt)
                .and_then(|f| f.pack(items))
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(
            err("B", &[Item::Int(256)]).as_deref(),
            Some("struct.error: 'B' format requires 0 <= number <= 255")
        );
        assert_eq!(
            err("HH", &[Item::Int(1)]).as_deref(),
            Some("struct.error: pack expected 2 items for packing (got 1)")
        );
        assert!(err("Z", &[]).is_some_and(|e| e.starts_with("struct.error: bad char in struct format: 'Z'")));
        assert!(err("3", &[]).is_some_and(|e| e.contains("repeat count given without format specifier")));
        let short = Format::parse("!I")
            .and_then(|f| f.unpack(b"ab"))
            .err()
            .map(|e| e.to_string());
        assert!(short.is_some_and(|e| e.starts_with("struct.error: unpack requires a buffer of 4 bytes")));
    }

    #[test]
    fn round_trips_extremes() {
        let fmt = "<bBhHiIqQ?";
        let items = vec![
            Item::Int(-128),
            Item::Int(255),
            Item::Int(-32768),
            Item::Int(65535),
            Item::Int(i64::from(i32::MIN)),
            Item::Int(i64::from(u32::MAX)),
            Item::Int(i64::MIN),
            Item::UInt(u64::MAX),
            Item::Bool(true),
        ];
        let f = Format::parse(fmt).unwrap_or_else(|e| panic!("{e}"));
        let bytes = f.pack(&items).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.unpack(&bytes).ok(), Some(items));
    }
}
