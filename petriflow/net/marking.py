"""Markings as values: immutable, hashable multisets of tokens per place.

A :class:`Marking` never changes after it is made, compares and hashes by value, and
offers the multiset algebra the firing rule needs (``+``, ``-``, ``<=``). Any number of
cases, searches and stores can share one safely.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from petriflow.errors import ColorError
from petriflow.ids import PlaceId
from petriflow.net.colors import DOT, Record


class Multiset(Mapping[Any, int]):
    """An immutable multiset of tokens: token -> positive multiplicity."""

    __slots__ = ("_counts", "_hash", "_size")

    def __init__(self, counts: Mapping[Any, int] | Iterable[Any] = ()) -> None:
        if isinstance(counts, Mapping):
            data = {}
            for token, n in counts.items():
                if type(n) is not int or n < 0:
                    raise ColorError(f"multiplicity of {token!r} must be a non-negative "
                                     f"integer, got {n!r}")
                if n:
                    data[token] = n
        else:
            data = {}
            for token in counts:
                data[token] = data.get(token, 0) + 1
        self._counts: dict[Any, int] = data
        self._size = sum(data.values())
        self._hash: int | None = None

    @classmethod
    def _trusted(cls, data: dict[Any, int]) -> Multiset:
        """Wrap a dict already known to hold only positive counts (no copy)."""
        ms = cls.__new__(cls)
        ms._counts = data
        ms._size = sum(data.values())
        ms._hash = None
        return ms

    def __getitem__(self, token: Any) -> int:
        return self._counts.get(token, 0)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def __contains__(self, token: object) -> bool:
        return token in self._counts

    @property
    def size(self) -> int:
        """Number of tokens, counting multiplicity."""
        return self._size

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._counts.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Multiset):
            return self._counts == other._counts
        return NotImplemented

    def __le__(self, other: Multiset) -> bool:
        oc = other._counts
        return all(oc.get(t, 0) >= n for t, n in self._counts.items())

    def __add__(self, other: Multiset) -> Multiset:
        data = dict(self._counts)
        for t, n in other._counts.items():
            data[t] = data.get(t, 0) + n
        return Multiset._trusted(data)

    def __sub__(self, other: Multiset) -> Multiset:
        data = dict(self._counts)
        for t, n in other._counts.items():
            left = data.get(t, 0) - n
            if left < 0:
                raise ValueError(f"cannot remove {n} x {t!r}: only {data.get(t, 0)} present")
            if left:
                data[t] = left
            else:
                del data[t]
        return Multiset._trusted(data)

    def elements(self) -> Iterator[Any]:
        for t, n in self._counts.items():
            for _ in range(n):
                yield t

    def __repr__(self) -> str:
        if set(self._counts) <= {DOT}:
            return str(self._size)
        inner = ", ".join(f"{n}x{t!r}" if n > 1 else repr(t) for t, n in self._counts.items())
        return "{" + inner + "}"


EMPTY = Multiset()


def token_collection(place: str, tokens: Any) -> Iterable[Any]:
    """``tokens`` if it is a collection of tokens; a string is refused (it would be
    iterated into one token per character), and so is any other single value (a record
    would be iterated into its field names)."""
    if isinstance(tokens, str | bytes | bytearray):
        raise ColorError(f"place {place!r}: {tokens!r} is a string, not a collection of "
                         f"tokens; write [{tokens!r}] for one token", value=tokens)
    if type(tokens) is not bool and not isinstance(tokens, Record):
        try:
            collection: Iterator[Any] = iter(tokens)
        except TypeError:
            pass
        else:
            return collection
    raise ColorError(f"place {place!r}: expected a count of black tokens (an int), a list "
                     f"of tokens or a Multiset, got {tokens!r}; write [{tokens!r}] for one "
                     "token", value=tokens)


class Marking(Mapping[PlaceId, Multiset]):
    """An immutable marking: place id -> multiset of tokens (empty places are omitted)."""

    __slots__ = ("_hash", "_places")

    def __init__(self, places: Mapping[str, Multiset | int | Iterable[Any]] | None = None) -> None:
        data: dict[PlaceId, Multiset] = {}
        for place, tokens in (places or {}).items():
            if isinstance(tokens, Multiset):
                ms = tokens
            elif type(tokens) is int:
                if tokens < 0:
                    raise ColorError(f"place {place!r} cannot hold a negative number of tokens "
                                     f"({tokens})")
                ms = Multiset({DOT: tokens})
            elif isinstance(tokens, Mapping) and not isinstance(tokens, Record):
                ms = Multiset(tokens)
            else:
                ms = Multiset(token_collection(place, tokens))
            if ms.size:
                data[PlaceId(place)] = ms
        self._places = data
        self._hash: int | None = None

    @classmethod
    def from_counts(cls, counts: Mapping[str, int]) -> Marking:
        """A P/T marking from black-token counts per place."""
        return cls({p: n for p, n in counts.items()})

    @classmethod
    def _trusted(cls, data: dict[PlaceId, Multiset]) -> Marking:
        m = cls.__new__(cls)
        m._places = data
        m._hash = None
        return m

    def __getitem__(self, place: str) -> Multiset:
        return self._places.get(place, EMPTY)  # type: ignore[call-overload]

    def __iter__(self) -> Iterator[PlaceId]:
        return iter(self._places)

    def __len__(self) -> int:
        return len(self._places)

    def __contains__(self, place: object) -> bool:
        return place in self._places

    def count(self, place: str) -> int:
        """Number of tokens on ``place``."""
        ms = self._places.get(place)  # type: ignore[call-overload]
        return ms.size if ms is not None else 0

    def counts(self) -> dict[PlaceId, int]:
        """Token count of every non-empty place."""
        return {p: ms.size for p, ms in self._places.items()}

    @property
    def total(self) -> int:
        return sum(ms.size for ms in self._places.values())

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._places.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Marking):
            return self._places == other._places
        return NotImplemented

    def __le__(self, other: Marking) -> bool:
        return all(ms <= other[p] for p, ms in self._places.items())

    def __add__(self, other: Marking) -> Marking:
        data = dict(self._places)
        for p, ms in other._places.items():
            data[p] = data[p] + ms if p in data else ms
        return Marking._trusted(data)

    def __sub__(self, other: Marking) -> Marking:
        data = dict(self._places)
        for p, ms in other._places.items():
            left = self[p] - ms
            if left.size:
                data[p] = left
            else:
                data.pop(p, None)
        return Marking._trusted(data)

    def __repr__(self) -> str:
        inner = ", ".join(f"{p}: {ms!r}" for p, ms in sorted(self._places.items()))
        return "Marking({" + inner + "})"


__all__ = ["EMPTY", "Marking", "Multiset"]
