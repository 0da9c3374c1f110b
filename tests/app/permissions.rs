//! Walks every route of the route table for every role (and for nobody) and checks the
//! answer against an expectation written here by hand, independently of the table.

use mamori::auth::permissions::Role;
use mamori::routes::ROUTES;

use crate::on_both;
use crate::support::TestApp;

const ALL: &[Role] = &[Role::Helpdesk, Role::Engineer, Role::Manager, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];
const SECOND_LINE: &[Role] = &[Role::Engineer, Role::Manager, Role::Admin];
const MANAGERS: &[Role] = &[Role::Manager, Role::Admin];

/// Who may use each route. `None` = public (no sign-in needed).
fn expected(method: &str, path: &str) -> Option<&'static [Role]> {
    match (method, path) {
        (_, "/healthz" | "/readyz" | "/static/{path:.*}" | "/login" | "/logout" | "/setup" | "/locale") => None,
        ("GET", "/api/v1/openapi.json" | "/api/docs") => None,
        ("GET", "/")
        | (
            _,
            "/profile"
            | "/profile/password"
            | "/profile/tokens"
            | "/profile/tokens/{id}/revoke"
            | "/profile/sessions/{id}/end",
        ) => Some(ALL),
        // A team's escalation policy page: admins, like the rules' API.
        (_, "/admin/teams/{id}/escalation" | "/admin/escalation-rules/{id}/delete") => Some(ADMIN),
        (_, p) if p.starts_with("/admin/") => Some(ADMIN),
        ("GET", "/api/v1/me" | "/api/v1/users" | "/api/v1/users/{id}" | "/api/v1/teams") => Some(ALL),
        ("POST" | "PATCH", "/api/v1/users" | "/api/v1/users/{id}" | "/api/v1/teams" | "/api/v1/teams/{id}") => {
            Some(ADMIN)
        }
        ("GET", "/api/v1/audit" | "/api/v1/audit/export") => Some(ADMIN),
        ("POST", "/api/v1/users/{id}/sessions/end") => Some(ADMIN),
        // Backups and retention: administrators only.
        (_, "/api/v1/admin/backup-settings" | "/api/v1/admin/backups" | "/api/v1/admin/retention-periods") => {
            Some(ADMIN)
        }
        // Prometheus scrapes: an administrator's session or API token.
        ("GET", "/metrics") => Some(ADMIN),
        // Reports and the dashboard are for managers (and admins).
        ("GET", "/dashboard" | "/reports/sla" | "/reports/sla.csv") => Some(MANAGERS),
        ("GET", p) if p.starts_with("/api/v1/reports") || p == "/api/v1/dashboard" => Some(MANAGERS),
        // Everyone signed in searches; the hits keep to the kinds each role may see.
        ("GET", "/search" | "/api/v1/search") => Some(ALL),
        // Everyone chooses the mail they receive.
        (_, "/api/v1/profile/mail-preferences") => Some(ALL),
        // Everyone reads and marks their own notifications.
        (_, p) if p.starts_with("/notifications") || p.starts_with("/api/v1/notifications") => Some(ALL),
        ("GET", "/api/v1/teams/{id}/escalation-rules") => Some(ALL),
        (_, "/api/v1/teams/{id}/escalation-rules" | "/api/v1/escalation-rules/{id}") => Some(ADMIN),
        // SLA calendars and policies: everyone reads, admins change.
        ("GET", p) if p.starts_with("/api/v1/calendars") || p.starts_with("/api/v1/sla-policies") => Some(ALL),
        (_, p) if p.starts_with("/api/v1/calendars") || p.starts_with("/api/v1/sla-policies") => Some(ADMIN),
        // The use cases every kind shares: everyone signed in reaches them; the ticket's kind
        // decides (a missing ticket is 404 for everyone).
        (
            _,
            "/tickets/{id}/comments"
            | "/tickets/{id}/assign"
            | "/tickets/{id}/attachments"
            | "/tickets/{id}/attachments/{attachment_id}"
            | "/tickets/{id}/watchers"
            | "/tickets/{id}/watchers/{user_id}/delete"
            | "/api/v1/tickets/{id}/comments"
            | "/api/v1/tickets/{id}/assign"
            | "/api/v1/tickets/{id}/attachments"
            | "/api/v1/tickets/{id}/attachments/{attachment_id}"
            | "/api/v1/tickets/{id}/watchers"
            | "/api/v1/tickets/{id}/watchers/{user_id}"
            | "/tickets/{id}/requester"
            | "/api/v1/tickets/{id}/requester",
        ) => Some(ALL),
        // Only admins delete (softly) and restore tickets.
        (_, p) if p.starts_with("/tickets/") || p.starts_with("/api/v1/tickets/") => Some(ADMIN),
        // Post-mortems: everyone reads and works their action items; engineers write; managers publish.
        ("GET", "/incidents/{id}/postmortem" | "/api/v1/incidents/{id}/postmortem") => Some(ALL),
        (_, p) if p.ends_with("/postmortem/publish") => Some(MANAGERS),
        // Review: engineers send a draft to review and back to draft for changes.
        ("POST", "/incidents/{id}/postmortem/submit" | "/api/v1/incidents/{id}/postmortem/submit") => Some(SECOND_LINE),
        ("POST", "/incidents/{id}/postmortem/return" | "/api/v1/incidents/{id}/postmortem/return") => Some(SECOND_LINE),
        (_, p) if p.contains("/postmortem") => Some(SECOND_LINE),
        (_, p) if p.starts_with("/action-items") || p.starts_with("/api/v1/action-items") => Some(ALL),
        (_, p) if p.starts_with("/attachments") || p.starts_with("/api/v1/attachments") => Some(ALL),
        // Incoming mail: the gateway's token files incidents, so everyone who files them may post
        // mail; a raw message is for whoever may see its ticket (the handler answers 404 otherwise).
        (_, "/api/v1/inbound-mail" | "/api/v1/inbound-mail/{id}/raw" | "/inbound-mail/{id}/raw") => Some(ALL),
        // Problems: everyone reads, engineers and up act.
        ("GET", p) if (p.starts_with("/problems") || p.starts_with("/api/v1/problems")) && p != "/problems/new" => {
            Some(ALL)
        }
        (_, p) if p.starts_with("/problems") || p.starts_with("/api/v1/problems") => Some(SECOND_LINE),
        // Correcting an incident (and with it the priority) is second-line work.
        ("PATCH", "/api/v1/incidents/{id}") | ("POST", "/incidents/{id}/edit") => Some(SECOND_LINE),
        // Incidents: first-line work for everyone, second-line work for engineers and up.
        (_, p) if p.starts_with("/incidents") || p.starts_with("/api/v1/incidents") => {
            let second_line = [
                "assign", "start", "hold", "resume", "mitigate", "resolve", "close", "reopen",
            ];
            if second_line.iter().any(|a| p.ends_with(&format!("/{a}"))) {
                Some(SECOND_LINE)
            } else {
                Some(ALL)
            }
        }
        // The CMDB: everyone reads; engineers and up maintain CIs; admins add classes.
        (
            "GET",
            "/cmdb"
            | "/cmdb/{id}"
            | "/api/v1/cis"
            | "/api/v1/cis/{id}"
            | "/api/v1/cis/{id}/impact"
            | "/api/v1/cis/{id}/relationships"
            | "/api/v1/ci-classes",
        ) => Some(ALL),
        ("POST", "/api/v1/ci-classes") => Some(ADMIN),
        (_, p)
            if p.starts_with("/cmdb") || p.starts_with("/api/v1/cis") || p.starts_with("/api/v1/ci-relationships") =>
        {
            Some(SECOND_LINE)
        }
        _ => panic!("no expectation written for {method} {path}: add it to tests/app/permissions.rs"),
    }
}

