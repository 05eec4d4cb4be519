//! How much a script may do: Rhai's safety limits, plus the caps that
//! protect the process from allocations a script or a peer sizes.

use rhai::Engine;
use serde::{Deserialize, Serialize};

/// How much a script may do, settable from the command line
/// (`repl --max-operations N ...`). Zero means unlimited, which is the
/// default because course servers run until stopped.
///
/// The sizes bound memory: no string, array, blob or map a script builds
/// (received data included) can grow past them.
///
/// ```
/// use sockrepl::{Limits, Session};
///
/// let limits = Limits { operations: 10_000, ..Limits::NONE };
/// let session = Session::builder().limits(limits).build()?;
/// let outcome = session.run_source("demo", "loop { }");
/// assert!(matches!(outcome, sockrepl::Outcome::Failed(text) if text.contains("--max-operations")));
/// # Ok::<(), sockrepl::StartError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Operations one run may take (a task or process counts its own).
    pub operations: u64,
    /// Bytes in one string.
    pub string_size: usize,
    /// Items in one array, or bytes in one blob.
    pub array_size: usize,
    /// Entries in one object map.
    pub map_size: usize,
    /// Nested function calls; zero means [`DEFAULT_CALL_DEPTH`].
    pub call_depth: usize,
}

/// How deep functions may call each other unless told otherwise. Rhai's own
/// default differs between debug and release builds (8 and 64); a script
/// should not behave differently in the two.
pub const DEFAULT_CALL_DEPTH: usize = 64;

/// The most bytes any one value sized by a script or a peer may take
/// (a `pack` result, a `recv` buffer, a file read), whatever the limits
/// say: far beyond any course program, far below what would abort the
/// process when allocation fails.
pub const HARD_CAP: usize = 1 << 30;

impl Default for Limits {
    fn default() -> Limits {
        Limits::NONE
    }
}

impl Limits {
    /// No limits but the default call depth.
    pub const NONE: Limits = Limits {
        operations: 0,
        string_size: 0,
        array_size: 0,
        map_size: 0,
        call_depth: 0,
    };

    /// Sets these limits on `engine`.
    pub fn apply(&self, engine: &mut Engine) {
        engine.set_max_operations(self.operations);
        engine.set_max_string_size(self.string_size);
        engine.set_max_array_size(self.array_size);
        engine.set_max_map_size(self.map_size);
        engine.set_max_call_levels(self.call_depth());
    }

    /// How deep functions may call each other under these limits.
    pub fn call_depth(&self) -> usize {
        match self.call_depth {
            0 => DEFAULT_CALL_DEPTH,
            depth => depth,
        }
    }
}
