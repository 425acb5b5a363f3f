-- Version 2: every topic the sink reads, the identity alias map, and the analyst views that present
-- history under the surviving person. Applied on top of 001 without touching its data.
--
-- Write paths. Records in the current schema go to ClickHouse as Avro, decoded by ClickHouse
-- itself (the sink only frames the bodies it consumed): flat records straight into their table,
-- resolved touchpoints through touchpoints_ingest, a Null table shaped like the Avro record whose
-- materialized view flattens it into 001's touchpoints. Records in older schema versions, or that
-- ClickHouse refuses, are decoded in Python and inserted as Arrow into the same tables.
--
-- Replays. Every table is a ReplacingMergeTree on the record's own key (event_id, change_id,
-- journey_id, session_id, alert_id, the dead letter's source position) and every view reads
-- FINAL, so a record written twice is seen once. The sink also gives each insert a deterministic
-- insert_deduplication_token (table + Kafka offset ranges), which drops an identical retry outright.

-- Resolved touchpoints as the Avro record is shaped; stores nothing, feeds touchpoints_ingest_mv.
-- Plain String where the target has LowCardinality: converting once, in the view, is cheaper.
-- consent is a union with null in Avro; a plain Tuple receives a null consent as a tuple of NULLs,
-- which is what touchpoints stores, and needs no Nullable(Tuple) from the server.
CREATE TABLE IF NOT EXISTS touchpoints_ingest
(
    person_id        String,
    resolved_at      DateTime64(3, 'UTC'),
    source_topic     String,
    source_partition Int32,
    source_offset    Int64,
    touchpoint Tuple(
        event_id        UUID,
        event_time      DateTime64(3, 'UTC'),
        channel         String,
        event_type      String,
        identifiers     Array(Tuple(type String, value String)),
        source          String,
        session_id      Nullable(String),
        conversation_id Nullable(String),
        case_id         Nullable(String),
        context Tuple(
            store_id       Nullable(String),
            agent_id       Nullable(String),
            campaign_id    Nullable(String),
            url            Nullable(String),
            purchasable    Nullable(Bool),
            product_ids    Array(String),
            order_id       Nullable(String),
            reservation_id Nullable(String),
            amount_cents   Nullable(Int64),
            currency       Nullable(String),
            summary        Nullable(String)
        ),
        consent Tuple(
            analytics       Nullable(Bool),
            marketing       Nullable(Bool),
            personalization Nullable(Bool)
        ),
        attributes Map(String, String)
    )
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS touchpoints_ingest_mv TO touchpoints AS
SELECT
    touchpoint.event_id                     AS event_id,
    touchpoint.event_time                   AS event_time,
    touchpoint.channel                      AS channel,
    touchpoint.event_type                   AS event_type,
    person_id,
    touchpoint.identifiers.type             AS identifier_types,
    touchpoint.identifiers.value            AS identifier_values,
    touchpoint.source                       AS source,
    touchpoint.session_id                   AS session_id,
    touchpoint.conversation_id              AS conversation_id,
    touchpoint.case_id                      AS case_id,
    touchpoint.context.store_id             AS store_id,
    touchpoint.context.agent_id             AS agent_id,
    touchpoint.context.campaign_id          AS campaign_id,
    touchpoint.context.url                  AS url,
    touchpoint.context.purchasable          AS purchasable,
    touchpoint.context.product_ids          AS product_ids,
    touchpoint.context.order_id             AS order_id,
    touchpoint.context.reservation_id       AS reservation_id,
    touchpoint.context.amount_cents         AS amount_cents,
    touchpoint.context.currency             AS currency,
    touchpoint.context.summary              AS summary,
    touchpoint.consent.analytics            AS consent_analytics,
    touchpoint.consent.marketing            AS consent_marketing,
    touchpoint.consent.personalization      AS consent_personalization,
    touchpoint.attributes                   AS attributes,
    resolved_at,
    source_topic,
    source_partition,
    source_offset
FROM touchpoints_ingest;

-- Every change to who-is-who, with its provenance (event, identifiers, rule), one row per change_id.
CREATE TABLE IF NOT EXISTS identity_changes
(
    change_id          UUID,
    kind               LowCardinality(String),
    person_id          String,
    survivor_person_id Nullable(String),
    related_person_ids Array(String),
    event_id           Nullable(UUID),
    identifiers        Array(Tuple(type LowCardinality(String), value String)),
    rule               Nullable(String),
    reason             Nullable(String),
    event_time         DateTime64(3, 'UTC'),
    changed_at         DateTime64(3, 'UTC'),
    inserted_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY change_id
SETTINGS non_replicated_deduplication_window = 1000;

-- Merged-away person -> the person that absorbed it (one hop; chains are followed by
-- v_person_aliases). History is never rewritten: touchpoints keep the person they were resolved
-- to, and the views map it through here. The latest merge of a person wins.
CREATE TABLE IF NOT EXISTS person_aliases
(
    person_id          String,
    survivor_person_id String,
    change_id          UUID,
    event_id           Nullable(UUID),
    rule               Nullable(String),
    event_time         DateTime64(3, 'UTC'),
    changed_at         DateTime64(3, 'UTC'),
    inserted_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(changed_at)
ORDER BY person_id
SETTINGS non_replicated_deduplication_window = 1000;

-- Fed by every insert into identity_changes, whichever path wrote it.
CREATE MATERIALIZED VIEW IF NOT EXISTS person_aliases_mv TO person_aliases AS
SELECT
    person_id,
    assumeNotNull(survivor_person_id) AS survivor_person_id,
    change_id,
    event_id,
    rule,
    event_time,
    changed_at
FROM identity_changes
WHERE kind = 'merge' AND survivor_person_id IS NOT NULL AND survivor_person_id != person_id;

-- Journeys as versioned upserts: the highest version of a journey_id wins.
CREATE TABLE IF NOT EXISTS journeys
(
    journey_id             String,
    person_id              String,
    version                UInt64,
    started_at             DateTime64(3, 'UTC'),
    updated_at             DateTime64(3, 'UTC'),
    ended_at               Nullable(DateTime64(3, 'UTC')),
    status                 LowCardinality(String),
    stage                  LowCardinality(String),
    channel_path           Array(LowCardinality(String)),
    first_touch_channel    LowCardinality(String),
    last_touch_channel     LowCardinality(String),
    channel_switches       Int32,
    touch_count            Int32,
    time_to_outcome_ms     Nullable(Int64),
    first_event_id         Nullable(UUID),
    last_event_id          Nullable(UUID),
    order_ids              Array(String),
    reservation_ids        Array(String),
    case_ids               Array(String),
    campaign_ids           Array(String),
    store_ids              Array(String),
    amount_cents           Nullable(Int64),
    currency               Nullable(String),
    merged_into_journey_id Nullable(String),
    inserted_at            DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY journey_id
SETTINGS non_replicated_deduplication_window = 1000;

-- Per-channel sessions as versioned upserts: the highest version of a session_id wins.
CREATE TABLE IF NOT EXISTS sessions
(
    session_id         String,
    person_id          String,
    channel            LowCardinality(String),
    started_at         DateTime64(3, 'UTC'),
    ended_at           DateTime64(3, 'UTC'),
    event_count        Int32,
    version            UInt64,
    closed             Bool,
    journey_id         Nullable(String),
    channel_session_id Nullable(String),
    store_id           Nullable(String),
    first_event_id     Nullable(UUID),
    last_event_id      Nullable(UUID),
    inserted_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY session_id
SETTINGS non_replicated_deduplication_window = 1000;

-- Broken hand-offs, one row per alert_id (its latest detection).
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id           String,
    kind               LowCardinality(String),
    person_id          String,
    detected_at        DateTime64(3, 'UTC'),
    event_time         DateTime64(3, 'UTC'),
    channel            LowCardinality(String),
    previous_channel   Nullable(String),
    store_id           Nullable(String),
    case_id            Nullable(String),
    conversation_id    Nullable(String),
    reservation_id     Nullable(String),
    campaign_id        Nullable(String),
    url                Nullable(String),
    message            String,
    evidence_event_ids Array(UUID),
    inserted_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(detected_at)
ORDER BY alert_id
SETTINGS non_replicated_deduplication_window = 1000;

-- Every merged-away person with its final survivor, following chains (a -> b, b -> c gives
-- a -> c) at read time, so the order in which the sink saw the merges, how many sinks wrote
-- them and replays do not matter. hops counts the links; a chain longer than 32 links or a cycle
-- (which the identity stage never produces: labels only move towards older persons) stops there.
CREATE VIEW IF NOT EXISTS v_person_aliases AS
WITH RECURSIVE chain AS
(
    SELECT person_id AS alias, survivor_person_id AS survivor, 1 AS depth
    FROM person_aliases FINAL
    UNION ALL
    SELECT chain.alias AS alias, link.survivor_person_id AS survivor, chain.depth + 1 AS depth
    FROM chain
    INNER JOIN (SELECT person_id, survivor_person_id FROM person_aliases FINAL) AS link
        ON link.person_id = chain.survivor
    WHERE chain.depth < 32
)
SELECT alias AS person_id, argMax(survivor, depth) AS survivor_person_id, max(depth) AS hops
FROM chain
GROUP BY alias;

-- Touchpoints under the person they belong to now; resolved_person_id keeps who the identity
-- stage said at the time.
CREATE VIEW IF NOT EXISTS v_touchpoints_unified AS
SELECT
    t.* EXCEPT (inserted_at) REPLACE (if(a.person_id = '', t.person_id, a.survivor_person_id) AS person_id),
    t.person_id AS resolved_person_id
FROM touchpoints AS t FINAL
LEFT JOIN v_person_aliases AS a ON a.person_id = t.person_id;

-- The latest version of every journey, under the surviving person. Journeys folded into another
-- after a merge (status merged) are left out: their touchpoints are counted in the survivor's.
CREATE VIEW IF NOT EXISTS v_journeys AS
SELECT
    j.* EXCEPT (inserted_at) REPLACE (if(a.person_id = '', j.person_id, a.survivor_person_id) AS person_id),
    j.person_id AS journey_person_id
FROM journeys AS j FINAL
LEFT JOIN v_person_aliases AS a ON a.person_id = j.person_id
WHERE j.status != 'merged';

CREATE VIEW IF NOT EXISTS v_sessions AS
SELECT
    s.* EXCEPT (inserted_at) REPLACE (if(a.person_id = '', s.person_id, a.survivor_person_id) AS person_id),
    s.person_id AS session_person_id
FROM sessions AS s FINAL
LEFT JOIN v_person_aliases AS a ON a.person_id = s.person_id;

CREATE VIEW IF NOT EXISTS v_alerts AS
SELECT
    al.* EXCEPT (inserted_at) REPLACE (if(a.person_id = '', al.person_id, a.survivor_person_id) AS person_id),
    al.person_id AS alert_person_id
FROM alerts AS al FINAL
LEFT JOIN v_person_aliases AS a ON a.person_id = al.person_id;

-- Identity changes as recorded, plus where a merge finally leads.
CREATE VIEW IF NOT EXISTS v_identity_changes AS
SELECT
    c.* EXCEPT (inserted_at),
    if(c.kind = 'merge', if(a.person_id = '', c.survivor_person_id, a.survivor_person_id), NULL)
        AS final_survivor_person_id
FROM identity_changes AS c FINAL
LEFT JOIN v_person_aliases AS a ON a.person_id = c.person_id;
