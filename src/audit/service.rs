//! Writing the audit log. Services call [`record`] inside their own transaction, so a change
//! and its audit row are committed together or not at all. Each row is appended to the hash
//! chain (`rules`) under the chain's lock, held until that transaction ends; [`verify`] walks
//! the chain and [`export_batch`] reads it for export.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::model::{Actor, AuditEntry, AuditFilter, NewAuditEntry, NewVerification, Verification};
use super::queries;
use super::rules::{self, Break, Walker, GENESIS};
use crate::db::{write_transaction, DbConnection};
use crate::error::AppError;

pub const MAX_PAGE: i64 = 100;

/// Rows read per batch when verifying, sealing or exporting: memory stays bounded at any size.
pub const BATCH: i64 = 1000;

/// Appends one entry. `before`/`after` are the record's state as JSON (secrets left out by the caller).
#[allow(clippy::too_many_arguments)]
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConnection,
    actor: &Actor,
    at: chrono::NaiveDateTime,
    action: &str,
    entity_type: &str,
    entity_id: impl ToString,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), AppError> {
    let before_json = before
        .map(serde_json::to_string)
        .transpose()
        .map_err(AppError::internal)?;
    let after_json = after
        .map(serde_json::to_string)
        .transpose()
        .map_err(AppError::internal)?;
    // What both backends store, so the hash is computed over what is read back.
    let at = crate::db::truncate(at);
    let entity_id = entity_id.to_string();
    let head = queries::lock_head(conn)?;
    let id = head.next_id;
    let prev_hash = match (head.head_id, head.head_hash) {
        (None, _) => GENESIS.to_string(),
        (Some(_), Some(hash)) => hash,
        // The log's rows predate the chain and were not sealed at start-up yet.
        (Some(_), None) => seal_unsealed(conn)?.1.unwrap_or_else(|| GENESIS.to_string()),
    };
    let content = rules::Content {
        id,
        at,
        actor_id: actor.user_id,
        actor_label: &actor.label,
        action,
        entity_type,
        entity_id: &entity_id,
        before_json: before_json.as_deref(),
        after_json: after_json.as_deref(),
        ip: actor.ip.as_deref(),
    };
    let row_hash = rules::row_hash(&content, &prev_hash);
    queries::insert(
        conn,
        &NewAuditEntry {
            id,
            at,
            actor_id: actor.user_id,
            actor_label: &actor.label,
            action,
            entity_type,
            entity_id: entity_id.clone(),
            before_json: before_json.clone(),
            after_json: after_json.clone(),
            ip: actor.ip.as_deref(),
            prev_hash: &prev_hash,
            row_hash: &row_hash,
        },
    )?;
    Ok(())
}

/// Chains the rows written before the chain existed (at start-up, after the migration), in
/// id order, under the chain's lock. Returns how many rows it sealed. Only a log whose last row
/// is unsealed has a backlog; an unsealed row inside a sealed chain is left for `verify` to report.
pub fn seal_backlog(conn: &mut DbConnection) -> Result<i64, AppError> {
    write_transaction(conn, |conn| {
        let head = queries::lock_head(conn)?;
        if head.head_id.is_none() || head.head_hash.is_some() {
            return Ok(0);
        }
        Ok(seal_unsealed(conn)?.0)
    })
}

/// Seals the unsealed rows in id order (the caller holds the chain's lock): how many, and the
/// last hash.
fn seal_unsealed(conn: &mut DbConnection) -> Result<(i64, Option<String>), AppError> {
    let first = queries::unsealed(conn, 1)?;
    let Some(first) = first.first() else {
        return Ok((0, None));
    };
    let mut prev = queries::sealed_before(conn, first.id)?.unwrap_or_else(|| GENESIS.to_string());
    let mut sealed = 0;
    loop {
        let batch = queries::unsealed(conn, BATCH)?;
        if batch.is_empty() {
            return Ok((sealed, Some(prev)));
        }
        for row in &batch {
            let hash = rules::row_hash(&row.content(), &prev);
            queries::seal(conn, row.id, &prev, &hash)?;
            prev = hash;
            sealed += 1;
        }
    }
}

