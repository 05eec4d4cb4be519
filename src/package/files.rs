//! Files and paths, for the programs that move them (TFTP): Python's
//! `open()` and a few `os` / `os.path` functions. File I/O is local and
//! quick, so it runs directly on the script's thread.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use rhai::plugin::*;
use rhai::{Array, Blob, INT};

use crate::error::ScriptError;

/// An open file; copies refer to the same file.
#[derive(Clone)]
pub struct File {
    path: String,
    mode: String,
    inner: Arc<Mutex<Option<fs::File>>>,
}

impl File {
    fn with<T>(&self, f: impl FnOnce(&mut fs::File) -> std::io::Result<T>, doing: &str) -> Result<T, ScriptError> {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let file = guard.as_mut().ok_or_else(|| {
            ScriptError::value(format!("I/O operation on closed file {}", self.path)).hint("open the file again")
        })?;
        f(file).map_err(|e| ScriptError::os(&e, &format!("{doing} {}", self.path)))
    }
}

fn open_file(path: &str, mode: &str) -> Result<File, ScriptError> {
    let mut options = fs::OpenOptions::new();
    match mode.replace('b', "").as_str() {
        "r" => options.read(true),
        "w" => options.write(true).create(true).truncate(true),
        "a" => options.append(true).create(true),
        "x" => options.write(true).create_new(true),
        "r+" => options.read(true).write(true),
        "w+" => options.read(true).write(true).create(true).truncate(true),
        _ => {
            return Err(ScriptError::value(format!("invalid mode: {mode:?}")).hint(
                "use \"rb\" to read, \"wb\" to write (replacing), \"ab\" to append, \"xb\" to create a new file",
            ));
        }
    };
    let file = options
        .open(path)
        .map_err(|e| ScriptError::os(&e, &format!("open {path}")))?;
    Ok(File {
        path: path.to_string(),
        mode: mode.to_string(),
        inner: Arc::new(Mutex::new(Some(file))),
    })
}

fn os<T>(result: std::io::Result<T>, doing: &str, path: &str) -> Result<T, Box<EvalAltResult>> {
    result.map_err(|e| ScriptError::os(&e, &format!("{doing} {path}")).into())
}

/// Script functions for files and paths.
#[export_module]
pub mod files_api {
    use super::*;

    /// An open file.
    pub type File = super::File;

    /// Opens a file: mode `"rb"` reads, `"wb"` writes (replacing), `"ab"`
    /// appends, `"xb"` creates a new file only. Data is always bytes.
    ///
    /// ```rhai
    /// let f = open("notes.txt", "wb");
    /// f.write("hello".encode());
    /// f.close();
    /// ```
    #[rhai_fn(return_raw)]
    pub fn open(path: &str, mode: &str) -> Result<File, Box<EvalAltResult>> {
        Ok(open_file(path, mode)?)
    }

    /// Opens a file for reading.
    #[rhai_fn(name = "open", return_raw)]
    pub fn open_read(path: &str) -> Result<File, Box<EvalAltResult>> {
        Ok(open_file(path, "rb")?)
    }

    /// Reads up to `n` bytes; an empty blob at the end of the file.
    ///
    /// ```rhai
    /// let chunk = f.read(512);
    /// ```
    #[rhai_fn(global, name = "read", return_raw, pure)]
    pub fn read_n(f: &mut File, n: INT) -> Result<Blob, Box<EvalAltResult>> {
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= crate::package::net::MAX_RECV)
            .ok_or_else(|| ScriptError::value(format!("cannot read {n} bytes at once")))?;
        let mut buf = vec![0u8; n];
        let got = f.with(
            |file| {
                let mut total = 0;
                while total < n {
                    match file.read(&mut buf[total..])? {
                        0 => break,
                        k => total += k,
                    }
                }
                Ok(total)
            },
            "read",
        )?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Reads the rest of the file.
    #[rhai_fn(global, name = "read", return_raw, pure)]
    pub fn read_all(f: &mut File) -> Result<Blob, Box<EvalAltResult>> {
        let mut buf = Vec::new();
        f.with(|file| file.read_to_end(&mut buf), "read")?;
        Ok(buf)
    }

    /// Writes bytes; returns how many.
    #[rhai_fn(global, name = "write", return_raw, pure)]
    pub fn write(f: &mut File, data: Blob) -> Result<INT, Box<EvalAltResult>> {
        f.with(|file| file.write_all(&data), "write")?;
        Ok(INT::try_from(data.len()).unwrap_or(INT::MAX))
    }

    /// Writes a string as UTF-8.
    #[rhai_fn(global, name = "write", return_raw, pure)]
    pub fn write_str(f: &mut File, text: &str) -> Result<INT, Box<EvalAltResult>> {
        f.with(|file| file.write_all(text.as_bytes()), "write")?;
        Ok(INT::try_from(text.len()).unwrap_or(INT::MAX))
    }

