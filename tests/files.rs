//! Files and paths as Python's `open()`, `os` and `os.path` give them.

mod common;

use common::ok;

#[test]
fn write_flush_fsync_read_and_the_folder_functions() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().display().to_string();
    let out = ok(&format!(
        r#"let root = "{root}";
           let sub = path_join(root, "a/b");
           makedirs(sub);
           let name = path_join(sub, "f.bin");
           let f = open(name, "wb");
           f.write("hello ".encode());
           f.write("world");
           f.flush();
           fsync(f);
           f.close();
           print(getsize(name));
           print(open(name, "rb").read().decode());
           print(listdir(sub));
           rename(name, path_join(root, "g.bin"));
           print(listdir(root));
           try {{ rmdir(root); }} catch (e) {{ print(e.split(" (")[0]); }}
           rmdir(sub);
           rmdir(path_join(root, "a"));
           remove(path_join(root, "g.bin"));
           print(listdir(root));
           try {{ f.fsync(); }} catch (e) {{ print(e.split("\n")[0]); }}"#
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "11");
    assert_eq!(lines[1], "hello world");
    assert_eq!(lines[2], r#"["f.bin"]"#);
    assert_eq!(lines[3], r#"["a", "g.bin"]"#);
    assert_eq!(lines[4], "OSError: [Errno 39] Directory not empty");
    assert_eq!(lines[5], "[]");
    assert!(
        lines[6].starts_with("ValueError: I/O operation on closed file"),
        "{out}"
    );
}

#[test]
fn sync_is_reserved_and_the_hint_says_fsync() {
    let err = common::fails(&["-e", r#"let f = open("/dev/null", "wb"); f.sync();"#]);
    assert!(
        err.contains("hint: sync is a word Rhai keeps for itself; to flush a file to disk, call fsync(f)"),
        "{err}"
    );
    assert!(!err.contains("b\"...\""), "a mode string is not a bytes literal: {err}");
}