/// Walks the whole chain in id order, in batches, and records the outcome. `started_by` is
/// `cli` or the e-mail of the administrator who asked for it.
pub fn verify(
    conn: &mut DbConnection,
    started_by: &str,
    now: impl Fn() -> NaiveDateTime,
) -> Result<Verification, AppError> {
    let started_at = now();
    // Pruned logs start after their newest prune anchor; a verification anchor that was
    // pruned away no longer applies.
    let start = queries::last_prune_anchor(conn)?;
    let anchor = queries::last_anchor(conn)?.filter(|(id, _)| start.as_ref().is_none_or(|(through, _)| id > through));
    let mut walker = Walker::resume(start, anchor);
    let mut after = i64::MIN;
    let outcome: Result<(), Break> = 'walk: loop {
        let batch = queries::batch_after(conn, after, BATCH)?;
        let Some(last) = batch.last() else {
            break walker.finish();
        };
        after = last.id;
        for row in &batch {
            if let Err(broken) = walker.check(&row.content(), row.prev_hash.as_deref(), row.row_hash.as_deref()) {
                break 'walk Err(broken);
            }
        }
    };
    let last = walker.last();
    let row = NewVerification {
        started_at,
        finished_at: now(),
        intact: outcome.is_ok(),
        rows_checked: walker.checked,
        broken_id: outcome.as_ref().err().map(Break::id),
        detail: outcome.as_ref().err().map(Break::describe),
        last_id: last.as_ref().map(|(id, _)| *id),
        last_hash: last.map(|(_, hash)| hash),
        started_by,
    };
    write_transaction(conn, |conn| queries::insert_verification(conn, &row))?;
    queries::last_verification(conn)?.ok_or_else(|| AppError::internal(anyhow::anyhow!("verification not stored")))
}

pub fn last_verification(conn: &mut DbConnection) -> Result<Option<Verification>, AppError> {
    Ok(queries::last_verification(conn)?)
}

/// The next rows after `after` as JSON lines (each ending in a newline) and the last id, or
/// `None` at the end of the log. A line is the stored row as it is (`AuditEntry`: every column,
/// the JSON columns as the text that was hashed), so a receiver can recompute the chain
/// (`rules::row_hash`).
pub fn export_batch(conn: &mut DbConnection, after: i64) -> Result<Option<(String, i64)>, AppError> {
    let rows = queries::batch_after(conn, after, BATCH)?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(None);
    };
    let mut out = String::new();
    for row in rows {
        out.push_str(&serde_json::to_string(&row).map_err(AppError::internal)?);
        out.push('\n');
    }
    Ok(Some((out, last)))
}

/// One page of the log (newest first) and the cursor for the next page, if any.
pub fn browse(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    limit: i64,
) -> Result<(Vec<AuditEntry>, Option<i64>), AppError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut rows = queries::list(conn, filter, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// One batch of pruning from the oldest end: at most `limit` rows, all older than `cutoff`, never
/// the newest row (the next append chains to it). In one transaction: the anchor (the last
/// removed row's id and hash) is written first, then the rows go; `verify` starts from it.
/// Returns the rows removed (0: nothing left to prune).
pub fn prune_batch(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    limit: i64,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    write_transaction(conn, |conn| {
        let Some(newest) = queries::newest_id(conn)? else {
            return Ok(0);
        };
        let rows = queries::batch_after(conn, i64::MIN, limit)?;
        let Some(last) = rows.iter().take_while(|r| r.at < cutoff && r.id < newest).last() else {
            return Ok(0);
        };
        let Some(hash) = last.row_hash.clone() else {
            // Unsealed rows are sealed at start-up; never prune what the chain does not cover.
            return Ok(0);
        };
        queries::insert_prune_anchor(conn, last.id, &hash, now)?;
        Ok(queries::delete_through(conn, last.id)?)
    })
}
