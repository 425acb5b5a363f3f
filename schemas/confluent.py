"""Confluent wire framing and a small client for a Confluent-compatible schema registry.

When a schema registry is configured, every message is ``00`` + the writer schema's registry id
(4 bytes, big-endian) + the Avro body, so Confluent's own deserializers, Kafka Connect and ksqlDB
read what we write, and we read what they write. The id means nothing without the registry: the
client asks it once per id and per schema and caches the answers, since ids never change meaning.

Subjects follow Confluent's RecordNameStrategy: the subject is the record's full name
(``io.omnijourney.Touchpoint``), not ``<topic>-value``. One record type is written to many topics
(``touchpoints.<channel>``, one per channel team) and ``schemas/*.avsc`` is the one contract for
all of them, so one subject per record gives one compatibility history per contract, and encoding
needs only the record name, as :class:`~schemas.codec.Codec` does.

Decoding resolves the registry's writer schema into the catalog's current reader schema, exactly
as single-object decoding does, so records written with an older or newer compatible schema stay
readable.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Protocol

import fastavro
from fastavro.schema import expand_schema, to_parsing_canonical_form

from schemas.catalog import SchemaCatalog, SchemaVersion
from schemas.codec import Decoded, read_body
from schemas.errors import DecodeError, OmnijourneyError, SchemaError, UnknownSchemaError
from schemas.fingerprint import fingerprint_bytes

CONFLUENT_MAGIC = b"\x00"
CONFLUENT_HEADER_LEN = 5  # magic byte + 4-byte schema id
_MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
_SUBJECT_NOT_FOUND = 40401
_SCHEMA_NOT_FOUND = 40403


class RegistryError(OmnijourneyError):
    """The registry could not be reached or refused a request for a reason other than the schema.

    Never a :class:`DecodeError`: a registry outage must stop or retry a consumer, not send good
    records to dead letters. ``retryable`` is true for outages and 5xx answers.
    """

    def __init__(
        self, message: str, *, status: int | None = None, error_code: int | None = None, retryable: bool
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.retryable = retryable


class SchemaIds(Protocol):
    """What framing needs from a registry: an id for a schema, and the schema behind an id."""

    def id_for(self, subject: str, schema: str) -> int:
        """The id of ``schema`` (Avro JSON) under ``subject``, registering it if allowed."""
        ...

    def schema_for(self, schema_id: int) -> str:
        """The Avro JSON registered under ``schema_id``; :class:`UnknownSchemaError` if none."""
        ...


class RegistryClient:
    """A Confluent schema-registry REST client over urllib, with answers cached for the process.

    ``url`` is the API root: ``http://host:8081`` for Confluent, ``.../apis/ccompat/v7`` for
    Apicurio. With ``auto_register`` off, :meth:`id_for` only looks schemas up, for registries
    where a governance process, not producers, registers schemas.
    """

    def __init__(
        self,
        url: str,
        *,
        auto_register: bool = True,
        timeout: float = 10.0,
        basic_auth: tuple[str, str] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.auto_register = auto_register
        self.timeout = timeout
        self._auth = (
            "Basic " + base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
            if basic_auth
            else None
        )
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never shows credentials
        return f"RegistryClient({self.url!r}, auto_register={self.auto_register})"

    def id_for(self, subject: str, schema: str) -> int:
        key = (subject, schema)
        with self._lock:
            cached = self._ids.get(key)
        if cached is not None:
            return cached
        schema_id = self.register(subject, schema) if self.auto_register else self.lookup(subject, schema)
        with self._lock:
            self._ids[key] = schema_id
            self._schemas.setdefault(schema_id, schema)
        return schema_id

    def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` under ``subject`` (idempotent) and return its id.

        Raises :class:`SchemaError` when the registry rejects the schema, e.g. as incompatible.
        """
        answer = self._call("POST", f"/subjects/{_quote(subject)}/versions", {"schema": schema}, subject)
        return _schema_id(answer, subject)

    def lookup(self, subject: str, schema: str) -> int:
        """The id of ``schema`` already registered under ``subject``; :class:`SchemaError` if not."""
        answer = self._call("POST", f"/subjects/{_quote(subject)}", {"schema": schema}, subject)
        return _schema_id(answer, subject)

    def schema_for(self, schema_id: int) -> str:
        with self._lock:
            cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        answer = self._call("GET", f"/schemas/ids/{schema_id}", None, None)
        kind = answer.get("schemaType", "AVRO")
        if kind != "AVRO":
            raise UnknownSchemaError(f"registry schema id {schema_id} is {kind}, not Avro")
        if answer.get("references"):
            raise UnknownSchemaError(f"registry schema id {schema_id} uses schema references (unsupported)")
        schema = answer.get("schema")
        if not isinstance(schema, str):
            raise RegistryError(f"registry answered id {schema_id} without a schema", retryable=False)
        with self._lock:
            self._schemas[schema_id] = schema
        return schema

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, subject: str | None
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", _MEDIA_TYPE)
        if data is not None:
            request.add_header("Content-Type", _MEDIA_TYPE)
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            raise _refusal(exc, method, path, subject) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RegistryError(f"schema registry {self.url} unreachable: {exc}", retryable=True) from exc
        except ValueError as exc:
            raise RegistryError(
                f"{method} {path}: registry answered non-JSON: {exc}", retryable=True
            ) from exc
        if not isinstance(answer, dict):
            raise RegistryError(
                f"{method} {path}: unexpected registry answer {answer!r:.200}", retryable=False
            )
        return answer


