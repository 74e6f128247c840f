"""Conditions of sequence flows: FEEL (Camunda 8), JUEL (Camunda 7) or our own language.

Every condition is translated to petriflow's expression language (a safe subset of
Python syntax, :mod:`petriflow.net.expr`) and parsed by it; nothing is evaluated here.

* FEEL, when the text starts with ``=`` or the expression's ``language`` names FEEL: the
  subset ``=`` / ``!=`` / ``<`` / ``<=`` / ``>`` / ``>=``, ``and``, ``or``, ``not(...)``,
  double-quoted strings, numbers, ``true``/``false``, arithmetic and parentheses.
* JUEL, when the text is wrapped in ``${...}`` or ``#{...}``: ``==`` ``!=`` ``eq`` ``ne``
  ``lt`` ``gt`` ``le`` ``ge``, ``&&`` ``||`` ``!`` ``and`` ``or`` ``not``, quoted strings,
  numbers, ``true``/``false``.
* otherwise the text is petriflow's own expression language.

Anything else (FEEL's ``some``/``every``, lists, paths, function calls, JUEL method calls,
``null``, other languages such as XPath) is reported as unsupported with the flow's id.
"""

from __future__ import annotations

import re
from decimal import Decimal

from petriflow.errors import ExpressionError, Problem
from petriflow.net.expr import (
    Arith,
    BoolOp,
    Call,
    Compare,
    Const,
    Expr,
    IfElse,
    In,
    Neg,
    Not,
    Var,
    parse,
)

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.|<=|>=|!=|==|&&|\|\||[=<>()!+\-*/,.\[\]{}?:])
""", re.VERBOSE)

_FEEL_UNSUPPORTED = {"some", "every", "satisfies", "for", "if", "then", "else", "between",
                     "instance", "of", "return", "function", "in", "null"}
_JUEL_WORDS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
               "and": "and", "or": "or", "true": "True", "false": "False"}
FEEL_LANGUAGE = re.compile(r"feel", re.IGNORECASE)


class Unsupported(Exception):
    """The condition uses a construct that has no translation."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise Unsupported(f"cannot read {text[pos:pos + 10]!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((str(m.lastgroup), m.group()))
    return out


def _string(token: str) -> str:
    body = token[1:-1]
    if "\\" in body:
        raise Unsupported("escapes in strings are not supported")
    return repr(body)


def feel_to_expr(text: str) -> str:
    """Our expression text for a FEEL condition (without its leading ``=``)."""
    toks = _tokens(text)
    out: list[str] = []
    parens: list[bool] = []  # per open parenthesis: does it close a not(...)?
    for i, (kind, tok) in enumerate(toks):
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        prev = toks[i - 1][1] if i else ""
        if kind == "str":
            out.append(_string(tok))
        elif kind == "num":
            out.append(tok)
        elif kind == "name":
            if tok in _FEEL_UNSUPPORTED:
                raise Unsupported(f"the FEEL keyword '{tok}'")
            if tok == "not":
                if nxt != "(":
                    raise Unsupported("'not' without parentheses")
                out.append("(not")
            elif tok in ("and", "or"):
                out.append(tok)
            elif tok in ("true", "false"):
                out.append(tok.capitalize())
            elif nxt == "(":
                raise Unsupported(f"the FEEL function '{tok}'")
            else:
                out.append(tok)
        elif tok == "=":
            out.append("==")
        elif tok == "(":
            parens.append(prev == "not")
            out.append(tok)
        elif tok == ")":
            if not parens:
                raise Unsupported("unbalanced parentheses")
            out.append("))" if parens.pop() else ")")
        elif tok in ("!=", "<", "<=", ">", ">=", "+", "-", "*", "/"):
            out.append(tok)
        else:
            raise Unsupported(f"'{tok}' in FEEL")
    return " ".join(out)


def juel_to_expr(text: str) -> str:
    """Our expression text for the inside of a JUEL ``${...}`` condition."""
    toks = _tokens(text)
    out: list[str] = []
    parens: list[bool] = []  # per open parenthesis: does it close a negation?
    negate_name = False
    for i, (kind, tok) in enumerate(toks):
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        prev = toks[i - 1][1] if i else ""
        if tok in ("!", "not"):  # JUEL's '!' binds tighter than comparisons: keep it so
            if nxt == "(":
                out.append("(not")
            elif i + 1 < len(toks) and toks[i + 1][0] == "name":
                out.append("(not")
                negate_name = True
            else:
                raise Unsupported("'!' before anything but a name or parentheses")
            continue
        if kind == "str":
            out.append(_string(tok))
        elif kind == "num":
            out.append(tok)
        elif kind == "name":
            if nxt in ("(", "."):
                raise Unsupported(f"method calls and properties ('{tok}{nxt}')")
            if negate_name:
                out.append(_JUEL_WORDS.get(tok, tok) + ")")
                negate_name = False
            elif tok in _JUEL_WORDS:
                out.append(_JUEL_WORDS[tok])
            elif tok in ("null", "empty", "instanceof", "div", "mod"):
                raise Unsupported(f"the JUEL operator '{tok}'")
            else:
                out.append(tok)
        elif tok in ("&&", "||"):
            out.append({"&&": "and", "||": "or"}[tok])
        elif tok == "(":
            parens.append(prev in ("!", "not"))
            out.append(tok)
        elif tok == ")":
            if not parens:
                raise Unsupported("unbalanced parentheses")
            out.append("))" if parens.pop() else ")")
        elif tok in ("==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"):
            out.append(tok)
        else:
            raise Unsupported(f"'{tok}' in JUEL")
    return " ".join(out)


def translate(text: str, language: str | None) -> tuple[str, str]:
    """``(expression text, dialect)`` for a condition; raises :class:`Unsupported`."""
    body = text.strip()
    juel = re.fullmatch(r"[$#]\{(.*)\}", body, re.DOTALL)
    if juel:
        return juel_to_expr(juel.group(1)), "JUEL"
    if body.startswith("="):
        return feel_to_expr(body[1:]), "FEEL"
    if language and FEEL_LANGUAGE.search(language):
        return feel_to_expr(body), "FEEL"
    if language and "petriflow" not in language.lower():
        raise Unsupported(f"the expression language {language!r}")
    return body, "petriflow"


def parse_condition(text: str, language: str | None, *, file: str | None, line: int,
                    element: str) -> tuple[str, Expr]:
    """Translate and parse; raises ExpressionError naming the element."""
    try:
        expr_text, dialect = translate(text, language)
    except Unsupported as exc:
        raise ExpressionError(Problem(f"condition {text.strip()!r} is not supported: {exc}",
                                      file=file, line=line, element=element,
                                      hint="write it in the FEEL subset or in petriflow's "
                                      "expression language (models/BPMN.md)")) from None
    try:
        return expr_text, parse(expr_text, file=file, line=line, element=element)
    except ExpressionError as exc:
        p = exc.problems[0]
        raise ExpressionError(Problem(f"{dialect} condition {text.strip()!r}: {p.message}",
                                      file=file, line=line, element=element, hint=p.hint)
                              ) from None


def _kind_of_const(value: object) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | Decimal):
        return "decimal"
    if isinstance(value, str):
        return "str"
    return None


