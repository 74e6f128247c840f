"""Regenerate the classic P/T nets with known answers (the PNML files of this folder).

Run `.venv/bin/python verification/corpus/nets/make_nets.py` from the repository root.
Each net's expected verdicts are in ../EXPECTED.tsv (path relative to the repository
root); for nets, `deadlock proved` means that no reachable marking is dead (a workflow
net's final marking [o] is dead, so workflow nets get `deadlock violated`).

Why each answer holds:

- dining philosophers (n = 3, 5): every philosopher takes the left fork, then nobody can
  take a right fork: a reachable dead marking (Dijkstra). Each fork and each philosopher
  is a P-invariant with one token: one-safe, bounded; every transition can fire.
- mutual exclusion with a semaphore: `idle_i + crit_i` and `sem + sum(crit_i)` are
  P-invariants with one token each: one-safe, at most one process critical; some process
  can always enter or leave, so no dead marking.
- producer/consumer with a buffer of capacity k: `buffer + free = k` is a P-invariant,
  so the net is bounded; the producer or the consumer can always move.
- unbounded producer: `produce` puts a token in the buffer without consuming one, so the
  buffer grows without bound; the producer never stops, so no dead marking.
- workflow nets (van der Aalst, "The application of Petri nets to workflow
  management", 1998): a sound one with an AND-split/join and an XOR inside one branch,
  a sound one with a rework loop; unsound ones with improper completion (an AND-split
  whose branches both produce into o), a dead transition (an AND-join of two XOR
  branches next to XOR-joins), a livelock without an option to complete (an XOR branch
  that enters a loop with no exit), an AND-join after an XOR-split (the case gets stuck).
- k parallel branches of length L between an AND-split and an AND-join: sound by
  construction (every interleaving reaches the join).
- a ring of k places and k transitions with one token: the token always moves on; no
  dead marking, one-safe. With three tokens the ring is not one-safe.
"""

from __future__ import annotations

import pathlib

from petriflow.net.builder import NetBuilder
from petriflow.net.pnml import write_pnml

HERE = pathlib.Path(__file__).resolve().parent


def arcs(b: NetBuilder, inputs: list[str], t: str, outputs: list[str]) -> None:
    b.transition(t)
    for p in inputs:
        b.arc(p, t)
    for p in outputs:
        b.arc(t, p)


def philosophers(n: int) -> NetBuilder:
    b = NetBuilder(f"philosophers_{n}")
    for i in range(n):
        b.place(f"think_{i}", initial=1)
        b.place(f"fork_{i}", initial=1)
        b.place(f"has_left_{i}")
        b.place(f"eat_{i}")
    for i in range(n):
        right = f"fork_{(i + 1) % n}"
        arcs(b, [f"think_{i}", f"fork_{i}"], f"take_left_{i}", [f"has_left_{i}"])
        arcs(b, [f"has_left_{i}", right], f"take_right_{i}", [f"eat_{i}"])
        arcs(b, [f"eat_{i}"], f"release_{i}", [f"think_{i}", f"fork_{i}", right])
    return b


def mutex(n: int) -> NetBuilder:
    b = NetBuilder(f"mutex_semaphore_{n}")
    b.place("sem", initial=1)
    for i in range(n):
        b.place(f"idle_{i}", initial=1)
        b.place(f"crit_{i}")
        arcs(b, [f"idle_{i}", "sem"], f"enter_{i}", [f"crit_{i}"])
        arcs(b, [f"crit_{i}"], f"leave_{i}", [f"idle_{i}", "sem"])
    return b


def producer_consumer(capacity: int) -> NetBuilder:
    b = NetBuilder(f"producer_consumer_{capacity}")
    b.place("p_ready", initial=1)
    b.place("p_item")
    b.place("free", initial=capacity)
    b.place("buffer")
    b.place("c_ready", initial=1)
    b.place("c_item")
    arcs(b, ["p_ready"], "produce", ["p_item"])
    arcs(b, ["p_item", "free"], "put", ["p_ready", "buffer"])
    arcs(b, ["c_ready", "buffer"], "take", ["c_item", "free"])
    arcs(b, ["c_item"], "consume", ["c_ready"])
    return b


