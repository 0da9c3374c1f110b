//! The one route table. `ROUTES` says, for every method and path, who may reach it; the access
//! middleware enforces it and a test walks every entry for every role. `configure` registers
//! the handlers, each domain through its own `routes` function.

use actix_web::http::Method;
use actix_web::web;

use crate::auth::permissions::{Access, Permission};

pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

const fn route(method: Method, path: &'static str, access: Access) -> RouteSpec {
    RouteSpec { method, path, access }
}

use Access::{Authenticated, Public, Requires};
use Permission::{
    DeleteTickets, ManageCmdb, ManageCmdbClasses, ManageIncidents, ManageOperations, ManageProblems, ManageSla,
    ManageTeams, ManageUsers, PublishPostmortems, ViewAudit, ViewCmdb, ViewDirectory, ViewProblems, ViewReports,
    WorkIncidents, WritePostmortems,
};

pub const ROUTES: &[RouteSpec] = &[
    // Operations and assets.
    route(Method::GET, "/healthz", Public),
    route(Method::GET, "/readyz", Public),
    // Prometheus scrapes: an administrator's session or API token.
    route(Method::GET, "/metrics", Requires(ViewAudit)),
    route(Method::GET, "/static/{path:.*}", Public),
    // Signing in and out, first-run setup, language.
    route(Method::GET, "/login", Public),
    route(Method::POST, "/login", Public),
    route(Method::POST, "/logout", Public),
    route(Method::GET, "/setup", Public),
    route(Method::POST, "/setup", Public),
    route(Method::POST, "/locale", Public),
    // Everyone signed in.
    route(Method::GET, "/", Authenticated),
    route(Method::GET, "/profile", Authenticated),
    // One search over every kind; each kind's hits need that kind's view permission.
    route(Method::GET, "/search", Authenticated),
    route(Method::POST, "/profile", Authenticated),
    route(Method::POST, "/profile/password", Authenticated),
    route(Method::POST, "/profile/tokens", Authenticated),
    route(Method::POST, "/profile/tokens/{id}/revoke", Authenticated),
    route(Method::POST, "/profile/sessions/{id}/end", Authenticated),
    // Administration.
    route(Method::GET, "/admin/users", Requires(ManageUsers)),
    route(Method::GET, "/admin/users/new", Requires(ManageUsers)),
    route(Method::POST, "/admin/users", Requires(ManageUsers)),
    route(Method::GET, "/admin/users/{id}/edit", Requires(ManageUsers)),
    route(Method::POST, "/admin/users/{id}", Requires(ManageUsers)),
    route(Method::POST, "/admin/users/{id}/sessions/end", Requires(ManageUsers)),
    route(Method::GET, "/admin/teams", Requires(ManageTeams)),
    route(Method::GET, "/admin/teams/new", Requires(ManageTeams)),
    route(Method::POST, "/admin/teams", Requires(ManageTeams)),
    route(Method::GET, "/admin/teams/{id}/edit", Requires(ManageTeams)),
    route(Method::POST, "/admin/teams/{id}", Requires(ManageTeams)),
    route(Method::GET, "/admin/audit", Requires(ViewAudit)),
    route(Method::POST, "/admin/audit/verify", Requires(ViewAudit)),
    route(Method::GET, "/dashboard", Requires(ViewReports)),
    route(Method::GET, "/reports/sla", Requires(ViewReports)),
    route(Method::GET, "/reports/sla.csv", Requires(ViewReports)),
    route(Method::GET, "/notifications", Authenticated),
    route(Method::POST, "/notifications/{id}/read", Authenticated),
    route(Method::GET, "/admin/calendars", Requires(ManageSla)),
    route(Method::POST, "/admin/calendars", Requires(ManageSla)),
    route(Method::GET, "/admin/calendars/{id}", Requires(ManageSla)),
    route(Method::POST, "/admin/calendars/{id}", Requires(ManageSla)),
    route(Method::POST, "/admin/calendars/{id}/delete", Requires(ManageSla)),
    route(Method::POST, "/admin/calendars/{id}/import", Requires(ManageSla)),
    route(Method::GET, "/admin/sla-policies", Requires(ManageSla)),
    route(Method::POST, "/admin/sla-policies", Requires(ManageSla)),
    route(Method::POST, "/admin/sla-policies/{id}", Requires(ManageSla)),
    // A team's escalation policy: the same permission as its API.
    route(Method::GET, "/admin/teams/{id}/escalation", Requires(ManageSla)),
    route(Method::POST, "/admin/teams/{id}/escalation", Requires(ManageSla)),
    route(Method::POST, "/admin/escalation-rules/{id}/delete", Requires(ManageSla)),
    route(Method::GET, "/admin/backups", Requires(ManageOperations)),
    route(Method::POST, "/admin/backups/settings", Requires(ManageOperations)),
    route(Method::POST, "/admin/backups/run", Requires(ManageOperations)),
    route(Method::POST, "/admin/backups/retention", Requires(ManageOperations)),
    // Incoming mail: admins review every received message; the raw message is also open to
    // whoever may see the ticket it went to (checked by the handler).
    route(Method::GET, "/admin/inbound-mail", Requires(ViewAudit)),
    route(Method::POST, "/admin/inbound-mail/{id}/reprocess", Requires(ViewAudit)),
    route(Method::GET, "/inbound-mail/{id}/raw", Requires(WorkIncidents)),
    route(Method::GET, "/admin/deleted", Requires(DeleteTickets)),
    route(Method::POST, "/admin/deleted/{id}/restore", Requires(DeleteTickets)),
    route(Method::GET, "/tickets/{id}/delete", Requires(DeleteTickets)),
    route(Method::POST, "/tickets/{id}/delete", Requires(DeleteTickets)),
    // The use cases every kind shares: the ticket's kind decides who may see and work it.
    route(Method::POST, "/tickets/{id}/comments", Authenticated),
    route(Method::POST, "/tickets/{id}/assign", Authenticated),
    route(Method::POST, "/tickets/{id}/attachments", Authenticated),
    route(Method::GET, "/tickets/{id}/attachments/{attachment_id}", Authenticated),
    route(Method::POST, "/tickets/{id}/watchers", Authenticated),
    route(Method::POST, "/tickets/{id}/watchers/{user_id}/delete", Authenticated),
    route(Method::POST, "/tickets/{id}/requester", Authenticated),
    // Incidents: the helpdesk files, acknowledges, comments, updates and escalates;
    // engineers and managers also work them through to closure.
    route(Method::GET, "/incidents", Requires(WorkIncidents)),
    route(Method::GET, "/incidents/new", Requires(WorkIncidents)),
    route(Method::GET, "/incidents/export.csv", Requires(WorkIncidents)),
    route(Method::POST, "/incidents", Requires(WorkIncidents)),
    route(Method::GET, "/incidents/{id}", Requires(WorkIncidents)),
    route(Method::POST, "/incidents/{id}/comments", Requires(WorkIncidents)),
    route(Method::POST, "/incidents/{id}/status-updates", Requires(WorkIncidents)),
    route(Method::POST, "/incidents/{id}/edit", Requires(ManageIncidents)),
    route(Method::POST, "/incidents/{id}/escalate", Requires(WorkIncidents)),
    route(Method::POST, "/incidents/{id}/acknowledge", Requires(WorkIncidents)),
    route(Method::POST, "/incidents/{id}/attachments", Requires(WorkIncidents)),
    route(Method::GET, "/attachments/{id}", Requires(WorkIncidents)),
    route(Method::POST, "/incidents/{id}/assign", Requires(ManageIncidents)),
    route(Method::POST, "/incidents/{id}/start", Requires(ManageIncidents)),
    route(Method::POST, "/incidents/{id}/hold", Requires(ManageIncidents)),
    route(Method::POST, "/incidents/{id}/resume", Requires(ManageIncidents)),
    route(Method::POST, "/incidents/{id}/mitigate", Requires(ManageIncidents)),
    route(Method::POST, "/incidents/{id}/resolve", Requires(ManageIncidents)),
    route(Method::POST, "/incidents/{id}/close", Requires(ManageIncidents)),
    route(Method::POST, "/incidents/{id}/reopen", Requires(ManageIncidents)),
    // Problems: everyone reads known errors; engineers and up manage problems.
    route(Method::GET, "/problems", Requires(ViewProblems)),
    route(Method::GET, "/problems/new", Requires(ManageProblems)),
    route(Method::POST, "/problems", Requires(ManageProblems)),
    route(Method::GET, "/problems/{id}", Requires(ViewProblems)),
    route(Method::POST, "/problems/{id}/incidents", Requires(ManageProblems)),
    route(Method::POST, "/problems/{id}/investigate", Requires(ManageProblems)),
    route(Method::POST, "/problems/{id}/known-error", Requires(ManageProblems)),
    route(Method::POST, "/problems/{id}/resolve", Requires(ManageProblems)),
    route(Method::POST, "/problems/{id}/close", Requires(ManageProblems)),
    route(Method::POST, "/problems/{id}/reopen", Requires(ManageProblems)),
    // Post-mortems: engineers write, managers publish; everyone reads and sees their action items.
    route(Method::GET, "/incidents/{id}/postmortem", Requires(WorkIncidents)),
    route(Method::POST, "/incidents/{id}/postmortem", Requires(WritePostmortems)),
    route(
        Method::POST,
        "/incidents/{id}/postmortem/edit",
        Requires(WritePostmortems),
    ),
    route(
        Method::POST,
        "/incidents/{id}/postmortem/submit",
        Requires(WritePostmortems),
    ),
    route(
        Method::POST,
        "/incidents/{id}/postmortem/return",
        Requires(WritePostmortems),
    ),
    route(
        Method::POST,
        "/incidents/{id}/postmortem/publish",
        Requires(PublishPostmortems),
    ),
    route(
        Method::POST,
        "/incidents/{id}/postmortem/action-items",
        Requires(WritePostmortems),
    ),
    route(Method::GET, "/action-items", Authenticated),
    route(Method::POST, "/action-items/{id}/done", Authenticated),
    // JSON API (bearer tokens); its description and the page that renders it are public.
    route(Method::GET, "/api/v1/openapi.json", Public),
    route(Method::GET, "/api/docs", Public),
    route(Method::GET, "/api/v1/me", Authenticated),
    route(Method::GET, "/api/v1/users", Requires(ViewDirectory)),
    route(Method::POST, "/api/v1/users", Requires(ManageUsers)),
    route(Method::GET, "/api/v1/users/{id}", Requires(ViewDirectory)),
    route(Method::PATCH, "/api/v1/users/{id}", Requires(ManageUsers)),
    route(Method::POST, "/api/v1/users/{id}/sessions/end", Requires(ManageUsers)),
    route(Method::GET, "/api/v1/teams", Requires(ViewDirectory)),
    route(Method::POST, "/api/v1/teams", Requires(ManageTeams)),
    route(Method::PATCH, "/api/v1/teams/{id}", Requires(ManageTeams)),
    route(Method::GET, "/api/v1/audit", Requires(ViewAudit)),
    route(Method::GET, "/api/v1/audit/export", Requires(ViewAudit)),
    route(Method::GET, "/api/v1/admin/backup-settings", Requires(ManageOperations)),
    route(Method::PUT, "/api/v1/admin/backup-settings", Requires(ManageOperations)),
    route(Method::GET, "/api/v1/admin/backups", Requires(ManageOperations)),
    route(Method::POST, "/api/v1/admin/backups", Requires(ManageOperations)),
    route(
        Method::GET,
        "/api/v1/admin/retention-periods",
        Requires(ManageOperations),
    ),
    route(
        Method::PUT,
        "/api/v1/admin/retention-periods",
        Requires(ManageOperations),
    ),
    route(Method::GET, "/api/v1/reports/sla", Requires(ViewReports)),
    route(Method::GET, "/api/v1/reports/backlog", Requires(ViewReports)),
    route(Method::GET, "/api/v1/dashboard", Requires(ViewReports)),
    route(Method::GET, "/api/v1/notifications", Authenticated),
    route(Method::POST, "/api/v1/notifications/{id}/read", Authenticated),
    route(Method::GET, "/api/v1/profile/mail-preferences", Authenticated),
    route(Method::PUT, "/api/v1/profile/mail-preferences", Authenticated),
    route(
        Method::GET,
        "/api/v1/teams/{id}/escalation-rules",
        Requires(ViewDirectory),
    ),
    route(Method::POST, "/api/v1/teams/{id}/escalation-rules", Requires(ManageSla)),
    route(Method::DELETE, "/api/v1/escalation-rules/{id}", Requires(ManageSla)),
    route(Method::GET, "/api/v1/calendars", Requires(ViewDirectory)),
    route(Method::POST, "/api/v1/calendars", Requires(ManageSla)),
    route(Method::GET, "/api/v1/calendars/{id}", Requires(ViewDirectory)),
    route(Method::PATCH, "/api/v1/calendars/{id}", Requires(ManageSla)),
    route(Method::DELETE, "/api/v1/calendars/{id}", Requires(ManageSla)),
    route(Method::POST, "/api/v1/calendars/{id}/import", Requires(ManageSla)),
    route(Method::GET, "/api/v1/sla-policies", Requires(ViewDirectory)),
    route(Method::POST, "/api/v1/sla-policies", Requires(ManageSla)),
    route(Method::GET, "/api/v1/sla-policies/{id}", Requires(ViewDirectory)),
    route(Method::PATCH, "/api/v1/sla-policies/{id}", Requires(ManageSla)),
    route(Method::DELETE, "/api/v1/sla-policies/{id}", Requires(ManageSla)),
    route(Method::GET, "/api/v1/tickets/deleted", Requires(DeleteTickets)),
    route(Method::DELETE, "/api/v1/tickets/{id}", Requires(DeleteTickets)),
    route(Method::POST, "/api/v1/tickets/{id}/restore", Requires(DeleteTickets)),
    route(Method::POST, "/api/v1/tickets/{id}/comments", Authenticated),
    route(Method::POST, "/api/v1/tickets/{id}/assign", Authenticated),
    route(Method::POST, "/api/v1/tickets/{id}/attachments", Authenticated),
    route(
        Method::GET,
        "/api/v1/tickets/{id}/attachments/{attachment_id}",
        Authenticated,
    ),
    route(Method::GET, "/api/v1/tickets/{id}/watchers", Authenticated),
    route(Method::POST, "/api/v1/tickets/{id}/watchers", Authenticated),
    route(Method::DELETE, "/api/v1/tickets/{id}/watchers/{user_id}", Authenticated),
    route(Method::POST, "/api/v1/tickets/{id}/requester", Authenticated),
    route(Method::GET, "/api/v1/incidents", Requires(WorkIncidents)),
    route(Method::POST, "/api/v1/incidents", Requires(WorkIncidents)),
    route(Method::GET, "/api/v1/incidents/{id}", Requires(WorkIncidents)),
    route(Method::PATCH, "/api/v1/incidents/{id}", Requires(ManageIncidents)),
    route(Method::POST, "/api/v1/incidents/{id}/comments", Requires(WorkIncidents)),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/status-updates",
        Requires(WorkIncidents),
    ),
    route(
        Method::GET,
        "/api/v1/incidents/{id}/status-update-template",
        Requires(WorkIncidents),
    ),
    route(Method::POST, "/api/v1/incidents/{id}/escalate", Requires(WorkIncidents)),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/attachments",
        Requires(WorkIncidents),
    ),
    route(Method::GET, "/api/v1/attachments/{id}", Requires(WorkIncidents)),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/acknowledge",
        Requires(WorkIncidents),
    ),
    route(Method::POST, "/api/v1/incidents/{id}/assign", Requires(ManageIncidents)),
    route(Method::POST, "/api/v1/incidents/{id}/start", Requires(ManageIncidents)),
    route(Method::POST, "/api/v1/incidents/{id}/hold", Requires(ManageIncidents)),
    route(Method::POST, "/api/v1/incidents/{id}/resume", Requires(ManageIncidents)),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/mitigate",
        Requires(ManageIncidents),
    ),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/resolve",
        Requires(ManageIncidents),
    ),
    route(Method::POST, "/api/v1/incidents/{id}/close", Requires(ManageIncidents)),
    route(Method::POST, "/api/v1/incidents/{id}/reopen", Requires(ManageIncidents)),
    route(
        Method::GET,
        "/api/v1/incidents/{id}/postmortem",
        Requires(WorkIncidents),
    ),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/postmortem",
        Requires(WritePostmortems),
    ),
    route(
        Method::PATCH,
        "/api/v1/incidents/{id}/postmortem",
        Requires(WritePostmortems),
    ),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/postmortem/submit",
        Requires(WritePostmortems),
    ),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/postmortem/return",
        Requires(WritePostmortems),
    ),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/postmortem/publish",
        Requires(PublishPostmortems),
    ),
    route(
        Method::POST,
        "/api/v1/incidents/{id}/postmortem/action-items",
        Requires(WritePostmortems),
    ),
    route(Method::GET, "/api/v1/search", Authenticated),
    route(Method::GET, "/api/v1/action-items", Authenticated),
    route(Method::POST, "/api/v1/action-items/{id}/done", Authenticated),
    // The mail gateway files incidents: the token's user needs that permission.
    route(Method::POST, "/api/v1/inbound-mail", Requires(WorkIncidents)),
    route(Method::GET, "/api/v1/inbound-mail/{id}/raw", Requires(WorkIncidents)),
    route(Method::GET, "/api/v1/problems", Requires(ViewProblems)),
    route(Method::POST, "/api/v1/problems", Requires(ManageProblems)),
    route(Method::GET, "/api/v1/problems/candidates", Requires(ViewProblems)),
    route(Method::GET, "/api/v1/problems/{id}", Requires(ViewProblems)),
    route(
        Method::POST,
        "/api/v1/problems/{id}/incidents",
        Requires(ManageProblems),
    ),
    route(
        Method::POST,
        "/api/v1/problems/{id}/investigate",
        Requires(ManageProblems),
    ),
    route(
        Method::POST,
        "/api/v1/problems/{id}/known-error",
        Requires(ManageProblems),
    ),
    route(Method::POST, "/api/v1/problems/{id}/resolve", Requires(ManageProblems)),
    route(Method::POST, "/api/v1/problems/{id}/close", Requires(ManageProblems)),
    route(Method::POST, "/api/v1/problems/{id}/reopen", Requires(ManageProblems)),
    // The CMDB: everyone reads; engineers and up maintain; admins add classes.
    route(Method::GET, "/cmdb", Requires(ViewCmdb)),
    route(Method::GET, "/cmdb/new", Requires(ManageCmdb)),
    route(Method::POST, "/cmdb", Requires(ManageCmdb)),
    route(Method::GET, "/cmdb/{id}", Requires(ViewCmdb)),
    route(Method::GET, "/cmdb/{id}/edit", Requires(ManageCmdb)),
    route(Method::POST, "/cmdb/{id}", Requires(ManageCmdb)),
    route(Method::POST, "/cmdb/{id}/delete", Requires(ManageCmdb)),
    route(Method::POST, "/cmdb/{id}/relationships", Requires(ManageCmdb)),
    route(Method::POST, "/cmdb/relationships/{id}/delete", Requires(ManageCmdb)),
    route(Method::GET, "/admin/ci-classes", Requires(ManageCmdbClasses)),
    route(Method::POST, "/admin/ci-classes", Requires(ManageCmdbClasses)),
    route(Method::GET, "/api/v1/cis", Requires(ViewCmdb)),
    route(Method::POST, "/api/v1/cis", Requires(ManageCmdb)),
    route(Method::GET, "/api/v1/cis/{id}", Requires(ViewCmdb)),
    route(Method::PATCH, "/api/v1/cis/{id}", Requires(ManageCmdb)),
    route(Method::DELETE, "/api/v1/cis/{id}", Requires(ManageCmdb)),
    route(Method::GET, "/api/v1/cis/{id}/impact", Requires(ViewCmdb)),
    route(Method::GET, "/api/v1/cis/{id}/relationships", Requires(ViewCmdb)),
    route(Method::POST, "/api/v1/ci-relationships", Requires(ManageCmdb)),
    route(Method::DELETE, "/api/v1/ci-relationships/{id}", Requires(ManageCmdb)),
    route(Method::GET, "/api/v1/ci-classes", Requires(ViewCmdb)),
    route(Method::POST, "/api/v1/ci-classes", Requires(ManageCmdbClasses)),
];

