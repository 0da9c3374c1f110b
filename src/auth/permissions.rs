//! Roles and the one permission table. Every route names the access it needs in
//! `routes::ROUTES`; this table says which roles hold each permission.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Helpdesk,
    Engineer,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Helpdesk, Role::Engineer, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Helpdesk => "helpdesk",
            Role::Engineer => "engineer",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw.trim())
    }
}

/// What a route needs beyond being signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read the people and teams directory (for assignment and escalation).
    ViewDirectory,
    /// Create and edit users.
    ManageUsers,
    /// Create and edit teams.
    ManageTeams,
    /// Read the audit log.
    ViewAudit,
    /// See, file, acknowledge, comment on, update and escalate incidents (一次対応).
    WorkIncidents,
    /// Investigate, hold, mitigate, resolve, close, reopen and assign incidents (二次対応).
    ManageIncidents,
    /// Read problems and known errors.
    ViewProblems,
    /// Open, analyse, link and move problems.
    ManageProblems,
    /// Draft and edit post-mortems and their action items.
    WritePostmortems,
    /// Publish post-mortems (managers review what the engineers wrote).
    PublishPostmortems,
    /// Delete tickets (softly, audited) and restore them.
    DeleteTickets,
    /// Create and change business calendars and SLA policies.
    ManageSla,
    /// Read SLA reports and the manager dashboard.
    ViewReports,
    /// Set backups and retention, back up now, read the backup runs.
    ManageOperations,
    /// Read the CMDB: configuration items, their relationships and impact.
    ViewCmdb,
    /// Create, change and delete configuration items and their relationships.
    ManageCmdb,
    /// Add CI classes.
    ManageCmdbClasses,
}

impl Permission {
    /// Every permission; a test checks each has exactly one row in [`PERMISSIONS`].
    pub const ALL: [Permission; 17] = [
        Permission::ViewDirectory,
        Permission::ManageUsers,
        Permission::ManageTeams,
        Permission::ViewAudit,
        Permission::WorkIncidents,
        Permission::ManageIncidents,
        Permission::ViewProblems,
        Permission::ManageProblems,
        Permission::WritePostmortems,
        Permission::PublishPostmortems,
        Permission::DeleteTickets,
        Permission::ManageSla,
        Permission::ViewReports,
        Permission::ManageOperations,
        Permission::ViewCmdb,
        Permission::ManageCmdb,
        Permission::ManageCmdbClasses,
    ];
}

/// The permission table: each permission and the roles that hold it.
pub const PERMISSIONS: &[(Permission, &[Role])] = &[
    (
        Permission::ViewDirectory,
        &[Role::Helpdesk, Role::Engineer, Role::Manager, Role::Admin],
    ),
    (Permission::ManageUsers, &[Role::Admin]),
    (Permission::ManageTeams, &[Role::Admin]),
    (Permission::ViewAudit, &[Role::Admin]),
    (
        Permission::WorkIncidents,
        &[Role::Helpdesk, Role::Engineer, Role::Manager, Role::Admin],
    ),
    (
        Permission::ManageIncidents,
        &[Role::Engineer, Role::Manager, Role::Admin],
    ),
    (
        Permission::ViewProblems,
        &[Role::Helpdesk, Role::Engineer, Role::Manager, Role::Admin],
    ),
    (
        Permission::ManageProblems,
        &[Role::Engineer, Role::Manager, Role::Admin],
    ),
    (
        Permission::WritePostmortems,
        &[Role::Engineer, Role::Manager, Role::Admin],
    ),
    (Permission::PublishPostmortems, &[Role::Manager, Role::Admin]),
    (Permission::DeleteTickets, &[Role::Admin]),
    (Permission::ManageSla, &[Role::Admin]),
    (Permission::ViewReports, &[Role::Manager, Role::Admin]),
    (Permission::ManageOperations, &[Role::Admin]),
    (
        Permission::ViewCmdb,
        &[Role::Helpdesk, Role::Engineer, Role::Manager, Role::Admin],
    ),
    (Permission::ManageCmdb, &[Role::Engineer, Role::Manager, Role::Admin]),
    (Permission::ManageCmdbClasses, &[Role::Admin]),
];

pub fn allows(role: Role, permission: Permission) -> bool {
    PERMISSIONS
        .iter()
        .find(|(p, _)| *p == permission)
        .is_some_and(|(_, roles)| roles.contains(&role))
}

/// How a route may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (login page, health checks, static files).
    Public,
    /// Any signed-in user.
    Authenticated,
    /// A signed-in user whose role holds the permission.
    Requires(Permission),
}

impl Access {
    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (Access::Authenticated, Some(_)) => true,
            (Access::Requires(permission), Some(role)) => allows(role, permission),
            (_, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_is_in_the_table_once() {
        for permission in Permission::ALL {
            assert_eq!(
                PERMISSIONS.iter().filter(|(p, _)| *p == permission).count(),
                1,
                "{permission:?}"
            );
        }
        assert_eq!(PERMISSIONS.len(), Permission::ALL.len());
    }

    #[test]
    fn only_admins_administer() {
        for role in Role::ALL {
            assert_eq!(allows(role, Permission::ManageUsers), role == Role::Admin);
            assert_eq!(allows(role, Permission::ViewAudit), role == Role::Admin);
            assert!(allows(role, Permission::ViewDirectory));
        }
        assert!(!Access::Authenticated.allows(None));
        assert!(Access::Public.allows(None));
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