def unbounded_producer() -> NetBuilder:
    b = NetBuilder("unbounded_producer")
    b.place("p_ready", initial=1)
    b.place("buffer")
    b.place("c_ready", initial=1)
    b.place("c_item")
    arcs(b, ["p_ready"], "produce", ["p_ready", "buffer"])
    arcs(b, ["c_ready", "buffer"], "take", ["c_item"])
    arcs(b, ["c_item"], "consume", ["c_ready"])
    return b


def workflow(name: str, places: list[str],
             transitions: list[tuple[list[str], str, list[str]]]) -> NetBuilder:
    b = NetBuilder(name)
    b.place("i", initial=1)
    for p in places:
        b.place(p)
    b.place("o")
    for inputs, t, outputs in transitions:
        arcs(b, inputs, t, outputs)
    return b


def wf_sound_parallel_choice() -> NetBuilder:
    # register; then (ship) || (pay by card XOR pay by invoice); archive.
    return workflow("wf_sound_parallel_choice", ["a1", "a2", "b1", "b2"], [
        (["i"], "register", ["a1", "b1"]),
        (["a1"], "ship", ["a2"]),
        (["b1"], "pay_card", ["b2"]),
        (["b1"], "pay_invoice", ["b2"]),
        (["a2", "b2"], "archive", ["o"]),
    ])


def wf_sound_rework_loop() -> NetBuilder:
    return workflow("wf_sound_rework_loop", ["p1", "p2"], [
        (["i"], "register", ["p1"]),
        (["p1"], "check", ["p2"]),
        (["p2"], "accept", ["o"]),
        (["p2"], "rework", ["p1"]),
    ])


def wf_improper_completion() -> NetBuilder:
    # An AND-split whose two branches each end in o: o gets two tokens.
    return workflow("wf_improper_completion", ["p1", "p2"], [
        (["i"], "split", ["p1", "p2"]),
        (["p1"], "left", ["o"]),
        (["p2"], "right", ["o"]),
    ])


def wf_dead_transition() -> NetBuilder:
    # An XOR-split with XOR-joins, plus an AND-join of the two branches that never fires.
    return workflow("wf_dead_transition", ["p1", "p2"], [
        (["i"], "choose_a", ["p1"]),
        (["i"], "choose_b", ["p2"]),
        (["p1"], "finish_a", ["o"]),
        (["p2"], "finish_b", ["o"]),
        (["p1", "p2"], "finish_both", ["o"]),
    ])


def wf_livelock() -> NetBuilder:
    # One XOR branch enters a loop without an exit: no option to complete, no dead marking
    # on that branch, every transition can fire.
    return workflow("wf_livelock", ["p1", "q1", "q2"], [
        (["i"], "normal", ["p1"]),
        (["p1"], "finish", ["o"]),
        (["i"], "escalate", ["q1"]),
        (["q1"], "ask", ["q2"]),
        (["q2"], "answer", ["q1"]),
    ])


def wf_xor_split_and_join() -> NetBuilder:
    return workflow("wf_xor_split_and_join", ["p1", "p2"], [
        (["i"], "approve", ["p1"]),
        (["i"], "reject", ["p2"]),
        (["p1", "p2"], "join", ["o"]),
    ])


def parallel_branches(k: int, length: int) -> NetBuilder:
    places = [f"b{j}_{s}" for j in range(k) for s in range(length + 1)]
    transitions: list[tuple[list[str], str, list[str]]] = [
        (["i"], "split", [f"b{j}_0" for j in range(k)]),
    ]
    for j in range(k):
        for s in range(length):
            transitions.append(([f"b{j}_{s}"], f"t{j}_{s}", [f"b{j}_{s + 1}"]))
    transitions.append(([f"b{j}_{length}" for j in range(k)], "join", ["o"]))
    return workflow(f"parallel_{k}x{length}", places, transitions)


