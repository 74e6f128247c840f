"""A worker: one of many processes sharing the cases of one database.

Each round the worker fires the timers that came due and leases a batch of open work
items (``Store.claim_items``: row locks with ``SKIP LOCKED`` on PostgreSQL, so two
workers never take the same item, and a dead worker's items are offered again when its
lease runs out), then has the participants do them. Correctness does not rest on the
leases: every step commits only if the case is still at the version it was computed
from, so when two workers race on one case, one wins and the other's attempt changes
nothing (:class:`~petriflow.errors.ConflictError`); the loser gives its lease back.

A case that cannot be read, or whose stored process no longer rebuilds to the
fingerprint it started on (:class:`~petriflow.errors.CorruptionError`), is quarantined:
the worker leaves it alone, says why through ``on_quarantine``, and goes on with the
other cases; one tampered definition does not stop the work of every process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from petriflow.errors import ConflictError, CorruptionError
from petriflow.runtime.engine import Engine
from petriflow.store.base import WorkItem


@dataclass
class WorkerStats:
    rounds: int = 0
    items: int = 0
    conflicts: int = 0
    timers: int = 0
    # Wall-clock span of the rounds that did something (None until one did): the time
    # the worker spent working, without its start-up and its idle rounds.
    busy_from: float | None = None
    busy_until: float | None = None
    # Cases left alone because they cannot be read or their process does not rebuild.
    quarantined: dict[str, str] = field(default_factory=dict)


class Worker:
    """Runs ``act`` on leased work items of ``engine``'s store until told to stop."""

    def __init__(self, engine: Engine, act: Callable[[WorkItem], bool], *,
                 name: str | None = None, lease: float = 60.0, batch: int = 10,
                 wall: Callable[[], float] = time.time,
                 on_quarantine: Callable[[str, str], None] | None = None) -> None:
        self.engine = engine
        self.on_quarantine = on_quarantine
        self.act = act
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease
        self.batch = batch
        self.wall = wall
        self.stats = WorkerStats()

    def run_once(self) -> int:
        """One round; returns how many things it did (0: nothing was ready)."""
        self.stats.rounds += 1
        began = self.wall()
        done = 0
        quarantined = self.stats.quarantined
        known = set(quarantined)
        try:
            fired = self.engine.fire_timers(quarantine=quarantined)
        except ConflictError:
            fired = 0
        self.stats.timers += fired
        done += fired
        store = self.engine.store
        reuse = getattr(store, "reuse_reads", contextlib.nullcontext)
        for item in store.claim_items(self.name, self.wall(), self.lease, self.batch):
            if item.case in quarantined:
                store.release_item(item.id, self.name)
                continue
            try:
                with reuse():  # one item: its case and item read once, not nine times
                    acted = self.act(item)
                if acted:
                    done += 1
                    self.stats.items += 1
                else:
                    store.release_item(item.id, self.name)
            except ConflictError:
                self.stats.conflicts += 1
                store.release_item(item.id, self.name)
            except CorruptionError as exc:
                quarantined[item.case] = str(exc)
                store.release_item(item.id, self.name)
        if self.on_quarantine is not None:
            for case_id in sorted(quarantined.keys() - known):
                self.on_quarantine(case_id, quarantined[case_id])
        if done:
            if self.stats.busy_from is None:
                self.stats.busy_from = began
            self.stats.busy_until = self.wall()
        return done

    def run(self, *, until_idle: bool = False, idle_rounds: int = 3, pause: float = 0.2,
            max_seconds: float | None = None, patience: float = 120.0) -> WorkerStats:
        """Work until stopped (or, with ``until_idle``, until ``idle_rounds`` rounds in a
        row found nothing to do and no timer is due within ``patience`` seconds)."""
        start = time.monotonic()
        idle = 0
        while max_seconds is None or time.monotonic() - start < max_seconds:
            if self.run_once():
                idle = 0
                continue
            if until_idle and self._timer_soon(patience):
                time.sleep(pause)  # a retry or deadline is near: not idle yet
                continue
            idle += 1
            if until_idle and idle >= idle_rounds:
                break
            time.sleep(pause)
        store = self.engine.store
        for item in store.work_items():  # what it holds and could not do: for others now
            if item.leased_by == self.name:
                store.release_item(item.id, self.name)
        return self.stats

    def _timer_soon(self, patience: float) -> bool:
        """A timer comes due, or another worker's lease runs out, within ``patience``.
        Timers already due do not count: this round tried them, and those left cannot
        fire; nor does anything of a case held (suspended, failed, its process suspended)
        or quarantined (nobody may move it, and its items are not leased again), nor this
        worker's own leases (items it could not do), which it gives back."""
        store = self.engine.store
        stopped = self.engine.held_cases() | self.stats.quarantined.keys()
        now = self.engine.clock.now()
        if any(0 < t.due - now <= patience and t.case not in stopped for t in store.timers()):
            return True
        horizon = self.wall() + patience
        return any(i.lease_until is not None and i.lease_until <= horizon
                   and i.leased_by != self.name and i.case not in stopped
                   for i in store.work_items())


__all__ = ["Worker", "WorkerStats"]
