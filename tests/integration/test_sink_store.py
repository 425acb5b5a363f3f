"""The sink's store side against a real chDB store in tmp_path (no broker needed): DDL upgrades,
both write paths, refused blocks and the analyst views over identity merges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from schemas.codec import Codec
from schemas.models import ResolvedTouchpoint
from schemas.topics import TopicNames
from sinks.batch import Batch
from sinks.connection import StoreConnection
from sinks.ddl_files import load_migrations
from sinks.migrate import applied_versions, migrate
from sinks.routing import Router
from sinks.store import StoreConfig
from sinks.writer import BatchWriter
from tests.integration.sink_helpers import (
    FINAL_SURVIVOR,
    FakeMessage,
    alerts,
    by_topic,
    encode,
    journeys,
    messages,
    resolved_touchpoints,
    sessions,
    snapshot,
)

pytestmark = pytest.mark.integration

TOPICS = TopicNames("t.")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreConnection]:
    connection = StoreConnection(StoreConfig(f"chdb://{tmp_path / 'store'}"))
    try:
        yield connection
    finally:
        connection.close()


def write(store: StoreConnection, msgs: list[FakeMessage], fast: bool = True, max_rows: int = 10**6) -> Batch:
    batch = Batch(max_rows, 10**6)
    router = Router(TOPICS, Codec(), fast=fast)
    router.feed(batch, msgs)
    BatchWriter(store, router).write(batch)
    return batch


def rows(client: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in client.query(sql).result_rows]


def test_upgrade_from_001_keeps_data_records_versions_and_is_idempotent(tmp_path: Path) -> None:
    codec = Codec()
    only_001 = [m for m in load_migrations() if m.version == 1]
    old = StoreConnection(StoreConfig(f"chdb://{tmp_path / 'store'}"), migrations=only_001)
    client = old.connect()
    assert applied_versions(client) == {1}
    assert rows(client, "EXISTS TABLE journeys") == [(0,)]
    # The previous version's sink wrote touchpoints and dead letters as Arrow rows.
    sent = resolved_touchpoints(30, seed=5)
    msgs = [FakeMessage(TOPICS.resolved, encode(codec, r), i) for i, r in enumerate(sent)]
    msgs.append(FakeMessage(TOPICS.resolved, b"\xc3\x01garbage!", len(sent)))
    batch = Batch(1000, 1000)
    for msg in msgs:
        routed = Router(TOPICS, codec, fast=False).route(msg.t, msg.p, msg.o, msg.k, msg.v)
        batch.add(routed.table, routed.row, msg.t, msg.p, msg.o)
    BatchWriter(client, Router(TOPICS, codec, fast=False)).write(batch)
    before = rows(client, "SELECT * FROM v_touchpoints ORDER BY event_id")
    dead_before = rows(client, "SELECT * FROM v_dead_letters")
    assert len(before) == len(sent)
    assert len(dead_before) == 1

    applied = migrate(client)
    latest = [m.version for m in load_migrations()]
    assert applied == [v for v in latest if v != 1]
    assert applied_versions(client) == set(latest)
    names = dict(rows(client, "SELECT version, name FROM schema_migrations FINAL"))
    assert names == {m.version: m.name for m in load_migrations()}
    assert rows(client, "SELECT * FROM v_touchpoints ORDER BY event_id") == before
    assert rows(client, "SELECT * FROM v_dead_letters") == dead_before
    unified = rows(client, "SELECT event_id, person_id, resolved_person_id FROM v_touchpoints_unified")
    assert sorted(str(r[0]) for r in unified) == sorted(str(r.touchpoint.event_id) for r in sent)
    assert all(r[1] == r[2] for r in unified)  # no merges yet: everyone is who they were

    assert migrate(client) == []
    assert rows(client, "SELECT count() FROM schema_migrations") == [(len(latest),)]
    old.close()

    # A new sink opening the upgraded store applies nothing and writes through the Avro path.
    upgraded = StoreConnection(StoreConfig(f"chdb://{tmp_path / 'store'}"))
    more = [FakeMessage(TOPICS.resolved, encode(codec, r), 100 + i) for i, r in enumerate(sent[:5])]
    assert write(upgraded, more).encoded  # the fast path was taken
    assert rows(upgraded.client, "SELECT count() FROM v_touchpoints") == [(len(sent),)]
    assert rows(upgraded.client, "SELECT count() FROM schema_migrations") == [(len(latest),)]
    upgraded.close()


def test_avro_and_arrow_paths_store_identical_rows(tmp_path: Path) -> None:
    """Every table, written once through ClickHouse's Avro decoding and once through Python."""
    msgs = messages(Codec(), by_topic(TOPICS, 150, seed=9))
    snaps = []
    for fast in (True, False):
        store = StoreConnection(StoreConfig(f"chdb://{tmp_path / f'store-{fast}'}"))
        batch = write(store, msgs, fast=fast)
        assert bool(batch.encoded) is fast
        assert bool(batch.rows) is not fast
        snaps.append(snapshot(store.client))
        store.close()
    fast_snap, slow_snap = snaps
    assert all(fast_snap[view] for view in fast_snap), "every view has rows"
    for view in fast_snap:
        assert fast_snap[view] == slow_snap[view], view


