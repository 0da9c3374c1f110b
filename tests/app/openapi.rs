//! The API description (`/api/v1/openapi.json`): it lists exactly the API routes of the route
//! table, it is valid OpenAPI 3.1, and the docs page renders it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use mamori::routes::ROUTES;
use serde_json::Value;

use crate::on_both;
use crate::support::{in_ci, TestApp};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// `METHOD path` of every route under `/api/v1` in the route table.
fn routes_in_table() -> BTreeSet<String> {
    ROUTES
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| format!("{} {}", r.method.as_str(), r.path))
        .collect()
}

/// `METHOD path` of every operation in the description.
fn operations_described(description: &Value) -> BTreeSet<String> {
    let mut described = BTreeSet::new();
    for (path, item) in description["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                described.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    described
}

async fn fetch_description(app: &TestApp) -> Value {
    // No token: the description is public.
    let response = app.get(&app.api_client(), "/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    response.json().await.unwrap()
}

async fn description_lists_every_api_route_and_nothing_else(app: TestApp) {
    let description = fetch_description(&app).await;
    let table = routes_in_table();
    let described = operations_described(&description);
    let undescribed: Vec<_> = table.difference(&described).collect();
    let unrouted: Vec<_> = described.difference(&table).collect();
    assert!(
        undescribed.is_empty(),
        "routes in routes::ROUTES missing from the description (add #[utoipa::path] and list the \
         handler in web::openapi::ApiDoc): {undescribed:?}"
    );
    assert!(
        unrouted.is_empty(),
        "operations in the description that routes::ROUTES does not have: {unrouted:?}"
    );
    assert!(table.len() >= 70, "only {} API routes found", table.len());
    // Every operation but the description itself needs a token and says which errors it answers.
    for (path, item) in description["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else { continue };
            let responses = operation["responses"].as_object().unwrap();
            if path == "/api/v1/openapi.json" {
                assert_eq!(operation["security"], serde_json::json!([{}]), "{path} is public");
                continue;
            }
            for status in ["401", "403", "503"] {
                assert!(responses.contains_key(status), "{method} {path} lacks {status}");
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
                // A path id beyond i64 is refused with 400 (the fuzzer's first finding).
                assert!(responses.contains_key("400"), "{method} {path} lacks 400");
            }
            if operation.get("requestBody").is_some() {
                assert!(responses.contains_key("422"), "{method} {path} lacks 422");
            }
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody"
            );
        }
    }
    let api = crate::support::api::Api::new(&app, mamori::auth::permissions::Role::Admin).await;
    let (status, body) = api.get("/api/v1/users/9223372036854775808").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
    assert_eq!(description["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(description["servers"][0]["url"], "/");
    assert_eq!(
        description["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// A Python with `openapi_spec_validator`: the API fuzzing venv (`scripts/api-fuzz.sh setup`)
/// first, else the system's.
fn validator_python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/api-fuzz-venv/bin/python");
    let candidates = [venv, PathBuf::from("python3")];
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import openapi_spec_validator"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

async fn description_is_valid_openapi_3_1(app: TestApp) {
    let description = fetch_description(&app).await;
    assert_eq!(description["openapi"], "3.1.0");
    let Some(python) = validator_python() else {
        assert!(
            !in_ci(),
            "openapi-spec-validator is missing; run scripts/api-fuzz.sh setup"
        );
        eprintln!("skipped: openapi-spec-validator is missing (scripts/api-fuzz.sh setup installs it)");
        return;
    };
    let file = std::env::temp_dir().join(format!("mamori-openapi-{}.json", std::process::id()));
    std::fs::write(&file, description.to_string()).unwrap();
    let output = Command::new(python)
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import OpenAPIV31SpecValidator, validate\n\
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
             print('valid')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "the description is not valid OpenAPI 3.1:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn the_docs_page_renders_the_description_without_script(app: TestApp) {
    let description = fetch_description(&app).await;
    for (lang, title) in [("ja", "API リファレンス"), ("en", "API reference")] {
        // Public: an anonymous browser, in each language.
        let response = app
            .client()
            .get(app.url("/api/docs"))
            .header("Accept-Language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = response.text().await.unwrap();
        assert!(html.contains(title), "{lang}: {title}");
        assert!(
            !html.contains("<script") && !html.contains("style=\""),
            "no script or inline style"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing from other sites"
        );
        // Every operation of the description has its entry.
        for (path, item) in description["paths"].as_object().unwrap() {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    let anchor = format!("id=\"op-{}\"", operation["operationId"].as_str().unwrap());
                    assert!(html.contains(&anchor), "{method} {path} missing from the page");
                }
            }
        }
        assert!(html.contains("id=\"schema-IncidentInput\"") && html.contains("VPN 接続不可"));
    }
}

on_both!(
    description_lists_every_api_route_and_nothing_else,
    description_is_valid_openapi_3_1,
    the_docs_page_renders_the_description_without_script,
);
