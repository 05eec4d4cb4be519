//! The script API's documentation, read from the engine's own function
//! metadata (the `///` comments of the plugin modules), so `help()`, the
//! REPL's completion and hints, and the book's reference all come from one
//! source and cannot drift from the code.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rhai::Engine;
use rhai::packages::Package;

use super::SockPackage;

/// One script function: every signature it has, its description and an
/// example.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FnDoc {
    /// The name.
    pub name: String,
    /// Every signature, one per overload.
    pub signatures: Vec<String>,
    /// The text of the doc comment, without the example.
    pub doc: String,
    /// The first ```rhai example in the doc comment, if any.
    pub example: String,
}

#[derive(serde::Deserialize)]
struct Metadata {
    functions: Vec<FnMeta>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FnMeta {
    name: String,
    signature: String,
    #[serde(default)]
    doc_comments: Vec<String>,
}

/// Splits `/// ...` comment lines into the text and the first example.
fn split_comments(lines: &[String]) -> (String, String) {
    let mut doc = Vec::new();
    let mut example = Vec::new();
    let mut in_code = false;
    let mut seen_code = false;
    for raw in lines.iter().flat_map(|c| c.lines()) {
        let line = raw.trim_start().trim_start_matches("///");
        let line = line.strip_prefix(' ').unwrap_or(line);
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            seen_code = true;
            continue;
        }
        if in_code {
            if example.is_empty() || seen_code {
                example.push(line.to_string());
            }
        } else if !seen_code {
            doc.push(line.to_string());
        }
    }
    (doc.join("\n").trim().to_string(), example.join("\n").trim().to_string())
}

/// `-> Result<T, Box<EvalAltResult>>` is how Rust reports errors; a script
/// sees `-> T`.
fn clean_signature(raw: &str) -> String {
    let mut signature = raw
        .replace("&mut ", "")
        .replace("ImmutableString", "String")
        .replace("&str", "String");
    if let Some(at) = signature.find("-> Result<") {
        let inner = &signature[at + "-> Result<".len()..];
        if let Some(comma) = inner.rfind(", Box<EvalAltResult>>") {
            let ok = inner[..comma].to_string();
            signature = format!("{}-> {ok}", &signature[..at]);
        }
    }
    signature.replace("-> ()", "").trim_end().to_string()
}

/// Internal helpers (operators, property accessors, `to_string`) that a
/// student does not call by name.
fn is_internal(name: &str) -> bool {
    name.starts_with("get$")
        || name.starts_with("set$")
        || name.starts_with("index$")
        || matches!(name, "to_string" | "to_debug" | "==" | "!=")
}

