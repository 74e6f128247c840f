"""The checker on the third-party corpus, with a time limit per question.

    python benchmarks/bench_corpus.py --limit 60              # the issue's setting
    python benchmarks/bench_corpus.py --limit 5 --mcc-formulas 0   # a faster pass
    python benchmarks/bench_corpus.py --limit 60 --every 5 --skip-ibm  # a sample

MCC nets (../shared/corpus/mcc): ReachabilityDeadlock, OneSafe, QuasiLiveness and the
ReachabilityCardinality formulas, compared with the contest's consensus answers. IBM
process models (../shared/corpus/ibm): soundness in the sense of Fahland et al. (both
formulas of X.lola.soundness.xml FALSE), compared with the published answers where
there is one. Every question runs in a child process killed at the limit (a hung
solver cannot stretch the budget). Prints the solved share, wrong answers (there must
be none) and times per method; writes JSON to benchmarks/out/corpus.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = Path(os.environ.get("PETRIFLOW_CORPUS") or ROOT.parent / "shared" / "corpus")
GLOBAL = {"ReachabilityDeadlock": "deadlock", "OneSafe": "one-safe",
          "QuasiLiveness": "quasi-liveness"}


def _ask(path: str, question: str, formula_file: str | None, index: int, limit: float,
         queue: Any) -> None:
    from petriflow.net.pnml import read_pnml
    from petriflow.verify.mcc import read_properties
    from petriflow.verify.portfolio import check

    net = read_pnml(Path(path).read_bytes())
    t0 = time.perf_counter()
    if formula_file is None:
        [r] = check(net, [question], timeout=limit)
    else:
        formulas = read_properties(Path(formula_file).read_bytes(),
                                   places={p.id for p in net.places},
                                   transitions={t.id for t in net.transitions})
        [r] = check(net, [], timeout=limit, formulas=[formulas[index]])
    queue.put((r.mcc_answer, r.method, time.perf_counter() - t0))


def ask(path: Path, question: str, limit: float, formula_file: Path | None = None,
        index: int = 0) -> tuple[str | None, str, float]:
    queue: Any = mp.Queue()
    proc = mp.Process(target=_ask, args=(str(path), question,
                                         str(formula_file) if formula_file else None, index,
                                         limit, queue))
    t0 = time.perf_counter()
    proc.start()
    proc.join(limit + 15)  # parsing and start-up on top of the checker's own budget
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None, "killed at the limit", time.perf_counter() - t0
    if queue.empty():
        return None, "crashed", time.perf_counter() - t0
    return queue.get()


def mcc(limit: float, formulas: int, only: int | None, every: int = 1, offset: int = 0
        ) -> list[dict[str, Any]]:
    rows = []
    manifest = list(csv.DictReader((CORPUS / "mcc" / "MANIFEST.tsv").open(), delimiter="\t"))
    for row in manifest[:only][offset::every]:
        folder = CORPUS / "mcc" / row["instance"]
        expected = dict(line.split() for line in (folder / "expected.txt").read_text().split("\n")
                        if line.strip())
        for name, prop in GLOBAL.items():
            answer, method, seconds = ask(folder / "model.pnml", prop, limit)
            rows.append({"net": row["instance"], "question": name, "expected": expected.get(name),
                         "answer": answer, "method": method, "seconds": seconds})
            print(json.dumps(rows[-1]), flush=True)
        for i in range(formulas):
            qid = f"{row['instance']}-ReachabilityCardinality-{i:02d}"
            if qid not in expected:
                continue
            answer, method, seconds = ask(folder / "model.pnml", "", limit,
                                          folder / "ReachabilityCardinality.xml", i)
            rows.append({"net": row["instance"], "question": qid, "expected": expected[qid],
                         "answer": answer, "method": method, "seconds": seconds})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def ibm(limit: float, only: int | None) -> list[dict[str, Any]]:
    rows = []
    manifest = list(csv.DictReader((CORPUS / "ibm" / "MANIFEST.tsv").open(), delimiter="\t"))
    for row in manifest[:only]:
        pnml = CORPUS / "ibm" / row["net"]
        props = pnml.with_name(pnml.name.replace(".pnml", ".soundness.xml"))
        answers = [ask(pnml, "", limit, props, i) for i in range(2)]
        if any(a[0] is None for a in answers):
            sound = None
        else:
            sound = "TRUE" if all(a[0] == "FALSE" for a in answers) else "FALSE"
        rows.append({"net": row["net"], "question": "soundness",
                     "expected": row["sound_published"], "answer": sound,
                     "method": "+".join(a[1] for a in answers),
                     "seconds": sum(a[2] for a in answers)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def summary(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    answered = [r for r in rows if r["answer"] is not None]
    wrong = [r for r in answered if r["expected"] in ("TRUE", "FALSE")
             and r["answer"] != r["expected"]]
    by_method = Counter(r["method"].split(" (")[0] for r in answered)
    by_question: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        key = r["question"] if not r["question"].startswith(r["net"]) else "ReachabilityCardinality"
        by_question[key][1] += 1
        by_question[key][0] += r["answer"] is not None
    out = {"questions": len(rows), "answered": len(answered), "wrong": len(wrong),
           "share": len(answered) / len(rows) if rows else 0.0,
           "by_question": {k: f"{a}/{n}" for k, (a, n) in by_question.items()},
           "by_method": dict(by_method), "wrong_rows": wrong}
    print(f"\n{label}: answered {len(answered)}/{len(rows)} "
          f"({100 * out['share']:.1f}%), wrong {len(wrong)}")
    for k, v in out["by_question"].items():
        print(f"   {k:26s} {v}")
    for k, v in by_method.most_common():
        print(f"   method {k:30s} {v}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per question")
    ap.add_argument("--mcc-formulas", type=int, default=16,
                    help="ReachabilityCardinality formulas per net (0-16)")
    ap.add_argument("--only", type=int, default=None, help="first N nets of each manifest")
    ap.add_argument("--every", type=int, default=1,
                    help="a sample: every N-th MCC net of the manifest (1: all)")
    ap.add_argument("--offset", type=int, default=0,
                    help="with --every: start at this net (another sample)")
    ap.add_argument("--skip-ibm", action="store_true")
    ap.add_argument("--skip-mcc", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {"limit": args.limit, "command": " ".join(sys.argv)}
    if not args.skip_mcc:
        out["mcc"] = summary(mcc(args.limit, args.mcc_formulas, args.only, args.every, args.offset),
                             "MCC")
    if not args.skip_ibm:
        out["ibm"] = summary(ibm(args.limit, args.only), "IBM")
    dest = ROOT / "benchmarks" / "out"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "corpus.json").write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