fn concrete(path: &str, id: i64) -> String {
    path.replace("{path:.*}", "app.css")
        .replace("{id}", &id.to_string())
        .replace("{attachment_id}", &id.to_string())
        .replace("{user_id}", &id.to_string())
}

async fn every_route_for_every_role(app: TestApp) {
    // One signed-in browser and one API token per role.
    let mut sessions = Vec::new();
    for role in ALL {
        let (client, user) = app.login_as(*role).await;
        let token = app.api_token(&user).await;
        let csrf = app.csrf_token(&client).await;
        sessions.push((*role, client, token, csrf, user));
    }
    let target_id = 999_999; // no such record: allowed roles get 404, never 403
    let anonymous = app.client();
    let mut checked = 0;

    for route in ROUTES {
        let method = route.method.as_str();
        let http_method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let allowed = expected(method, route.path);
        let path = concrete(route.path, target_id);
        let is_api = route.path.starts_with("/api/");
        // Signed-in roles.
        for (role, client, token, csrf, _) in &sessions {
            if matches!(route.path, "/logout") {
                continue; // would end the session the rest of the walk uses
            }
            let request = if is_api {
                let mut r = app
                    .api_client()
                    .request(http_method.clone(), app.url(&path))
                    .bearer_auth(token);
                if method != "GET" {
                    r = r.json(&serde_json::json!({}));
                }
                r
            } else {
                let mut r = client.request(http_method.clone(), app.url(&path));
                if method != "GET" {
                    r = r.form(&[("csrf_token", csrf.as_str())]);
                }
                r
            };
            let status = request.send().await.unwrap().status().as_u16();
            let may = allowed.is_none_or(|roles| roles.contains(role));
            if may {
                assert!(
                    status != 403 && status != 401,
                    "{method} {path} as {role:?}: expected access, got {status}"
                );
            } else {
                assert_eq!(status, 403, "{method} {path} as {role:?}: expected 403");
            }
            checked += 1;
        }
        // Nobody signed in.
        let request = if is_api {
            app.api_client().request(http_method.clone(), app.url(&path))
        } else {
            let mut r = anonymous.request(http_method.clone(), app.url(&path));
            if method != "GET" {
                // Fetched afresh: signing out renews the anonymous session's token.
                let token = app.csrf_token(&anonymous).await;
                r = r.form(&[("csrf_token", token)]);
            }
            r
        };
        let status = request.send().await.unwrap().status().as_u16();
        match allowed {
            None => assert!(
                status != 401 && status != 403,
                "{method} {path} anonymous: public route refused with {status}"
            ),
            Some(_) if is_api => assert_eq!(status, 401, "{method} {path} anonymous"),
            Some(_) => assert!(
                status == 303 || status == 401,
                "{method} {path} anonymous: expected login, got {status}"
            ),
        }
        checked += 1;
    }
    assert!(checked >= ROUTES.len() * 4);
}

on_both!(every_route_for_every_role);

#[test]
fn every_route_has_a_written_expectation() {
    for route in ROUTES {
        let _ = expected(route.method.as_str(), route.path);
    }
}
