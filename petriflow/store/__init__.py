"""Persistence: the Store protocol, the in-memory reference store, and (in ``sql``) SQLAlchemy."""

from petriflow.store.base import (
    CaseRecord,
    CaseStatus,
    Change,
    ItemStatus,
    Store,
    StoredProcess,
    Timer,
    WorkItem,
)
from petriflow.store.memory import InMemoryStore

__all__ = [
    "CaseRecord",
    "CaseStatus",
    "Change",
    "InMemoryStore",
    "ItemStatus",
    "Store",
    "StoredProcess",
    "Timer",
    "WorkItem",
]
