"""The engine's record makers build exactly what the records' own __init__ builds."""

from __future__ import annotations

import dataclasses

import pytest

from petriflow.runtime.handlers import AgentRequest, ServiceCall
from petriflow.runtime.makers import new_call, new_case, new_item, new_request
from petriflow.store.base import CaseRecord, CaseStatus, ItemStatus, WorkItem


@pytest.mark.parametrize(("cls", "make"), [(WorkItem, new_item), (CaseRecord, new_case),
                                           (AgentRequest, new_request),
                                           (ServiceCall, new_call)])
def test_a_made_record_equals_the_constructed_one(cls: type, make: object) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    values = [f"v_{n}" for n in names]  # a distinct value per field, in declaration order
    if "status" in names:
        values[names.index("status")] = (ItemStatus.CLAIMED if cls is WorkItem
                                         else CaseStatus.WAITING)
    made, built = make(*values), cls(*values)  # type: ignore[operator]
    assert type(made) is cls and made == built
    assert [getattr(made, n) for n in names] == values  # every field set, none swapped
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, names[0], "other")
    assert hash(made) == hash(built)
