"""Build typed dataclasses from untrusted JSON/TOML data, checking every value against the type hints.

Reports, answer files and probe output come from files and programs we do not control; a wrong type
must become one readable sentence naming the field ("gpus[0].compute_capability: expected a string
like '8.9', got 8.9"), never a crash deep in the planner. Stdlib only, so the frozen app stays small.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from typing import Any, TypeVar, Union

T = TypeVar("T")

# A dataclass may declare `FORMATS: ClassVar[dict[str, tuple[str, str]]]`: field name → (regular
# expression the whole string must match, an example shown in the error). It guards strings that the
# planner later parses as numbers (compute capabilities, versions).
FORMATS_ATTR = "FORMATS"


class SchemaError(ValueError):
    """A value of the wrong type or shape; `where` is the path to it ("gpus[0].compute_capability")."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


def build(cls: type[T], data: Any, where: str = "") -> T:
    """A `cls` dataclass from `data` (parsed JSON), every field checked. Unknown keys are ignored
    (newer writers may add keys); missing keys take the field's default, or fail when it has none."""
    return typing.cast(T, _check(cls, data, where))


def _hints(cls: type) -> dict[str, Any]:
    # Our modules use `from __future__ import annotations`, so hints are strings until resolved.
    return typing.get_type_hints(cls)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _check(tp: Any, value: Any, where: str) -> Any:
    if tp is Any:
        return value
    if tp is type(None):
        if value is not None:
            raise SchemaError(where, f"expected null, got {_shown(value)}")
        return None
    origin = typing.get_origin(tp)
    if origin is Union or isinstance(tp, types.UnionType):
        return _check_union(tp, value, where)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _check_dataclass(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise SchemaError(where, f"expected a list, got {_shown(value)}")
        (item,) = typing.get_args(tp) or (Any,)
        return [_check(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise SchemaError(where, f"expected an object, got {_shown(value)}")
        _key, val = typing.get_args(tp) or (str, Any)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SchemaError(where, f"expected string keys, got {_shown(k)}")
            out[k] = _check(val, v, _join(where, k))
        return out
    if tp is bool:
        if not isinstance(value, bool):
            raise SchemaError(where, f"expected true or false, got {_shown(value)}")
        return value
    if tp is int:
        # bool is an int in Python but never a count or a size in our data.
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaError(where, f"expected a whole number, got {_shown(value)}")
        return value
    if tp is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise SchemaError(where, f"expected a number, got {_shown(value)}")
        return float(value)  # 2 and 2.0 are the same number in JSON; nothing is lost
    if tp is str:
        if not isinstance(value, str):
            raise SchemaError(where, f"expected a string, got {_shown(value)}")
        return value
    raise TypeError(f"schema: no rule for the type {tp!r} at {where}")  # a bug in our dataclasses


def _check_union(tp: Any, value: Any, where: str) -> Any:
    options = typing.get_args(tp)
    if value is None and type(None) in options:
        return None
    first_error: SchemaError | None = None
    for option in options:
        if option is type(None):
            continue
        try:
            return _check(option, value, where)
        except SchemaError as exc:
            first_error = first_error or exc
    if first_error is None:  # only NoneType was allowed
        raise SchemaError(where, f"expected null, got {_shown(value)}")
    if type(None) in options and first_error.where == where:
        raise SchemaError(where, f"{first_error.message.replace('expected ', 'expected null or ', 1)}")
    raise first_error


def _check_dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise SchemaError(where, f"expected an object, got {_shown(value)}")
    hints = _hints(cls)
    formats: dict[str, tuple[str, str]] = getattr(cls, FORMATS_ATTR, {})
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        at = _join(where, f.name)
        if f.name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SchemaError(at, "is missing")
            continue
        raw = value[f.name]
        if raw is None and f.default_factory is not dataclasses.MISSING and not _admits_none(hints[f.name]):
            continue  # a null list or section reads as an empty one: older writers wrote `"gpus": null`
        if f.name in formats and raw is not None:
            pattern, example = formats[f.name]
            if not isinstance(raw, str) or not re.fullmatch(pattern, raw):
                raise SchemaError(at, f"expected a string like {example}, got {_shown(raw)}")
        kwargs[f.name] = _check(hints[f.name], raw, at)
    return cls(**kwargs)


def _admits_none(tp: Any) -> bool:
    return tp is Any or type(None) in typing.get_args(tp)


def _shown(value: Any) -> str:
    """A value as the user wrote it in JSON, short; containers by kind (they may be huge or deep)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (str, int, float, bool)) or value is None \
        else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
