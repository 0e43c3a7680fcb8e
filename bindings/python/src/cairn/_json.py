"""How Python values become the JSON text that crosses the FFI.

The common case goes through the C ``json`` encoder at full speed. When it
refuses a value, the structure is walked again to find *which* one, so the
error names its key path (``properties.cart[2].price``) instead of only its
type. Besides JSON's own types, datetimes/dates/times (ISO-8601 text),
UUIDs, Decimals (numbers), enums (their value), sets and tuples (lists) are
accepted. Keys must be strings (``json``'s silent conversion of int, float,
bool and None keys is kept, as every Python JSON user expects).
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import enum as _enum
import json as _json
import math as _math
import re as _re
import uuid as _uuid
from typing import Any, Mapping

MAX_DEPTH = 64
_PLAIN_KEY = _re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*\Z")
_SCALARS = (str, int, float, bool, type(None))


class EncodingError(ValueError):
    """A value JSON cannot carry; ``path`` names it, ``reason`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _uuid.UUID):
        return str(value)
    if isinstance(value, _decimal.Decimal):
        if not value.is_finite():
            raise ValueError("non-finite Decimal")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, _enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)


_ENCODER = _json.JSONEncoder(
    allow_nan=False, ensure_ascii=False, separators=(",", ":"), default=_default, check_circular=True
)


def encode(root: str, value: Mapping[str, Any] | None) -> str:
    """JSON text of ``value`` (a mapping), or ``""`` for ``None`` or an empty
    mapping. ``root`` names it in errors (``properties``, ``traits``)."""
    # A plain dict, the common case, skips the Mapping ABC checks (slow isinstance).
    if type(value) is not dict:
        if value is None or (isinstance(value, Mapping) and not value):
            return ""
        if not isinstance(value, Mapping):
            raise EncodingError(root, f"must be a dict like {{'plan': 'pro'}}, got {type(value).__name__}")
    elif not value:
        return ""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError) as e:
        problem = _locate(value, root, set(), 0)
        if problem is None:  # pragma: no cover - the walk mirrors the encoder
            raise EncodingError(root, f"cannot be encoded as JSON ({e})") from e
        raise problem from e


def _child(path: str, key: Any) -> str:
    if isinstance(key, str) and _PLAIN_KEY.match(key):
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def _locate(value: Any, path: str, parents: set[int], depth: int) -> EncodingError | None:
    """The first value under ``value`` that the encoder refuses, as an error naming its path."""
    if isinstance(value, float):
        if _math.isnan(value) or _math.isinf(value):
            return EncodingError(path, f"{value} is not a JSON number: send None or a string instead")
        return None
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, _decimal.Decimal) and not value.is_finite():
        return EncodingError(path, f"Decimal {value} is not a JSON number: send None or a string instead")
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if id(value) in parents:
            return EncodingError(path, "contains itself (a circular reference)")
        if depth >= MAX_DEPTH:
            return EncodingError(path, f"is nested more than {MAX_DEPTH} levels deep")
        parents = parents | {id(value)}
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, _SCALARS) or isinstance(key, float) and not _math.isfinite(key):
                    return EncodingError(path, f"has key {key!r} of type {type(key).__name__}: JSON object keys must be strings")
                found = _locate(item, _child(path, key), parents, depth + 1)
                if found:
                    return found
        else:
            for i, item in enumerate(value):
                found = _locate(item, f"{path}[{i}]", parents, depth + 1)
                if found:
                    return found
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return EncodingError(path, "binary data cannot be sent as JSON: encode it as Base64 text first")
    try:
        _default(value)
    except (TypeError, ValueError):
        return EncodingError(
            path,
            f"a {type(value).__module__}.{type(value).__qualname__} cannot be encoded as JSON: pass a str, number, "
            "bool, None, dict, list, datetime, UUID, Decimal or Enum (convert the value first, e.g. with str())",
        )
    return None
