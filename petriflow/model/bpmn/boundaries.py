"""Boundary events (BPMN 2.0 section 10.5.2 ff.), mapped onto the task or scope they are
attached to: timers, errors and caught messages of tasks (``timeout``, ``on_error``,
``catch``), events of sub-processes and call activities (:mod:`.scoped`), errors and
escalations raised inside (:mod:`.raised`). The importer passes itself as ``self``.
"""

from __future__ import annotations

from typing import Any

from petriflow.model.bpmn import events, scoped
from petriflow.model.bpmn.document import Definitions
from petriflow.model.bpmn.names import BPMN, PF
from petriflow.model.bpmn.xmlread import XNode


def boundary(self: Any, b: XNode, local: dict[str, str], defs: Definitions) -> None:
    """Map one boundary event (models/BPMN.md, Mapping); refuse what is not supported."""
    our = local[str(b.get("id"))]
    kind, definition, ok = self.definition(b, defs)
    if not ok:
        return
    host_id = local.get(str(b.get("attachedToRef")))
    host = self.nodes.get(host_id) if host_id else None
    if host is None:
        self.unsupported(b, f"attached to '{b.get('attachedToRef')}', which is not an "
                         "imported activity of the same scope", defs)
        return
    interrupting = str(b.get("cancelActivity", "true")).lower() != "false"
    is_task = host_id not in self.entries and host.get("type") == "task"
    kind_of = host.get("kind")
    if kind == "timerEventDefinition" and is_task \
            and kind_of not in ("auto", None) and "timeout" not in host:
        assert definition is not None
        after = self.duration(b, definition, defs)
        if after is None:
            return
        # non-interrupting: the task goes on, a token starts here (at most once)
        host["timeout"] = {"after": after, "to": our,
                           **({} if interrupting else {"interrupting": False})}
    elif kind == "errorEventDefinition" and is_task and kind_of in ("api", "bot") \
            and "on_error" not in host:
        host["on_error"] = our
    elif events.boundary_catch(self, b, our, host, kind, interrupting, is_task) or \
            scoped.boundary(self, b, our, kind, definition, interrupting, str(host_id),
                            defs):
        pass  # a caught message, or an event of a sub-process (models/SEMANTICS.md)
    else:
        what = (kind or "none")[: -len("EventDefinition")] if kind else "none"
        second = " (a second timer: a task takes one)" if is_task and \
            kind == "timerEventDefinition" and "timeout" in host else ""
        if host_id not in self.entries and \
                self.map.tag_of.get(host_id or "") in ("subProcess", "callActivity"):
            second = (" (a collapsed sub-process with no content is an automatic task, "
                      "done at once: nothing could happen while it runs)")
        elif host_id in self.entries and kind == "timerEventDefinition":
            second = " (a second timer: a scope takes one)"
        elif kind in ("errorEventDefinition", events.ESCALATION) and \
                self.map.tag_of.get(host_id or "") in ("subProcess", "callActivity"):
            second = (" (nothing inside it raises what this event catches; an error or "
                      "escalation of a task itself is not modelled)")
        self.unsupported(b, f"{'' if interrupting else 'non-'}interrupting {what} boundary "
                         f"event on {self.map.tag_of.get(host_id or '', 'element')} "
                         f"'{b.get('attachedToRef')}' is not supported{second}", defs,
                         hint="supported: one timer (interrupting or not) on a human, "
                         "agent, bot, api or receive task or on a sub-process (with "
                         "content) or call activity, message and signal events "
                         "(interrupting or not) on them; one error boundary on an api or "
                         "bot task; error and escalation boundaries of a sub-process that "
                         "something inside raises")
        return
    self.add(our, {**({"name": b.get("name")} if b.get("name") else {}),
                   "type": "task", "kind": "auto"}, b.line)

def direct_boundary(self: Any, b: XNode, local: dict[str, str]) -> None:
    """A boundary event marked ``<pf:direct/>`` (as the exporter writes them) is no
    node of its own: the timeout or error leads straight to its one flow's target."""
    ext = b.find(BPMN, "extensionElements")
    our = local[str(b.get("id"))]
    if ext is None or ext.find(PF, "direct") is None or our not in self.nodes:
        return
    out, host = self.outgoing(our), self.nodes.get(local.get(str(b.get("attachedToRef")), ""))
    if len(out) != 1 or out[0].condition is not None or self.incoming(our) or host is None:
        return
    catches = [x for x in host.get("catch", []) if x["to"] == our]
    if host.get("timeout", {}).get("to") == our:
        host["timeout"]["to"] = out[0].target
    elif host.get("on_error") == our:
        host["on_error"] = out[0].target
    elif catches:
        catches[0]["to"] = out[0].target
    else:
        return
    del self.nodes[our]
    del self.lines[("nodes", our)]
    self.flows.remove(out[0])


__all__ = ["boundary", "direct_boundary"]
