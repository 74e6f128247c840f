"""Color sets: the declared type of the tokens a place may hold.

A P/T place holds black tokens (:data:`DOT`); a colored place holds typed values:
integers, booleans, strings, decimals, enumerations, records and tuples. A color set
validates (and normalises) a value and, when it is finite, enumerates its members,
which is what lets a transition bind a variable that no input arc determines.

Color sets are plain frozen dataclasses rather than pydantic models: they sit on the
hot path of every firing and are imported by the command line's quickest commands.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as derived
from typing import Any, ClassVar

from petriflow.errors import ColorError


class Dot:
    """The black token of a P/T place. There is exactly one: :data:`DOT`."""

    __slots__ = ()
    _instance: ClassVar[Dot | None] = None

    def __new__(cls) -> Dot:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DOT"

    def __reduce__(self) -> str:
        return "DOT"


DOT = Dot()


class Record(dict):  # type: ignore[type-arg]
    """An immutable, hashable record value: the token of a :class:`RecordColor`.

    It is a ``dict`` underneath so that reading a field on the firing hot path is a
    C-level lookup; every mutating method is refused.
    """

    __slots__ = ("_hash",)

    def __init__(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        dict.__init__(self, fields or {}, **kwargs)
        self._hash: int | None = None

    def __hash__(self) -> int:  # type: ignore[override]
        h = self._hash
        if h is None:
            h = hash(frozenset(self.items()))
            self._hash = h
        return h

    def _immutable(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Record values are immutable; use replace()")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _immutable
    __ior__ = _immutable

    def __lt__(self, other: Record) -> bool:  # type: ignore[override]
        return sorted(self.items(), key=repr) < sorted(other.items(), key=repr)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Record, (dict(self),))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.items())
        return f"Record({inner})"

    def replace(self, **changes: Any) -> Record:
        """A copy with some fields changed."""
        return Record(self, **changes)


class ColorSet:
    """Base of all color sets. Subclasses are frozen dataclasses."""

    kind: ClassVar[str] = "abstract"

    def validate(self, value: Any) -> Any:
        """Return ``value`` normalised to this color set, or raise :class:`ColorError`."""
        raise NotImplementedError

    @property
    def finite(self) -> bool:
        return False

    @property
    def size(self) -> int | None:
        """How many members a finite color set has (None if it is infinite)."""
        return None

    def members(self) -> Iterator[Any]:
        """Enumerate a finite color set (raises ``ColorError`` for an infinite one)."""
        raise ColorError(f"color set {self} is infinite and cannot be enumerated", color=str(self))

    def contains(self, value: Any) -> bool:
        try:
            self.validate(value)
        except ColorError:
            return False
        return True

    def _refuse(self, value: Any, why: str = "") -> ColorError:
        extra = f": {why}" if why else ""
        return ColorError(f"{value!r} is not a value of color set {self}{extra}", color=str(self),
                          value=value)


@dataclass(frozen=True, slots=True)
class BlackColor(ColorSet):
    """Black tokens: the color set of every P/T place."""

    kind: ClassVar[str] = "black"

    def validate(self, value: Any) -> Any:
        if value is DOT:
            return value
        raise self._refuse(value)

    @property
    def finite(self) -> bool:
        return True

    @property
    def size(self) -> int | None:
        return 1

    def members(self) -> Iterator[Any]:
        yield DOT

    def __str__(self) -> str:
        return "black"


@dataclass(frozen=True, slots=True)
class IntColor(ColorSet):
    """Integers, optionally bounded (both bounds inclusive)."""

    kind: ClassVar[str] = "int"
    low: int | None = None
    high: int | None = None

    def validate(self, value: Any) -> Any:
        if type(value) is not int:
            raise self._refuse(value, "an integer is expected")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise self._refuse(value, "out of bounds")
        return value

    @property
    def finite(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def size(self) -> int | None:
        if self.low is None or self.high is None:
            return None
        return max(0, self.high - self.low + 1)

    def members(self) -> Iterator[Any]:
        if self.low is None or self.high is None:
            raise ColorError(f"color set {self} is infinite and cannot be enumerated",
                             color=str(self))
        return iter(range(self.low, self.high + 1))

    def __str__(self) -> str:
        if self.low is None and self.high is None:
            return "int"
        low = "" if self.low is None else self.low
        high = "" if self.high is None else self.high
        return f"int[{low}..{high}]"


@dataclass(frozen=True, slots=True)
class BoolColor(ColorSet):
    kind: ClassVar[str] = "bool"

    def validate(self, value: Any) -> Any:
        if type(value) is not bool:
            raise self._refuse(value, "true or false is expected")
        return value

    @property
    def finite(self) -> bool:
        return True

    @property
    def size(self) -> int | None:
        return 2

    def members(self) -> Iterator[Any]:
        return iter((False, True))

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True, slots=True)
class StrColor(ColorSet):
    kind: ClassVar[str] = "str"
    max_length: int | None = None
    min_length: int = 0

    def validate(self, value: Any) -> Any:
        if type(value) is not str:
            raise self._refuse(value, "a string is expected")
        if self.max_length is not None and len(value) > self.max_length:
            raise self._refuse(value, f"longer than {self.max_length} characters")
        if len(value) < self.min_length:
            raise self._refuse(value, "empty" if self.min_length == 1 else
                               f"shorter than {self.min_length} characters")
        return value

    def __str__(self) -> str:
        return "str" if not self.min_length else "nonempty str"


@dataclass(frozen=True, slots=True)
class DecimalColor(ColorSet):
    """Exact decimal numbers (money), optionally bounded. Floats are refused: they are inexact."""

    kind: ClassVar[str] = "decimal"
    low: decimal.Decimal | None = None
    high: decimal.Decimal | None = None

    def __post_init__(self) -> None:
        # A NaN bound would make every comparison in validate() raise InvalidOperation.
        for name in ("low", "high"):
            bound = getattr(self, name)
            if bound is None:
                continue
            try:
                finite = decimal.Decimal(bound).is_finite()
            except (decimal.InvalidOperation, TypeError, ValueError):
                finite = False
            if not finite:
                raise ColorError(f"the {name} bound of a decimal color set must be a finite "
                                 f"number, got {bound!r}", color="decimal", value=bound)

    def validate(self, value: Any) -> Any:
        if type(value) is decimal.Decimal:
            pass
        elif type(value) is int:
            value = decimal.Decimal(value)
        elif type(value) is str:
            try:
                value = decimal.Decimal(value)
            except decimal.InvalidOperation:
                raise self._refuse(value, "not a decimal number") from None
        elif type(value) is not decimal.Decimal:
            raise self._refuse(value, "a decimal (or an integer, or a string) is expected")
        if not value.is_finite():
            raise self._refuse(value, "not a finite number")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise self._refuse(value, "out of bounds")
        return value

    def __str__(self) -> str:
        return "decimal"


@dataclass(frozen=True, slots=True)
class EnumColor(ColorSet):
    """A finite set of named values (strings), e.g. ``low | medium | high``."""

    kind: ClassVar[str] = "enum"
    values: tuple[str, ...]
    name: str = "enum"

    def validate(self, value: Any) -> Any:
        if type(value) is not str or value not in self.values:
            raise self._refuse(value, f"expected one of {', '.join(self.values)}")
        return value

    @property
    def finite(self) -> bool:
        return True

    @property
    def size(self) -> int | None:
        return len(self.values)

    def members(self) -> Iterator[Any]:
        return iter(self.values)

    def __str__(self) -> str:
        return f"{self.name}{{{', '.join(self.values)}}}"


@dataclass(frozen=True, slots=True)
class TupleColor(ColorSet):
    """Tuples whose items have the given color sets (the product of color sets)."""

    kind: ClassVar[str] = "tuple"
    items: tuple[ColorSet, ...]

    def validate(self, value: Any) -> Any:
        if type(value) is not tuple or len(value) != len(self.items):
            raise self._refuse(value, f"a tuple of {len(self.items)} items is expected")
        return tuple(c.validate(v) for c, v in zip(self.items, value, strict=True))

    @property
    def finite(self) -> bool:
        return all(c.finite for c in self.items)

    @property
    def size(self) -> int | None:
        return _product_size(self.items)

    def members(self) -> Iterator[Any]:
        return _product(self.items)

    def __str__(self) -> str:
        return "(" + ", ".join(str(c) for c in self.items) + ")"


@dataclass(frozen=True, slots=True)
class RecordColor(ColorSet):
    """Records with named, typed fields: the case-data token of a compiled process."""

    kind: ClassVar[str] = "record"
    fields: tuple[tuple[str, ColorSet], ...]
    name: str = "record"
    # Derived from ``fields`` for the common case of validate (not part of the value).
    _keys: tuple[str, ...] = derived(init=False, repr=False, compare=False, hash=False)
    _checks: tuple[Any, ...] = derived(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple(k for k, _ in self.fields))
        object.__setattr__(self, "_checks", tuple(
            (_plain_type(c), c.validate) for _, c in self.fields))

    def field(self, name: str) -> ColorSet | None:
        for key, color in self.fields:
            if key == name:
                return color
        return None

    def validate(self, value: Any) -> Any:
        if type(value) is Record and tuple(value) == self._keys:
            # The common case: a record with exactly these fields, in this order, each
            # already normal. It is its own normal form (and keeps its cached hash).
            for (plain, check), item in zip(self._checks, value.values()):  # noqa: B905
                if type(item) is not plain and check(item) is not item:
                    break
            else:
                return value
        if not isinstance(value, Mapping):
            raise self._refuse(value, "a record is expected")
        names = {k for k, _ in self.fields}
        extra = set(value) - names
        if extra:
            raise self._refuse(value, f"unknown field(s) {', '.join(sorted(extra))}")
        missing = names - set(value)
        if missing:
            raise self._refuse(value, f"missing field(s) {', '.join(sorted(missing))}")
        return Record({k: c.validate(value[k]) for k, c in self.fields})

    @property
    def finite(self) -> bool:
        return all(c.finite for _, c in self.fields)

    @property
    def size(self) -> int | None:
        return _product_size(tuple(c for _, c in self.fields))

    def members(self) -> Iterator[Any]:
        keys = self._keys
        return (Record(dict(zip(keys, combo, strict=True)))
                for combo in _product(tuple(c for _, c in self.fields)))

    def __str__(self) -> str:
        return self.name


def _product_size(colors: tuple[ColorSet, ...]) -> int | None:
    total = 1
    for color in colors:
        n = color.size
        if n is None:
            return None
        total *= n
    return total


def _product(colors: tuple[ColorSet, ...]) -> Iterator[tuple[Any, ...]]:
    """The members of each color set combined, in ``itertools.product`` order, without
    listing any color set first (``itertools.product`` would: one may be huge when only
    the first few tuples are wanted)."""
    if not colors:
        yield ()
        return
    head, rest = colors[0], colors[1:]
    if not rest:
        for value in head.members():
            yield (value,)
        return
    for value in head.members():
        for tail in _product(rest):
            yield (value, *tail)


def _plain_type(color: ColorSet) -> type | None:
    """The Python type whose every value is valid and normal in ``color`` (an unbounded
    int, a bool, an unconstrained str), or None when values must be checked."""
    if type(color) is IntColor and color.low is None and color.high is None:
        return int
    if type(color) is BoolColor:
        return bool
    if type(color) is StrColor and color.max_length is None and not color.min_length:
        return str
    return None


BLACK = BlackColor()

__all__ = [
    "BLACK",
    "DOT",
    "BlackColor",
    "BoolColor",
    "ColorSet",
    "DecimalColor",
    "Dot",
    "EnumColor",
    "IntColor",
    "Record",
    "RecordColor",
    "StrColor",
    "TupleColor",
]
