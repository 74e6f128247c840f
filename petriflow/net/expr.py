"""The expression language: guards, arc inscriptions and assignments, as data.

Text is parsed with :mod:`ast` and translated into the small AST below; whatever
falls outside the language is a :class:`~petriflow.errors.ExpressionError` naming the
line and column. The same AST is evaluated by the engine (as a compiled closure,
see :mod:`petriflow.net.evaluate`) and translated to solver terms by the checker, so
it stays small and explicit: names, literals, record fields, arithmetic, comparisons,
``and``/``or``/``not``, conditional expressions, ``in`` over literal sets, tuples and
the functions ``min``, ``max`` and ``abs``.

Semantics (shared by every interpreter):

* numbers are ``int`` or exact ``Decimal``; a literal with a decimal point is a
  ``Decimal``; mixing ``int`` and ``Decimal`` gives ``Decimal``;
* ``/`` is exact decimal division; ``//`` and ``%`` are integer floor division and
  remainder; the divisor of ``/``, ``//`` and ``%`` must be a positive literal, so
  evaluation never divides by zero and the checker stays in linear arithmetic; the
  divisor of ``/`` must moreover give terminating decimals (2, 4, 5, 8, 10, 100, 0.5...:
  no prime factor but 2 and 5), so that the engine's decimals and the checker's exact
  rationals agree;
* ``and``/``or``/``not`` take booleans only (no truthiness), and short-circuit;
* ``a < b < c`` means ``a < b and b < c``; ``in`` and ``not in`` do not chain;
* number literals have at most 100 significant digits and a decimal exponent within
  +-100, so that writing them out (fingerprints, PNML) stays cheap.
"""

from __future__ import annotations

import ast
import decimal
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from petriflow.errors import ExpressionError, Problem

ARITH_OPS = ("+", "-", "*", "/", "//", "%")
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")
FUNCTIONS = ("min", "max", "abs")
RECORD_FUNCTIONS = ("record", "update")


