"""The benchmarks still run (a few seconds each in --quick mode); figures live in
benchmarks/RESULTS.md, never in timed unit tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("script", "output"), [("bench_firing.py", "firing.json"),
                                                ("bench_verify.py", "verify.json")])
def test_benchmark_quick_mode_runs(script: str, output: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((ROOT / "benchmarks" / "out" / output).read_text())
    assert data
    if script == "bench_verify.py":  # its verdicts are proofs, not only timings
        assert {row["verdict"] for row in data["parallel_branches"]} == {"proved"}
        for row in data["reference_processes"]["rows"]:
            assert set(row["verdicts"].values()) == {"proved"}
