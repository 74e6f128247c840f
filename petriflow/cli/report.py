"""``petriflow render`` (pictures) and ``petriflow report`` (the compliance report)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from petriflow.cli import _fail, _load_model, _load_net, main, model_kind

# petriflow.verify.picture.MAX_PICTURE_NODES and petriflow.model.layout.MAX_NODES (not
# imported here: 'petriflow --help' must not load the model layer)
MAX_PICTURE_NODES = 600
MAX_NODES = 2000

MAX_PNG_SIDE = 16384
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _write(output: str, data: str | bytes) -> None:
    tmp = Path(output + ".tmp")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    tmp.replace(output)  # never a half-written file


def _browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def svg_to_png(svg: str) -> bytes:
    """Rasterize ``svg`` with headless Chromium (screenshot of a page holding only it)."""
    import re

    browser = _browser()
    if browser is None:
        _fail("PNG output needs Chromium (the 'chromium' command) to rasterize the picture; "
              "install it (e.g. apt-get install chromium) or write SVG (-o OUT.svg)")
    size = re.search(r'width="([\d.]+)" height="([\d.]+)"', svg)
    width, height = (math.ceil(float(size.group(1))), math.ceil(float(size.group(2)))) \
        if size else (1200, 800)
    if max(width, height) > MAX_PNG_SIDE:
        _fail(f"the picture is {width}x{height} pixels, more than a PNG of at most "
              f"{MAX_PNG_SIDE} pixels a side; write SVG (-o OUT.svg) instead")
    with tempfile.TemporaryDirectory(prefix="petriflow-png-") as tmp:
        page = Path(tmp) / "picture.html"
        out = Path(tmp) / "picture.png"
        page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
                        f'<body style="margin:0;background:#fff">{svg}</body></html>',
                        encoding="utf-8")
        cmd = [browser, "--headless=new", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp}/profile",
               f"--window-size={max(width, 1)},{max(height, 1)}",
               f"--screenshot={out}", page.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            subprocess.run(cmd, capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _fail(f"Chromium could not draw the PNG ({exc}); write SVG (-o OUT.svg) instead")
        data = out.read_bytes() if out.is_file() else b""
    if not data.startswith(b"\x89PNG"):
        _fail("Chromium did not produce a PNG; write SVG (-o OUT.svg) instead")
    return data


@main.command("render")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--trace", "trace_file", type=click.Path(dir_okay=False), default=None,
              help="Draw the counterexample from this 'petriflow check --format json' output.")
@click.option("--property", "prop", default=None,
              help="Which property's counterexample to draw (default: the first one).")
@click.option("--net", "as_net", is_flag=True,
              help="Draw the compiled colored net (grouped by model element) instead of the "
              "process diagram.")
@click.option("--policy", "policies", multiple=True, type=click.Path(dir_okay=False),
              help="Extra policy file (repeatable).")
@click.option("--max-nodes", type=click.IntRange(1, MAX_NODES), default=MAX_PICTURE_NODES,
              show_default=True, help="Refuse to draw more nodes than this.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write OUT.svg or OUT.png (PNG needs Chromium) instead of SVG to standard "
              "output.")
def render_command(path: str, trace_file: str | None, prop: str | None, as_net: bool,
                   policies: tuple[str, ...], max_nodes: int, output: str | None) -> None:
    """Draw a process MODEL (BPMN-style) or a NET (.pnml, or --net for a model's compiled
    net) as SVG, optionally with a counterexample: its steps numbered on the elements in
    order, the breaking step in red, the data at each step in a list and in tooltips.

    Exit status: 0 drawn, 2 bad input (including a picture too large to read)."""
    from petriflow.verify.picture import (
        PictureTooLarge,
        TraceError,
        compiled_net_svg,
        net_svg,
        process_svg,
        read_trace,
    )

    fmt = "svg"
    if output is not None:
        fmt = Path(output).suffix.lower().lstrip(".")
        if fmt not in ("svg", "png"):
            _fail(f"{output}: write .svg or .png")
    steps: Any = None
    title = None
    if trace_file is not None:
        p = Path(trace_file)
        if not p.is_file():
            _fail(f"{trace_file}: no such file")
        try:
            ce = read_trace(p.read_bytes(), prop, where=trace_file)
        except TraceError as exc:
            _fail(str(exc))
        steps, title = ce.steps, ce.property
    elif prop is not None:
        _fail("--property chooses a counterexample of --trace; give --trace RESULT.json")
    try:
        if model_kind(path) == "pnml":
            net = _load_net(path)
            svg = net_svg(net, None, steps, title=title, max_nodes=max_nodes)
        else:
            compiled = _load_model(path, policies)
            if as_net:
                svg = compiled_net_svg(compiled, steps, title=title, max_nodes=max_nodes)
            else:
                svg = process_svg(compiled, steps, title=title, max_nodes=max_nodes)
    except (PictureTooLarge, TraceError) as exc:
        _fail(str(exc))
    data: str | bytes = svg_to_png(svg) if fmt == "png" else svg
    if output is None:
        click.echo(svg, nl=False)
        return
    _write(output, data)
    click.echo(f"wrote {output}", err=True)


@main.command("report")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--policy", "policies", multiple=True, type=click.Path(dir_okay=False),
              help="Extra policy file (repeatable).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds per property.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the HTML report to this file instead of standard output.")
def report_command(model: str, policies: tuple[str, ...], timeout: float,
                   output: str | None) -> None:
    """Check every property of the process MODEL and write a self-contained HTML
    compliance report (diagram, verdicts with evidence, agent registry, fingerprint).

    Exit status as 'petriflow check': 0 all proved, 1 at least one violated, 3 none
    violated but some unknown, 2 bad input. The report is written in every case but 2."""
    from petriflow import __version__
    from petriflow.verify.portfolio import check, exit_code
    from petriflow.verify.report import build_report

    if model_kind(model) == "pnml":
        _fail(f"{model}: the report is for process models (.yaml, .json, .bpmn); "
              "use 'petriflow check' for nets")
    if output is not None and Path(output).suffix.lower() not in (".html", ".htm"):
        _fail(f"{output}: the report is HTML; name it .html")
    compiled = _load_model(model, policies)
    results = check(compiled, ["all"], timeout=timeout)
    html = build_report(compiled, results, version=__version__, model=model,
                        policies=policies, timeout=timeout)
    code = exit_code(results)
    if output is None:
        click.echo(html, nl=False)
    else:
        _write(output, html)
        violated = sum(r.verdict.value == "violated" for r in results)
        proved = sum(r.verdict.value == "proved" for r in results)
        click.echo(f"wrote {output}: {proved} proved, {violated} violated, "
                   f"{len(results) - proved - violated} unknown", err=True)
    sys.exit(code)
