//! Which addresses scripts may use, decided by the program that embeds
//! sockrepl.
//!
//! A policy is a function called before every `bind`, `connect` and
//! `sendto` with the resolved address. Returning `Err(reason)` refuses the
//! call: the script gets a `PermissionError` naming the address and the
//! reason. A policy belongs to one session (set it with
//! `SessionBuilder::address_policy`); with none, everything is allowed
//! (the `repl` binary sets none: scripts run with the user's rights).
//! Child processes started by `process()` are sessions of their own: an
//! embedder whose scripts start processes installs the same policy in the
//! child through `run_child_if_requested_with`.

use std::sync::Arc;

use super::Endpoint;
use crate::error::ScriptError;

/// What a script is about to do with an address, as an address policy
/// sees it.
///
/// ```
/// use sockrepl::{Action, Endpoint, Session};
///
/// // Scripts may listen and connect, but not send datagrams anywhere.
/// let session = Session::builder()
///     .address_policy(|action, _endpoint: &Endpoint| match action {
///         Action::SendTo => Err("no UDP in this exercise".into()),
///         Action::Bind | Action::Connect => Ok(()),
///     })
///     .build()?;
/// # Ok::<(), sockrepl::StartError>(())
/// ```
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

/// A shared address policy: `Ok(())` allows, `Err(reason)` refuses.
pub type AddressPolicy = Arc<dyn Fn(Action, &Endpoint) -> Result<(), String> + Send + Sync>;

/// Asks `policy` about `action` on `endpoint`.
pub(crate) fn check(policy: &AddressPolicy, action: Action, endpoint: &Endpoint) -> Result<(), ScriptError> {
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
