//! `GET /search` (the results page of the header's search box) and `GET /api/v1/search`: thin
//! handlers over [`super::service`].

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tera::Context;

use super::service::{self, Kind, SearchParams};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::query::Query;
use crate::web::templates::{render_status, request_lang};

pub fn pages(cfg: &mut web::ServiceConfig) {
    cfg.route("/search", web::get().to(page));
}

pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.route("/search", web::get().to(api_search));
}

/// One search over every ticket kind the caller may see, best match or newest first.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", operation_id = "search",
    params(SearchParams),
    responses((status = 200, description = "A page of hits", body = service::Page)))]
pub(crate) async fn api_search(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<SearchParams>,
) -> Result<HttpResponse, AppError> {
    let request = service::check(&query, user.role)?;
    let page = state.db(move |conn| service::search(conn, &request)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The results page. Without a query it shows the empty form; a refused query comes back with
/// the message beside the box (422), the typed text kept.
async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query<SearchParams>,
) -> Result<HttpResponse, AppError> {
    let params = query.into_inner();
    let mut context = Context::new();
    let visible: Vec<&str> = Kind::ALL
        .into_iter()
        .filter(|k| crate::auth::permissions::allows(user.role, k.permission()))
        .map(Kind::as_str)
        .collect();
    context.insert("kinds", &visible);
    context.insert("params", &params);
    context.insert("searched", &false);
    context.insert("errors", &Vec::<(String, String)>::new());
    let asked = params.q.as_deref().is_some_and(|q| !q.is_empty());
    if !asked {
        return render_status(&req, StatusCode::OK, "search/results.html", context);
    }
    let request = match service::check(&params, user.role) {
        Ok(request) => request,
        Err(AppError::Validation(errors)) => {
            let lang = request_lang(&req);
            let messages: Vec<(String, String)> = errors
                .0
                .iter()
                .map(|(field, message)| (field.to_string(), message.translate(lang)))
                .collect();
            context.insert("errors", &messages);
            return render_status(&req, StatusCode::UNPROCESSABLE_ENTITY, "search/results.html", context);
        }
        Err(other) => return Err(other),
    };
    let page = state.db(move |conn| service::search(conn, &request)).await?;
    let next_url = page.next_cursor.as_ref().map(|cursor| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("q", &params.q),
            ("kinds", &params.kinds),
            ("status", &params.status),
            ("sort", &params.sort),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                url.append_pair(key, value);
            }
        }
        url.append_pair("cursor", cursor);
        format!("/search?{}", url.finish())
    });
    context.insert("searched", &true);
    context.insert("hits", &page.items);
    context.insert("next_url", &next_url);
    render_status(&req, StatusCode::OK, "search/results.html", context)
}
