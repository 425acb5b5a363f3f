"""Every pydantic model agrees with its ``.avsc``, found by walking both (no field is listed by hand).

The ``.avsc`` files are the contract and the models mirror them for validation; if someone changes
one and not the other, these tests name the field that drifted.
"""

from __future__ import annotations

import enum
import re
import types
import typing
import uuid
from typing import Annotated, Any

import pytest
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from schemas.catalog import SchemaCatalog
from schemas.compat.rules import Names, Node, collect_names, deref
from schemas.models import MODELS
from schemas.models.base import avro_value

CATALOG = SchemaCatalog.load()
NAMES: Names = {}
for _version in CATALOG.current.values():
    collect_names(_version.parsed, NAMES)

PRIMITIVES: dict[str, type] = {
    "string": str,
    "int": int,
    "long": int,
    "boolean": bool,
    "bytes": bytes,
    "float": float,
    "double": float,
}
LOGICAL: dict[tuple[str, str], type] = {
    ("string", "uuid"): uuid.UUID,
    ("long", "timestamp-millis"): AwareDatetime,  # aware: naive times must be refused
}


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _optional_inner(annotation: Any) -> Any | None:
    """``X`` for ``X | None``; None when the annotation is not optional."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if type(None) in args:
            rest = [a for a in args if a is not type(None)]
            assert len(rest) == 1, f"{annotation} is a union of several types; Avro mirrors need one"
            return rest[0]
    return None


def _short(full_name: str) -> str:
    return full_name.rpartition(".")[2]


def check_type(node: Node, annotation: Any, path: str) -> None:
    node, annotation = deref(node, NAMES), _strip(annotation)
    if isinstance(node, list):
        assert node[0] == "null", f"{path}: only [null, T] unions are mirrored"
        assert len(node) == 2, f"{path}: only [null, T] unions are mirrored"
        inner = _optional_inner(annotation)
        assert inner is not None, f"{path}: nullable in Avro but required in the model"
        check_type(node[1], inner, path)
        return
    assert _optional_inner(annotation) is None, f"{path}: optional in the model but not nullable in Avro"
    kind = node if isinstance(node, str) else node["type"]
    logical = node.get("logicalType") if isinstance(node, dict) else None
    if logical is not None:
        expected = LOGICAL.get((kind, logical))
        assert expected is not None, f"{path}: {kind}({logical}) has no mirror rule"
        assert annotation is expected, f"{path}: {kind}({logical}) vs {annotation}"
    elif kind in PRIMITIVES:
        assert annotation is PRIMITIVES[kind], f"{path}: {kind} vs {annotation}"
    elif kind == "enum":
        assert isinstance(annotation, type), path
        assert issubclass(annotation, enum.StrEnum), f"{path}: enum vs {annotation}"
        assert annotation.__name__ == _short(node["name"]), path
        assert [member.value for member in annotation] == node["symbols"], f"{path}: enum symbols"
        assert node.get("default") in node["symbols"], f"{path}: enum needs a default symbol"
    elif kind == "record":
        assert isinstance(annotation, type), path
        assert issubclass(annotation, BaseModel), f"{path}: record vs {annotation}"
        check_record(node, annotation, path)
    elif kind == "array":
        assert typing.get_origin(annotation) is list, f"{path}: array vs {annotation}"
        check_type(node["items"], typing.get_args(annotation)[0], f"{path}[]")
    elif kind == "map":
        assert typing.get_origin(annotation) is dict, f"{path}: map vs {annotation}"
        key, value = typing.get_args(annotation)
        assert key is str, path
        check_type(node["values"], value, f"{path}{{}}")
    else:
        pytest.fail(f"{path}: Avro type {kind} has no mirror rule")


def fill_defaults(node: Node, value: Any) -> Any:
    """An Avro default as readers see it: nested record fields left out take their own defaults."""
    node = deref(node, NAMES)
    if isinstance(node, list):  # a union's default belongs to its first branch
        return fill_defaults(node[0], value)
    if isinstance(node, dict) and node["type"] == "record":
        return {
            f["name"]: fill_defaults(f["type"], value[f["name"]] if f["name"] in value else f["default"])
            for f in node["fields"]
        }
    if isinstance(node, dict) and node["type"] == "array":
        return [fill_defaults(node["items"], item) for item in value]
    if isinstance(node, dict) and node["type"] == "map":
        return {key: fill_defaults(node["values"], item) for key, item in value.items()}
    return value


def check_default(field: dict[str, Any], info: FieldInfo, path: str) -> None:
    if "default" not in field:
        assert info.is_required(), f"{path}: required in Avro, has a default in the model"
        return
    assert not info.is_required(), f"{path}: has an Avro default, required in the model"
    default = info.get_default(call_default_factory=True)
    as_avro = avro_value(default.model_dump() if isinstance(default, BaseModel) else default)
    assert as_avro == fill_defaults(field["type"], field["default"]), f"{path}: default differs"


def check_record(node: dict[str, Any], model: type[BaseModel], path: str) -> None:
    assert model.__name__ == _short(node["name"]), f"{path}: {model.__name__} mirrors {node['name']}"
    avro_fields = [f["name"] for f in node["fields"]]
    assert avro_fields == list(model.model_fields), f"{path or model.__name__}: field names or order differ"
    for field in node["fields"]:
        info = model.model_fields[field["name"]]
        fpath = f"{path}.{field['name']}" if path else field["name"]
        check_type(field["type"], info.annotation, fpath)
        check_default(field, info, fpath)


def test_every_current_schema_has_a_model_and_no_model_lacks_a_schema() -> None:
    assert set(MODELS) == set(CATALOG.current)


@pytest.mark.parametrize("name", sorted(CATALOG.current))
def test_model_mirrors_schema_field_by_field(name: str) -> None:
    check_record(CATALOG.current[name].parsed, MODELS[name], "")


def _drifted(changes: dict[str, Any]) -> dict[str, Any]:
    schema = dict(CATALOG.current["io.omnijourney.Session"].parsed)
    schema["fields"] = [{**f, **changes.get(f["name"], {})} for f in schema["fields"]]
    return schema


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"closed": {"default": True}}, "default differs"),
        ({"journey_id": {"type": "string"}}, "optional in the model"),
        ({"event_count": {"type": "string"}}, "event_count: string vs"),
        ({"ended_at": {"type": {"type": "long", "logicalType": "timestamp-micros"}}}, "timestamp-micros"),
        ({"store_id": {"name": "shop_id"}}, "field names or order differ"),
    ],
)
def test_the_walker_notices_drift(changes: dict[str, Any], complaint: str) -> None:
    """The agreement test is only worth something if a drifted schema fails it."""
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        check_record(_drifted(changes), MODELS["io.omnijourney.Session"], "")
