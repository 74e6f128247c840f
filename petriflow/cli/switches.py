"""``petriflow processes`` and ``petriflow agents``: the kill switches an operator pulls
when a process or an agent misbehaves, and the agents' record from the journal.

A process suspended stops every case of it (nothing starts, fires or is called) until it
is resumed; an agent suspended is never called again: its open items go to the task's
human fallback where the model has one and wait otherwise. Both settings live in the
database, so every worker honours them, and each decision (who, when, why) goes into the
hash-chained operators' log that ``petriflow audit verify`` checks.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click

from petriflow.cli import _fail, main
from petriflow.cli.engine import DB_HELP, _store
from petriflow.errors import did_you_mean

_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]),
                       default="text", show_default=True)
_BY = click.option("--by", default="cli", show_default=True,
                   help="Who decides (recorded in the operators' log).")
_REASON = click.option("--reason", default="", help="Why (recorded in the operators' log).")


def _engine(db: str | None) -> Any:
    from petriflow.runtime import Engine

    return Engine(_store(db, create=False))


def _unknown(kind: str, name: str, known: list[str]) -> None:
    hint = did_you_mean(name, known) or f"the database has {', '.join(sorted(known)) or 'none'}"
    _fail(f"no {kind} {name!r} in the database; {hint}")


def _last_decisions(store: Any, kind: str) -> dict[str, dict[str, Any]]:
    """Name -> the last operator decision about it (action, by, at, reason)."""
    return {op.key: {"action": op.action, "by": op.actor, "at": op.at, "reason": op.reason}
            for op in store.operations() if op.kind == kind}


def _flag(row: dict[str, Any]) -> str:
    if not row["suspended"]:
        return ""
    d = row["decision"] or {}
    why = f": {d['reason']}" if d.get("reason") else ""
    return f"  SUSPENDED by {d.get('by', '?')}{why}"


# -- processes --------------------------------------------------------------------------------


@main.group()
def processes() -> None:
    """The processes deployed in a database; suspend or resume every case of one."""


def _process_rows(engine: Any) -> list[dict[str, Any]]:
    store = engine.store
    suspended = store.switches().get("process", frozenset())
    decided = _last_decisions(store, "process")
    counts: dict[str, Counter[str]] = {}
    for rec in store.cases():
        counts.setdefault(rec.fingerprint, Counter())[rec.status.value] += 1
    rows = []
    for fp in store.fingerprints():
        stored = store.process(fp)
        rows.append({"process": stored.name, "version": stored.version, "fingerprint": fp,
                     "suspended": stored.name in suspended,
                     "decision": decided.get(stored.name),
                     "cases": dict(sorted(counts.get(fp, Counter()).items()))})
    return rows


@processes.command("list")
@click.option("--db", default=None, help=DB_HELP)
@_FORMAT
def processes_list(db: str | None, fmt: str) -> None:
    """Every deployed process (one line per fingerprint) with its cases by status."""
    rows = _process_rows(_engine(db))
    if fmt == "json":
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no process deployed")
    for row in rows:
        cases = ", ".join(f"{n} {status}" for status, n in row["cases"].items()) or "no case"
        click.echo(f"{row['process']} {row['version']} ({row['fingerprint'][:12]}): "
                   f"{cases}{_flag(row)}")


def _process_name(engine: Any, name: str) -> str:
    names = sorted({row["process"] for row in _process_rows(engine)})
    if name not in names:
        _unknown("process", name, names)
    return name


@processes.command("suspend")
@click.argument("name")
@click.option("--db", default=None, help=DB_HELP)
@_BY
@_REASON
def processes_suspend(name: str, db: str | None, by: str, reason: str) -> None:
    """Stop every case of process NAME: nothing starts, fires or is called until it is
    resumed (every worker on the database honours it)."""
    engine = _engine(db)
    engine.suspend_process(_process_name(engine, name), by=by, reason=reason)
    click.echo(f"process {name}: suspended")


@processes.command("resume")
@click.argument("name")
@click.option("--db", default=None, help=DB_HELP)
@_BY
@_REASON
def processes_resume(name: str, db: str | None, by: str, reason: str) -> None:
    """Let the cases of process NAME move again (workers pick up their work)."""
    engine = _engine(db)
    engine.resume_process(_process_name(engine, name), by=by, reason=reason)
    click.echo(f"process {name}: running")


# -- agents ------------------------------------------------------------------------------------


@main.group()
def agents() -> None:
    """The agent registry: each agent's record from the journal; suspend or resume one."""


def _agent_rows(engine: Any) -> list[dict[str, Any]]:
    store = engine.store
    for fp in store.fingerprints():
        engine.deployment(fp)  # its registry counts (a definition that changed: an error)
    suspended = store.switches().get("agent", frozenset())
    decided = _last_decisions(store, "agent")
    return [{**record.as_dict(), "suspended": agent in suspended,
             "decision": decided.get(agent)}
            for agent, record in sorted(engine.agent_records().items())]


@agents.command("list")
@click.option("--db", default=None, help=DB_HELP)
@_FORMAT
def agents_list(db: str | None, fmt: str) -> None:
    """Every registered agent with its record: completions, handoffs to people, refusals
    by policy, failures and average confidence, from the journals of all cases."""
    rows = _agent_rows(_engine(db))
    if fmt == "json":
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no agent registered")
    for row in rows:
        who = " ".join(str(v) for v in (row["vendor"], row["model"]) if v)
        avg = row["average_confidence"]
        confidence = f"{avg:.2f}" if avg is not None else "-"
        click.echo(f"{row['agent']} v{row['version']}{f' ({who})' if who else ''}: "
                   f"{row['completions']} completed, {row['handoffs']} handed to people, "
                   f"{row['refusals']} refused, {row['failures']} failed, average "
                   f"confidence {confidence}{_flag(row)}")


def _agent_id(engine: Any, agent: str) -> str:
    known = [row["agent"] for row in _agent_rows(engine)]
    if agent not in known:
        _unknown("agent", agent, known)
    return agent


@agents.command("suspend")
@click.argument("agent")
@click.option("--db", default=None, help=DB_HELP)
@_BY
@_REASON
def agents_suspend(agent: str, db: str | None, by: str, reason: str) -> None:
    """Never call AGENT again until it is resumed: its open work items go to their
    task's human fallback where the model has one, and wait otherwise."""
    engine = _engine(db)
    moved = engine.suspend_agent(_agent_id(engine, agent), by=by, reason=reason)
    click.echo(f"agent {agent}: suspended; {moved} open work item(s) handed to people")


@agents.command("resume")
@click.argument("agent")
@click.option("--db", default=None, help=DB_HELP)
@_BY
@_REASON
def agents_resume(agent: str, db: str | None, by: str, reason: str) -> None:
    """Call AGENT again (workers pick up its waiting items)."""
    engine = _engine(db)
    engine.resume_agent(_agent_id(engine, agent), by=by, reason=reason)
    click.echo(f"agent {agent}: running")
