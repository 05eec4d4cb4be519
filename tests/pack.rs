//! `pack`/`unpack`/`calcsize` produce the same bytes and values as
//! Python's `struct` for a table of formats, and refuse what it refuses.

mod common;

use std::process::Command;

/// (format, values) with values written so that both Python and Rhai
/// read them: numbers, true/false, and strings that become bytes.
const CASES: &[(&str, &[&str])] = &[
    ("!H8sb5sb", &["1", "s:test.txt", "0", "s:octet", "0"]),
    ("!HH", &["4", "65535"]),
    ("!H", &["5"]),
    ("<I", &["4294967295"]),
    (">i", &["-2"]),
    ("=bhiq", &["-1", "-300", "-70000", "-9000000000"]),
    ("@bi", &["1", "2"]),
    ("@hq", &["-3", "7"]),
    (
        "bBhHiIlLqQ",
        &[
            "-128",
            "255",
            "-32768",
            "65535",
            "-2147483648",
            "4294967295",
            "-1",
            "1",
            "-9223372036854775808",
            "9223372036854775807",
        ],
    ),
    ("<lL", &["-5", "4000000000"]),
    ("<?x?", &["true", "false"]),
    ("<3B", &["1", "2", "3"]),
    ("<e", &["1.5"]),
    ("<f", &["3.140625"]),
    (">d", &["-0.1"]),
    ("<efd", &["-2.5", "100.25", "1e300"]),
    ("5p", &["s:hi"]),
    ("3s", &["s:toolong"]),
    ("0s", &["s:"]),
    ("<c", &["s:z"]),
    ("!2H4x", &["1", "2"]),
    ("! H  H ", &["9", "10"]),
];

fn python_value(v: &str) -> String {
    match v {
        "true" => "True".into(),
        "false" => "False".into(),
        _ => match v.strip_prefix("s:") {
            Some(s) => format!("b{s:?}"),
            None => v.to_string(),
        },
    }
}

fn rhai_value(v: &str) -> String {
    match v.strip_prefix("s:") {
        Some(s) => format!("{s:?}.encode()"),
        None => v.to_string(),
    }
}

#[test]
fn bytes_match_python_struct() {
    let mut python = String::from(
        "import struct\ndef show(items):\n    return '[' + ', '.join('x:' + v.hex() if isinstance(v, bytes) else str(v) for v in items) + ']'\n",
    );
    let mut rhai = String::new();
    for (fmt, values) in CASES {
        let py: Vec<String> = values.iter().map(|v| python_value(v)).collect();
        python.push_str(&format!(
            "b = struct.pack({fmt:?}, {})\nprint(b.hex(), struct.calcsize({fmt:?}), show(struct.unpack({fmt:?}, b)))\n",
            py.join(", ")
        ));
        let rh: Vec<String> = values.iter().map(|v| rhai_value(v)).collect();
        rhai.push_str(&format!(
            "{{ let b = pack_array({fmt:?}, [{}]); print(`${{to_hex(b)}} ${{calcsize({fmt:?})}} ${{show(unpack({fmt:?}, b))}}`); }}\n",
            rh.join(", ")
        ));
    }
    // Values printed the same way in both languages: bytes as x:HEX.
    let prelude = r#"
        fn to_hex(b) { let s = ""; for x in b { s += if x < 16 { `0${x.to_hex()}` } else { x.to_hex() }; } s }
        fn show(items) {
            let parts = [];
            for v in items {
                parts.push(switch type_of(v) {
                    "blob" => "x:" + to_hex(v),
                    "bool" => if v { "True" } else { "False" },
                    _ => v.to_string()
                });
            }
            "[" + parts.join(", ") + "]"
        }
    "#;
    let ours = common::run(&["-e", &format!("{prelude}\n{rhai}")]);
    assert!(ours.status.success(), "{}", ours.stderr);
    let theirs = Command::new("python3")
        .arg("-c")
        .arg(&python)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let theirs = String::from_utf8_lossy(&theirs.stdout).to_string();
    for ((ours, theirs), case) in ours.stdout.lines().zip(theirs.lines()).zip(CASES) {
        // Compare the bytes and sizes exactly; values exactly except
        // float formatting, which differs between the languages.
        let (our_hex, our_rest) = ours.split_once(' ').unwrap_or_default();
        let (their_hex, their_rest) = theirs.split_once(' ').unwrap_or_default();
        assert_eq!(our_hex, their_hex, "bytes for {case:?}");
        let our_size = our_rest.split(' ').next();
        let their_size = their_rest.split(' ').next();
        assert_eq!(our_size, their_size, "calcsize for {case:?}");
        if !case.0.contains(['e', 'f', 'd']) {
            assert_eq!(our_rest, their_rest, "unpacked values for {case:?}");
        }
    }
    assert_eq!(ours.stdout.lines().count(), CASES.len());
    assert_eq!(theirs.lines().count(), CASES.len());
}

#[test]
fn floats_unpack_to_the_same_values() {
    let out = common::run(&["-e", r#"print(unpack("<efd", pack("<efd", -2.5, 100.25, 1e300)));"#]);
    assert_eq!(out.stdout.trim(), "[-2.5, 100.25, 1e300]", "{}", out.stderr);
}

#[test]
fn bad_formats_and_values_are_struct_errors() {
    for (code, expected) in [
        (r#"pack("!Z", 1)"#, "struct.error: bad char in struct format: 'Z'"),
        (
            r#"pack("!HH", 1)"#,
            "struct.error: pack expected 2 items for packing (got 1)",
        ),
        (
            r#"pack("!H", 1, 2)"#,
            "struct.error: pack expected 1 items for packing (got 2)",
        ),
        (
            r#"pack("!B", 256)"#,
            "struct.error: 'B' format requires 0 <= number <= 255",
        ),
        (
            r#"pack("!b", -129)"#,
            "struct.error: 'b' format requires -128 <= number <= 127",
        ),
        (
            r#"pack("!H", "x")"#,
            "struct.error: required argument is not an integer",
        ),
        (
            r#"pack("!c", "xy")"#,
            "struct.error: char format requires a bytes object of length 1",
        ),
        (
            r#"pack("!f", 1e300)"#,
            "OverflowError: float too large to pack with f format",
        ),
        (
            r#"unpack("!I", blob(3))"#,
            "struct.error: unpack requires a buffer of 4 bytes",
        ),
        (
            r#"unpack_from("!I", blob(3), 1)"#,
            "struct.error: unpack_from requires a buffer of at least 5 bytes",
        ),
        (
            r#"unpack("<Q", pack("<q", -1))"#,
            "OverflowError: 18446744073709551615 does not fit",
        ),
        (
            r#"calcsize("3")"#,
            "struct.error: repeat count given without format specifier",
        ),
        (r#"pack("!H", [1])"#, "struct.error: cannot pack an array"),
    ] {
        let out = common::run(&["-e", code]);
        assert_eq!(out.status.code(), Some(1), "{code}");
        assert!(
            out.stderr.starts_with(&format!("error: {expected}")),
            "{code}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
    }
}

#[test]
fn hexdump_shows_offsets_hex_and_text() {
    let out = common::run(&["-e", r#"print(hexdump(pack("!H5sb", 1, "hello", 0)));"#]);
    assert_eq!(
        out.stdout,
        "00000000  00 01 68 65 6c 6c 6f 00                           |..hello.|\n00000008\n\n"
    );
}