def test_views_present_history_under_the_final_survivor(store: StoreConnection) -> None:
    records = by_topic(TOPICS, 120, seed=4)
    write(store, messages(Codec(), records))
    client = store.client

    aliases = dict((r[0], (r[1], r[2])) for r in rows(client, "SELECT * FROM v_person_aliases"))
    assert {k: v[0] for k, v in aliases.items()} == FINAL_SURVIVOR
    assert aliases["p-000"][1] == 2  # a -> b -> c is two hops

    unified = rows(
        client, "SELECT toString(event_id), person_id, resolved_person_id FROM v_touchpoints_unified"
    )
    expected = {
        str(r.touchpoint.event_id): (FINAL_SURVIVOR.get(r.person_id, r.person_id), r.person_id)
        for r in cast(list[ResolvedTouchpoint], records[TOPICS.resolved])
    }
    assert {r[0]: (r[1], r[2]) for r in unified} == expected
    # History is not rewritten: the stored touchpoints keep the person they were resolved to.
    stored = set(r[0] for r in rows(client, "SELECT DISTINCT person_id FROM v_touchpoints"))
    assert {"p-000", "p-001", "p-005"} <= stored

    latest: dict[str, tuple[int, str]] = {}
    for j in journeys():
        if j.status.value != "merged" and j.version >= latest.get(j.journey_id, (0, ""))[0]:
            latest[j.journey_id] = (j.version, FINAL_SURVIVOR.get(j.person_id, j.person_id))
    got = rows(client, "SELECT journey_id, version, person_id FROM v_journeys")
    assert {r[0]: (r[1], r[2]) for r in got} == latest

    top_sessions = {
        s.session_id: max(x.version for x in sessions() if x.session_id == s.session_id) for s in sessions()
    }
    assert dict(rows(client, "SELECT session_id, version FROM v_sessions")) == top_sessions
    assert dict(rows(client, "SELECT alert_id, person_id FROM v_alerts")) == {
        a.alert_id: FINAL_SURVIVOR.get(a.person_id, a.person_id) for a in alerts()
    }
    merges = rows(
        client, "SELECT person_id, final_survivor_person_id FROM v_identity_changes WHERE kind = 'merge'"
    )
    assert dict(merges) == FINAL_SURVIVOR


def test_merges_seen_in_any_order_or_twice_give_the_same_aliases(store: StoreConnection) -> None:
    """The chain's second link written before the first, in separate batches, then replayed."""
    codec = Codec()
    changes = by_topic(TOPICS, 0, seed=1)[TOPICS.identity_changes]
    msgs = [FakeMessage(TOPICS.identity_changes, encode(codec, c), i) for i, c in enumerate(changes)]
    for msg in [msgs[1], msgs[0], *msgs[2:], *msgs]:
        write(store, [msg])
    client = store.client
    assert dict((r[0], r[1]) for r in rows(client, "SELECT * FROM v_person_aliases")) == FINAL_SURVIVOR
    assert rows(client, "SELECT count() FROM v_identity_changes") == [(len(changes),)]


