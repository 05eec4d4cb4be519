//! Errors in a student's terms: a call with the wrong types says which
//! argument should be what, in script types (`int`, `blob`, `socket`),
//! never Rust's; an unknown name suggests the close ones; a habit from
//! Python (tuples, `b"..."`, unpacking, `True`, `def`) gets a hint in
//! Rhai's terms.

use crate::package::docs;
use crate::package::show::script_type;

/// The message and hint for Rhai's "Function not found: NAME (TYPES)".
/// `is_variable` tells which names are variables: calling a variable
/// that holds a closure is Python's `f(x)`, Rhai's `f.call(x)`.
pub fn function_not_found(signature: &str, is_variable: impl Fn(&str) -> bool) -> (String, Option<String>) {
    let (name, given) = parse_call(signature);
    let forms = docs::functions()
        .get(&name)
        .map(|d| d.signatures.clone())
        .or_else(|| docs::builtins().get(&name).cloned())
        .unwrap_or_default();
    let shown = format!("{name}({})", given.join(", "));
    if forms.is_empty() {
        let close = docs::similar(&name);
        let hint = if is_variable(&name) {
            let args = match given.len() {
                1 => "x".to_string(),
                n => (1..=n).map(|i| format!("x{i}")).collect::<Vec<_>>().join(", "),
            };
            Some(format!(
                "{name} is a variable; if it holds a function (a closure such as |x| x + 1), call it as {name}.call({args})"
            ))
        } else {
            (!close.is_empty()).then(|| {
                format!(
                    "did you mean {}? help({}) shows how to call it",
                    close.join(", "),
                    close[0]
                )
            })
        };
        return (format!("NameError: there is no function {shown}"), hint);
    }
    let hint = Some(format!(
        "{name} takes: {}; help({name}) explains them",
        plain_forms(&forms).join("  or  ")
    ));
    let same_arity: Vec<Vec<(String, String)>> = forms
        .iter()
        .map(|f| params(f))
        .filter(|p| p.len() == given.len() && !p.is_empty())
        .collect();
    if same_arity.is_empty() {
        let count = match given.len() {
            1 => "1 argument".to_string(),
            n => format!("{n} arguments"),
        };
        return (format!("TypeError: {name} cannot take {count} ({shown})"), hint);
    }
    // The positions where each form disagrees with what was given.
    let wrong: Vec<Vec<usize>> = same_arity
        .iter()
        .map(|p| (0..given.len()).filter(|&i| !accepts(&p[i].1, &given[i])).collect())
        .collect();
    if let Some(position) = wrong.first().filter(|w| w.len() == 1).map(|w| w[0])
        && wrong.iter().all(|w| w.as_slice() == [position])
    {
        let mut wanted: Vec<String> = same_arity.iter().map(|p| p[position].1.clone()).collect();
        wanted.dedup();
        let wanted = wanted.iter().map(|t| with_article(t)).collect::<Vec<_>>().join(" or ");
        let got = &given[position];
        let message = if position == 0 && same_arity.iter().all(|p| p[0].0 != "format") {
            format!("TypeError: {name} works on {wanted}, not {}", with_article(got))
        } else {
            let param = &same_arity[0][position].0;
            format!(
                "TypeError: {name}'s {param} must be {wanted}, not {}",
                with_article(got)
            )
        };
        return (message, hint);
    }
    (
        format!("TypeError: no form of {name} takes ({})", given.join(", ")),
        hint,
    )
}

/// `"sendto (Socket, i64, &str | ImmutableString | String)"` as the name
/// and the script types of the arguments.
fn parse_call(signature: &str) -> (String, Vec<String>) {
    let (name, rest) = signature.split_once(' ').unwrap_or((signature, ""));
    let inner = rest.trim().trim_start_matches('(').trim_end_matches(')');
    let given = split_top(inner)
        .iter()
        .map(|t| script_type(t.trim()).to_string())
        .collect();
    (name.to_string(), given)
}

/// `"sendto(sock: Socket, data: Blob, addr: Dynamic) -> i64"` as
/// (name, script type) pairs.
fn params(form: &str) -> Vec<(String, String)> {
    let Some(open) = form.find('(') else { return Vec::new() };
    let close = form.rfind(')').unwrap_or(form.len());
    split_top(&form[open + 1..close])
        .iter()
        .filter_map(|p| {
            let (name, ty) = p.split_once(':')?;
            Some((name.trim().to_string(), script_type(ty.trim()).to_string()))
        })
        .collect()
}

/// Forms as a student would write them: `sendto(data, address)`.
fn plain_forms(forms: &[String]) -> Vec<String> {
    forms
        .iter()
        .map(|f| {
            let name = f.split('(').next().unwrap_or(f);
            let ps = params(f);
            if ps.is_empty() {
                return f.split(" -> ").next().unwrap_or(f).to_string();
            }
            let names: Vec<String> = ps.iter().map(|(n, t)| format!("{n}: {t}")).collect();
            format!("{name}({})", names.join(", "))
        })
        .collect()
}

