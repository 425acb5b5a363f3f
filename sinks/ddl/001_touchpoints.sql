-- Resolved touchpoints, one row per event_id for analysts.
-- ReplacingMergeTree on (event date, event_id): a replayed or re-resolved event replaces its older row
-- (the newest resolved_at wins); views read FINAL so analysts never see the transient duplicates.
CREATE TABLE IF NOT EXISTS touchpoints
(
    event_id          UUID,
    event_time        DateTime64(3, 'UTC'),
    channel           LowCardinality(String),
    event_type        LowCardinality(String),
    person_id         String,
    identifier_types  Array(LowCardinality(String)),
    identifier_values Array(String),
    source            LowCardinality(String),
    session_id        Nullable(String),
    conversation_id   Nullable(String),
    case_id           Nullable(String),
    store_id          Nullable(String),
    agent_id          Nullable(String),
    campaign_id       Nullable(String),
    url               Nullable(String),
    purchasable       Nullable(Bool),
    product_ids       Array(String),
    order_id          Nullable(String),
    reservation_id    Nullable(String),
    amount_cents      Nullable(Int64),
    currency          Nullable(String),
    summary           Nullable(String),
    consent_analytics       Nullable(Bool),
    consent_marketing       Nullable(Bool),
    consent_personalization Nullable(Bool),
    attributes        Map(String, String),
    resolved_at       DateTime64(3, 'UTC'),
    source_topic      LowCardinality(String),
    source_partition  Int32,
    source_offset     Int64,
    inserted_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(resolved_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (toDate(event_time), event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- Records a stage could not decode or accept, with the reason; keyed by where they came from.
CREATE TABLE IF NOT EXISTS dead_letters
(
    failed_at        DateTime64(3, 'UTC'),
    stage            LowCardinality(String),
    error_type       LowCardinality(String),
    reason           String,
    field            Nullable(String),
    source_topic     LowCardinality(String),
    source_partition Int32,
    source_offset    Int64,
    key              Nullable(String),
    payload          Nullable(String),
    payload_size     Int64,
    inserted_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(failed_at)
ORDER BY (source_topic, source_partition, source_offset, stage)
SETTINGS non_replicated_deduplication_window = 1000;

-- What analysts query: one row per touchpoint, however often the sink replayed it.
CREATE VIEW IF NOT EXISTS v_touchpoints AS
SELECT * EXCEPT (inserted_at) FROM touchpoints FINAL;

CREATE VIEW IF NOT EXISTS v_dead_letters AS
SELECT * EXCEPT (inserted_at) FROM dead_letters FINAL;
