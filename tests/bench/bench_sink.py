"""Sink throughput, topic to ClickHouse, beside its two ceilings measured in the same run.

    python tests/bench/bench_sink.py --rows 300000 --json out.json

A fresh topic (4 partitions) is filled with ``--rows`` encoded ResolvedTouchpoint records built
from simulated channel traffic (PII hashed by the SDK's own preparation, people recurring), then:

- consumption ceiling: a confluent-kafka consumer with the sink's options that reads every record
  and decodes it with the project's codec (``Codec.decode``), and nothing else;
- read-only: the same consumer reading the values without decoding them (how fast records can be
  taken off the topic at all from Python);
- store ceiling: ``client.insert_arrow`` of the same rows, decoded and built as Arrow beforehand,
  outside the clock, into the ``touchpoints`` table of a fresh chDB store, in inserts of the sink's
  batch size and with the sink's insert settings;
- store ceiling of the sink's own path: the same, but the container files the sink would send,
  inserted as Avro into ``touchpoints_ingest`` (ClickHouse decodes them; the view fills touchpoints);
- the sink: :class:`sinks.runner.SinkRunner` in this process, from the beginning of the topic into
  a fresh chDB store until every row is written and committed.

Consumers start their clocks at their first record (group joins are not charged to anyone); the
sink's clock stops when its last batch is committed. Every side runs ``--rounds`` times
alternately and the best round counts: the machine is shared, and noise only ever slows.
Not collected by pytest (``bench_*.py``); speed is measured only here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import json
import os
import pstats
import sys
import tempfile
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from producers.config import ProducerConfig
from producers.prepare import EventPreparer
from producers.simulator import simulate
from schemas.avro_writer import compile_writer
from schemas.codec import Codec
from schemas.topics import TopicNames
from sinks.avro_block import container, container_header, container_schema
from sinks.connection import StoreConnection
from sinks.rows import touchpoints_table
from sinks.runner import SinkConfig, SinkRunner
from sinks.store import StoreConfig
from sinks.writer import INSERT_SETTINGS, BatchWriter
from streams.admin import topic_config

RESOLVED = "io.omnijourney.ResolvedTouchpoint"
PARTITIONS = 4
CONSUMER = {  # the sink's own consumer options (sinks/runner.py)
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "enable.partition.eof": False,
    "fetch.min.bytes": 65536,
    "fetch.wait.max.ms": 100,
    "queued.max.messages.kbytes": 32768,
}


def make_values(rows: int, seed: int) -> list[tuple[bytes, bytes]]:
    """(key, value) of ``rows`` ResolvedTouchpoints over simulated traffic, people recurring."""
    codec = Codec()
    preparer = EventPreparer(
        ProducerConfig(brokers="unused:1", pii_key=b"benchmark-key-not-a-secret-0123456789"), codec
    )
    reader = codec.catalog.reader(RESOLVED)
    encode = compile_writer(reader.parsed, b"\xc3\x01" + reader.fingerprint)
    resolved_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    out: list[tuple[bytes, bytes]] = []
    for event in simulate(customers=max(500, rows // 12), days=30, seed=seed):
        if not event.valid or event.wire is not None:
            continue
        record, key = preparer.record(event.payload)
        person = f"p-{zlib.crc32(key):010d}"
        resolved = {
            "person_id": person,
            "resolved_at": resolved_at,
            "source_topic": f"touchpoints.{record['channel']}",
            "source_partition": len(out) % PARTITIONS,
            "source_offset": len(out),
            "touchpoint": record,
        }
        value = encode(resolved)
        if len(out) < 50 and value != codec.encode(RESOLVED, resolved):
            raise RuntimeError("the compiled writer disagrees with the codec")
        out.append((person.encode(), value))
        if len(out) >= rows:
            return out
    raise RuntimeError(f"the simulation gave only {len(out)} events; raise its size")


def fill(brokers: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 20, "enable.idempotence": True})
    for key, value in values:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120):
        raise RuntimeError("not every record reached the broker")


def run_consumer(brokers: str, topic: str, rows: int, decode: bool) -> float:
    """Rows/s of a consumer reading (and decoding) everything, from its first record."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-{uuid.uuid4().hex}", **CONSUMER})
    consumer.subscribe([topic])
    codec_decode = Codec().decode
    seen, start = 0, 0.0
    try:
        while seen < rows:
            batch = consumer.consume(num_messages=10000, timeout=1.0)
            if batch and not start:
                start = time.perf_counter()
            for msg in batch:
                if msg.error() is None:
                    value = msg.value()
                    if decode:
                        codec_decode(value)
                    seen += 1
        return rows / (time.perf_counter() - start)
    finally:
        consumer.close()


def arrow_chunks(values: list[tuple[bytes, bytes]], size: int) -> list[Any]:
    """The rows the store ceiling inserts, as the Python path would build them (outside any clock)."""
    decode = Codec().decode
    return [
        touchpoints_table([decode(value).record for _, value in values[i : i + size]])
        for i in range(0, len(values), size)
    ]


def avro_chunks(values: list[tuple[bytes, bytes]], size: int) -> list[bytes]:
    """The same rows as the sink sends them: container files of the consumed bodies."""
    header = container_header(container_schema(Codec().catalog, RESOLVED) or "")
    return [container(header, [v for _, v in values[i : i + size]]) for i in range(0, len(values), size)]


