"""Results as text a compliance officer reads, as JSON for pipelines, and as SARIF 2.1.0
for code-scanning tools. Pure functions returning strings; the CLI prints them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from petriflow.verify.result import Result, TraceStep, Verdict

_MARK = {Verdict.PROVED: "PROVED  ", Verdict.VIOLATED: "VIOLATED", Verdict.UNKNOWN: "UNKNOWN "}
_ACTION = {"start": "starts", "complete": "completes", "handoff": "hands off (low confidence)",
           "offer": "is offered", "run": "runs", "route": "routes", "timeout": "times out",
           "error": "fails", "end": "ends", "compensate": "compensates", "skip": "skips",
           "message": "receives its message"}


def _value(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def describe_step(i: int, s: TraceStep) -> str:
    """One numbered line of a counterexample, in the model's words."""
    what = s.label or s.element or s.transition
    verb = _ACTION.get(s.action or "")
    text = f"{i}. {what} {verb}" if verb else f"{i}. {s.transition}"
    if s.actor:
        text += f" (by {s.actor})"
    answers = {k.removeprefix("_o_"): v for k, v in s.binding.items() if k.startswith("_o_")}
    if answers:
        text += ": " + ", ".join(f"{k} = {_value(v)}" for k, v in answers.items())
    if s.line is not None:
        text += f"  [{s.file or ''}:{s.line}]" if s.file else f"  [line {s.line}]"
    return text


def to_text(results: Sequence[Result], title: str) -> str:
    lines = [f"petriflow check: {title}", ""]
    for r in results:
        head = f"{_MARK[r.verdict]} {r.property}"
        if r.severity:
            head += f" [{r.severity}]"
        lines.append(head)
        if r.statement:
            lines.append(f"         {r.statement}")
        detail = f"method: {r.method}, {r.seconds:.2f} s"
        if r.mcc_answer:
            detail += f", contest answer {r.mcc_answer}"
        lines.append(f"         {detail}")
        if r.reason:
            lines.append(f"         {r.reason}")
        if r.trace:
            steps = [s for s in r.trace if s.action not in ("offer", "route", "end")] \
                if any(s.action for s in r.trace) else list(r.trace)
            shown = steps if len(steps) <= 60 else steps[:30] + steps[-30:]
            lines.append(f"         how it happens ({len(r.trace)} steps):")
            for i, s in enumerate(shown, start=1):
                lines.append("           " + describe_step(i, s))
        lines.append("")
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    lines.append(f"{counts[Verdict.PROVED]} proved, {counts[Verdict.VIOLATED]} violated, "
                 f"{counts[Verdict.UNKNOWN]} unknown")
    return "\n".join(lines) + "\n"


def to_json(results: Sequence[Result]) -> str:
    return json.dumps({"results": [r.to_json() for r in results]}, indent=2) + "\n"


def to_sarif(results: Sequence[Result], artifact: str, version: str) -> str:
    rules, findings = [], []
    for r in results:
        rules.append({"id": r.property, "shortDescription": {"text": r.statement or r.property}})
        if r.verdict is Verdict.PROVED:
            continue
        where = next((s for s in reversed(r.trace or ()) if s.line is not None), None)
        line = where.line if where is not None else r.line
        uri = (where.file if where is not None and where.file else r.file) or artifact
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
        if line:
            location["physicalLocation"]["region"] = {"startLine": line}
        message = r.statement or r.property
        if r.verdict is Verdict.VIOLATED:
            steps = "; ".join(describe_step(i, s) for i, s in enumerate(r.trace or (), 1))
            message = f"Violated: {message}" + (f" Path: {steps}" if steps else "") + (
                f" ({r.reason})" if r.reason else "")
        else:
            message = f"Unknown: {message} ({r.reason})"
        findings.append({
            "ruleId": r.property,
            "level": "error" if r.verdict is Verdict.VIOLATED else "warning",
            "message": {"text": message},
            "locations": [location],
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "petriflow", "version": version,
                                "informationUri": "https://example.invalid/petriflow",
                                "rules": rules}},
            "results": findings,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"


__all__ = ["describe_step", "to_json", "to_sarif", "to_text"]
