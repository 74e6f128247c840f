"""Durations (timers, timeouts, reminders, scenario delays) are finite, positive and sane:
YAML's ``.inf`` and ``.nan`` are numbers, and would otherwise stall a case for ever or
reach the audit journal, which cannot record them."""

from __future__ import annotations

import math
from typing import Any

import pytest

from petriflow.errors import ModelError
from petriflow.model import compile_loaded, load_text
from petriflow.model.durations import MAX_SECONDS, parse_duration


@pytest.mark.parametrize(("value", "seconds"), [
    ("P3D", 3 * 86400), ("PT4H30M", 4.5 * 3600), ("P1W", 604800), ("pt0.5s", 0.5),
    (90, 90), (0.25, 0.25), ("P365250D", MAX_SECONDS),
])
def test_a_duration_is_its_seconds(value: Any, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(("value", "message"), [
    (math.inf, "finite"), (-math.inf, "finite"), (math.nan, "finite"),
    (0, "positive"), (-5, "positive"), ("PT0S", "positive"),
    (10**20, "1,000 years"), (1e300, "1,000 years"), ("P365251D", "1,000 years"),
    ("PT" + "9" * 400 + "S", "1,000 years"),   # too many digits for a float: inf
    ("P\u0663D", "not an ISO 8601 duration"),  # an Arabic-Indic three is not a digit here
    (True, "not a duration"), ("P1Y", "not an ISO 8601 duration"),
])
def test_an_absurd_duration_is_refused(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


PROCESS = """\
process: waits
roles: [clerk]
nodes:
  start: {{type: start}}
  ask: {{type: task, kind: human, role: clerk, {task}}}
  pause: {{type: timer, after: {timer}}}
  done: {{type: end}}
  late: {{type: end}}
flows: [start -> ask, ask -> pause, pause -> done]
"""


@pytest.mark.parametrize(("task", "timer", "where", "line"), [
    ("remind: PT1H", ".nan", "timer 'pause'", 6),
    ("remind: .inf", "PT1H", "task 'ask': reminder", 5),
    ("timeout: {after: .nan, to: late}", "PT1H", "task 'ask'", 5),
])
def test_a_model_with_a_non_finite_duration_is_a_model_error(task: str, timer: str,
                                                               where: str, line: int) -> None:
    text = PROCESS.format(task=task, timer=timer)
    with pytest.raises(ModelError) as caught:
        compile_loaded(load_text(text, "waits.yaml"))
    [problem] = [p for p in caught.value.problems if "finite" in p.message]
    assert problem.message.startswith(where)
    assert (problem.file, problem.line) == ("waits.yaml", line)
