"""Checks that span a whole process: references, structure, reachability and types.

Every problem is collected (with file, line and element id, and a "did you mean"
for unknown names) and raised at once by :func:`validate`.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

from petriflow.errors import ColorError, ExpressionError, ModelError, Problem, did_you_mean
from petriflow.governance.participants import ParticipantKind
from petriflow.governance.policies import DataMinimisation, LowConfidenceReview
from petriflow.model.broadcast import check_broadcasts
from petriflow.model.events import catch_targets, check_events
from petriflow.model.loader import LoadedProcess, SourceLines
from petriflow.model.scopes import check_scopes
from petriflow.model.scopes import targets as scope_targets
from petriflow.model.spec import (
    CallSpec,
    EndSpec,
    FieldSpec,
    GatewaySpec,
    ProcessSpec,
    StartSpec,
    TaskSpec,
)
from petriflow.net.colors import (
    BoolColor,
    ColorSet,
    DecimalColor,
    EnumColor,
    IntColor,
    StrColor,
)
from petriflow.net.expr import Expr, parse
from petriflow.net.typecheck import assignable, check_condition, infer

RESERVED = ("actor",)
MAX_INCLUSIVE_BRANCHES = 8


def field_color(name: str, f: FieldSpec) -> ColorSet:
    """The color set of a case-data field."""
    if f.type == "int":
        return IntColor(None if f.min is None else int(f.min), None if f.max is None
                        else int(f.max))
    if f.type in ("decimal", "float"):
        return DecimalColor(f.min, f.max)
    if f.type == "bool":
        return BoolColor()
    if f.type == "enum":
        return EnumColor(tuple(f.values or ()), name)
    if f.type == "actor" and f.input:
        return StrColor(min_length=1)  # a named person or system; "" means nobody
    return StrColor()


def field_default(f: FieldSpec, color: ColorSet) -> Any:
    """The value a non-input field starts with: its ``default`` or its type's zero."""
    if f.default is not None:
        value = f.default
        if isinstance(color, DecimalColor) and isinstance(value, float):
            value = str(value)
        return color.validate(value)
    if isinstance(color, IntColor):
        zero = 0
        if color.low is not None and zero < color.low:
            zero = color.low
        if color.high is not None and zero > color.high:
            zero = color.high
        return zero
    if isinstance(color, DecimalColor):
        zero = Decimal(0)
        if color.low is not None and zero < color.low:
            zero = color.low
        if color.high is not None and zero > color.high:
            zero = color.high
        return zero
    if isinstance(color, BoolColor):
        return False
    if isinstance(color, EnumColor):
        return color.values[0]
    return ""


