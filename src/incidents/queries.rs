//! Diesel queries for incidents (joined with the ticket core).

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::model::{Incident, IncidentFilter, IncidentRow, Loaded, NewIncident};
use super::rules::{Priority, Status};
use crate::db::schema::{incidents, teams, tickets, users};
use crate::db::{Backend, DbConnection};
use crate::tickets::model::Ticket;
use crate::tickets::queries as ticket_queries;
use crate::tickets::search;

/// Inserts an incident's row and returns it as stored.
pub fn insert(conn: &mut DbConnection, new: &NewIncident<'_>) -> QueryResult<Incident> {
    diesel::insert_into(incidents::table)
        .values(new)
        // The columns in `Incident`'s field order (a multi-backend connection cannot return `as_select`).
        .returning(incidents::all_columns)
        .get_result(conn)
}

pub fn load(conn: &mut DbConnection, id: i64) -> QueryResult<Loaded> {
    tickets::table
        .inner_join(incidents::table)
        .filter(tickets::id.eq(id))
        .filter(tickets::kind.eq("incident"))
        .filter(tickets::deleted_at.is_null())
        .select((Ticket::as_select(), Incident::as_select()))
        .first(conn)
}

/// [`load`] with the names of the team and the assignee, in the same query.
pub fn load_named(conn: &mut DbConnection, id: i64) -> QueryResult<(Loaded, Option<String>, Option<String>)> {
    let (ticket, incident, team, assignee) = crate::native!(conn, |c| {
        tickets::table
            .inner_join(incidents::table)
            .left_join(teams::table.on(tickets::team_id.eq(teams::id.nullable())))
            .left_join(users::table.on(tickets::assignee_id.eq(users::id.nullable())))
            .filter(tickets::id.eq(id))
            .filter(tickets::kind.eq("incident"))
            .filter(tickets::deleted_at.is_null())
            .select((
                Ticket::as_select(),
                Incident::as_select(),
                teams::name.nullable(),
                users::display_name.nullable(),
            ))
            .first(c)
    })?;
    Ok(((ticket, incident), team, assignee))
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = incidents)]
pub struct IncidentUpdate<'a> {
    pub impact: Option<&'a str>,
    pub urgency: Option<&'a str>,
    pub category: Option<&'a str>,
    pub service: Option<&'a str>,
    pub escalation_level: Option<i32>,
    pub hold_reason: Option<Option<&'a str>>,
    pub held_from: Option<Option<&'a str>>,
    pub workaround: Option<Option<&'a str>>,
    pub resolution: Option<Option<&'a str>>,
    pub resolution_kind: Option<Option<&'a str>>,
    pub acknowledged_at: Option<Option<chrono::NaiveDateTime>>,
    pub mitigated_at: Option<Option<chrono::NaiveDateTime>>,
    pub resolved_at: Option<Option<chrono::NaiveDateTime>>,
}

