"""The README's example and commands stay true."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from petriflow.cli import run

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_python_example_runs_and_prints_what_it_says() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks, "the README has no Python example"
    out = io.StringIO()
    namespace: dict[str, object] = {}
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "README.md", "exec"), namespace)  # our own README, not user input
    expected = [m for m in re.findall(r"print\(.*?\)\s+# (.*)", blocks[0])]
    assert out.getvalue().split() == expected


def test_readme_main_command_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    command = re.search(r"&& (petriflow net simulate [^\n`]+)", README)
    assert command, "the README's first set-up command is not a petriflow command"
    argv = command.group(1).split()[1:]
    root = Path(__file__).resolve().parent.parent
    argv = [str(root / a) if a.endswith(".pnml") else a for a in argv]
    assert run(argv) == 0
    assert "fired" in capsys.readouterr().out


def test_readme_has_exactly_two_setup_commands() -> None:
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"```sh\n", setup)) == 2
