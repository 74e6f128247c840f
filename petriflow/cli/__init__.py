"""The ``petriflow`` command line: the only code that prints or chooses exit codes.

Exit codes: 0 success, 2 bad input (a user mistake: one clear message, never a
traceback). Heavy libraries are imported inside the commands that need them, so
that quick commands start quickly.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from petriflow.errors import PetriflowError

if TYPE_CHECKING:
    from petriflow.net.marking import Marking
    from petriflow.net.structure import Net

F = TypeVar("F", bound=Callable[..., Any])
EXIT_BAD_INPUT = 2
MAX_NET_BYTES = 512 * 1024 * 1024


def _fail(message: str) -> None:
    click.echo(f"petriflow: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


_ROOT = re.compile(r"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_PROLOG = re.compile(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", re.S)


def model_kind(path: str) -> str:
    """``pnml``, ``bpmn`` or ``process`` (YAML or JSON), by the file's suffix, or for other
    XML files (``.xml``, Activiti's ``.bpmn20.xml``) by their root element."""
    lower = path.lower()
    if lower.endswith(".pnml"):
        return "pnml"
    if lower.endswith(".bpmn") or (".bpmn#" in lower and not Path(path).is_file()):
        return "bpmn"
    if Path(path).suffix.lower() in (".yaml", ".yml", ".json"):
        return "process"
    # FILE#process: the file is what counts
    file = path.rpartition("#")[0] if "#" in path and not Path(path).exists() else path
    try:
        with open(file, "rb") as f:
            head = f.read(65536)
    except OSError:
        return "process"  # (the loader says what is wrong with the path)
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            text = head[len(bom):].decode(codec, errors="ignore")
            break
    else:
        text = head.decode("utf-8", errors="ignore")
    root = _ROOT.search(_PROLOG.sub("", text))
    name = root.group(1) if root else ""
    return {"pnml": "pnml", "definitions": "bpmn"}.get(name, "process")


def _load_net(path: str) -> Net:
    from petriflow.net.pnml import read_pnml

    p = Path(path)
    if not p.is_file():
        _fail(f"{path}: no such file")
    if p.stat().st_size > MAX_NET_BYTES:
        _fail(f"{path}: larger than {MAX_NET_BYTES // (1024 * 1024)} MiB; refusing to read it")
    return read_pnml(p.read_bytes(), file=path)


def _marking_json(net: Net, marking: Marking) -> dict[str, Any]:
    from petriflow.net.colorjson import token_to_json
    from petriflow.net.colors import BlackColor

    out: dict[str, Any] = {}
    for place in net.places:
        tokens = marking[place.id]
        if not tokens.size:
            continue
        if isinstance(place.color, BlackColor):
            out[place.id] = tokens.size
        else:
            out[place.id] = [token_to_json(place.color, t) for t in tokens.elements()]
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="petriflow")
def main() -> None:
    """Run and prove business processes on colored Petri nets."""


@main.group()
def net() -> None:
    """Inspect and simulate Petri nets (PNML files)."""


@net.command("info")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def net_info(path: str, fmt: str) -> None:
    """Print the size of the net in PATH: places, transitions, arcs, initial tokens."""
    net = _load_net(path)
    info = net.summary()
    if fmt == "json":
        click.echo(json.dumps(info))
        return
    width = max(len(k) for k in info)
    for key, value in info.items():
        click.echo(f"{key.ljust(width)}  {value}")


@net.command("simulate")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--steps", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Fire at most this many transitions.")
@click.option("--seed", type=int, default=None, help="Random seed, for a repeatable run.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def net_simulate(path: str, steps: int, seed: int | None, fmt: str) -> None:
    """Fire up to STEPS transitions of the net in PATH, each chosen uniformly at random
    among the enabled ones, and report where the run ended."""
    import random

    from petriflow.errors import UnboundVariableError
    from petriflow.net.game import TokenGame

    net = _load_net(path)
    try:
        game = TokenGame(net)
        result = game.run(steps, random.Random(seed))
    except UnboundVariableError as exc:
        _fail(f"{path}: {exc.message}: `net simulate` fires nets whose transitions take "
              "every value from tokens; a net compiled from a process takes answers from "
              "people, agents and services (run the process with `petriflow run MODEL`)")
    marking = _marking_json(net, game.marking())
    if fmt == "json":
        click.echo(json.dumps({"fired": result.fired, "dead": result.dead, "marking": marking}))
        return
    click.echo(f"fired {result.fired} of at most {steps} transitions")
    if result.dead:
        click.echo("stopped in a dead marking: no transition is enabled")
    else:
        click.echo("the net can still fire")
    click.echo("final marking (non-empty places):")
    for place, tokens in marking.items():
        click.echo(f"  {place}: {tokens if isinstance(tokens, int) else json.dumps(tokens)}")


def _load_model(path: str, policies: tuple[str, ...] = ()) -> Any:
    from petriflow.model.compile import compile_loaded
    from petriflow.model.loader import load_process

    p = Path(path)
    kind = model_kind(path)
    if kind == "pnml":
        _fail(f"{path}: a Petri net (PNML), not a process model; `petriflow check` and "
              "`petriflow net` read nets")
    if kind == "bpmn":
        from petriflow.model.bpmn import compile_import, load_bpmn, split_target

        if not split_target(path)[0].is_file():
            _fail(f"{path}: no such file")
        imported = load_bpmn(path, extra_policies=list(policies))
        try:
            return compile_import(imported)  # (may add warnings: implicit termination)
        finally:
            for w in imported.warnings:
                click.echo(f"petriflow: warning: {w}", err=True)
    if not p.is_file():
        _fail(f"{path}: no such file")
    if p.suffix.lower() not in (".yaml", ".yml", ".json"):
        _fail(f"{path}: expected a process model (.yaml, .yml, .json, or BPMN 2.0 XML: "
              ".bpmn, or .xml with a <definitions> root)")
    return compile_loaded(load_process(p, list(policies)))


@main.command("compile")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--to", "fmt", type=click.Choice(["json", "pnml", "dot", "bpmn"]), default="json",
              show_default=True, help="Output format: the compiled net (json, pnml, dot) or "
              "the process as BPMN 2.0 XML with its diagram (bpmn).")
