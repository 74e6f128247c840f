"""Map one BPMN process onto the plain data of a petriflow process file.

The result is the dictionary a YAML file would give (with source lines), validated by
the same :func:`~petriflow.model.loader.spec_from_data`. Embedded sub-processes and
call activities are flattened with prefixed ids (``<sub>__<node>``). Every element that
could change how a case runs and has no faithful translation is reported, with its id,
tag and line, in one :class:`ModelError`. The mapping is documented in ``models/BPMN.md``.
Waiting and signalling events live in :mod:`.events`, loop and multi-instance markers in
:mod:`.loops`, boundary events in :mod:`.boundaries`, errors and escalations raised and
caught in :mod:`.raised`, sub-processes that become scopes (their boundary events, event
sub-processes, terminate ends) in :mod:`.scoped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petriflow.errors import ExpressionError, ModelError, Problem
from petriflow.model.bpmn import boundaries, decisions, events, loops, raised, scoped
from petriflow.model.bpmn.conditions import infer_types, parse_condition
from petriflow.model.bpmn.document import Definitions, owner_of, read_file
from petriflow.model.bpmn.names import (
    BPMN,
    CAMUNDA,
    CONTAINERS,
    EVENT_DEFINITIONS,
    FLOW_NODES,
    IGNORED,
    MAX_ID,
    PF,
    ZEEBE,
    sanitize,
)
from petriflow.model.bpmn.xmlread import XNode
from petriflow.model.durations import parse_duration
from petriflow.model.spec import FIELD_TYPES

DEFAULT_ROLE = "user"
_KIND = {"userTask": "human", "manualTask": "human", "serviceTask": "api", "sendTask": "api",
         "scriptTask": "auto", "businessRuleTask": "auto", "task": "auto",
         "receiveTask": "receive"}
_FORM_TYPES = {"boolean": "bool", "long": "int", "string": "str", "date": "date",
               "enum": "enum"}
_TOP_START_TRIGGERS = {None, "messageEventDefinition", "timerEventDefinition",
                       "signalEventDefinition", "conditionalEventDefinition"}
# a typed start: the trigger that starts a process, or that an event sub-process's scope
# catches (petriflow.model.bpmn.scoped checks which ones it maps)
_TYPED_STARTS = _TOP_START_TRIGGERS | {"errorEventDefinition", "escalationEventDefinition"}
_TASK_KEYS = ("reads", "writes")
_POLICY_LISTS = ("tasks", "fields")
_POLICY_TASKS = ("task", "after", "requires", "review", "before")
_MAX_PREFIX = 24


@dataclass
class Scope:
    """A flattened sub-process or call: its prefix and the nodes that end it."""

    prefix: str
    element: str
    ends: list[str] = field(default_factory=list)


@dataclass
class Mapping:
    """What the importer made of the BPMN elements (for messages, tests and checks)."""

    node_of: dict[str, str] = field(default_factory=dict)     # our id -> BPMN id
    tag_of: dict[str, str] = field(default_factory=dict)      # our id -> BPMN tag
    ours: dict[str, str] = field(default_factory=dict)        # BPMN id -> our id (first)
    flows: dict[str, tuple[str, str]] = field(default_factory=dict)  # BPMN flow -> our ends
    scopes: list[Scope] = field(default_factory=list)
    terminate: set[str] = field(default_factory=set)          # our ids of terminate ends
    messages: set[str] = field(default_factory=set)   # our ids of message pass-throughs, merges
    pools: set[str] = field(default_factory=set)      # our ids of the pools' ends
    implicit: bool = False   # pools end on their own (termination: implicit), no joined end
    scoped: set[str] = field(default_factory=set)     # scopes of the process language made
    # sub-processes (our ids; None: the process) made scopes because their ending needs
    # it (an end beside another branch, a terminate end), and those the check asks for
    forced: frozenset[str | None] = frozenset()
    scopable: set[str | None] = field(default_factory=set)
    terminate_in: dict[str, str | None] = field(default_factory=dict)  # end -> its scope
    flow_nodes: int = 0
    sequence_flows: int = 0


@dataclass
class _Flow:
    source: str
    target: str
    line: int
    bpmn_id: str | None = None
    condition: tuple[str, str | None, int] | None = None  # text, language, line
    default: bool = False
    when: str | None = None
    blank: bool = False  # a conditionExpression with no text: a condition left unsaid


class Importer:
    def __init__(self, defs: Definitions, process: XNode, pools: list[XNode] | None = None,
                 name: str | None = None, implicit: bool = False,
                 forced: frozenset[str | None] = frozenset()) -> None:
        self.defs = defs
        self._owners: dict[str | None, dict[str, str]] = {}  # file -> element -> owner
        self.process = process
        self.pools = list(pools or [])  # several: a collaboration, imported as one process
        self.name = name or str(process.get("id"))
        self.messages: list[tuple[XNode, str, str]] = []  # message flow, our sender, receiver
        self.file = defs.file
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.nodes: dict[str, dict[str, Any]] = {}
        self.lines: dict[tuple[str | int, ...], int] = {(): process.line}
        self.flows: list[_Flow] = []
        self.map = Mapping(implicit=implicit, forced=forced)
        self.roles: list[str] = []
        self.fields: dict[str, dict[str, Any]] = {}
        self.field_lines: dict[str, int] = {}
        self.agents: list[dict[str, Any]] = []
        self.policies: list[dict[str, Any]] = []
        self.policy_lines: list[int] = []
        self.policy_files: list[Path] = []
        self.entries: dict[str, str] = {}  # container id -> the node its flows enter
        self.header: dict[str, Any] = {}  # version and description from <pf:process>
        self.loop_markers: list[loops.Marker] = []
        self.raised: list[raised.Raised] = []  # errors and escalations raised and caught
        self.chain: list[raised.Level] = []  # the activities enclosing what is imported
        self.drafts: dict[str | None, scoped.Draft] = {}  # scopes: exit id (None: process)
        self.esp_catchers: list[tuple[XNode, str]] = []  # error/escalation starts, our id
        self.signal_catches: list[tuple[str | None, str]] = []  # signalRef, message name
        self.signal_throws: list[tuple[str | None, str]] = []   # signalRef, our broadcaster
        self.flow_class = _Flow
        self.scope_class = Scope
        self.gateway_roles: dict[str, str] = {}  # exclusive gateway -> its lane's role
        self.flow_names: dict[str, str] = {}     # sequence flow id -> its name
        self.default_role = DEFAULT_ROLE          # a human task's role without a lane

    # -- reporting -------------------------------------------------------------------------

    def owners(self, defs: Definitions) -> dict[str, str]:
        """Element id -> "process 'p'" or "subProcess 's'": the innermost that holds it."""
        if defs.file in self._owners:
            return self._owners[defs.file]
        out: dict[str, str] = {}

        def walk(node: XNode, owner: str | None) -> None:
            for c in node.children:
                if c.get("id") and owner is not None:
                    out.setdefault(str(c.get("id")), owner)
                inner = c.ns == BPMN and (c.tag == "process" or c.tag in CONTAINERS)
                walk(c, f"{c.tag} '{c.get('id')}'" if inner else owner)
        walk(defs.root, None)
        self._owners[defs.file] = out
        return out

    def unsupported(self, node: XNode, why: str, defs: Definitions | None = None,
                    hint: str | None = None) -> None:
        d = defs or self.defs
        self.problems.append(Problem(f"{node.tag} '{node.get('id', '?')}': {why}", file=d.file,
                                     line=node.line, element=node.get("id"), hint=hint))

    def new_id(self, wanted: str, bpmn: XNode | None = None) -> str:
        if len(wanted) > MAX_ID - 4:  # room for a "_<n>" suffix within the id limit
            wanted = sanitize(wanted, MAX_ID - 4)
        our, i = wanted, 2
        while our in self.nodes or our in self.map.node_of:
            our = f"{wanted}_{i}"
            i += 1
        if bpmn is not None:
            bid = str(bpmn.get("id"))
            self.map.node_of[our] = bid
            self.map.tag_of[our] = bpmn.tag
            self.map.ours.setdefault(bid, our)
        else:
            self.map.node_of[our] = wanted
        return our

    def add(self, our: str, node: dict[str, Any], line: int) -> None:
        self.nodes[our] = node
        self.lines[("nodes", our)] = line

    # -- the whole process -----------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        if self.pools:
            self.collaboration()
        else:
            self.read_process_extensions(self.process, self.defs)
            self.chain.append(raised.Level(None, self.process, self.defs, None))
            self.scope(self.process, "", self.defs, top=True,
                       stack=((self.defs.path, self.process.get("id")),))
            self.chain.pop()
            self.resolve_messages()
        raised.wire(self, _Flow)
        scoped.check_catchers(self)
        scoped.terminate(self)
        self.post_process()
        decisions.rewrite(self, _Flow)
        found = scoped.emit(self)
        shouts = events.broadcasts(self)
        self.conditions()
        self.map.flows = {f.bpmn_id: (f.source, f.target) for f in self.flows if f.bpmn_id}
        ModelError.collect(self.problems)
        data: dict[str, Any] = {
            "process": sanitize(self.name),
            **({"version": self.header["version"]} if "version" in self.header else {}),
            "description": str(self.header.get("description", self.process.get("name") or "")),
            "data": self.fields,
            "roles": self.roles,
            "agents": self.agents,
            "nodes": self.nodes,
            "flows": [{"from": f.source, "to": f.target,
                       **({"when": f.when} if f.when is not None else {}),
                       **({"default": True} if f.default else {})} for f in self.flows],
            "policies": self.policies,
            **({"scopes": found} if found else {}),
            **({"broadcasts": shouts} if shouts else {}),
            **({"termination": "implicit"} if self.map.implicit else
               {"termination": self.header["termination"]} if "termination" in self.header
               else {}),
        }
        for i, f in enumerate(self.flows):
            self.lines[("flows", i)] = f.line
            if f.condition is not None:
                self.lines[("flows", i, "when")] = f.condition[2]
        for name, line in self.field_lines.items():
            self.lines[("data", name)] = line
        for i, line in enumerate(self.policy_lines):
            self.lines[("policies", i)] = line
        return data

    # -- collaborations: several pools and their message flows -----------------------------

    def collaboration(self) -> None:
        """Every pool's process under its prefix, between one synthetic start (a parallel
        split to the pools not started by a message) and one synthetic end (a parallel join
        of the pools' ends)."""
        part_of = {str(p.get("processRef")): p for p in self.defs.participants.values()
                   if p.get("processRef")}
        line = self.pools[0].line
        entries: list[tuple[str, XNode]] = []
        dones: list[str] = []
        for proc in self.pools:
            pid = str(proc.get("id"))
            part = part_of.get(pid)
            self.read_process_extensions(proc, self.defs)
            # the pool itself is the pass-through its end events lead to
            label = (part.get("name") if part is not None else None) or proc.get("name")
            # the prefix of the pool's node ids: its process id, unless that is long (as
            # generated ids are), then the pool's name, else its position
            prefix = next((sanitize(str(x)) for x in (pid, label)
                           if x and len(sanitize(str(x))) <= _MAX_PREFIX),
                          f"pool{len(dones) + 1}")
            pool = self.new_id(prefix, part if part is not None else proc)
            # under implicit termination the pool's end is an end event of the case: the
            # case ends when no pool has a token outside its ends (no joined end)
            self.add(pool, {**({"name": label} if label else {}), **(
                {"type": "end"} if self.map.implicit else {"type": "task", "kind": "auto"})},
                (part if part is not None else proc).line)
            self.map.pools.add(pool)
            self.map.scopes.append(Scope(f"{pool}__", pool))
            self.chain.append(raised.Level(None, proc, self.defs, pool))
            entry = self.scope(proc, f"{pool}__", self.defs, top=False, pool=True,
                               stack=((self.defs.path, pid),), exit_id=pool)
            self.chain.pop()
            if entry is not None:
                self.entries.setdefault(pool, entry)
            dones.append(pool)
            if entry is not None:
                entries.append((entry, proc))
        self.resolve_messages()
        received = {r for _, _, r in self.messages}
        first = [e for e, _ in entries if e not in received]
        start = self.new_id("case_start")
        self.map.node_of[start], self.map.tag_of[start] = self.name, "collaboration"
        self.add(start, {"type": "start"}, line)
        if len(first) == 1:
            self.flows.append(_Flow(start, first[0], line))
        elif first:
            split = self.new_id("start__pools")
            self.add(split, {"type": "parallel"}, line)
            self.flows.append(_Flow(start, split, line))
            self.flows += [_Flow(split, e, line) for e in first]
        elif entries:
            self.problems.append(Problem(
                f"collaboration '{self.name}': every pool starts with a message from another "
                "pool, so none can start", file=self.file, line=line, element=self.name,
                hint="give one pool a none start event"))
        if self.map.implicit:
            return
        join = self.new_id("end__pools")
        self.add(join, {"type": "parallel"}, line)
        self.flows += [_Flow(d, join, line) for d in dones]
        end = self.new_id("case_end")
        self.map.node_of[end], self.map.tag_of[end] = self.name, "collaboration"
        self.add(end, {"type": "end"}, line)
        self.flows.append(_Flow(join, end, line))

    def resolve_messages(self) -> None:
        """The message flows between flow nodes of the imported processes; the others touch
        a pool boundary or a process not imported, cannot change how the imported
        processes run, and are ignored with a warning."""
        owner = owner_of(self.defs)
        mine = {str(p.get("id")) for p in (self.pools or [self.process])}
        for mf in self.defs.message_flows:
            a, b = str(mf.get("sourceRef")), str(mf.get("targetRef"))
            if owner.get(a) not in mine and owner.get(b) not in mine:
                continue
            where = f"messageFlow '{mf.get('id')}' ({a} -> {b})"
            outside = [x for x in (a, b) if x in self.defs.participants or owner.get(x)
                       not in mine]
            if outside:
                self.warnings.append(Problem(
                    f"{where}: ignored, it touches a pool boundary or a process that is not "
                    f"imported ({', '.join(outside)}), so it cannot change how the imported "
                    "process runs", file=self.file, line=mf.line, element=mf.get("id")))
                continue
            sender, receiver = self.map.ours.get(a), self.map.ours.get(b)
            if sender not in self.nodes or receiver not in self.nodes:
                if not self.problems:  # else an end that is itself reported
                    self.problems.append(Problem(
                        f"{where}: connects elements that are not imported flow nodes",
                        file=self.file, line=mf.line, element=mf.get("id")))
                continue
            assert sender is not None and receiver is not None
            self.messages.append((mf, sender, self.entries.get(receiver, receiver)))

    def wire_messages(self) -> None:
        """A message flow is an ``auto`` pass-through: a parallel split after its sender
        starts it beside the sender's own flows; a parallel join before its receiver waits
        for it and for the receiver's incoming flows (merged first if several). Several
        messages to one receiver are merged: any one of them is received."""
        by_source: dict[str, list[str]] = {}
        by_target: dict[str, list[str]] = {}
        for mf, sender, receiver in self.messages:
            mid = str(mf.get("id"))
            m = self.new_id(sanitize(mid), mf)
            self.add(m, {"name": str(mf.get("name") or mid), "type": "task", "kind": "auto"},
                     mf.line)
            by_source.setdefault(sender, []).append(m)
            self.map.messages.add(m)
            by_target.setdefault(receiver, []).append(m)
        for s, ms in by_source.items():
            out = self.outgoing(s)
            line = self.lines[("nodes", s)]
            if len(out) + len(ms) == 1:
                self.flows.append(_Flow(s, ms[0], line))
                continue
            split = self.new_id(f"{s}__send")
            self.add(split, {"type": "parallel"}, line)
            for f in out:
                f.source = split
            self._moved()
            self.flows.append(_Flow(s, split, line))
            self.flows += [_Flow(split, m, line) for m in ms]
        for r, ms in by_target.items():
            line = self.lines[("nodes", r)]
            msg = ms[0]
            if len(ms) > 1:
                msg = self.new_id(f"{r}__messages")
                self.add(msg, {"type": "exclusive"}, line)
                self.map.messages.add(msg)
                self.flows += [_Flow(m, msg, line) for m in ms]
            inc = self.incoming(r)
            if not inc or events.follows_event_gateway(self, r):
                self.flows.append(_Flow(msg, r, line))
                continue
            join = self.new_id(f"{r}__receive")
            self.add(join, {"type": "parallel"}, line)
            into = join
            if len(inc) > 1:
                into = self.new_id(f"{r}__merge")
                self.add(into, {"type": "exclusive"}, line)
                self.flows.append(_Flow(into, join, line))
            for f in inc:
                f.target = into
            self._moved()
            self.flows += [_Flow(msg, join, line), _Flow(join, r, line)]

    # -- extension elements of a process ---------------------------------------------------

    def read_process_extensions(self, process: XNode, defs: Definitions) -> None:
        ext = process.find(BPMN, "extensionElements")
        if ext is None:
            return
        for el in ext.children:
            if el.ns != PF:
                continue
            if el.tag == "field":
                self.pf_field(el, defs)
            elif el.tag == "agent":
                agent: dict[str, Any] = {k: v for k, v in el.attrib.items()
                                         if k in ("id", "version", "vendor", "model",
                                                  "description")}
                if el.get("threshold") is not None:
                    agent["threshold"] = el.get("threshold")
                if el.get("tasks"):
                    agent["tasks"] = [self.task_ref(t) for t in str(el.get("tasks")).split()]
                self.agents.append(agent)
            elif el.tag == "policy":
                policy: dict[str, Any] = dict(el.attrib)
                for key in _POLICY_LISTS:
                    if key in policy:
                        items = str(policy[key]).replace(",", " ").split()
                        policy[key] = [self.task_ref(t) for t in items] if key == "tasks" \
                            else items
                for key in _POLICY_TASKS:
                    if key in policy:
                        policy[key] = self.task_ref(str(policy[key]))
                for key in ("when", "condition"):
                    if key in policy:
                        try:
                            policy[key], _ = parse_condition(
                                str(policy[key]), None, file=defs.file, line=el.line,
                                element=el.get("id"))  # type: ignore[arg-type]
                        except ExpressionError as exc:
                            self.problems.extend(exc.problems)
                self.policies.append(policy)
                self.policy_lines.append(el.line)
            elif el.tag == "process" and process is self.process:
                for key in ("version", "description", "termination"):
                    if el.get(key) is not None:
                        self.header[key] = str(el.get(key))
                for role in str(el.get("roles") or "").split():
                    if role not in self.roles:
                        self.roles.append(role)
            elif el.tag == "policies" and el.get("file"):
                base = defs.path.parent if defs.path else Path.cwd()
                self.policy_files.append(base / str(el.get("file")))
            else:
                self.unsupported(el, "unknown petriflow extension element", defs,
                                 hint="see models/BPMN.md")

    def task_ref(self, bpmn_id: str) -> str:
        """Policies and agents name tasks by their BPMN id; resolved after import."""
        return f"\0{bpmn_id}"

    def pf_field(self, el: XNode, defs: Definitions) -> None:
        name = el.get("name")
        if not name:
            self.unsupported(el, "a field needs a name", defs)
            return
        spec: dict[str, Any] = {"type": el.get("type", "str")}
        if spec["type"] not in FIELD_TYPES:
            self.unsupported(el, f"unknown field type {spec['type']!r}", defs,
                             hint=f"one of {', '.join(FIELD_TYPES)}")
            return
        for key in ("min", "max", "default", "description"):
            if el.get(key) is not None:
                spec[key] = el.get(key)
        if el.get("values"):
            spec["values"] = str(el.get("values")).split()
        if el.get("input") is not None:
            spec["input"] = str(el.get("input")).lower() in ("true", "1", "yes")
        if "default" in spec and spec["type"] in ("int", "decimal", "float", "bool"):
            text = str(spec["default"])
            if spec["type"] == "bool":
                spec["default"] = text.lower() in ("true", "1", "yes")
            elif spec["type"] == "int" and text.lstrip("-").isdigit():
                spec["default"] = int(text)
        if name in self.fields and self.fields[name] != spec:
            self.unsupported(el, f"field '{name}' is declared twice, differently", defs)
            return
        self.fields[str(name)] = spec
        self.field_lines.setdefault(str(name), el.line)

    # -- one scope: a process, a sub-process, or a called process --------------------------

    def scope(self, container: XNode, prefix: str, defs: Definitions, *, top: bool,
              stack: tuple[tuple[Path | None, str | None], ...],
              exit_id: str | None = None, pool: bool = False, esp: bool = False
              ) -> str | None:
        """Import the flow nodes of ``container``; returns the id its start leads in at."""
        local: dict[str, str] = {}
        lanes = self.lanes(container)
        starts: list[str] = []
        boundaries: list[XNode] = []
        links_catch: dict[str, str] = {}
        links_throw: list[tuple[str, str, XNode]] = []
        has_end = False
        seq: list[XNode] = []
        elements: list[XNode] = []
        for c in container.children:
            if c.ns != BPMN:
                continue
            if c.tag == "sequenceFlow":
                seq.append(c)
            elif c.tag in FLOW_NODES:
                if not c.get("id"):
                    self.unsupported(c, "a flow node needs an id", defs)
                    continue
                self.map.flow_nodes += 1
                elements.append(c)
            elif c.tag not in IGNORED:
                self.unsupported(c, "this element is not supported", defs)
        for c in elements:
            if c.tag == "boundaryEvent":
                local[str(c.get("id"))] = self.new_id(prefix + sanitize(str(c.get("id"))), c)
                boundaries.append(c)
                continue
            our = self.new_id(prefix + sanitize(str(c.get("id"))), c)
            local[str(c.get("id"))] = our
            made = self.element(c, our, defs, top, stack, lanes, exit_id, links_catch,
                                links_throw, typed_start=top or pool or esp)
            if made == "start":
                starts.append(our)
            has_end = has_end or made == "end"
        for b in boundaries:
            self.boundary(b, local, defs)
        for our, name, node in links_throw:
            target = links_catch.get(name)
            if target is None:
                self.unsupported(node, f"no link catch event named '{name}' in its scope", defs)
            else:
                self.flows.append(_Flow(our, target, node.line))
        self.sequence_flows(seq, local, defs)
        for b in boundaries:
            self.direct_boundary(b, local)
        skip = {local[str(b.get("id"))] for b in boundaries} | set(links_catch.values())
        mine = [n for n in dict.fromkeys(local.values()) if n in self.nodes]
        if not starts and mine:  # no start event: every node without incoming flow starts
            first = [self.entries.get(n, n) for n in mine
                     if n not in skip and not self.incoming(self.entries.get(n, n))]
            if first:
                start = self.new_id(f"{prefix}implicit_start")
                self.add(start, {"type": "start"} if top else {"type": "task", "kind": "auto"},
                         container.line)
                self.flows += [_Flow(start, n, container.line) for n in first]
                starts.append(start)
        if not has_end and mine:  # no end event: every node without outgoing flow ends
            for n in mine:
                if self.outgoing(n):
                    continue
                if top:
                    end = self.new_id(f"{n}__implicit_end")
                    self.add(end, {"type": "end"}, self.lines[("nodes", n)])
                    self.flows.append(_Flow(n, end, self.lines[("nodes", n)]))
                else:
                    assert exit_id is not None
                    self.flows.append(_Flow(n, exit_id, self.lines[("nodes", n)]))
                    next(s for s in self.map.scopes if s.element == exit_id).ends.append(n)
        if len(starts) != 1:
            what = "process" if top else f"{container.tag} '{container.get('id')}'"
            if pool:
                what = f"process '{container.get('id')}'"
            if not starts:
                self.problems.append(Problem(f"the {what} has no start event", file=defs.file,
                                             line=container.line, element=container.get("id"),
                                             hint="petriflow needs exactly one none start "
                                             "event per process or sub-process"))
            else:
                ids = ", ".join(self.map.node_of[s] for s in starts)
                self.problems.append(Problem(
                    f"the {what} has {len(starts)} start events ({ids}); several start events "
                    "are not supported", file=defs.file, line=container.line,
                    element=container.get("id")))
            return None
        return starts[0]

    def lanes(self, container: XNode) -> dict[str, str]:
        """Flow node id -> role, from the innermost lane that lists it."""
        out: dict[str, str] = {}

        def walk(lane_set: XNode) -> None:
            for lane in lane_set.findall(BPMN, "lane"):
                role = sanitize(str(lane.get("name") or lane.get("id") or "lane"))
                for ref in lane.findall(BPMN, "flowNodeRef"):
                    out[ref.text.strip()] = role
                for child in lane.findall(BPMN, "childLaneSet"):
                    walk(child)
        for lane_set in container.findall(BPMN, "laneSet"):
            walk(lane_set)
        return out

    def definition(self, c: XNode, defs: Definitions) -> tuple[str | None, XNode | None, bool]:
        """The event definition of event ``c``: (tag, element, ok)."""
        found = [d for d in c.children if d.ns == BPMN and d.tag in EVENT_DEFINITIONS]
        for ref in (d for d in c.children if d.ns == BPMN and d.tag == "eventDefinitionRef"):
            # a definition kept at the top of the file and referenced (some tools write
            # them so): the same as one written inside the event
            name = (ref.text or "").strip()
            target = defs.by_id.get(name) or defs.by_id.get(name.rpartition(":")[2])
            if target is None or target.ns != BPMN or target.tag not in EVENT_DEFINITIONS:
                self.unsupported(c, f"its eventDefinitionRef '{name}' names no event "
                                 "definition of this file", defs)
                return None, None, False
            found.append(target)
        if len(found) > 1:
            self.unsupported(c, "events with several event definitions are not supported",
                             defs)
            return None, None, False
        return (found[0].tag, found[0], True) if found else (None, None, True)

    def element(self, c: XNode, our: str, defs: Definitions, top: bool,
                stack: tuple[tuple[Path | None, str | None], ...], lanes: dict[str, str],
                exit_id: str | None, links_catch: dict[str, str],
                links_throw: list[tuple[str, str, XNode]],
                typed_start: bool = False) -> str | None:
        tag, line, name = c.tag, c.line, c.get("name")
        base: dict[str, Any] = {"name": name} if name else {}
        if tag in _KIND:
            self.activity_checks(c, defs, our)
            self.add(our, {**base, **self.task(c, _KIND[tag], lanes, defs, our)}, line)
            return "task"
        if tag in ("exclusiveGateway", "parallelGateway", "inclusiveGateway"):
            self.add(our, {**base, "type": tag[: -len("Gateway")]}, line)
            if str(c.get("id")) in lanes:
                self.gateway_roles[our] = lanes[str(c.get("id"))]
            return "gateway"
        if tag == "eventBasedGateway":
            return events.event_gateway(self, c, our, base, defs)
        if tag == "complexGateway":
            self.unsupported(c, "this gateway is not supported", defs,
                             hint="use exclusive, parallel or inclusive gateways")
            return None
        if tag in CONTAINERS or tag == "callActivity":
            return self.container(c, our, defs, stack, base, exit_id)
        kind, definition, ok = self.definition(c, defs)
        if not ok:
            return None
        what = f"{kind[: -len('EventDefinition')]} " if kind else ""
        if tag == "startEvent":
            if (typed_start and kind in _TYPED_STARTS) or kind is None:
                if top:
                    self.add(our, {**base, "type": "start"}, line)
                else:
                    self.add(our, {**base, "type": "task", "kind": "auto"}, line)
                return "start"
            self.unsupported(c, f"{what}start events are not supported here", defs)
            return None
        if tag == "endEvent":
            trigger = kind
            after_raise = False
            if kind in ("errorEventDefinition", events.ESCALATION):
                how = raised.raising(self, c, our, kind, definition, base, end=True)
                if how != "plain":
                    return how  # leads to the catcher, or refused
                # an escalation nobody catches, or caught without interrupting: an end
                # (at the process level, a pass-through to the end, which the catch leaves)
                after_raise = top and bool(self.raised) and self.raised[-1].our == our
                trigger = None
            if kind == events.SIGNAL:  # broadcast it (outside, or to the catches inside)
                trigger = "messageEventDefinition"
            elif kind not in (None, "terminateEventDefinition", "messageEventDefinition",
                              "errorEventDefinition", events.ESCALATION):
                self.unsupported(c, f"{what}end events are not supported", defs)
                return None
            if kind == "terminateEventDefinition":
                self.map.terminate.add(our)
                self.map.terminate_in[our] = exit_id
            node = {**base, "type": "end"} if top else {**base, "type": "task", "kind": "auto"}
            ext = c.find(BPMN, "extensionElements")
            pf_end = ext.find(PF, "end") if ext is not None else None
            if top and pf_end is not None and pf_end.get("compensate") is not None:
                node["compensate"] = str(pf_end.get("compensate")).lower() in ("true", "1")
            if trigger == "messageEventDefinition" or after_raise:  # send, then end
                send = (events.broadcast(self, c, definition, defs, our)
                        if kind == events.SIGNAL
                        else {"type": "task", "kind": "auto"} if after_raise
                        else {"type": "task", "kind": "api", **self.pf_task(c, defs)})
                self.add(our, {**base, **send}, line)
                done = self.new_id(f"{our}__end")
                self.add(done, node, line)
                self.flows.append(_Flow(our, done, line))
                our = done
            else:
                self.add(our, node, line)
            if not top:
                assert exit_id is not None
                self.flows.append(_Flow(our, exit_id, line))
                next(s for s in self.map.scopes if s.element == exit_id).ends.append(our)
            return "end"
        if tag == "intermediateCatchEvent":
            if kind == "messageEventDefinition":
                self.add(our, {**base, "type": "task", "kind": "receive",
                               **self.pf_task(c, defs)}, line)
                return "event"
            if kind == "linkEventDefinition":
                assert definition is not None
                links_catch[str(definition.get("name") or name or "")] = our
                self.add(our, {**base, "type": "task", "kind": "auto"}, line)
                return "event"
            made = events.catch_event(self, c, our, kind, definition, base, defs)
            if made is None and not any(p.element == c.get("id") for p in self.problems):
                self.unsupported(c, f"intermediate {what}catch events are not supported", defs,
                                 hint="supported: message, timer (timeDuration), signal, link")
            return made
        if tag == "intermediateThrowEvent":
            if kind == events.ESCALATION:
                how = raised.raising(self, c, our, kind, definition, base, end=False)
                if how is None:
                    return None
                self.add(our, {**base, "type": "task", "kind": "auto"}, line)
                return "event"
            if kind is None or kind == "linkEventDefinition":
                self.add(our, {**base, "type": "task", "kind": "auto"}, line)
                if kind is not None:
                    assert definition is not None
                    links_throw.append((our, str(definition.get("name") or name or ""), c))
                return "event"
            if kind == "messageEventDefinition":
                self.add(our, {**base, "type": "task", "kind": "api",
                               **self.pf_task(c, defs)}, line)
                return "event"
            made = events.throw_event(self, c, our, kind, definition, base, defs)
            if made is None and not any(p.element == c.get("id") for p in self.problems):
                self.unsupported(c, f"intermediate {what}throw events are not supported",
                                 defs)
            return made
        self.unsupported(c, "not supported", defs)
        return None

    def activity_checks(self, c: XNode, defs: Definitions, our: str | None = None) -> None:
        for child in c.children:
            if child.ns == BPMN and child.tag in ("standardLoopCharacteristics",
                                                  "multiInstanceLoopCharacteristics"):
                loops.record(self, c, child, our, defs)
        if str(c.get("isForCompensation", "false")).lower() == "true":
            self.unsupported(c, "compensation handlers (isForCompensation) are not supported",
                             defs)
        for key in ("startQuantity", "completionQuantity"):
            if c.get(key, "1") != "1":
                self.unsupported(c, f"{key}={c.get(key)} is not supported", defs)

    # -- tasks -----------------------------------------------------------------------------

    def pf_task(self, c: XNode, defs: Definitions) -> dict[str, Any]:
        """What ``<pf:task>`` says about an activity, in the process language's keys."""
        ext = c.find(BPMN, "extensionElements")
        el = ext.find(PF, "task") if ext is not None else None
        out: dict[str, Any] = {}
        if el is None:
            return out
        for key, value in el.attrib.items():
            if key in _TASK_KEYS:
                out[key] = value.replace(",", " ").split()
            elif key in ("kind", "role", "agent", "check", "candidate", "confidence",
                         "remind", "handoff", "threshold", "compensation", "description"):
                out[key] = value
            else:
                self.unsupported(el, f"unknown attribute '{key}' of pf:task", defs)
        for key in ("handoff", "compensation"):
            if key in out:
                out[key] = self.task_ref(out[key])
        retry = el.find(PF, "retry")
        if retry is not None:
            out["retry"] = dict(retry.attrib)
        sets = {}
        for s in el.findall(PF, "set"):
            if s.get("field") and s.get("value") is not None:
                sets[str(s.get("field"))] = str(s.get("value"))
            else:
                self.unsupported(s, "pf:set needs 'field' and 'value'", defs)
        if sets:
            out["set"] = sets
        return out

    def task(self, c: XNode, kind: str, lanes: dict[str, str], defs: Definitions,
             our: str) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "task", "kind": kind}
        node.update(self.pf_task(c, defs))
        writes = list(node.get("writes", []))
        for name, spec in self.camunda_form(c):
            if name not in self.fields:
                self.fields[name] = spec
                self.field_lines[name] = c.line
            if name not in writes:
                writes.append(name)
        if writes and node["kind"] != "auto":
            node["writes"] = writes
        if node["kind"] == "human" and "role" not in node:
            node["role"] = self.role_of(c, lanes, defs)
        if node.get("role") and node["role"] not in self.roles:
            self.roles.append(node["role"])
        if node["kind"] == "api":
            td = self.zeebe(c, "taskDefinition")
            if td is not None and td.get("type"):
                node["description"] = f"job type {td.get('type')}"
        return node

    def extension(self, c: XNode) -> list[XNode]:
        ext = c.find(BPMN, "extensionElements")
        return list(ext.iter())[1:] if ext is not None else []

    def zeebe(self, c: XNode, tag: str) -> XNode | None:
        return next((e for e in self.extension(c) if e.ns == ZEEBE and e.tag == tag), None)

    def camunda_form(self, c: XNode) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for e in self.extension(c):
            if e.ns in CAMUNDA and e.tag == "formField" and e.get("id"):
                ftype = _FORM_TYPES.get(str(e.get("type", "string")), "str")
                spec: dict[str, Any] = {"type": ftype}
                if ftype == "enum":
                    values = [str(v.get("id")) for v in e.findall(e.ns, "value") if v.get("id")]
                    spec = {"type": "enum", "values": values} if values else {"type": "str"}
                out.append((sanitize(str(e.get("id"))), spec))
        return out

    def role_of(self, c: XNode, lanes: dict[str, str], defs: Definitions) -> str:
        groups = None
        for ns in CAMUNDA:
            groups = groups or c.attr(ns, "candidateGroups") or None
        zad = self.zeebe(c, "assignmentDefinition")
        if groups is None and zad is not None:
            groups = zad.get("candidateGroups")
        if groups and not groups.lstrip().startswith(("=", "${", "#{")):
            names = [g.strip() for g in groups.strip("[]").replace('"', "").split(",")
                     if g.strip()]
            if len(names) > 1:
                self.warnings.append(Problem(
                    f"{c.tag} '{c.get('id')}': candidate groups {', '.join(names)}; a human "
                    f"task has one role, '{sanitize(names[0])}' is used", file=defs.file,
                    line=c.line, element=c.get("id")))
            if names:
                return sanitize(names[0])
        if str(c.get("id")) in lanes:
            return lanes[str(c.get("id"))]
        assignee = None
        for ns in CAMUNDA:
            assignee = assignee or c.attr(ns, "assignee")
        if assignee is None and zad is not None:
            assignee = zad.get("assignee")
        if assignee and not assignee.lstrip().startswith(("=", "${", "#{")):
            return sanitize(assignee)
        for res in c.children:
            if res.ns == BPMN and res.tag in ("potentialOwner", "performer", "humanPerformer"):
                ref = res.find(BPMN, "resourceRef")
                target = self.defs.by_id.get(ref.text.strip()) if ref is not None else None
                if target is not None and (target.get("name") or target.get("id")):
                    return sanitize(str(target.get("name") or target.get("id")))
        return DEFAULT_ROLE

    # -- sub-processes and call activities -------------------------------------------------

    def container(self, c: XNode, our: str, defs: Definitions,
                  stack: tuple[tuple[Path | None, str | None], ...],
                  base: dict[str, Any], exit_id: str | None = None) -> str | None:
        if c.tag != "callActivity":
            if c.tag != "subProcess":
                self.unsupported(c, "transactions and ad-hoc sub-processes are not supported",
                                 defs)
                return None
            if str(c.get("triggeredByEvent", "false")).lower() == "true":
                return scoped.event_subprocess(self, c, our, defs, stack, base, exit_id)
            if not any(x.ns == BPMN and x.tag in FLOW_NODES for x in c.children):
                # a collapsed sub-process with no content: an abstract activity, like <task>
                self.activity_checks(c, defs, our)
                self.add(our, {**base, "type": "task", "kind": "auto"}, c.line)
                return "task"
            body, body_defs = c, defs
        else:
            if not c.get("calledElement") and self.zeebe(c, "calledElement") is None \
                    and not any(x.ns == BPMN and x.tag in FLOW_NODES for x in c.children):
                # a call activity that calls nothing (some tools export a collapsed
                # sub-process so): an abstract activity, like <task>
                self.activity_checks(c, defs, our)
                self.add(our, {**base, "type": "task", "kind": "auto"}, c.line)
                self.warnings.append(Problem(
                    f"callActivity '{c.get('id')}' names no calledElement: read as an "
                    "activity with no content", file=defs.file, line=c.line,
                    element=c.get("id")))
                return "task"
            found = self.called(c, defs, stack)
            if found is None:
                return None
            body_defs, body = found
            self.read_process_extensions(body, body_defs)
            stack = (*stack, (body_defs.path, body.get("id")))
        self.activity_checks(c, defs, our)
        # the container itself is the pass-through its ends lead to; its flows leave it
        self.add(our, {**base, "type": "task", "kind": "auto"}, c.line)
        self.map.scopes.append(Scope(f"{our}__", our))
        start = self.nested(body, f"{our}__", body_defs, stack, our,
                            raised.Level(str(c.get("id")), body, defs, our))
        if start is not None:
            self.entries[our] = start
        return "container"

    def nested(self, body: XNode, prefix: str, defs: Definitions,
               stack: tuple[tuple[Path | None, str | None], ...], exit_id: str,
               level: raised.Level | None = None, esp: bool = False) -> str | None:
        """Import the body of a sub-process, called process or event sub-process."""
        self.chain.append(level or raised.Level(None, body, defs, exit_id, esp=esp))
        try:
            return self.scope(body, prefix, defs, top=False, stack=stack, exit_id=exit_id,
                              esp=esp)
        finally:
            self.chain.pop()

    def draft(self, key: str | None) -> scoped.Draft:
        return scoped.draft(self, key)

    def called(self, c: XNode, defs: Definitions,
               stack: tuple[tuple[Path | None, str | None], ...]
               ) -> tuple[Definitions, XNode] | None:
        ref = c.get("calledElement")
        zce = self.zeebe(c, "calledElement")
        if ref is None and zce is not None:
            ref = zce.get("processId")
        if not ref or ref.startswith(("=", "${", "#{")):
            self.unsupported(c, "a call activity needs a calledElement naming a process",
                             defs)
            return None
        ref = ref.split(":")[-1]
        found: tuple[Definitions, XNode] | None = None
        if ref in defs.processes:
            found = (defs, defs.processes[ref])
        elif defs.path is not None:
            for sibling in sorted(defs.path.parent.glob("*.bpmn")):
                if sibling.resolve() == defs.path.resolve():
                    continue
                try:
                    other = read_file(sibling)
                except ModelError:
                    continue
                if ref in other.processes:
                    found = (other, other.processes[ref])
                    break
        if found is None:
            self.unsupported(c, f"the called process '{ref}' is neither in this file nor in "
                             "a .bpmn file next to it", defs)
            return None
        key = (found[0].path.resolve() if found[0].path else None, ref)
        if any((p.resolve() if p else None, pid) == key for p, pid in stack):
            self.unsupported(c, f"calls process '{ref}', which is already being called "
                             "(recursion is not supported)", defs)
            return None
        return found

    # -- boundary events (petriflow.model.bpmn.boundaries) ---------------------------------

    def boundary(self, b: XNode, local: dict[str, str], defs: Definitions) -> None:
        boundaries.boundary(self, b, local, defs)

    def direct_boundary(self, b: XNode, local: dict[str, str]) -> None:
        boundaries.direct_boundary(self, b, local)

    def duration(self, b: XNode, definition: XNode, defs: Definitions) -> str | None:
        dur = definition.find(BPMN, "timeDuration")
        if dur is None:
            self.unsupported(b, "only timers with a timeDuration are supported (not timeDate "
                             "or timeCycle)", defs)
            return None
        text = dur.text.strip().lstrip("=").strip().strip("\"'")
        try:
            parse_duration(text)
        except ValueError as exc:
            self.unsupported(b, f"timer duration {dur.text.strip()!r}: {exc}", defs)
            return None
        return text

    # -- sequence flows --------------------------------------------------------------------

    def sequence_flows(self, seq: list[XNode], local: dict[str, str],
                       defs: Definitions) -> None:
        for s in seq:
            self.map.sequence_flows += 1
            sid = str(s.get("id", ""))
            src, tgt = local.get(str(s.get("sourceRef"))), local.get(str(s.get("targetRef")))
            if src is None or tgt is None or src not in self.nodes or tgt not in self.nodes:
                refs = [str(s.get("sourceRef")), str(s.get("targetRef"))]
                missing = [r for r in refs if r not in defs.by_id]
                refused = {p.element for p in self.problems}
                if missing:
                    self.unsupported(s, f"refers to unknown element {', '.join(missing)}", defs)
                elif not refused.intersection(refs):  # (else: an end reported already)
                    owner = self.owners(defs)
                    where = ", ".join(f"its {end} '{r}' is in {owner.get(r) or 'no process'}"
                                      for end, r in zip(("source", "target"), refs,
                                                        strict=True))
                    self.unsupported(s, f"connects elements of different scopes ({where}; "
                                     f"the flow is in {owner.get(sid) or 'no process'})", defs)
                continue
            tgt = self.entries.get(tgt, tgt)
            cond = s.find(BPMN, "conditionExpression")
            condition = None
            if cond is not None and cond.text.strip():
                lang = cond.get("language") or defs.expression_language
                condition = (cond.text, lang, cond.line)
            source_el = defs.by_id.get(str(s.get("sourceRef")))
            default = source_el is not None and source_el.get("default") == sid and bool(sid)
            self.flows.append(_Flow(src, tgt, s.line, sid or None, condition, default,
                                    blank=cond is not None and condition is None))
            self.map.flows[sid] = (src, tgt)
            if sid and s.get("name") and str(s.get("name")).strip():
                self.flow_names[sid] = str(s.get("name")).strip()

    # -- rewriting into the language's shapes ----------------------------------------------

    def post_process(self) -> None:
        self.split_mixed_inclusive()
        self.conditional_activities()
        loops.rewrite(self, _Flow)
        self.dedupe_flows()
        self.wire_messages()
        self.pair_inclusive_joins()
        for our, node in self.nodes.items():
            for key in ("handoff", "compensation"):
                if str(node.get(key, "")).startswith("\0"):
                    node[key] = self.resolve(node[key], our)
        for agent in self.agents:
            agent["tasks"] = [self.resolve(t, str(agent.get("id"))) for t in
                              agent.get("tasks", [])]
        for policy in self.policies:
            for key in _POLICY_TASKS:
                if key in policy:
                    policy[key] = self.resolve(policy[key], str(policy.get("id")))
            if "tasks" in policy:
                policy["tasks"] = [self.resolve(t, str(policy.get("id")))
                                   for t in policy["tasks"]]
        if any(n.get("kind") == "human" and n.get("role") == DEFAULT_ROLE
               for n in self.nodes.values()) and DEFAULT_ROLE not in self.roles:
            self.roles.append(DEFAULT_ROLE)

    def resolve(self, ref: str, element: str) -> str:
        if not ref.startswith("\0"):
            return ref
        bid = ref[1:]
        if bid in self.map.ours:
            return self.map.ours[bid]
        if bid in self.nodes:
            return bid
        self.problems.append(Problem(f"'{element}' names '{bid}', which is no imported task",
                                     file=self.file, element=element))
        return sanitize(bid)

    def _flow_index(self) -> tuple[dict[str, list[_Flow]], dict[str, list[_Flow]]]:
        """Flows by source and by target, rebuilt when the list or a flow's ends changed
        (those changes bump ``_flow_epoch``)."""
        key = (id(self.flows), len(self.flows), getattr(self, "_flow_epoch", 0))
        cached = getattr(self, "_flow_cache", None)
        if cached is None or cached[0] != key:
            out: dict[str, list[_Flow]] = {}
            into: dict[str, list[_Flow]] = {}
            for f in self.flows:
                out.setdefault(f.source, []).append(f)
                into.setdefault(f.target, []).append(f)
            cached = self._flow_cache = (key, out, into)
        return cached[1], cached[2]

    def _moved(self) -> None:
        self._flow_epoch = getattr(self, "_flow_epoch", 0) + 1

    def outgoing(self, nid: str) -> list[_Flow]:
        return list(self._flow_index()[0].get(nid, ()))

    def incoming(self, nid: str) -> list[_Flow]:
        return list(self._flow_index()[1].get(nid, ()))

    def split_mixed_inclusive(self) -> None:
        for nid, node in list(self.nodes.items()):
            if node.get("type") == "inclusive" and len(self.incoming(nid)) > 1 \
                    and len(self.outgoing(nid)) > 1:
                split = self.new_id(f"{nid}__split")
                self.add(split, {"type": "inclusive", "name": node.get("name", nid)},
                         self.lines[("nodes", nid)])
                for f in self.outgoing(nid):
                    f.source = split
                    self._moved()
                self.flows.append(_Flow(nid, split, self.lines[("nodes", nid)]))

    def conditional_activities(self) -> None:
        """Conditional or default flows leaving an activity or event: BPMN gives a token to
        every flow whose condition holds (the default when none does), which is an
        inclusive split right after it."""
        for nid, node in list(self.nodes.items()):
            if node.get("type") in ("exclusive", "inclusive"):
                continue
            out = self.outgoing(nid)
            if len(out) == 1 and out[0].blank:
                # the only way out, with an empty condition (some tools write one on every
                # flow): taken always, since a false one would leave the token stuck
                f = out[0]
                f.blank = False
                self.warnings.append(Problem(
                    f"sequenceFlow '{f.bpmn_id}' has an empty conditionExpression: read as "
                    "always taken (it is the only flow leaving "
                    f"'{self.map.node_of.get(nid, nid)}')", file=self.file, line=f.line,
                    element=f.bpmn_id))
            for f in out:
                if f.blank:  # not "no condition" (always taken): a condition not written
                    self.problems.append(Problem(
                        f"sequenceFlow '{f.bpmn_id}' has an empty conditionExpression",
                        file=self.file, line=f.line, element=f.bpmn_id,
                        hint="write the condition, or remove the element if the flow is "
                        "always taken"))
            if not any(f.condition or f.default for f in out):
                continue
            if node.get("type") == "parallel":
                for f in out:
                    if f.condition or f.default:
                        self.problems.append(Problem(
                            f"sequenceFlow '{f.bpmn_id}' leaves parallel gateway "
                            f"'{self.map.node_of.get(nid)}' with a condition or as default; "
                            "parallel gateways do not choose", file=self.file, line=f.line,
                            element=f.bpmn_id))
                continue
            split = self.new_id(f"{nid}__conditions")
            self.add(split, {"type": "inclusive", "name": node.get("name", nid)},
                     self.lines[("nodes", nid)])
            for f in out:
                f.source = split
                self._moved()
                if f.condition is None and not f.default:
                    f.when = "True"
            self.flows.append(_Flow(nid, split, self.lines[("nodes", nid)]))

    def dedupe_flows(self) -> None:
        """Two flows between the same nodes become distinguishable through a pass-through."""
        seen: set[tuple[str, str]] = set()
        for f in list(self.flows):
            if (f.source, f.target) in seen:
                mid = self.new_id(sanitize(f"{f.source}__{f.bpmn_id or 'flow'}"))
                self.add(mid, {"type": "task", "kind": "auto"}, f.line)
                self.flows.append(_Flow(mid, f.target, f.line, None))
                f.target = mid
                self._moved()
            seen.add((f.source, f.target))

    def pair_inclusive_joins(self) -> None:
        splits = [n for n, s in self.nodes.items()
                  if s.get("type") == "inclusive" and len(self.outgoing(n)) > 1]
        for nid, node in self.nodes.items():
            if node.get("type") != "inclusive" or len(self.incoming(nid)) < 2:
                continue
            match = [s for s in splits if self.pairs(s, nid)]
            if len(match) >= 1:
                node["pairs"] = self.nearest(match, nid)
            else:
                self.problems.append(Problem(
                    f"inclusiveGateway '{self.map.node_of.get(nid)}': no inclusive split "
                    "matches this join (each branch of the split must reach it along exactly "
                    "one of its incoming flows)", file=self.file,
                    line=self.lines.get(("nodes", nid)), element=self.map.node_of.get(nid),
                    hint="petriflow's inclusive join waits for the branches its paired split "
                    "started; unstructured inclusive joins are not supported"))

    def reaching(self, start: str, target: str, stop: str) -> list[_Flow]:
        seen, todo, hits = {start}, [start], []
        while todo:
            for f in self.outgoing(todo.pop()):
                if f.target == target:
                    hits.append(f)
                elif f.target not in seen and f.target != stop:
                    seen.add(f.target)
                    todo.append(f.target)
        return hits

    def pairs(self, split: str, join: str) -> bool:
        incoming = self.incoming(join)
        used: list[int] = []
        for b in self.outgoing(split):
            hits = [f for f in incoming if f in self.reaching(b.target, join, split)
                    or f is b]
            if len(hits) != 1:
                return False
            used.append(id(hits[0]))
        return sorted(used) == sorted(id(f) for f in incoming)

    def nearest(self, splits: list[str], join: str) -> str:
        dist, todo = {join: 0}, [join]
        while todo:
            n = todo.pop(0)
            for f in self.incoming(n):
                if f.source not in dist:
                    dist[f.source] = dist[n] + 1
                    todo.append(f.source)
        return min(splits, key=lambda s: dist.get(s, 10 ** 9))

    # -- conditions and the fields they use ------------------------------------------------

    def conditions(self) -> None:
        for nid, node in self.nodes.items():
            out = self.outgoing(nid)
            if node.get("type") in ("exclusive", "inclusive") and len(out) > 1:
                for f in out:
                    if f.condition is None and not f.default and f.when is None:
                        self.problems.append(Problem(
                            f"sequenceFlow '{f.bpmn_id}' leaves "
                            f"{self.map.tag_of.get(nid, 'gateway')} '{self.map.node_of.get(nid)}'"
                            " without a condition and is not its default flow", file=self.file,
                            line=f.line, element=f.bpmn_id,
                            hint="give it a conditionExpression or make it the gateway's "
                            "default"))
        used: dict[str, set[str]] = {}
        where: dict[str, _Flow] = {}
        for f in self.flows:
            if f.condition is None:
                continue
            text, lang, line = f.condition
            try:
                f.when, expr = parse_condition(text, lang, file=self.file, line=line,
                                               element=f.bpmn_id or f"{f.source}->{f.target}")
            except ExpressionError as exc:
                self.problems.extend(exc.problems)
                continue
            found: dict[str, set[str]] = {}
            infer_types(expr, found)
            for name, kinds in found.items():
                used.setdefault(name, set()).update(kinds)
                where.setdefault(name, f)
        for name, kinds in used.items():
            if name in self.fields:
                continue
            f = where[name]
            at = {"file": self.file, "line": f.condition[2] if f.condition else f.line,
                  "element": f.bpmn_id}
            if name.startswith(("_", "by_")) or name == "actor":
                self.problems.append(Problem(f"condition uses the reserved name '{name}'", **at))
            elif len(kinds) != 1:
                self.problems.append(Problem(
                    f"cannot infer the type of '{name}' from the conditions ("
                    + (" and ".join(sorted(kinds)) if kinds else "no literal to compare with")
                    + ")", **at, hint=f"declare it: <pf:field name=\"{name}\" type=\"...\"/>"))
            else:
                kind = next(iter(kinds))
                self.fields[name] = {"type": kind, "input": True}
                self.field_lines[name] = int(at["line"] or 0)  # type: ignore[call-overload]
                self.warnings.append(Problem(
                    f"field '{name}' is not declared; inferred as an input of type {kind} "
                    "from the conditions", **at,
                    hint="declare it with <pf:field> and say which tasks write it "
                    "(<pf:task writes=...>)"))


__all__ = ["DEFAULT_ROLE", "Importer", "Mapping", "Scope"]
