"""``petriflow run``: many cases of a process with simulated participants, summarised."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from petriflow.cli import _fail, _load_model, main


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _statements(compiled: Any) -> dict[str, str]:
    out = {"candidate": "who may do a task (the task's candidate rule)",
           "role": "the person does not hold the task's role",
           "participant": "the task is done by another participant",
           "outcome_check": "the task's outcome check failed (no phantom progress)",
           "reads": "a participant asked for data its task does not read"}
    for ob in compiled.obligations:
        out[ob.policy.id] = ob.policy.describe()
    return out


def summary_text(summary: Any, compiled: Any) -> str:
    s = summary
    lines = [f"{s.process}: {s.cases} cases in {s.seconds:.2f} s"]
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(s.statuses.items()))
    lines.append(f"  cases: {statuses}")
    lines.append("  outcomes:")
    width = max((len(k) for k in s.outcomes), default=0)
    for name, n in s.outcomes.items():
        share = 100 * n / s.cases if s.cases else 0
        lines.append(f"    {name:<{width}}  {n:>6}  ({share:.1f}%)")
    if not s.outcomes:
        lines.append("    none completed")
    lines.append(f"  tasks completed: {s.tasks} ({s.steps} steps)")
    lines.append(f"  handed to a person (low confidence or agent unavailable): {s.handoffs}")
    lines.append(f"  deadlines passed (work escalated or re-offered): {s.timeouts}")
    lines.append(f"  reminders sent: {s.reminders}")
    lines.append(f"  failed calls retried: {s.retries}")
    total = sum(s.refusals.values())
    lines.append(f"  refused by policy: {total}")
    statements = _statements(compiled)
    for pid, n in s.refusals.items():
        lines.append(f"    {pid}: {n}  - {statements.get(pid, '')}".rstrip(" -"))
    lines.append(f"  incidents: {s.incidents}")
    for reason, n in s.incident_reasons.items():
        lines.append(f"    {reason}: {n}")
    if s.stopped_at_horizon is not None:
        still = s.cases - s.completed - s.incidents
        lines.append(f"  stopped at the scenario's horizon, {_duration(s.stopped_at_horizon)} "
                     f"of process time after the last case started: {still} case(s) still "
                     "open (work nobody may do, or a loop that does not end)")
    ct = s.cycle_time()
    if ct:
        lines.append(f"  cycle time (process time): mean {_duration(ct['mean'])}, median "
                     f"{_duration(ct['p50'])}, 90% within {_duration(ct['p90'])}, longest "
                     f"{_duration(ct['max'])}")
    return "\n".join(lines) + "\n"


DB_HELP = ("Database URL (default: sqlite:///petriflow.db in the working directory; "
           "PostgreSQL: postgresql+psycopg://user@host/db).")


def _store(db: str | None, *, create: bool = True, batch: int = 1) -> Any:
    from petriflow.store.sql import SqlStore, default_url

    return SqlStore(db or default_url(), create=create, batch=batch)


_PEOPLE = click.option(
    "--people", "people", default=None, type=click.Path(dir_okay=False),
    help="Who holds which role: a YAML file mapping each role to a list of names; then a "
         "person may only take work offered to a role they hold (default: "
         "$PETRIFLOW_PEOPLE; without one, roles are not checked).")


def _people(path: str | None) -> dict[str, set[str]] | None:
    """The people directory (person -> roles) of ``--people`` or $PETRIFLOW_PEOPLE."""
    import os

    from petriflow.model.loader import parse_document, read_text

    path = path or os.environ.get("PETRIFLOW_PEOPLE") or None
    if path is None:
        return None
    data, src = parse_document(read_text(Path(path)), path)
    if not isinstance(data, dict) or not data:
        _fail(f"{path}: a people directory maps each role to a list of names")
    people: dict[str, set[str]] = {}
    for role, names in data.items():
        if not isinstance(names, list) or not all(
                isinstance(n, str) and n.strip() == n and n for n in names):
            _fail(f"{path}, line {src.line(role)}: role {role!r} takes a list of names "
                  "(without surrounding spaces)")
        for name in names:
            people.setdefault(name, set()).add(str(role))
    return people


def _engine(db: str | None, *, case: str | None = None, item: str | None = None,
            people: dict[str, set[str]] | None = None) -> Any:
    """An engine on the database. Cases that ``petriflow run`` simulated live in process
    time (their label ``clock: simulated``), so acting on one uses a clock standing at the
    case's last step rather than the wall clock, which would fire every deadline at once."""
    from petriflow.runtime import Engine, ManualClock

    store = _store(db, create=False)
    if item is not None:
        case = store.work_item(item).case
    if case is not None:
        rec = store.case(case)
        if rec.labels.get("clock") == "simulated":
            return Engine(store, clock=ManualClock(rec.updated), people=people)
    return Engine(store, people=people)


