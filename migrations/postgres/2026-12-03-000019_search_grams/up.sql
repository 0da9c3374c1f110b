-- One search over every ticket kind (issue 12). `ticket_search` holds, per ticket, its title and
-- description normalised by the application (NFKC, lower case, white space folded:
-- `tickets::search::indexed_text`) and the distinct one- and two-character grams of that text
-- (`tickets::search::grams`). The application writes the row in the same transaction as the
-- ticket's title and description (`tickets::queries::insert` / `update_versioned`). Existing
-- tickets get theirs at start-up, in batches (`tickets::queries::backfill_search`): PostgreSQL's
-- lower() follows the database's locale, and one normaliser in Rust gives both backends the same
-- text. No extension beyond pg_trgm (already used) is needed.
CREATE TABLE ticket_search (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    grams TEXT NOT NULL
);

-- Words of three characters or more: LIKE through pg_trgm.
CREATE INDEX ticket_search_body_trgm_idx ON ticket_search USING gin (body gin_trgm_ops);
-- Words of one or two characters (障害, ＤＢ), which have no trigram: array containment.
CREATE INDEX ticket_search_grams_idx ON ticket_search USING gin (string_to_array(grams, ' '));

-- The former index over the raw text: every search (similar incidents included) now reads the
-- normalised one.
DROP INDEX tickets_text_trgm_idx;
