"""GDPR erasure through every real part: ``omnijourney forget`` as a subprocess against a running
worker and sink, on a simulated population, then a replay of every old topic from the start.

The person is picked from the simulator's ground truth (a customer with an e-mail and identifiers
on several channels) and forgotten by their raw e-mail, as a clerk would type it. Expected row
counts are computed here with the test's own SQL over the person's identifiers and person ids,
not taken from the command.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from producers.pii import PiiHasher
from producers.simulator import load_ground_truth
from schemas.codec import Codec
from schemas.models import ResolvedTouchpoint, Suppression, SuppressionSubject
from schemas.topics import TopicNames
from sinks.batch import Batch
from sinks.connection import StoreConnection
from sinks.privacy import SinkPrivacy
from sinks.routing import Router
from sinks.store import StoreConfig
from sinks.suppressions import SuppressionReader
from sinks.writer import BatchWriter
from streams.demo import wait_caught_up
from streams.produce import produce_simulation
from streams.settings import load_settings
from streams.supervise import Service, start, wait_http
from tests.integration.conftest import Isolated, free_port
from tests.integration.sink_helpers import by_topic, messages
from tests.integration.sink_process import sql

pytestmark = pytest.mark.integration

CUSTOMERS, DAYS, SEED = 150, 3, 11
TABLES = ("touchpoints", "identity_changes", "person_aliases", "journeys", "sessions", "alerts")


def rows(isolated: Isolated, query: str) -> list[list[Any]]:
    status, body = sql(isolated, query)
    assert status == 200, body
    return list(body["rows"])


def lit(values: Any) -> str:
    return "[" + ", ".join("'" + str(v).replace("'", "\\'") + "'" for v in values) + "]"


def person_rows(isolated: Isolated, persons: list[str], values: list[str]) -> dict[str, int]:
    """The person's rows per table, by the test's own (simpler) conditions."""
    p, v = lit(persons), lit(values)
    where = {
        "touchpoints": f"person_id IN {p} OR hasAny(identifier_values, {v})",
        "identity_changes": f"person_id IN {p} OR ifNull(survivor_person_id, '') IN {p} "
        f"OR hasAny(identifiers.value, {v})",
        "person_aliases": f"person_id IN {p} OR survivor_person_id IN {p}",
        "journeys": f"person_id IN {p}",
        "sessions": f"person_id IN {p}",
        "alerts": f"person_id IN {p}",
    }
    return {t: rows(isolated, f"SELECT count() FROM {t} FINAL WHERE {w}")[0][0] for t, w in where.items()}


def totals(isolated: Isolated) -> dict[str, int]:
    return {t: rows(isolated, f"SELECT count() FROM {t} FINAL")[0][0] for t in TABLES}


def forget(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "forget", *args, "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout[done.stdout.index("{") :]))


def get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def lookups(env: dict[str, str], keys: list[str]) -> dict[str, int]:
    """HTTP status of whois and continuity for every identifier key on the worker of ``env``."""
    settings = load_settings(env)
    base, token = f"http://{settings.web_host}:{settings.web_port}", settings.api_token.get_secret_value()
    out = {}
    for key in keys:
        kind, _, value = key.partition(":")
        for api in ("identity", "continuity"):
            out[f"{api} {key}"] = get(f"{base}/{api}/{quote(kind, safe='')}/{quote(value, safe='')}", token)
    return out


def services(env: dict[str, str], base: Path, tag: str) -> list[Service]:
    settings = load_settings(env)
    started = [
        start(f"worker-{tag}", ["worker", "-l", "info"], env, base),
        start(f"sink-{tag}", ["sink"], env, base),
    ]
    wait_http(f"http://{settings.web_host}:{settings.web_port}/health", started[0])
    wait_http(f"http://{settings.web_host}:{settings.sink_port}/health", started[1])
    return started


@pytest.fixture
def running(isolated: Isolated) -> Iterator[list[Service]]:
    """Worker and sink as real processes; the test may stop them early (to replay)."""
    env = {**isolated.env, "OMNIJOURNEY_IDENTITY_STAGE": "stitch"}
    started = services(env, isolated.base / "run", "a")
    try:
        yield started
    finally:
        for service in started:
            service.stop()


def wait_rows(isolated: Isolated, expected: int) -> None:
    deadline = time.monotonic() + 180  # the sink writes its last batch after its last commit check
    while (
        rows(isolated, "SELECT count() FROM v_touchpoints")[0][0] < expected and time.monotonic() < deadline
    ):
        time.sleep(1.0)


def test_forget_removes_a_person_everywhere_and_a_replay_does_not_bring_them_back(
    isolated: Isolated, running: list[Service], tmp_path: Path
) -> None:
    settings = isolated.settings
    truth_path = tmp_path / "truth.json"
    summary = produce_simulation(
        settings, customers=CUSTOMERS, days=DAYS, seed=SEED, rate=None, truth_path=truth_path, progress=False
    )
    truth = load_ground_truth(truth_path)
    wait_caught_up(settings, timeout_s=600)
    wait_rows(isolated, summary.valid)
    assert rows(isolated, "SELECT count() FROM v_touchpoints")[0][0] == summary.valid

    # A customer with an e-mail and the most identifiers that the store saw on several channels.
    hasher = PiiHasher(settings.pii_hash_key.get_secret_value().encode(), settings.phone_country_code)
    wire = {"email": ("hashed_email", hasher.email), "phone": ("hashed_phone", hasher.phone)}
    shared = {(s.type, s.value) for s in truth.shared_identifiers}

    def on_wire(kind: str, value: str) -> tuple[str, str]:
        return (wire[kind][0], wire[kind][1](value)) if kind in wire else (kind, value)

    def channels(person: Any) -> int:
        values = lit(on_wire(k, v)[1] for k, v in person.identifiers if (k, v) not in shared)
        return int(
            rows(
                isolated,
                f"SELECT uniqExact(channel) FROM v_touchpoints WHERE hasAny(identifier_values, {values})",
            )[0][0]
        )

    candidates = [p for p in truth.persons if any(k == "email" for k, _ in p.identifiers)]
    seen = {p.person_id: channels(p) for p in candidates}
    person = max(candidates, key=lambda p: (seen[p.person_id], len(p.identifiers), p.person_id))
    assert seen[person.person_id] >= 2  # a person across channels
    email = next(v for k, v in person.identifiers if k == "email")

    before = totals(isolated)
    dry = forget(isolated.env, "email", "  " + email.upper() + " ", "--dry-run")  # as a clerk types it
    assert dry["dry_run"] is True
    assert totals(isolated) == before  # a dry run changes nothing
    own_ids = [on_wire(k, v) for k, v in person.identifiers if (k, v) not in shared]
    expected_keys = {f"{t}:{v.lower() if t.startswith('hashed') else v}" for t, v in own_ids}
    assert f"hashed_email:{hasher.email(email)}" == dry["requested"]
    assert expected_keys <= set(dry["identifiers"])  # every identifier the person showed, stitched
    assert all(("@" not in k) for k in dry["identifiers"])  # no raw e-mail in the receipt
    values = [k.partition(":")[2] for k in dry["identifiers"]]
    own = person_rows(isolated, dry["persons"], values)
    assert own["touchpoints"] > 0
    assert own["journeys"] > 0
    assert {t: dry["rows"][t] for t in TABLES} == own
    assert dry["state"]["identity-identifiers"] == len(dry["identifiers"])
    assert dry["state"]["journey-persons"] >= 1
    assert set(lookups(isolated.env, dry["identifiers"]).values()) == {200}

    real = forget(isolated.env, "email", email)
    print(json.dumps(real, indent=2))
    assert real["dry_run"] is False
    assert real["store_applied"] is True
    assert real["persons"] == dry["persons"]
    assert real["identifiers"] == dry["identifiers"]
    assert real["rows"] == dry["rows"]  # the sink counted what the dry run counted
    assert real["suppressions"] == len(real["identifiers"]) + len(real["persons"])
    after = totals(isolated)
    assert after == {t: before[t] - own[t] for t in TABLES}  # everyone else untouched
    assert set(person_rows(isolated, real["persons"], values).values()) == {0}
    assert set(lookups(isolated.env, real["identifiers"]).values()) == {404}
    assert (
        rows(
            isolated,
            f"SELECT count() FROM dead_letters FINAL WHERE ifNull(key, '') IN {lit(real['persons'])}",
        )[0][0]
        == 0
    )
    ledger = rows(isolated, "SELECT subjects, identifiers, persons FROM erasures")
    assert ledger == [[real["suppressions"], len(real["identifiers"]), len(real["persons"])]]

    # Replay: a new worker app and a new sink group read every old topic from the start.
    for service in running:
        assert service.stop() == 0, service.log_tail()
    replay_env = {
        **isolated.env,
        "OMNIJOURNEY_IDENTITY_STAGE": "stitch",
        "OMNIJOURNEY_APP_ID": isolated.env["OMNIJOURNEY_APP_ID"] + "-replay",
        "OMNIJOURNEY_SINK_GROUP": isolated.env["OMNIJOURNEY_SINK_GROUP"] + "-replay",
        "OMNIJOURNEY_WEB_PORT": str(free_port()),
    }
    running += services(replay_env, isolated.base / "run", "replay")
    replay_settings = load_settings(replay_env)
    wait_caught_up(replay_settings, timeout_s=600)  # the sink commits only what it has written
    assert set(person_rows(isolated, real["persons"], values).values()) == {0}
    assert set(lookups(replay_env, real["identifiers"]).values()) == {404}
    assert totals(isolated)["touchpoints"] == after["touchpoints"]
    metrics = (
        urllib.request.urlopen(f"http://127.0.0.1:{replay_env['OMNIJOURNEY_WEB_PORT']}/metrics")
        .read()
        .decode()
    )
    dropped = [
        line
        for line in metrics.splitlines()
        if line.startswith('omnijourney_suppressed_total{stage="identity"}')
    ]
    assert dropped
    assert (
        float(dropped[0].split()[-1]) >= own["touchpoints"]
    )  # the replay met the person's events, and dropped them


def test_the_sink_erases_rows_from_disk_and_records_each_erasure_once(tmp_path: Path) -> None:
    """No broker: the sink's erasure against a real chDB store with every table filled."""
    codec, topics = Codec(), TopicNames("t.")
    store = StoreConnection(StoreConfig(f"chdb://{tmp_path / 'store'}"))
    client = store.connect()
    try:
        records = by_topic(topics, 60, seed=4)
        for replay in range(2):  # twice (as replayed at other offsets): copies wait in the parts
            batch = Batch(10**6, 10**6)
            sent = messages(codec, records)
            for msg in sent:
                msg.o += 1000 * replay
            Router(topics, codec).feed(batch, sent)
            BatchWriter(store, Router(topics, codec)).write(batch)
        touchpoints: list[ResolvedTouchpoint] = records[topics.resolved]  # type: ignore[assignment]
        victim = touchpoints[5]
        cookie = next(i.value for i in victim.touchpoint.identifiers if i.type.value == "cookie")
        persons = [victim.person_id]
        erasure = uuid.uuid4()
        subjects = [
            Suppression(
                subject=SuppressionSubject.PERSON,
                value=victim.person_id,
                erasure_id=erasure,
                subjects=2,
                requested_at=dt.datetime.now(dt.UTC),
            ),
            Suppression(
                subject=SuppressionSubject.IDENTIFIER,
                identifier_type="cookie",
                value=cookie,
                erasure_id=erasure,
                subjects=2,
                requested_at=dt.datetime.now(dt.UTC),
            ),
        ]

        def physical(table: str, where: str) -> int:
            query = f"SELECT count() FROM {table} WHERE {where} SETTINGS apply_deleted_mask = 0"
            return int(client.query(query).result_rows[0][0])

        mine = f"person_id IN {lit(persons)} OR has(identifier_values, '{cookie}')"
        expected = int(client.query(f"SELECT count() FROM touchpoints FINAL WHERE {mine}").result_rows[0][0])
        assert expected >= 2  # the person's own touchpoint and others' carrying the cookie
        total = int(client.query("SELECT count() FROM touchpoints FINAL").result_rows[0][0])
        assert physical("touchpoints", mine) == 2 * expected

        reader = SuppressionReader({}, topics.suppressions, codec, consumer=object())
        sink = SinkPrivacy({}, topics, codec, reader=reader)
        sink._queue(subjects)
        done = sink.apply(client)

        assert [row["removed"]["touchpoints"] for row in done] == [expected]
        assert physical("touchpoints", mine) == 0  # gone from the parts, not only masked
        assert (
            int(client.query("SELECT count() FROM touchpoints FINAL").result_rows[0][0]) == total - expected
        )
        ledger = client.query("SELECT toString(erasure_id), subjects FROM erasures").result_rows
        assert ledger == [(str(erasure), 2)]

        again = SinkPrivacy({}, topics, codec, reader=reader)  # a restart reads the same suppressions
        again._queue(subjects)
        assert again.apply(client) == []  # the ledger says it is done
        assert len(client.query("SELECT * FROM erasures").result_rows) == 1
    finally:
        store.close()
