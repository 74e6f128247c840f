"""A set with O(1) add, discard and uniform random choice (a list plus positions)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class IndexedSet(Generic[T]):
    """Insertion-ordered until a discard moves the last item into the hole."""

    __slots__ = ("items", "position")

    def __init__(self) -> None:
        self.items: list[T] = []
        self.position: dict[T, int] = {}

    def add(self, item: T) -> None:
        if item not in self.position:
            self.position[item] = len(self.items)
            self.items.append(item)

    def discard(self, item: T) -> None:
        i = self.position.pop(item, None)
        if i is None:
            return
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.position[last] = i

    def choice(self, rand: Callable[[], float]) -> T:
        items = self.items
        return items[int(rand() * len(items))]

    def __contains__(self, item: object) -> bool:
        return item in self.position

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self.items))


__all__ = ["IndexedSet"]