@main.command("run")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--cases", type=click.IntRange(min=0, max=10_000_000), default=100,
              show_default=True, help="How many cases to start.")
@click.option("--seed", type=int, default=None, help="Random seed (default: the scenario's).")
@click.option("--scenario", type=click.Path(dir_okay=False), default=None,
              help="Participants' behaviour (default: MODEL's .scenario.yaml beside it).")
@click.option("--policy", "policies", multiple=True, type=click.Path(dir_okay=False),
              help="Extra policy file to enforce (repeatable).")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--memory", is_flag=True, help="Keep nothing: run in memory only.")
@click.option("--resume", is_flag=True,
              help="Finish the unfinished cases an interrupted run left; start none.")
@click.option("--batch", type=click.IntRange(min=1, max=10_000), default=1, show_default=True,
              help="Write the steps of up to N requests in one transaction (faster; a crash "
                   "loses at most the last N, never part of one).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def run_command(model: str, cases: int, seed: int | None, scenario: str | None,
                policies: tuple[str, ...], db: str | None, memory: bool, resume: bool,
                batch: int, fmt: str) -> None:
    """Run CASES cases of MODEL with simulated people, agents and services.

    Cases are kept in the database (SQLite in the working directory unless --db says
    otherwise), so `petriflow cases`, `tasks` and `audit` can inspect them afterwards.
    """
    from petriflow.runtime.scenario import (
        Scenario,
        check_against,
        load_scenario,
        scenario_next_to,
    )
    from petriflow.runtime.simulate import Simulation

    if memory and (db or resume):
        _fail("--memory keeps nothing, so it goes with neither --db nor --resume")
    compiled = _load_model(model, policies)
    if scenario is not None and not Path(scenario).is_file():
        _fail(f"{scenario}: no such file")
    path = Path(scenario) if scenario else scenario_next_to(model)
    behaviour = load_scenario(path) if path else Scenario()
    check_against(behaviour, compiled)  # a misspelt task or field would do nothing at all
    # (--resume finishes what a run left: a database that is not there is a mistake)
    store = None if memory else _store(db, create=not resume, batch=batch)
    sim = Simulation(compiled, behaviour, seed=seed, store=store,
                     source=str(Path(model).resolve()))
    try:
        summary = sim.resume() if resume else sim.run(cases)
    finally:
        if store is not None:
            store.close()
    if fmt == "json":
        click.echo(json.dumps(summary.as_json(), indent=2, default=str))
    else:
        click.echo(summary_text(summary, compiled), nl=False)


# -- cases ----------------------------------------------------------------------------------


@main.group()
def cases() -> None:
    """List, inspect, suspend and resume cases in a database."""


@cases.command("list")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--status", type=click.Choice(["running", "waiting", "completed", "failed",
                                             "suspended"]), default=None)
