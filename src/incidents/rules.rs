//! Pure incident rules: the priority matrix, the state machine and the closing rules.
//! No database and no HTTP here; every rule is tested exhaustively below.

use serde::{Deserialize, Serialize};

use crate::auth::permissions::{Permission, Role};
use crate::tickets::kind::{KindSpec, StatusClass, StatusSpec};
use crate::tickets::model::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    pub fn parse(raw: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == raw.trim())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    pub fn parse(raw: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// A P1 is a major incident.
    pub fn is_major(self) -> bool {
        self == Priority::P1
    }
}

/// Impact × urgency → priority.
pub fn priority(impact: Level, urgency: Level) -> Priority {
    use Level::*;
    match (impact, urgency) {
        (High, High) => Priority::P1,
        (High, Medium) | (Medium, High) => Priority::P2,
        (High, Low) | (Medium, Medium) | (Low, High) => Priority::P3,
        _ => Priority::P4,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Acknowledged,
    InProgress,
    Mitigated,
    Resolved,
    Closed,
    OnHold,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::New,
        Status::Acknowledged,
        Status::InProgress,
        Status::Mitigated,
        Status::Resolved,
        Status::Closed,
        Status::OnHold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Acknowledged => "acknowledged",
            Status::InProgress => "in_progress",
            Status::Mitigated => "mitigated",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::OnHold => "on_hold",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw.trim())
    }

    /// Open means someone still has to act: everything before resolved, and on hold.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }

    pub const OPEN: [Status; 5] = [
        Status::New,
        Status::Acknowledged,
        Status::InProgress,
        Status::Mitigated,
        Status::OnHold,
    ];
}

/// What incidents declare to the ticket core (`tickets::kind`).
pub static SPEC: KindSpec = KindSpec {
    kind: Kind::Incident,
    path: "/incidents",
    view: Permission::WorkIncidents,
    work: Permission::WorkIncidents,
    statuses: &[
        StatusSpec {
            name: "new",
            class: StatusClass::Running,
        },
        StatusSpec {
            name: "acknowledged",
            class: StatusClass::Responded,
        },
        StatusSpec {
            name: "in_progress",
            class: StatusClass::Running,
        },
        StatusSpec {
            name: "on_hold",
            class: StatusClass::Paused,
        },
        StatusSpec {
            name: "mitigated",
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
    escalate: Some(super::service::escalate_automatically),
    assign_team: PEOPLE_FIELDS[0].1,
    assign_person: PEOPLE_FIELDS[1].1,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Acknowledge,
    Start,
    Hold,
    Resume,
    Mitigate,
    Resolve,
    Close,
    Reopen,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::Acknowledge,
        Action::Start,
        Action::Hold,
        Action::Resume,
        Action::Mitigate,
        Action::Resolve,
        Action::Close,
        Action::Reopen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Start => "start",
            Action::Hold => "hold",
            Action::Resume => "resume",
            Action::Mitigate => "mitigate",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Reopen => "reopen",
        }
    }

    pub fn parse(raw: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == raw.trim())
    }
}

/// Where an action leads from a status. `held_from` is the status an on-hold incident returns
/// to on resume. `None` means the move is not allowed.
pub fn next_status(from: Status, action: Action, held_from: Option<Status>) -> Option<Status> {
    use Action::*;
    use Status::*;
    match (from, action) {
        (New, Acknowledge) => Some(Acknowledged),
        (New | Acknowledged | Mitigated, Start) => Some(InProgress),
        (New | Acknowledged | InProgress | Mitigated, Hold) => Some(OnHold),
        (OnHold, Resume) => Some(held_from.filter(|s| s.is_open() && *s != OnHold).unwrap_or(InProgress)),
        (New | Acknowledged | InProgress, Mitigate) => Some(Mitigated),
        (New | Acknowledged | InProgress | Mitigated, Resolve) => Some(Resolved),
        (Resolved, Close) => Some(Closed),
        (Resolved, Reopen) => Some(InProgress),
        _ => None,
    }
}

