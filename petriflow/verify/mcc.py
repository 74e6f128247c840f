"""Read reachability properties in the Model Checking Contest's XML format.

Supported: ``exists-path/finally`` (EF) and ``all-paths/globally`` (AG) around state
formulas made of ``integer-le``/``-ge``/``-eq``/``-lt``/``-gt`` (and ``-ne``) over
``tokens-count`` and ``integer-constant``, ``is-fireable``, ``deadlock``, ``true``,
``false``, ``negation``, ``conjunction`` and ``disjunction``. Anything else (CTL or
LTL nesting, other categories) is reported as unsupported, naming the property, so a
caller can answer ``unknown`` rather than guess. Parsed with :mod:`defusedxml`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import defusedxml
import defusedxml.ElementTree as SafeET

from petriflow.errors import ModelError, Problem
from petriflow.verify.formulas import (
    AG,
    EF,
    And,
    BoolConst,
    Compare,
    Deadlock,
    Fireable,
    IntConst,
    IntExpr,
    NamedFormula,
    Not,
    Or,
    StateFormula,
    TokenSum,
)

if TYPE_CHECKING:  # only for annotations; parsing goes through defusedxml
    from xml.etree.ElementTree import Element

_COMPARE = {"integer-le": "<=", "integer-ge": ">=", "integer-eq": "==", "integer-lt": "<",
            "integer-gt": ">", "integer-ne": "!="}


class UnsupportedFormula(ValueError):
    pass


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(e: Element) -> list[Element]:
    return list(e)


def _int(e: Element, names: dict[str, set[str]]) -> IntExpr:
    tag = _local(e.tag)
    if tag == "integer-constant":
        try:
            return IntConst(int((e.text or "").strip()))
        except ValueError:
            raise UnsupportedFormula(f"bad integer constant {e.text!r}") from None
    if tag == "tokens-count":
        places = tuple((c.text or "").strip() for c in e if _local(c.tag) == "place")
        unknown = [p for p in places if p not in names["places"]]
        if unknown:
            raise UnsupportedFormula(f"unknown place(s) {', '.join(unknown[:3])}")
        return TokenSum(places)
    raise UnsupportedFormula(f"<{tag}> is not an integer expression")


def _state(e: Element, names: dict[str, set[str]]) -> StateFormula:
    tag = _local(e.tag)
    kids = _children(e)
    if tag in _COMPARE:
        if len(kids) != 2:
            raise UnsupportedFormula(f"<{tag}> needs two operands")
        return Compare(_COMPARE[tag], _int(kids[0], names), _int(kids[1], names))
    if tag == "negation":
        return Not(_state(kids[0], names))
    if tag == "conjunction":
        return And(tuple(_state(k, names) for k in kids))
    if tag == "disjunction":
        return Or(tuple(_state(k, names) for k in kids))
    if tag == "deadlock":
        return Deadlock()
    if tag == "true":
        return BoolConst(True)
    if tag == "false":
        return BoolConst(False)
    if tag == "is-fireable":
        ts = tuple((c.text or "").strip() for c in e if _local(c.tag) == "transition")
        unknown = [t for t in ts if t not in names["transitions"]]
        if unknown:
            raise UnsupportedFormula(f"unknown transition(s) {', '.join(unknown[:3])}")
        return Fireable(ts)
    raise UnsupportedFormula(f"<{tag}> is not supported in a state formula")


def _temporal(e: Element, names: dict[str, set[str]]) -> EF | AG:
    tag = _local(e.tag)
    kids = _children(e)
    if len(kids) != 1:
        raise UnsupportedFormula(f"<{tag}> needs one operand")
    inner = kids[0]
    if tag == "exists-path" and _local(inner.tag) == "finally":
        return EF(_state(_children(inner)[0], names))
    if tag == "all-paths" and _local(inner.tag) == "globally":
        return AG(_state(_children(inner)[0], names))
    raise UnsupportedFormula(f"<{tag}><{_local(inner.tag)}> is not a reachability formula")


def read_properties(data: bytes | str, *, places: set[str], transitions: set[str],
                    file: str | None = None
                    ) -> list[NamedFormula | tuple[str, str]]:
    """Every property of the document: a :class:`NamedFormula`, or ``(id, reason)`` for a
    property petriflow cannot read (unsupported operators, unknown places)."""
    try:
        root = SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise ModelError(Problem(f"refused unsafe XML ({type(exc).__name__})", file=file)) from None
    except SafeET.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise ModelError(Problem(f"not well-formed XML: {exc}", file=file, line=line,
                                 column=column)) from None
    if _local(root.tag) != "property-set":
        raise ModelError(Problem(f"the root element is <{_local(root.tag)}>, not <property-set>",
                                 file=file, hint="is this an MCC property file?"))
    names = {"places": places, "transitions": transitions}
    out: list[NamedFormula | tuple[str, str]] = []
    for i, prop in enumerate(e for e in root if _local(e.tag) == "property"):
        pid = next(((c.text or "").strip() for c in prop if _local(c.tag) == "id"), f"#{i + 1}")
        desc = next(((c.text or "").strip() for c in prop if _local(c.tag) == "description"), "")
        formula = next((c for c in prop if _local(c.tag) == "formula"), None)
        if formula is None or len(formula) != 1:
            out.append((pid, "the property has no single formula"))
            continue
        try:
            out.append(NamedFormula(pid, _temporal(formula[0], names), desc))
        except (UnsupportedFormula, IndexError, RecursionError) as exc:
            out.append((pid, f"unsupported formula: {exc}"))
    return out


__all__ = ["read_properties"]