@click.option("--process", default=None, help="Only cases of this process.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def cases_list(db: str | None, status: str | None, process: str | None, fmt: str) -> None:
    """Cases with their status and number of journal events."""
    from petriflow.store.base import CaseStatus

    store = _store(db, create=False)
    rows = [{"id": c.id, "process": c.process, "status": c.status.value, "steps": c.version}
            for c in store.cases(process=process,
                                 status=CaseStatus(status) if status else None)]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']}  {r['process']}  {r['status']}  {r['steps']} events")
    click.echo(f"{len(rows)} case(s)")


@cases.command("show")
@click.argument("case_id")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def cases_show(case_id: str, db: str | None, fmt: str) -> None:
    """One case: status, marking, data, open work items and its journal."""
    from petriflow.store.codec import dumps

    store = _store(db, create=False)
    rec = store.case(case_id)
    items = store.work_items(case=case_id)
    journal = store.events(case_id)
    if fmt == "json":
        click.echo(dumps({
            "id": rec.id, "process": rec.process, "fingerprint": rec.fingerprint,
            "status": rec.status.value, "incident": rec.incident,
            "marking": dict(rec.marking), "data": dict(rec.data),
            "work_items": [{"id": i.id, "task": i.task, "kind": i.kind,
                            "status": i.status.value, "role": i.role,
                            "claimed_by": i.claimed_by} for i in items],
            "events": [{"seq": e.seq, "kind": e.kind, "at": e.at,
                        "transition": e.transition, "actor": e.actor, "reason": e.reason}
                       for e in journal]}))
        return
    click.echo(f"case {rec.id} of {rec.process} ({rec.fingerprint[:12]}): {rec.status.value}")
    if rec.incident:
        click.echo(f"  incident: {rec.incident}")
    click.echo("  tokens: " + ", ".join(f"{p} x{n}" for p, n in rec.marking.items()))
    for item in items:
        who = f", claimed by {item.claimed_by}" if item.claimed_by else ""
        click.echo(f"  open work item {item.id}: {item.task} ({item.kind}"
                   f"{', role ' + item.role if item.role else ''}{who})")
    click.echo("  data:")
    for k, v in rec.data.items():
        click.echo(f"    {k} = {v}")
    click.echo("  journal:")
    for e in journal:
        what = e.transition or e.action or ""
        who = f" by {e.actor}" if e.actor else ""
        why = f": {e.reason}" if e.reason else ""
        click.echo(f"    {e.seq:>4} {e.kind:<8} {what}{who}{why}")


@cases.command("suspend")
@click.argument("case_id")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--reason", default="", help="Why (recorded in the journal).")
@click.option("--by", default="cli", show_default=True, help="Who suspends it.")
def cases_suspend(case_id: str, db: str | None, reason: str, by: str) -> None:
    """Stop a case: nothing fires and no one is called until it is resumed."""
    rec = _engine(db, case=case_id).suspend(case_id, by=by, reason=reason)
    click.echo(f"case {rec.id}: {rec.status.value}")


@cases.command("resume")
@click.argument("case_id")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--by", default="cli", show_default=True, help="Who resumes it.")
def cases_resume(case_id: str, db: str | None, by: str) -> None:
    rec = _engine(db, case=case_id).resume(case_id, by=by)
    click.echo(f"case {rec.id}: {rec.status.value}")


@cases.command("retry")
@click.argument("case_id")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--by", default="cli", show_default=True, help="Who clears the incident.")
def cases_retry(case_id: str, db: str | None, by: str) -> None:
    """Clear a failed case's incident; its failed services are called again by the next
    `petriflow worker` (nothing moves a failed case before)."""
    engine = _engine(db, case=case_id)
    rec = engine.case(case_id)
    if rec.status.value != "failed":
        _fail(f"case {case_id} is {rec.status.value}, not failed: there is nothing to retry")
    rec = engine.retry(case_id, by=by)
    click.echo(f"case {rec.id}: {rec.status.value}")


# -- tasks ----------------------------------------------------------------------------------


@main.group()
def tasks() -> None:
    """The worklist: open work items, claimed and completed by people."""


@tasks.command("list")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--role", default=None, help="Only work offered to this role.")
@click.option("--case", "case_id", default=None, help="Only work of this case.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def tasks_list(db: str | None, role: str | None, case_id: str | None, fmt: str) -> None:
    store = _store(db, create=False)
    items = store.work_items(case=case_id, role=role)
    rows = [{"id": i.id, "case": i.case, "task": i.task, "kind": i.kind,
             "status": i.status.value, "role": i.role, "agent": i.agent,
             "claimed_by": i.claimed_by, "due": i.due} for i in items]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        who = r["role"] or r["agent"] or r["kind"]
        held = f" (claimed by {r['claimed_by']})" if r["claimed_by"] else ""
        click.echo(f"{r['id']}  {r['task']}  for {who}  {r['status']}{held}")
    click.echo(f"{len(rows)} open work item(s)")


@tasks.command("claim")
@click.argument("item_id")
@click.option("--as", "person", required=True, help="Who takes the work item.")
@click.option("--db", default=None, help=DB_HELP)
@_PEOPLE
def tasks_claim(item_id: str, person: str, db: str | None, people: str | None) -> None:
    item = _engine(db, item=item_id, people=_people(people)).claim(item_id, person)
    click.echo(f"{item.id}: claimed by {item.claimed_by}")


def _outputs(pairs: tuple[str, ...], data: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if data:
        try:  # (numbers with a fraction as exact decimals: a float would round 10000.0000001)
            loaded = json.loads(data, parse_float=Decimal)
        except ValueError as exc:
            _fail(f"--data is not JSON: {exc}")
        if not isinstance(loaded, dict):
            _fail("--data must be a JSON object of field values")
        out.update(loaded)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            _fail(f"--set takes FIELD=VALUE, got {pair!r}")
        try:  # JSON literals (true, 12.5 as an exact decimal, "text"); anything else is text
            out[name] = json.loads(text, parse_float=Decimal)
        except ValueError:
            out[name] = text
    return out


@tasks.command("complete")
@click.argument("item_id")
@click.option("--as", "person", required=True, help="Who completes the work item.")
@click.option("--set", "pairs", multiple=True, metavar="FIELD=VALUE",
              help="An output field (repeatable); VALUE is read as JSON when it can be.")
@click.option("--data", default=None, help="All output fields as one JSON object.")
@click.option("--db", default=None, help=DB_HELP)
@_PEOPLE
def tasks_complete(item_id: str, person: str, pairs: tuple[str, ...], data: str | None,
                   db: str | None, people: str | None) -> None:
    """Complete a work item with its outputs (refused, and recorded, if a policy says no)."""
    rec = _engine(db, item=item_id, people=_people(people)).complete(
        item_id, person, _outputs(pairs, data))
    click.echo(f"{item_id}: completed; case {rec.id} is {rec.status.value}")


# -- audit ----------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """Evidence: verify the hash chains and replay every case."""


@audit.command("verify")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--case", "case_ids", multiple=True, help="Only these cases (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def audit_verify(db: str | None, case_ids: tuple[str, ...], fmt: str) -> None:
    """Check every case's hash chain and that replaying its journal gives the stored state,
    and the operators' log of kill-switch decisions. Exit 0 when all are intact, 1 naming
    each case and event (or log entry, process or agent) that is not."""

    from petriflow.errors import PetriflowError
    from petriflow.governance.operations import verify_operations
    from petriflow.runtime.replay import orphan_journals

    engine = _engine(db)
    ids = list(case_ids) or engine.store.case_ids()
    if case_ids:  # (a record deleted while its journal stays is a finding, not a typo)
        known = set(engine.store.case_ids()) | set(engine.store.journal_case_ids())
        for cid in case_ids:
            if cid not in known:
                _fail(f"no case {cid!r} in the database: neither a record nor a journal")
    bad = []
    for cid in ids:
        try:
            report = engine.replay(cid)
            ok, text = report.ok, str(report)
        except PetriflowError as exc:  # an undecodable row is a finding, not a crash
            ok, text = False, f"case {cid}: {exc}"
        if not ok:
            bad.append(text)
    if not case_ids:  # journals whose case record is gone: no replay starts from those
        orphans = orphan_journals(engine.store)
        ids += [r.case for r in orphans]
        bad += [str(r) for r in orphans]
    # the operators' log of kill-switch decisions, and the switches it must explain
    log = [] if case_ids else verify_operations(engine.store.operations(),
                                                engine.store.switches())
    if fmt == "json":
        click.echo(json.dumps({"cases": len(ids), "intact": len(ids) - len(bad),
                               "problems": bad + log}, indent=2))
    else:
        for line in bad + log:
            click.echo(line)
        click.echo(f"{len(ids) - len(bad)} of {len(ids)} case(s) intact"
                   + ("" if case_ids else
                      f"; operators' log {'intact' if not log else 'NOT intact'}"))
    sys.exit(1 if bad or log else 0)


@audit.command("export")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--xes", is_flag=True, help="Write an XES event log (IEEE 1849-2016).")
@click.option("--ocel", is_flag=True, help="Write an OCEL 2.0 JSON object-centric event log.")
@click.option("-o", "--output", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write ('-' for standard output); a file is replaced only once "
                   "the export is complete.")
@click.option("--process", default=None, help="Only cases of this process.")
def audit_export(db: str | None, xes: bool, ocel: bool, output: str,
                 process: str | None) -> None:
    """Export the journal for process-mining tools (pm4py, ProM, Celonis, ...): --xes one
    trace per case, --ocel cases, work items and actors as objects. The mapping is described
    in petriflow.store.export."""
    if xes == ocel:
        _fail("give exactly one of --xes and --ocel")
    from petriflow.store.export import to_ocel, to_xes

    export = to_xes if xes else to_ocel
    store = _store(db, create=False)
    try:
        if output == "-":
            done = export(store, click.get_binary_stream("stdout"), process=process)
        else:
            done = export(store, output, process=process)
    finally:
        store.close()
    click.echo(f"{'XES' if xes else 'OCEL 2.0'}: {done.events} event(s) of {done.cases} "
               f"case(s) written to {'standard output' if output == '-' else output}",
               err=output == "-")


# -- many workers ---------------------------------------------------------------------------


@main.command("start")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--cases", type=click.IntRange(min=1, max=10_000_000), default=100,
              show_default=True)
@click.option("--seed", type=int, default=0)
@click.option("--scenario", type=click.Path(dir_okay=False), default=None,
              help="Where the cases' inputs come from (default: MODEL's .scenario.yaml).")
@click.option("--db", default=None, help=DB_HELP)
def start_command(model: str, cases: int, seed: int, scenario: str | None,
                  db: str | None) -> None:
    """Start CASES cases of MODEL in the database and leave them to workers."""
    import random
    import uuid

    from petriflow.runtime import Engine
    from petriflow.runtime.participants import SimulatedParticipants
    from petriflow.runtime.scenario import Scenario, load_scenario, scenario_next_to

    compiled = _load_model(model)
    path = Path(scenario) if scenario else scenario_next_to(model)
    behaviour = load_scenario(path) if path else Scenario()
    engine = Engine(_store(db), dispatch="deferred", seed=seed)
    dep = engine.deploy(compiled, source=str(Path(model).resolve()))  # (YAML or BPMN)
    people = SimulatedParticipants(engine, behaviour, random.Random(seed or behaviour.seed))
    run_id = uuid.uuid4().hex[:8]
    for n in range(1, cases + 1):
        engine.start(dep.compiled, people.inputs(dep, n),
                     case_id=f"{compiled.name}-{run_id}-{n:06d}")
    click.echo(f"started {cases} case(s) of {compiled.name} (run {run_id})")


@main.command("worker")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--scenario", type=click.Path(dir_okay=False), default=None,
              help="Participants' behaviour (default: each process's .scenario.yaml).")
@click.option("--until-idle", is_flag=True, help="Stop when nothing is left to do.")
@click.option("--lease", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds a work item stays with this worker before others may take it.")
@click.option("--batch", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--name", default=None, help="This worker's name (default: host:pid).")
@click.option("--seed", type=int, default=None)
@click.option("--max-seconds", type=click.FloatRange(min=0), default=None)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def worker_command(db: str | None, scenario: str | None, until_idle: bool, lease: float,
                   batch: int, name: str | None, seed: int | None,
                   max_seconds: float | None, fmt: str) -> None:
    """Do the open work of every case in the database with simulated participants,
    sharing it with other workers (PostgreSQL: row locks and leases)."""
    import os
    import random

    from petriflow.runtime import Engine
    from petriflow.runtime.participants import SimulatedParticipants
    from petriflow.runtime.scenario import Scenario, load_scenario, scenario_next_to
    from petriflow.runtime.worker import Worker

    engine = Engine(_store(db), dispatch="deferred", cache=False)
    rng = random.Random(seed if seed is not None else os.getpid())
    fixed = load_scenario(scenario) if scenario else None
    by_process: dict[str, Any] = {}

    def serve(dep: Any) -> None:
        if dep.compiled.name not in by_process:
            doc_path = engine.store.process(dep.fingerprint).document.get("path")
            path = scenario_next_to(doc_path) if doc_path and not fixed else None
            behaviour = fixed or (load_scenario(path) if path else Scenario())
            by_process[dep.compiled.name] = SimulatedParticipants(engine, behaviour, rng)
        by_process[dep.compiled.name].serve(dep)

    engine.on_deploy.append(serve)

    def act(item: Any) -> bool:
        engine.work_item(item.id)  # with its case: one round trip (SqlStore.reuse_reads)
        case = engine.case(item.case)
        if case.labels.get("clock") == "simulated":
            return False  # a `petriflow run` case lives in process time, not the wall's
        engine.deployment(case.fingerprint)  # deploys (and serves) it on first sight
        return bool(by_process[case.process].act(item))

    def quarantined(case_id: str, why: str) -> None:
        click.echo(f"petriflow: worker: case {case_id} left alone: {why}", err=True)

    stats = Worker(engine, act, name=name, lease=lease, batch=batch,
                   on_quarantine=quarantined).run(until_idle=until_idle,
                                                  max_seconds=max_seconds)
    if fmt == "json":
        busy = (stats.busy_until - stats.busy_from
                if stats.busy_from is not None and stats.busy_until is not None else 0.0)
        click.echo(json.dumps({"items": stats.items, "timers": stats.timers,
                               "conflicts": stats.conflicts, "rounds": stats.rounds,
                               "busy_from": stats.busy_from, "busy_until": stats.busy_until,
                               "busy_seconds": busy, "quarantined": stats.quarantined}))
    else:
        click.echo(f"worker done: {stats.items} work item(s), {stats.timers} timer(s), "
                   f"{stats.conflicts} conflict(s) lost to other workers")
        if stats.quarantined:
            click.echo(f"{len(stats.quarantined)} case(s) left alone (their rows or their "
                       "process definition do not verify; `petriflow audit verify` names "
                       "what changed): " + ", ".join(sorted(stats.quarantined)))
    if stats.quarantined:
        sys.exit(1)


# -- the database ---------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database itself."""


@db.command("migrate")
@click.option("--db", "url", default=None, help=DB_HELP)
def db_migrate(url: str | None) -> None:
    """Bring an older database's schema up to this petriflow's version."""
    from petriflow.store.sql import SqlStore, default_url
    from petriflow.store.sql.schema import SCHEMA_VERSION

    SqlStore(url or default_url(), create=False, migrate=True)
    click.echo(f"database at schema version {SCHEMA_VERSION}")