def _quote(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")


def _schema_id(answer: dict[str, Any], subject: str) -> int:
    schema_id = answer.get("id")
    if not isinstance(schema_id, int) or not 0 <= schema_id < 2**31:
        raise RegistryError(f"registry gave subject {subject} no usable id: {answer!r:.200}", retryable=False)
    return schema_id


def _refusal(exc: urllib.error.HTTPError, method: str, path: str, subject: str | None) -> OmnijourneyError:
    """Turn an HTTP error into the error the caller can act on, with the registry's own words."""
    try:
        detail = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        detail = {}
    code = detail.get("error_code") if isinstance(detail, dict) else None
    message = (detail.get("message") if isinstance(detail, dict) else None) or exc.reason
    what = f"{method} {path}: {exc.code} {message}"
    if subject is None and exc.code == 404:
        return UnknownSchemaError(f"unknown registry schema id ({what})")
    if subject is not None and exc.code == 404 and code in (_SUBJECT_NOT_FOUND, _SCHEMA_NOT_FOUND, None):
        return SchemaError(
            f"schema not registered under subject {subject} and auto-registration is off ({what})"
        )
    if subject is not None and exc.code in (409, 422):
        return SchemaError(f"registry rejected the schema for subject {subject} ({what})")
    return RegistryError(what, status=exc.code, error_code=code, retryable=exc.code >= 500 or exc.code == 429)


def standalone_schema(version: SchemaVersion) -> str:
    """The schema as one self-contained Avro JSON document, the form a registry stores.

    Unlike the Parsing Canonical Form it keeps docs, defaults and logical types, so a Confluent
    deserializer reading with it gets datetimes and UUIDs back. Named types that the ``.avsc``
    takes from sibling files are inlined where first used and referenced by name afterwards.
    """
    expanded = _without_internal_keys(expand_schema(version.parsed))
    document = _define_once(expanded, set(), "")
    # Sorted keys: fastavro's key order varies between processes, and a registry that sees new text
    # for the same schema may store a new version under a new id every time a producer starts.
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    check = to_parsing_canonical_form(fastavro.parse_schema(json.loads(text), expand=True))
    if check != version.canonical:  # would be a bug here, not in the schema: never register it
        raise SchemaError(f"self-contained form of {version.name} does not match its canonical form")
    return text


def _full_name(raw: dict[str, Any]) -> str:
    name = str(raw["name"])
    namespace = raw.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _without_internal_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_internal_keys(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [_without_internal_keys(v) for v in node]
    return node


def _define_once(node: Any, defined: set[str], namespace: str) -> Any:
    """Walk a schema in Avro definition order; a named type seen before becomes its full name."""
    if isinstance(node, list):
        return [_define_once(branch, defined, namespace) for branch in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind in ("record", "error", "enum", "fixed"):
        name = str(node["name"])
        full = name if "." in name else f"{node.get('namespace', namespace)}.{name}".lstrip(".")
        if full in defined:
            return full
        defined.add(full)
        if kind in ("enum", "fixed"):
            return node
        inner = full.rpartition(".")[0]
        fields = [{**f, "type": _define_once(f["type"], defined, inner)} for f in node["fields"]]
        return {**node, "fields": fields}
    if kind == "array":
        return {**node, "items": _define_once(node["items"], defined, namespace)}
    if kind == "map":
        return {**node, "values": _define_once(node["values"], defined, namespace)}
    if isinstance(kind, dict | list):
        return {**node, "type": _define_once(kind, defined, namespace)}
    return node


class ConfluentFraming:
    """Encode with Confluent framing (registering schemas) and decode it into current schemas."""

    def __init__(self, ids: SchemaIds, catalog: SchemaCatalog | None = None) -> None:
        self.ids = ids
        self.catalog = catalog or SchemaCatalog.load()
        self._writers: dict[int, SchemaVersion] = {}
        self._ids_by_fingerprint: dict[str, int] = {}
        self._lock = threading.Lock()

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        """Frame ``record`` written with the current schema ``name``; its subject is ``name``.

        Raises :class:`SchemaError` when the record does not fit the schema or the registry
        rejects the schema, :class:`RegistryError` when the registry cannot be reached.
        """
        version = self.catalog.reader(name)
        schema_id = self.schema_id(version)
        buf = io.BytesIO()
        buf.write(CONFLUENT_MAGIC)
        buf.write(schema_id.to_bytes(4, "big"))
        try:
            fastavro.schemaless_writer(buf, version.parsed, record, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise SchemaError(f"record does not fit {name}: {exc}") from exc
        return buf.getvalue()

    def schema_id(self, version: SchemaVersion) -> int:
        """The registry id of a catalog version, registered (or looked up) once per process."""
        with self._lock:
            known = self._ids_by_fingerprint.get(version.fingerprint_hex)
        if known is None:
            known = self.ids.id_for(version.name, standalone_schema(version))
            with self._lock:
                self._ids_by_fingerprint[version.fingerprint_hex] = known
        return known

    def decode(self, data: bytes | None) -> Decoded:
        """Decode Confluent-framed bytes into a dict shaped by the current reader schema."""
        if data is None or len(data) < CONFLUENT_HEADER_LEN or data[:1] != CONFLUENT_MAGIC:
            head = b"" if data is None else data[:5]
            raise DecodeError(f"not Confluent-framed Avro (starts {head.hex() or 'empty'})")
        schema_id = int.from_bytes(data[1:CONFLUENT_HEADER_LEN], "big")
        writer = self.writer(schema_id)
        reader = self.catalog.current.get(writer.name)
        if reader is None:
            raise UnknownSchemaError(f"no current schema for writer {writer.name} (registry id {schema_id})")
        return read_body(data, CONFLUENT_HEADER_LEN, writer, reader)

    def writer(self, schema_id: int) -> SchemaVersion:
        """The writer schema behind a registry id: the catalog's version when it knows the schema."""
        with self._lock:
            known = self._writers.get(schema_id)
        if known is not None:
            return known
        text = self.ids.schema_for(schema_id)
        try:
            raw = json.loads(text)
            parsed = fastavro.parse_schema(json.loads(text))
            canonical = to_parsing_canonical_form(fastavro.parse_schema(json.loads(text), expand=True))
        except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
            raise UnknownSchemaError(
                f"registry schema id {schema_id} is not a usable Avro schema: {exc}"
            ) from exc
        if not isinstance(raw, dict) or raw.get("type") not in ("record", "error"):
            raise UnknownSchemaError(f"registry schema id {schema_id} is not an Avro record")
        fingerprint = fingerprint_bytes(canonical)
        version = self.catalog.by_fingerprint.get(fingerprint) or SchemaVersion(
            name=_full_name(raw),
            raw=raw,
            parsed=parsed,
            canonical=canonical,
            fingerprint=fingerprint,
            source=Path(f"schema-registry/ids/{schema_id}"),
        )
        with self._lock:
            self._writers[schema_id] = version
        return version