pub fn update(conn: &mut DbConnection, ticket_id: i64, changes: &IncidentUpdate<'_>) -> QueryResult<()> {
    // An empty changeset is an error in diesel; nothing to do then.
    let empty = changes.impact.is_none()
        && changes.urgency.is_none()
        && changes.category.is_none()
        && changes.service.is_none()
        && changes.escalation_level.is_none()
        && changes.hold_reason.is_none()
        && changes.held_from.is_none()
        && changes.workaround.is_none()
        && changes.resolution.is_none()
        && changes.resolution_kind.is_none()
        && changes.acknowledged_at.is_none()
        && changes.mitigated_at.is_none()
        && changes.resolved_at.is_none();
    if empty {
        return Ok(());
    }
    diesel::update(incidents::table.find(ticket_id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
}

/// Conditions a saved view adds, resolved by the service (e.g. "my team" → team ids).
#[derive(Debug, Default, Clone)]
pub struct ListScope {
    pub sort: ListSort,
    /// The last row of the previous page, in the columns the sort orders by.
    pub cursor: Option<Cursor>,
    pub statuses: Option<Vec<Status>>,
    pub priority: Option<Priority>,
    pub team_ids: Option<Vec<i64>>,
    pub assignee_id: Option<i64>,
    pub unassigned: bool,
    pub reported_from: Option<chrono::NaiveDateTime>,
    pub reported_before: Option<chrono::NaiveDateTime>,
}

/// The orders a list can take; each is served by an index in the same order, so a page reads
/// only its own rows (keyset on the sort columns plus the id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListSort {
    #[default]
    Newest,
    Oldest,
    Priority,
    Updated,
    /// A text search's best matches first (see [`list_by_relevance`]).
    Relevance,
}

impl ListSort {
    pub const ALL: [ListSort; 5] = [
        ListSort::Newest,
        ListSort::Oldest,
        ListSort::Priority,
        ListSort::Updated,
        ListSort::Relevance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ListSort::Newest => "newest",
            ListSort::Oldest => "oldest",
            ListSort::Priority => "priority",
            ListSort::Updated => "updated",
            ListSort::Relevance => "relevance",
        }
    }

    pub fn parse(text: &str) -> Option<ListSort> {
        ListSort::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Where the previous page ended.
#[derive(Debug, Clone)]
pub struct Cursor {
    pub id: i64,
    pub priority: String,
    pub updated_at: chrono::NaiveDateTime,
}

/// The cursor's columns for the incident `id` (`None` if it is gone: the list starts over).
pub fn cursor(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Cursor>> {
    tickets::table
        .find(id)
        .select((tickets::id, tickets::priority, tickets::updated_at))
        .first::<(i64, String, chrono::NaiveDateTime)>(conn)
        .optional()
        .map(|found| {
            found.map(|(id, priority, updated_at)| Cursor {
                id,
                priority,
                updated_at,
            })
        })
}

/// The ids of the incidents that pass every list filter except the text search and the
/// cursor (a macro because the boxed query's type is long and [`ids_by_fts`] builds it per
/// batch). Only `tickets` is read, and `incidents` only through an EXISTS when one of its columns
/// is filtered on: the names and the incident columns of a page come afterwards, for its rows
/// only ([`rows_for`]). On PostgreSQL that halves a list's cost: planning the four-table join
/// took 0.8 ms on every request (its values are literals, so it is planned each time), and the
/// plan chosen merge-joined `incidents`, reading thousands of its rows for a page of 50.
macro_rules! filtered_ids {
    ($filter:expr, $scope:expr) => {
        filtered_ids!($filter, $scope, tickets::id)
    };
    // The same filters selecting other `tickets` columns.
    ($filter:expr, $scope:expr, $columns:expr) => {{
        let (filter, scope): (&IncidentFilter, &ListScope) = ($filter, $scope);
        let mut query = tickets::table
            .filter(tickets::kind.eq("incident"))
            .filter(tickets::deleted_at.is_null())
            .select($columns)
            .into_boxed();
        // State and priority are written into the SQL, not bound: PostgreSQL then plans each
        // combination for its own values. Bound, all combinations share one generic plan, chosen
        // for the common ones. The values are the enums' own names, never user text.
        if let Some(statuses) = &scope.statuses {
            let names: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
            query = query.filter(sql::<Bool>(&format!("tickets.status IN ({})", names.join(", "))));
        }
        if let Some(priority) = scope.priority {
            query = query.filter(sql::<Bool>(&format!("tickets.priority = '{}'", priority.as_str())));
        }
        if let Some(team_ids) = &scope.team_ids {
            query = query.filter(tickets::team_id.eq_any(team_ids.clone()));
        }
        if let Some(assignee) = scope.assignee_id {
            query = query.filter(tickets::assignee_id.eq(assignee));
        }
        if scope.unassigned {
            query = query.filter(tickets::assignee_id.is_null());
        }
        // Incident columns through a correlated EXISTS: SQLite probes `incidents` by its key for
        // each candidate ticket, PostgreSQL plans it as a semi-join.
        let incident = |condition: &str| {
            format!("EXISTS (SELECT 1 FROM incidents WHERE incidents.ticket_id = tickets.id AND incidents.{condition}")
        };
        if let Some(from) = scope.reported_from {
            query = query.filter(
                sql::<Bool>(&incident("reported_at >= "))
                    .bind::<diesel::sql_types::Timestamp, _>(from)
                    .sql(")"),
            );
        }
        if let Some(before) = scope.reported_before {
            query = query.filter(
                sql::<Bool>(&incident("reported_at < "))
                    .bind::<diesel::sql_types::Timestamp, _>(before)
                    .sql(")"),
            );
        }
        if let Some(category) = filter.category.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            query = query.filter(
                sql::<Bool>(&incident("category = "))
                    .bind::<Text, _>(category.to_string())
                    .sql(")"),
            );
        }
        if let Some(service) = filter.service.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            query = query.filter(
                sql::<Bool>(&incident("service = "))
                    .bind::<Text, _>(service.to_string())
                    .sql(")"),
            );
        }
        if crate::tickets::queries::include_archived(filter.archived.as_deref()) != Some(true) {
            query = query.filter(sql::<Bool>(crate::tickets::queries::NOT_ARCHIVED));
        }
        if filter.without_problem == Some(true) {
            query = query.filter(sql::<Bool>(crate::problems::queries::NOT_COVERED_BY_A_PROBLEM));
        }
        query
    }};
}

/// The list rows of the incidents `ids`, in the order of `ids`, with the team and assignee
/// names joined (one query for the page, none per row).
fn rows_for(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<IncidentRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let assignees = diesel::alias!(users as assignees);
    let mut rows: Vec<IncidentRow> = crate::native!(conn, |c| {
        tickets::table
            .inner_join(incidents::table)
            .left_join(teams::table.on(tickets::team_id.eq(teams::id.nullable())))
            .left_join(assignees.on(tickets::assignee_id.eq(assignees.field(users::id).nullable())))
            .filter(tickets::id.eq_any(ids))
            .select((
                tickets::id,
                tickets::reference,
                tickets::title,
                tickets::status,
                tickets::priority,
                teams::name.nullable(),
                assignees.field(users::display_name).nullable(),
                incidents::category,
                incidents::reported_at,
                tickets::updated_at,
            ))
            .load(c)
    })?;
    let position: std::collections::HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|row| position.get(&row.id).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

/// At most `limit` incidents in the scope's order, after the keyset cursor. A text search
/// (`filter.q`) matches as every search does (`tickets::search`): normalised, all words and
/// phrases required.
pub fn list(
    conn: &mut DbConnection,
    filter: &IncidentFilter,
    scope: &ListScope,
    limit: i64,
) -> QueryResult<Vec<IncidentRow>> {
    let query = filter.q.as_deref().and_then(search::parse_lenient);
    if let Some(query) = query.as_ref().filter(|_| scope.sort == ListSort::Relevance) {
        return list_by_relevance(conn, filter, scope, limit, query);
    }
    let ids = list_ids(conn, filter, scope, limit, query.as_ref())?;
    rows_for(conn, &ids)
}

/// The ids of [`list`]'s page (text search newest first, or no text search).
fn list_ids(
    conn: &mut DbConnection,
    filter: &IncidentFilter,
    scope: &ListScope,
    limit: i64,
    query: Option<&search::Query>,
) -> QueryResult<Vec<i64>> {
    if let Some(query) = query {
        let before = scope.cursor.as_ref().map(|c| c.id);
        return ticket_queries::search_ids(conn, query, before, limit, |conn, text, limit| {
            filtered_ids!(filter, scope)
                .filter(text)
                .order(tickets::id.desc())
                .limit(limit)
                .load::<i64>(conn)
        });
    }
    let mut query = filtered_ids!(filter, scope);
    // Row-value comparisons, so both backends seek the sort's index to the cursor.
    if let Some(c) = &scope.cursor {
        query = match scope.sort {
            ListSort::Newest | ListSort::Relevance => query.filter(tickets::id.lt(c.id)),
            ListSort::Oldest => query.filter(tickets::id.gt(c.id)),
            ListSort::Priority => query.filter(
                sql::<Bool>("(tickets.priority, tickets.id) > (")
                    .bind::<Text, _>(c.priority.clone())
                    .sql(", ")
                    .bind::<diesel::sql_types::BigInt, _>(c.id)
                    .sql(")"),
            ),
            ListSort::Updated => query.filter(
                sql::<Bool>("(tickets.updated_at, tickets.id) < (")
                    .bind::<diesel::sql_types::Timestamp, _>(c.updated_at)
                    .sql(", ")
                    .bind::<diesel::sql_types::BigInt, _>(c.id)
                    .sql(")"),
            ),
        };
    }
    let query = match scope.sort {
        ListSort::Newest | ListSort::Relevance => query.order(tickets::id.desc()),
        ListSort::Oldest => query.order(tickets::id.asc()),
        ListSort::Priority => query.order((tickets::priority.asc(), tickets::id.asc())),
        ListSort::Updated => query.order((tickets::updated_at.desc(), tickets::id.desc())),
    };
    query.limit(limit).load::<i64>(conn)
}

/// How many of the newest matches a text search ranks (one rule for every kind's search).
pub use crate::tickets::search::RANK_WINDOW;

/// A text search's hits, best match first, `limit` of them after the row `filter.before` (the
/// last of the previous page). The newest [`RANK_WINDOW`] hits of the filters are scored by the
/// trigram similarity (pg_trgm's measure on both backends, see
/// [`crate::tickets::similarity::rank`]) and ranked, the
/// title weighing double. Equal scores are newest first; a reference typed in ("INC-000123")
/// is the best match. Only the page's rows are read in full.
fn list_by_relevance(
    conn: &mut DbConnection,
    filter: &IncidentFilter,
    scope: &ListScope,
    limit: i64,
    q: &search::Query,
) -> QueryResult<Vec<IncidentRow>> {
    let newest = ListScope {
        sort: ListSort::Newest,
        cursor: None,
        ..scope.clone()
    };
    let from_start = IncidentFilter {
        before: None,
        ..filter.clone()
    };
    let window = ranking_window(conn, &from_start, &newest, q)?;
    let ranked = crate::tickets::similarity::rank(q, window);
    let start = match filter.before {
        None => 0,
        // A cursor that fell out of the window (many newer hits since) ends the list.
        Some(before) => match ranked.iter().position(|(_, id)| *id == before) {
            Some(at) => at + 1,
            None => return Ok(Vec::new()),
        },
    };
    let page: Vec<i64> = ranked
        .into_iter()
        .skip(start)
        .take(limit.max(0) as usize)
        .map(|(_, id)| id)
        .collect();
    rows_for(conn, &page)
}

/// The newest [`RANK_WINDOW`] hits of a text search with its filters, with the texts the
/// ranking scores (id, reference, title, description), in no particular order.
fn ranking_window(
    conn: &mut DbConnection,
    filter: &IncidentFilter,
    newest: &ListScope,
    q: &search::Query,
) -> QueryResult<Vec<(i64, String, String, String)>> {
    let ids = list_ids(conn, filter, newest, RANK_WINDOW, Some(q))?;
    crate::native!(conn, |c| {
        tickets::table
            .filter(tickets::id.eq_any(&ids))
            .select((tickets::id, tickets::reference, tickets::title, tickets::description))
            .load(c)
    })
}

/// Display names of a team and a user, for views.
pub fn names(
    conn: &mut DbConnection,
    team_id: Option<i64>,
    user_id: Option<i64>,
) -> QueryResult<(Option<String>, Option<String>)> {
    let team = match team_id {
        Some(id) => teams::table.find(id).select(teams::name).first(conn).optional()?,
        None => None,
    };
    let user = match user_id {
        Some(id) => users::table
            .find(id)
            .select(users::display_name)
            .first(conn)
            .optional()?,
        None => None,
    };
    Ok((team, user))
}

/// How many of the latest incidents the similar-text search considers.
pub const SIMILAR_WINDOW: i64 = 20_000;

/// Past incidents like this one: the same category or service, or a similar text through the
/// backend's trigram index over the normalised texts (FTS5 bm25 on SQLite, pg_trgm word
/// similarity on PostgreSQL).
/// Returns (ticket, same_category_or_service, similar_text), best first, at most `limit`.
/// The text search looks at the last [`SIMILAR_WINDOW`] incidents only: common trigrams match
/// hundreds of thousands of rows at a million incidents, and recent cases are the useful ones.
pub fn similar(
    conn: &mut DbConnection,
    id: i64,
    title: &str,
    category: &str,
    service: &str,
    limit: i64,
) -> QueryResult<Vec<(ticket_queries::LinkedTicket, bool, bool)>> {
    let mut by_text: Vec<i64> = Vec::new();
    // The normalised title against the normalised texts (`ticket_search`), as every search.
    let title = search::normalize(title);
    if title.chars().count() >= 3 {
        #[derive(QueryableByName)]
        struct Hit {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        let hits: Vec<Hit> = match crate::db::backend_of(conn) {
            Backend::Sqlite => {
                let chars: Vec<char> = title.chars().collect();
                let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect::<String>()).collect();
                grams.sort();
                grams.dedup();
                grams.truncate(40);
                let query = grams
                    .iter()
                    .map(|g| ticket_queries::fts_phrase(g))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                diesel::sql_query(
                    "SELECT t.id AS id FROM ticket_search_fts_text f JOIN tickets t ON t.id = f.rowid \
                     WHERE ticket_search_fts_text MATCH ? AND f.rowid >= ? AND t.kind = 'incident' AND t.id < ? \
                     AND t.deleted_at IS NULL ORDER BY bm25(ticket_search_fts_text) LIMIT ?",
                )
                .bind::<Text, _>(query)
                .bind::<diesel::sql_types::BigInt, _>(id - SIMILAR_WINDOW)
                .bind::<diesel::sql_types::BigInt, _>(id)
                .bind::<diesel::sql_types::BigInt, _>(limit * 2)
                .load(conn)?
            }
            Backend::Postgres => diesel::sql_query(
                "SELECT t.id FROM tickets t JOIN ticket_search s ON s.ticket_id = t.id \
                 WHERE t.id >= $4 AND $1 <% s.body AND t.kind = 'incident' AND t.id < $2 AND t.deleted_at IS NULL \
                 ORDER BY word_similarity($1, s.body) DESC, t.id DESC LIMIT $3",
            )
            .bind::<Text, _>(&title)
            .bind::<diesel::sql_types::BigInt, _>(id)
            .bind::<diesel::sql_types::BigInt, _>(limit * 2)
            .bind::<diesel::sql_types::BigInt, _>(id - SIMILAR_WINDOW)
            .load(conn)?,
        };
        by_text = hits.into_iter().map(|h| h.id).collect();
    }
    let by_field: Vec<i64> = if category.is_empty() && service.is_empty() {
        Vec::new()
    } else {
        let mut q = tickets::table
            .inner_join(incidents::table)
            .filter(tickets::kind.eq("incident"))
            .filter(tickets::id.lt(id))
            .filter(tickets::deleted_at.is_null())
            .select(tickets::id)
            .into_boxed();
        q = match (category.is_empty(), service.is_empty()) {
            (false, false) => q.filter(
                incidents::category
                    .eq(category.to_string())
                    .or(incidents::service.eq(service.to_string())),
            ),
            (false, true) => q.filter(incidents::category.eq(category.to_string())),
            _ => q.filter(incidents::service.eq(service.to_string())),
        };
        q.order(tickets::id.desc()).limit(limit * 2).load(conn)?
    };
    // Both reasons first, then text matches, then same category/service.
    let mut order: Vec<(i64, bool, bool)> = Vec::new();
    for &t in &by_text {
        order.push((t, by_field.contains(&t), true));
    }
    for &f in &by_field {
        if !by_text.contains(&f) {
            order.push((f, true, false));
        }
    }
    order.sort_by_key(|(_, field, text)| !(*field && *text));
    order.truncate(limit as usize);
    let ids: Vec<i64> = order.iter().map(|o| o.0).collect();
    let rows: Vec<ticket_queries::LinkedTicket> = crate::native!(conn, |c| {
        tickets::table
            .filter(tickets::id.eq_any(&ids))
            .select(ticket_queries::LinkedTicket::as_select())
            .load(c)
    })?;
    Ok(order
        .into_iter()
        .filter_map(|(id, field, text)| rows.iter().find(|r| r.id == id).map(|r| (r.clone(), field, text)))
        .collect())
}

/// The titles of generated incidents (the number follows), by the number modulo 8.
const SEED_TITLES: [&str; 8] = [
    "データベース応答遅延 ",
    "VPN に接続できない ",
    "Mail delivery delayed ",
    "ファイルサーバ容量逼迫 ",
    "Login page returns 503 ",
    "夜間バッチ異常終了 ",
    "プリンタ印刷不可 ",
    "Backup job failed on nas",
];

/// How generated descriptions end, by the number modulo 4: the words Japanese teams search for
/// most (障害 in half of them, 復旧 and ＤＢ in a quarter), so a benchmark's searches have hits.
const SEED_DETAILS: [&str; 4] = [
    "サーバ障害 利用者から連絡あり",
    "障害復旧済み ＤＢ 確認",
    "接続遅延 利用者から連絡あり",
    "停止なし 利用者から連絡あり",
];

/// Bulk-generates `count` incidents numbered after the current sequence, in one statement per
/// table (for benchmarks: no per-row round trips, no audit rows; the CLI audits the run). The
/// timeline events have the shapes the services write (`created` with its priority, impact,
/// urgency and channel; one `state_changed` to the seeded status), so every seeded page opens. Titles,
/// priorities (with matching impact/urgency), states and categories vary with the row number so
/// filters and search have work to do; P1s are never closed (they would need a post-mortem).
pub fn bulk_seed(conn: &mut DbConnection, count: i64, reporter: i64, now: chrono::NaiveDateTime) -> QueryResult<i64> {
    use diesel::connection::SimpleConnection;
    let start = crate::tickets::queries::last_number(conn, crate::tickets::model::Kind::Incident)?;
    let (first, last) = (start + 1, start + count);
    let now = now.format("%Y-%m-%d %H:%M:%S").to_string();
    // The expressions are shared; only the row source and the text functions differ.
    let (rows, pad, text_of, seconds) = match crate::db::backend_of(conn) {
        Backend::Sqlite => (
            format!("WITH RECURSIVE g(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM g WHERE n < {last}) SELECT n FROM g"),
            "printf('%06d', n)",
            "CAST(n AS TEXT)",
            "datetime('{now}', '-' || (({last} - n) * 13 % 31536000) || ' seconds')",
        ),
        Backend::Postgres => (
            format!("SELECT n FROM generate_series({first}::bigint, {last}::bigint) AS g(n)"),
            "lpad(n::text, greatest(6, length(n::text)), '0')",
            "n::text",
            "TIMESTAMP '{now}' - make_interval(secs => (({last} - n) * 13 % 31536000)::double precision)",
        ),
    };
    let seconds = seconds.replace("{now}", &now).replace("{last}", &last.to_string());
    // Synthetic SLA figures in the stored shape (30-minute response, 8-hour resolution
    // targets, some breached) so reports and the job have rows to read.
    let plus = |minutes: &str| match crate::db::backend_of(conn) {
        Backend::Sqlite => format!("datetime(created_at, '+' || ({minutes}) || ' minutes')"),
        Backend::Postgres => format!("created_at + make_interval(mins => ({minutes})::int)"),
    };
    let (response_due, response_met, response_warn) = (plus("30"), plus("number % 45"), plus("22"));
    let (resolution_due, resolution_met, resolution_warn) = (plus("480"), plus("number % 600"), plus("360"));
    let false_value = match crate::db::backend_of(conn) {
        Backend::Sqlite => "0",
        Backend::Postgres => "FALSE",
    };
    // The search entries in the shape `tickets::queries::write_search_entry` writes: the texts'
    // fixed parts normalised and split into grams here, the number's grams in SQL.
    let case_of = |modulo: i64, parts: &[&str], f: &dyn Fn(&str) -> String| {
        let mut case = format!("(CASE n % {modulo}");
        for (i, part) in parts.iter().enumerate() {
            case.push_str(&format!(" WHEN {i} THEN '{}'", f(part)));
        }
        case + " END)"
    };
    let title = case_of(8, &SEED_TITLES, &|t| t.to_string());
    let details = case_of(4, &SEED_DETAILS, &|t| t.to_string());
    // Normalised, each title keeps the space before the number.
    let normal_title = case_of(8, &SEED_TITLES, &|t| {
        search::normalize(t) + &" ".repeat(t.ends_with(' ') as usize)
    });
    let normal_details = case_of(4, &SEED_DETAILS, &|t| search::normalize(t));
    let title_grams = case_of(8, &SEED_TITLES, &|t| search::grams(&search::normalize(t)));
    let detail_grams = case_of(4, &SEED_DETAILS, &|t| search::grams(&search::normalize(t)));
    let fixed_grams = search::grams("inc generated incident");
    let digit_grams = |digits: &str| {
        (1..=8)
            .map(|i| format!("substr({digits}, {i}, 1) || ' ' || substr({digits}, {i}, 2)"))
            .collect::<Vec<_>>()
            .join(" || ' ' || ")
    };
    let (pad_grams, number_grams) = (digit_grams(pad), digit_grams(text_of));
    let newline = match crate::db::backend_of(conn) {
        Backend::Sqlite => "char(10)",
        Backend::Postgres => "chr(10)",
    };
    // The last title runs into the number ("nas12"): one more pair.
    let joined = search::normalize(SEED_TITLES[7]).chars().last().unwrap_or(' ');
    let (search_load, search_steady) = crate::tickets::queries::bulk_search_load_settings(crate::db::backend_of(conn));
    let sql = format!(
        "{search_load}
         INSERT INTO tickets (kind, number, reference, title, description, status, priority, team_id, assignee_id, reporter_id, version, created_at, updated_at)
         SELECT 'incident', n, 'INC-' || {pad},
           {title} || {text_of},
           'generated incident ' || {text_of} || ' ' || {details},
           CASE WHEN n % 50 = 0 THEN 'mitigated' WHEN n % 10 < 7 THEN 'closed' WHEN n % 10 = 7 THEN 'in_progress' WHEN n % 10 = 8 THEN 'new' ELSE 'acknowledged' END,
           CASE WHEN n % 50 = 0 THEN 'P1' WHEN n % 7 = 0 THEN 'P2' WHEN n % 3 = 0 THEN 'P3' ELSE 'P4' END,
           NULL, CASE WHEN n % 4 = 0 THEN {reporter} ELSE NULL END, {reporter}, 1, {seconds}, {seconds}
         FROM ({rows}) AS src;
         INSERT INTO ticket_search (ticket_id, body, grams)
         SELECT id, 'inc-' || {pad} || {newline} || {normal_title} || {text_of} || {newline}
             || 'generated incident ' || {text_of} || ' ' || {normal_details},
           {title_grams} || ' ' || {detail_grams} || ' {fixed_grams} ' || {pad_grams} || ' ' || {number_grams}
             || CASE WHEN n % 8 = 7 THEN ' {joined}' || substr({text_of}, 1, 1) ELSE '' END
         FROM (SELECT id, number AS n FROM tickets WHERE kind = 'incident' AND number BETWEEN {first} AND {last}) AS src;
         INSERT INTO incidents (ticket_id, impact, urgency, channel, category, service, reported_at, escalation_level)
         SELECT id,
           CASE priority WHEN 'P1' THEN 'high' WHEN 'P2' THEN 'high' WHEN 'P3' THEN 'medium' ELSE 'low' END,
           CASE priority WHEN 'P1' THEN 'high' WHEN 'P2' THEN 'medium' WHEN 'P3' THEN 'medium' ELSE 'low' END,
           'monitoring',
           CASE number % 5 WHEN 0 THEN 'database' WHEN 1 THEN 'network' WHEN 2 THEN 'mail' WHEN 3 THEN 'storage' ELSE 'batch' END,
           '', created_at, 1
         FROM tickets WHERE kind = 'incident' AND number BETWEEN {first} AND {last};
         INSERT INTO ticket_facts (ticket_id, category, service, started_at)
         SELECT i.ticket_id, i.category, i.service, i.reported_at
         FROM incidents i JOIN tickets t ON t.id = i.ticket_id
         WHERE t.kind = 'incident' AND t.number BETWEEN {first} AND {last};
         INSERT INTO ticket_events (ticket_id, at, actor_id, kind, visibility, body, data)
         SELECT t.id, t.created_at, {reporter}, 'created', 'internal', '',
           '{{\"priority\":\"' || t.priority || '\",\"impact\":\"' || i.impact || '\",\"urgency\":\"' || i.urgency || '\",\"channel\":\"' || i.channel || '\"}}'
         FROM tickets t JOIN incidents i ON i.ticket_id = t.id WHERE t.kind = 'incident' AND t.number BETWEEN {first} AND {last};
         INSERT INTO ticket_events (ticket_id, at, actor_id, kind, visibility, body, data)
         SELECT id, created_at, {reporter}, 'state_changed', 'internal', '',
           '{{\"from\":\"new\",\"to\":\"' || status || '\",\"action\":\"' || CASE status WHEN 'acknowledged' THEN 'acknowledge' WHEN 'in_progress' THEN 'start' WHEN 'mitigated' THEN 'mitigate' ELSE 'close' END || '\",\"resolution_kind\":null}}'
         FROM tickets WHERE kind = 'incident' AND number BETWEEN {first} AND {last} AND status <> 'new';
         INSERT INTO ticket_sla (ticket_id, policy_id, response_due_at, response_met_at, response_breached,
           response_elapsed_minutes, resolution_due_at, resolution_met_at, resolution_breached,
           resolution_elapsed_minutes, paused, computed_at, response_warn_at, resolution_warn_at)
         SELECT id, CASE priority WHEN 'P1' THEN 1 WHEN 'P2' THEN 2 WHEN 'P3' THEN 3 ELSE 4 END,
           {response_due}, CASE WHEN status = 'new' THEN NULL ELSE {response_met} END,
           status <> 'new' AND number % 45 > 30, CASE WHEN status = 'new' THEN 0 ELSE number % 45 END,
           {resolution_due}, CASE WHEN status = 'closed' THEN {resolution_met} END,
           status = 'closed' AND number % 600 > 480, CASE WHEN status = 'closed' THEN number % 600 ELSE 0 END,
           {false_value}, created_at, {response_warn}, {resolution_warn}
         FROM tickets WHERE kind = 'incident' AND number BETWEEN {first} AND {last};
         INSERT INTO sla_rollup_dirty (bucket)
         SELECT DISTINCT {hour} FROM incidents i JOIN tickets t ON t.id = i.ticket_id
         WHERE t.kind = 'incident' AND t.number BETWEEN {first} AND {last}
         ON CONFLICT DO NOTHING;
         {set_last}
         {search_steady}",
        hour = crate::reports::rollup::hour_of(crate::db::backend_of(conn), "i.reported_at"),
        set_last = crate::tickets::queries::set_last_number_sql(conn, crate::tickets::model::Kind::Incident, last),
    );
    crate::db::write_transaction(conn, |conn| conn.batch_execute(&sql))?;
    Ok(last)
}
