//! Binary data: Python-compatible `struct` packing and `hexdump`.

pub mod hexdump;
pub mod pack;

pub use hexdump::hexdump;
pub use pack::{Format, Item};