@dataclass(frozen=True, slots=True)
class Expr:
    """Base of the AST. ``line``/``column`` locate the node in the original text."""

    line: int = field(default=1, kw_only=True, compare=False, repr=False)
    column: int = field(default=0, kw_only=True, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Const(Expr):
    value: Any


@dataclass(frozen=True, slots=True)
class Var(Expr):
    name: str


@dataclass(frozen=True, slots=True)
class Field(Expr):
    base: Expr
    name: str


@dataclass(frozen=True, slots=True)
class Neg(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class Arith(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class BoolOp(Expr):
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class In(Expr):
    item: Expr
    options: tuple[Const, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class IfElse(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True, slots=True)
class Call(Expr):
    function: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class TupleExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class RecordExpr(Expr):
    """``record(a=1, b=x)``: a new record value."""

    fields: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True, slots=True)
class Update(Expr):
    """``update(r, a=1)``: record ``r`` with some fields replaced."""

    base: Expr
    changes: tuple[tuple[str, Expr], ...]


_ARITH = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
}
_COMPARE = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
}
_DESCRIBE = {
    ast.Lambda: "lambda", ast.Attribute: "attribute access", ast.Subscript: "indexing",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension", ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator", ast.NamedExpr: "assignment expression",
    ast.Await: "await", ast.Yield: "yield", ast.JoinedStr: "f-string", ast.Starred: "starred",
    ast.Dict: "dict literal", ast.List: "list literal", ast.Set: "set literal",
}
MAX_LENGTH = 10_000
MAX_DEPTH = 100
#: bounds of a number literal: far beyond any amount a process handles, and small
#: enough that writing the number out (``unparse``, fingerprints, PNML) stays cheap
MAX_DIGITS = 100
MAX_EXPONENT = 100
_INT_LIMIT = 10**MAX_DIGITS


def _terminating(divisor: Any) -> bool:
    """Whether x / divisor is a terminating decimal for every decimal x."""
    num, _ = decimal.Decimal(divisor).as_integer_ratio()
    for p in (2, 5):
        while num % p == 0:
            num //= p
    return num == 1


def subexpressions(expr: Expr | None) -> Iterator[Expr]:
    """Every node of ``expr`` (itself included), in no particular order."""
    stack: list[Any] = [] if expr is None else [expr]
    while stack:
        node = stack.pop()
        yield node
        for slot in node.__slots__:
            value = getattr(node, slot)
            if isinstance(value, Expr):
                stack.append(value)
            elif isinstance(value, tuple):  # operands, options, or (name, expr) pairs
                for item in value:
                    if isinstance(item, Expr):
                        stack.append(item)
                    elif isinstance(item, tuple):
                        stack.extend(x for x in item if isinstance(x, Expr))


def expression_variables(expr: Expr) -> frozenset[str]:
    """The names an expression reads."""
    return frozenset(n.name for n in subexpressions(expr) if isinstance(n, Var))


class _Translator:
    def __init__(self, text: str, file: str | None, line: int, column: int, element: str | None):
        self.text = text
        self.file = file
        self.line0 = line
        self.column0 = column
        self.element = element

    #: where the parsed (left-stripped) text starts inside ``text``: lines and columns
    skipped_lines = 0
    skipped_columns = 0

    def position(self, lineno: int, col: int) -> dict[str, int]:
        """A 1-based column and a line in the original text, from a 1-based line and a
        0-based column in the left-stripped text that ``ast`` parsed."""
        if lineno == 1:
            col += self.skipped_columns
        line = lineno + self.skipped_lines
        return {"line": self.line0 + line - 1,
                "column": (self.column0 if line == 1 else 0) + col + 1}

    def where(self, node: ast.AST) -> dict[str, int]:
        return self.position(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def fail(self, node: ast.AST | None, message: str, hint: str | None = None) -> ExpressionError:
        pos = self.where(node) if node is not None else {"line": self.line0, "column": 0}
        return ExpressionError(
            Problem(
                f"in expression {self.text!r}: {message}",
                file=self.file,
                line=pos["line"],
                column=pos["column"] or None,
                element=self.element,
                hint=hint,
            )
        )

    def __call__(self, node: ast.AST, depth: int = 0) -> Expr:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        pos = self.where(node)
        d = depth + 1
        if isinstance(node, ast.Constant):
            return Const(self.constant(node), **pos)
        if isinstance(node, ast.Name):
            return Var(node.id, **pos)
        if isinstance(node, ast.Attribute):
            return Field(self(node.value, d), node.attr, **pos)
        if isinstance(node, ast.UnaryOp):
            operand = self(node.operand, d)
            if isinstance(node.op, ast.Not):
                return Not(operand, **pos)
            if isinstance(node.op, ast.USub):
                # a negative literal ("-5") is a constant; a negated expression that only
                # evaluates to one ("-(+5)", what unparse writes for Neg(Const)) is not
                if isinstance(node.operand, ast.Constant) and isinstance(operand, Const) \
                        and type(operand.value) in (int, decimal.Decimal):
                    return Const(-operand.value, **pos)
                return Neg(operand, **pos)
            if isinstance(node.op, ast.UAdd):
                return operand
            raise self.fail(node, "the operator '~' is not part of the expression language")
        if isinstance(node, ast.BinOp):
            op = _ARITH.get(type(node.op))
            if op is None:
                raise self.fail(node, f"the operator {type(node.op).__name__} is not supported",
                                "use + - * / // %")
            right = self(node.right, d)
            if op in ("/", "//", "%") and not (
                isinstance(right, Const)
                and type(right.value) in (int, decimal.Decimal)
                and right.value > 0
            ):
                raise self.fail(node.right, f"the divisor of '{op}' must be a positive number "
                                "literal", "divide by a constant such as 100")
            if op == "/" and not _terminating(right.value):  # type: ignore[attr-defined]
                raise self.fail(node.right, f"dividing by {right.value} gives "  # type: ignore[attr-defined]
                                "non-terminating decimals", "divide by a number whose only "
                                "prime factors are 2 and 5 (such as 2, 4, 5, 10, 100), or "
                                "multiply instead")
            return Arith(op, self(node.left, d), right, **pos)
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return BoolOp(op, tuple(self(v, d) for v in node.values), **pos)
        if isinstance(node, ast.Compare):
            return self.compare(node, d, pos)
        if isinstance(node, ast.IfExp):
            return IfElse(self(node.test, d), self(node.body, d), self(node.orelse, d), **pos)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
            node.func.id in RECORD_FUNCTIONS
        ):
            return self.record_call(node, d, pos)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else "this"
                raise self.fail(node, f"calling {name} is not allowed",
                                f"the only functions are {', '.join(FUNCTIONS)}")
            if node.keywords:
                raise self.fail(node, "keyword arguments are not supported")
            fn = node.func.id
            args = tuple(self(a, d) for a in node.args)
            if fn == "abs" and len(args) != 1:
                raise self.fail(node, "abs() takes exactly one argument")
            if fn in ("min", "max") and len(args) < 2:
                raise self.fail(node, f"{fn}() takes at least two arguments")
            return Call(fn, args, **pos)
        if isinstance(node, ast.Tuple):
            return TupleExpr(tuple(self(e, d) for e in node.elts), **pos)
        what = _DESCRIBE.get(type(node), type(node).__name__)
        raise self.fail(node, f"{what} is not part of the expression language")

    def record_call(self, node: ast.Call, d: int, pos: dict[str, int]) -> Expr:
        assert isinstance(node.func, ast.Name)
        fn = node.func.id
        names = [k.arg for k in node.keywords]
        if any(n is None for n in names):
            raise self.fail(node, f"{fn}() takes named fields only")
        if len(set(names)) != len(names):
            raise self.fail(node, f"{fn}() names a field twice")
        fields = tuple((str(k.arg), self(k.value, d)) for k in node.keywords)
        if fn == "record":
            if node.args:
                raise self.fail(node, "record() takes named fields only: record(a=1, b=2)")
            return RecordExpr(fields, **pos)
        if len(node.args) != 1:
            raise self.fail(node, "update() takes one record and named fields: update(r, a=1)")
        return Update(self(node.args[0], d), fields, **pos)

    def constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            if abs(value) >= _INT_LIMIT:
                raise self._too_large(node)
            return value
        if isinstance(value, float):
            source = ast.get_source_segment(self.text, node) or repr(value)
            try:
                number = decimal.Decimal(source.replace("_", ""))
            except decimal.InvalidOperation:
                raise self.fail(node, f"cannot read the number {source!r}") from None
            # unparse() writes decimals out in full: 1e999999999 would be a gigabyte.
            # Trailing zeros do not count (unparse writes 1e100 as 1000...0.0).
            significant = len(bytes(number.as_tuple().digits).rstrip(b"\0"))
            if abs(number.adjusted()) > MAX_EXPONENT or significant > MAX_DIGITS:
                raise self._too_large(node)
            return number
        raise self.fail(node, f"the literal {value!r} is not supported",
                        "use numbers, strings, True or False")

    def _too_large(self, node: ast.Constant) -> ExpressionError:
        source = ast.get_source_segment(self.text, node) or "this number"
        shown = source if len(source) <= 30 else source[:27] + "..."
        return self.fail(node, f"the number {shown} is out of range",
                         f"numbers in expressions have at most {MAX_DIGITS} digits and a "
                         f"decimal exponent between -{MAX_EXPONENT} and {MAX_EXPONENT}")

    def compare(self, node: ast.Compare, d: int, pos: dict[str, int]) -> Expr:
        if len(node.ops) > 1 and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            # In Python the literal set would be the next comparison's left operand.
            raise self.fail(node, "'in' and 'not in' cannot be chained with other comparisons",
                            "write the comparisons apart, joined by 'and'")
        left = self(node.left, d)
        if isinstance(node.ops[0], ast.In | ast.NotIn):
            options = self.literal_set(node.comparators[0], d)
            return In(left, options, isinstance(node.ops[0], ast.NotIn), **pos)
        parts: list[Expr] = []
        for op_node, right_ast in zip(node.ops, node.comparators, strict=True):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise self.fail(node, f"'{type(op_node).__name__}' comparisons are not "
                                "supported", "use == != < <= > >= in")
            right = self(right_ast, d)
            parts.append(Compare(op, left, right, **pos))  # a < b < c: a < b and b < c
            left = right
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts), **pos)

    def literal_set(self, node: ast.AST, d: int) -> tuple[Const, ...]:
        if not isinstance(node, ast.Tuple | ast.List | ast.Set):
            raise self.fail(node, "'in' needs a literal set such as {'a', 'b'}")
        items = []
        for elt in node.elts:
            item = self(elt, d)
            if not isinstance(item, Const):
                raise self.fail(elt, "the members of an 'in' set must be literals")
            items.append(item)
        return tuple(items)


