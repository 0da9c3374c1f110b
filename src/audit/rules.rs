//! The audit log's hash chain, as pure logic: the canonical form of a row, its hash, and the
//! walk that checks one row after another.
//!
//! A row's hash is the SHA-256 of a fixed, versioned encoding of its columns in a fixed order,
//! ending with the previous row's hash. Times are written to the microsecond (what both
//! backends store), text as its UTF-8 bytes with their length in front, NULL as `-`; so a
//! chain written on SQLite verifies on PostgreSQL and the other way round.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

/// The "previous hash" of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The columns a row's hash covers (all of them but the hashes).
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub before_json: Option<&'a str>,
    pub after_json: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// The canonical bytes of a row and its predecessor's hash.
pub fn canonical(content: &Content<'_>, prev_hash: &str) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            Some(v) => {
                out.extend_from_slice(v.len().to_string().as_bytes());
                out.push(b':');
                out.extend_from_slice(v.as_bytes());
            }
            None => out.push(b'-'),
        }
        out.push(b'\n');
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"mamori-audit-v1\n");
    field(&mut out, Some(&content.id.to_string()));
    field(&mut out, Some(&content.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()));
    field(&mut out, content.actor_id.map(|a| a.to_string()).as_deref());
    field(&mut out, Some(content.actor_label));
    field(&mut out, Some(content.action));
    field(&mut out, Some(content.entity_type));
    field(&mut out, Some(content.entity_id));
    field(&mut out, content.before_json);
    field(&mut out, content.after_json);
    field(&mut out, content.ip);
    field(&mut out, Some(prev_hash));
    out
}

/// The row's hash, lowercase hex.
pub fn row_hash(content: &Content<'_>, prev_hash: &str) -> String {
    hex::encode(Sha256::digest(canonical(content, prev_hash)))
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The row has no hash: written outside the chain.
    Unsealed { id: i64 },
    /// The row's previous hash is not the hash of the row before it: a row between them was
    /// removed, or the row before it was rewritten together with its hash.
    Link { id: i64, previous_id: Option<i64> },
    /// The row's content no longer gives its stored hash: it was changed.
    Content { id: i64 },
    /// The last row an earlier verification saw is gone or different: the log was cut short
    /// or its end rewritten.
    Anchor { id: i64 },
}

impl Break {
    pub fn id(&self) -> i64 {
        match self {
            Break::Unsealed { id } | Break::Link { id, .. } | Break::Content { id } | Break::Anchor { id } => *id,
        }
    }

    /// What differs, in words for operators (the CLI and the log; the page shows the row id).
    pub fn describe(&self) -> String {
        match self {
            Break::Unsealed { id } => format!("row {id} has no hash (written outside the chain)"),
            Break::Link { id, previous_id: Some(p) } => format!(
                "row {id}: prev_hash does not match the hash of row {p} (a row between them was removed, or row {p} was rewritten)"
            ),
            Break::Link { id, previous_id: None } => {
                format!("row {id}: the first row's prev_hash is not the genesis value (earlier rows were removed)")
            }
            Break::Content { id } => format!("row {id}: its content does not match its row_hash (the row was changed)"),
            Break::Anchor { id } => {
                format!("row {id}, the last row an earlier verification checked, is missing or changed (the log was cut short)")
            }
        }
    }
}

/// Walks the chain in id order, one row at a time, remembering only the last hash.
#[derive(Debug, Clone)]
pub struct Walker {
    previous: Option<(i64, String)>,
    /// The last row of an earlier successful verification, which must still be there.
    anchor: Option<(i64, String)>,
    pub checked: i64,
}

impl Walker {
    pub fn new(anchor: Option<(i64, String)>) -> Self {
        Self {
            previous: None,
            anchor,
            checked: 0,
        }
    }

    /// A walk of a pruned log: it starts after `start`, the last pruned row (its id and hash),
    /// so the first remaining row must chain to it.
    pub fn resume(start: Option<(i64, String)>, anchor: Option<(i64, String)>) -> Self {
        Self {
            previous: start,
            anchor,
            checked: 0,
        }
    }

