"""JSON forms of color sets and of tokens, decoded by the declared color set.

A token is decoded by the color set of the place it belongs to, never by a type
name found in the data, so a tampered or hostile document cannot choose what gets
constructed; a value that does not fit its color set is refused with a
:class:`~petriflow.errors.ColorError`, never silently replaced.
"""

from __future__ import annotations

import decimal
from typing import Any

from petriflow.errors import ColorError
from petriflow.net.colors import (
    BLACK,
    DOT,
    BlackColor,
    BoolColor,
    ColorSet,
    DecimalColor,
    EnumColor,
    IntColor,
    Record,
    RecordColor,
    StrColor,
    TupleColor,
)

MAX_DEPTH = 32


def color_to_json(color: ColorSet) -> dict[str, Any]:
    """A JSON-ready description of ``color``."""
    if isinstance(color, BlackColor):
        return {"kind": "black"}
    if isinstance(color, IntColor):
        return {"kind": "int", "low": color.low, "high": color.high}
    if isinstance(color, BoolColor):
        return {"kind": "bool"}
    if isinstance(color, StrColor):
        return {"kind": "str", "max_length": color.max_length, "min_length": color.min_length}
    if isinstance(color, DecimalColor):
        return {"kind": "decimal",
                "low": None if color.low is None else str(color.low),
                "high": None if color.high is None else str(color.high)}
    if isinstance(color, EnumColor):
        return {"kind": "enum", "name": color.name, "values": list(color.values)}
    if isinstance(color, TupleColor):
        return {"kind": "tuple", "items": [color_to_json(c) for c in color.items]}
    if isinstance(color, RecordColor):
        return {"kind": "record", "name": color.name,
                "fields": [[k, color_to_json(c)] for k, c in color.fields]}
    raise TypeError(f"unknown color set {color!r}")


def color_from_json(data: Any, depth: int = 0) -> ColorSet:
    """Read a color set written by :func:`color_to_json`; raises ``ColorError`` if malformed."""
    if depth > MAX_DEPTH:
        raise ColorError("color set nested too deeply")
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise ColorError(f"a color set must be an object with a 'kind', got {data!r}")
    kind = data["kind"]
    try:
        if kind == "black":
            return BLACK
        if kind == "int":
            return IntColor(_opt_int(data.get("low")), _opt_int(data.get("high")))
        if kind == "bool":
            return BoolColor()
        if kind == "str":
            return StrColor(_opt_int(data.get("max_length")), _opt_int(data.get("min_length")) or 0)
        if kind == "decimal":
            low, high = data.get("low"), data.get("high")
            return DecimalColor(None if low is None else decimal.Decimal(str(low)),
                                None if high is None else decimal.Decimal(str(high)))
        if kind == "enum":
            values = data.get("values")
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ColorError("an enum color set needs a list of string values")
            return EnumColor(tuple(values), str(data.get("name", "enum")))
        if kind == "tuple":
            items = data.get("items")
            if not isinstance(items, list):
                raise ColorError("a tuple color set needs a list of items")
            return TupleColor(tuple(color_from_json(i, depth + 1) for i in items))
        if kind == "record":
            fields = data.get("fields")
            if not isinstance(fields, list) or not all(
                isinstance(f, list) and len(f) == 2 and isinstance(f[0], str) for f in fields
            ):
                raise ColorError("a record color set needs a list of [name, color] fields")
            return RecordColor(tuple((f[0], color_from_json(f[1], depth + 1)) for f in fields),
                               str(data.get("name", "record")))
    except (decimal.InvalidOperation, TypeError, ValueError) as exc:
        raise ColorError(f"malformed color set {data!r}: {exc}") from None
    raise ColorError(f"unknown color set kind {kind!r}")


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise ColorError(f"expected an integer bound, got {value!r}")
    return value


def token_to_json(color: ColorSet, token: Any) -> Any:
    """The JSON form of ``token``, a value of ``color``."""
    if isinstance(color, BlackColor):
        return None
    if isinstance(color, DecimalColor):
        return str(token)
    if isinstance(color, TupleColor):
        return [token_to_json(c, v) for c, v in zip(color.items, token, strict=True)]
    if isinstance(color, RecordColor):
        return {k: token_to_json(c, token[k]) for k, c in color.fields}
    return token


def token_from_json(color: ColorSet, data: Any) -> Any:
    """Decode ``data`` as a value of ``color``; raises ``ColorError`` if it is not one."""
    if isinstance(color, BlackColor):
        if data is not None:
            raise ColorError(f"a black token is written as null, got {data!r}")
        return DOT
    if isinstance(color, DecimalColor):
        if type(data) not in (str, int):
            raise ColorError(f"a decimal is written as a string, got {data!r}")
        return color.validate(str(data) if type(data) is int else data)
    if isinstance(color, TupleColor):
        if not isinstance(data, list) or len(data) != len(color.items):
            raise ColorError(f"expected a list of {len(color.items)} items, got {data!r}")
        return tuple(token_from_json(c, v) for c, v in zip(color.items, data, strict=True))
    if isinstance(color, RecordColor):
        if not isinstance(data, dict):
            raise ColorError(f"expected an object for record {color}, got {data!r}")
        names = {k for k, _ in color.fields}
        if set(data) != names:
            raise ColorError(f"record {color} has fields {sorted(names)}, got {sorted(data)}")
        return Record({k: token_from_json(c, data[k]) for k, c in color.fields})
    return color.validate(data)


__all__ = ["color_from_json", "color_to_json", "token_from_json", "token_to_json"]
