//! The search use case: checks the parameters (422s naming them), keeps to the kinds the user may
//! see, asks each kind's source for hits and returns one page with a cursor. Read-only: no
//! transaction, no audit row.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::{Deserialize, Serialize};

use crate::auth::permissions::{allows, Permission, Role};
use crate::db::schema::tickets;
use crate::db::DbConnection;
use crate::error::{AppError, FieldErrors, FieldMessage};
use crate::tickets::queries as ticket_queries;
use crate::tickets::search::{self, Query, RANK_WINDOW};

/// Hits per page unless asked, and the most a page may hold.
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 50;

/// The kinds the search covers. A new kind adds a variant here with its permission and its open
/// states, and a source in [`search`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Incident,
    Problem,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Incident, Kind::Problem];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Incident => "incident",
            Kind::Problem => "problem",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw.trim())
    }

    /// What a user needs to see this kind's records: the permission of its list.
    pub fn permission(self) -> Permission {
        match self {
            Kind::Incident => Permission::WorkIncidents,
            Kind::Problem => Permission::ViewProblems,
        }
    }

    /// The states that count as open (`status=open`): those the kind declares open
    /// (`tickets::kind`, every status not of the `Resolved` class).
    fn open_states(self) -> Vec<&'static str> {
        crate::tickets::kind::find_str(self.as_str())
            .map(|spec| spec.open_statuses().collect())
            .unwrap_or_default()
    }

    /// The page that shows one record of this kind, from the kind's declaration.
    pub fn url(self, id: i64) -> String {
        crate::tickets::kind::find_str(self.as_str()).map_or_else(|| "/".to_string(), |spec| spec.page(id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    Newest,
}

/// The parameters as they arrive (query string of the page and the API).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words (all required) and "quoted phrases"; NFKC and case are folded (ＶＰＮ = vpn), one-
    /// and two-character Japanese words such as 障害 are found. 1 to 1,000 characters.
    #[param(example = "障害 VPN")]
    pub q: Option<String>,
    /// Comma-separated kinds; every kind the user may see when absent.
    pub kinds: Option<String>,
    /// `all` (the default: old fixes are what people look for) or `open`.
    pub status: Option<String>,
    /// `relevance` (the default) or `newest`.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `include` finds archived tickets too; left out by default (`exclude`).
    pub archived: Option<String>,
}

/// A checked request.
#[derive(Debug, Clone)]
pub struct Request {
    pub query: Query,
    pub kinds: Vec<Kind>,
    pub status: StatusFilter,
    pub sort: Sort,
    pub limit: i64,
    /// The id of the last hit of the previous page.
    pub after: Option<i64>,
    /// Archived tickets are found too (`archived=include`).
    pub include_archived: bool,
}

fn invalid(field: &'static str, key: &'static str) -> AppError {
    AppError::Validation(FieldErrors::single(field, FieldMessage::new(key)))
}

const CURSOR_PREFIX: &str = "t";

/// The cursor after the hit `id` (opaque to clients).
fn cursor_of(id: i64) -> String {
    format!("{CURSOR_PREFIX}{id}")
}

/// Checks the parameters; the kinds default to those `role` may see, and naming one it may not
/// see is refused like an unknown one.
pub fn check(params: &SearchParams, role: Role) -> Result<Request, AppError> {
    let query = search::parse(params.q.as_deref().unwrap_or(""))
        .map_err(|e| AppError::Validation(FieldErrors::single("q", FieldMessage::new(e.message_key()))))?;
    let visible: Vec<Kind> = Kind::ALL.into_iter().filter(|k| allows(role, k.permission())).collect();
    let kinds = match params.kinds.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => visible,
        Some(raw) => {
            let mut kinds = Vec::new();
            for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let kind = Kind::parse(name)
                    .filter(|k| visible.contains(k))
                    .ok_or_else(|| invalid("kinds", "search-error-kinds-invalid"))?;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            kinds
        }
    };
    if kinds.is_empty() {
        return Err(invalid("kinds", "search-error-kinds-invalid"));
    }
    let status = match params.status.as_deref().map(str::trim).unwrap_or("") {
        "" | "all" => StatusFilter::All,
        "open" => StatusFilter::Open,
        _ => return Err(invalid("status", "search-error-status-invalid")),
    };
    let sort = match params.sort.as_deref().map(str::trim).unwrap_or("") {
        "" | "relevance" => Sort::Relevance,
        "newest" => Sort::Newest,
        _ => return Err(invalid("sort", "search-error-sort-invalid")),
    };
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::Validation(FieldErrors::single(
            "limit",
            FieldMessage::new("search-error-limit-invalid").with("max", MAX_LIMIT),
        )));
    }
    let after = match params.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(
            raw.strip_prefix(CURSOR_PREFIX)
                .and_then(|id| id.parse::<i64>().ok())
                .filter(|id| *id > 0)
                .ok_or_else(|| invalid("cursor", "search-error-cursor-invalid"))?,
        ),
    };
    let include_archived = crate::tickets::queries::include_archived(params.archived.as_deref())
        .ok_or_else(|| invalid("archived", "archived-error-invalid"))?;
    Ok(Request {
        query,
        kinds,
        status,
        sort,
        limit,
        after,
        include_archived,
    })
}

