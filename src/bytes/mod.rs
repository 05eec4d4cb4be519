//! Binary data (layer 2, beside `net`): Python-compatible `struct` packing
//! and `hexdump`. Pure functions over bytes, with no Rhai and no runtime:
//! the package checks sizes against the session's limits before packing.

pub mod hexdump;
pub mod pack;

pub use hexdump::hexdump;
pub use pack::{Format, Item};