/// Every function of the script API, by name.
pub fn functions() -> &'static BTreeMap<String, FnDoc> {
    static DOCS: OnceLock<BTreeMap<String, FnDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut engine = Engine::new_raw();
        SockPackage::new().register_into_engine(&mut engine);
        let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
        let mut metadata: Metadata = serde_json::from_str(&json).unwrap_or(Metadata { functions: Vec::new() });
        // The engine lists functions in hash order, which varies between
        // runs; sort so each name's doc comes from the same overload.
        metadata
            .functions
            .sort_by(|a, b| (&a.name, &a.signature).cmp(&(&b.name, &b.signature)));
        let mut docs: BTreeMap<String, FnDoc> = BTreeMap::new();
        // Per name, (signature, doc) of each overload that says something
        // of its own.
        let mut overloads: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for f in metadata.functions {
            if is_internal(&f.name) {
                continue;
            }
            let entry = docs.entry(f.name.clone()).or_insert_with(|| FnDoc {
                name: f.name.clone(),
                ..FnDoc::default()
            });
            let signature = clean_signature(&f.signature);
            if !entry.signatures.contains(&signature) {
                entry.signatures.push(signature.clone());
            }
            let (doc, example) = split_comments(&f.doc_comments);
            let own = overloads.entry(f.name.clone()).or_default();
            if !doc.is_empty() && !own.iter().any(|(_, d)| *d == doc) {
                own.push((signature.clone(), doc));
            }
            if entry.example.is_empty() {
                entry.example = example;
            }
        }
        // One text, or each overload's text under its signature.
        for (name, own) in overloads {
            let Some(entry) = docs.get_mut(&name) else { continue };
            entry.doc = match own.as_slice() {
                [] => String::new(),
                [(_, doc)] => doc.clone(),
                many => many
                    .iter()
                    .map(|(signature, doc)| format!("- `{signature}`: {}", doc.replace('\n', "\n  ")))
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
        }
        // `spawn`, `pack`, `process` and `help` are syntax (they take any
        // number of arguments; spawn is a reserved word in Rhai), so the
        // metadata does not list them.
        for doc in [
            FnDoc {
                name: "spawn".into(),
                signatures: vec![
                    "spawn(closure) -> Task".into(),
                    "spawn(function, args...) -> Task".into(),
                ],
                doc: "Runs a function as a task, at the same time as the caller (Python's\n\
                      `Thread(target=f, args=...).start()`). The task gets copies of its arguments\n\
                      and captured variables; sockets, locks, queues and `value()` cells are\n\
                      handles and stay shared. Returns a task with `join()`, `join(secs)`,\n\
                      `is_alive()`, `cancel()`, `name`, `id`, `daemon`, `state`."
                    .into(),
                example: "let t = spawn(|| 6 * 7);\nprint(t.join());   // 42".into(),
            },
            FnDoc {
                name: "pack".into(),
                signatures: vec!["pack(format, values...) -> Blob".into()],
                doc: "Packs values into bytes like Python's `struct.pack`: numbers, booleans, strings\n\
                      and blobs, one per code of the format (`!` network order, `H` 16-bit unsigned,\n\
                      `5s` five bytes, ...). Takes any number of values; `pack_array(format, values)`\n\
                      takes them as an array."
                    .into(),
                example: "let request = pack(`!H${name.len()}sb5sb`, 1, name, 0, \"octet\", 0);".into(),
            },
            FnDoc {
                name: "process".into(),
                signatures: vec![
                    "process(function) -> Process".into(),
                    "process(function, args...) -> Process".into(),
                ],
                doc: "Runs a function of the script in a new OS process (Python's\n\
                      `Process(target=f, args=...).start()`). The process gets copies of the arguments;\n\
                      sockets passed to it are inherited and work there, queues are shared. Returns a\n\
                      process with `pid`, `name`, `join()`, `join(secs)`, `is_alive()`, `terminate()`,\n\
                      `kill()`, `exitcode`, `daemon`."
                    .into(),
                example: "fn work(n) { print(`child ${pid()} got ${n}`); }\nlet p = process(work, 7);\np.join();"
                    .into(),
            },
            FnDoc {
                name: "print".into(),
                signatures: vec!["print()".into(), "print(value)".into(), "print(values...)".into()],
                doc: "Prints its values separated by spaces, then a new line, like Python's\n\
                      `print(a, b)`; `print()` prints an empty line. Bytes print as `b\"...\"`. Output\n\
                      of a task appears tagged with the task's name in the shell."
                    .into(),
                example: "print(\"received\", data.len(), \"bytes from\", m.addr);".into(),
            },
            FnDoc {
                name: "type_of".into(),
                signatures: vec!["type_of(value) -> String".into()],
                doc: "The type of a value as text: \"i64\", \"string\", \"blob\", \"array\", \"Socket\", ...".into(),
                example: "print(type_of(data));".into(),
            },
            FnDoc {
                name: "help".into(),
                signatures: vec!["help()".into(), "help(name)".into()],
                doc: "Lists every function, or shows one's forms, description and example.".into(),
                example: "help(recvfrom)".into(),
            },
        ] {
            docs.insert(doc.name.clone(), doc);
        }
        for doc in docs.values_mut() {
            doc.signatures.sort();
        }
        docs
    })
}

/// Rhai's own functions (`len`, `type_of`, `to_upper`, ...), by name,
/// with their signatures: they have no doc comments, but `help` and "did
/// you mean" should know them.
pub fn builtins() -> &'static BTreeMap<String, Vec<String>> {
    static BUILTINS: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for signature in Engine::new().gen_fn_signatures(true) {
            let name = signature.split('(').next().unwrap_or_default().to_string();
            let usable = name.chars().next().is_some_and(|c| c.is_alphabetic()) && !name.contains('$');
            if !usable || is_internal(&name) || functions().contains_key(&name) {
                continue;
            }
            let signature = clean_signature(&signature);
            let forms = found.entry(name).or_default();
            if !forms.contains(&signature) {
                forms.push(signature);
            }
        }
        for forms in found.values_mut() {
            forms.sort();
        }
        // Words of the language that read like functions.
        for word in [
            "type_of",
            "print",
            "debug",
            "Fn",
            "call",
            "curry",
            "is_def_var",
            "is_def_fn",
            "eval",
        ] {
            found.entry(word.to_string()).or_default();
        }
        found
    })
}

/// The areas `help()` lists functions under, in the course's order.
const AREAS: &[(&str, &[&str])] = &[
    (
        "Sockets",
        &[
            "socket",
            "bind",
            "listen",
            "accept",
            "connect",
            "send",
            "sendall",
            "sendto",
            "recv",
            "recvfrom",
            "close",
            "shutdown",
            "settimeout",
            "gettimeout",
            "setblocking",
            "setsockopt",
            "getsockopt",
            "getsockname",
            "getpeername",
            "fileno",
            "gethostname",
            "gethostbyname",
        ],
    ),
    (
        "Bytes and text",
        &[
            "encode",
            "decode",
            "pack",
            "pack_array",
            "unpack",
            "unpack_from",
            "calcsize",
            "hexdump",
            "split",
            "join",
        ],
    ),
    (
        "Time and input",
        &["sleep", "time", "strftime", "input", "print", "pid", "exit"],
    ),
    (
        "Tasks and locks",
        &[
            "spawn",
            "join",
            "is_alive",
            "cancel",
            "tasks",
            "current_task",
            "lock",
            "acquire",
            "release",
            "locked",
            "value",
            "local",
        ],
    ),
    (
        "Queues",
        &[
            "queue",
            "put",
            "put_nowait",
            "get",
            "get_nowait",
            "qsize",
            "empty",
            "full",
        ],
    ),
    (
        "Processes",
        &["process", "terminate", "kill", "pool", "apply_async", "map", "ready"],
    ),
    (
        "Files",
        &[
            "open",
            "read",
            "write",
            "seek",
            "tell",
            "exists",
            "isdir",
            "getsize",
            "realpath",
            "path_join",
            "listdir",
            "remove",
            "rename",
            "mkdir",
        ],
    ),
];

