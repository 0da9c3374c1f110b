//! The API as a client signed in with a bearer token sees it: every test file's API calls go
//! through [`Api`], answering the status and the JSON body (`null` when there is none).

use mamori::auth::permissions::Role;
use reqwest::Method;
use serde_json::Value;

use super::TestApp;

pub struct Api<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl<'a> Api<'a> {
    /// A new user of `role` with a token of their own.
    pub async fn new(app: &'a TestApp, role: Role) -> Api<'a> {
        let user = app.create_user(role).await;
        let token = app.api_token(&user).await;
        Api { app, token }
    }

    /// Calls made with an existing token.
    pub fn with_token(app: &'a TestApp, token: &str) -> Api<'a> {
        Api {
            app,
            token: token.to_string(),
        }
    }

    /// `method path` with `body` as JSON (no body when `None`).
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .app
            .api_client()
            .request(method, self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }

    /// `method path` with `body` sent as it is, under `content_type` (none when `None`).
    pub async fn send_raw(&self, method: Method, path: &str, content_type: Option<&str>, body: String) -> (u16, Value) {
        let mut request = self
            .app
            .api_client()
            .request(method, self.app.url(path))
            .bearer_auth(&self.token)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        answer(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::DELETE, path, Some(body)).await
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
