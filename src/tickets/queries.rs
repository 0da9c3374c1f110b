//! Diesel queries for the ticket core: numbering, rows with optimistic locking, the timeline.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{ClockFacts, Event, EventView, Kind, NewEvent, NewFacts, NewTicket, Ticket};
use crate::db::schema::{ticket_events, ticket_facts, ticket_sequences, tickets, users};
use crate::db::DbConnection;

/// The next number of a kind. Must run inside the creating transaction. SQLite: the counter
/// row, as its BEGIN IMMEDIATE serialises writers. PostgreSQL: the kind's sequence, which
/// needs no row lock held to commit (a failed creation leaves its number unused).
pub fn next_number(conn: &mut DbConnection, kind: Kind) -> QueryResult<i64> {
    match crate::db::backend_of(conn) {
        crate::db::Backend::Sqlite => diesel::update(ticket_sequences::table.find(kind.as_str()))
            .set(ticket_sequences::last_value.eq(ticket_sequences::last_value + 1))
            .returning(ticket_sequences::last_value)
            .get_result(conn),
        crate::db::Backend::Postgres => diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "nextval('ticket_number_{}')",
            kind.as_str()
        )))
        .get_result(conn),
    }
}

/// The last number handed out for a kind (0 before the first).
pub fn last_number(conn: &mut DbConnection, kind: Kind) -> QueryResult<i64> {
    match crate::db::backend_of(conn) {
        crate::db::Backend::Sqlite => ticket_sequences::table
            .find(kind.as_str())
            .select(ticket_sequences::last_value)
            .first(conn),
        crate::db::Backend::Postgres => diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ticket_number_{})",
            kind.as_str()
        )))
        .get_result(conn),
    }
}

/// SQL that moves a kind's counter to `last` (for bulk loads that write numbers themselves).
pub fn set_last_number_sql(conn: &DbConnection, kind: Kind, last: i64) -> String {
    match crate::db::backend_of(conn) {
        crate::db::Backend::Sqlite => {
            format!(
                "UPDATE ticket_sequences SET last_value = {last} WHERE kind = '{}';",
                kind.as_str()
            )
        }
        crate::db::Backend::Postgres => format!(
            "SELECT setval('ticket_number_{}', GREATEST({last}, 1), {last} > 0);",
            kind.as_str()
        ),
    }
}

/// Inserts a ticket and returns it as stored.
/// Inserts a ticket and returns it as stored; its search entry is written with it.
pub fn insert(conn: &mut DbConnection, new: &NewTicket<'_>) -> QueryResult<Ticket> {
    let ticket: Ticket = diesel::insert_into(tickets::table)
        .values(new)
        // The columns in `Ticket`'s field order (a multi-backend connection cannot return `as_select`).
        .returning(tickets::all_columns)
        .get_result(conn)?;
    write_search_entry(
        conn,
        ticket.id,
        &ticket.reference,
        &ticket.title,
        &ticket.description,
        false,
    )?;
    Ok(ticket)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Ticket> {
    tickets::table
        .find(id)
        .filter(tickets::deleted_at.is_null())
        .select(Ticket::as_select())
        .first(conn)
}

/// Takes the ticket's row lock for the rest of the write transaction, so a background writer
/// (the SLA job) locks the ticket before its clocks, in the same order as every ticket write
/// (version bump, then `sla::service::refresh`) and never deadlocks with one. PostgreSQL:
/// `SELECT … FOR UPDATE`; SQLite needs nothing, `BEGIN IMMEDIATE` already holds the write lock.
/// False when the ticket is gone.
pub fn lock(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
    match conn {
        DbConnection::Postgres(pg) => Ok(tickets::table
            .find(id)
            .select(tickets::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?
            .is_some()),
        DbConnection::Sqlite(_) => Ok(tickets::table
            .find(id)
            .select(tickets::id)
            .first::<i64>(conn)
            .optional()?
            .is_some()),
    }
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = tickets)]
pub struct TicketUpdate<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub status: Option<&'a str>,
    pub priority: Option<&'a str>,
    pub team_id: Option<Option<i64>>,
    pub assignee_id: Option<Option<i64>>,
    pub closed_at: Option<Option<chrono::NaiveDateTime>>,
}