/// One hit, in the fields of `GET /api/v1/search`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub kind: Kind,
    pub id: i64,
    #[schema(example = "INC-000123")]
    pub number: String,
    #[schema(example = "VPN 接続不可（障害）")]
    pub title: String,
    /// An HTML fragment: the text around the first match, escaped, matches in `<mark>`.
    pub snippet: String,
    pub status: String,
    #[serde(serialize_with = "crate::db::utc::serialize")]
    pub updated_at: NaiveDateTime,
    /// The relevance score (twice the trigram similarity to the title plus that to the text).
    pub score: f64,
    /// The record's page (not part of the API's documented fields, but handy for clients).
    pub url: String,
}

/// One page of hits; `next_cursor` is `null` on the last page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub items: Vec<Hit>,
    pub next_cursor: Option<String>,
}

/// One page of hits.
pub fn search(conn: &mut DbConnection, request: &Request) -> Result<Page, AppError> {
    // Tickets are the one source so far: every kind here is a ticket kind. A source for records
    // that are not tickets returns its hits in the same shape, merged by score or by time.
    let ids = ticket_hits(conn, request, request.limit + 1)?;
    let more = ids.len() as i64 > request.limit;
    let page: Vec<i64> = ids.into_iter().take(request.limit as usize).collect();
    let items = ticket_rows(conn, &request.query, &page)?;
    let next_cursor = if more {
        page.last().map(|id| cursor_of(*id))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The ids of up to `limit` matching tickets after the cursor, in the request's order.
fn ticket_hits(conn: &mut DbConnection, request: &Request, limit: i64) -> Result<Vec<i64>, AppError> {
    let filters = |request: &Request| {
        let kinds: Vec<&'static str> = request.kinds.iter().map(|k| k.as_str()).collect();
        let mut query = tickets::table
            .filter(tickets::kind.eq_any(kinds))
            .filter(tickets::deleted_at.is_null())
            .select(tickets::id)
            .into_boxed();
        if !request.include_archived {
            query = query.filter(sql::<Bool>(crate::tickets::queries::NOT_ARCHIVED));
        }
        if request.status == StatusFilter::Open {
            // The states are the enums' own names, never user text.
            let open: Vec<String> = request
                .kinds
                .iter()
                .map(|k| {
                    let states: Vec<String> = k.open_states().iter().map(|s| format!("'{s}'")).collect();
                    format!(
                        "(tickets.kind = '{}' AND tickets.status IN ({}))",
                        k.as_str(),
                        states.join(", ")
                    )
                })
                .collect();
            query = query.filter(sql::<Bool>(&format!("({})", open.join(" OR "))));
        }
        query
    };
    let walk = |conn: &mut DbConnection, before: Option<i64>, limit: i64| {
        ticket_queries::search_ids(conn, &request.query, before, limit, |conn, text, limit| {
            filters(request)
                .filter(text)
                .order(tickets::id.desc())
                .limit(limit)
                .load::<i64>(conn)
        })
    };
    match request.sort {
        Sort::Newest => Ok(walk(conn, request.after, limit)?),
        Sort::Relevance => {
            let window = walk(conn, None, RANK_WINDOW)?;
            let texts: Vec<(i64, String, String, String)> = crate::native!(conn, |c| {
                tickets::table
                    .filter(tickets::id.eq_any(&window))
                    .select((tickets::id, tickets::reference, tickets::title, tickets::description))
                    .load(c)
            })?;
            let ranked = crate::tickets::similarity::rank(&request.query, texts);
            let start = match request.after {
                None => 0,
                // A cursor that fell out of the window (many newer hits since) ends the list.
                Some(after) => match ranked.iter().position(|(_, id)| *id == after) {
                    Some(at) => at + 1,
                    None => return Ok(Vec::new()),
                },
            };
            Ok(ranked
                .into_iter()
                .skip(start)
                .take(limit as usize)
                .map(|(_, id)| id)
                .collect())
        }
    }
}

/// The hits `ids` in that order, with snippets and scores.
fn ticket_rows(conn: &mut DbConnection, query: &Query, ids: &[i64]) -> Result<Vec<Hit>, AppError> {
    type Row = (i64, String, String, String, String, String, NaiveDateTime);
    let rows: Vec<Row> = crate::native!(conn, |c| {
        tickets::table
            .filter(tickets::id.eq_any(ids))
            .select((
                tickets::id,
                tickets::kind,
                tickets::reference,
                tickets::title,
                tickets::description,
                tickets::status,
                tickets::updated_at,
            ))
            .load(c)
    })?;
    let scorer = crate::tickets::similarity::Scorer::new(&query.normalized);
    let mut hits: Vec<Hit> = rows
        .into_iter()
        .filter_map(|(id, kind, number, title, description, status, updated_at)| {
            let kind = Kind::parse(&kind)?;
            let score = scorer.title_and_text(&search::normalize(&title), &search::normalize(&description));
            // The description around a match; the title's match is shown by the title itself.
            let snippet = search::snippet(&description, query);
            Some(Hit {
                kind,
                id,
                url: kind.url(id),
                number,
                title,
                snippet,
                status,
                updated_at,
                score: (score * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    hits.sort_by_key(|h| ids.iter().position(|id| *id == h.id));
    Ok(hits)
}
