"""Helpers for testing code built on petriflow.

:mod:`petriflow.testing.conformance` is the store conformance suite: the behaviours every
:class:`~petriflow.store.base.Store` implementation must share with the in-memory
reference store.
"""

from petriflow.testing.conformance import ALL_CHECKS, DURABLE_CHECKS, run_all

__all__ = ["ALL_CHECKS", "DURABLE_CHECKS", "run_all"]
