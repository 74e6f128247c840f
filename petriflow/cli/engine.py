"""``petriflow run``: many cases of a process with simulated participants, summarised."""

from __future__ import annotations

import json
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
    lines.append(f"  timeouts (escalations and reminders): {s.timeouts}")
    lines.append(f"  failed calls retried: {s.retries}")
    total = sum(s.refusals.values())
    lines.append(f"  refused by policy: {total}")
    statements = _statements(compiled)
    for pid, n in s.refusals.items():
        lines.append(f"    {pid}: {n}  - {statements.get(pid, '')}".rstrip(" -"))
    lines.append(f"  incidents: {s.incidents}")
    for reason, n in s.incident_reasons.items():
        lines.append(f"    {reason}: {n}")
    ct = s.cycle_time()
    if ct:
        lines.append(f"  cycle time (process time): mean {_duration(ct['mean'])}, median "
                     f"{_duration(ct['p50'])}, 90% within {_duration(ct['p90'])}, longest "
                     f"{_duration(ct['max'])}")
    return "\n".join(lines) + "\n"


@main.command("run")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--cases", type=click.IntRange(min=1, max=10_000_000), default=100,
              show_default=True, help="How many cases to run.")
@click.option("--seed", type=int, default=0, help="Random seed (default: the scenario's).")
@click.option("--scenario", type=click.Path(dir_okay=False), default=None,
              help="Participants' behaviour (default: MODEL's .scenario.yaml beside it).")
@click.option("--policy", "policies", multiple=True, type=click.Path(dir_okay=False),
              help="Extra policy file to enforce (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def run_command(model: str, cases: int, seed: int, scenario: str | None,
                policies: tuple[str, ...], fmt: str) -> None:
    """Run CASES cases of MODEL with simulated people, agents and services."""
    from petriflow.runtime.scenario import Scenario, load_scenario, scenario_next_to
    from petriflow.runtime.simulate import Simulation

    compiled = _load_model(model, policies)
    if scenario is not None and not Path(scenario).is_file():
        _fail(f"{scenario}: no such file")
    path = Path(scenario) if scenario else scenario_next_to(model)
    behaviour = load_scenario(path) if path else Scenario()
    summary = Simulation(compiled, behaviour, seed=seed).run(cases)
    if fmt == "json":
        click.echo(json.dumps(summary.as_json(), indent=2, default=str))
    else:
        click.echo(summary_text(summary, compiled), nl=False)