def test_a_block_clickhouse_refuses_is_decoded_in_python_and_only_bad_records_dead_letter(
    store: StoreConnection,
) -> None:
    codec = Codec()
    sent = resolved_touchpoints(40, seed=8)
    msgs = [FakeMessage(TOPICS.resolved, encode(codec, r), i) for i, r in enumerate(sent)]
    truncated = encode(codec, sent[0])[:-9]  # current fingerprint, body cut short
    msgs.insert(17, FakeMessage(TOPICS.resolved, truncated, 1000))
    batch = Batch(10**6, 10**6)
    router = Router(TOPICS, codec)
    router.feed(batch, msgs)
    assert len(batch.encoded["touchpoints"]) == len(msgs)
    writer = BatchWriter(store, router)
    writer.write(batch)
    assert writer.demoted == 1
    client = store.client
    assert rows(client, "SELECT count(), uniqExact(event_id) FROM v_touchpoints") == [(len(sent), len(sent))]
    dead = rows(client, "SELECT stage, error_type, source_offset, payload_size FROM v_dead_letters")
    assert dead == [("sink", "DecodeError", 1000, len(truncated))]


def test_every_saved_analysis_runs_on_a_filled_store(store: StoreConnection) -> None:
    from sinks.query_server import run_query
    from sinks.saved import saved_queries

    write(store, messages(Codec(), by_topic(TOPICS, 200, seed=6)))
    results = {name: run_query(store.client, store.lock, q.sql) for name, q in saved_queries().items()}
    assert not [name for name, r in results.items() if "error" in r], results
    assert all(r["rows"] for r in results.values())
    merges = results["identity_merges"]
    by_rule = {row[0]: dict(zip(merges["columns"], row, strict=True)) for row in merges["rows"]}
    assert by_rule["shared_identifier"]["merges"] == len(FINAL_SURVIVOR)
    assert by_rule["shared_identifier"]["merged_away"] == len(FINAL_SURVIVOR)
    assert by_rule["shared_identifier"]["survivors"] == len(set(FINAL_SURVIVOR.values()))
    assert by_rule["shared_identifier"]["longest_chain"] == 2
    mix = results["channel_mix"]
    assert sum(row[mix["columns"].index("touchpoints")] for row in mix["rows"]) == 200
    handoffs = results["broken_handoffs"]
    assert sum(row[handoffs["columns"].index("alerts")] for row in handoffs["rows"]) == len(alerts())


@pytest.mark.parametrize("fast", [True, False], ids=["clickhouse-avro", "python-arrow"])
def test_a_retracted_alert_leaves_v_alerts_and_stays_in_the_table(tmp_path: Path, fast: bool) -> None:
    store = StoreConnection(StoreConfig(f"chdb://{tmp_path / 'store'}"))
    try:
        codec, raised = Codec(), alerts()
        write(store, [FakeMessage(TOPICS.alerts, encode(codec, a), i) for i, a in enumerate(raised)], fast)
        withdrawn = raised[1]
        retraction = withdrawn.model_copy(
            update={"retracted_by": "a-truer", "detected_at": withdrawn.detected_at + dt.timedelta(minutes=1)}
        )
        write(store, [FakeMessage(TOPICS.alerts, encode(codec, retraction), 10)], fast)
        client = store.client
        assert [r[0] for r in rows(client, "SELECT alert_id FROM v_alerts ORDER BY alert_id")] == [
            a.alert_id for a in raised if a.alert_id != withdrawn.alert_id
        ]
        kept = rows(client, "SELECT alert_id, retracted_by FROM alerts FINAL ORDER BY alert_id")
        assert kept == [(a.alert_id, "a-truer" if a is withdrawn else None) for a in raised]
    finally:
        store.close()