/// What `help()` prints: the functions by area, then where to go next.
pub fn overview() -> String {
    let known = functions();
    let mut listed = std::collections::BTreeSet::new();
    let mut out = String::from("Functions, by area (help(name) explains one, e.g. help(recvfrom)):\n");
    for (area, names) in AREAS {
        let names: Vec<&str> = names.iter().copied().filter(|n| known.contains_key(*n)).collect();
        listed.extend(names.iter().copied());
        out.push_str(&format!("  {area}: {}\n", names.join(" ")));
    }
    let rest: Vec<&str> = known
        .keys()
        .map(String::as_str)
        .filter(|n| !listed.contains(n))
        .collect();
    if !rest.is_empty() {
        out.push_str(&format!("  More: {}\n", rest.join(" ")));
    }
    out.push_str("Rhai's own functions (len, type_of, to_upper, contains, ...) have help too.\n");
    out.push_str(":help lists the shell's commands.");
    out
}

/// Documentation for `name`, as text for a terminal.
pub fn help_text(name: &str) -> Option<String> {
    let Some(doc) = functions().get(name) else {
        let forms = builtins().get(name)?;
        let mut out = String::new();
        for form in forms {
            out.push_str(form);
            out.push('\n');
        }
        out.push_str(&format!(
            "\n{name} is part of Rhai itself; the Rhai book (rhai.rs/book) describes it.\n"
        ));
        return Some(out);
    };
    let mut out = String::new();
    for signature in &doc.signatures {
        out.push_str(signature);
        out.push('\n');
    }
    if !doc.doc.is_empty() {
        out.push('\n');
        out.push_str(&doc.doc);
        out.push('\n');
    }
    if !doc.example.is_empty() {
        out.push_str("\nExample:\n");
        for line in doc.example.lines() {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    Some(out)
}

/// The book's function reference, generated from the same metadata.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Function reference\n\n\
         Every function a script can call, generated from the engine's own function\n\
         metadata (the doc comments in `src/package/`). A test fails when this page and\n\
         the engine disagree; `SOCKREPL_BLESS=1 cargo test --test book` rewrites it.\n",
    );
    out.push_str(&format!(
        "\nConstants, with Linux's values: {}.\n",
        super::CONSTANTS
            .iter()
            .map(|(n, _)| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for doc in functions().values() {
        out.push_str(&format!(
            "\n## {}\n\n```text\n{}\n```\n",
            doc.name,
            doc.signatures.join("\n")
        ));
        if !doc.doc.is_empty() {
            out.push_str(&format!("\n{}\n", doc.doc));
        }
        if !doc.example.is_empty() {
            out.push_str(&format!(
                "\n```rhai\n// not runnable: an excerpt that uses names from its context\n{}\n```\n",
                doc.example
            ));
        }
    }
    out
}

/// Function names close to `name`, ours and Rhai's, for "did you mean".
pub fn similar(name: &str) -> Vec<&'static str> {
    let mut found: Vec<(usize, &str)> = functions()
        .keys()
        .chain(builtins().keys().filter(|k| k.len() > 3))
        .map(|k| (distance(name, k), k.as_str()))
        .filter(|(d, k)| *d <= 2 || (name.len() > 2 && k.starts_with(name)))
        .collect();
    found.sort();
    found.dedup_by_key(|(_, k)| *k);
    found.into_iter().take(3).map(|(_, k)| k).collect()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(row[j]).min(cur) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_overload_that_says_something_of_its_own_is_documented() {
        let close = &functions()["close"].doc;
        for (signature, text) in [
            ("close(p: Pool)", "Accepts no more jobs"),
            ("close(sock: Socket)", "Closes the socket"),
        ] {
            assert!(close.contains(&format!("- `{signature}`: {text}")), "{close}");
        }
        assert!(
            !functions()["gethostname"].doc.starts_with("- "),
            "one text needs no list"
        );
    }

    #[test]
    fn every_public_function_has_a_doc() {
        let missing: Vec<&String> = functions()
            .iter()
            .filter(|(_, d)| d.doc.is_empty())
            .map(|(n, _)| n)
            .collect();
        assert!(missing.is_empty(), "functions without a doc comment: {missing:?}");
    }

    #[test]
    fn recvfrom_has_signature_doc_and_example() {
        let text = help_text("recvfrom").unwrap_or_default();
        assert!(text.starts_with("recvfrom(sock: Socket, n: i64) -> Received"), "{text}");
        assert!(text.contains("Receives one datagram"), "{text}");
        assert!(text.contains("Example:\n    let m = s.recvfrom(1024);"), "{text}");
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(similar("recvfrm").first(), Some(&"recvfrom"));
    }
}