def ring(k: int, tokens: int = 1) -> NetBuilder:
    b = NetBuilder(f"ring_{k}" + (f"_tokens_{tokens}" if tokens != 1 else ""))
    for i in range(k):
        b.place(f"r{i}", initial=tokens if i == 0 else 0)
    for i in range(k):
        arcs(b, [f"r{i}"], f"move_{i}", [f"r{(i + 1) % k}"])
    return b


# (file stem, builder, {property: verdict})
NETS: list[tuple[str, NetBuilder, dict[str, str]]] = [
    ("philosophers_3", philosophers(3),
     {"deadlock": "violated", "one-safe": "proved", "bounded": "proved",
      "quasi-liveness": "proved"}),
    ("philosophers_5", philosophers(5),
     {"deadlock": "violated", "one-safe": "proved", "bounded": "proved",
      "quasi-liveness": "proved"}),
    ("mutex_semaphore_2", mutex(2),
     {"deadlock": "proved", "one-safe": "proved", "bounded": "proved",
      "quasi-liveness": "proved"}),
    ("mutex_semaphore_4", mutex(4),
     {"deadlock": "proved", "one-safe": "proved", "bounded": "proved"}),
    ("producer_consumer_3", producer_consumer(3),
     {"bounded": "proved", "deadlock": "proved", "one-safe": "violated",
      "quasi-liveness": "proved"}),
    ("unbounded_producer", unbounded_producer(),
     {"bounded": "violated", "deadlock": "proved", "one-safe": "violated"}),
    ("wf_sound_parallel_choice", wf_sound_parallel_choice(),
     {"soundness": "proved", "deadlock": "violated", "one-safe": "proved"}),
    ("wf_sound_rework_loop", wf_sound_rework_loop(),
     {"soundness": "proved", "bounded": "proved"}),
    ("wf_improper_completion", wf_improper_completion(),
     {"soundness": "violated", "one-safe": "violated"}),
    ("wf_dead_transition", wf_dead_transition(),
     {"soundness": "violated", "quasi-liveness": "violated", "one-safe": "proved"}),
    ("wf_livelock", wf_livelock(),
     {"soundness": "violated", "quasi-liveness": "proved"}),
    ("wf_xor_split_and_join", wf_xor_split_and_join(),
     {"soundness": "violated", "deadlock": "violated", "quasi-liveness": "violated"}),
    ("parallel_2x3", parallel_branches(2, 3), {"soundness": "proved"}),
    ("parallel_3x4", parallel_branches(3, 4), {"soundness": "proved", "one-safe": "proved"}),
    ("parallel_6x3", parallel_branches(6, 3), {"soundness": "proved"}),
    ("ring_5", ring(5), {"deadlock": "proved", "one-safe": "proved", "bounded": "proved"}),
    ("ring_40", ring(40), {"deadlock": "proved", "one-safe": "proved"}),
    ("ring_6_tokens_3", ring(6, 3), {"deadlock": "proved", "one-safe": "violated"}),
]

ORDER = ("deadlock", "bounded", "one-safe", "quasi-liveness", "soundness")


def main() -> None:
    root = HERE.parents[2]
    rows = []
    for stem, builder, verdicts in NETS:
        path = HERE / f"{stem}.pnml"
        path.write_text(write_pnml(builder.build()))
        rel = path.relative_to(root).as_posix()
        for prop in ORDER:
            if prop in verdicts:
                rows.append(f"{rel}\t{prop}\t{verdicts[prop]}")
    expected = root / "verification/corpus/EXPECTED.tsv"
    kept = [line for line in expected.read_text().splitlines()
            if not line.startswith("verification/corpus/nets/")]
    expected.write_text("\n".join(kept + rows) + "\n")
    print(f"wrote {len(NETS)} nets and {len(rows)} rows of {expected.relative_to(root)}")


if __name__ == "__main__":
    main()
