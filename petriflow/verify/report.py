"""A compliance report: one self-contained HTML file to file as evidence.

It holds the process diagram; every property's statement, severity and verdict with
the method and time; for each violation the numbered path in the model's own words
(who does what, and the data that makes it possible), drawn on the diagram; for each
proof the certificate's summary and the command that re-checks it; the agent registry
and who does which task; the model's fingerprint, petriflow's version and the date
(UTC). Styles and pictures are inline; there are no scripts, fonts or links to fetch,
so the file opens the same anywhere, offline. Every string from the model or the
results is escaped.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from petriflow.model.compiled import CompiledProcess
from petriflow.verify.picture import (
    KIND_FILL,
    PictureTooLarge,
    TraceError,
    esc,
    process_svg,
    shown_steps,
    step_changes,
)
from petriflow.verify.render import describe_step
from petriflow.verify.result import Result, Verdict

STATEMENTS = {
    "deadlock": "No case gets stuck: every state a case can reach has either ended or can "
                "take another step.",
    "soundness": "Every case can always still finish; when it finishes no work is left "
                 "open; and every step of the process can actually happen (soundness in "
                 "van der Aalst's sense).",
    "bounded": "The process never piles up work without limit: it has finitely many "
               "control states.",
}
_VERDICT = {Verdict.PROVED: "proved", Verdict.VIOLATED: "violated", Verdict.UNKNOWN: "unknown"}

CSS = """
:root { --ok: #2e7d32; --bad: #c62828; --unk: #ef6c00; --ink: #222; --muted: #666; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 24px 32px 48px; max-width: 1400px; line-height: 1.45;
       font-size: 14px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 0 0 6px; }
