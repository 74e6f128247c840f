"""Small BPMN documents written in the tests."""

from __future__ import annotations

from typing import Any

import pytest

from petriflow.errors import ModelError
from petriflow.model.bpmn import compile_import, read_bpmn

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:pf="https://petriflow.dev/bpmn" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs">\n')


def bpmn(body: str, pid: str = "p", ext: str = "") -> str:
    """A definitions document with one process ``pid`` holding ``body``."""
    extension = f"<extensionElements>{ext}</extensionElements>\n" if ext else ""
    return f'{HEAD}<process id="{pid}" isExecutable="true">\n{extension}{body}\n</process>\n' \
           "</definitions>\n"


def flow(fid: str, a: str, b: str, cond: str | None = None) -> str:
    if cond is None:
        return f'<sequenceFlow id="{fid}" sourceRef="{a}" targetRef="{b}"/>'
    return (f'<sequenceFlow id="{fid}" sourceRef="{a}" targetRef="{b}">'
            f'<conditionExpression xsi:type="tFormalExpression">{cond}</conditionExpression>'
            "</sequenceFlow>")


def compiled(text: str) -> tuple[Any, Any]:
    """(the import, the compiled process) of a BPMN document written in a test."""
    imp = read_bpmn(text, "test.bpmn")
    return imp, compile_import(imp)


def problems(text: str) -> list[Any]:
    """The problems a BPMN document is refused with."""
    with pytest.raises(ModelError) as err:
        compiled(text)
    return list(err.value.problems)
