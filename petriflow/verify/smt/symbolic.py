"""Symbolic reachability of compiled processes: explicit control, symbolic case data.

A compiled process has a small control skeleton (black tokens) and a case-data record
whose values are whatever people and agents answer. The explorer enumerates control
markings explicitly and keeps, for each, a Z3 formula over the current data fields
(and monitor variables): the set of data values with which that marking is reachable.
A firing's post-image is computed exactly by quantifier elimination
(``∃ old, answers. region ∧ guard ∧ new = update``). A region is explored further only
for its part not already covered at the same control marking, so loops that overwrite
data with fresh answers reach a fixpoint. The fixpoint is an inductive invariant, and
:meth:`Exploration.recheck` re-verifies it with a fresh solver.

Exactness: the explored regions are exactly the reachable data (no abstraction), so a
bad region found is a real violation, confirmed by a concrete run that the kernel
replays; if the exploration exceeds its budget the answer is ``unknown``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import z3

from petriflow.model.compiled import DATA_PLACE, CompiledProcess
from petriflow.net.colors import ColorSet, RecordColor, StrColor
from petriflow.net.expr import Expr, RecordExpr, Var
from petriflow.verify.smt.cone import fields_read, may_leave, relevant_fields, write_pairs
from petriflow.verify.smt.encode import (
    Texts,
    Translator,
    Unsupported,
    decode_value,
    domain,
    encode_value,
    fresh,
)
from petriflow.verify.smt.solver import make_solver

# Projection: qe-light (substitution of defined variables) is cheap and often enough;
# when it leaves a quantifier, qe2 (model-based projection) gives far smaller regions
# than qe on these formulas; qe is the last resort when qe2 gives up.
_QE_LIGHT = z3.Then(z3.Tactic("qe-light"), z3.Tactic("simplify"))
_QE = z3.Then(z3.Tactic("qe2"), z3.Tactic("simplify"))
_QE_FALLBACK = z3.Then(z3.Tactic("qe"), z3.Tactic("simplify"))


@dataclass
class Monitor:
    """Extra state for a policy: variables with initial values, per-transition updates,
    per-transition bad conditions, and a bad-state condition.

    Updates and conditions are functions of (fields, outputs, monitor variables), given
    as dicts of Z3 terms; ``choices`` are extra existential variables a transition may
    use (nondeterministic guesses)."""

    variables: dict[str, tuple[z3.ExprRef, Any]] = field(default_factory=dict)
    updates: dict[str, Callable[[dict, dict, dict], dict[str, z3.ExprRef]]] = field(
        default_factory=dict)
    bad: dict[str, Callable[[dict, dict, dict], z3.BoolRef]] = field(default_factory=dict)
    bad_state: Callable[[dict, dict], z3.BoolRef] | None = None
    choices: dict[str, list[z3.ExprRef]] = field(default_factory=dict)


@dataclass
class SymTransition:
    id: str
    consume: tuple[tuple[int, int], ...]
    produce: tuple[tuple[int, int], ...]
    inhibit: tuple[tuple[int, int], ...]
    reads_data: bool
    creates_data: bool
    outputs: dict[str, tuple[z3.ExprRef, ColorSet]]
    guard: z3.BoolRef
    update: dict[str, z3.ExprRef]
    valid: z3.BoolRef


@dataclass
class Node:
    control: tuple[int, ...]
    region: z3.BoolRef
    parent: int | None
    transition: str | None


@dataclass
class Finding:
    """A bad situation: reached at ``node`` (then, optionally, firing ``transition``),
    for data satisfying ``condition``."""

    node: int
    condition: z3.BoolRef
    transition: str | None = None
    kind: str = "bad"


class Budget(Exception):
    pass


class Diverging(Budget):
    """The exploration keeps adding data regions at one control marking (a counter in a
    loop): it is unlikely to close, and another method should try first."""


# Regions added to one control marking before the exploration calls itself diverging;
# the reference processes need at most 10.
MAX_REGIONS = 32


class Exploration:
    def __init__(self, compiled: CompiledProcess, monitor: Monitor | None = None, *,
                 deadline: float, max_nodes: int = 20_000,
                 needs: Iterable[str] = (),
                 encodings: dict[frozenset[str], Any] | None = None) -> None:
        self.compiled = compiled
        self.net = compiled.net
        self.monitor = monitor or Monitor()
        self.deadline = deadline
        self.max_nodes = max_nodes
        self.max_regions: int | None = MAX_REGIONS
        self.texts = Texts()
        self.translate = Translator(self.texts)
        self.record: RecordColor = compiled.data_color
        # Cone of influence: only fields that a guard, the property, or such a field's
        # update reads are tracked; the others cannot change what can happen.
        relevant = relevant_fields(compiled, set(needs))
        self.fields = {name: (fresh(f"f!{name}", c), c) for name, c in self.record.fields
                       if name in relevant}
        self.control_places = [p.id for p in self.net.places if p.id != DATA_PLACE]
        self.cindex = {p: i for i, p in enumerate(self.control_places)}
        self.finals = {self.cindex[p] for p in compiled.final_places}
        self.implicit = compiled.implicit  # BPMN's implicit termination (SEMANTICS.md)
        self.history = {self.cindex[p] for p in compiled.history_places}
        # Explorations of one check call that track the same fields share their encoding
        # (text codes, transitions, enabling conditions): it does not depend on the monitor.
        key = frozenset(self.fields)
        if encodings is not None and key in encodings:
            self.texts, self.transitions, self._enabled_cache = encodings[key]
            self.translate = Translator(self.texts)
        else:
            self.texts.collect([t.guard for t in self.net.transitions]
                               + [a.inscription for a in self.net.arcs])
            for t in self.net.transitions:  # agent ids and other literals in meta
                for k, value in t.meta:
                    if k == "agent":
                        self.texts.code(value)
            self.transitions = [self._encode(t.id) for t in self.net.transitions]
            self._enabled_cache = {}
            if encodings is not None:
                encodings[key] = (self.texts, self.transitions, self._enabled_cache)
        self.by_id = {t.id: t for t in self.transitions}
        self.nodes: list[Node] = []
        self.union: dict[tuple[int, ...], z3.BoolRef] = {}
        self.fired: set[str] = set()
        self.solver = make_solver()
        self.complete = False

    # -- encoding ----------------------------------------------------------------------------

    def _encode(self, tid: str) -> SymTransition:
        t = self.net.transition(tid)
        consume, produce, inhibit = {}, {}, {}
        data_in: Expr | None = None
        data_out: Expr | None = None
        for a in self.net.inputs[t.id]:
            if a.place == DATA_PLACE:
                data_in = a.inscription
                continue
            target = inhibit if a.kind.value == "inhibitor" else consume
            if a.kind.value == "read":
                raise Unsupported("read arcs on control places are not supported")
            target[self.cindex[a.place]] = target.get(self.cindex[a.place], 0) + a.weight
        for a in self.net.outputs[t.id]:
            if a.place == DATA_PLACE:
                data_out = a.inscription
                continue
            produce[self.cindex[a.place]] = produce.get(self.cindex[a.place], 0) + a.weight
        outputs = {name: (fresh(f"o!{tid}!{name}", color), color) for name, color in t.variables}
        env: dict[str, Any] = {n: (term, c) for n, (term, c) in outputs.items()}
        fields = {name: term for name, (term, _) in self.fields.items()}
        for name, color in self.record.fields:  # untracked fields read as free values
            if name not in fields:
                fields[name] = fresh(f"u!{tid}!{name}", color)
        if data_in is not None:
            if not isinstance(data_in, Var):
                raise Unsupported("the data arc must bind a variable")
            env[data_in.name] = (fields, self.record)
        guard = z3.BoolVal(True) if t.guard is None else self.translate.boolean(t.guard, env)
        parts = [domain(term, c, self.texts) for term, c in outputs.values()]
        if data_out is not None:
            answers = dict(t.variables)
            for name, value in write_pairs(data_out):
                color = self.record.field(name)
                if isinstance(color, StrColor) and (
                        color.max_length is not None or color.min_length > 1) and \
                        may_leave(value, name, color, answers, self.record):
                    # texts are codes here, without a length: the kernel's refusal of a
                    # text too long or too short for the field cannot be seen
                    raise Unsupported(f"{tid} writes text into field {name!r}, whose "
                                      "length limits the checker does not track")
        update: dict[str, z3.ExprRef] = {}
        if data_out is not None:
            if isinstance(data_out, RecordExpr):
                new = {}
                for name, value in data_out.fields:
                    if name not in self.fields:
                        continue
                    target = self.record.field(name)
                    assert target is not None
                    term, color = self.translate(value, env)
                    new[name] = self.translate.coerce(term, color, target)
            else:
                new, _ = self.translate(data_out, env)
            for name, term in new.items():
                if name in self.fields and not z3.eq(term, fields[name]):
                    update[name] = term
            for name, term in update.items():
                parts.append(domain(term, self.fields[name][1], self.texts))
        return SymTransition(tid, tuple(consume.items()), tuple(produce.items()),
                             tuple(inhibit.items()), data_in is not None,
                             data_in is None and data_out is not None, outputs, guard, update,
                             z3.And(parts) if parts else z3.BoolVal(True))

    # -- regions -----------------------------------------------------------------------------

    def sat(self, formula: z3.BoolRef) -> bool:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise Budget("time budget spent")
        self.solver.push()
        self.solver.set("timeout", max(1, int(remaining * 1000)))
        self.solver.add(formula)
        answer = self.solver.check()
        self.solver.pop()
        if answer == z3.unknown:
            raise Budget(f"the solver could not decide ({self.solver.reason_unknown()})")
        return answer == z3.sat

    def enabled_condition(self, t: SymTransition) -> z3.BoolRef:
        """Data values (and monitor values) with which ``t`` can fire: ∃ answers. guard."""
        if t.id not in self._enabled_cache:
            body = z3.And(t.guard, t.valid)
            qvars = [term for term, _ in t.outputs.values()]
            self._enabled_cache[t.id] = _eliminate(qvars, body)
        return self._enabled_cache[t.id]

    def step_formula(self, t: SymTransition, region: z3.BoolRef
                     ) -> tuple[z3.BoolRef, dict[str, z3.ExprRef], list[z3.ExprRef]]:
        """Pre-state constraint with new-value variables, and what to eliminate."""
        mon = self.monitor
        mvars = {n: v for n, (v, _) in mon.variables.items()}
        fields = {n: term for n, (term, _) in self.fields.items()}
        outs = {n: term for n, (term, _) in t.outputs.items()}
        changes = dict(t.update)
        choice_vars = list(mon.choices.get(t.id, []))
        if t.id in mon.updates:
            changes.update(mon.updates[t.id](fields, outs, mvars))
        new_vars: dict[str, z3.ExprRef] = {}
        eqs = []
        for name, term in changes.items():
            current = fields.get(name, mvars.get(name))
            nv = z3.Const(f"n!{name}", current.sort())
            new_vars[name] = nv
            eqs.append(nv == term)
        body = z3.And(region, t.guard, t.valid, *eqs)
        qvars = [fields.get(n, mvars.get(n)) for n in changes] + list(outs.values()) + choice_vars
        return body, new_vars, qvars

    def post(self, t: SymTransition, region: z3.BoolRef) -> z3.BoolRef:
        if not t.update and t.id not in self.monitor.updates:
            # Nothing tracked changes: the post-image is the region where some answer
            # enables t; that condition is computed once per transition, not per state.
            enabled = self.enabled_condition(t)
            return region if z3.is_true(enabled) else z3.And(region, enabled)
        body, new_vars, qvars = self.step_formula(t, region)
        projected = _eliminate(qvars, body)
        current = {**{n: term for n, (term, _) in self.fields.items()},
                   **{n: v for n, (v, _) in self.monitor.variables.items()}}
        return z3.substitute(projected, *[(nv, current[n]) for n, nv in new_vars.items()]) \
            if new_vars else projected

    # -- exploration -------------------------------------------------------------------------

    def initial(self) -> Node:
        control = tuple(self.net.initial_marking.count(p) for p in self.control_places)
        init = [v == value for v, value in self.monitor.variables.values()]
        return Node(control, z3.And(init) if init else z3.BoolVal(True), None, None)

    def structurally_enabled(self, control: tuple[int, ...]) -> list[SymTransition]:
        out = []
        for t in self.transitions:
            if all(control[p] >= w for p, w in t.consume) and all(
                control[p] < w for p, w in t.inhibit
            ):
                out.append(t)
        return out

    def started(self, control: tuple[int, ...]) -> bool:
        return control[self.cindex["source"]] == 0

    def is_final(self, control: tuple[int, ...]) -> bool:
        """Explicit termination: one token in one end place; implicit: at least one token
        in end places. In both, no control token elsewhere (history places aside)."""
        ends = sum(control[p] for p in self.finals)
        if ends == 0 or (ends > 1 and not self.implicit):
            return False
        return all(n == 0 or p in self.finals or p in self.history
                   for p, n in enumerate(control))

    def explore(self, *, check_deadlock: bool = False,
                state_bad: Callable[[dict], z3.BoolRef] | None = None) -> Finding | None:
        """Explore until a finding (returned) or the fixpoint (``complete`` set)."""
        root = self.initial()
        self.nodes = [root]
        self.union = {root.control: root.region}
        self.regions: dict[tuple[int, ...], int] = {}
        queue = deque([0])
        fields = {n: term for n, (term, _) in self.fields.items()}
        mvars = {n: v for n, (v, _) in self.monitor.variables.items()}
        while queue:
            i = queue.popleft()
            node = self.nodes[i]
            started = self.started(node.control)
            if started and state_bad is not None:
                cond = state_bad(fields)
                if self.sat(z3.And(node.region, cond)):
                    return Finding(i, cond, kind="state")
            if started and self.monitor.bad_state is not None:
                cond = self.monitor.bad_state(fields, mvars)
                if self.sat(z3.And(node.region, cond)):
                    return Finding(i, cond, kind="state")
            enabled = self.structurally_enabled(node.control)
            if check_deadlock and not self.is_final(node.control):
                stuck = z3.And([z3.Not(self.enabled_condition(t)) for t in enabled])
                if self.sat(z3.And(node.region, stuck)):
                    return Finding(i, stuck, kind="deadlock")
            for t in enabled:
                # A node's region is satisfiable (it was checked, or is the projection of
                # a satisfiable step), so an unguarded step needs no solver call.
                pre = z3.And(node.region, t.guard, t.valid)
                unguarded = z3.is_true(t.guard) and z3.is_true(t.valid)
                if not unguarded and not self.sat(pre):
                    continue
                if t.id in self.monitor.bad:
                    outs = {n: term for n, (term, _) in t.outputs.items()}
                    cond = self.monitor.bad[t.id](fields, outs, mvars)
                    if self.sat(z3.And(pre, cond)):
                        return Finding(i, cond, transition=t.id, kind="transition")
                self.fired.add(t.id)
                new_control = list(node.control)
                for p, w in t.consume:
                    new_control[p] -= w
                for p, w in t.produce:
                    new_control[p] += w
                nc = tuple(new_control)
                region = self.post(t, node.region)
                known = self.union.get(nc)
                fresh_part = region if known is None else z3.And(region, z3.Not(known))
                if known is not None and (z3.eq(region, known) or not self.sat(fresh_part)):
                    continue
                self.union[nc] = region if known is None else z3.simplify(z3.Or(known, region))
                self.regions[nc] = self.regions.get(nc, 0) + 1
                if self.max_regions is not None and self.regions[nc] > self.max_regions:
                    raise Diverging(f"the case data keeps changing at one control state "
                                    f"({self.max_regions} regions)")
                if len(self.nodes) >= self.max_nodes:
                    raise Budget(f"more than {self.max_nodes} symbolic states")
                if max(nc) > 1000:
                    raise Budget("a control place holds more than 1000 tokens (unbounded?)")
                self.nodes.append(Node(nc, fresh_part if known is not None else region, i, t.id))
                queue.append(len(self.nodes) - 1)
        self.complete = True
        return None

    # -- evidence ----------------------------------------------------------------------------

    def path(self, node: int) -> list[str]:
        out = []
        n: int | None = node
        while n is not None and self.nodes[n].transition is not None:
            out.append(str(self.nodes[n].transition))
            n = self.nodes[n].parent
        out.reverse()
        return out

    def concretize(self, finding: Finding) -> list[tuple[str, dict[str, Any]]] | None:
        """Concrete bindings along the path to ``finding`` (None if the solver cannot)."""
        steps = self.path(finding.node)
        if finding.transition is not None:
            steps.append(finding.transition)
        s = make_solver(max(1.0, self.deadline - time.monotonic()))
        mon = self.monitor
        state = {**{n: term for n, (term, _) in self.fields.items()},
                 **{n: v for n, (v, _) in mon.variables.items()}}
        k0 = {n: z3.Const(f"s0!{n}", v.sort()) for n, v in state.items()}
        s.add([k0[n] == value for n, (_, value) in mon.variables.items()])
        current = k0
        per_step: list[dict[str, z3.ExprRef]] = []
        for k, tid in enumerate(steps):
            t = self.by_id[tid]
            outs = {n: z3.Const(f"s{k}!o!{n}", term.sort()) for n, (term, _) in t.outputs.items()}
            choice = {str(c): z3.Const(f"s{k}!c!{c}", c.sort()) for c in mon.choices.get(tid, [])}
            rename = [(state[n], current[n]) for n in state] + [
                (t.outputs[n][0], outs[n]) for n in outs] + [
                (c, choice[str(c)]) for c in mon.choices.get(tid, [])]
            {n: current[n] for n in self.fields}
            {n: current[n] for n in mon.variables}
            last = k == len(steps) - 1
            if last and finding.transition is not None:
                s.add(z3.substitute(finding.condition, *rename))
            s.add(z3.substitute(z3.And(t.guard, t.valid), *rename))
            changes = {n: z3.substitute(term, *rename) for n, term in t.update.items()}
            if tid in mon.updates:
                orig_f = {n: term for n, (term, _) in self.fields.items()}
                orig_o = {n: term for n, (term, _) in t.outputs.items()}
                orig_m = {n: v for n, (v, _) in mon.variables.items()}
                for n, term in mon.updates[tid](orig_f, orig_o, orig_m).items():
                    changes[n] = z3.substitute(term, *rename)
            nxt = dict(current)
            for n, term in changes.items():
                nv = z3.Const(f"s{k + 1}!{n}", term.sort())
                s.add(nv == term)
                nxt[n] = nv
            per_step.append(outs)
            current = nxt
        if finding.transition is None:
            s.add(z3.substitute(finding.condition, *[(state[n], current[n]) for n in state]))
        if s.check() != z3.sat:
            return None
        # Prefer answers that are either empty or fresh names over reusing literals of the
        # model (a person called "EUR" would confuse a reader); drop the wish if needed.
        fresh_codes = len(self.texts.codes)
        wishes = [z3.Or(v == 0, v >= fresh_codes)
                  for tid, outs in zip(steps, per_step, strict=True)
                  for n, v in outs.items() if isinstance(self.by_id[tid].outputs[n][1], StrColor)]
        for wish in wishes:  # one by one: an agent's actor must stay its literal id
            s.push()
            s.add(wish)
            if s.check() != z3.sat:
                s.pop()
        s.check()
        model = s.model()
        # One name per code (a text equal to an actor is that actor's name everywhere);
        # codes some actor uses read as people, the others as plain texts.
        people = {model.eval(v, model_completion=True).as_long()
                  for outs in per_step for n, v in outs.items() if "actor" in n}
        out = []
        for tid, outs in zip(steps, per_step, strict=True):
            t = self.by_id[tid]
            binding = {}
            for n, v in outs.items():
                value = model.eval(v, model_completion=True)
                prefix = "person" if isinstance(t.outputs[n][1], StrColor) and (
                    value.as_long() in people) else "text"
                binding[n] = decode_value(value, t.outputs[n][1], self.texts, prefix)
            out.append((tid, binding))
        return out

    def encode_record(self, values: dict[str, Any]) -> z3.BoolRef:
        """The constraint that the fields equal a concrete record."""
        return z3.And([term == encode_value(values[n], c, self.texts)
                       for n, (term, c) in self.fields.items()])

    # -- certificates and backward analysis -------------------------------------------------

    def recheck(self, state_bad: Callable[[dict], z3.BoolRef] | None = None,
                check_deadlock: bool = False) -> bool:
        """Re-verify the fixpoint as an inductive invariant with a fresh solver."""
        s = make_solver(max(1.0, self.deadline - time.monotonic() + 30))
        fields = {n: term for n, (term, _) in self.fields.items()}
        mvars = {n: v for n, (v, _) in self.monitor.variables.items()}
        root = self.initial()
        s.push()
        s.add(z3.And(root.region, z3.Not(self.union[root.control])))
        if s.check() != z3.unsat:
            return False
        s.pop()
        for control, inv in self.union.items():
            started = self.started(control)
            for cond in ([state_bad(fields)] if state_bad and started else []) + (
                    [self.monitor.bad_state(fields, mvars)] if self.monitor.bad_state
                    and started else []):
                s.push()
                s.add(inv, cond)
                if s.check() != z3.unsat:
                    return False
                s.pop()
            enabled = self.structurally_enabled(control)
            if check_deadlock and not self.is_final(control):
                s.push()
                s.add(inv, *[z3.Not(self.enabled_condition(t)) for t in enabled])
                if s.check() != z3.unsat:
                    return False
                s.pop()
            for t in enabled:
                nc = list(control)
                for p, w in t.consume:
                    nc[p] -= w
                for p, w in t.produce:
                    nc[p] += w
                target = self.union.get(tuple(nc))
                body, new_vars, _ = self.step_formula(t, inv)
                outs = {n: term for n, (term, _) in t.outputs.items()}
                if t.id in self.monitor.bad:
                    s.push()
                    s.add(inv, t.guard, t.valid, self.monitor.bad[t.id](fields, outs, mvars))
                    if s.check() != z3.unsat:
                        return False
                    s.pop()
                current = {**fields, **mvars}
                if target is None:
                    s.push()
                    s.add(body)
                    if s.check() != z3.unsat:
                        return False
                    s.pop()
                    continue
                after = z3.substitute(target, *[(current[n], nv) for n, nv in new_vars.items()])
                s.push()
                s.add(body, z3.Not(after))
                if s.check() != z3.unsat:
                    return False
                s.pop()
        return True

    def data_never_blocks(self) -> bool:
        """Whether, for every group of transitions taking the same control tokens, some
        answer always enables one of them, whatever the case data (within its types)."""
        groups: dict[tuple[Any, ...], list[SymTransition]] = {}
        for t in self.transitions:
            groups.setdefault((t.consume, t.inhibit), []).append(t)
        domains = z3.And([domain(term, c, self.texts) for term, c in self.fields.values()])
        for members in groups.values():
            conditions = [self.enabled_condition(t) for t in members]
            if any(z3.is_true(c) for c in conditions):
                continue  # an unguarded member: this group is never blocked by data
            some = z3.Or(conditions)
            if self.sat(z3.And(domains, z3.Not(some))):
                return False
        return True

    def improper_completion(self) -> Finding | None:
        """A reached marking with an end place marked while other work is open (explicit
        termination only: under implicit termination other branches may still run when
        one reaches its end, and the case ends when they all have)."""
        if self.implicit:
            return None
        for i, node in enumerate(self.nodes):
            ends = [p for p in self.finals if node.control[p]]
            others = [p for p, n in enumerate(node.control)
                      if n and p not in self.finals and p not in self.history]
            if ends and (others or sum(node.control[p] for p in ends) > 1):
                return Finding(i, z3.BoolVal(True), kind="state")
        return None

    def completion_failure(self) -> Finding | None:
        """A reached state from which no end can be reached (backward fixpoint)."""
        win = self.can_complete()
        for i, node in enumerate(self.nodes):
            stuck = z3.Not(win[node.control])
            if self.sat(z3.And(node.region, stuck)):
                return Finding(i, stuck, kind="state")
        return None

    def can_complete(self) -> dict[tuple[int, ...], z3.BoolRef]:
        """For each explored control marking, the data from which an end is reachable."""
        win: dict[tuple[int, ...], z3.BoolRef] = {
            c: (z3.BoolVal(True) if self.is_final(c) else z3.BoolVal(False)) for c in self.union}
        succ: dict[tuple[int, ...], list[tuple[SymTransition, tuple[int, ...]]]] = {}
        for c in self.union:
            out = []
            for t in self.structurally_enabled(c):
                nc = list(c)
                for p, w in t.consume:
                    nc[p] -= w
                for p, w in t.produce:
                    nc[p] += w
                if tuple(nc) in self.union:
                    out.append((t, tuple(nc)))
            succ[c] = out
        fields = {n: term for n, (term, _) in self.fields.items()}
        # A worklist least fixpoint: a state's region is recomputed only when a successor's
        # region grew. The step formula of a transition does not depend on the state, so
        # it is built once; into a successor that completes whatever the data, the
        # pre-image is just the transition's enabling condition (cached as well).
        preds: dict[tuple[int, ...], list[tuple[tuple[int, ...], SymTransition]]] = {}
        for c, moves in succ.items():
            if not self.is_final(c):
                for t, nc in moves:
                    preds.setdefault(nc, []).append((c, t))
        steps: dict[str, tuple[z3.BoolRef, dict[str, z3.ExprRef], list[z3.ExprRef]]] = {}
        queue = deque(c for c in self.union if self.is_final(c))
        queued = set(queue)
        while queue:
            nc = queue.popleft()
            queued.discard(nc)
            for c, t in preds.get(nc, []):
                if z3.is_true(win[c]):
                    continue
                if z3.is_true(win[nc]) and t.id not in self.monitor.updates \
                        and not self.monitor.choices.get(t.id):
                    pre = self.enabled_condition(t)
                else:
                    if t.id not in steps:
                        body, new_vars, qvars = self.step_formula(t, z3.BoolVal(True))
                        qvars = [v for v in qvars if not any(v.eq(fields[n]) for n in t.update)]
                        steps[t.id] = (body, new_vars, qvars + list(new_vars.values()))
                    body, new_vars, qvars = steps[t.id]
                    target = z3.substitute(win[nc], *[(fields[n], nv) for n, nv in
                                                      new_vars.items() if n in fields])
                    pre = _eliminate(qvars, z3.And(body, target))
                if self.sat(z3.And(pre, z3.Not(win[c]))):
                    win[c] = z3.simplify(z3.Or(win[c], pre))
                    if c not in queued:
                        queued.add(c)
                        queue.append(c)
        return win


# Projections repeat across the explorations of one check (the same step from the same
# region under different monitors): they are cached by formula. An entry keeps its
# formula alive, and a hit is confirmed structurally, so a reused AST id cannot alias.
_PROJECTIONS: dict[tuple[int, tuple[int, ...]], tuple[z3.BoolRef, list[z3.ExprRef],
                                                       z3.BoolRef]] = {}


def _eliminate(variables: list[z3.ExprRef], body: z3.BoolRef) -> z3.BoolRef:
    if not variables:
        return body
    key = (body.get_id(), tuple(v.get_id() for v in variables))
    hit = _PROJECTIONS.get(key)
    if hit is not None and z3.eq(hit[0], body) and all(
            z3.eq(a, b) for a, b in zip(hit[1], variables, strict=True)):
        return hit[2]
    if len(_PROJECTIONS) > 20_000:
        _PROJECTIONS.clear()
    result = _project(variables, body)
    _PROJECTIONS[key] = (body, list(variables), result)
    return result


def _project(variables: list[z3.ExprRef], body: z3.BoolRef) -> z3.BoolRef:
    # If elimination ever left a quantifier, later solver calls would still be exact
    # (or answer unknown, which ends the exploration as inconclusive).
    formula = z3.Exists(variables, body)
    light = _QE_LIGHT(formula).as_expr()
    if "(exists" not in light.sexpr():
        return light
    try:
        return _QE(formula).as_expr()
    except z3.Z3Exception:
        return _QE_FALLBACK(formula).as_expr()


__all__ = ["Budget", "Diverging", "Exploration", "Finding", "Monitor", "Unsupported", "fields_read"]