h4 { font-size: 14px; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #ddd; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; font-weight: 600; }
td.time { white-space: nowrap; }
table.facts { width: auto; }
table.facts th { width: 170px; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
code { background: #f4f4f4; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
           font-weight: 700; font-size: 12px; text-transform: uppercase; }
.verdict.proved { background: var(--ok); }
.verdict.violated { background: var(--bad); }
.verdict.unknown { background: var(--unk); }
.severity { font-weight: 600; text-transform: uppercase; font-size: 12px; }
.severity.critical, .severity.high { color: var(--bad); }
.summary { font-size: 16px; margin: 12px 0; }
.picture { overflow-x: auto; border: 1px solid #e0e0e0; border-radius: 6px; padding: 6px;
           margin: 8px 0 12px; background: #fff; }
.picture svg { display: block; }
article.result { border: 1px solid #ddd; border-left: 6px solid #999; border-radius: 6px;
                 padding: 12px 16px; margin: 14px 0; page-break-inside: avoid; }
article.result.proved { border-left-color: var(--ok); }
article.result.violated { border-left-color: var(--bad); }
article.result.unknown { border-left-color: var(--unk); }
.statement { font-style: italic; margin: 4px 0 8px; }
.meta { color: var(--muted); font-size: 13px; }
ol.path { list-style: none; padding-left: 0; margin: 6px 0; }
ol.path li { padding: 3px 8px; border-left: 3px solid #1565c0; margin: 2px 0;
             background: #f6f9fd; }
ol.path li.breaking { border-left-color: var(--bad); background: #fdecea; font-weight: 600; }
ol.path .changes { color: #555; font-weight: normal; }
ol.path .where { color: #888; font-size: 12px; }
.legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
.legend i { display: inline-block; width: 14px; height: 10px; border: 1px solid #999;
            margin-right: 4px; vertical-align: middle; }
dl.certificate { display: grid; grid-template-columns: max-content auto; gap: 2px 14px;
                 margin: 4px 0; }
dl.certificate dt { color: var(--muted); }
dl.certificate dd { margin: 0; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid #ddd;
         padding-top: 8px; }
@media print { body { max-width: none; padding: 0; } .picture { overflow: visible; }
               .picture svg { max-width: 100%; height: auto; } }
"""


def _command(model: str, prop: str, policies: Sequence[str], timeout: float) -> str:
    parts = ["petriflow", "check", model, "--property", prop]
    for p in policies:
        parts += ["--policy", p]
    parts += ["--timeout", f"{timeout:g}"]
    return " ".join(shlex.quote(p) for p in parts)


def _value(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def certificate_summary(cert: dict[str, Any]) -> str:
    """One sentence for a proof's certificate."""
    kind = str(cert.get("kind", "certificate"))
    facts = []
    for key, value in cert.items():
        if key in ("kind", "rechecked", "rechecked_part"):
            continue
        if isinstance(value, bool):
            facts.append(key.replace("_", " ") + ("" if value else ": no"))
        elif isinstance(value, int | float | str):
            facts.append(f"{key.replace('_', ' ')}: {value}")
    text = kind[0].upper() + kind[1:] + (f" ({'; '.join(facts)})" if facts else "")
    if cert.get("rechecked") is True:
        part = cert.get("rechecked_part")
        text += "; re-checked by a fresh solver" + (f" ({part})" if part else "")
    return text + "."


def _path(result: Result) -> str:
    steps = shown_steps(result.trace or ())
    changes = step_changes(steps)
    items = []
    for i, (s, ch) in enumerate(zip(steps, changes, strict=True), start=1):
        text = describe_step(i, s)
        where = ""
        if "  [" in text:
            text, where = text.split("  [", 1)
            where = "[" + where
        extra = ""
        if ch:
            extra = (' <span class="changes">— then '
                     + esc(", ".join(f"{k} = {_value(v)}" for k, v in ch.items())) + "</span>")
        cls = ' class="breaking"' if i == len(steps) else ""
        loc = f' <span class="where">{esc(where)}</span>' if where else ""
        items.append(f'<li{cls} data-step="{i}">{esc(text)}{extra}{loc}</li>')
    return f'<ol class="path">{"".join(items)}</ol>'


def _picture(svg: str) -> str:
    return f'<div class="picture">{svg}</div>'


def _result_article(i: int, r: Result, compiled: CompiledProcess, model: str,
                    policies: Sequence[str], timeout: float) -> str:
    verdict = _VERDICT[r.verdict]
    statement = r.statement or STATEMENTS.get(r.property, "")
    out = [f'<article class="result {verdict}" id="result-{i}" data-property="{esc(r.property)}">',
           f'<h3>{esc(r.property)} <span class="verdict {verdict}">{verdict}</span></h3>']
    if statement:
        out.append(f'<p class="statement">{esc(statement)}</p>')
    meta = [f"method: {esc(r.method)}", f"time: {r.seconds:.2f} s"]
    if r.severity:
        meta.insert(0, f'severity: <span class="severity {esc(r.severity)}">'
                       f'{esc(r.severity)}</span>')
    if r.file:
        meta.append("declared in " + esc(r.file) + (f":{r.line}" if r.line else ""))
    out.append(f'<p class="meta">{" · ".join(meta)}</p>')
    if r.reason:
        out.append(f'<p class="reason">{esc(r.reason)}</p>')
    if r.verdict is Verdict.VIOLATED and r.trace:
        out.append(f"<h4>How it happens ({len(r.trace)} firings; the numbered steps below "
                   "are drawn on the diagram, the breaking step in red)</h4>")
        out.append(_path(r))
        try:
            svg = process_svg(compiled, r.trace, title=r.property, legend=False,
                              prefix=f"pf-result-{i}")
            out.append(_picture(svg))
        except (PictureTooLarge, TraceError) as exc:
            out.append(f'<p class="meta">Diagram omitted: {esc(exc)}</p>')
    elif r.verdict is Verdict.PROVED and r.certificate:
        out.append("<h4>Certificate</h4>")
        out.append(f"<p>{esc(certificate_summary(r.certificate))}</p>")
        rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>"
                       for k, v in r.certificate.items())
        out.append(f'<dl class="certificate">{rows}</dl>')
    elif r.verdict is Verdict.PROVED:
        out.append("<p>Proved by the method above; it yields no separate certificate.</p>")
    verb = "Re-check" if r.verdict is Verdict.PROVED else "Re-run"
    out.append(f'<p class="recheck">{verb}: <code>'
               f"{esc(_command(model, r.property, policies, timeout))}</code></p>")
    out.append("</article>")
    return "".join(out)


def _agents(spec: Any) -> str:
    if not spec.agents:
        return "<p>This process registers no AI agents.</p>"
    rows = []
    for a in spec.agents:
        tasks = ", ".join(a.tasks) or "—"
        threshold = f"{a.threshold:g}" if a.threshold is not None else "—"
        rows.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in (
            a.id, a.version, a.vendor or "—", a.model or "—", tasks, threshold,
            a.description or "")) + "</tr>")
    return ('<table class="agents"><thead><tr><th>Agent</th><th>Version</th><th>Vendor</th>'
            "<th>Model</th><th>May do tasks</th><th>Confidence threshold</th><th>Notes</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _tasks(spec: Any) -> str:
    rows = []
    for nid, n in spec.nodes.items():
        if n.type != "task":
            continue
        who = n.agent or n.role or ""
        extra = []
        if n.threshold is not None:
            extra.append(f"confidence ≥ {n.threshold:g}, else {n.handoff or 'hand-off'}")
        if n.timeout is not None:
            extra.append(f"after {n.timeout.after}: {n.timeout.to}")
        rows.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in (
            nid, n.name or "", n.kind.value, who or "—", n.candidate or "—",
            ", ".join(n.reads) or "—", ", ".join(n.writes) or "—", "; ".join(extra),
        )) + "</tr>")
    return ('<table class="tasks"><thead><tr><th>Task</th><th>Name</th><th>Participant</th>'
            "<th>Role or agent</th><th>Who may</th><th>Reads</th><th>Writes</th>"
            f"<th>Limits</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _legend() -> str:
    kinds = ("human", "agent", "api", "bot", "receive", "auto")
    spans = "".join(f'<span><i style="background:{KIND_FILL[k]}"></i>{k}</span>' for k in kinds)
    return (f'<p class="legend">{spans}<span>dashed arrows: hand-off, timeout, error; '
            "dotted: compensation</span></p>")


def build_report(compiled: CompiledProcess, results: Sequence[Result], *, version: str,
                 model: str, policies: Sequence[str] = (), timeout: float = 60.0,
                 generated: datetime | None = None) -> str:
    """The HTML compliance report of ``compiled`` for its check ``results``.

    ``model`` and ``policies`` are the paths as the user gave them (for the re-check
    command lines); ``version`` is petriflow's version.
    """
    spec = compiled.spec
    when = (generated or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    title = f"Compliance report: {compiled.name} {compiled.version}"
    try:
        diagram = _picture(process_svg(compiled, prefix="pf-process"))
    except PictureTooLarge as exc:
        diagram = f'<p class="meta">Diagram omitted: {esc(exc)}</p>'
    policy_files = [*spec.policy_files, *policies]
    facts = [
        ("Process", f"{compiled.name} (version {compiled.version})"),
        ("Model file", model),
        ("Policy files", ", ".join(policy_files) or "none"),
        ("Fingerprint", compiled.fingerprint),
        ("petriflow", version),
        ("Generated", when),
        ("Time budget", f"{timeout:g} s per property"),
        ("Net", f"{len(compiled.net.places)} places, {len(compiled.net.transitions)} "
                f"transitions, {len(compiled.net.arcs)} arcs"),
    ]
    rows = []
    for i, r in enumerate(results):
        verdict = _VERDICT[r.verdict]
        statement = r.statement or STATEMENTS.get(r.property, "")
        sev = (f'<span class="severity {esc(r.severity)}">{esc(r.severity)}</span>'
               if r.severity else "—")
        rows.append(f'<tr data-property="{esc(r.property)}"><td><a href="#result-{i}">'
                    f"{esc(r.property)}</a></td><td>{esc(statement)}</td><td>{sev}</td>"
                    f'<td><span class="verdict {verdict}">{verdict}</span></td>'
                    f'<td>{esc(r.method)}</td><td class="time">{r.seconds:.2f} s</td></tr>')
    articles = "".join(_result_article(i, r, compiled, model, policies, timeout)
                       for i, r in enumerate(results))
    overall = ("every property is proved" if counts[Verdict.PROVED] == len(results)
               else f"{counts[Verdict.VIOLATED]} violated" if counts[Verdict.VIOLATED]
               else "no violation found, but not everything is proved")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="petriflow {esc(version)}">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{esc(title)}</h1>",
        f"<p>{esc(spec.description)}</p>" if spec.description else "",
        '<table class="facts">',
        "".join(f'<tr><th>{esc(k)}</th><td class="{"mono" if k == "Fingerprint" else ""}"'
                f' data-fact="{esc(k.lower())}">{esc(v)}</td></tr>' for k, v in facts),
        "</table>",
        f'<p class="summary"><strong>{esc(overall)}</strong>: {counts[Verdict.PROVED]} proved, '
        f"{counts[Verdict.VIOLATED]} violated, {counts[Verdict.UNKNOWN]} unknown.</p></header>",
        '<section id="process"><h2>The process</h2>', _legend(), diagram, "</section>",
        '<section id="verdicts"><h2>Verdicts</h2><table class="verdicts"><thead><tr>'
        "<th>Property</th><th>Statement</th><th>Severity</th><th>Verdict</th><th>Method</th>"
        f"<th>Time</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>",
        f'<section id="evidence"><h2>Evidence</h2>{articles}</section>',
        '<section id="agents"><h2>Agent registry</h2>', _agents(spec),
        "<h3>Who does what</h3>", _tasks(spec), "</section>",
        f"<footer>Process {esc(compiled.name)} {esc(compiled.version)}, fingerprint "
        f'<span class="mono">{esc(compiled.fingerprint)}</span>; petriflow {esc(version)}; '
        f"generated {esc(when)}. Re-run the whole check with <code>"
        f"{esc(_command(model, 'all', policies, timeout))}</code>.</footer>",
        "</body></html>\n",
    ]
    return "".join(parts)


__all__ = ["STATEMENTS", "build_report", "certificate_summary"]
