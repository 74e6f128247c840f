"""The command line: outputs users and scripts rely on, and exit code 2 without a traceback
for every user mistake."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from petriflow.cli import run
from petriflow.net.pnml import read_pnml

ROOT = Path(__file__).resolve().parent.parent
INVOICE = ROOT / "models" / "nets" / "invoice_approval.pnml"
COLORED = ROOT / "models" / "nets" / "invoice_approval_colored.pnml"
BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<pnml><net id="n"><place id="&lol2;"/></net></pnml>"""


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:  # type: ignore[type-arg]
    assert run(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_info_reports_counts(capsys: pytest.CaptureFixture[str]) -> None:
    info = _json(capsys, ["net", "info", str(INVOICE), "--format", "json"])
    assert (info["places"], info["transitions"], info["arcs"], info["initial_tokens"]) == (
        8, 7, 16, 1
    )
    assert run(["net", "info", str(INVOICE)]) == 0
    text = capsys.readouterr().out
    assert "places" in text and "16" in text


def test_simulate_is_repeatable_and_ends_in_the_final_marking(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["net", "simulate", str(INVOICE), "--steps", "1000", "--seed", "3", "--format", "json"]
    first = _json(capsys, argv)
    assert first == _json(capsys, argv)
    assert first["dead"] is True
    assert first["marking"] == {"paid": 1}
    assert first["fired"] >= 5


def test_simulate_zero_steps_reports_the_initial_marking(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _json(capsys, ["net", "simulate", str(INVOICE), "--steps", "0", "--format", "json"])
    assert out == {"fired": 0, "dead": False, "marking": {"received": 1}}


def test_simulate_colored_net_keeps_every_case(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["net", "simulate", str(COLORED), "--steps", "500", "--seed", "1",
                         "--format", "json"])
    assert out["dead"] is True
    finished = out["marking"].get("paid", []) + out["marking"].get("rejected", [])
    assert sorted(c["id"] for c in finished) == [1, 2, 3, 4]
    # Only the high-risk invoice may be rejected; invoices above 10000 need the CFO step.
    assert all(c["risk"] == "high" for c in out["marking"].get("rejected", []))


def test_simulate_stops_when_dead_before_the_step_limit(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    net = read_pnml(INVOICE.read_bytes())
    assert len(net.transitions) == 7
    out = _json(capsys, ["net", "simulate", str(INVOICE), "--steps", "2", "--seed", "1",
                         "--format", "json"])
    assert out["fired"] == 2 and out["dead"] is False


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("<pnml><net id='n'><place id='p'/>", "not well-formed"),
        (BOMB, "unsafe XML"),
        ("<pnml><net id='n'><place id='p'><initialMarking><text>-2</text></initialMarking>"
         "</place></net></pnml>", "negative"),
        ("<pnml><net id='n'><place id='p'/><arc id='a1' source='p' target='t9'/></net></pnml>",
         "t9"),
        ("<html/>", "not <pnml>"),
    ],
)
def test_bad_files_exit_2_with_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str
) -> None:
    path = tmp_path / "bad.pnml"
    path.write_text(content)
    assert run(["net", "info", str(path)]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "bad.pnml" in err
    assert "Traceback" not in err


def test_simulating_a_compiled_process_says_to_run_it_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = tmp_path / "invoice.pnml"
    model = ROOT / "models" / "invoice_to_payment.yaml"
    assert run(["compile", str(model), "--to", "pnml", "-o", str(net)]) == 0
    capsys.readouterr()
    assert run(["net", "simulate", str(net), "--steps", "5"]) == 2
    err = capsys.readouterr().err
    assert str(net) in err and "petriflow run" in err and "Traceback" not in err


def test_missing_file_and_bad_options_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["net", "info", "/no/such/net.pnml"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert run(["net", "simulate", str(INVOICE), "--steps", "-1"]) == 2
    assert run(["net", "frobnicate"]) == 2


def test_installed_command_never_prints_a_traceback(tmp_path: Path) -> None:
    exe = shutil.which("petriflow", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the petriflow script is not installed next to this Python")
    bad = tmp_path / "bad.pnml"
    bad.write_text(BOMB)
    result = subprocess.run([exe, "net", "simulate", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "unsafe XML" in result.stderr
    ok = subprocess.run([exe, "net", "info", str(INVOICE), "--format", "json"],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["arcs"] == 16