    /// Moves to byte `offset` from the start.
    #[rhai_fn(global, return_raw, pure)]
    pub fn seek(f: &mut File, offset: INT) -> Result<INT, Box<EvalAltResult>> {
        let offset = u64::try_from(offset).map_err(|_| ScriptError::value("negative seek position"))?;
        let at = f.with(|file| file.seek(SeekFrom::Start(offset)), "seek")?;
        Ok(INT::try_from(at).unwrap_or(INT::MAX))
    }

    /// The current byte position.
    #[rhai_fn(global, return_raw, pure)]
    pub fn tell(f: &mut File) -> Result<INT, Box<EvalAltResult>> {
        let at = f.with(|file| file.stream_position(), "tell")?;
        Ok(INT::try_from(at).unwrap_or(INT::MAX))
    }

    /// Hands what was written to the operating system (Python's
    /// `f.flush()`). Writes are not buffered here, so this is already
    /// done; `fsync` is what makes them survive a crash.
    #[rhai_fn(global, return_raw, pure)]
    pub fn flush(f: &mut File) -> Result<(), Box<EvalAltResult>> {
        Ok(f.with(|file| file.flush(), "flush")?)
    }

    /// Waits until what was written is on the disk (Python's
    /// `os.fsync(f.fileno())`): after it, a crash or power cut keeps the
    /// data. A server acknowledges an upload only after this.
    ///
    /// ```rhai
    /// let f = open("upload.part", "wb");
    /// f.write(data);
    /// fsync(f);
    /// f.close();
    /// ```
    #[rhai_fn(global, return_raw, pure)]
    pub fn fsync(f: &mut File) -> Result<(), Box<EvalAltResult>> {
        Ok(f.with(|file| file.sync_all(), "fsync")?)
    }

    /// Closes the file; closing twice is harmless.
    #[rhai_fn(global, name = "close", pure)]
    pub fn close(f: &mut File) {
        f.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// How a file prints.
    #[rhai_fn(global, name = "to_string", name = "to_debug", pure)]
    pub fn file_to_string(f: &mut File) -> String {
        let state = if f.inner.lock().map(|g| g.is_some()).unwrap_or(false) {
            "open"
        } else {
            "closed"
        };
        format!("<file {} mode {:?} {state}>", f.path, f.mode)
    }

    /// True if the path exists (Python's `os.path.exists`).
    pub fn exists(path: &str) -> bool {
        fs::metadata(path).is_ok()
    }

    /// True if the path is a directory.
    pub fn isdir(path: &str) -> bool {
        fs::metadata(path).is_ok_and(|m| m.is_dir())
    }

    /// The size of a file in bytes (Python's `os.path.getsize`).
    #[rhai_fn(return_raw)]
    pub fn getsize(path: &str) -> Result<INT, Box<EvalAltResult>> {
        let len = os(fs::metadata(path), "getsize", path)?.len();
        Ok(INT::try_from(len).unwrap_or(INT::MAX))
    }

    /// The absolute path with `..` and symbolic links resolved (Python's
    /// `os.path.realpath`); the path must exist.
    #[rhai_fn(return_raw)]
    pub fn realpath(path: &str) -> Result<String, Box<EvalAltResult>> {
        Ok(os(fs::canonicalize(path), "realpath", path)?.display().to_string())
    }

    /// Joins path parts with `/` (Python's `os.path.join`).
    ///
    /// ```rhai
    /// let full = path_join(root, name);
    /// ```
    pub fn path_join(a: &str, b: &str) -> String {
        std::path::Path::new(a).join(b).display().to_string()
    }

    /// The directory part of a path (Python's `os.path.dirname`).
    pub fn dirname(path: &str) -> String {
        std::path::Path::new(path)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// Deletes a file (Python's `os.remove`).
    #[rhai_fn(return_raw)]
    pub fn remove(path: &str) -> Result<(), Box<EvalAltResult>> {
        os(fs::remove_file(path), "remove", path)
    }

    /// Renames a file (Python's `os.rename`).
    #[rhai_fn(return_raw)]
    pub fn rename(from: &str, to: &str) -> Result<(), Box<EvalAltResult>> {
        os(fs::rename(from, to), "rename", from)
    }

    /// Deletes an empty directory (Python's `os.rmdir`).
    #[rhai_fn(return_raw)]
    pub fn rmdir(path: &str) -> Result<(), Box<EvalAltResult>> {
        os(fs::remove_dir(path), "rmdir", path)
    }

    /// Creates a directory and any missing parents (Python's
    /// `os.makedirs(path, exist_ok=True)`).
    #[rhai_fn(return_raw)]
    pub fn makedirs(path: &str) -> Result<(), Box<EvalAltResult>> {
        os(fs::create_dir_all(path), "makedirs", path)
    }

    /// The system's folder for temporary files (Python's
    /// `tempfile.gettempdir()`).
    pub fn gettempdir() -> String {
        std::env::temp_dir().display().to_string()
    }

    /// The names in a directory, sorted (Python's `os.listdir`).
    #[rhai_fn(return_raw)]
    pub fn listdir(path: &str) -> Result<Array, Box<EvalAltResult>> {
        let mut names: Vec<String> = os(fs::read_dir(path), "listdir", path)?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names.into_iter().map(Into::into).collect())
    }
}
