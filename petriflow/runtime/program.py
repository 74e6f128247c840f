"""A compiled process's net, indexed for running one case at a time.

The engine executes the very net the checker proves. This module is that net's firing
rule (``petriflow.net.plan``) specialised to the shape every compiled process has:
black control tokens, one data record in the place ``data`` bound as ``_d``, guards,
inhibitor arcs for compensation, and free variables for the answers of people, agents
and services. A case's state is a list of token counts plus the data record, so a step
costs a few list operations and the guard and data-update closures the kernel compiled.
``tests/runtime/test_engine_vs_kernel.py`` drives this and ``petriflow.net.fire`` side
by side and checks that they agree on every step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from petriflow.errors import ColorError, ModelError, NotEnabledError, Problem
from petriflow.governance.audit import NOTHING
from petriflow.ids import PlaceId, TransitionId
from petriflow.model.compiled import DATA_PLACE, DATA_VAR, Action, CompiledProcess, Origin
from petriflow.net.colors import ColorSet, Record, RecordColor
from petriflow.net.evaluate import compile_expr
from petriflow.net.expr import Update, Var

#: Roles of transitions the engine fires by itself as soon as they are enabled.
AUTOMATIC = frozenset({Action.RUN.value, Action.OFFER.value, Action.ROUTE.value,
                       Action.END.value, Action.COMPENSATE.value, Action.SKIP.value})


#: The result of firing: new counts, new data, and which fields changed (a plain tuple:
#: it is made on every step and unpacked at once; no field changed: :data:`NOTHING`).
Step = tuple[list[int], Mapping[str, Any], Mapping[str, Any]]


@dataclass(slots=True)
class ProgramTransition:
    index: int
    id: TransitionId
    origin: Origin
    ins: tuple[tuple[int, int], ...]
    inhibit: tuple[tuple[int, int], ...]
    outs: tuple[tuple[int, int], ...]
    reads_data: bool
    data_value: Callable[[Mapping[str, Any]], Any] | None
    data_check: ColorSet | None
    # ``update(_d, f=e, ...)``: only the changed fields are computed and validated (the
    # others come from a record that is valid already): (field, closure, color) triples
    data_changes: tuple[tuple[str, Callable[[Mapping[str, Any]], Any], ColorSet], ...] | None
    guard: Callable[[Mapping[str, Any]], Any] | None
    answers: dict[str, ColorSet]          # free variables: what the participant answers
    meta: dict[str, str]
    automatic: bool
    task: str = field(init=False)            # the model element (origin.element)
    action: str | None = field(init=False)   # its role in the translation (origin.role)
    # enabled whenever its one input place is marked and the case has data: one input arc
    # of weight 1, no inhibitor arc, no guard (most routing steps and offers)
    trivial: bool = field(init=False)

    def __post_init__(self) -> None:
        self.task = self.origin.element
        self.action = self.origin.role
        self.trivial = (len(self.ins) == 1 and self.ins[0][1] == 1 and not self.inhibit
                        and self.guard is None)


class Program:
    """The net of one compiled process, ready to step cases."""

    def __init__(self, compiled: CompiledProcess) -> None:
        net = compiled.net
        self.compiled = compiled
        self.places: list[PlaceId] = [p.id for p in net.places]
        self.index = {p: i for i, p in enumerate(self.places)}
        self.data_index = self.index.get(DATA_PLACE, -1)
        self.transitions: list[ProgramTransition] = []
        self.by_id: dict[str, ProgramTransition] = {}
        problems: list[Problem] = []
        for i, t in enumerate(net.transitions):
            plan = net.plan(t.id)
            origin = compiled.source_map.transitions[t.id]
            if plan.read:
                problems.append(Problem("the engine runs compiled processes only; this "
                                        "transition has read arcs", element=t.id))
                continue
            ins, reads = [], False
            for arc in plan.consume:
                place, weight, var = arc.place, arc.weight, arc.pattern
                var = var.name if isinstance(var, Var) else (None if var is None else "?")
                if place == DATA_PLACE:
                    if var != DATA_VAR or weight != 1:
                        problems.append(Problem("unexpected data arc", element=t.id))
                    reads = True
                elif var is not None:
                    problems.append(Problem("control places hold black tokens only",
                                            element=t.id))
                else:
                    ins.append((self.index[place], weight))
            outs, value, check = [], None, None
            for place, weight, val, chk in plan.simple_out:
                if place == DATA_PLACE:
                    value, check = val, chk
                elif val is not None:
                    problems.append(Problem("control places hold black tokens only",
                                            element=t.id))
                else:
                    outs.append((self.index[place], weight))
            if reads and value is not None and _is_identity(net, t.id):
                value = None  # the data record is put back unchanged
            changes = _update_of(net, t.id, compiled.data_color) if reads else None
            answers = {n: c for n, c in plan.var_colors.items() if n != DATA_VAR}
            pt = ProgramTransition(
                index=i, id=t.id, origin=origin, ins=tuple(ins),
                inhibit=tuple((self.index[p], w) for p, w in plan.inhibit),
                outs=tuple(outs), reads_data=reads, data_value=value, data_check=check,
                data_changes=changes if value is not None else None,
                guard=plan.guard, answers=answers, meta=dict(t.meta),
                automatic=origin.role in AUTOMATIC and not answers,
            )
            self.transitions.append(pt)
            self.by_id[t.id] = pt
        ModelError.collect(problems)
        self.consumers: list[tuple[ProgramTransition, ...]] = [() for _ in self.places]
        for pt in self.transitions:
            for p, _ in pt.ins:
                if pt.automatic:
                    self.consumers[p] += (pt,)
        self.place_range = range(len(self.places))
        self.initial = [net.initial_marking.count(p) if p != DATA_PLACE else 0
                        for p in self.places]
        self.final = {self.index[p] for p in compiled.final_places}
        self.history = {self.index[p] for p in compiled.history_places}
        self.work_places = {self.index[p]: p for p, o in compiled.source_map.places.items()
                            if o.kind == "work item"}
        self.work_indices = tuple(self.work_places)
        self.ignored = self.history | {self.data_index}   # neither final nor in the way
        self.implicit = compiled.implicit   # any number of end tokens ends the case

    # -- firing -------------------------------------------------------------------------

    def why_not(self, t: ProgramTransition, counts: list[int], data: Mapping[str, Any] | None,
                env: dict[str, Any]) -> str | None:
        """None if ``t`` may fire with the answers in ``env``, else the reason."""
        for p, w in t.ins:
            if counts[p] < w:
                return f"place '{self.places[p]}' holds {counts[p]} tokens, needs {w}"
        for p, w in t.inhibit:
            if counts[p] >= w:
                return f"inhibitor arc: place '{self.places[p]}' holds {w} or more tokens"
        if t.reads_data:
            if data is None:
                return "the case has no data yet"
            env[DATA_VAR] = data
        if t.guard is not None:
            try:
                if t.guard(env) is not True:
                    return "the guard is false for this binding"
            except (ArithmeticError, KeyError, TypeError):
                return "the guard cannot be evaluated for this binding"
        return None

    def enabled(self, t: ProgramTransition, counts: list[int],
                data: Mapping[str, Any] | None) -> bool:
        """``why_not(t, counts, data, {}) is None`` without the reason (the automatic
        transitions are asked this many times per step; a join waiting for its other
        branch need not spell out which place is empty)."""
        for p, w in t.ins:
            if counts[p] < w:
                return False
        for p, w in t.inhibit:
            if counts[p] >= w:
                return False
        if t.reads_data and data is None:
            return False
        guard = t.guard
        if guard is None:
            return True
        try:
            return guard({DATA_VAR: data} if t.reads_data else {}) is True
        except (ArithmeticError, KeyError, TypeError):
            return False

    def fire(self, t: ProgramTransition, counts: list[int], data: Mapping[str, Any] | None,
             env: dict[str, Any], *, checked: bool = False) -> Step:
        """Fire ``t``; ``env`` holds the validated answers. Raises NotEnabledError.
        ``checked``: :meth:`why_not` was just None for this state and these answers (as
        :meth:`next_automatic` ensures), so it is not asked again."""
        if checked:
            if t.reads_data:
                env[DATA_VAR] = data
        else:
            reason = self.why_not(t, counts, data, env)
            if reason is not None:
                raise NotEnabledError(f"transition '{t.id}' is not enabled: {reason}",
                                      transition=t.id)
        new = counts.copy()
        for p, w in t.ins:
            new[p] -= w
        for p, w in t.outs:
            new[p] += w
        written: Mapping[str, Any] = NOTHING  # (most steps write nothing: one shared view)
        if t.data_changes is not None and data is not None:
            try:
                for name, fn, color in t.data_changes:
                    value = color.validate(fn(env))
                    old = data[name]
                    if value != old or type(value) is not type(old):
                        if not written:
                            written = {}
                        written[name] = value  # type: ignore[index]
            except ColorError as exc:
                raise NotEnabledError(f"transition '{t.id}' is not enabled: output to place "
                                      f"'data': field '{name}': {exc}",
                                      transition=t.id) from None
            except (ArithmeticError, KeyError, TypeError) as exc:
                raise NotEnabledError(f"transition '{t.id}' is not enabled: {exc}",
                                      transition=t.id) from None
            return new, Record(data, **written) if written else data, written
        if t.data_value is not None:
            try:
                value = t.data_value(env)
                if t.data_check is not None:
                    value = t.data_check.validate(value)
            except ColorError as exc:
                raise NotEnabledError(f"transition '{t.id}' is not enabled: output to place "
                                      f"'data': {exc}", transition=t.id) from None
            except (ArithmeticError, KeyError, TypeError) as exc:
                raise NotEnabledError(f"transition '{t.id}' is not enabled: {exc}",
                                      transition=t.id) from None
            if data is not None:
                written = {k: v for k, v in value.items() if data.get(k) != v
                           or type(data.get(k)) is not type(v)} or NOTHING
            else:
                written = dict(value) or NOTHING
            data = value
        return new, data if data is not None else {}, written

    def next_automatic(self, counts: list[int], data: Mapping[str, Any] | None
                       ) -> ProgramTransition | None:
        """The first (in declaration order) automatic transition enabled now."""
        best: ProgramTransition | None = None
        consumers = self.consumers
        for p in compress(self.place_range, counts):  # the marked places, at C speed
            for t in consumers[p]:  # (in declaration order)
                if best is not None and t.index >= best.index:
                    break
                if (t.trivial and (data is not None or not t.reads_data)) or \
                        self.enabled(t, counts, data):
                    best = t
                    break
        return best

    # -- markings ------------------------------------------------------------------------

    def is_final(self, counts: list[int]) -> bool:
        """The case has ended (models/SEMANTICS.md, Final markings): no control token is
        left outside the end places, and they hold exactly one token (explicit
        termination) or at least one (implicit termination)."""
        reached = 0
        final, ignored = self.final, self.ignored
        for p in compress(self.place_range, counts):
            if p in final:
                reached += counts[p]
            elif p not in ignored:
                return False
        return reached == 1 or (reached > 1 and self.implicit)

    def waits(self, counts: list[int]) -> bool:
        """Some work place holds a token (a work item is open)."""
        return any(map(counts.__getitem__, self.work_indices))

    def counts_of(self, marking: Mapping[str, int]) -> list[int]:
        counts = [0] * len(self.places)
        index = self.index
        for p, n in marking.items():
            counts[index[p]] = n
        return counts

    def named(self, counts: list[int]) -> dict[str, int]:
        places, data = self.places, self.data_index
        return {places[i]: counts[i] for i in compress(self.place_range, counts) if i != data}


def _update_of(net: Any, tid: TransitionId, color: RecordColor
               ) -> tuple[tuple[str, Callable[[Mapping[str, Any]], Any], ColorSet], ...] | None:
    """The field updates of a data arc ``update(_d, ...)``, when that is its inscription."""
    for arc in net.outputs[tid]:
        if arc.place != DATA_PLACE:
            continue
        ins = arc.inscription
        if not (isinstance(ins, Update) and isinstance(ins.base, Var)
                and ins.base.name == DATA_VAR):
            return None
        fields = dict(color.fields)
        if any(k not in fields for k, _ in ins.changes):
            return None
        return tuple((k, compile_expr(e), fields[k]) for k, e in ins.changes)
    return None


def _is_identity(net: Any, tid: TransitionId) -> bool:
    for arc in net.outputs[tid]:
        if arc.place == DATA_PLACE:
            return isinstance(arc.inscription, Var) and arc.inscription.name == DATA_VAR
    return False


__all__ = ["AUTOMATIC", "Program", "ProgramTransition", "Step"]
