//! The OpenAPI 3.1 description of the JSON API, derived from the code: every `/api/v1` handler
//! carries `#[utoipa::path]` and the types it reads and writes derive `ToSchema`, so the
//! description cannot drift from what is served (a test compares it with `routes::ROUTES` both
//! ways). Served as JSON at `GET /api/v1/openapi.json` and rendered for people at `GET /api/docs`
//! (server-side, from the same description: no script, nothing from other sites).
//!
//! What is added here rather than per handler: the bearer scheme, the error statuses every
//! operation can answer ([`CommonErrors`]), and the routes one handler serves for a list of
//! actions (`/incidents/{id}/acknowledge`, ...), expanded from the same lists that register them.

use std::sync::OnceLock;

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use tera::Context;
use utoipa::openapi::path::{Operation, Parameter, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Description, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{AppError, ErrorBody};

/// The API's path prefix; everything under it is described here.
pub const PREFIX: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mamori API",
        version = env!("CARGO_PKG_VERSION"),
        description = "The JSON API of Mamori (IT service management). Authenticate with an API token \
                       (`Authorization: Bearer <token>`, created on the profile page or with \
                       `mamori token create`). Errors answer `{\"error\": {\"code\", \"message\", \"fields\"}}`; \
                       `fields` names each refused input field (a body path such as `closures[1].starts_on`, \
                       or a query parameter). Times are RFC 3339 in UTC. Breaking changes come as `/api/v2`.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/", description = "This server")),
    security(("bearer" = [])),
    paths(
        spec,
        crate::users::api::me,
        crate::users::api::list,
        crate::users::api::create,
        crate::users::api::show,
        crate::users::api::update,
        crate::users::api::end_sessions,
        crate::teams::api::list,
        crate::teams::api::create,
        crate::teams::api::update,
        crate::audit::api::list,
        crate::audit::api::export,
        crate::backup::api::settings,
        crate::backup::api::update_settings,
        crate::backup::api::runs,
        crate::backup::api::run_now,
        crate::backup::api::retention_periods,
        crate::backup::api::update_retention_periods,
        crate::search::routes::api_search,
        crate::reports::routes::report_api,
        crate::reports::routes::backlog_api,
        crate::reports::routes::dashboard_api,
        crate::notifications::routes::list,
        crate::notifications::routes::read,
        crate::mail::api::preferences,
        crate::mail::api::set_preferences,
        crate::sla::api::list_rules,
        crate::sla::api::create_rule,
        crate::sla::api::delete_rule,
        crate::sla::api::list_calendars,
        crate::sla::api::create_calendar,
        crate::sla::api::show_calendar,
        crate::sla::api::update_calendar,
        crate::sla::api::delete_calendar,
        crate::sla::api::import_calendar,
        crate::sla::api::list_policies,
        crate::sla::api::create_policy,
        crate::sla::api::show_policy,
        crate::sla::api::update_policy,
        crate::sla::api::delete_policy,
        crate::tickets::routes::deleted_api,
        crate::tickets::routes::delete_api,
        crate::tickets::routes::restore_api,
        crate::tickets::work_routes::comment_api,
        crate::tickets::work_routes::assign_api,
        crate::tickets::work_routes::attach_api,
        crate::tickets::work_routes::download_api,
        crate::tickets::work_routes::watchers_api,
        crate::tickets::work_routes::watch_api,
        crate::tickets::work_routes::unwatch_api,
        crate::tickets::work_routes::requester_api,
        crate::incidents::api::list,
        crate::incidents::api::create,
        crate::incidents::api::show,
        crate::incidents::api::edit,
        crate::incidents::api::comment,
        crate::incidents::api::status_update,
        crate::incidents::api::status_update_template,
        crate::incidents::api::escalate,
        crate::incidents::api::assign,
        crate::incidents::api::attach,
        crate::incidents::api::transition,
        crate::attachments::routes::download,
        crate::postmortems::api::show,
        crate::postmortems::api::create,
        crate::postmortems::api::edit,
        crate::postmortems::api::take_step,
        crate::postmortems::api::add_item,
        crate::postmortems::api::my_items,
        crate::postmortems::api::done,
        crate::problems::api::list,
        crate::problems::api::create,
        crate::problems::api::candidates,
        crate::problems::api::show,
        crate::problems::api::link,
        crate::problems::api::transition,
        crate::mail::inbound::api::receive,
        crate::mail::inbound::api::raw,
        crate::cmdb::api::list,
        crate::cmdb::api::create,
        crate::cmdb::api::show,
        crate::cmdb::api::update,
        crate::cmdb::api::delete,
        crate::cmdb::api::classes,
        crate::cmdb::api::create_class,
        crate::cmdb::api::impact,
        crate::cmdb::api::relationships,
        crate::cmdb::api::relate,
        crate::cmdb::api::unrelate,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &ActionRoutes, &CommonErrors),
    tags(
        (name = "incidents", description = "Incidents: filing, the state machine, comments, status updates, escalation, assignment, attachments"),
        (name = "problems", description = "Problems: root-cause analysis, known errors, the incidents behind them"),
        (name = "postmortems", description = "Post-mortems of incidents and their action items"),
        (name = "tickets", description = "Soft deletion and restore of any ticket (administrators)"),
        (name = "users", description = "People and the signed-in user"),
        (name = "teams", description = "Teams"),
        (name = "sla", description = "Business calendars, SLA policies and escalation policies"),
        (name = "reports", description = "SLA report, backlog ageing, manager dashboard"),
        (name = "notifications", description = "In-app notifications of the signed-in user"),
        (name = "audit", description = "The append-only audit log (administrators)"),
        (name = "operations", description = "Scheduled, verified backups and retention (administrators)"),
        (name = "cmdb", description = "Configuration items (CMDB) and their classes"),
        (name = "search", description = "One search over every ticket kind, Japanese-aware"),
        (name = "mail", description = "Incoming mail: the gateway's endpoint (`mamori mailgate`) and received messages"),
        (name = "meta", description = "This description"),
    )
)]
pub struct ApiDoc;

