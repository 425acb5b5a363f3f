"""Avro encoding and decoding for every topic, with the writer schema carried in each message.

Default wire format is Avro single-object encoding (``C3 01`` + CRC-64-AVRO fingerprint + body),
which needs no registry: the fingerprint is looked up in the :class:`SchemaCatalog` (current and
historical schemas). With a schema registry configured, records are written with Confluent framing
(``00`` + 4-byte schema id + body, see :mod:`schemas.confluent`) instead; decoding accepts both,
told apart by the first byte, so a topic can move from one framing to the other without a gap.
Decoding always resolves the writer's schema into the current reader schema, so compatible schema
changes never break consumers.

Encoding goes through a writer generated once per schema (:mod:`schemas.avro_writer`), which
writes fastavro's bytes several times faster; a record it cannot write goes to fastavro, which
writes it or raises the precise error. Decoding a record written with the schema it is read with
(no resolution to do) goes through a reader generated the same way (:mod:`schemas.avro_reader`),
about twice as fast; a body it cannot read goes to fastavro. ``Codec(compiled=False)`` reads and
writes with fastavro only: the reference the generated code is tested against.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import fastavro

from schemas.avro_reader import READER_ERRORS, Reader, compile_reader
from schemas.avro_writer import UnsupportedSchema, Writer, compile_writer
from schemas.catalog import SchemaCatalog, SchemaVersion
from schemas.errors import DecodeError, SchemaError, UnknownSchemaError

if TYPE_CHECKING:  # schemas.confluent imports Decoded from here
    from schemas.confluent import ConfluentFraming

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
HEADER_LEN = len(SINGLE_OBJECT_MAGIC) + 8
# What a generated writer raises on a record it cannot write; fastavro then writes it or refuses it.
WRITER_ERRORS = (TypeError, ValueError, KeyError, AttributeError, OverflowError, IndexError)


@dataclass(frozen=True)
class Decoded:
    """A decoded record, with the name of its reader schema and the writer version it came in."""

    name: str
    record: dict[str, Any]
    writer: SchemaVersion


class Codec:
    """Encode records with the current schema; decode any known version into the current one."""

    def __init__(
        self,
        catalog: SchemaCatalog | None = None,
        confluent: ConfluentFraming | None = None,
        *,
        compiled: bool = True,
    ) -> None:
        self.catalog = catalog or SchemaCatalog.load()
        self.confluent = confluent
        self.compiled = compiled
        self._writers: dict[str, Writer | None] = {}  # schema name -> generated writer (None: fastavro)

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        """Single-object-encode ``record`` with the current schema named ``name``.

        Raises :class:`SchemaError` naming the field when the record does not fit the schema.
        With ``confluent`` set, writes Confluent framing instead (registering the schema).
        """
        if self.confluent is not None:
            return self.confluent.encode(name, record)
        writer = self._writers[name] if name in self._writers else self._writer(name)
        if writer is not None:
            try:
                return writer(record)
            except WRITER_ERRORS:
                pass  # fastavro decides: it writes the record or raises the precise error
        return self.encode_with_fastavro(name, record)

    def _writer(self, name: str) -> Writer | None:
        """The generated writer of the current schema ``name`` (None: write with fastavro)."""
        writer: Writer | None = None
        if self.compiled:
            version = self.catalog.reader(name)
            try:
                writer = compile_writer(
                    version.parsed, SINGLE_OBJECT_MAGIC + version.fingerprint, strict=True
                )
            except UnsupportedSchema:
                writer = None
        self._writers[name] = writer
        return writer

    def encode_with_fastavro(self, name: str, record: dict[str, Any]) -> bytes:
        """:meth:`encode` in single-object encoding by fastavro's interpreting writer alone."""
        version = self.catalog.reader(name)
        buf = io.BytesIO()
        buf.write(SINGLE_OBJECT_MAGIC)
        buf.write(version.fingerprint)
        try:
            fastavro.schemaless_writer(buf, version.parsed, record, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise SchemaError(f"record does not fit {name}: {exc}") from exc
        return buf.getvalue()

    def decode(self, data: bytes | None) -> Decoded:
        """Decode single-object or Confluent-framed bytes into a dict shaped by the current reader schema."""
        if data is not None and data[:1] == CONFLUENT_MAGIC:
            if self.confluent is None:
                schema_id = int.from_bytes(data[1:5], "big")
                raise DecodeError(
                    f"Confluent-framed (registry schema id {schema_id}) but no schema registry is set"
                )
            return self.confluent.decode(data)
        if data is None or len(data) < HEADER_LEN or data[:2] != SINGLE_OBJECT_MAGIC:
            head = b"" if data is None else data[:4]
            raise DecodeError(f"not Avro single-object encoding (starts {head.hex() or 'empty'})")
        writer = self.catalog.by_fingerprint.get(data[2:HEADER_LEN])
        if writer is None:
            raise UnknownSchemaError(f"unknown schema fingerprint {data[2:HEADER_LEN].hex()}")
        reader = self.catalog.current.get(writer.name)
        if reader is None:
            raise UnknownSchemaError(f"no current schema for writer {writer.name}")
        return read_body(data, HEADER_LEN, writer, reader, self.compiled)


_READERS: dict[bytes, Reader | None] = {}  # schema fingerprint -> generated reader (None: fastavro)


def _reader_of(version: SchemaVersion) -> Reader | None:
    if version.fingerprint not in _READERS:
        try:
            _READERS[version.fingerprint] = compile_reader(version.parsed)
        except UnsupportedSchema:
            _READERS[version.fingerprint] = None
    return _READERS[version.fingerprint]


def read_body(
    data: bytes, header_len: int, writer: SchemaVersion, reader: SchemaVersion, compiled: bool = True
) -> Decoded:
    """Read the Avro body after a framing header, resolving ``writer`` into ``reader``.

    Shared by both framings so corrupt, truncated or over-long bodies fail the same way. With the
    same schema on both sides and ``compiled``, the generated reader reads it when it can.
    """
    fast = _reader_of(writer) if compiled and reader.fingerprint == writer.fingerprint else None
    if fast is not None:
        try:
            record, end = fast(data, header_len)
        except READER_ERRORS:
            pass  # fastavro decides: it reads the body or raises the precise error
        else:
            if end == len(data):
                return Decoded(writer.name, record, writer)
    body = io.BytesIO(data)
    body.seek(header_len)
    try:
        if reader.fingerprint == writer.fingerprint:
            record = fastavro.schemaless_reader(body, writer.parsed, None)
        else:
            record = fastavro.schemaless_reader(body, writer.parsed, reader.parsed)
    except (EOFError, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise DecodeError(f"corrupt {writer.name} body: {type(exc).__name__}: {exc}") from exc
    except fastavro.read.SchemaResolutionError as exc:
        raise DecodeError(f"cannot resolve {writer.name} writer into reader: {exc}") from exc
    if body.tell() != len(data):
        raise DecodeError(f"{len(data) - body.tell()} trailing bytes after a {writer.name} record")
    if not isinstance(record, dict):
        raise DecodeError(f"{writer.name} did not decode to a record")
    return Decoded(writer.name, record, writer)