/// The moves allowed from a status (for the 409 message and the page's buttons).
pub fn allowed_actions(from: Status) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| next_status(from, *a, None).is_some())
        .collect()
}

/// Why an incident may not be closed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseBlocker {
    /// A major incident needs its post-mortem published first.
    PostmortemNotPublished,
    /// Restored only by a workaround: the cause lives on in a problem, which must be linked.
    WorkaroundWithoutProblem,
}

pub fn close_blockers(
    priority: Priority,
    postmortem_published: bool,
    only_workaround: bool,
    linked_to_problem: bool,
) -> Vec<CloseBlocker> {
    let mut blockers = Vec::new();
    if priority.is_major() && !postmortem_published {
        blockers.push(CloseBlocker::PostmortemNotPublished);
    }
    if only_workaround && !linked_to_problem {
        blockers.push(CloseBlocker::WorkaroundWithoutProblem);
    }
    blockers
}

/// Escalation levels L1–L3 (the core's, which escalation levels are checked against).
pub use crate::sla::rules::{MAX_LEVEL, MIN_LEVEL};

/// Who may set each people field of an incident, wherever the field comes in (creation through
/// the page or the API, assignment, escalation): choosing the team is first-line work (the
/// helpdesk files an incident to a team and escalates it to another), choosing the assignee is
/// second-line work, as `/assign` is.
pub const PEOPLE_FIELDS: [(&str, Permission); 2] = [
    ("team_id", Permission::WorkIncidents),
    ("assignee_id", Permission::ManageIncidents),
];

/// The first of the people fields being set that `role` may not set.
pub fn refused_people_field(role: Role, sets_team: bool, sets_assignee: bool) -> Option<&'static str> {
    PEOPLE_FIELDS
        .iter()
        .zip([sets_team, sets_assignee])
        .find(|((_, permission), set)| *set && !crate::auth::permissions::allows(role, *permission))
        .map(|((field, _), _)| *field)
}

/// What an edit did to a record's text fields: for the audit log the text before and after of
/// each changed field, for the timeline only the names (`{"fields": [...]}`). Shared by
/// incidents, problems and post-mortems, whose pages show the names in the reader's language.
#[derive(Debug, Default, PartialEq)]
pub struct TextChanges {
    pub fields: Vec<&'static str>,
    pub before: serde_json::Map<String, serde_json::Value>,
    pub after: serde_json::Map<String, serde_json::Value>,
}

