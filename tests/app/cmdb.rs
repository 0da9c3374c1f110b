//! The CMDB (issue 15): configuration items through the API and the pages, their history from
//! the audit log, and the bad input the issue names.

use mamori::auth::permissions::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both;
use crate::support::api::Api;
use crate::support::TestApp;

fn server(name: &str) -> Value {
    json!({"name": name, "class": "server", "environment": "production", "criticality": 2,
           "status": "active", "host_name": format!("{name}.example.jp"), "ip_addresses": "10.0.0.1",
           "os_family": "RHEL", "os_release": "9.4", "software_name": "nginx", "software_version": "1.26",
           "support_ends_on": "2027-06-30", "attributes": {"rack": "A-12"}, "notes": "本番 Web"})
}

fn field(body: &Value) -> Vec<String> {
    body["error"]["fields"]
        .as_object()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default()
}

async fn cis_are_created_read_filtered_changed_and_audited(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let (status, web) = api.post("/api/v1/cis", server("web-prd-01")).await;
    assert_eq!(status, 201, "{web}");
    assert_eq!(web["class"], "server");
    assert_eq!(web["criticality"], 2);
    assert_eq!(web["attributes"]["rack"], "A-12");
    assert_eq!(web["version"], 1);
    let id = web["id"].as_i64().unwrap();
    let (status, db) = api
        .post(
            "/api/v1/cis",
            json!({"name": "DB-PRD", "class": "database", "environment": "staging", "criticality": 1, "status": "planned"}),
        )
        .await;
    assert_eq!(status, 201, "{db}");

    let (_, got) = api.get(&format!("/api/v1/cis/{id}")).await;
    assert_eq!(got["host_name"], "web-prd-01.example.jp");
    for (query, expected) in [
        ("class=server", vec!["web-prd-01"]),
        ("class=database", vec!["DB-PRD"]),
        ("status=planned", vec!["DB-PRD"]),
        ("environment=production", vec!["web-prd-01"]),
        ("q=db-prd", vec!["DB-PRD"]),
        ("q=10.0.0", vec!["web-prd-01"]),
        ("q=%25", vec![]),
        ("", vec!["DB-PRD", "web-prd-01"]),
    ] {
        let (status, page) = api.get(&format!("/api/v1/cis?{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{query}");
    }
    let (status, body) = api.get("/api/v1/cis?status=broken").await;
    assert_eq!((status, field(&body)), (422, vec!["status".to_string()]));

    // A change on a stale version is refused and stores nothing; on the current one it lands.
    let (status, body) = api
        .patch(&format!("/api/v1/cis/{id}"), json!({"status": "retired", "version": 7}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("ci_version"));
    let (status, changed) = api
        .patch(
            &format!("/api/v1/cis/{id}"),
            json!({"status": "maintenance", "version": 1}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["status"].as_str(), changed["version"].as_i64()),
        (Some("maintenance"), Some(2))
    );
    assert_eq!(changed["notes"], "本番 Web", "a PATCH keeps what it leaves out");

    // The audit log keeps the whole CI before and after; the page shows the field that changed.
    let admin = Api::new(&app, Role::Admin).await;
    let (_, audit) = admin.get(&format!("/api/v1/audit?entity_type=ci&entity_id={id}")).await;
    let update = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "ci.update")
        .unwrap();
    assert_eq!(update["before"]["status"], "active", "{update}");
    assert_eq!(update["after"]["status"], "maintenance");
    let (client, _) = app.login_as(Role::Helpdesk).await;
    let page = app.get(&client, &format!("/cmdb/{id}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let history = &html[html.find("id=\"ci-history\"").unwrap()..];
    assert!(
        history.contains(">Active<") && history.contains(">In maintenance<"),
        "{history}"
    );
    assert!(!history.contains(">maintenance<"), "no internal codes on the page");
    let list = app.get(&client, "/cmdb?class=server").await.text().await.unwrap();
    assert!(list.contains("web-prd-01") && !list.contains("DB-PRD"));
}

async fn the_list_pages_by_keyset(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    for i in 0..53 {
        let (status, _) = api
            .post(
                "/api/v1/cis",
                json!({"name": format!("vm-{i:02}"), "class": "virtual_machine"}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, first) = api.get("/api/v1/cis").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 50);
    assert_eq!(first["items"][0]["name"], "vm-52");
    let before = first["next_before"].as_i64().unwrap();
    let (_, second) = api.get(&format!("/api/v1/cis?before={before}")).await;
    let names: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["vm-02", "vm-01", "vm-00"]);
    assert!(second["next_before"].is_null());
}

async fn bad_ci_input_is_named_and_nothing_is_stored(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let (status, _) = api.post("/api/v1/cis", server("app-01")).await;
    assert_eq!(status, 201);
    for (patch, expected) in [
        (json!({"class": "mainframe"}), "class"),
        (json!({"name": "  "}), "name"),
        (json!({"criticality": 5}), "criticality"),
        (json!({"criticality": "high"}), "criticality"),
        (json!({"environment": "prod"}), "environment"),
        (json!({"status": "broken"}), "status"),
        (json!({"support_ends_on": "2027-02-30"}), "support_ends_on"),
        (json!({"ip_addresses": "10.0.0.256"}), "ip_addresses"),
        (json!({"owner_team_id": 999_999}), "owner_team_id"),
        // The same name in the same class.
        (json!({"name": "app-01"}), "name"),
    ] {
        let mut body = server("app-02");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = api.post("/api/v1/cis", body).await;
        assert_eq!(status, 422, "{patch}: {answer}");
        assert_eq!(field(&answer), vec![expected.to_string()], "{patch}");
    }
    // The same name in another class is fine.
    let mut other = server("app-01");
    other["class"] = json!("application");
    assert_eq!(api.post("/api/v1/cis", other).await.0, 201);
    let (_, all) = api.get("/api/v1/cis").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

async fn a_ci_that_tickets_name_is_retired_not_deleted(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let (_, kept) = api.post("/api/v1/cis", server("db-01")).await;
    let (_, gone) = api.post("/api/v1/cis", server("db-02")).await;
    let (kept, gone) = (kept["id"].as_i64().unwrap(), gone["id"].as_i64().unwrap());
    let (_, incident) = api
        .post(
            "/api/v1/incidents",
            json!({"title": "DB 応答遅延", "impact": "medium", "urgency": "low", "category": "database"}),
        )
        .await;
    let ticket = incident["id"].as_i64().unwrap();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use mamori::db::schema::ticket_cis;
        diesel::insert_into(ticket_cis::table)
            .values((
                ticket_cis::ticket_id.eq(ticket),
                ticket_cis::ci_id.eq(kept),
                ticket_cis::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
    let (status, body) = api.send(Method::DELETE, &format!("/api/v1/cis/{kept}"), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ci_referenced_by_tickets"));
    assert_eq!(api.get(&format!("/api/v1/cis/{kept}")).await.0, 200);
    // Retiring it is the way.
    let (status, _) = api
        .patch(&format!("/api/v1/cis/{kept}"), json!({"status": "retired"}))
        .await;
    assert_eq!(status, 200);

    assert_eq!(
        api.send(Method::DELETE, &format!("/api/v1/cis/{gone}"), None).await.0,
        204
    );
    assert_eq!(api.get(&format!("/api/v1/cis/{gone}")).await.0, 404);
    let admin = Api::new(&app, Role::Admin).await;
    let (_, audit) = admin
        .get(&format!("/api/v1/audit?entity_type=ci&entity_id={gone}"))
        .await;
    assert!(audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "ci.delete"));
}

async fn the_form_creates_and_edits_and_names_bad_fields(app: TestApp) {
    let (client, _) = app.login_as(Role::Engineer).await;
    let form = app.get(&client, "/cmdb/new").await;
    assert_eq!(form.status(), 200);
    let refused = app
        .post_form(
            &client,
            "/cmdb",
            &[
                ("name", "lb-01"),
                ("class", "network_device"),
                ("environment", "production"),
                ("criticality", "2"),
                ("status", "active"),
                ("support_ends_on", "2027-13-01"),
                ("attributes", "no equals sign"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("id=\"error-attributes\""),
        "the form comes back naming the field"
    );
    assert!(html.contains("value=\"lb-01\""), "typed text is kept");
    let refused = app
        .post_form(
            &client,
            "/cmdb",
            &[
                ("name", "lb-01"),
                ("class", "network_device"),
                ("environment", "production"),
                ("criticality", "2"),
                ("status", "active"),
                ("support_ends_on", "2027-13-01"),
                ("attributes", "rack=B-3"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("id=\"error-support_ends_on\""));
    let created = app
        .post_form(
            &client,
            "/cmdb",
            &[
                ("name", "lb-01"),
                ("class", "network_device"),
                ("environment", "production"),
                ("criticality", "2"),
                ("status", "active"),
                ("owner_team_id", ""),
                ("attributes", "rack=B-3"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location.trim_start_matches("/cmdb/").parse().unwrap();
    let edit = app
        .get(&client, &format!("/cmdb/{id}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(edit.contains("rack=B-3"));
    let saved = app
        .post_form(
            &client,
            &format!("/cmdb/{id}"),
            &[
                ("name", "lb-01"),
                ("class", "network_device"),
                ("environment", "staging"),
                ("criticality", "3"),
                ("status", "active"),
                ("version", "1"),
                ("attributes", "rack=B-4"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let page = app.get(&client, &location).await.text().await.unwrap();
    assert!(page.contains("B-4") && page.contains("Staging"));
    // The same form on the old version is a conflict, not a silent overwrite.
    let stale = app
        .post_form(
            &client,
            &format!("/cmdb/{id}"),
            &[
                ("name", "lb-01"),
                ("class", "network_device"),
                ("environment", "development"),
                ("criticality", "3"),
                ("status", "active"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(stale.status(), 409);
}

async fn admins_add_classes(app: TestApp) {
    let admin = Api::new(&app, Role::Admin).await;
    let (status, class) = admin.post("/api/v1/ci-classes", json!({"name": "load_balancer"})).await;
    assert_eq!(status, 201, "{class}");
    for bad in ["load_balancer", "Load Balancer", ""] {
        let (status, body) = admin.post("/api/v1/ci-classes", json!({"name": bad})).await;
        assert_eq!((status, field(&body)), (422, vec!["name".to_string()]), "{bad}");
    }
    let engineer = Api::new(&app, Role::Engineer).await;
    let (_, classes) = engineer.get("/api/v1/ci-classes").await;
    let names: Vec<&str> = classes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 11);
    assert!(names.contains(&"business_service") && names.contains(&"load_balancer"));
    let (status, _) = engineer
        .post("/api/v1/cis", json!({"name": "lb-prd", "class": "load_balancer"}))
        .await;
    assert_eq!(status, 201);
    let (client, _) = app.login_as(Role::Admin).await;
    let created = app
        .post_form(&client, "/admin/ci-classes", &[("name", "firewall")])
        .await;
    assert_eq!(created.status(), 303);
    let page = app.get(&client, "/admin/ci-classes").await.text().await.unwrap();
    assert!(page.contains("firewall") && page.contains("Business service"));
}

async fn ci(api: &Api<'_>, name: &str, class: &str) -> i64 {
    let (status, body) = api.post("/api/v1/cis", json!({"name": name, "class": class})).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn relate(api: &Api<'_>, from: i64, to: i64, kind: &str, group: &str) -> (u16, Value) {
    api.post(
        "/api/v1/ci-relationships",
        json!({"from_id": from, "to_id": to, "kind": kind, "redundancy_group": group}),
    )
    .await
}

fn names(impact: &Value) -> Vec<String> {
    let mut names: Vec<String> = impact["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn bad_relationships_are_named_and_nothing_is_stored(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let (app_ci, server_ci) = (
        ci(&api, "受注アプリ", "application").await,
        ci(&api, "ap-01", "server").await,
    );
    for (body, field_name) in [
        (json!({"from_id": app_ci, "to_id": app_ci, "kind": "runs_on"}), "to_id"),
        (
            json!({"from_id": 999_999, "to_id": server_ci, "kind": "runs_on"}),
            "from_id",
        ),
        (json!({"from_id": app_ci, "to_id": 999_999, "kind": "runs_on"}), "to_id"),
        (json!({"from_id": app_ci, "to_id": server_ci, "kind": "hosts"}), "kind"),
    ] {
        let (status, answer) = api.post("/api/v1/ci-relationships", body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(field(&answer), vec![field_name.to_string()], "{body}");
    }
    let (status, created) = relate(&api, app_ci, server_ci, "runs_on", "").await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["from"]["name"], "受注アプリ");
    let (status, answer) = relate(&api, app_ci, server_ci, "runs_on", "").await;
    assert_eq!(status, 409);
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ci_relationship_duplicate"));
    // Another kind between the same two is another edge.
    assert_eq!(relate(&api, app_ci, server_ci, "connected_to", "").await.0, 201);
    let (_, listed) = api.get(&format!("/api/v1/cis/{server_ci}/relationships")).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let (status, answer) = api.get(&format!("/api/v1/cis/{server_ci}/impact?depth=0")).await;
    assert_eq!((status, field(&answer)), (422, vec!["depth".to_string()]));
    let (status, answer) = api
        .get(&format!("/api/v1/cis/{server_ci}/impact?direction=sideways"))
        .await;
    assert_eq!((status, field(&answer)), (422, vec!["direction".to_string()]));
    assert_eq!(api.get("/api/v1/cis/999999/impact").await.0, 404);
    // Deleting a relationship is audited and leaves the CIs.
    let rel = created["id"].as_i64().unwrap();
    assert_eq!(
        api.send(Method::DELETE, &format!("/api/v1/ci-relationships/{rel}"), None)
            .await
            .0,
        204
    );
    let (_, listed) = api.get(&format!("/api/v1/cis/{server_ci}/relationships")).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

async fn impact_reaches_the_services_through_redundancy_and_cycles(app: TestApp) {
    let api = Api::new(&app, Role::Engineer).await;
    let service = ci(&api, "ネット受注", "business_service").await;
    let web = ci(&api, "受注Web", "application").await;
    let db = ci(&api, "受注DB", "database").await;
    let node1 = ci(&api, "web-node-1", "server").await;
    let node2 = ci(&api, "web-node-2", "server").await;
    let storage = ci(&api, "san-01", "storage").await;
    assert_eq!(relate(&api, service, web, "depends_on", "").await.0, 201);
    assert_eq!(relate(&api, web, db, "depends_on", "").await.0, 201);
    assert_eq!(relate(&api, web, node1, "runs_on", "web-cluster").await.0, 201);
    assert_eq!(relate(&api, web, node2, "runs_on", "web-cluster").await.0, 201);
    assert_eq!(relate(&api, db, storage, "runs_on", "").await.0, 201);
    // A cycle in the data: the storage "depends on" the database it serves.
    assert_eq!(relate(&api, storage, db, "connected_to", "").await.0, 201);

    // One node of the redundant pair down: nothing above it fails.
    let (status, one_node) = api.get(&format!("/api/v1/cis/{node1}/impact")).await;
    assert_eq!(status, 200, "{one_node}");
    assert!(one_node["items"].as_array().unwrap().is_empty(), "{one_node}");
    // The storage down: the database, the application and the business service, with paths.
    let (_, from_storage) = api.get(&format!("/api/v1/cis/{storage}/impact?direction=down")).await;
    assert_eq!(names(&from_storage), ["ネット受注", "受注DB", "受注Web"]);
    let service_item = from_storage["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == service)
        .unwrap();
    assert_eq!(service_item["class"], "business_service");
    let path: Vec<&str> = service_item["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(path, ["san-01", "受注DB", "受注Web", "ネット受注"]);
    assert_eq!(from_storage["cycles"].as_array().unwrap().len(), 1, "{from_storage}");
    // Depth bounds the walk; up lists what the service rests on (redundancy does not cut that).
    let (_, shallow) = api.get(&format!("/api/v1/cis/{storage}/impact?depth=1")).await;
    assert_eq!(names(&shallow), ["受注DB"]);
    let (_, rests_on) = api.get(&format!("/api/v1/cis/{service}/impact?direction=up")).await;
    assert_eq!(
        names(&rests_on),
        ["san-01", "web-node-1", "web-node-2", "受注DB", "受注Web"]
    );

    // The CI page shows the impact and points the cycle out.
    let (client, _) = app.login_as(Role::Helpdesk).await;
    let html = app
        .get(&client, &format!("/cmdb/{storage}"))
        .await
        .text()
        .await
        .unwrap();
    let impact = &html[html.find("id=\"ci-impact\"").unwrap()..];
    assert!(
        impact.contains("ネット受注") && impact.contains("id=\"ci-cycles\""),
        "{impact}"
    );
    // The page form adds a relationship the other way round; a bad number is named.
    let (client, _) = app.login_as(Role::Engineer).await;
    let refused = app
        .post_form(
            &client,
            &format!("/cmdb/{node1}/relationships"),
            &[
                ("direction", "incoming"),
                ("kind", "runs_on"),
                ("other_id", &node1.to_string()),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("id=\"error-other_id\""));
    let added = app
        .post_form(
            &client,
            &format!("/cmdb/{storage}/relationships"),
            &[
                ("direction", "incoming"),
                ("kind", "runs_on"),
                ("other_id", &node2.to_string()),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let (_, rel) = api.get(&format!("/api/v1/cis/{node2}/relationships")).await;
    assert!(rel["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["from_id"] == node2 && r["to_id"] == storage));
}

on_both!(
    cis_are_created_read_filtered_changed_and_audited,
    the_list_pages_by_keyset,
    bad_ci_input_is_named_and_nothing_is_stored,
    a_ci_that_tickets_name_is_retired_not_deleted,
    the_form_creates_and_edits_and_names_bad_fields,
    admins_add_classes,
    bad_relationships_are_named_and_nothing_is_stored,
    impact_reaches_the_services_through_redundancy_and_cycles,
);
