-- Snapshots of the application's projections: a cache beside the log, never part of it.
--
-- One row per format (the latest snapshot replaces the one before). Each records the head it was
-- built from (position and hash), so a reader trusts it only if the log's event at that position
-- has that hash, and a SHA-256 digest of the body, so a damaged body is detected. A snapshot that
-- does not match is discarded and rebuilt from the log; deleting this table's rows only costs a
-- full replay. Unlike `events`, rows here are replaced and deleted: no trigger fences them.

CREATE TABLE snapshots (
    format         TEXT    NOT NULL PRIMARY KEY,
    position       INTEGER NOT NULL CHECK (position >= 1),
    head_hash      BLOB    NOT NULL CHECK (length(head_hash) = 32),
    recorded_at_us INTEGER NOT NULL,
    digest         BLOB    NOT NULL CHECK (length(digest) = 32),
    body           BLOB    NOT NULL
) STRICT;
