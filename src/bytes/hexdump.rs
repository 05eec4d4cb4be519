//! `hexdump(blob)`: bytes as `hexdump -C` shows them.

use std::fmt::Write;

/// Offset, sixteen bytes in hex (a gap after eight) and the printable
/// ASCII, one line per sixteen bytes; a run of lines equal to the one
/// before is shown once as `*`, as `hexdump -C` does.
pub fn hexdump(data: &[u8]) -> String {
    let mut out = String::new();
    let mut previous: Option<&[u8]> = None;
    let mut starred = false;
    for (row, chunk) in data.chunks(16).enumerate() {
        if chunk.len() == 16 && previous == Some(chunk) {
            if !starred {
                out.push_str("*\n");
                starred = true;
            }
            continue;
        }
        previous = Some(chunk);
        starred = false;
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

    #[test]
    fn repeated_lines_collapse_to_a_star() {
        let mut data = b"abcdefghijklmnop".repeat(3);
        data.extend([0u8; 40]);
        assert_eq!(
            hexdump(&data),
            "00000000  61 62 63 64 65 66 67 68  69 6a 6b 6c 6d 6e 6f 70  |abcdefghijklmnop|\n\
             *\n\
             00000030  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n\
             *\n\
             00000050  00 00 00 00 00 00 00 00                           |........|\n\
             00000058\n"
        );
    }
}
