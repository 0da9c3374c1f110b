//! The composition root of ticket kinds: the one place that names every kind, so that the
//! core (`tickets`, `sla`, `reports`, `search`, ...) can serve them without importing them.
//! A new kind adds its `SPEC` here (see "Adding a ticket kind" in docs/ARCHITECTURE.md).

use crate::tickets::kind;

/// Registers every kind with the ticket core. Idempotent; called by `main`, by
/// `server::prepare_state` and by `cli::run_admin`, before anything reads a ticket.
pub fn register() {
    kind::register(vec![&crate::incidents::rules::SPEC, &crate::problems::rules::SPEC]);
}
