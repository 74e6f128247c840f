"""The operators' log: who pulled a kill switch of a process or an agent, when and why.

Suspending a process or an agent is a decision about every case at once, so it belongs
to no case's journal; it goes into this log instead, one entry per decision, hash
chained like the journal (each entry carries the hash of the one before), so an entry
edited, removed or inserted afterwards is detected. The switches a store holds must be
what replaying the log gives: a switch set or cleared behind the log's back is found by
:func:`verify_operations` (``petriflow audit verify``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from petriflow.governance.audit import GENESIS, canonical

SUSPEND, RESUME = "suspend", "resume"


@dataclass(frozen=True, slots=True)
class Operation:
    """One operator decision: ``action`` (suspend or resume) on the switch ``kind``
    (process or agent) of ``key`` (its name), by ``actor`` at ``at``."""

    seq: int
    at: float
    kind: str
    key: str
    action: str
    actor: str
    reason: str | None
    prev: str
    hash: str = ""


def operation_hash(op: Operation) -> str:
    """The SHA-256 of the entry's canonical text (everything but its own hash)."""
    body = {"seq": op.seq, "at": op.at, "kind": op.kind, "key": op.key,
            "action": op.action, "actor": op.actor, "reason": op.reason, "prev": op.prev}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def next_operation(last: Operation | None, at: float, kind: str, key: str, on: bool,
                   actor: str, reason: str | None) -> Operation:
    """The entry that follows ``last`` (None: the first), sealed."""
    op = Operation(1 if last is None else last.seq + 1, at, kind, key,
                   SUSPEND if on else RESUME, actor, reason or None,
                   GENESIS if last is None else last.hash)
    return Operation(op.seq, op.at, op.kind, op.key, op.action, op.actor, op.reason,
                     op.prev, operation_hash(op))


def verify_operations(ops: Sequence[Operation],
                      switches: Mapping[str, frozenset[str]]) -> list[str]:
    """What is wrong with the log ``ops`` (in order) and the switches it must explain:
    a broken chain names the first entry that does not verify; a switch on or off
    against the log names the process or agent."""
    problems = []
    prev, on = GENESIS, set()
    for i, op in enumerate(ops, start=1):
        if op.seq != i or op.prev != prev or op.hash != operation_hash(op) or \
                op.action not in (SUSPEND, RESUME):
            problems.append(f"operations log, entry {op.seq}: does not verify (edited, "
                            "removed or inserted after it was written)")
            return problems
        prev = op.hash
        if op.action == SUSPEND:
            on.add((op.kind, op.key))
        else:
            on.discard((op.kind, op.key))
    stored = {(kind, key) for kind, keys in switches.items() for key in keys}
    for kind, key in sorted(stored - on):
        problems.append(f"{kind} {key}: suspended, but no operator decision in the log "
                        "suspended it")
    for kind, key in sorted(on - stored):
        problems.append(f"{kind} {key}: the log says it is suspended, but it is not")
    return problems


__all__ = ["RESUME", "SUSPEND", "Operation", "next_operation", "operation_hash",
           "verify_operations"]
