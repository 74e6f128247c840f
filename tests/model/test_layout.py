"""Layouts are the same from run to run: an exported BPMN file or a picture must not
change when nothing in the model did (reviewers diff them, and files are evidence)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from petriflow.model.layout import LayoutTooLarge, layout

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import hashlib
from petriflow.model import compile_file
from petriflow.model.bpmn.export import to_bpmn
from petriflow.verify.picture import process_svg
c = compile_file("models/fraud_review.yaml")
print(hashlib.sha256((process_svg(c) + to_bpmn(c)).encode()).hexdigest())
"""


def _digest(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def test_pictures_and_exports_do_not_depend_on_hash_randomisation() -> None:
    assert _digest("1") == _digest("2")


def test_a_layout_is_the_same_when_called_twice() -> None:
    sizes = {f"n{i}": (40.0, 20.0) for i in range(12)}
    edges = [(f"n{i}", f"n{(i * 5 + 3) % 12}") for i in range(12)]
    assert layout(sizes, edges) == layout(sizes, edges)


def test_a_graph_too_large_to_read_is_refused() -> None:
    with pytest.raises(LayoutTooLarge):
        layout({i: (1.0, 1.0) for i in range(5000)}, [])
