//! A pseudo-terminal running the shell, with its output rendered by a
//! terminal emulator (vt100) so that assertions are about what a person
//! would see on the screen. Every wait has a deadline.

use std::io::Write;
use std::time::{Duration, Instant};

use expectrl::Session;

pub const ROWS: u16 = 40;
pub const COLS: u16 = 120;

pub struct Screen {
    pub session: expectrl::session::OsSession,
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
}

impl Screen {
    pub fn start(extra_env: &[(&str, &str)]) -> Screen {
        Self::start_with(extra_env, &[])
    }

    pub fn start_with(extra_env: &[(&str, &str)], args: &[&str]) -> Screen {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_repl"));
        cmd.args(args);
        let history = std::env::temp_dir().join(format!("sockrepl-test-history-{}", std::process::id()));
        cmd.env("XDG_DATA_HOME", history).env("TERM", "xterm");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut session = Session::spawn(cmd).unwrap_or_else(|e| panic!("cannot start repl in a pty: {e}"));
        let _ = session.get_process_mut().set_window_size(COLS, ROWS);
        let mut screen = Screen {
            session,
            parser: vt100::Parser::new(
                ROWS.try_into().unwrap_or(std::num::NonZeroU16::MIN),
                COLS.try_into().unwrap_or(std::num::NonZeroU16::MIN),
                0,
            ),
            raw: Vec::new(),
        };
        screen.wait_for("> ");
        screen
    }

    pub fn pump(&mut self) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.session.try_read(&mut buf) {
            if n == 0 {
                break;
            }
            self.parser.process(&buf[..n]);
            self.raw.extend_from_slice(&buf[..n]);
        }
    }

    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    /// Waits (at most 10 s) until the screen shows `text`.
    pub fn wait_for(&mut self, text: &str) {
        let start = Instant::now();
        loop {
            self.pump();
            if self.contents().contains(text) {
                return;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("screen never showed {text:?}; it shows:\n{}", self.contents());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `line` again and again (at most 10 s) until the screen shows
    /// `text`: for a state that is reached soon but not at once, such as
    /// a task becoming blocked, seen through `:tasks`.
    pub fn repeat_until(&mut self, line: &str, text: &str) {
        let start = Instant::now();
        loop {
            self.line(line);
            self.pump();
            if self.contents().contains(text) {
                return;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!(
                    "screen never showed {text:?} after {line:?}; it shows:\n{}",
                    self.contents()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most 10 s) until the shell has exited.
    pub fn wait_for_exit(&mut self) {
        let start = Instant::now();
        while self.session.get_process().is_alive().unwrap_or(false) {
            self.pump();
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the shell did not exit; it shows:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn type_text(&mut self, text: &str) {
        self.session
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = self.session.flush();
        std::thread::sleep(Duration::from_millis(50));
    }

    pub fn line(&mut self, text: &str) {
        self.type_text(text);
        self.type_text("\r");
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.session.write_all(b"\x04");
        std::thread::sleep(Duration::from_millis(100));
        let _ = self
            .session
            .get_process_mut()
            .kill(expectrl::process::unix::Signal::SIGKILL);
    }
}
