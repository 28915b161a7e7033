-- The append-only, hash-chained event log. Positions are consecutive from 1; the unique
-- constraints give idempotency (one event per key) and optimistic concurrency (one event per
-- stream version).
CREATE TABLE events (
    position        INTEGER PRIMARY KEY,
    stream          TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    recorded_at_us  INTEGER NOT NULL,   -- UTC, microseconds since the Unix epoch
    effective_date  TEXT    NOT NULL,   -- calendar date, YYYY-MM-DD
    actor           TEXT    NOT NULL,
    idempotency_key TEXT    UNIQUE,
    event_type      TEXT    NOT NULL,
    event_version   INTEGER NOT NULL,
    payload         BLOB    NOT NULL,
    payload_digest  BLOB    NOT NULL,   -- SHA-256 of payload
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL,
    UNIQUE (stream, stream_version)
) STRICT;
