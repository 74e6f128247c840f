"""Compile a process into the colored net that both the checker and the engine use.

The translation of every construct is documented, with a picture each, in
``models/SEMANTICS.md``; this module follows it literally. In short: a case is one
marking. Control places hold black tokens (one place per flow, plus work-item places
for external tasks); the place ``data`` holds the case's one data record, which
transitions that read or write data consume and produce again (as ``_d``). External
work compiles to *offer* -> work item -> *complete*, and the completion's binding
(``_actor``, ``_o_<field>``) is what the person or agent answered.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from petriflow.errors import ModelError, Problem
from petriflow.governance.participants import ParticipantKind
from petriflow.ids import PlaceId, TransitionId
from petriflow.model import broadcast, scopes
from petriflow.model.compiled import (
    ACTOR_VAR,
    DATA_PLACE,
    DATA_VAR,
    SOURCE_PLACE,
    Action,
    CompiledProcess,
    Origin,
    SourceMap,
    actor_field,
    output_var,
)
from petriflow.model.durations import parse_duration
from petriflow.model.events import (
    compile_catches,
    compile_event_gateway,
    compile_noninterrupting,
    compile_timer,
    waits_of,
)
from petriflow.model.inline import Flow, Graph, flatten
from petriflow.model.loader import LoadedProcess, load_process
from petriflow.model.lowering import conjunction, lower, outputs
from petriflow.model.obligations import obligations
from petriflow.model.spec import EndSpec, GatewaySpec, StartSpec, TaskSpec, TimerSpec
from petriflow.model.validate import field_default, validate
from petriflow.net.builder import NetBuilder
from petriflow.net.colors import BoolColor, ColorSet, RecordColor, StrColor
from petriflow.net.expr import (
    Compare,
    Const,
    Expr,
    Field,
    Not,
    RecordExpr,
    Update,
    Var,
    parse,
)
from petriflow.net.structure import ArcKind

D = Var(DATA_VAR)


@dataclass
class _Net:
    """The net under construction, with its source map."""

    builder: NetBuilder
    places: dict[PlaceId, Origin] = field(default_factory=dict)
    transitions: dict[TransitionId, Origin] = field(default_factory=dict)
    # a work place -> its task's non-interrupting events (name, armed place, fired place):
    # every transition that takes the work item comes in one variant per state of them
    pending: dict[PlaceId, list[tuple[str, PlaceId, PlaceId]]] = field(default_factory=dict)
    # scopes (petriflow.model.scopes): changes to a node's transition, made when it is
    # created; each transition's control inputs; a transition's variants
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    ins: dict[str, list[str]] = field(default_factory=dict)
    outs: dict[str, list[str]] = field(default_factory=dict)
    metas: dict[str, dict[str, str]] = field(default_factory=dict)
    variants: dict[str, list[str]] = field(default_factory=dict)

    def hook(self, tid: str, *, inputs: list[str] = (), outputs: list[str] = (),  # type: ignore[assignment]
             divert: list[str] | None = None, meta: dict[str, str] | None = None) -> None:
        h = self.hooks.setdefault(tid, {"inputs": [], "outputs": [], "meta": {}})
        h["inputs"] += inputs
        h["outputs"] += outputs
        h["meta"].update(meta or {})
        if divert is not None:
            h["divert"] = divert

    def place(self, pid: str, origin: Origin, **kwargs: Any) -> PlaceId:
        if pid not in self.places:
            self.builder.place(pid, line=origin.line, **kwargs)
            self.places[PlaceId(pid)] = origin
        return PlaceId(pid)

    def transition(self, tid: str, origin: Origin, *, inputs: list[str] = (),  # type: ignore[assignment]
                   outputs_: list[str] = (), data: Expr | None = None, reads_data: bool = False,  # type: ignore[assignment]
                   guard: Expr | None = None, variables: dict[str, ColorSet] | None = None,
                   inhibitors: list[str | tuple[str, int]] = (), meta: dict[str, str] | None = None  # type: ignore[assignment]
                   ) -> TransitionId:
        hook = self.hooks.get(tid)
        if hook is not None:
            inputs = [*inputs, *hook["inputs"]]
            if "divert" in hook:  # a scope's cancel node: its token goes on once cancelled
                hook["diverted"] = list(outputs_)
                outputs_ = list(hook["divert"])
            outputs_ = [*outputs_, *hook["outputs"]]
            meta = {**(meta or {}), **hook["meta"]} if hook["meta"] else meta
        self.variants[tid] = [tid]
        events = [e for p in dict.fromkeys(inputs) for e in self.pending.get(PlaceId(p), ())]
        if not events:
            return self._transition(tid, origin, inputs, outputs_, data, reads_data, guard,
                                    variables, inhibitors, meta)
        # the work item ends: each pending event is either still armed or has fired, and
        # one variant takes the token of each (models/SEMANTICS.md, Non-interrupting events)
        for fired in itertools.product((False, True), repeat=len(events)):
            names = [name for (name, _, _), f in zip(events, fired, strict=True) if f]
            extra = [fp if f else ap for (_, ap, fp), f in zip(events, fired, strict=True)]
            vid = f"{tid}~{'+'.join(names)}" if names else tid
            if names:
                self.variants[tid].append(vid)
            self._transition(vid, origin, [*inputs, *extra], outputs_, data, reads_data, guard,
                             variables, inhibitors,
                             {**(meta or {}), "variant_of": tid} if names else meta)
        return TransitionId(tid)

    def _transition(self, tid: str, origin: Origin, inputs: list[str], outputs_: list[str],
                    data: Expr | None, reads_data: bool, guard: Expr | None,
                    variables: dict[str, ColorSet] | None,
                    inhibitors: list[str | tuple[str, int]],
                    meta: dict[str, str] | None) -> TransitionId:
        info = {"element": origin.element, "action": origin.role or ""}
        if origin.participant is not None:
            info["participant"] = origin.participant.value
        info.update(meta or {})
        self.builder.transition(tid, guard=guard, variables=variables, name=origin.label,
                                meta=info, line=origin.line)
        self.transitions[TransitionId(tid)] = origin
        for p in inputs:
            self.builder.arc(p, tid)
        self.ins[tid], self.outs[tid], self.metas[tid] = list(inputs), list(outputs_), info
        if len(set(inputs)) != len(inputs):  # two arcs from one place: a compiler bug
            raise ModelError(Problem(f"internal compiler error: transition '{tid}' takes "
                                     "from one place twice", element=origin.element))
        for p in inhibitors:
            held, weight = (p, 1) if isinstance(p, str) else p
            self.builder.arc(held, tid, kind=ArcKind.INHIBITOR, weight=weight)
        for p in outputs_:
            self.builder.arc(tid, p)
        if data is not None or reads_data:
            self.builder.arc(DATA_PLACE, tid, inscription=D)
            self.builder.arc(tid, DATA_PLACE, inscription=data if data is not None else D)
        return TransitionId(tid)


class _Compiler:
    def __init__(self, loaded: LoadedProcess, graph: Graph, colors: dict[str, ColorSet]):
        self.loaded = loaded
        self.spec = loaded.spec
        self.g = graph
        self.colors = colors
        self.fields = [f for f in colors]
        self.problems: list[Problem] = []
        self.net = _Net(NetBuilder(self.spec.process, file=loaded.source.file))
        self.file = loaded.source.file
        self.agents = {a.id: a for a in graph.agents}

    # -- helpers ---------------------------------------------------------------------------

    def origin(self, element: str, kind: str, action: Action | None = None,
               participant: ParticipantKind | None = None) -> Origin:
        file, line = self.g.where.get(element, (self.file, None))
        node = self.g.nodes.get(element)
        label = getattr(node, "name", None) or element
        return Origin(element, kind, action.value if action else None, file, line, participant,
                      label)

    def expr(self, text: str, element: str) -> Expr:
        file, line = self.g.where.get(element, (self.file, None))
        return parse(text, file=file, line=line or 1, element=element)

    def flow_place(self, f: Flow) -> PlaceId:
        """Where a token sent along flow ``f`` lands: the target's input place, or, for
        a join that must tell its incoming flows apart, a place of the flow's own."""
        if self.is_join(f.target):
            return self.net.place(f"flow:{f.id}", Origin(f.id, "flow", None, f.file, f.line))
        return self.input_place(f.target)

    def is_join(self, nid: str) -> bool:
        node = self.g.nodes[nid]
        return isinstance(node, GatewaySpec) and (
            (node.type == "parallel" and len(self.g.incoming(nid)) > 1)
            or (node.type == "inclusive" and node.pairs is not None)
        )

    def input_place(self, nid: str) -> PlaceId:
        """The one place a node (other than a join) takes its token from; every flow into
        the node, and every handoff, timeout or error that leads to it, puts it there."""
        return self.net.place(f"{nid}:in", self.origin(nid, "input"))

    def out_places(self, nid: str) -> list[str]:
        if nid in self.compensator_return:
            return [self.compensator_return[nid]]
        return [self.flow_place(f) for f in self.g.outgoing(nid)]

    # -- the translation -------------------------------------------------------------------

    def run(self) -> CompiledProcess:
        self.compensator_return = {}
        self.waits = waits_of(self.g.nodes, self.g.flows)  # events after event gateways
        self.data_color = RecordColor(tuple(self.colors.items()), self.spec.process)
        self.ordered = ordered_tasks(self.g)
        self.net.place(SOURCE_PLACE, Origin(self.spec.process, "process"), initial=1)
        self.net.place(DATA_PLACE, Origin(self.spec.process, "data"), color=self.data_color)
        self.plan_compensation()
        scope_plans = scopes.plan(self)
        broadcast.plan(self)
        for nid, node in self.g.nodes.items():
            if isinstance(node, StartSpec):
                self.start(nid)
            elif isinstance(node, EndSpec):
                self.end(nid, node)
            elif isinstance(node, TaskSpec):
                self.task(nid, node)
            elif isinstance(node, GatewaySpec):
                self.gateway(nid, node)
            elif isinstance(node, TimerSpec):
                compile_timer(self, nid, node)
        scopes.finish(self, scope_plans)
        broadcast.finish(self)
        scopes.freeze(self, scope_plans)
        self.finish_compensation()
        ModelError.collect(self.problems)
        try:
            net = self.net.builder.build()
        except ModelError as exc:  # a compiler bug if it happens: say so plainly
            raise ModelError([Problem(f"internal compiler error: {p.message}", file=p.file,
                                      line=p.line, element=p.element) for p in exc.problems]
                             ) from None
        source_map = SourceMap(dict(self.net.places), dict(self.net.transitions))
        finals = tuple(p for p, o in self.net.places.items() if o.kind == "end")
        compiled = CompiledProcess(
            name=self.spec.process,
            version=self.spec.version,
            net=net,
            source_map=source_map,
            data_color=self.data_color,
            inputs=tuple(n for n, f in self.spec.data.items() if f.input),
            obligations=(),
            spec=self.spec,
            final_places=finals,
            termination=self.spec.termination,
        )
        return replace(compiled, obligations=obligations(compiled, self.loaded, self.g))

    def start(self, nid: str) -> None:
        inputs = {n for n, f in self.spec.data.items() if f.input}
        values: list[tuple[str, Expr]] = []
        variables: dict[str, ColorSet] = {}
        for name, color in self.colors.items():
            if name in inputs:
                values.append((name, Var(output_var(name))))
                variables[output_var(name)] = color
            elif name in self.spec.data:
                values.append((name, Const(field_default(self.spec.data[name], color))))
            elif isinstance(color, BoolColor):  # a completion-order flag
                values.append((name, Const(False)))
            else:
                values.append((name, Const("")))
        origin = self.origin(nid, "start", Action.START)
        tid = self.net.transition(nid, origin, inputs=[SOURCE_PLACE], outputs_=self.out_places(nid),
                                  variables=variables)
        self.net.builder.arc(tid, DATA_PLACE, inscription=RecordExpr(tuple(values)))

    def end(self, nid: str, node: EndSpec) -> None:
        final = self.net.place(f"end:{nid}", self.origin(nid, "end"))
        target = self.compensation_entry if node.compensate else final
        if node.compensate:
            self.compensation_exit = final
        self.net.transition(nid, self.origin(nid, "end", Action.END),
                            inputs=[self.input_place(nid)], outputs_=[target])

    def task(self, nid: str, node: TaskSpec) -> None:
        kind = node.kind
        done = [self.done_place(nid)] if node.compensation else []
        if nid in self.waits:
            return  # a receive task after an event-based gateway: part of the gateway's wait
        if nid in self.compensator_return or self.g.incoming(nid) or nid in self.g.side_entries:
            entry = self.input_place(nid)
        else:
            return
        if kind is ParticipantKind.AUTO:
            assigned = {k: lower(self.expr(v, nid), self.fields) for k, v in node.set.items()}
            check = (lower(self.expr(node.check, nid), self.fields, written=assigned)
                     if node.check else None)
            changes = [*assigned.items(), *self.completion_order(nid)]
            data = Update(D, tuple(changes)) if changes else None
            self.net.transition(nid, self.origin(nid, "task", Action.RUN, kind), inputs=[entry],
                                outputs_=self.out_places(nid) + done, data=data,
                                reads_data=check is not None, guard=check)
            return
        work = self.net.place(f"{nid}:work", self.origin(nid, "work item", None, kind))
        meta = {"role": node.role} if node.role else {}
        if node.agent:
            agent = self.agents.get(node.agent)
            meta.update(agent=node.agent, agent_version=agent.version if agent else "")
        armed = compile_noninterrupting(self, nid, node, work)
        self.net.transition(f"{nid}:offer", self.origin(nid, "task", Action.OFFER, kind),
                            inputs=[entry], outputs_=[work, *armed], meta=meta)
        written = outputs(node.writes)
        variables = {output_var(w): self.colors[w] for w in node.writes}
        changes: list[tuple[str, Expr]] = list(written.items())
        if kind.has_actor:
            variables[ACTOR_VAR] = StrColor()
            changes.append((actor_field(nid), Var(ACTOR_VAR)))
        data = Update(D, tuple(changes)) if changes else None
        guards: list[Expr] = []
        if kind is ParticipantKind.AGENT:  # an agent's answer is by that agent
            guards.append(Compare("==", Var(ACTOR_VAR), Const(str(node.agent))))
        elif kind.has_actor:  # a person always has a name
            guards.append(Compare("!=", Var(ACTOR_VAR), Const("")))
        if node.candidate:
            guards.append(lower(self.expr(node.candidate, nid), self.fields, actor=True))
        threshold = self.threshold(nid, node)
        if threshold is not None and node.confidence:
            conf = Var(output_var(node.confidence))
            handoff_guard = conjunction([*guards, Compare("<", conf, Const(threshold))])
            guards.append(Compare(">=", conf, Const(threshold)))
            self.net.transition(f"{nid}:handoff", self.origin(nid, "task", Action.HANDOFF, kind),
                                inputs=[work], outputs_=[self.input_place(str(node.handoff))],
                                data=data, variables=variables, guard=handoff_guard, meta=meta)
        check_guard = (lower(self.expr(node.check, nid), self.fields, written=written)
                       if node.check else None)
        if check_guard is not None:
            guards.append(check_guard)
        order = self.completion_order(nid)
        if order:
            data = Update(D, (*changes, *order))
        self.net.transition(f"{nid}:complete", self.origin(nid, "task", Action.COMPLETE, kind),
                            inputs=[work], outputs_=self.out_places(nid) + done, data=data,
                            reads_data=True, variables=variables, guard=conjunction(guards),
                            meta=meta)
        if node.timeout is not None and node.timeout.interrupting:
            seconds = parse_duration(node.timeout.after)
            self.net.transition(f"{nid}:timeout",
                                self.origin(nid, "task", Action.TIMEOUT, ParticipantKind.TIMER),
                                inputs=[work], outputs_=[self.input_place(node.timeout.to)],
                                meta={"after_seconds": repr(seconds)})
        if node.on_error is not None:
            self.net.transition(f"{nid}:error", self.origin(nid, "task", Action.ERROR, kind),
                                inputs=[work], outputs_=[self.input_place(node.on_error)],
                                meta=meta)
        compile_catches(self, nid, node, work)

    def threshold(self, nid: str, node: TaskSpec) -> Any:
        if node.kind is not ParticipantKind.AGENT or node.handoff is None:
            return None
        value = node.threshold
        if value is None and node.agent in self.agents:
            value = self.agents[node.agent].threshold
        if value is None:
            self.problems.append(Problem(f"agent task '{nid}' hands off low confidence but no "
                                         "threshold is set (on the task or the agent)",
                                         file=self.file, line=self.g.where.get(nid, (0, None))[1],
                                         element=nid))
            return None
        from decimal import Decimal

        return Decimal(str(value))

    def gateway(self, nid: str, node: GatewaySpec) -> None:
        incoming, outgoing = self.g.incoming(nid), self.g.outgoing(nid)
        if node.type == "parallel":
            self.net.transition(nid, self.origin(nid, "parallel", Action.ROUTE),
                                inputs=[self.flow_place(f) for f in incoming],
                                outputs_=[self.flow_place(f) for f in outgoing])
            return
        if node.type == "inclusive":
            self.inclusive(nid, node)
            return
        if node.type == "event":
            compile_event_gateway(self, nid)
            return
        entry = self.input_place(nid)
        if len(outgoing) == 1:
            self.net.transition(nid, self.origin(nid, "exclusive", Action.ROUTE), inputs=[entry],
                                outputs_=[self.flow_place(outgoing[0])])
            return
        ordered = [f for f in outgoing if not f.default] + [f for f in outgoing if f.default]
        earlier: list[Expr] = []
        for f in ordered:
            cond = (lower(self.expr(f.when, nid), self.fields) if f.when is not None
                    else None)
            guard = conjunction([*(Not(e) for e in earlier), *([cond] if cond else [])])
            self.net.transition(f"{nid}@{f.target}", self.origin(nid, "exclusive", Action.ROUTE),
                                inputs=[entry], outputs_=[self.flow_place(f)], reads_data=True,
                                guard=guard if guard is not None else Const(True))
            if cond is not None:
                earlier.append(cond)

    def inclusive(self, nid: str, node: GatewaySpec) -> None:
        incoming, outgoing = self.g.incoming(nid), self.g.outgoing(nid)
        joins = [j for j, n in self.g.nodes.items()
                 if isinstance(n, GatewaySpec) and n.pairs == nid]
        if len(outgoing) > 1:
            entry = self.input_place(nid)
            conditional = [f for f in outgoing if not f.default]
            default = [f for f in outgoing if f.default]
            conds = {f.target: lower(self.expr(f.when, nid), self.fields)
                     for f in conditional if f.when is not None}
            for size in range(1, len(conditional) + 1):
                for chosen in itertools.combinations(conditional, size):
                    names = [f.target for f in chosen]
                    guard = conjunction([conds[f.target] if f in chosen else Not(conds[f.target])
                                         for f in conditional])
                    masks = [self.mask(nid, names)] if joins else []
                    self.net.transition(f"{nid}{{{'+'.join(names)}}}",
                                        self.origin(nid, "inclusive", Action.ROUTE),
                                        inputs=[entry],
                                        outputs_=[self.flow_place(f) for f in chosen] + masks,
                                        reads_data=True, guard=guard)
            for f in default:
                guard = conjunction([Not(c) for c in conds.values()])
                masks = [self.mask(nid, [f.target])] if joins else []
                self.net.transition(f"{nid}{{{f.target}}}",
                                    self.origin(nid, "inclusive", Action.ROUTE), inputs=[entry],
                                    outputs_=[self.flow_place(f), *masks], reads_data=True,
                                    guard=guard if guard is not None else Const(True))
        if len(incoming) > 1 or node.pairs:
            self.inclusive_join(nid, node)
        elif len(outgoing) == 1:
            self.net.transition(nid, self.origin(nid, "inclusive", Action.ROUTE),
                                inputs=[self.input_place(nid)],
                                outputs_=[self.flow_place(outgoing[0])])

    def mask(self, split: str, branches: list[str]) -> PlaceId:
        return self.net.place(f"{split}:mask{{{'+'.join(branches)}}}",
                              self.origin(split, "inclusive"))

    def inclusive_join(self, nid: str, node: GatewaySpec) -> None:
        at = {"file": self.file, "line": self.g.where.get(nid, (None, None))[1], "element": nid}
        if node.pairs is None:
            self.problems.append(Problem(f"inclusive join '{nid}' must name the inclusive split "
                                         "it pairs with ('pairs: <split>')", **at))
            return
        split = node.pairs
        branch_flows = self.g.outgoing(split)
        incoming = self.g.incoming(nid)
        reach: dict[str, list[Flow]] = {}
        for b in branch_flows:
            hits = self.g.reaching(b.target, nid, stop={split})
            hits += [b] if b.target == nid else []
            reach[b.target] = [f for f in incoming if f in hits]
            if len(reach[b.target]) != 1:
                self.problems.append(Problem(
                    f"inclusive join '{nid}': the branch of '{split}' towards '{b.target}' "
                    f"reaches it along {len(reach[b.target])} flows; each branch must arrive "
                    "along exactly one", **at))
                return
        used = [reach[b.target][0] for b in branch_flows]
        if sorted(f.id for f in used) != sorted(f.id for f in incoming):
            self.problems.append(Problem(f"inclusive join '{nid}': its incoming flows do not "
                                         f"match the branches of '{split}' one to one", **at))
            return
        conditional = [b for b in branch_flows if not b.default]
        subsets = [list(c) for size in range(1, len(conditional) + 1)
                   for c in itertools.combinations(conditional, size)]
        subsets += [[b] for b in branch_flows if b.default]
        out = [self.flow_place(f) for f in self.g.outgoing(nid)]
        for chosen in subsets:
            names = [b.target for b in chosen]
            self.net.transition(f"{nid}{{{'+'.join(names)}}}",
                                self.origin(nid, "inclusive", Action.ROUTE),
                                inputs=[self.mask(split, names)]
                                + [self.flow_place(reach[n][0]) for n in names],
                                outputs_=out)

    # -- compensation ----------------------------------------------------------------------

    def done_place(self, nid: str) -> PlaceId:
        return self.net.place(f"{nid}:done", self.origin(nid, "history"))

    def plan_compensation(self) -> None:
        """The compensation loop: it undoes the latest completion not yet undone, until
        none is left (reverse completion order, see ``models/SEMANTICS.md``)."""
        comp_ends = [n for n, s in self.g.nodes.items() if isinstance(s, EndSpec) and s.compensate]
        compensable = [n for n, s in self.g.nodes.items()
                       if isinstance(s, TaskSpec) and s.compensation]
        self.compensation_entry = PlaceId("")
        if not comp_ends:
            return
        if len(comp_ends) > 1:
            self.problems.append(Problem(f"at most one end event may compensate; found "
                                         f"{', '.join(comp_ends)}", file=self.file))
            return
        end = comp_ends[0]
        loop = self.net.place("compensation:0", self.origin(end, "compensation"))
        self.compensation_entry = loop
        ordered = ordered_tasks(self.g)
        # reverse declaration order breaks ties (only after a task completed more than once)
        for task in reversed(compensable):
            compensator = str(self.g.nodes[task].compensation)  # type: ignore[union-attr]
            self.compensator_return[compensator] = loop
            others = [x for x in ordered if x != task] if task in ordered else []
            # undo ``task`` only if no other task completed after it and is still to undo;
            # once undone, it no longer holds back the tasks that completed before it
            guard = conjunction([Not(Field(D, order_field(task, x))) for x in others])
            data = (Update(D, tuple((order_field(x, task), Const(False)) for x in others))
                    if others else None)
            self.net.transition(f"compensate:{task}",
                                self.origin(task, "task", Action.COMPENSATE),
                                inputs=[loop, self.done_place(task)],
                                outputs_=[self.input_place_for_compensator(compensator)],
                                data=data, reads_data=guard is not None, guard=guard)
        self._comp_done = [self.done_place(t) for t in compensable]
        self._comp_last = loop

    def completion_order(self, nid: str) -> list[tuple[str, Expr]]:
        """The data changes that record a completion of ``nid`` as the latest one."""
        ordered = self.ordered  # (computed once in run: every task asks)
        if nid not in ordered:
            return []
        others = [x for x in ordered if x != nid]
        return [*((order_field(x, nid), Const(True)) for x in others),
                *((order_field(nid, x), Const(False)) for x in others)]

    def input_place_for_compensator(self, compensator: str) -> PlaceId:
        self.g.side_entries.add(compensator)
        return self.input_place(compensator)

    def finish_compensation(self) -> None:
        if self.compensation_entry and getattr(self, "compensation_exit", None):
            self.net.transition("compensation:done", Origin("compensation", "compensation",
                                                            Action.END.value, self.file),
                                inputs=[self._comp_last], inhibitors=self._comp_done,
                                outputs_=[self.compensation_exit])


