//! The problem state machine: new → investigating → known_error → resolved → closed.

use serde::Serialize;

use crate::auth::permissions::Permission;
use crate::tickets::kind::{KindSpec, StatusClass, StatusSpec};
use crate::tickets::model::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Investigating,
    KnownError,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Investigating,
        Status::KnownError,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Investigating => "investigating",
            Status::KnownError => "known_error",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw.trim())
    }
}

/// What problems declare to the ticket core (`tickets::kind`).
pub static SPEC: KindSpec = KindSpec {
    kind: Kind::Problem,
    path: "/problems",
    view: Permission::ViewProblems,
    work: Permission::ManageProblems,
    statuses: &[
        StatusSpec {
            name: "new",
            class: StatusClass::Running,
        },
        StatusSpec {
            name: "investigating",
            class: StatusClass::Responded,
        },
        StatusSpec {
            name: "known_error",
            class: StatusClass::Mitigated,
        },
        StatusSpec {
            name: "resolved",
            class: StatusClass::Resolved,
        },
        StatusSpec {
            name: "closed",
            class: StatusClass::Resolved,
        },
    ],
    escalate: None,
    assign_team: Permission::ManageProblems,
    assign_person: Permission::ManageProblems,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Investigate,
    KnownError,
    Resolve,
    Close,
    Reopen,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Investigate,
        Action::KnownError,
        Action::Resolve,
        Action::Close,
        Action::Reopen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Investigate => "investigate",
            Action::KnownError => "known-error",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Reopen => "reopen",
        }
    }
}

pub fn next_status(from: Status, action: Action) -> Option<Status> {
    use Status::*;
    match (from, action) {
        (New, Action::Investigate) => Some(Investigating),
        (New | Investigating | KnownError, Action::KnownError) => Some(KnownError),
        (Investigating | KnownError, Action::Resolve) => Some(Resolved),
        (Resolved, Action::Close) => Some(Closed),
        (Resolved, Action::Reopen) => Some(Investigating),
        _ => None,
    }
}

pub fn allowed_actions(from: Status) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| next_status(from, *a).is_some())
        .collect()
}

/// Incidents in the same category or service within this many days make a problem candidate.
pub const CANDIDATE_WINDOW_DAYS: i64 = 30;
pub const CANDIDATE_MIN_INCIDENTS: i64 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_exhaustively() {
        use Status::*;
        let allowed = [
            (New, Action::Investigate, Investigating),
            (New, Action::KnownError, KnownError),
            (Investigating, Action::KnownError, KnownError),
            (KnownError, Action::KnownError, KnownError),
            (Investigating, Action::Resolve, Resolved),
            (KnownError, Action::Resolve, Resolved),
            (Resolved, Action::Close, Closed),
            (Resolved, Action::Reopen, Investigating),
        ];
        for from in Status::ALL {
            for action in Action::ALL {
                let expected = allowed.iter().find(|(f, a, _)| *f == from && *a == action).map(|t| t.2);
                assert_eq!(next_status(from, action), expected, "{from:?} {action:?}");
            }
        }
        assert!(allowed_actions(Closed).is_empty());
    }
}
