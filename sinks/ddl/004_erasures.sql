-- Version 4: the ledger of GDPR erasures the sink applied (omnijourney forget).
--
-- One row per application of an erasure request: how many of its suppression records it covered
-- and how many rows it removed from each table (counted as analysts saw them, FINAL, just before
-- the lightweight DELETEs). No identifier or person id is kept here: the erasure id links the row
-- to its request, whose suppression records live on the compacted privacy.suppressions topic.
-- The sink applies every suppression whose erasure has no complete row here yet, at start too.
CREATE TABLE IF NOT EXISTS erasures
(
    erasure_id  UUID,
    applied_at  DateTime64(3, 'UTC'),
    subjects    UInt32,
    identifiers UInt32,
    persons     UInt32,
    removed     Map(String, UInt64),
    cleanup     String
)
ENGINE = MergeTree
ORDER BY (erasure_id, applied_at);