impl TextChanges {
    /// Notes `field` when a new value was given and differs from the stored one.
    pub fn compare(&mut self, field: &'static str, before: &str, after: Option<&str>) {
        if let Some(after) = after.filter(|after| *after != before) {
            self.fields.push(field);
            self.before.insert(field.into(), before.into());
            self.after.insert(field.into(), after.into());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Adds the changed texts to the audit row's `before` and `after` objects.
    pub fn add_to(&self, before: &mut serde_json::Value, after: &mut serde_json::Value) {
        for (target, texts) in [(before, &self.before), (after, &self.after)] {
            if let Some(object) = target.as_object_mut() {
                object.extend(texts.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }

    /// The timeline event's data: which fields changed, not the text.
    pub fn event_data(&self) -> serde_json::Value {
        serde_json::json!({ "fields": self.fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_matrix() {
        use Level::*;
        let expected = [
            (High, High, "P1"),
            (High, Medium, "P2"),
            (Medium, High, "P2"),
            (High, Low, "P3"),
            (Medium, Medium, "P3"),
            (Low, High, "P3"),
            (Medium, Low, "P4"),
            (Low, Medium, "P4"),
            (Low, Low, "P4"),
        ];
        for (impact, urgency, p) in expected {
            assert_eq!(priority(impact, urgency).as_str(), p, "{impact:?}/{urgency:?}");
        }
        // Monotone: raising impact or urgency never lowers the priority.
        for i in Level::ALL {
            for u in Level::ALL {
                if i != High {
                    let higher = if i == Low { Medium } else { High };
                    assert!(priority(higher, u) <= priority(i, u));
                    assert!(priority(u, higher) <= priority(u, i));
                }
            }
        }
    }

    #[test]
    fn state_machine_exhaustively() {
        use Action::*;
        use Status::*;
        let allowed: &[(Status, Action, Status)] = &[
            (New, Acknowledge, Acknowledged),
            (New, Start, InProgress),
            (New, Hold, OnHold),
            (New, Mitigate, Mitigated),
            (New, Resolve, Resolved),
            (Acknowledged, Start, InProgress),
            (Acknowledged, Hold, OnHold),
            (Acknowledged, Mitigate, Mitigated),
            (Acknowledged, Resolve, Resolved),
            (InProgress, Hold, OnHold),
            (InProgress, Mitigate, Mitigated),
            (InProgress, Resolve, Resolved),
            (Mitigated, Start, InProgress),
            (Mitigated, Hold, OnHold),
            (Mitigated, Resolve, Resolved),
            (OnHold, Resume, InProgress),
            (Resolved, Close, Closed),
            (Resolved, Reopen, InProgress),
        ];
        for from in Status::ALL {
            for action in Action::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(next_status(from, action, None), expected, "{from:?} --{action:?}-->");
            }
        }
        // Nothing leaves closed; on hold returns where it was.
        assert!(allowed_actions(Closed).is_empty());
        for from in Status::OPEN.into_iter().filter(|s| *s != OnHold) {
            assert_eq!(next_status(OnHold, Resume, Some(from)), Some(from));
        }
        assert_eq!(next_status(OnHold, Resume, Some(Resolved)), Some(InProgress));
        // Every open status can be put on hold and reach resolved.
        for s in Status::OPEN.into_iter().filter(|s| *s != OnHold) {
            assert!(
                allowed_actions(s).contains(&Hold) && allowed_actions(s).contains(&Resolve),
                "{s:?}"
            );
        }
    }

    #[test]
    fn closing_rules() {
        assert_eq!(
            close_blockers(Priority::P1, false, false, false),
            vec![CloseBlocker::PostmortemNotPublished]
        );
        assert!(close_blockers(Priority::P1, true, false, false).is_empty());
        assert_eq!(
            close_blockers(Priority::P3, false, true, false),
            vec![CloseBlocker::WorkaroundWithoutProblem]
        );
        assert!(close_blockers(Priority::P3, false, true, true).is_empty());
        assert!(close_blockers(Priority::P4, false, false, false).is_empty());
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn text_changes_note_only_what_differs() {
        let mut changes = TextChanges::default();
        changes.compare("title", "VPN 障害", Some("VPN 接続障害"));
        changes.compare("description", "same", Some("same"));
        changes.compare("category", "network", None);
        changes.compare("service", "", Some("VPN"));
        assert_eq!(changes.fields, vec!["title", "service"]);
        let mut before = serde_json::json!({"version": 1});
        let mut after = serde_json::json!({"version": 2});
        changes.add_to(&mut before, &mut after);
        assert_eq!(
            before,
            serde_json::json!({"version": 1, "title": "VPN 障害", "service": ""})
        );
        assert_eq!(
            after,
            serde_json::json!({"version": 2, "title": "VPN 接続障害", "service": "VPN"})
        );
        assert_eq!(
            changes.event_data(),
            serde_json::json!({"fields": ["title", "service"]})
        );
        assert!(TextChanges::default().is_empty());
    }

    #[test]
    fn only_second_line_chooses_the_assignee() {
        for role in Role::ALL {
            assert_eq!(
                refused_people_field(role, true, false),
                None,
                "{role:?} files to a team"
            );
            assert_eq!(refused_people_field(role, false, false), None);
        }
        assert_eq!(refused_people_field(Role::Helpdesk, true, true), Some("assignee_id"));
        assert_eq!(refused_people_field(Role::Helpdesk, false, true), Some("assignee_id"));
        for role in [Role::Engineer, Role::Manager, Role::Admin] {
            assert_eq!(refused_people_field(role, true, true), None);
        }
    }
}
