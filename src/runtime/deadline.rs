//! When a wait gives up.
//!
//! Every timeout a script gives (`settimeout`, `join(secs)`,
//! `acquire(secs)`, `get(secs)`, ...) becomes a [`Deadline`] here, in one
//! place, so none of them can overflow `Instant + Duration` (which panics):
//! a deadline too far away to represent means "wait for ever", as it does in
//! practice. Negative and NaN times are a `ValueError`.

use std::time::{Duration, Instant};

use crate::error::ScriptError;

/// The moment a wait gives up, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// A wait with no time limit.
    pub const NEVER: Deadline = Deadline(None);

    /// `timeout` from now; `None` (or a time too far away to represent)
    /// never.
    pub fn after(timeout: Option<Duration>) -> Deadline {
        Deadline(timeout.and_then(|t| Instant::now().checked_add(t)))
    }

    /// `secs` seconds from now, from a script's number.
    pub fn after_secs(secs: f64) -> Result<Deadline, ScriptError> {
        seconds(secs).map(|d| Deadline::after(Some(d)))
    }

    /// True for a deadline that never comes.
    pub fn is_never(&self) -> bool {
        self.0.is_none()
    }

    /// Time left: `None` for never, zero once passed.
    pub fn left(&self) -> Option<Duration> {
        self.0.map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// True once the deadline has passed.
    pub fn passed(&self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }

    /// The moment, for timers that take one (tokio's `sleep_until`).
    pub fn instant(&self) -> Option<Instant> {
        self.0
    }
}

/// A script's number of seconds as a duration. Negative and NaN are a
/// `ValueError`; a time too long to represent is the longest duration
/// (which any deadline then treats as never).
pub fn seconds(secs: f64) -> Result<Duration, ScriptError> {
    if secs.is_nan() || secs < 0.0 {
        return Err(
            ScriptError::value(format!("a time in seconds must be a non-negative number, not {secs}"))
                .hint("use 0 for no waiting, or leave the time out to wait for ever"),
        );
    }
    Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeouts_mean_never_and_do_not_panic() {
        assert!(Deadline::after_secs(1e19).is_ok_and(|d| d.is_never()));
        assert!(Deadline::after_secs(f64::INFINITY).is_ok_and(|d| d.is_never()));
        assert!(Deadline::after(Some(Duration::MAX)).is_never());
    }

    #[test]
    fn negative_and_nan_are_value_errors() {
        assert!(seconds(-1.0).is_err_and(|e| e.class == "ValueError"));
        assert!(seconds(f64::NAN).is_err_and(|e| e.class == "ValueError"));
        assert_eq!(seconds(0.5), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn a_short_deadline_passes() {
        let d = Deadline::after(Some(Duration::ZERO));
        assert!(d.passed());
        assert_eq!(d.left(), Some(Duration::ZERO));
        assert_eq!(Deadline::NEVER.left(), None);
    }
}
