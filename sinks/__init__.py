"""ClickHouse sink: unified touchpoints, journeys and identities for analysts.

One confluent-kafka consumer process (:mod:`sinks.runner`) reads touchpoints.resolved,
identity.changes, journeys, sessions, alerts and dead-letters and writes them to ClickHouse through
clickhouse-connect, embedded chDB (``chdb://PATH``) or a server (``clickhouse://``), with the same
code and the same DDL (:mod:`sinks.ddl_files`, applied by :mod:`sinks.migrate` at start).

Depends on ``schemas`` only, so it can run and be tested without Faust.
"""