def order_field(task: str, later: str) -> str:
    """The case-data flag: ``later`` has a completion, not yet undone, after the latest
    completion of ``task`` (kept for compensation, when several tasks are compensable)."""
    return f"_later:{task}:{later}"


def ordered_tasks(graph: Graph) -> list[str]:
    """The compensable tasks whose completion order is recorded: all of them when an end
    event compensates, there are two or more (with one, there is no order to keep), and
    none of them lies on a cycle. (A task in a loop completes any number of times: the
    flags could order only its latest completion, and their guards would keep the
    checker's data-free methods off a net that is unbounded already; the net then leaves
    the order open, see models/SEMANTICS.md.)"""
    if not any(isinstance(s, EndSpec) and s.compensate for s in graph.nodes.values()):
        return []
    tasks = [n for n, s in graph.nodes.items() if isinstance(s, TaskSpec) and s.compensation]
    if len(tasks) < 2 or any(_on_cycle(graph, t) for t in tasks):
        return []
    return tasks


def _on_cycle(graph: Graph, nid: str) -> bool:
    """Whether ``nid`` can be reached again after it runs, along flows, handoffs,
    timeouts, error paths and catches (an over-approximation of "may run twice")."""
    seen: set[str] = set()
    stack = _successors(graph, nid)
    while stack:
        n = stack.pop()
        if n == nid:
            return True
        if n not in seen:
            seen.add(n)
            stack.extend(_successors(graph, n))
    return False