    /// Checks the next row.
    pub fn check(&mut self, content: &Content<'_>, prev_hash: Option<&str>, hash: Option<&str>) -> Result<(), Break> {
        let id = content.id;
        if let Some((anchor_id, _)) = &self.anchor {
            if *anchor_id < id {
                return Err(Break::Anchor { id: *anchor_id });
            }
        }
        let (Some(prev_hash), Some(hash)) = (prev_hash, hash) else {
            return Err(Break::Unsealed { id });
        };
        let expected_prev = self.previous.as_ref().map_or(GENESIS, |(_, h)| h.as_str());
        if prev_hash != expected_prev {
            return Err(Break::Link {
                id,
                previous_id: self.previous.as_ref().map(|(p, _)| *p),
            });
        }
        if row_hash(content, prev_hash) != hash {
            return Err(Break::Content { id });
        }
        if let Some((anchor_id, anchor_hash)) = &self.anchor {
            if *anchor_id == id {
                if anchor_hash != hash {
                    return Err(Break::Anchor { id });
                }
                self.anchor = None;
            }
        }
        self.previous = Some((id, hash.to_string()));
        self.checked += 1;
        Ok(())
    }

    /// After the last row: an anchor never reached means the log was cut short.
    pub fn finish(&self) -> Result<(), Break> {
        match &self.anchor {
            Some((id, _)) => Err(Break::Anchor { id: *id }),
            None => Ok(()),
        }
    }

    /// The last row checked and its hash.
    pub fn last(&self) -> Option<(i64, String)> {
        self.previous.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_micro_opt(1, 2, 3, 456_789)
            .unwrap()
    }

    fn content(id: i64, after: &str) -> Content<'_> {
        Content {
            id,
            at: at(),
            actor_id: Some(7),
            actor_label: "ito@example.jp",
            action: "incident.create",
            entity_type: "incident",
            entity_id: "12",
            before_json: None,
            after_json: Some(after),
            ip: Some("127.0.0.1"),
        }
    }

    #[test]
    fn the_hash_is_fixed_by_the_canonical_form() {
        // A change of encoding would orphan every stored chain: this value must never change.
        let c = content(1, "{\"title\":\"障害\"}");
        let bytes = canonical(&c, GENESIS);
        assert!(bytes.starts_with(b"mamori-audit-v1\n1:1\n26:2026-12-03T01:02:03.456789\n1:7\n"));
        assert_eq!(row_hash(&c, GENESIS).len(), 64);
        assert_ne!(
            row_hash(&c, GENESIS),
            row_hash(&content(1, "{\"title\":\"復旧\"}"), GENESIS)
        );
        // NULL and the empty string differ.
        let mut empty = c;
        empty.ip = Some("");
        let mut null = c;
        null.ip = None;
        assert_ne!(row_hash(&empty, GENESIS), row_hash(&null, GENESIS));
        // Nanoseconds are not part of it: both backends store microseconds.
        let mut nanos = c;
        nanos.at = at() + chrono::Duration::nanoseconds(123);
        assert_eq!(row_hash(&nanos, GENESIS), row_hash(&c, GENESIS));
    }

    fn chain(n: i64) -> Vec<(i64, String, String, String)> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|id| {
                let after = format!("{{\"n\":{id}}}");
                let hash = row_hash(&content(id, &after), &prev);
                let row = (id, after, prev.clone(), hash.clone());
                prev = hash;
                row
            })
            .collect()
    }

    fn walk(rows: &[(i64, String, String, String)], anchor: Option<(i64, String)>) -> Result<i64, Break> {
        let mut walker = Walker::new(anchor);
        for (id, after, prev, hash) in rows {
            walker.check(&content(*id, after), Some(prev), Some(hash))?;
        }
        walker.finish()?;
        Ok(walker.checked)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let rows = chain(5);
        assert_eq!(walk(&rows, None), Ok(5));
        assert_eq!(walk(&rows, Some((5, rows[4].3.clone()))), Ok(5));
    }

    #[test]
    fn changes_removals_and_cuts_are_found() {
        let mut changed = chain(5);
        changed[2].1 = "{\"n\":99}".into();
        assert_eq!(walk(&changed, None), Err(Break::Content { id: 3 }));

        let mut removed = chain(5);
        removed.remove(2);
        assert_eq!(
            walk(&removed, None),
            Err(Break::Link {
                id: 4,
                previous_id: Some(2)
            })
        );

        let mut first_removed = chain(3);
        first_removed.remove(0);
        assert_eq!(
            walk(&first_removed, None),
            Err(Break::Link {
                id: 2,
                previous_id: None
            })
        );

        let full = chain(5);
        let anchor = Some((5, full[4].3.clone()));
        assert_eq!(walk(&full[..4], anchor.clone()), Err(Break::Anchor { id: 5 }));

        let mut unsealed = chain(2);
        unsealed.push((3, "{}".into(), String::new(), String::new()));
        let mut walker = Walker::new(None);
        for (id, after, prev, hash) in &unsealed[..2] {
            walker.check(&content(*id, after), Some(prev), Some(hash)).unwrap();
        }
        assert_eq!(
            walker.check(&content(3, "{}"), None, None),
            Err(Break::Unsealed { id: 3 })
        );
    }
}
