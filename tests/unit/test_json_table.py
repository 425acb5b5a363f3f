"""Raw-valued tables seen as JSON: the same JSON Faust's ``json`` codec writes, so a store or
changelog written either way reads the same; one dump per write, none at all for a read-only key."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import faust
from faust.serializers import codecs

from schemas.codec import Codec
from schemas.topics import TopicNames
from streams.gaps import GapFiller
from streams.journeys.agent import JourneyStage
from streams.journeys.person_cache import PersonCache
from streams.journeys.stage import PersonStage, on_touch
from streams.journeys.touch import Touch
from streams.json_table import JsonValues, dumps, loads
from tests.unit.counting_table import CountingTable

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def a_state() -> dict[str, Any]:
    stage = PersonStage.new("p-1")
    touch = Touch("e-1", NOW, "web", "page_view", "p-1", (("cookie", "ck-é"),), session_id="s-1")
    on_touch(stage, touch, 0, NOW)
    return stage.dump()


def test_the_json_is_the_json_of_fausts_json_codec_either_way() -> None:
    json_codec = codecs.get_codec("json")
    for value in (a_state(), {"alias": "p-2"}, {"n": None, "é": ["ü", 1.5, True, 2**40]}):
        assert loads(json_codec.dumps(value)) == value  # written by earlier releases
        assert json_codec.loads(dumps(value)) == value  # read by a json-valued table
        assert loads(dumps(value)) == value
    assert len(dumps(a_state())) < len(json_codec.dumps(a_state()))  # compact: no spaces


def test_a_table_of_bytes_reads_and_writes_values() -> None:
    raw = CountingTable({"old": codecs.get_codec("json").dumps({"alias": "p-9"})})
    table = JsonValues(raw)
    assert table.get("old") == {"alias": "p-9"}  # written by a json-valued table before
    assert table.get("none") is None
    table["p-1"] = a_state()
    assert isinstance(raw["p-1"], bytes)
    assert table.get("p-1") == a_state()
    assert dict(table.items()) == {"old": {"alias": "p-9"}, "p-1": a_state()}
    del table["old"]
    assert "old" not in raw


def test_the_person_cache_writes_each_changed_person_once_as_bytes() -> None:
    raw = CountingTable({"p-1": dumps(a_state()), "p-2": dumps({"alias": "p-1"})})
    cache = PersonCache(JsonValues(raw))
    stage = cache.stage("p-1")
    assert stage is not None
    assert cache.alias("p-2") == "p-1"
    stage.recent.append("x")
    cache.put("p-1", stage)
    cache.put("p-1", stage)
    assert cache.flush() == 1
    assert raw.writes == 1
    assert loads(raw["p-1"])["r"][-1] == "x"
    assert raw["p-2"] == dumps({"alias": "p-1"})  # read only: not written back


def test_the_journey_stage_s_persons_table_stores_and_logs_the_bytes_it_is_given(tmp_path: Path) -> None:
    """Faust takes a table store's serializers from ``value_type``, the changelog's from ``schema``:
    both must be ``raw``, or the bytes would be dumped as a JSON string (or read back as a dict)."""
    no_broker = "kafka://127.0.0.1:1"  # never connected to: nothing here starts the app
    app = faust.App(f"j{uuid.uuid4().hex[:8]}", broker=no_broker, datadir=str(tmp_path), autodiscover=False)
    stage = JourneyStage(app, TopicNames("t."), Codec(), GapFiller({}, "g"))
    table = stage.persons.table
    assert (table.key_serializer, table.value_serializer) == ("json", "raw")
    schema = table.changelog_topic.schema
    assert (schema.key_serializer, schema.value_serializer) == ("json", "raw")
    value = dumps(a_state())
    assert app.serializers.dumps_value(table.value_type, value, serializer=table.value_serializer) == value
    assert app.serializers.loads_value(table.value_type, value, serializer=table.value_serializer) == value
    assert app.serializers.dumps_key(table.key_type, "p-1", serializer=table.key_serializer) == b'"p-1"'
