-- The insert fence now refuses with FAIL rather than ABORT; the store inserts with OR FAIL.
--
-- Why: a statement that may ABORT must be undoable on its own inside the larger transaction, so
-- SQLite kept a statement journal of every page each INSERT touched: at a million events, the
-- largest single cost of an import after the inserts themselves (copies of 16 KiB pages, and a
-- lock around every allocation for them). FAIL stops the statement without undoing it, so no
-- journal is kept. Nothing is left half-done: the trigger runs before the row is written and
-- SQLite checks the unique constraints before it writes the row or any index, and the store
-- rolls back its whole batch on any refusal. The fence refuses exactly what it refused before;
-- the one difference is for a multi-row INSERT typed in a SQL shell, which now keeps the rows
-- before the refused one: rows the fence accepts anyway, each checked by the chain like any
-- other.

DROP TRIGGER events_insert_only_at_end;

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
        FAIL,
        'the event log is append-only: an insert must add the next position and may not replace an event'
    );
END;