/// The access rule for a matched route pattern; HEAD follows GET.
pub fn access_for(method: &Method, pattern: &str) -> Option<Access> {
    let method = if method == Method::HEAD { &Method::GET } else { method };
    ROUTES
        .iter()
        .find(|r| r.method == *method && r.path == pattern)
        .map(|r| r.access)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The API scope first: actix tries routes in registration order and matches each dynamic
    // path with a regex, so an API call would otherwise be tried against every page route.
    // Incidents lead inside it: they are most of the traffic.
    cfg.service(
        web::scope("/api/v1")
            .configure(crate::incidents::api::routes)
            .route("/openapi.json", web::get().to(crate::web::openapi::spec))
            .configure(crate::users::api::routes)
            .configure(crate::teams::api::routes)
            .configure(crate::audit::api::routes)
            .configure(crate::backup::api::routes)
            .configure(crate::problems::api::routes)
            .configure(crate::postmortems::api::routes)
            .configure(crate::tickets::routes::api)
            .configure(crate::tickets::work_routes::api)
            .configure(crate::search::routes::api)
            .configure(crate::sla::api::routes)
            .configure(crate::notifications::routes::api)
            .configure(crate::reports::routes::api)
            .configure(crate::mail::inbound::api::routes)
            .configure(crate::cmdb::api::routes)
            .configure(crate::mail::api::routes),
    );
    cfg.route("/healthz", web::get().to(crate::health::healthz))
        .route("/readyz", web::get().to(crate::health::readyz))
        .route("/metrics", web::get().to(crate::metrics::scrape))
        .route("/static/{path:.*}", web::get().to(crate::web::static_file))
        .route("/api/docs", web::get().to(crate::web::openapi::docs));
    crate::auth::pages::routes(cfg);
    crate::users::pages::routes(cfg);
    crate::teams::pages::routes(cfg);
    crate::audit::pages::routes(cfg);
    crate::backup::pages::routes(cfg);
    crate::incidents::pages::routes(cfg);
    crate::problems::pages::routes(cfg);
    crate::postmortems::pages::routes(cfg);
    crate::tickets::routes::pages(cfg);
    crate::tickets::work_routes::pages(cfg);
    crate::search::routes::pages(cfg);
    crate::notifications::routes::pages(cfg);
    crate::reports::routes::pages(cfg);
    crate::sla::pages::routes(cfg);
    crate::mail::inbound::pages::routes(cfg);
    crate::cmdb::pages::routes(cfg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_listed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} listed twice",
                    a.method,
                    a.path
                );
            }
        }
        assert_eq!(access_for(&Method::HEAD, "/healthz"), Some(Access::Public));
        assert_eq!(access_for(&Method::DELETE, "/admin/users"), None);
    }
}
