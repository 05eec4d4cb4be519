//! `hexdump(blob)`: bytes as `hexdump -C` shows them.

use std::fmt::Write;

/// Offset, sixteen bytes in hex (a gap after eight) and the printable
/// ASCII, one line per sixteen bytes.
pub fn hexdump(data: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in data.chunks(16).enumerate() {
        let _ = write!(out, "{:08x} ", row * 16);
        for i in 0..16 {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, " {b:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(
            chunk
                .iter()
                .map(|&b| if (0x20..0x7f).contains(&b) { char::from(b) } else { '.' }),
        );
        out.push_str("|\n");
    }
    let _ = writeln!(out, "{:08x}", data.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hexdump_c() {
        let text = hexdump(b"\x00\x01hello.txt\x00octet\x00");
        assert_eq!(
            text,
            "00000000  00 01 68 65 6c 6c 6f 2e  74 78 74 00 6f 63 74 65  |..hello.txt.octe|\n\
             00000010  74 00                                             |t.|\n\
             00000012\n"
        );
    }
}
