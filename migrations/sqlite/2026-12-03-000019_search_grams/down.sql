DROP TRIGGER ticket_search_update;
DROP TRIGGER ticket_search_delete;
DROP TRIGGER ticket_search_insert;
DROP TABLE ticket_search_fts_grams;
DROP TABLE ticket_search_fts_text;
DROP TABLE ticket_search;

CREATE VIRTUAL TABLE tickets_fts USING fts5(
    title, description,
    content = 'tickets', content_rowid = 'id',
    tokenize = 'trigram'
);
INSERT INTO tickets_fts (rowid, title, description) SELECT id, title, description FROM tickets;

CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF title, description ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO tickets_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
