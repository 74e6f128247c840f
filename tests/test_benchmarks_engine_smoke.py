"""The engine benchmark still runs (a second or so in --quick mode) and its checks hold;
figures live in benchmarks/RESULTS.md, never in timed unit tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("SpiffWorkflow")


def test_engine_benchmark_quick_mode_runs(tmp_path: Path) -> None:
    out = tmp_path / "engine.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_engine.py"),
                           "--quick", "--json", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data == json.loads(out.read_text())
    assert data["mode"] == "quick"
    assert data["tasks_per_case"] == 7
    assert set(data["rows"]) == {"petriflow_full", "petriflow_bare", "spiff"}
    for row in data["rows"].values():
        assert row["completed"] is True  # every case checked completed, with its 7 tasks
        assert row["cases"] > 0
        assert row["checked_cases"] == 5 + 2 * row["cases"]  # warm-up + 2 repetitions
        assert row["tasks"] == 7 * row["cases"]
        for key in ("rate", "min", "max", "cases_per_s", "seconds"):
            assert isinstance(row[key], float)
            assert row[key] > 0
    summary = data["summary"]
    for key in ("petriflow_full_tasks_per_s", "petriflow_bare_tasks_per_s",
                "spiff_tasks_per_s", "ratio_full_over_spiff"):
        assert isinstance(summary[key], float)
        assert summary[key] > 0
    assert isinstance(summary["overhead_percent"], float)
    assert {t["target"] for t in summary["targets"]} >= {"petriflow full (tasks/s)"}
