"""Structural facts of P/T nets decided by plain set arithmetic: siphons and free choice.

A *siphon* is a set of places ``S`` such that every transition that puts a token into
``S`` needs a token from ``S`` (Murata, "Petri nets: properties, analysis and
applications", 1989). An empty siphon stays empty, so every transition that needs a
token from an initially empty siphon can never fire. The largest siphon inside the
initially empty places is a greatest fixpoint: drop any place that some transition can
fill without needing a token from the remaining set. Read arcs count as needs (a
transition reading an empty place cannot fire); inhibitor arcs do not.

A net is *extended free choice* when any two transitions that share an input place have
the same input places: every choice is made by the environment alone, which is what
the classical results on workflow nets (van der Aalst) and Commoner's theorem assume.
"""

from __future__ import annotations

from petriflow.verify.ptnet import PTNet


def empty_siphon(net: PTNet) -> set[int]:
    """The largest siphon made of initially empty places (possibly empty)."""
    siphon = {p for p, n in enumerate(net.initial) if n == 0}
    needs = [{p for p, _ in net.need[t]} for t in range(len(net.transitions))]
    changed = True
    while changed:
        changed = False
        for t in range(len(net.transitions)):
            if needs[t] & siphon:
                continue  # t needs a token from the siphon: it cannot fill it
            filled = {p for p, _ in net.post[t]} & siphon
            if filled:
                siphon -= filled
                changed = True
    return siphon


def dead_by_siphon(net: PTNet) -> tuple[list[int], list[str]]:
    """Transitions that can never fire because they need a token from the initially
    empty siphon; with that siphon's places (the certificate, re-checkable by
    :func:`is_siphon`)."""
    siphon = empty_siphon(net)
    dead = [t for t in range(len(net.transitions))
            if any(p in siphon for p, _ in net.need[t])]
    return dead, sorted(net.places[p] for p in siphon)


def is_siphon(net: PTNet, places: set[int]) -> bool:
    """Every transition that fills ``places`` needs a token from them."""
    for t in range(len(net.transitions)):
        if {p for p, _ in net.post[t]} & places and not {p for p, _ in net.need[t]} & places:
            return False
    return True


def free_choice(net: PTNet) -> bool:
    """Extended free choice: transitions sharing an input place share all of them."""
    presets = [frozenset(p for p, _ in net.pre[t]) for t in range(len(net.transitions))]
    for p in range(len(net.places)):
        consumers = net.consumers[p]
        if len({presets[t] for t in consumers}) > 1:
            return False
    return True


__all__ = ["dead_by_siphon", "empty_siphon", "free_choice", "is_siphon"]
