-- The event log is append-only, and the database itself now refuses anything else.
--
-- Why: the store only ever inserts the next position, but a ledger is an ordinary SQLite file,
-- and anyone can open it in a SQL shell or a database browser. These triggers refuse the
-- accidents and casual edits that happen that way (an UPDATE to "fix a typo", a DELETE of a
-- "duplicate"), so a ledger is not quietly rewritten by mistake.
--
-- What they do not do: keep out a determined editor. Anyone who can write the file can drop the
-- triggers first (or rewrite the file's bytes). That case is caught by the hash chain: every
-- event's hash covers the one before it, so `steadfast log verify` names the first edited or
-- missing event, and a published head hash catches a cut tail. The triggers are the fence; the
-- chain is the alarm.
--
-- `INSERT OR REPLACE` deletes the rows it conflicts with without firing DELETE triggers (unless
-- the connection enables recursive_triggers), so inserts are fenced too: an insert must add the
-- next position and may not collide with an existing idempotency key or stream version. The
-- store's own inserts always do both, so it is never refused.

CREATE TRIGGER events_no_update
BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TRIGGER events_no_delete
BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TRIGGER events_insert_only_at_end
BEFORE INSERT ON events
WHEN NEW.position IS NOT (SELECT coalesce(max(position), 0) + 1 FROM events)
    OR EXISTS (SELECT 1 FROM events WHERE idempotency_key = NEW.idempotency_key)
    OR EXISTS (
        SELECT 1 FROM events
        WHERE stream = NEW.stream AND stream_version = NEW.stream_version
    )
BEGIN
    SELECT RAISE(
        ABORT,
        'the event log is append-only: an insert must add the next position and may not replace an event'
    );
END;
