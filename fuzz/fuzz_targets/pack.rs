//! `pack`/`unpack`/`calcsize` formats and buffers. The input is a format,
//! a zero byte, then a buffer. Beyond "never panics", checks that whatever
//! `unpack` returns can be packed again, and gives the same bytes back for
//! formats where that must hold (integers, bytes, chars, no alignment).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockrepl::fuzzing::Format;

fuzz_target!(|input: &[u8]| {
    let (format, buffer) = match input.iter().position(|b| *b == 0) {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => (input, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(format) else { return };
    let Ok(format) = Format::parse(text) else { return };
    let size = format.size();
    let _ = format.items();
    if let Some(offset) = buffer.first() {
        let _ = format.unpack_from(buffer, usize::from(*offset));
    }
    let Ok(values) = format.unpack(buffer) else { return };
    assert_eq!(buffer.len(), size, "unpack accepted a buffer of the wrong size");
    let packed = format
        .pack(&values)
        .unwrap_or_else(|e| panic!("cannot pack what unpack returned for {text:?}: {e}"));
    assert_eq!(packed.len(), size);
    // Native order pads for alignment, and pad bytes, bools, Pascal strings
    // and floats (NaN payloads) are normalised when packed.
    let unaligned = text.trim_start().starts_with(['<', '>', '!', '=']);
    if unaligned && !text.contains(['?', 'x', 'p', 'e', 'f', 'd']) {
        assert_eq!(packed, buffer, "pack(unpack(b)) != b for {text:?}");
    }
});
