//! Frames a child process sends to its parent's queue broker: whatever
//! the bytes, parsing never panics, and a queue item decoded from them is
//! plain data: it can never name a file descriptor or a queue, so no frame
//! can make the parent adopt (and later close) a descriptor it does not own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockrepl::fuzzing::{Decoder, Hello, Request, Wire, parse_frame};

fn plain(wire: &Wire) -> bool {
    match wire {
        Wire::Queue(_) | Wire::Socket { .. } => false,
        Wire::Array(items) => items.iter().all(plain),
        Wire::Map(pairs) => pairs.iter().all(|(_, v)| plain(v)),
        _ => true,
    }
}

fuzz_target!(|body: &[u8]| {
    let _ = parse_frame::<Hello>(body);
    let Some(request) = parse_frame::<Request>(body) else {
        return;
    };
    if let Some(item) = request.item {
        let was_plain = plain(&item);
        let decoded = Decoder::for_item().decode(item);
        assert!(
            was_plain || decoded.is_err(),
            "a queue item carrying a socket or a queue was accepted"
        );
    }
});