/// Applies `changes` only if the row still has `expected_version`; bumps the version.
/// Returns false when someone else changed the ticket first.
pub fn update_versioned(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i32,
    changes: &TicketUpdate<'_>,
    at: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(tickets::table.find(id).filter(tickets::version.eq(expected_version)))
        .set((
            changes,
            tickets::version.eq(expected_version + 1),
            tickets::updated_at.eq(at),
        ))
        .execute(conn)?;
    // The search entry follows the text in the same transaction.
    if updated == 1 && (changes.title.is_some() || changes.description.is_some()) {
        let (reference, title, description): (String, String, String) = tickets::table
            .find(id)
            .select((tickets::reference, tickets::title, tickets::description))
            .first(conn)?;
        write_search_entry(conn, id, &reference, &title, &description, true)?;
    }
    Ok(updated == 1)
}

/// Records activity that overwrites nothing (a comment, a status update): `updated_at` moves
/// forward, the optimistic-lock `version` stays, so an edit form opened before a comment still
/// saves. Never moves `updated_at` back (a write replayed with an earlier time, as the demo does).
pub fn touch(conn: &mut DbConnection, id: i64, at: chrono::NaiveDateTime) -> QueryResult<usize> {
    diesel::update(tickets::table.find(id).filter(tickets::updated_at.lt(at)))
        .set(tickets::updated_at.eq(at))
        .execute(conn)
}

/// Writes the SLA facts of a ticket created in this transaction.
pub fn insert_facts(conn: &mut DbConnection, facts: &NewFacts<'_>) -> QueryResult<usize> {
    diesel::insert_into(ticket_facts::table).values(facts).execute(conn)
}

/// Changes what the policies match on and when the clocks start (a corrected record).
pub fn update_facts(
    conn: &mut DbConnection,
    ticket_id: i64,
    category: &str,
    service: &str,
    started_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(ticket_facts::table.find(ticket_id))
        .set((
            ticket_facts::category.eq(category),
            ticket_facts::service.eq(service),
            ticket_facts::started_at.eq(started_at),
        ))
        .execute(conn)
}

/// Records the first response, unless one is recorded already.
pub fn note_first_response(conn: &mut DbConnection, ticket_id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        ticket_facts::table
            .find(ticket_id)
            .filter(ticket_facts::first_response_at.is_null()),
    )
    .set(ticket_facts::first_response_at.eq(at))
    .execute(conn)
}