/// The description, built once.
pub fn description() -> &'static Description {
    static DESCRIPTION: OnceLock<Description> = OnceLock::new();
    DESCRIPTION.get_or_init(ApiDoc::openapi)
}

fn description_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| description().to_json().expect("the description serialises"))
}

/// This description as JSON (OpenAPI 3.1); public, so clients and tools can read it first.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 description of this API", content_type = "application/json", body = Object))
)]
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-cache"))
        .body(description_json())
}

/// `GET /api/docs`: the description for people, in the app's layout and language.
pub async fn docs(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let mut context = Context::new();
    context.insert("docs", docs_view());
    context.insert("api_version", env!("CARGO_PKG_VERSION"));
    crate::web::templates::render(&req, "api/docs.html", context)
}

/// The page's view of the description, built once.
fn docs_view() -> &'static DocsView {
    static VIEW: OnceLock<DocsView> = OnceLock::new();
    VIEW.get_or_init(|| DocsView::from(&serde_json::from_str(description_json()).expect("the description is JSON")))
}

#[derive(Serialize)]
struct DocsView {
    tags: Vec<TagView>,
    schemas: Vec<SchemaView>,
}

#[derive(Serialize)]
struct TagView {
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

#[derive(Serialize)]
struct OperationView {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    public: bool,
    parameters: Vec<FieldView>,
    body: Option<BodyView>,
    responses: Vec<ResponseView>,
}

#[derive(Serialize)]
struct BodyView {
    content_type: String,
    required: bool,
    description: String,
    schema: TypeView,
}

#[derive(Serialize)]
struct ResponseView {
    status: String,
    description: String,
    content_types: Vec<String>,
    schema: Option<TypeView>,
}

/// A parameter or a schema's property.
#[derive(Serialize)]
struct FieldView {
    name: String,
    location: String,
    required: bool,
    schema: TypeView,
    description: String,
    example: String,
}

#[derive(Serialize)]
struct SchemaView {
    name: String,
    description: String,
    includes: Vec<String>,
    fields: Vec<FieldView>,
}

/// A type in words (`string (date-time) | null`), with the named schema it refers to, if any.
#[derive(Serialize)]
struct TypeView {
    text: String,
    link: Option<String>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn ref_name(value: &Value) -> Option<String> {
    value.as_str().and_then(|r| r.rsplit('/').next()).map(str::to_string)
}

fn type_view(schema: &Value) -> TypeView {
    let mut link = None;
    let text = type_text(schema, &mut link);
    TypeView { text, link }
}

fn type_text(schema: &Value, link: &mut Option<String>) -> String {
    if let Some(name) = ref_name(&schema["$ref"]) {
        link.get_or_insert_with(|| name.clone());
        return name;
    }
    for (key, joiner) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")] {
        if let Some(parts) = schema[key].as_array() {
            return parts
                .iter()
                .map(|p| type_text(p, link))
                .collect::<Vec<_>>()
                .join(joiner);
        }
    }
    let mut one = |name: &str| match name {
        "array" => format!("array of {}", type_text(&schema["items"], link)),
        "object" if schema["additionalProperties"].is_object() => {
            format!("map of {}", type_text(&schema["additionalProperties"], link))
        }
        other => match schema["format"].as_str() {
            Some(format) if other != "null" => format!("{other} ({format})"),
            _ => other.to_string(),
        },
    };
    match &schema["type"] {
        Value::String(name) => one(name),
        Value::Array(names) => names
            .iter()
            .map(|n| one(n.as_str().unwrap_or("any")))
            .collect::<Vec<_>>()
            .join(" | "),
        _ if schema.get("prefixItems").is_some() => "array (tuple)".to_string(),
        _ => "any".to_string(),
    }
}

fn example_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn properties(schema: &Value, location: &str) -> Vec<FieldView> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, property)| FieldView {
                    name: name.clone(),
                    location: location.to_string(),
                    required: required.contains(&name.as_str()),
                    schema: type_view(property),
                    description: text(&property["description"]),
                    example: example_text(&property["example"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl From<&Value> for DocsView {
    fn from(description: &Value) -> Self {
        let mut tags: Vec<TagView> = description["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| TagView {
                name: text(&t["name"]),
                description: text(&t["description"]),
                operations: Vec::new(),
            })
            .collect();
        let paths = description["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in &paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let view = OperationView {
                    anchor: text(&op["operationId"]),
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(&op["summary"]),
                    description: text(&op["description"]),
                    public: op["security"] == serde_json::json!([{}]),
                    parameters: op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| FieldView {
                            name: text(&p["name"]),
                            location: text(&p["in"]),
                            required: p["required"].as_bool().unwrap_or(false),
                            schema: type_view(&p["schema"]),
                            description: text(&p["description"]),
                            example: example_text(&p["example"]),
                        })
                        .collect(),
                    body: op["requestBody"]["content"].as_object().and_then(|content| {
                        content.iter().next().map(|(content_type, media)| BodyView {
                            content_type: content_type.clone(),
                            required: op["requestBody"]["required"].as_bool().unwrap_or(false),
                            description: text(&op["requestBody"]["description"]),
                            schema: type_view(&media["schema"]),
                        })
                    }),
                    responses: op["responses"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(status, response)| {
                            let content = response["content"].as_object();
                            ResponseView {
                                status: status.clone(),
                                description: text(&response["description"]),
                                content_types: content.map(|c| c.keys().cloned().collect()).unwrap_or_default(),
                                schema: content
                                    .and_then(|c| c.values().next())
                                    .filter(|media| media.get("schema").is_some())
                                    .map(|media| type_view(&media["schema"])),
                            }
                        })
                        .collect(),
                };
                let tag = op["tags"][0].as_str().unwrap_or_default();
                if let Some(group) = tags.iter_mut().find(|t| t.name == tag) {
                    group.operations.push(view);
                }
            }
        }
        tags.retain(|t| !t.operations.is_empty());
        let schemas = description["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| {
                let parts: Vec<&Value> = match schema["allOf"].as_array() {
                    Some(parts) => parts.iter().collect(),
                    None => vec![schema],
                };
                SchemaView {
                    name: name.clone(),
                    description: text(&schema["description"]),
                    includes: parts.iter().filter_map(|p| ref_name(&p["$ref"])).collect(),
                    fields: parts.iter().flat_map(|p| properties(p, "")).collect(),
                }
            })
            .collect();
        DocsView { tags, schemas }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Description) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token of a user; the user's role decides what it may do."))
                    .build(),
            ),
        );
    }
}