def run_store(chunks: list[Any], rows: int, avro: bool) -> float:
    """Rows/s of inserting prebuilt chunks into a fresh store: Arrow into touchpoints, or the
    sink's Avro containers into touchpoints_ingest (whose view fills touchpoints)."""
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        store = StoreConnection(StoreConfig(f"chdb://{tmp}"))
        client = store.connect()
        client.query("SELECT count() FROM touchpoints")  # warm: the table is open before the clock
        columns = [
            "person_id",
            "resolved_at",
            "source_topic",
            "source_partition",
            "source_offset",
            "touchpoint",
        ]
        start = time.perf_counter()
        for n, chunk in enumerate(chunks):
            settings = {"insert_deduplication_token": f"b{n}", **INSERT_SETTINGS}
            if avro:
                client.raw_insert("touchpoints_ingest", columns, chunk, settings=settings, fmt="Avro")
            else:
                client.insert_arrow("touchpoints", chunk, settings=settings)
        rate = rows / (time.perf_counter() - start)
        if client.query("SELECT count() FROM touchpoints").result_rows[0][0] != rows:
            raise RuntimeError("store ceiling: rows missing")
        store.close()
    return rate


def run_sink(brokers: str, prefix: str, rows: int, batch_rows: int, profile: Path | None) -> float:
    """Rows/s of the sink from its first consumed record until its last batch is committed."""
    with tempfile.TemporaryDirectory(prefix="bench-sink-") as tmp:
        store = StoreConnection(StoreConfig(f"chdb://{tmp}"))
        config = SinkConfig(
            kafka={"bootstrap.servers": brokers},
            group_id=f"bench-sink-{uuid.uuid4().hex}",
            topics=TopicNames(prefix),
            batch_rows=batch_rows,
            batch_ms=1000,
        )
        runner = SinkRunner(config, BatchWriter(store))
        marks: dict[str, float] = {}

        def watch() -> None:
            while "end" not in marks:
                if "start" not in marks and (runner.batch.size or runner.status.batches):
                    marks["start"] = time.perf_counter()
                if runner.status.rows_written >= rows:
                    marks["end"] = time.perf_counter()
                    runner.stop()
                time.sleep(0.002)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        runner.run()
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        watcher.join()
        count = store.connect().query("SELECT count() FROM v_touchpoints").result_rows[0][0]
        store.close()
        if count != rows or runner.status.state == "degraded":
            raise RuntimeError(f"sink: {count} of {rows} rows stored ({runner.status.as_dict()})")
    return rows / (marks["end"] - marks["start"])


def create_topics(brokers: str, prefix: str) -> list[str]:
    topics = TopicNames(prefix)
    names = [topics.resolved, topics.identity_changes, topics.journeys, topics.sessions, topics.alerts]
    names.append(topics.dead_letters)
    # The suppressions topic too, empty: the sink measured is the one that screens for erasures.
    names.append(topics.suppressions)
    admin = AdminClient({"bootstrap.servers": brokers})
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1, config=topic_config(n)) for n in names]
    )
    for future in futures.values():
        future.result(timeout=30)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument(
        "--batch-rows", type=int, default=50_000, help="the sink's batch size (and the store's)"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--brokers", default=os.environ.get("OMNIJOURNEY_KAFKA_BROKERS", "127.0.0.1:19092"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--profile", type=Path, help="cProfile the sink's last round into this file")
    args = parser.parse_args(argv)

    print(f"building {args.rows:,} resolved touchpoints ...", file=sys.stderr, flush=True)
    values = make_values(args.rows, args.seed)
    chunks = arrow_chunks(values, args.batch_rows)
    containers = avro_chunks(values, args.batch_rows)
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    admin = AdminClient({"bootstrap.servers": args.brokers})
    names = create_topics(args.brokers, prefix)
    rates: dict[str, list[float]] = {"decode": [], "read": [], "store": [], "store_avro": [], "sink": []}
    try:
        fill(args.brokers, TopicNames(prefix).resolved, values)
        del values
        gc.collect()
        gc.freeze()
        topic = TopicNames(prefix).resolved
        for round_no in range(args.rounds):
            last = round_no == args.rounds - 1
            rates["decode"].append(run_consumer(args.brokers, topic, args.rows, decode=True))
            rates["read"].append(run_consumer(args.brokers, topic, args.rows, decode=False))
            rates["store"].append(run_store(chunks, args.rows, avro=False))
            rates["store_avro"].append(run_store(containers, args.rows, avro=True))
            rates["sink"].append(
                run_sink(args.brokers, prefix, args.rows, args.batch_rows, args.profile if last else None)
            )
            print(
                f"round {round_no}: " + ", ".join(f"{k} {v[-1]:,.0f} rows/s" for k, v in rates.items()),
                file=sys.stderr,
                flush=True,
            )
    finally:
        for future in admin.delete_topics(names).values():
            future.result(timeout=30)

    best = {k: max(v) for k, v in rates.items()}
    sink = best["sink"]
    baselines = (
        ("sink_vs_consumption", "decode", "confluent-kafka read + Codec.decode"),
        ("sink_vs_store", "store", "insert_arrow of prebuilt rows"),
        ("sink_vs_read_only", "read", "confluent-kafka read, no decode"),
        ("sink_vs_store_avro", "store_avro", "raw insert of prebuilt Avro containers"),
    )
    results = [
        {
            "name": name,
            "value": round(sink, 1),
            "baseline": round(best[key], 1),
            "ratio": round(sink / best[key], 3),
            "unit": "rows/s",
            "baseline_name": label,
        }
        for name, key, label in baselines
    ]
    for r in results:
        baseline = f"{r['baseline_name']} {r['baseline']:,.0f} rows/s"
        print(f"sink {r['value']:,.0f} rows/s; {baseline}; ratio {r['ratio']:.2f}")
    print(f"goal: 100,000 rows/s; batch {args.batch_rows:,} rows; {args.rows:,} rows; best of {args.rounds}")
    if args.json:
        args.json.write_text(json.dumps(results) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
