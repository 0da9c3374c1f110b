-- One search over every ticket kind (issue 12). `ticket_search` holds, per ticket, its title and
-- description normalised by the application (NFKC, lower case, white space folded:
-- `tickets::search::indexed_text`) and the distinct one- and two-character grams of that text
-- (`tickets::search::grams`). The application writes the row in the same transaction as the
-- ticket's title and description (`tickets::queries::insert` / `update_versioned`). Existing
-- tickets get theirs at start-up, in batches (`tickets::queries::backfill_search`): SQLite has no
-- NFKC in SQL, and one normaliser in Rust gives both backends the same text.
CREATE TABLE ticket_search (
    ticket_id INTEGER PRIMARY KEY NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    grams TEXT NOT NULL
);

-- Words of three characters or more: substring matches through trigrams.
CREATE VIRTUAL TABLE ticket_search_fts_text USING fts5(
    body, content = 'ticket_search', content_rowid = 'ticket_id', tokenize = 'trigram'
);
-- Words of one or two characters (障害, ＤＢ): each gram is one token; no positions are needed.
CREATE VIRTUAL TABLE ticket_search_fts_grams USING fts5(
    grams, content = 'ticket_search', content_rowid = 'ticket_id',
    tokenize = 'unicode61 remove_diacritics 0', detail = none
);

CREATE TRIGGER ticket_search_insert AFTER INSERT ON ticket_search BEGIN
    INSERT INTO ticket_search_fts_text (rowid, body) VALUES (new.ticket_id, new.body);
    INSERT INTO ticket_search_fts_grams (rowid, grams) VALUES (new.ticket_id, new.grams);
END;
CREATE TRIGGER ticket_search_delete AFTER DELETE ON ticket_search BEGIN
    INSERT INTO ticket_search_fts_text (ticket_search_fts_text, rowid, body) VALUES ('delete', old.ticket_id, old.body);
    INSERT INTO ticket_search_fts_grams (ticket_search_fts_grams, rowid, grams) VALUES ('delete', old.ticket_id, old.grams);
END;
CREATE TRIGGER ticket_search_update AFTER UPDATE ON ticket_search BEGIN
    INSERT INTO ticket_search_fts_text (ticket_search_fts_text, rowid, body) VALUES ('delete', old.ticket_id, old.body);
    INSERT INTO ticket_search_fts_grams (ticket_search_fts_grams, rowid, grams) VALUES ('delete', old.ticket_id, old.grams);
    INSERT INTO ticket_search_fts_text (rowid, body) VALUES (new.ticket_id, new.body);
    INSERT INTO ticket_search_fts_grams (rowid, grams) VALUES (new.ticket_id, new.grams);
END;

-- The former index over the raw text: every search (similar incidents included) now reads the
-- normalised one.
DROP TRIGGER tickets_fts_update;
DROP TRIGGER tickets_fts_delete;
DROP TRIGGER tickets_fts_insert;
DROP TABLE tickets_fts;