/// Routes one handler serves for each action of a list: the handler is described once with an
/// `{action}` segment, expanded here from the same lists `routes` registers.
struct ActionRoutes;

/// The described template path, the lists of its actions and the operation id prefix.
fn action_routes() -> [(&'static str, Vec<&'static str>, &'static str); 3] {
    [
        (
            "/api/v1/incidents/{id}/{action}",
            crate::incidents::rules::Action::ALL
                .iter()
                .map(|a| a.as_str())
                .collect(),
            "incident",
        ),
        (
            "/api/v1/problems/{id}/{action}",
            crate::problems::rules::Action::ALL.iter().map(|a| a.as_str()).collect(),
            "problem",
        ),
        (
            "/api/v1/incidents/{id}/postmortem/{action}",
            crate::postmortems::api::REVIEW_STEPS
                .iter()
                .map(|s| s.as_str())
                .collect(),
            "postmortem",
        ),
    ]
}

impl Modify for ActionRoutes {
    fn modify(&self, openapi: &mut Description) {
        for (template, actions, prefix) in action_routes() {
            let Some(item) = openapi.paths.paths.remove(template) else {
                continue;
            };
            for action in actions {
                let mut item: PathItem = item.clone();
                for operation in operations(&mut item) {
                    if let Some(parameters) = &mut operation.parameters {
                        parameters.retain(|p: &Parameter| p.name != "action");
                    }
                    operation.operation_id = Some(format!("{prefix}_{}", action.replace('-', "_")));
                    operation.summary = operation
                        .summary
                        .as_ref()
                        .map(|s| s.replace("{action}", &format!("`{action}`")));
                }
                openapi.paths.paths.insert(template.replace("{action}", action), item);
            }
        }
    }
}

/// The operations of a path item, whatever their method.
pub fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The errors any operation can answer, added where the operation does not describe its own:
/// 401/403 from the access middleware, 404 (and 400 when it is no integer) for a path id,
/// 400/413/422 for input, 409 and 507 for writes (a unique or foreign-key clash, a concurrent
/// change; a full disk), 503 when the database is unreachable.
struct CommonErrors;

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut Description) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
                ("put", &mut item.put),
            ] {
                let Some(operation) = operation.as_mut() else { continue };
                let public = operation
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
                if public {
                    continue;
                }
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let has_query = parameters
                    .iter()
                    .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query);
                let has_body = operation.request_body.is_some();
                let mut add = vec![
                    ("401", "No valid API token (`Authorization: Bearer <token>`)"),
                    ("403", "The token's user may not do this (role)"),
                    ("503", "The database is unavailable; retry later"),
                ];
                if path.contains('{') {
                    add.push(("404", "No such record (or a deleted ticket)"));
                }
                let has_id = path.contains('{');
                match (has_body, has_id) {
                    (true, true) => add.push((
                        "400",
                        "The body is not JSON (or not of its content type), or a path id is no integer",
                    )),
                    (true, false) => add.push(("400", "The body is not JSON (or not of its content type)")),
                    (false, true) => add.push(("400", "A path id that is no integer")),
                    (false, false) => {}
                }
                if has_body {
                    add.push(("413", "The body is too large"));
                }
                if has_body || has_query {
                    add.push(("422", "Invalid input; `error.fields` names each refused field"));
                }
                if method != "get" {
                    add.push((
                        "409",
                        "A conflict: the record changed since it was read (`version`), a transition not allowed \
                         from the current state, or a clash with another record",
                    ));
                    add.push(("507", "No room left to store the change (disk full or quota used up)"));
                }
                for (status, description) in add {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_is_openapi_3_1_with_the_crate_version() {
        let json: serde_json::Value = serde_json::from_str(description_json()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        assert_eq!(json["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(json["servers"][0]["url"], "/");
    }

    #[test]
    fn the_docs_page_shows_every_operation_and_schema() {
        let view = docs_view();
        let operations: usize = view.tags.iter().map(|t| t.operations.len()).sum();
        let described: usize = description()
            .paths
            .paths
            .values()
            .map(|i| {
                [&i.get, &i.post, &i.put, &i.patch, &i.delete]
                    .iter()
                    .filter(|o| o.is_some())
                    .count()
            })
            .sum();
        assert_eq!(operations, described);
        let incident = view.schemas.iter().find(|s| s.name == "IncidentView").unwrap();
        assert_eq!(incident.includes, ["Incident"]);
        assert!(incident.fields.iter().any(|f| f.name == "number" && f.required));
        let input = view.schemas.iter().find(|s| s.name == "IncidentInput").unwrap();
        let title = input.fields.iter().find(|f| f.name == "title").unwrap();
        assert_eq!(title.example, "VPN 接続不可");
        assert_eq!(
            type_view(&serde_json::json!({"type": ["string", "null"], "format": "date-time"})).text,
            "string (date-time) | null"
        );
    }

    #[test]
    fn action_routes_are_expanded() {
        let paths = &description().paths.paths;
        assert!(paths.contains_key("/api/v1/incidents/{id}/acknowledge"));
        assert!(paths.contains_key("/api/v1/problems/{id}/known-error"));
        assert!(paths.contains_key("/api/v1/incidents/{id}/postmortem/publish"));
        assert!(!paths.keys().any(|p| p.contains("{action}")));
    }
}