class Validator:
    def __init__(self, loaded: LoadedProcess) -> None:
        self.loaded = loaded
        self.spec: ProcessSpec = loaded.spec
        self.src: SourceLines = loaded.source
        self.problems: list[Problem] = []
        self.colors: dict[str, ColorSet] = {}

    def problem(self, message: str, *path: str | int, element: str | None = None,
                hint: str | None = None) -> None:
        self.problems.append(self.src.problem(message, *path, element=element, hint=hint))

    def expression(self, text: str, env: dict[str, ColorSet], path: tuple[str | int, ...],
                   element: str, *, want: ColorSet | None = None, condition: bool = False,
                   src: SourceLines | None = None) -> Expr | None:
        src = src or self.src
        try:
            expr = parse(text, file=src.file, line=src.line(*path) or 1, element=element)
            if condition:
                check_condition(expr, env, file=src.file, element=element)
            else:
                t = infer(expr, env, file=src.file, element=element)
                if want is not None and not assignable(t, want):
                    raise ExpressionError(src.problem(
                        f"the value has type {t}, but the field holds {want}", *path,
                        element=element))
            return expr
        except ExpressionError as exc:
            self.problems.extend(exc.problems)
            return None

    def run(self) -> None:
        self.data()
        self.structure()
        self.tasks()
        self.flows()
        check_events(self)
        check_scopes(self)
        check_broadcasts(self)
        self.reachability()
        self.policies()
        ModelError.collect(self.problems)

    # -- pieces ----------------------------------------------------------------------------

    def data(self) -> None:
        for name, f in self.spec.data.items():
            if name.startswith("_") or name in RESERVED or name.startswith("by_"):
                self.problem(f"the field name '{name}' is reserved", "data", name, element=name,
                             hint="names starting with '_' or 'by_', and 'actor', are reserved")
                continue
            if f.type == "enum" and not f.values:
                self.problem(f"enum field '{name}' needs 'values'", "data", name, element=name)
                continue
            if f.values is not None and f.type != "enum":
                self.problem(f"only enum fields take 'values' (field '{name}' is {f.type})",
                             "data", name, element=name)
            if f.min is not None and f.max is not None and f.min > f.max:
                self.problem(f"field '{name}': min is above max", "data", name, element=name)
                continue
            if f.type == "int" and any(b is not None and b != b.to_integral_value()
                                       for b in (f.min, f.max)):
                bound = "min" if f.min is not None and f.min != f.min.to_integral_value() \
                    else "max"
                self.problem(f"field '{name}': an int field's {bound} is a whole number, got "
                             f"{getattr(f, bound)}", "data", name, bound, element=name)
                continue
            color = field_color(name, f)
            try:
                field_default(f, color)
            except ColorError as exc:
                self.problem(f"field '{name}': bad default: {exc}", "data", name, "default",
                             element=name)
            self.colors[name] = color
        for task_id, node in self.spec.nodes.items():
            if isinstance(node, TaskSpec) and node.kind.has_actor:
                self.colors[f"by_{task_id}"] = StrColor()

    def structure(self) -> None:
        nodes = self.spec.nodes
        starts = [n for n, s in nodes.items() if isinstance(s, StartSpec)]
        ends = [n for n, s in nodes.items() if isinstance(s, EndSpec)]
        if len(starts) != 1:
            self.problem(f"a process needs exactly one start event, found {len(starts)}"
                         + (f" ({', '.join(starts)})" if starts else ""), "nodes")
        if not ends:
            self.problem("a process needs at least one end event", "nodes")
        roles = set(self.spec.roles)
        if len(roles) != len(self.spec.roles):
            self.problem("a role is listed twice", "roles")
        agents = [a.id for a in self.spec.agents]
        if len(set(agents)) != len(agents):
            self.problem("an agent is registered twice", "agents")

    def tasks(self) -> None:
        nodes = self.spec.nodes
        agents = {a.id: a for a in self.spec.agents}
        fields = self.colors
        for tid, node in nodes.items():
            if not isinstance(node, TaskSpec):
                if isinstance(node, GatewaySpec) and node.pairs is not None:
                    other = nodes.get(node.pairs)
                    if not (isinstance(other, GatewaySpec) and other.type == "inclusive"):
                        self.problem(f"'pairs' of '{tid}' must name an inclusive gateway",
                                     "nodes", tid, "pairs", element=tid)
                continue
            at = ("nodes", tid)
            kind = node.kind
            for key in ("reads", "writes"):
                for i, name in enumerate(getattr(node, key)):
                    if name not in self.spec.data:
                        self.problem(f"task '{tid}' {key} unknown field '{name}'", *at, key, i,
                                     element=tid, hint=did_you_mean(name, self.spec.data))
            if kind is ParticipantKind.HUMAN:
                if node.role is None:
                    self.problem(f"human task '{tid}' needs a role", *at, element=tid)
                elif node.role not in self.spec.roles:
                    self.problem(f"task '{tid}' names unknown role '{node.role}'", *at, "role",
                                 element=tid, hint=did_you_mean(node.role, self.spec.roles))
            elif node.role is not None:
                self.problem(f"only human tasks have a role ('{tid}' is {kind.value})", *at,
                             "role", element=tid)
            if kind is ParticipantKind.AGENT:
                if node.agent is None:
                    self.problem(f"agent task '{tid}' needs an agent", *at, element=tid)
                elif node.agent not in agents:
                    self.problem(f"task '{tid}' names unregistered agent '{node.agent}'", *at,
                                 "agent", element=tid, hint=did_you_mean(node.agent, agents))
                if (node.threshold is not None or node.handoff) and node.confidence is None:
                    self.problem(f"agent task '{tid}' has a threshold but no confidence field",
                                 *at, element=tid)
                if node.confidence is not None:
                    if node.confidence not in node.writes:
                        self.problem(f"the confidence field '{node.confidence}' must be among "
                                     f"the fields task '{tid}' writes", *at, "confidence",
                                     element=tid)
                    elif not isinstance(fields.get(node.confidence), DecimalColor):
                        self.problem(f"the confidence field '{node.confidence}' must be a "
                                     "decimal or float field", *at, "confidence", element=tid)
                if node.confidence is not None and node.handoff is None:
                    self.problem(f"agent task '{tid}' reports a confidence but has no handoff "
                                 "task for low confidence", *at, element=tid)
            else:
                for key in ("agent", "confidence", "threshold", "handoff"):
                    if getattr(node, key) is not None:
                        self.problem(f"only agent tasks take '{key}' ('{tid}' is {kind.value})",
                                     *at, key, element=tid)
            if node.handoff is not None:
                target = nodes.get(node.handoff)
                if not (isinstance(target, TaskSpec) and target.kind is ParticipantKind.HUMAN):
                    self.problem(f"the handoff of '{tid}' must be a human task", *at, "handoff",
                                 element=tid, hint=did_you_mean(node.handoff, nodes))
            if node.set and kind is not ParticipantKind.AUTO:
                self.problem(f"only auto tasks 'set' fields ('{tid}' is {kind.value}); "
                             "external tasks declare 'writes'", *at, "set", element=tid)
            if kind is ParticipantKind.AUTO and node.writes:
                self.problem(f"auto task '{tid}' writes through 'set', not 'writes'", *at,
                             "writes", element=tid)
            for name, text in node.set.items():
                if name not in fields or name.startswith("by_"):
                    self.problem(f"task '{tid}' sets unknown field '{name}'", *at, "set", name,
                                 element=tid, hint=did_you_mean(name, self.spec.data))
                    continue
                self.expression(text, fields, (*at, "set", name), tid, want=fields[name])
            if node.retry is not None and kind not in (ParticipantKind.API, ParticipantKind.BOT):
                self.problem(f"only api and bot tasks retry ('{tid}' is {kind.value})", *at,
                             "retry", element=tid)
            if node.candidate is not None:
                if kind is not ParticipantKind.HUMAN:
                    self.problem(f"only human tasks have a candidate rule ('{tid}')", *at,
                                 "candidate", element=tid)
                env = dict(fields, actor=StrColor())
                self.expression(node.candidate, env, (*at, "candidate"), tid, condition=True)
            if node.check is not None:
                self.expression(node.check, fields, (*at, "check"), tid, condition=True)
            for key, target_id in (("on_error", node.on_error),
                                   ("timeout", node.timeout.to if node.timeout else None),
                                   ("compensation", node.compensation)):
                if target_id is not None and target_id not in nodes:
                    self.problem(f"task '{tid}' {key} names unknown node '{target_id}'", *at, key,
                                 element=tid, hint=did_you_mean(target_id, nodes))
                elif key != "compensation" and target_id is not None:
                    target = nodes[target_id]
                    joins = isinstance(target, GatewaySpec) and target.type in (
                        "parallel", "inclusive")
                    if isinstance(target, StartSpec | CallSpec) or joins:
                        self.problem(f"task '{tid}' {key} leads to '{target_id}', a "
                                     f"{target.type} node; it must lead to a task, an "
                                     "exclusive gateway or an end event", *at, key,
                                     element=tid)
            if node.on_error is not None and kind not in (ParticipantKind.API,
                                                          ParticipantKind.BOT):
                self.problem(f"only api and bot tasks fail with errors ('{tid}')", *at,
                             "on_error", element=tid)
            if node.compensation is not None:
                comp = nodes.get(node.compensation)
                if comp is not None and not isinstance(comp, TaskSpec):
                    self.problem(f"the compensation of '{tid}' must be a task", *at,
                                 "compensation", element=tid)
            if node.timeout is not None and not kind.external:
                self.problem(f"only external tasks have timeouts ('{tid}' is auto)", *at,
                             "timeout", element=tid)
            if node.timeout is not None:
                from petriflow.model.durations import parse_duration

                try:
                    parse_duration(node.timeout.after)
                except ValueError as exc:
                    self.problem(f"task '{tid}': {exc}", *at, "timeout", "after", element=tid)
            if node.remind is not None:
                from petriflow.model.durations import parse_duration

                if not kind.external:
                    self.problem(f"only external tasks have reminders ('{tid}' is auto)", *at,
                                 "remind", element=tid)
                try:
                    parse_duration(node.remind)
                except ValueError as exc:
                    self.problem(f"task '{tid}': reminder: {exc}", *at, "remind",
                                 element=tid)

    def flows(self) -> None:
        nodes = self.spec.nodes
        seen: set[tuple[str, str]] = set()
        outgoing: dict[str, list[int]] = {n: [] for n in nodes}
        incoming: dict[str, list[int]] = {n: [] for n in nodes}
        for i, f in enumerate(self.spec.flows):
            at = ("flows", i)
            bad = False
            for end in (f.source, f.target):
                if end not in nodes:
                    self.problem(f"flow {f.id} names unknown node '{end}'", *at, element=f.id,
                                 hint=did_you_mean(end, nodes))
                    bad = True
            if bad:
                continue
            if (f.source, f.target) in seen:
                self.problem(f"the flow {f.id} is declared twice", *at, element=f.id)
                continue
            seen.add((f.source, f.target))
            outgoing[f.source].append(i)
            incoming[f.target].append(i)
            if f.when is not None:
                self.expression(f.when, self.colors, (*at, "when"), f.id, condition=True)
        compensators = {n.compensation for n in nodes.values()
                        if isinstance(n, TaskSpec) and n.compensation}
        side_entries = set()
        for n in nodes.values():
            if isinstance(n, TaskSpec):
                side_entries |= {x for x in (n.handoff, n.on_error,
                                             n.timeout.to if n.timeout else None) if x}
                side_entries |= set(catch_targets(n))
        side_entries |= scope_targets(self.spec)
        for nid, node in nodes.items():
            at = ("nodes", nid)
            n_in, n_out = len(incoming[nid]), len(outgoing[nid])
            if isinstance(node, StartSpec):
                if n_in:
                    self.problem(f"start event '{nid}' cannot have incoming flows", *at,
                                 element=nid)
                if n_out == 0:
                    self.problem(f"start event '{nid}' has no outgoing flow", *at, element=nid)
            elif isinstance(node, EndSpec):
                if n_out:
                    self.problem(f"end event '{nid}' cannot have outgoing flows", *at,
                                 element=nid)
                if n_in == 0 and nid not in side_entries:
                    self.problem(f"end event '{nid}' has no incoming flow", *at, element=nid)
            elif nid in compensators:
                if n_in or n_out:
                    self.problem(f"compensation task '{nid}' is run by compensation and takes "
                                 "no flows", *at, element=nid)
            else:
                if n_in == 0 and nid not in side_entries:
                    self.problem(f"'{nid}' has no incoming flow", *at, element=nid)
                if n_out == 0:
                    self.problem(f"'{nid}' has no outgoing flow", *at, element=nid,
                                 hint="connect it to an end event")
            conditioned = [i for i in outgoing[nid] if self.spec.flows[i].when is not None]
            defaults = [i for i in outgoing[nid] if self.spec.flows[i].default]
            if isinstance(node, GatewaySpec) and node.type in ("exclusive", "inclusive"):
                if len(defaults) > 1:
                    self.problem(f"gateway '{nid}' has more than one default flow", *at,
                                 element=nid)
                if n_out > 1:
                    for i in outgoing[nid]:
                        f = self.spec.flows[i]
                        if f.when is None and not f.default:
                            self.problem(f"flow {f.id} leaves a choice and needs 'when' or "
                                         "'default: true'", "flows", i, element=f.id)
                        if f.when is not None and f.default:
                            self.problem(f"the default flow {f.id} takes no condition",
                                         "flows", i, element=f.id)
                if node.type == "inclusive" and len(conditioned) > MAX_INCLUSIVE_BRANCHES:
                    self.problem(f"inclusive gateway '{nid}' has more than "
                                 f"{MAX_INCLUSIVE_BRANCHES} conditional branches", *at,
                                 element=nid)
            elif conditioned or defaults:
                for i in conditioned + defaults:
                    self.problem(f"flow {self.spec.flows[i].id} has a condition but leaves a "
                                 "node that does not choose", "flows", i,
                                 element=self.spec.flows[i].id,
                                 hint="put an exclusive gateway before the choice")
        self.outgoing, self.incoming = outgoing, incoming

    def reachability(self) -> None:
        nodes = self.spec.nodes
        starts = [n for n, s in nodes.items() if isinstance(s, StartSpec)]
        if len(starts) != 1:
            return
        succ: dict[str, set[str]] = {n: set() for n in nodes}
        for f in self.spec.flows:
            if f.source in succ and f.target in succ:
                succ[f.source].add(f.target)
        for nid, n in nodes.items():
            if isinstance(n, TaskSpec):
                for x in (n.handoff, n.on_error, n.timeout.to if n.timeout else None,
                          *catch_targets(n)):
                    if x in succ:
                        succ[nid].add(x)
        for s in self.spec.scopes.values():  # a scope's events happen while it is active
            if s.entry in succ:
                succ[s.entry].update(t for t in scope_targets(self.spec) if t in succ
                                     and t in {*(c.to for c in s.catch),
                                               *([s.timeout.to] if s.timeout else [])})
        seen = {starts[0]}
        queue = deque(seen)
        while queue:
            for m in succ[queue.popleft()]:
                if m not in seen:
                    seen.add(m)
                    queue.append(m)
        compensators = {n.compensation for n in nodes.values()
                        if isinstance(n, TaskSpec) and n.compensation}
        for nid in nodes:
            if nid not in seen and nid not in compensators:
                self.problem(f"'{nid}' cannot be reached from the start event", "nodes", nid,
                             element=nid)

    def policies(self) -> None:
        nodes = self.spec.nodes
        agents = {a.id for a in self.spec.agents}
        ids: set[str] = set()
        for policy, src, path in zip(self.loaded.policies, self.loaded.policy_sources,
                                     self.loaded.policy_paths, strict=True):
            where = {"file": src.file, "line": src.line(*path), "element": policy.id}
            if policy.id in ids:
                self.problems.append(Problem(f"policy id '{policy.id}' is used twice", **where))
            ids.add(policy.id)
            for t in policy.tasks_named():
                if not isinstance(nodes.get(t), TaskSpec | CallSpec):
                    self.problems.append(Problem(f"policy '{policy.id}' names unknown task '{t}'",
                                                 **where, hint=did_you_mean(t, nodes)))
            for a in policy.agents_named():
                if a not in agents:
                    self.problems.append(Problem(f"policy '{policy.id}' names unregistered agent "
                                                 f"'{a}'", **where, hint=did_you_mean(a, agents)))
            for key in ("when", "condition"):
                text = getattr(policy, key, None)
                if text is not None:
                    self.expression(text, self.colors, (*path, key), policy.id, condition=True,
                                    src=src)
            if isinstance(policy, DataMinimisation):
                for name in policy.fields:
                    if name not in self.spec.data:
                        self.problems.append(Problem(f"policy '{policy.id}' names unknown field "
                                                     f"'{name}'", **where,
                                                     hint=did_you_mean(name, self.spec.data)))
            if isinstance(policy, LowConfidenceReview):
                node = nodes.get(policy.task)
                if isinstance(node, TaskSpec) and node.confidence is None:
                    self.problems.append(Problem(f"policy '{policy.id}': task '{policy.task}' "
                                                 "reports no confidence", **where))


def validate(loaded: LoadedProcess) -> dict[str, ColorSet]:
    """Check the whole process; returns the color set of every case-data field."""
    v = Validator(loaded)
    v.run()
    return v.colors


__all__ = ["field_color", "field_default", "validate"]
