"""The README's example and commands stay true."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from petriflow.cli import run

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_python_example_prints_what_the_readme_says() -> None:
    example = re.search(r"```python\n(.*?)```\s*\nprints\s*\n\s*```text\n(.*?)```", README, re.S)
    assert example, "the README's first example is not followed by its output"
    code, expected = example.group(1), example.group(2)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})  # our own README, not user input
    assert out.getvalue().split("\n") == expected.split("\n")


def test_readme_example_without_the_candidate_rule_is_violated() -> None:
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)  # type: ignore[union-attr]
    code = code.replace(',\n                 candidate="actor != by_submit")', ")")
    assert "candidate" not in code.split("#")[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert "segregation_of_duties_submit_approve violated" in out.getvalue()


def test_readme_main_command_runs(capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    line = re.search(r"&& (petriflow [^\n`]+)", README)
    assert line, "the README's first set-up command is not a petriflow command"
    monkeypatch.chdir(tmp_path)  # the run keeps its cases in ./petriflow.db
    commands = [c.strip() for c in line.group(1).split("&&")]
    assert [c.split()[1] for c in commands] == ["check", "run"]
    for command in commands:
        argv = [str(ROOT / a) if a.endswith((".pnml", ".yaml")) else a
                for a in command.split()[1:]]
        assert run(argv) == 0, command
    out = capsys.readouterr().out
    assert "PROVED" in out and "cases: completed 1000" in out
    assert (tmp_path / "petriflow.db").is_file()
    assert run(["audit", "verify"]) == 0


def test_readme_engine_example_prints_what_the_readme_says() -> None:
    section = README.split("## Run cases", 1)[1]
    example = re.search(r"```python\n(.*?)```\s*\nprints\s*\n\s*```text\n(.*?)```", section,
                        re.S)
    assert example, "the engine example is not followed by its output"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example.group(1), "README.md", "exec"), {})  # our own README
    assert out.getvalue() == example.group(2)


def test_readme_has_exactly_two_setup_commands() -> None:
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert len(re.findall(r"```sh\n", setup)) == 2
