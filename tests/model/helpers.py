"""Drive a compiled process with the kernel's firing rule, as the engine and checker do.

:class:`Case` holds one case's marking and fires transitions by id with the answers of
the participants (``_actor``, ``_o_<field>``); every firing goes through
:func:`petriflow.net.firing.fire`, so nothing here has its own semantics.
"""

from __future__ import annotations

from typing import Any

from petriflow.errors import ColorError, FiringError
from petriflow.ids import TransitionId
from petriflow.model import CompiledProcess, compile_loaded, load_text
from petriflow.model.compiled import DATA_PLACE
from petriflow.net.colors import BlackColor, Record
from petriflow.net.firing import Step, bindings, fire
from petriflow.net.marking import Marking
from petriflow.net.structure import ArcKind, Net


def compile_text(text: str, file: str = "test.yaml") -> CompiledProcess:
    """Load and compile a process given as YAML (or JSON) text."""
    return compile_loaded(load_text(text, file))


def token_enabled(net: Net, marking: Marking) -> list[TransitionId]:
    """Transitions whose input places hold enough tokens and whose inhibitor places are
    clear, ignoring guards and free variables (those need the participants' answers)."""
    out = []
    for t in net.transitions:
        ok = True
        need: dict[str, int] = {}
        for a in net.inputs[t.id]:
            if a.kind is ArcKind.INHIBITOR:
                if marking.count(a.place) >= a.weight:
                    ok = False
            else:
                need[a.place] = need.get(a.place, 0) + a.weight
        if ok and all(marking.count(p) >= n for p, n in need.items()):
            out.append(t.id)
    return out


def has_binding(net: Net, marking: Marking, tid: str, **given: Any) -> bool:
    """Whether ``tid`` can fire with a binding that extends ``given``."""
    try:
        return next(bindings(net, marking, tid, given=given), None) is not None
    except (ColorError, FiringError):
        return False


def is_final(compiled: CompiledProcess, marking: Marking) -> bool:
    """The page's *final marking*: ``end:*`` places holding one token in all (explicit
    termination) or at least one (implicit termination), the data record, every other
    place empty except history places ``<task>:done``."""
    ends = [p for p in marking if p.startswith("end:")]
    tokens = sum(marking.count(p) for p in ends)
    if tokens == 0 or (tokens > 1 and compiled.termination != "implicit"):
        return False
    if marking.count(DATA_PLACE) != 1:
        return False
    others = [p for p in marking if p not in ends and p != DATA_PLACE and not p.endswith(":done")]
    return not others


class Case:
    """One case of a compiled process, fired step by step."""

    def __init__(self, compiled: CompiledProcess) -> None:
        self.compiled = compiled
        self.net = compiled.net
        self.marking = compiled.net.initial_marking
        self.fired: list[str] = []

    # -- firing ------------------------------------------------------------------------------

    def fire(self, tid: str, **binding: Any) -> Step:
        step = fire(self.net, self.marking, tid, binding)
        self.marking = step.after
        self.fired.append(tid)
        return step

    def can(self, tid: str, **given: Any) -> bool:
        return has_binding(self.net, self.marking, tid, **given)

    def start(self, **inputs: Any) -> Step:
        return self.fire(self.compiled.start_transition(),
                         **{f"_o_{k}": v for k, v in inputs.items()})

    def offer(self, task: str) -> Step:
        return self.fire(f"{task}:offer")

    def complete(self, task: str, actor: str | None = None, **outputs: Any) -> Step:
        binding = {f"_o_{k}": v for k, v in outputs.items()}
        if actor is not None:
            binding["_actor"] = actor
        return self.fire(f"{task}:complete", **binding)

    def can_complete(self, task: str, actor: str | None = None, **outputs: Any) -> bool:
        binding = {f"_o_{k}": v for k, v in outputs.items()}
        if actor is not None:
            binding["_actor"] = actor
        return self.can(f"{task}:complete", **binding)

    def do(self, task: str, actor: str | None = None, **outputs: Any) -> Step:
        """Offer and complete an external task."""
        self.offer(task)
        return self.complete(task, actor, **outputs)

    # -- looking -----------------------------------------------------------------------------

    @property
    def data(self) -> Record:
        tokens = list(self.marking[DATA_PLACE].elements())
        assert len(tokens) == 1, f"data holds {len(tokens)} records"
        return tokens[0]

    def control(self) -> dict[str, int]:
        """Token counts of the black places (everything but ``data``)."""
        return {p: n for p, n in self.marking.counts().items()
                if isinstance(self.net.place(p).color, BlackColor)}

    def token_enabled(self) -> list[TransitionId]:
        return token_enabled(self.net, self.marking)

    def is_final(self) -> bool:
        return is_final(self.compiled, self.marking)

    def ended_at(self) -> str | None:
        if not self.is_final():
            return None
        return next(p for p in self.marking if p.startswith("end:"))[len("end:"):]


__all__ = ["WAITS", "Case", "compile_text", "has_binding", "is_final", "token_enabled"]


# A process with every kind of wait: a catch on a task, a timer, a deferred choice between a
# message and a deadline (tests/model/test_waits.py and tests/runtime/test_waits.py).
WAITS = """
process: waits
data:
  answer: {type: str}
roles: [clerk]
nodes:
  start: {type: start}
  ask: {type: task, kind: human, role: clerk, catch: [{message: cancel, to: cancelled}]}
  pause: {type: timer, after: PT1H}
  choose: {type: event}
  reply: {type: task, kind: receive, writes: [answer], check: "answer != ''"}
  late: {type: timer, after: P2D}
  cancelled: {type: end}
  done: {type: end}
  gave_up: {type: end}
flows: [start -> ask, ask -> pause, pause -> choose, choose -> reply, choose -> late,
        reply -> done, late -> gave_up]
"""
