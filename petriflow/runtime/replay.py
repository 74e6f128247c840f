"""Replay: rebuild a case from its journal with the bare kernel, and compare.

The journal is the source of truth; the stored marking and data are a cache of it.
:func:`replay_case` fires every recorded step with :func:`petriflow.net.fire` (the
kernel's checked firing rule, not the engine's indexed copy of it), starting from the
net's initial marking, and compares the result with what the store holds. It also
verifies the hash chain, so one call answers "is this case's record intact and does it
explain the state we have?".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from petriflow.errors import FiringError
from petriflow.governance.audit import ChainReport, EventKind, verify_chain
from petriflow.model.compiled import DATA_PLACE, CompiledProcess
from petriflow.net.colors import Record
from petriflow.net.firing import fire
from petriflow.net.marking import Marking
from petriflow.store.base import CaseRecord


@dataclass(frozen=True, slots=True)
class ReplayReport:
    case: str
    chain: ChainReport
    steps: int
    matches: bool
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.matches

    def __str__(self) -> str:
        if not self.chain.ok:
            return str(self.chain)
        if not self.matches:
            return f"case {self.case}: replay differs from the stored state: {self.reason}"
        return f"case {self.case}: {self.steps} steps replayed, state matches, chain intact"


def stored_marking(compiled: CompiledProcess, rec: CaseRecord) -> Marking:
    places: dict[str, Any] = {p: n for p, n in rec.marking.items() if n}
    if rec.data is not None:  # a stored case has started: its record exists, maybe empty
        places[DATA_PLACE] = [rec.data if isinstance(rec.data, Record) else Record(rec.data)]
    return Marking(places)


def replay_case(compiled: CompiledProcess, rec: CaseRecord, events: list[Any]) -> ReplayReport:
    """Replay ``events`` of ``rec`` on ``compiled`` and compare with ``rec``."""
    chain = verify_chain(rec.id, events, rec.head)
    marking = compiled.net.initial_marking
    steps = 0
    for e in events:
        if e.kind != EventKind.STEP:
            continue
        steps += 1
        try:
            binding = _decode(compiled.net, e.transition, e.binding)
            marking = fire(compiled.net, marking, e.transition, binding).after
        except FiringError as exc:
            return ReplayReport(rec.id, chain, steps, False,
                                f"event {e.seq} ({e.transition}) does not fire: {exc}")
        except (KeyError, TypeError, ValueError) as exc:
            return ReplayReport(rec.id, chain, steps, False,
                                f"event {e.seq} cannot be read: {exc}")
    expected = stored_marking(compiled, rec)
    if marking != expected:
        return ReplayReport(rec.id, chain, steps, False, _difference(marking, expected))
    return ReplayReport(rec.id, chain, steps, True)


def _decode(net: Any, transition: str, binding: Mapping[str, Any]) -> dict[str, Any]:
    colors = net.plan(transition).var_colors
    return {k: colors[k].validate(v) if k in colors else v for k, v in binding.items()}


def _difference(replayed: Marking, stored: Marking) -> str:
    diffs = []
    for place in sorted(set(replayed) | set(stored)):
        a, b = replayed.get(place), stored.get(place)
        if a != b:
            if place == DATA_PLACE and a and b:
                ra, rb = next(iter(a)), next(iter(b))
                fields = [k for k in ra if ra.get(k) != rb.get(k)]
                diffs.append(f"data fields {', '.join(fields)} differ")
            else:
                diffs.append(f"place {place}: replay {dict(a or {})!r}, stored "
                             f"{dict(b or {})!r}")
    return "; ".join(diffs) or "markings differ"


__all__ = ["ReplayReport", "replay_case", "stored_marking"]
