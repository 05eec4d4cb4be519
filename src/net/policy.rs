//! Which addresses scripts may use, decided by the program that embeds
//! sockrepl.
//!
//! A policy is a function called before every `bind`, `connect` and
//! `sendto` with the resolved address. Returning `Err(reason)` refuses the
//! call: the script gets a `PermissionError` naming the address and the
//! reason. With no policy set, everything is allowed (the `repl` binary
//! sets none: scripts run with the user's rights).
//!
//! ```
//! use sockrepl::net::policy::{self, Action};
//! use sockrepl::net::Endpoint;
//!
//! // Loopback only.
//! policy::set_address_policy(|_action: Action, endpoint: &Endpoint| match endpoint {
//!     Endpoint::Inet(addr) if addr.ip().is_loopback() => Ok(()),
//!     Endpoint::Inet(_) => Err("only loopback addresses are allowed in this lab".into()),
//!     Endpoint::Path(_) => Ok(()),
//! });
//! # policy::clear_address_policy();
//! ```
//!
//! The policy is process-wide. A child process started by `process()` is
//! a fresh copy of the program: set the policy in `main` before calling
//! [`crate::process::run_child_if_requested`] so children have it too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use super::Endpoint;
use crate::error::ScriptError;

/// What a script is about to do with an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `bind`: take a local address.
    Bind,
    /// `connect`: open a connection (or fix a UDP peer).
    Connect,
    /// `sendto`: send a datagram.
    SendTo,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Bind => "bind to",
            Action::Connect => "connect to",
            Action::SendTo => "sendto",
        }
    }
}

type Policy = dyn Fn(Action, &Endpoint) -> Result<(), String> + Send + Sync;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static POLICY: RwLock<Option<Arc<Policy>>> = RwLock::new(None);

/// Installs `policy`, replacing any earlier one.
pub fn set_address_policy(policy: impl Fn(Action, &Endpoint) -> Result<(), String> + Send + Sync + 'static) {
    if let Ok(mut slot) = POLICY.write() {
        *slot = Some(Arc::new(policy));
        ACTIVE.store(true, Ordering::SeqCst);
    }
}

/// Removes the policy: every address is allowed again.
pub fn clear_address_policy() {
    if let Ok(mut slot) = POLICY.write() {
        *slot = None;
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

/// Asks the policy about `action` on `endpoint`.
pub(crate) fn check(action: Action, endpoint: &Endpoint) -> Result<(), ScriptError> {
    if !ACTIVE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let policy = POLICY.read().ok().and_then(|slot| slot.clone());
    let Some(policy) = policy else { return Ok(()) };
    policy(action, endpoint).map_err(|reason| {
        ScriptError::new(
            "PermissionError",
            format!(
                "[Errno 1] Operation not permitted ({} {endpoint} is not allowed: {reason})",
                action.verb()
            ),
        )
        .hint("the program running this script restricts which addresses it may use")
    })
}
