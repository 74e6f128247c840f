"""Every net of the third-party corpus reads with the counts its manifest publishes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from petriflow.net.pnml import read_pnml
from tests.corpus import corpus_dir, require_corpus


def _manifest(folder: str) -> list[dict[str, str]]:
    path = corpus_dir() / folder / "MANIFEST.tsv"
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


MCC = _manifest("mcc")
IBM = _manifest("ibm")


def _counts(path: Path) -> tuple[int, int, int]:
    net = read_pnml(path.read_bytes(), file=str(path))
    return len(net.places), len(net.transitions), len(net.arcs)


def test_the_corpus_is_there() -> None:
    require_corpus("mcc", "MANIFEST.tsv")
    require_corpus("ibm", "MANIFEST.tsv")
    assert len(MCC) >= 100 and len(IBM) >= 100


@pytest.mark.parametrize("row", MCC, ids=[r["instance"] for r in MCC])
def test_mcc_net_matches_manifest(row: dict[str, str]) -> None:
    folder = require_corpus("mcc", row["instance"])
    expected = (int(row["places"]), int(row["transitions"]), int(row["arcs"]))
    assert _counts(folder / "model.pnml") == expected


@pytest.mark.parametrize("row", IBM, ids=[r["net"] for r in IBM])
def test_ibm_net_matches_manifest(row: dict[str, str]) -> None:
    path = require_corpus("ibm", row["net"])
    expected = (int(row["places"]), int(row["transitions"]), int(row["arcs"]))
    assert _counts(path) == expected
