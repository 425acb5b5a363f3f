"""How the registry client turns a registry's refusals into errors a caller can act on.

A consumer dead-letters a record on a DecodeError but must stop or retry when the registry is down,
so which family an HTTP answer maps to is the behaviour that matters; it is checked here on the
answers Confluent's API documents, without a network. Real answers: tests/integration.
"""

from __future__ import annotations

import io
import urllib.error
from email.message import Message

import pytest

from schemas.confluent import RegistryClient, RegistryError, _refusal
from schemas.errors import DecodeError, SchemaError, UnknownSchemaError


def http_error(status: int, body: bytes) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("http://registry/x", status, "reason", Message(), io.BytesIO(body))


def test_unknown_id_is_an_unknown_schema_error() -> None:
    error = _refusal(
        http_error(404, b'{"error_code":40403,"message":"Schema 7 not found"}'), "GET", "/schemas/ids/7", None
    )
    assert isinstance(error, UnknownSchemaError)
    assert "Schema 7 not found" in str(error)


@pytest.mark.parametrize("code", [40401, 40403])
def test_lookup_of_an_unregistered_schema_is_a_schema_error(code: int) -> None:
    body = f'{{"error_code":{code},"message":"nope"}}'.encode()
    error = _refusal(http_error(404, body), "POST", "/subjects/s", "s")
    assert isinstance(error, SchemaError)
    assert "auto-registration is off" in str(error)


@pytest.mark.parametrize("status", [409, 422])
def test_rejected_schema_is_a_schema_error(status: int) -> None:
    body = b'{"error_code":409,"message":"incompatible with an earlier schema"}'
    error = _refusal(http_error(status, body), "POST", "/subjects/s/versions", "s")
    assert isinstance(error, SchemaError)
    assert "incompatible with an earlier schema" in str(error)


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (401, False)])
def test_server_and_auth_failures_are_registry_errors_not_decode_errors(status: int, retryable: bool) -> None:
    error = _refusal(http_error(status, b"<html>not json</html>"), "GET", "/schemas/ids/1", None)
    assert isinstance(error, RegistryError)
    assert not isinstance(error, DecodeError)
    assert error.retryable is retryable
    assert error.status == status


def test_credentials_never_show_in_repr() -> None:
    client = RegistryClient("https://registry.example/", basic_auth=("svc", "s3cret-value"))
    assert "s3cret-value" not in repr(client)
    assert client.url == "https://registry.example"
