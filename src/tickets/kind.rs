//! What a ticket kind declares to the core, and the registry the core reads it from.
//!
//! The core (`tickets`, `sla`, `reports`, `search`, `notifications`, `attachments`, `web`)
//! never imports a kind's module. Each kind (`incidents`, `problems`, later `changes`) holds
//! one `static SPEC: KindSpec`; the composition root `crate::kinds` registers them all once at
//! start-up, and the core looks a kind up here by [`Kind`].

use std::sync::OnceLock;

use super::model::Kind;
use crate::auth::permissions::Permission;

/// What a status means to the SLA clocks and to lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// Work is due; both clocks run (`new`, `in_progress`, `investigating`).
    Running,
    /// Reaching it ends the response clock; the resolution clock runs (`acknowledged`).
    Responded,
    /// The clocks are paused (`on_hold`).
    Paused,
    /// Service is restored; stops the resolution clock when the policy says so (`mitigated`).
    Mitigated,
    /// Done: the resolution clock stops (`resolved`, `closed`).
    Resolved,
}

impl StatusClass {
    /// Open means someone still has to act.
    pub fn is_open(self) -> bool {
        self != StatusClass::Resolved
    }
}

/// One status of a kind.
#[derive(Debug, Clone, Copy)]
pub struct StatusSpec {
    pub name: &'static str,
    pub class: StatusClass,
}

/// Everything the core needs to know about one kind of ticket.
#[derive(Debug)]
pub struct KindSpec {
    pub kind: Kind,
    /// Where its pages live: `/incidents`; a ticket's page is `{path}/{id}`.
    pub path: &'static str,
    /// Seeing a ticket of this kind (its page, its timeline, its attachments, search hits).
    pub view: Permission,
    /// Working on it: comments, attachments, watchers.
    pub work: Permission,
    /// Every status, in the order lists show them.
    pub statuses: &'static [StatusSpec],
    /// How the SLA job applies an escalation level to a ticket of this kind (hand-over, level,
    /// event, audit, clocks), inside the job's transaction; `None`: the kind does not escalate.
    pub escalate: Option<EscalateFn>,
    /// Handing the ticket to a team (`team_id` of assign); the core checks it per field.
    pub assign_team: Permission,
    /// Naming its assignee (`assignee_id` of assign).
    pub assign_person: Permission,
}

/// A kind's escalation hook: (connection, actor, now, ticket id, what the level does).
pub type EscalateFn = fn(
    &mut crate::db::DbConnection,
    &crate::audit::model::Actor,
    chrono::NaiveDateTime,
    i64,
    &crate::sla::model::AutomaticEscalation<'_>,
) -> Result<(), crate::error::AppError>;

impl KindSpec {
    pub fn status(&self, name: &str) -> Option<&StatusSpec> {
        self.statuses.iter().find(|s| s.name == name)
    }

    /// The class of a stored status; an unknown one counts as running (never silently closed).
    pub fn class_of(&self, name: &str) -> StatusClass {
        self.status(name).map_or(StatusClass::Running, |s| s.class)
    }

    pub fn open_statuses(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.statuses.iter().filter(|s| s.class.is_open()).map(|s| s.name)
    }

    /// The page of one ticket: `/incidents/42`.
    pub fn page(&self, id: i64) -> String {
        format!("{}/{id}", self.path)
    }
}

static REGISTRY: OnceLock<Vec<&'static KindSpec>> = OnceLock::new();

/// Registers the kinds; called once by `crate::kinds::register` (later calls are ignored).
pub fn register(specs: Vec<&'static KindSpec>) {
    let _ = REGISTRY.set(specs);
}

/// Every registered kind.
pub fn all() -> &'static [&'static KindSpec] {
    REGISTRY
        .get()
        .expect("ticket kinds are registered at start-up (crate::kinds::register)")
}

/// The declaration of one kind; `None` for a kind no module declares yet.
pub fn find(kind: Kind) -> Option<&'static KindSpec> {
    all().iter().copied().find(|s| s.kind == kind)
}

/// The declaration of a kind stored as text (`tickets.kind`).
pub fn find_str(kind: &str) -> Option<&'static KindSpec> {
    all().iter().copied().find(|s| s.kind.as_str() == kind)
}