def parse(
    text: str,
    *,
    file: str | None = None,
    line: int = 1,
    column: int = 0,
    element: str | None = None,
) -> Expr:
    """Parse ``text`` into an :class:`Expr`.

    ``file``, ``line``, ``column`` and ``element`` say where the text came from (for
    example a YAML file and the line of the guard), so that errors point there.
    """
    tr = _Translator(text, file, line, column, element)
    if not isinstance(text, str):
        raise tr.fail(None, "an expression must be text")
    if len(text) > MAX_LENGTH:
        raise tr.fail(None, f"longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise tr.fail(None, "the expression is empty")
    # ``ast`` refuses leading indentation in eval mode: parse the text without its
    # leading blanks, and count them back into every position it reports.
    body = text.lstrip()
    skipped = text[: len(text) - len(body)]
    tr.skipped_lines = skipped.count("\n")
    tr.skipped_columns = len(skipped) - (skipped.rfind("\n") + 1)
    try:
        tree = ast.parse(body.rstrip(), mode="eval")
    except SyntaxError as exc:
        where = tr.position(exc.lineno or 1, (exc.offset or 1) - 1)
        raise ExpressionError(
            Problem(
                f"in expression {text!r}: {exc.msg}",
                file=file,
                line=where["line"],
                column=where["column"],
                element=element,
            )
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise tr.fail(None, "too deeply nested or malformed") from None
    return tr(tree.body)


def unparse(expr: Expr) -> str:
    """Text for ``expr`` that :func:`parse` reads back to an equal AST."""
    if isinstance(expr, Const):
        return repr(expr.value) if not isinstance(expr.value, decimal.Decimal) else _dec(expr.value)
    if isinstance(expr, Var):
        return expr.name
    if isinstance(expr, Field):
        base = f"({unparse(expr.base)})" if _number(expr.base) else _wrap(expr.base)
        return f"{base}.{expr.name}"  # "1.x" would not parse
    if isinstance(expr, Neg):
        if _number(expr.operand):
            return f"-(+{unparse(expr.operand)})"  # "-5" would parse as the constant -5
        return f"-{_wrap(expr.operand)}"
    if isinstance(expr, Not):
        return f"not {_wrap(expr.operand)}"
    if isinstance(expr, Arith | Compare):
        return f"{_wrap(expr.left)} {expr.op} {_wrap(expr.right)}"
    if isinstance(expr, BoolOp):
        return f" {expr.op} ".join(_wrap(o) for o in expr.operands)
    if isinstance(expr, In):
        opts = ", ".join(unparse(o) for o in expr.options)
        op = "not in" if expr.negated else "in"
        trailing = "," if len(expr.options) == 1 else ""
        return f"{_wrap(expr.item)} {op} ({opts}{trailing})"
    if isinstance(expr, IfElse):
        return f"{_wrap(expr.then)} if {_wrap(expr.condition)} else {_wrap(expr.otherwise)}"
    if isinstance(expr, Call):
        return f"{expr.function}({', '.join(unparse(a) for a in expr.args)})"
    if isinstance(expr, TupleExpr):
        inner = ", ".join(unparse(i) for i in expr.items)
        return f"({inner}{',' if len(expr.items) == 1 else ''})"
    if isinstance(expr, RecordExpr):
        return "record(" + ", ".join(f"{k}={unparse(v)}" for k, v in expr.fields) + ")"
    if isinstance(expr, Update):
        changes = "".join(f", {k}={unparse(v)}" for k, v in expr.changes)
        return f"update({unparse(expr.base)}{changes})"
    raise TypeError(f"not an expression: {expr!r}")


def _number(expr: Expr) -> bool:
    return isinstance(expr, Const) and type(expr.value) in (int, decimal.Decimal)


def _dec(value: decimal.Decimal) -> str:
    text = format(value, "f")
    if "." not in text:
        text += ".0"
    return f"({text})" if text.startswith("-") else text


def _wrap(expr: Expr) -> str:
    text = unparse(expr)
    simple = isinstance(expr, Var | Call | TupleExpr | RecordExpr | Update) or (
        isinstance(expr, Const) and not (isinstance(expr.value, int | decimal.Decimal)
                                         and not isinstance(expr.value, bool)
                                         and expr.value < 0)
    )
    return text if simple or isinstance(expr, Field) else f"({text})"


__all__ = [
    "ARITH_OPS",
    "COMPARE_OPS",
    "FUNCTIONS",
    "Arith",
    "BoolOp",
    "Call",
    "Compare",
    "Const",
    "Expr",
    "Field",
    "IfElse",
    "In",
    "Neg",
    "Not",
    "RecordExpr",
    "TupleExpr",
    "Update",
    "Var",
    "expression_variables",
    "parse",
    "subexpressions",
    "unparse",
]