@click.option("--policy", "policies", multiple=True, type=click.Path(dir_okay=False),
              help="Extra policy file (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of standard output.")
def compile_command(model: str, fmt: str, policies: tuple[str, ...], output: str | None) -> None:
    """Compile the process MODEL to its colored Petri net (with the source map), or
    export it as BPMN 2.0 (--to bpmn) for Camunda Modeler and bpmn.io."""
    compiled = _load_model(model, policies)
    if fmt == "bpmn":
        from petriflow.model.bpmn.export import to_bpmn

        text = to_bpmn(compiled)
    elif fmt == "json":
        from petriflow.model.export import to_json

        text = json.dumps(to_json(compiled), indent=2) + "\n"
    elif fmt == "dot":
        from petriflow.model.export import to_dot

        text = to_dot(compiled)
    else:
        from petriflow.net.pnml import write_pnml

        text = write_pnml(compiled.net)
    if output is None:
        click.echo(text, nl=False)
        return
    tmp = Path(output + ".tmp")
    tmp.write_text(text)
    tmp.replace(output)  # never a half-written file
    click.echo(f"wrote {output} ({len(compiled.net.places)} places, "
               f"{len(compiled.net.transitions)} transitions, fingerprint "
               f"{compiled.fingerprint[:12]})", err=True)


@main.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--property", "properties", multiple=True,
              help="deadlock, soundness, bounded, policies, all, or a policy id (models); "
              "deadlock, bounded, one-safe, quasi-liveness, soundness, all (nets). "
              "Repeatable; default all.")
@click.option("--properties", "mcc_file", type=click.Path(dir_okay=False), default=None,
              help="Model Checking Contest property file (reachability formulas), for nets.")
@click.option("--policy", "policies", multiple=True, type=click.Path(dir_okay=False),
              help="Extra policy file (repeatable).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds per property.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True)
def check_command(path: str, properties: tuple[str, ...], mcc_file: str | None,
                  policies: tuple[str, ...], timeout: float, fmt: str) -> None:
    """Prove or refute properties of a process model (.yaml/.json) or a net (.pnml).

    Exit status: 0 all proved, 1 at least one violated, 3 none violated but some
    unknown, 2 bad input."""
    from petriflow.verify.portfolio import check, exit_code
    from petriflow.verify.render import to_json, to_sarif, to_text

    is_net = model_kind(path) == "pnml"
    if is_net:
        net = _load_net(path)
        formulas: list[Any] = []
        if mcc_file is not None:
            from petriflow.verify.mcc import read_properties

            p = Path(mcc_file)
            if not p.is_file():
                _fail(f"{mcc_file}: no such file")
            formulas = read_properties(p.read_bytes(), places={x.id for x in net.places},
                                       transitions={x.id for x in net.transitions},
                                       file=mcc_file)
        wanted = list(properties) if properties else ([] if formulas else ["all"])
        results = check(net, wanted, timeout=timeout, formulas=formulas)
        title = f"net {net.name} ({path})"
    else:
        if mcc_file is not None:
            _fail("--properties (MCC formulas) applies to .pnml nets")
        compiled = _load_model(path, policies)
        results = check(compiled, list(properties) or ["all"], timeout=timeout)
        title = f"process {compiled.name} {compiled.version} ({path}), fingerprint " \
                f"{compiled.fingerprint[:12]}"
    if fmt == "json":
        click.echo(to_json(results), nl=False)
    elif fmt == "sarif":
        from petriflow import __version__

        click.echo(to_sarif(results, path, __version__), nl=False)
    else:
        click.echo(to_text(results, title), nl=False)
    sys.exit(exit_code(results))


def run(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of raising SystemExit."""
    try:
        main.main(args=argv, prog_name="petriflow", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_BAD_INPUT
    except click.exceptions.Abort:
        click.echo("petriflow: aborted", err=True)
        return 1
    except PetriflowError as exc:
        click.echo(f"petriflow: error: {exc}", err=True)
        return EXIT_BAD_INPUT
    except SystemExit as exc:
        return int(exc.code or 0)
    except OSError as exc:
        click.echo(f"petriflow: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
                   err=True)
        return EXIT_BAD_INPUT
    return 0


def entry() -> None:
    import logging

    # psycopg warns on stderr each time it ends a pipeline that a lost race aborted;
    # the store turns that race into a ConflictError, which a worker simply retries
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    sys.exit(run())


from petriflow.cli import engine as _engine_commands  # noqa: E402,F401  (registers commands)
from petriflow.cli import report as _report_commands  # noqa: E402,F401  (registers commands)
from petriflow.cli import switches as _switch_commands  # noqa: E402,F401  (registers commands)

__all__ = ["main", "run"]
