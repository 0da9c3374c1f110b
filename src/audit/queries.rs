//! Audit log queries: insert, the chain's head and lock, batches in id order for verification,
//! sealing and export, and keyset-paginated reads, newest first.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::model::{AuditEntry, AuditFilter, NewAuditEntry, NewVerification, Verification};
use crate::db::schema::{audit_log, audit_prune_anchors, audit_verifications};
use crate::db::DbConnection;

/// Key of the PostgreSQL advisory lock that serialises appends to the chain (ASCII "mamoriAU").
const CHAIN_LOCK: i64 = 0x6d61_6d6f_7269_4155;

pub fn insert(conn: &mut DbConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .map(|_| ())
}

/// The chain's last row (`head_id` `None` on an empty log, `head_hash` `None` while the log's
/// rows predate the chain) and the id the next row takes.
#[derive(QueryableByName)]
pub struct Head {
    #[diesel(sql_type = Nullable<BigInt>)]
    pub head_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub head_hash: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub next_id: i64,
}

/// The chain's head and the next id.
///
/// Takes the chain's lock first, held to the end of the caller's transaction: on PostgreSQL a
/// transaction-scoped advisory lock, taken in its own statement so that the head is read with
/// a snapshot taken after the previous holder committed (READ COMMITTED). The next id comes
/// from the identity sequence under the lock, so ids follow the chain. On SQLite the write
/// transaction (`BEGIN IMMEDIATE`) already excludes other writers and the next id is the
/// last one plus one, as SQLite would choose it.
pub fn lock_head(conn: &mut DbConnection) -> QueryResult<Head> {
    match conn {
        DbConnection::Postgres(_) => {
            conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK})"))?;
            diesel::sql_query(
                "SELECT h.id AS head_id, h.row_hash AS head_hash, \
                 nextval(pg_get_serial_sequence('audit_log', 'id')) AS next_id \
                 FROM (SELECT 1) AS one LEFT JOIN LATERAL \
                 (SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1) AS h ON true",
            )
            .get_result::<Head>(conn)
        }
        DbConnection::Sqlite(_) => diesel::sql_query(
            "SELECT h.id AS head_id, h.row_hash AS head_hash, COALESCE(h.id, 0) + 1 AS next_id \
             FROM (SELECT 1) AS one LEFT JOIN \
             (SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1) AS h ON 1",
        )
        .get_result::<Head>(conn),
    }
}

/// Up to `limit` rows with ids above `after`, in id order.
pub fn batch_after(conn: &mut DbConnection, after: i64, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .select(AuditEntry::as_select())
        .filter(audit_log::id.gt(after))
        .order(audit_log::id.asc())
        .limit(limit)
        .load(conn)
}

/// Rows without hashes (written before the chain existed), in id order.
pub fn unsealed(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .select(AuditEntry::as_select())
        .filter(audit_log::row_hash.is_null())
        .order(audit_log::id.asc())
        .limit(limit)
        .load(conn)
}

/// The hash of the last sealed row before `id`.
pub fn sealed_before(conn: &mut DbConnection, id: i64) -> QueryResult<Option<String>> {
    audit_log::table
        .select(audit_log::row_hash)
        .filter(audit_log::id.lt(id))
        .filter(audit_log::row_hash.is_not_null())
        .order(audit_log::id.desc())
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Gives an unsealed row its hashes (the only update the triggers allow).
pub fn seal(conn: &mut DbConnection, id: i64, prev_hash: &str, row_hash: &str) -> QueryResult<()> {
    diesel::update(audit_log::table.find(id))
        .set((audit_log::prev_hash.eq(prev_hash), audit_log::row_hash.eq(row_hash)))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_verification(conn: &mut DbConnection, row: &NewVerification<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_verifications::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn last_verification(conn: &mut DbConnection) -> QueryResult<Option<Verification>> {
    audit_verifications::table
        .select(Verification::as_select())
        .order(audit_verifications::id.desc())
        .first(conn)
        .optional()
}

/// The last row of the latest verification that found the chain intact.
pub fn last_anchor(conn: &mut DbConnection) -> QueryResult<Option<(i64, String)>> {
    let row = audit_verifications::table
        .select((audit_verifications::last_id, audit_verifications::last_hash))
        .filter(audit_verifications::intact.eq(true))
        .filter(audit_verifications::last_id.is_not_null())
        .order(audit_verifications::id.desc())
        .first::<(Option<i64>, Option<String>)>(conn)
        .optional()?;
    Ok(row.and_then(|(id, hash)| Some((id?, hash?))))
}

/// At most `limit` entries matching `filter`, newest first (uses the id index, never a count).
pub fn list(conn: &mut DbConnection, filter: &AuditFilter, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table.select(AuditEntry::as_select()).into_boxed();
    if let Some(t) = filter.entity_type.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::entity_type.eq(t.to_string()));
    }
    if let Some(id) = filter.entity_id.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::entity_id.eq(id.to_string()));
    }
    if let Some(action) = filter.action.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::action.eq(action.to_string()));
    }
    if let Some(actor) = filter.actor.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::actor_label.eq(actor.trim().to_lowercase()));
    }
    if let Some(before) = filter.before {
        query = query.filter(audit_log::id.lt(before));
    }
    query.order(audit_log::id.desc()).limit(limit).load(conn)
}

/// Where pruning stopped: the id and hash of the last row removed, the chain's new start.
pub fn last_prune_anchor(conn: &mut DbConnection) -> QueryResult<Option<(i64, String)>> {
    audit_prune_anchors::table
        .select((audit_prune_anchors::pruned_through_id, audit_prune_anchors::last_hash))
        .order(audit_prune_anchors::pruned_through_id.desc())
        .first(conn)
        .optional()
}

pub fn insert_prune_anchor(
    conn: &mut DbConnection,
    through_id: i64,
    last_hash: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(audit_prune_anchors::table)
        .values((
            audit_prune_anchors::pruned_through_id.eq(through_id),
            audit_prune_anchors::last_hash.eq(last_hash),
            audit_prune_anchors::pruned_at.eq(now),
        ))
        .execute(conn)
}

/// Removes every row up to `through_id` (the triggers allow it only at or below an anchor).
pub fn delete_through(conn: &mut DbConnection, through_id: i64) -> QueryResult<usize> {
    diesel::delete(audit_log::table.filter(audit_log::id.le(through_id))).execute(conn)
}

pub fn newest_id(conn: &mut DbConnection) -> QueryResult<Option<i64>> {
    audit_log::table.select(diesel::dsl::max(audit_log::id)).first(conn)
}
