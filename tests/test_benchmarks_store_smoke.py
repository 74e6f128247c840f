"""The store benchmark still runs (a few seconds in --quick mode, SQLite only) and its
checks hold; figures live in benchmarks/RESULTS.md, never in timed unit tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_store_benchmark_quick_mode_runs(tmp_path: Path) -> None:
    out = tmp_path / "store.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_store.py"),
                           "--quick", "--json", "--out", str(out), "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data == json.loads(out.read_text())
    assert data["mode"] == "quick"
    batched = {f"batched_sqlite_{s}_{b}" for s in ("normal", "full") for b in (1, 10, 100)}
    assert set(data["rows"]) == {"raw_sqlite_normal", "petriflow_sqlite_normal",
                                 "raw_sqlite_full", "petriflow_sqlite_full"} | batched
    assert any("PostgreSQL" in s for s in data["skipped"])  # --quick never touches it
    assert data["workers"] is None
    for key, row in data["rows"].items():
        for field in ("commits_per_s", "events_per_s", "seconds"):
            assert isinstance(row[field], float)
            assert row[field] > 0
        if key.startswith(("petriflow", "batched")):
            assert row["checked_cases"] == 2 + 2 * row["size"]  # warm-up + 2 repetitions
            assert row["commits_per_case"] > 1
            assert row["events_per_commit"] >= 1
        if key.startswith("batched"):
            # transactions counted at SqlStore._write: batch=N carries up to N changes
            batch = int(key.rsplit("_", 1)[1])
            assert 1 <= row["changes_per_transaction"] <= batch
            if batch == 1:
                assert row["changes_per_transaction"] == 1
            else:
                assert row["changes_per_transaction"] > 1
        if key.startswith("raw"):
            assert row["events_per_commit"] == 1
    assert {t["target"] for t in data["summary"]["targets"]} == {
        "SQLite NORMAL: petriflow events/s / raw commits/s (%)",
        "SQLite FULL: petriflow events/s / raw commits/s (%)",
        "SQLite NORMAL batch=10: events/s / raw commits/s (%)",
        "SQLite NORMAL batch=100: events/s / raw commits/s (%)",
        "SQLite FULL batch=10: events/s / raw commits/s (%)",
        "SQLite FULL batch=100: events/s / raw commits/s (%)",
        "Flatness: step time at 60 / at 10 steps"}
    assert [(b["sync"], b["batch"]) for b in data["summary"]["batched"]] == [
        (s, b) for s in ("NORMAL", "FULL") for b in (1, 10, 100)]

    b = data["breakdown"]["sqlite"]
    assert b["statements_per_commit"] >= 2        # at least the case row and the journal
    assert any(k.startswith("commit: INSERT events") for k in b["statements"])
    assert b["replay"]["store"]["changes"] == b["commits"]
    assert [g["changes_per_transaction"] for g in b["replay"]["raw_sql"]] == [1, 5]
    assert data["profile"]["sqlite"]

    flat = data["flatness"]
    assert flat["completed"] is True
    assert [r["steps"] for r in flat["rows"]] == [10, 30, 60]
    for r in flat["rows"]:
        assert r["journal_reads"] == 0     # the engine never reads the journal back
        assert r["data_chars"] > 0 and r["commit_ms"] > 0