def _successors(graph: Graph, nid: str) -> list[str]:
    out = [f.target for f in graph.outgoing(nid)]
    node = graph.nodes.get(nid)
    if isinstance(node, TaskSpec):
        out += [t for t in (node.handoff, node.on_error) if t]
        if node.timeout is not None:
            out.append(node.timeout.to)
        out += [c.to for c in node.catch]
    return out


def compile_loaded(loaded: LoadedProcess,
                   load: Callable[[Path], LoadedProcess] = load_process) -> CompiledProcess:
    """Compile a loaded process; raises one ModelError listing every problem. ``load``
    reads the processes its call activities name (their files, by default); the specs it
    gave are kept in ``CompiledProcess.called``, so a stored document holds them too."""
    colors = validate(loaded)
    called: dict[str, Any] = {}

    def recording(path: Path) -> LoadedProcess:
        sub = load(path)
        called[str(path)] = sub.spec
        return sub

    graph = flatten(loaded, colors, load=recording)
    for nid, node in graph.nodes.items():  # tasks of called processes record actors too
        if isinstance(node, TaskSpec) and node.kind.has_actor:
            colors.setdefault(actor_field(nid), StrColor())
    ordered = ordered_tasks(graph)
    for task, later in itertools.permutations(ordered, 2):
        colors[order_field(task, later)] = BoolColor()
    compiled = _Compiler(loaded, graph, colors).run()
    if not called:
        return compiled
    # the tasks of called processes, under their inlined ids, for the engine's settings
    tasks = {nid: node for nid, node in graph.nodes.items() if isinstance(node, TaskSpec)}
    return replace(compiled, called=called, tasks=tasks)


__all__ = ["compile_loaded"]