/// The SLA facts of a ticket that is not deleted; `None` for a deleted or unknown one.
pub fn clock_facts(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Option<ClockFacts>> {
    tickets::table
        .inner_join(ticket_facts::table)
        .filter(tickets::id.eq(ticket_id))
        .filter(tickets::deleted_at.is_null())
        .select((
            tickets::id,
            tickets::kind,
            tickets::priority,
            tickets::team_id,
            ticket_facts::category,
            ticket_facts::service,
            ticket_facts::started_at,
            ticket_facts::first_response_at,
        ))
        .first(conn)
        .optional()
}

pub fn insert_event(conn: &mut DbConnection, event: &NewEvent<'_>) -> QueryResult<i64> {
    diesel::insert_into(ticket_events::table)
        .values(event)
        .returning(ticket_events::id)
        .get_result(conn)
}

/// The most events [`timeline`] returns.
/// A filter on `tickets` leaving out archived tickets (a primary-key probe of `ticket_archive`
/// per candidate): lists and search add it unless `archived=include` is asked.
pub const NOT_ARCHIVED: &str = "NOT EXISTS (SELECT 1 FROM ticket_archive WHERE ticket_archive.ticket_id = tickets.id)";

/// Whether a list or search asked for archived tickets too: `archived=include`; absent or
/// `exclude` leaves them out; `None` for anything else.
pub fn include_archived(param: Option<&str>) -> Option<bool> {
    match param.map(str::trim).unwrap_or("") {
        "" | "exclude" => Some(false),
        "include" => Some(true),
        _ => None,
    }
}

/// Whether ticket `id` is archived (the badge on its page).
pub fn is_archived(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
    use crate::db::schema::ticket_archive;
    diesel::select(diesel::dsl::exists(ticket_archive::table.find(id))).get_result(conn)
}

pub const TIMELINE_LIMIT: usize = 2000;

/// The timeline in order, with actor names in the same query. Bounded: a ticket with more
/// events than [`TIMELINE_LIMIT`] shows the first ones (a real incident has dozens).
pub fn timeline(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<EventView>> {
    let rows: Vec<(Event, Option<String>)> = crate::native!(conn, |c| {
        ticket_events::table
            .left_join(users::table.on(ticket_events::actor_id.eq(users::id.nullable())))
            .filter(ticket_events::ticket_id.eq(ticket_id))
            .order(ticket_events::id)
            .limit(TIMELINE_LIMIT as i64)
            .select((Event::as_select(), users::display_name.nullable()))
            .load(c)
    })?;
    Ok(rows
        .into_iter()
        .map(|(e, actor)| EventView {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            actor,
            kind: e.kind,
            visibility: e.visibility,
            body: e.body,
            data: e
                .data
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or(serde_json::Value::Null),
        })
        .collect())
}

/// Whether the list may rank a text search by relevance: any search the indexes serve, which
/// since the gram index is every non-empty one.
pub fn can_rank_by_relevance(q: &str) -> bool {
    !q.trim().is_empty()
}

/// An FTS5 phrase matching `q` as a substring (trigram tokenizer), quotes escaped.
pub fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// Writes a ticket's search entry (`ticket_search`: normalised text and grams), inside the
/// transaction that writes its title or description. SQLite's triggers carry it into the FTS5
/// tables; PostgreSQL's GIN indexes follow by themselves.
pub fn write_search_entry(
    conn: &mut DbConnection,
    id: i64,
    reference: &str,
    title: &str,
    description: &str,
    replace: bool,
) -> QueryResult<()> {
    use crate::db::schema::ticket_search;
    let body = super::search::indexed_text(reference, title, description);
    let grams = super::search::grams(&body);
    if replace {
        let changed = diesel::update(ticket_search::table.find(id))
            .set((ticket_search::body.eq(&body), ticket_search::grams.eq(&grams)))
            .execute(conn)?;
        if changed == 1 {
            return Ok(());
        }
    }
    diesel::insert_into(ticket_search::table)
        .values((
            ticket_search::ticket_id.eq(id),
            ticket_search::body.eq(&body),
            ticket_search::grams.eq(&grams),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Tickets whose search entry [`backfill_search`] writes per transaction.
const BACKFILL_BATCH: i64 = 1000;

/// Writes the search entries of tickets that have none (those stored before the search
/// migration), in batches of [`BACKFILL_BATCH`], each its own transaction. Run at start-up; a
/// database where every ticket has its entry costs one index look-up. Returns how many it wrote.
pub fn backfill_search(conn: &mut DbConnection) -> QueryResult<usize> {
    use crate::db::schema::ticket_search;
    let mut written = 0;
    loop {
        let missing: Vec<(i64, String, String, String)> = crate::native!(conn, |c| {
            tickets::table
                .left_join(ticket_search::table)
                .filter(ticket_search::ticket_id.nullable().is_null())
                .order(tickets::id)
                .limit(BACKFILL_BATCH)
                .select((tickets::id, tickets::reference, tickets::title, tickets::description))
                .load(c)
        })?;
        if missing.is_empty() {
            return Ok(written);
        }
        crate::db::write_transaction(conn, |conn| {
            for (id, reference, title, description) in &missing {
                write_search_entry(conn, *id, reference, title, description, false)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        written += missing.len();
        tracing::info!(written, "search index: entries written for earlier tickets");
    }
}

/// A condition on `tickets`, for the text search filters (boxed: its shape depends on the query).
pub type BoxedCondition = Box<
    dyn BoxableExpression<
        tickets::table,
        <DbConnection as diesel::Connection>::Backend,
        SqlType = diesel::sql_types::Bool,
    >,
>;

/// A string as an SQL literal. Only for normalised text: it holds no control character (NUL
/// included), and both backends take backslashes in literals as they are.
fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// PostgreSQL: the condition on `ticket_search` that its text contains every term, short terms
/// also through the gram index. The words are written into the SQL, not bound: PostgreSQL then
/// plans each search for its own words, walking the tickets newest first for a frequent word
/// (障害 is in half of them) and reading a GIN index for a rare one, from the words' statistics.
/// Bound, every search would share one generic plan.
fn postgres_text_condition(query: &super::search::Query) -> String {
    let mut parts: Vec<String> = Vec::new();
    for term in &query.terms {
        parts.push(format!(
            "ticket_search.body LIKE {} ESCAPE '\\'",
            sql_literal(&crate::db::like_pattern(&term.text))
        ));
        if term.is_gram() {
            parts.push(format!(
                "string_to_array(ticket_search.grams, ' ') @> ARRAY[{}]",
                sql_literal(&term.text)
            ));
        }
    }
    parts.join(" AND ")
}

/// The search entries containing every term of `query` (each term a substring of the
/// normalised text).
fn matching_entries(
    query: &super::search::Query,
) -> crate::db::schema::ticket_search::BoxedQuery<
    'static,
    <DbConnection as diesel::Connection>::Backend,
    diesel::sql_types::BigInt,
> {
    use crate::db::schema::ticket_search;
    let mut entries = ticket_search::table.select(ticket_search::ticket_id).into_boxed();
    for term in &query.terms {
        entries = entries.filter(
            ticket_search::body
                .like(crate::db::like_pattern(&term.text))
                .escape('\\'),
        );
    }
    entries
}

/// Matches the SQLite text index hands over in its first batch at least, the most in one batch,
/// and the most one page may read. Batches start at twice the page (a frequent word such as 障害,
/// in half of the tickets, fills a page of 50 from 100 postings instead of 1,000, each of which
/// is confirmed against its text) and grow fourfold while the page is not full.
const FTS_FIRST_BATCH: i64 = 64;
const FTS_BATCH: i64 = 4000;
const FTS_SCAN: i64 = 40_000;

/// The ids of up to `limit` tickets matching `query`, newest first, below `before`, that also pass
/// the caller's filters: `page(conn, condition, limit)` runs the caller's query (its filters,
/// ordered by id descending) with `condition` added and returns its ids.
///
/// PostgreSQL: one query; the planner chooses between walking the tickets newest first and
/// checking each (cheap for a frequent word such as 障害) and the trigram or gram GIN index (a
/// rare word). SQLite: FTS5 serves `ORDER BY rowid DESC` under a rowid bound without reading
/// every match, so the index is walked newest first in growing batches (from twice the page up
/// to [`FTS_BATCH`]); each batch is confirmed against the normalised text and handed to `page`
/// with the caller's filters, until the page is full or [`FTS_SCAN`] matches were read. The trigram table drives when the query
/// has a word of three characters or more, the gram table when it has a shorter word of letters
/// or digits; a query of symbols only (「#」) walks the entries themselves, newest first.
pub fn search_ids(
    conn: &mut DbConnection,
    query: &super::search::Query,
    before: Option<i64>,
    limit: i64,
    mut page: impl FnMut(&mut DbConnection, BoxedCondition, i64) -> QueryResult<Vec<i64>>,
) -> QueryResult<Vec<i64>> {
    use crate::db::schema::ticket_search;
    if crate::db::backend_of(conn) == crate::db::Backend::Postgres {
        let mut condition: BoxedCondition = Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "tickets.id IN (SELECT ticket_id FROM ticket_search WHERE {})",
            postgres_text_condition(query)
        )));
        if let Some(before) = before {
            condition = Box::new(condition.and(tickets::id.lt(before)));
        }
        return page(conn, condition, limit);
    }
    #[derive(QueryableByName)]
    struct Hit {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let long: Vec<String> = query
        .terms
        .iter()
        .filter(|t| !t.is_short())
        .map(|t| fts_phrase(&t.text))
        .collect();
    let short: Vec<String> = query
        .terms
        .iter()
        .filter(|t| t.is_gram())
        .map(|t| fts_phrase(&t.text))
        .collect();
    let driver = if !long.is_empty() {
        Some(("ticket_search_fts_text", long.join(" AND ")))
    } else if !short.is_empty() {
        Some(("ticket_search_fts_grams", short.join(" AND ")))
    } else {
        None
    };
    let mut ids: Vec<i64> = Vec::new();
    let mut cursor = before.unwrap_or(i64::MAX);
    let mut batch_size = (2 * limit).clamp(FTS_FIRST_BATCH, FTS_BATCH);
    let mut scanned = 0;
    while scanned < FTS_SCAN {
        let hits: Vec<Hit> = match &driver {
            Some((table, matching)) => diesel::sql_query(format!(
                "SELECT rowid AS id FROM {table} WHERE {table} MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT ?"
            ))
            .bind::<diesel::sql_types::Text, _>(matching)
            .bind::<diesel::sql_types::BigInt, _>(cursor)
            .bind::<diesel::sql_types::BigInt, _>(batch_size)
            .load(conn)?,
            None => diesel::sql_query(
                "SELECT ticket_id AS id FROM ticket_search WHERE ticket_id < ? ORDER BY ticket_id DESC LIMIT ?",
            )
            .bind::<diesel::sql_types::BigInt, _>(cursor)
            .bind::<diesel::sql_types::BigInt, _>(batch_size)
            .load(conn)?,
        };
        let Some(last) = hits.last().map(|h| h.id) else { break };
        let batch: Vec<i64> = hits.iter().map(|h| h.id).collect();
        let confirmed: Vec<i64> = matching_entries(query)
            .filter(ticket_search::ticket_id.eq_any(batch))
            .load(conn)?;
        if !confirmed.is_empty() {
            ids.extend(page(
                conn,
                Box::new(tickets::id.eq_any(confirmed)),
                limit - ids.len() as i64,
            )?);
        }
        if ids.len() as i64 >= limit || (hits.len() as i64) < batch_size {
            break;
        }
        scanned += batch_size;
        batch_size = (batch_size * 4).min(FTS_BATCH);
        cursor = last;
    }
    ids.truncate(limit.max(0) as usize);
    Ok(ids)
}

/// FTS5 settings of the SQLite text indexes while a bulk load (`mamori seed`) writes its search
/// entries, and the ones restored after it, both run inside the load's transaction (so no other
/// connection ever sees the first). By default FTS5 merges segments a little inside every write
/// (`automerge` 4) and at once when a level reaches 16 (`crisismerge`): a 100,000-row chunk then
/// re-merged ever larger segments of the earlier chunks, and each chunk took longer than the
/// one before (FTS5 work alone, 300,000 rows in 100,000-row chunks: 14, 20 and 24 s). With no
/// incremental merges and a level merged at 64 segments, the same chunks took 6.6, 7.0 and
/// 7.2 s; the load ends with [`compact_search_index`], which merges everything into one segment
/// either way. Empty on PostgreSQL.
pub fn bulk_search_load_settings(backend: crate::db::Backend) -> (&'static str, &'static str) {
    match backend {
        crate::db::Backend::Sqlite => (
            "INSERT INTO ticket_search_fts_text (ticket_search_fts_text, rank) VALUES ('automerge', 0);
             INSERT INTO ticket_search_fts_text (ticket_search_fts_text, rank) VALUES ('crisismerge', 64);
             INSERT INTO ticket_search_fts_grams (ticket_search_fts_grams, rank) VALUES ('automerge', 0);
             INSERT INTO ticket_search_fts_grams (ticket_search_fts_grams, rank) VALUES ('crisismerge', 64);",
            "INSERT INTO ticket_search_fts_text (ticket_search_fts_text, rank) VALUES ('automerge', 4);
             INSERT INTO ticket_search_fts_text (ticket_search_fts_text, rank) VALUES ('crisismerge', 16);
             INSERT INTO ticket_search_fts_grams (ticket_search_fts_grams, rank) VALUES ('automerge', 4);
             INSERT INTO ticket_search_fts_grams (ticket_search_fts_grams, rank) VALUES ('crisismerge', 16);",
        ),
        crate::db::Backend::Postgres => ("", ""),
    }
}

/// Merges the SQLite text indexes into one segment each after a bulk load (`mamori seed`). Each
/// chunk of a bulk load leaves a large segment behind, and FTS5 otherwise merges those piece by
/// piece inside the next writers' commits: right after seeding 1M incidents, creations ran at
/// 237/s and 365/s for the first two 10-second runs and at 610-730/s only afterwards. Merging
/// them at once took 7 s, and the first run then made 638/s. Nothing to do on PostgreSQL (the
/// VACUUM after a bulk load empties the GIN indexes' pending lists).
pub fn compact_search_index(conn: &mut DbConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match crate::db::backend_of(conn) {
        crate::db::Backend::Sqlite => conn.batch_execute(
            "INSERT INTO ticket_search_fts_text (ticket_search_fts_text) VALUES ('optimize'); \
             INSERT INTO ticket_search_fts_grams (ticket_search_fts_grams) VALUES ('optimize');",
        ),
        crate::db::Backend::Postgres => Ok(()),
    }
}

/// Links `from` to `to`; linking twice is not an error.
pub fn link(
    conn: &mut DbConnection,
    from: i64,
    to: i64,
    kind: &str,
    by: Option<i64>,
    at: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    use crate::db::schema::ticket_links;
    let exists = ticket_links::table
        .filter(ticket_links::from_ticket_id.eq(from))
        .filter(ticket_links::to_ticket_id.eq(to))
        .filter(ticket_links::kind.eq(kind))
        .select(ticket_links::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if exists {
        return Ok(false);
    }
    diesel::insert_into(ticket_links::table)
        .values((
            ticket_links::from_ticket_id.eq(from),
            ticket_links::to_ticket_id.eq(to),
            ticket_links::kind.eq(kind),
            ticket_links::created_by.eq(by),
            ticket_links::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(true)
}

/// A linked ticket, for lists on ticket pages.
#[derive(Debug, Clone, serde::Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = tickets)]
pub struct LinkedTicket {
    pub id: i64,
    #[diesel(column_name = reference)]
    pub number: String,
    pub title: String,
    pub status: String,
    pub priority: String,
}

/// Tickets that `id` links to with `kind` (e.g. the problems behind an incident).
pub fn linked_to(conn: &mut DbConnection, id: i64, kind: &str) -> QueryResult<Vec<LinkedTicket>> {
    use crate::db::schema::ticket_links;
    crate::native!(conn, |c| {
        ticket_links::table
            .inner_join(tickets::table.on(tickets::id.eq(ticket_links::to_ticket_id)))
            .filter(ticket_links::from_ticket_id.eq(id))
            .filter(ticket_links::kind.eq(kind))
            .filter(tickets::deleted_at.is_null())
            .order(tickets::id)
            .limit(500)
            .select(LinkedTicket::as_select())
            .load(c)
    })
}

/// Tickets linking to `id` with `kind` (e.g. the incidents behind a problem).
pub fn linked_from(conn: &mut DbConnection, id: i64, kind: &str) -> QueryResult<Vec<LinkedTicket>> {
    use crate::db::schema::ticket_links;
    crate::native!(conn, |c| {
        ticket_links::table
            .inner_join(tickets::table.on(tickets::id.eq(ticket_links::from_ticket_id)))
            .filter(ticket_links::to_ticket_id.eq(id))
            .filter(ticket_links::kind.eq(kind))
            .filter(tickets::deleted_at.is_null())
            .order(tickets::id)
            .limit(500)
            .select(LinkedTicket::as_select())
            .load(c)
    })
}

/// A ticket whether or not it is deleted (only the deletion pages need this).
pub fn find_any(conn: &mut DbConnection, id: i64) -> QueryResult<Ticket> {
    tickets::table.find(id).select(Ticket::as_select()).first(conn)
}

/// Marks a ticket deleted (or restores it with `None`) and bumps its version.
pub fn set_deleted(
    conn: &mut DbConnection,
    id: i64,
    deleted_at: Option<chrono::NaiveDateTime>,
    at: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    let changed = diesel::update(tickets::table.find(id))
        .set((
            tickets::deleted_at.eq(deleted_at),
            tickets::version.eq(tickets::version + 1),
            tickets::updated_at.eq(at),
        ))
        .execute(conn)?;
    // A deleted ticket leaves the SLA report; a restored one comes back.
    crate::reports::rollup::mark_dirty(conn, id)?;
    Ok(changed)
}

/// Deleted tickets, most recently deleted first; keyset on (deleted_at, id) via `before`.
pub fn deleted(
    conn: &mut DbConnection,
    before: Option<(chrono::NaiveDateTime, i64)>,
    limit: i64,
) -> QueryResult<Vec<Ticket>> {
    let mut query = tickets::table
        .filter(tickets::deleted_at.is_not_null())
        .select(Ticket::as_select())
        .order((tickets::deleted_at.desc(), tickets::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = before {
        query = query.filter(
            tickets::deleted_at
                .lt(at)
                .or(tickets::deleted_at.eq(at).and(tickets::id.lt(id))),
        );
    }
    query.load(conn)
}

/// The instant, kind and data of a ticket's events of the given kinds, in order (the SLA
/// clocks read state changes and status updates from here).
pub fn events_of_kinds(
    conn: &mut DbConnection,
    ticket_id: i64,
    kinds: &[&str],
) -> QueryResult<Vec<(chrono::NaiveDateTime, String, Option<String>)>> {
    ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .filter(ticket_events::kind.eq_any(kinds))
        .order(ticket_events::id)
        .select((ticket_events::at, ticket_events::kind, ticket_events::data))
        .load(conn)
}
