//! The REPL's `:commands`.

/// Each command and what it does, for `:help` and completion.
pub const COMMANDS: &[(&str, &str)] = &[
    (":help", ":help [name]   this list, or the documentation of a function"),
    (
        ":tasks",
        ":tasks         running tasks and processes, and what each waits for",
    ),
    (":sockets", ":sockets       open sockets with their addresses and state"),
    (
        ":kill",
        ":kill N        cancel task N (or terminate process with pid N)",
    ),
    (":load", ":load FILE     run a script in this session"),
    (":save", ":save FILE     save what you typed in this session"),
    (":vars", ":vars          variables and their values"),
    (
        ":trace",
        ":trace [FILE|off] print socket events as they happen, or record them in FILE",
    ),
    (":reset", ":reset         forget variables and functions"),
    (":quit", ":quit          leave (Ctrl-D does too)"),
];

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `:help [name]`
    Help(Option<String>),
    /// `:tasks`
    Tasks,
    /// `:sockets`
    Sockets,
    /// `:kill N`
    Kill(u64),
    /// `:load FILE`
    Load(String),
    /// `:save FILE`
    Save(String),
    /// `:vars`
    Vars,
    /// `:trace [FILE|off]`
    Trace(Option<String>),
    /// `:reset`
    Reset,
    /// `:quit`
    Quit,
}

/// Parses `:name args`; the error says what was wrong.
pub fn parse(line: &str) -> Result<Command, String> {
    let mut words = line.split_whitespace();
    let name = words.next().unwrap_or_default();
    let arg = words.next().map(str::to_string);
    let need = |what: &str| arg.clone().ok_or_else(|| format!("{name} needs {what}"));
    Ok(match name {
        ":help" | ":h" => Command::Help(arg),
        ":tasks" => Command::Tasks,
        ":sockets" => Command::Sockets,
        ":kill" => Command::Kill(
            need("a task id or process pid (see :tasks)")?
                .parse()
                .map_err(|_| format!("{name} needs a number (see :tasks)"))?,
        ),
        ":load" => Command::Load(need("a file name")?),
        ":save" => Command::Save(need("a file name")?),
        ":vars" => Command::Vars,
        ":trace" => Command::Trace(arg),
        ":reset" => Command::Reset,
        ":quit" | ":q" | ":exit" => Command::Quit,
        _ => return Err(format!("unknown command {name}; :help lists the commands")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_and_explains_mistakes() {
        assert_eq!(parse(":kill 3"), Ok(Command::Kill(3)));
        assert_eq!(parse(":help recv"), Ok(Command::Help(Some("recv".into()))));
        assert!(parse(":kill x").is_err_and(|e| e.contains("needs a number")));
        assert!(parse(":load").is_err_and(|e| e.contains("needs a file name")));
        assert!(parse(":nope").is_err_and(|e| e.contains("unknown command")));
    }
}