def infer_types(expr: Expr, out: dict[str, set[str]]) -> None:
    """Add to ``out`` the types that the uses of each bare name in a condition suggest:
    compared with a string -> str, with a number or in arithmetic -> decimal, used as a
    truth value or compared with true/false -> bool."""

    def truth(e: Expr) -> None:
        if isinstance(e, Var):
            out.setdefault(e.name, set()).add("bool")
        else:
            walk(e)

    def walk(e: Expr) -> None:
        if isinstance(e, Var):
            out.setdefault(e.name, set())
        elif isinstance(e, Not):
            truth(e.operand)
        elif isinstance(e, BoolOp):
            for o in e.operands:
                truth(o)
        elif isinstance(e, Compare):
            for a, b in ((e.left, e.right), (e.right, e.left)):
                if isinstance(a, Var) and isinstance(b, Const):
                    kind = _kind_of_const(b.value)
                    out.setdefault(a.name, set()).update([kind] if kind else [])
                elif isinstance(a, Var) and isinstance(b, Arith | Neg):
                    out.setdefault(a.name, set()).add("decimal")
                walk(b)
        elif isinstance(e, In):
            if isinstance(e.item, Var):
                kinds = {_kind_of_const(o.value) for o in e.options} - {None}
                out.setdefault(e.item.name, set()).update(kinds)  # type: ignore[arg-type]
            else:
                walk(e.item)
        elif isinstance(e, Arith):
            for side in (e.left, e.right):
                if isinstance(side, Var):
                    out.setdefault(side.name, set()).add("decimal")
                else:
                    walk(side)
        elif isinstance(e, Neg):
            if isinstance(e.operand, Var):
                out.setdefault(e.operand.name, set()).add("decimal")
            else:
                walk(e.operand)
        elif isinstance(e, IfElse):
            truth(e.condition)
            walk(e.then)
            walk(e.otherwise)
        elif isinstance(e, Call):
            for a in e.args:
                if isinstance(a, Var):
                    out.setdefault(a.name, set()).add("decimal")
                else:
                    walk(a)

    truth(expr)


__all__ = ["Unsupported", "feel_to_expr", "infer_types", "juel_to_expr", "parse_condition",
           "translate"]
