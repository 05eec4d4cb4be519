//! Script bindings for binary data: `pack`, `unpack`, `unpack_from`,
//! `calcsize`, `hexdump`.

use rhai::plugin::*;
use rhai::{Array, Blob, Dynamic, INT};

use crate::bytes::{Format, Item, hexdump};
use crate::error::ScriptError;

fn to_item(value: &Dynamic) -> Result<Item, ScriptError> {
    if let Ok(i) = value.as_int() {
        return Ok(Item::Int(i));
    }
    if let Ok(f) = value.as_float() {
        return Ok(Item::Float(f));
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Item::Bool(b));
    }
    if let Some(blob) = value.read_lock::<Blob>() {
        return Ok(Item::Bytes(blob.clone()));
    }
    if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
        return Ok(Item::Bytes(text.as_bytes().to_vec()));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Item::Bytes(c.to_string().into_bytes()));
    }
    Err(
        ScriptError::new("struct.error", format!("cannot pack {}", super::show::a_type(value)))
            .hint("pack numbers, booleans, blobs or strings"),
    )
}

fn from_item(item: Item) -> Result<Dynamic, ScriptError> {
    Ok(match item {
        Item::Int(i) => Dynamic::from_int(i),
        Item::UInt(u) => {
            return Err(
                ScriptError::new("OverflowError", format!("{u} does not fit in a 64-bit signed integer"))
                    .hint("read it with 'q' (signed) or as two 'I' halves"),
            );
        }
        Item::Float(f) => Dynamic::from_float(f),
        Item::Bool(b) => Dynamic::from_bool(b),
        Item::Bytes(b) => Dynamic::from_blob(b),
    })
}

thread_local! {
    /// Recently used formats: scripts repeat the same few in their loops.
    static FORMATS: std::cell::RefCell<Vec<(String, std::rc::Rc<Format>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn format(text: &str) -> Result<std::rc::Rc<Format>, ScriptError> {
    let cached = FORMATS.with(|cache| cache.borrow().iter().find(|(t, _)| t == text).map(|(_, f)| f.clone()));
    if let Some(format) = cached {
        return Ok(format);
    }
    let parsed = std::rc::Rc::new(Format::parse(text)?);
    FORMATS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= 16 {
            cache.remove(0);
        }
        cache.push((text.to_string(), parsed.clone()));
    });
    Ok(parsed)
}

/// `pack(format, values...)`: Python's `struct.pack`, with any number of
/// values.
pub fn register_pack(engine: &mut rhai::Engine) {
    super::syntax::register_call(
        engine,
        "pack",
        "pack needs a format: pack(\"!HH\", 1, 2)",
        |ctx, values| {
            let mut values = values.into_iter();
            let fmt = values.next().unwrap_or_default();
            let Some(fmt) = fmt.read_lock::<rhai::ImmutableString>().map(|f| f.to_string()) else {
                return Err(ScriptError::type_error(format!(
                    "pack's first argument is the format, a string like \"!HH\", not {}",
                    super::show::type_name(&fmt)
                ))
                .into());
            };
            Ok(Dynamic::from_blob(pack_values(ctx.engine(), &fmt, values.collect())?))
        },
    );
}

fn pack_values(engine: &rhai::Engine, fmt: &str, values: Vec<Dynamic>) -> Result<Blob, ScriptError> {
    let format = format(fmt)?;
    super::check_size(engine, format.size(), "pack")?;
    let items = values.iter().map(to_item).collect::<Result<Vec<_>, _>>()?;
    format.pack(&items)
}

fn items_to_array(items: Vec<Item>) -> Result<Array, Box<EvalAltResult>> {
    Ok(items.into_iter().map(from_item).collect::<Result<Array, _>>()?)
}

/// Script functions for binary data.
#[export_module]
pub mod bytes_api {
    use super::*;

    /// Packs the values of an array (for formats with many items).
    ///
    /// ```rhai
    /// let b = pack_array("!8B", [1, 2, 3, 4, 5, 6, 7, 8]);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn pack_array(ctx: NativeCallContext, format: &str, values: Array) -> Result<Blob, Box<EvalAltResult>> {
        Ok(pack_values(ctx.engine(), format, values)?)
    }

    /// Unpacks bytes into an array of values like Python's
    /// `struct.unpack`; the blob must be exactly `calcsize(format)` long.
    ///
    /// ```rhai
    /// let header = unpack("!HH", data);   // [opcode, block]
    /// ```
    #[rhai_fn(return_raw)]
    pub fn unpack(format: &str, data: Blob) -> Result<Array, Box<EvalAltResult>> {
        items_to_array(self::format(format)?.unpack(&data)?)
    }

    /// Unpacks from the start of a longer blob.
    ///
    /// ```rhai
    /// let opcode = unpack_from("!H", packet)[0];
    /// ```
    #[rhai_fn(name = "unpack_from", return_raw)]
    pub fn unpack_from_start(format: &str, data: Blob) -> Result<Array, Box<EvalAltResult>> {
        items_to_array(self::format(format)?.unpack_from(&data, 0)?)
    }

    /// Unpacks starting at byte `offset` of a longer blob.
    ///
    /// ```rhai
    /// let block = unpack_from("!H", packet, 2)[0];
    /// ```
    #[rhai_fn(name = "unpack_from", return_raw)]
    pub fn unpack_from(format: &str, data: Blob, offset: INT) -> Result<Array, Box<EvalAltResult>> {
        let offset = usize::try_from(offset)
            .map_err(|_| ScriptError::new("struct.error", format!("offset {offset} must not be negative")))?;
        items_to_array(self::format(format)?.unpack_from(&data, offset)?)
    }

    /// The number of bytes `format` packs to.
    ///
    /// ```rhai
    /// print(calcsize("!HH"));   // 4
    /// ```
    #[rhai_fn(return_raw)]
    pub fn calcsize(format: &str) -> Result<INT, Box<EvalAltResult>> {
        Ok(INT::try_from(self::format(format)?.size()).unwrap_or(INT::MAX))
    }

    /// The bytes as `hexdump -C` shows them: offsets, hex and ASCII.
    ///
    /// ```rhai
    /// print(hexdump(pack("!HH", 4, 1)));
    /// ```
    #[rhai_fn(name = "hexdump")]
    pub fn hexdump_blob(data: Blob) -> String {
        hexdump(&data)
    }

    /// The UTF-8 bytes of a string as `hexdump -C` shows them.
    #[rhai_fn(name = "hexdump")]
    pub fn hexdump_str(text: &str) -> String {
        hexdump(text.as_bytes())
    }
}