/// Splits at commas outside brackets (`Result<T, E>`).
fn split_top(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

fn accepts(wanted: &str, given: &str) -> bool {
    wanted == given || wanted == "any value" || (wanted == "float" && given == "int")
}

fn with_article(ty: &str) -> String {
    match ty {
        "()" => "() (nothing)".to_string(),
        "any value" => ty.to_string(),
        t if t.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {t}"),
        t => format!("a {t}"),
    }
}

/// A hint for a line written the way Python would have it, if it is.
/// True if `code` has a Python bytes literal, `b"..."` or `b'...'`: a `b`
/// that starts a word, outside any string.
fn has_bytes_literal(code: &str) -> bool {
    let chars: Vec<char> = code.chars().collect();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == '\\' && q != '`' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '`' => quote = Some(c),
            None => {
                let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
                if c == 'b' && starts_word && matches!(chars.get(i + 1), Some('"' | '\'')) {
                    return true;
                }
            }
        }
        i += 1;
    }
    false
}

pub fn python_habit(line: &str) -> Option<&'static str> {
    let code = line.split("//").next().unwrap_or(line);
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if has_bytes_literal(code) {
        return Some("Rhai has no b\"...\" literals: write \"hi\".encode() for bytes (a blob)");
    }
    let unpacks = compact
        .split(';')
        .any(|stmt| stmt.starts_with("let") && stmt.contains(',') && stmt.find(',') < stmt.find('='));
    if unpacks {
        return Some(
            "Rhai cannot unpack a pair: write `let c = s.accept();` and use c (it is the connection) and c.addr, \
             or `let m = s.recvfrom(1024);` and use m.data and m.addr",
        );
    }
    // A parenthesis that is not a call's (no name before it) holding a
    // string and a comma: Python's ("host", port).
    let tuple = compact.match_indices("(\"").any(|(at, _)| {
        let before = compact[..at].chars().last();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && compact[at..].contains("\",")
    });
    if tuple {
        return Some("Rhai has no tuples: write an address as \"127.0.0.1:9000\" or [\"127.0.0.1\", 9000]");
    }
    if compact.starts_with("def") {
        return Some("functions are written `fn name(a, b) { ... }`");
    }
    if compact.starts_with("elif") || compact.contains("}elif") {
        return Some("write `else if` rather than `elif`");
    }
    if code.trim_end().ends_with(':') {
        return Some("blocks are written with braces: `if x { ... }`, `while x { ... }`, `fn f() { ... }`");
    }
    if code.contains('\'') {
        return Some("strings use double quotes (\"hi\"); single quotes are for one character ('h')");
    }
    None
}

/// A hint for a name Python has and Rhai spells otherwise.
pub fn python_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "True" | "False" => "Rhai writes true and false in lower case",
        "None" => "Rhai's \"nothing\" is () (a unit value): `if x == () { ... }`",
        "self" => "Rhai has no classes; pass the value as a parameter, or use an object map #{ ... }",
        "len" => "call it as a method: data.len()",
        "str" => "turn a value into text with x.to_string() or `${x}` in a back-tick string",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_argument_is_named_in_script_types() {
        let (message, hint) = function_not_found("sendto (Socket, i64, &str | ImmutableString | String)", |_| false);
        assert_eq!(
            message,
            "TypeError: sendto's data must be a blob or a string, not an int"
        );
        assert!(hint.is_some_and(|h| h.contains("sendto(sock: socket, data: blob, addr: any value)")));
        let (message, _) = function_not_found("recv (i64, i64)", |_| false);
        assert_eq!(message, "TypeError: recv works on a socket, not an int");
    }

    #[test]
    fn unknown_names_suggest_close_ones_and_no_rust_type_leaks() {
        let (message, hint) = function_not_found("prnt (&str | ImmutableString | String)", |_| false);
        assert_eq!(message, "NameError: there is no function prnt(string)");
        assert!(hint.is_some_and(|h| h.starts_with("did you mean print")));
        for signature in ["recv (Socket, f64, bool)", "bind (Socket)", "sleep (Array)"] {
            let (message, hint) = function_not_found(signature, |_| false);
            for rust in ["i64", "ImmutableString", "&str", "Dynamic", "Array"] {
                assert!(!message.contains(rust), "{message}");
                assert!(!hint.as_deref().unwrap_or("").contains(rust), "{hint:?}");
            }
        }
    }

    #[test]
    fn calling_a_variable_suggests_call() {
        let (message, hint) = function_not_found("handler (i64)", |name| name == "handler");
        assert_eq!(message, "NameError: there is no function handler(int)");
        assert!(hint.is_some_and(|h| h.contains("call it as handler.call(x)")));
        let (_, hint) = function_not_found("handler (i64)", |_| false);
        assert_eq!(hint, None);
    }

    #[test]
    fn python_habits_get_hints() {
        assert!(python_habit("let a = (\"127.0.0.1\", 9000);").is_some_and(|h| h.contains("no tuples")));
        assert!(python_habit("let x = b\"hi\";").is_some_and(|h| h.contains(".encode()")));
        assert!(python_habit("s.sendto(b'hi', a);").is_some_and(|h| h.contains(".encode()")));
        // A mode string or a word ending in b is not a bytes literal.
        assert_eq!(python_habit("let f = open(\"x\", \"wb\"); f.sync();"), None);
        assert_eq!(python_habit("let verb\"x\""), None);
        assert!(python_habit("let conn, addr = s.accept();").is_some_and(|h| h.contains("cannot unpack")));
        assert!(python_habit("let x = 1;").is_none());
    }
}
