"""Scenario files: how simulated participants behave in ``petriflow run``.

A scenario says, per task, what people, agents and services answer, how confident an
agent is, how long each takes (in process time), how often a service fails, and who
misbehaves: an agent that tries to act outside its scope, a person who tries to do a
task a policy forbids them (approving their own submission, approving twice). The
engine's job is to refuse the misbehaviour; the run's summary counts the refusals.

Every value is data, never code: a constant, or one of ``{choice: [..]}`` /
``{choice: {value: weight}}``, ``{uniform: [low, high], digits: n}``,
``{normal: [mean, sd], digits: n}``, ``{sequence: "INV-{n}"}``, ``{copy: field}``.
Durations are ISO 8601 (``PT4H``), seconds, or ``{uniform: [PT1H, PT8H]}`` /
``{exponential: PT30M}``. An agent's confidence is a number from 0 to 1, a ``choice`` of
such numbers or a ``uniform`` within [0, 1]; ``normal``, ``sequence`` and ``copy`` are
refused there, since they can fall outside [0, 1] (an agent answer with such a confidence
is invalid, so every call would count as a failed one). A run stops ``horizon`` (default
a year) of process time after the last case arrived, and reports the cases still open.
:func:`check_against` refuses keys that name nothing in the process (a misspelt task).
Example
(``models/invoice_to_payment.scenario.yaml``)::

    inputs:
      channel: {choice: {pdf: 5, email: 3, edi: 2}}
    people:
      manager: [mia, max]
    tasks:
      extract_invoice:
        answers: {amount: {uniform: [50, 20000], digits: 2}}
        confidence: {uniform: [0.6, 1.0]}
      approve_manager:
        delay: {uniform: [PT1H, P2D]}
        misbehave:
          - {probability: 0.01, actor: submitted_by}       # approves own invoice
          - {probability: 0.01, actor: invoice_extractor}  # an agent outside its scope
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from petriflow.errors import ColorError, ModelError, Problem, did_you_mean
from petriflow.model.compiled import CompiledProcess
from petriflow.model.durations import parse_duration
from petriflow.model.loader import parse_document, read_text
from petriflow.net.colors import (
    BoolColor,
    ColorSet,
    DecimalColor,
    EnumColor,
    IntColor,
    StrColor,
)
from petriflow.runtime.deployment import Deployment

GENERATORS = ("choice", "uniform", "normal", "sequence", "copy")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Misbehaviour(_Spec):
    """With ``probability``, ``actor`` tries to complete the task before an allowed
    participant does: a case field naming a person (``submitted_by``), a task whose
    performer tries again (``review_extraction``), or a participant by name, such as an
    agent reaching outside its scope (``invoice_extractor``)."""

    probability: float = Field(ge=0, le=1)
    actor: str


class TaskBehaviour(_Spec):
    """How one task's participant behaves. ``confidence`` (agent tasks) must stay within
    [0, 1]: see the module docstring."""

    answers: dict[str, Any] = Field(default_factory=dict)
    confidence: Any = None
    delay: Any = 0
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    permanent_failure_rate: float = Field(default=0.0, ge=0, le=1)
    misbehave: tuple[Misbehaviour, ...] = ()

    @field_validator("misbehave", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, Mapping) else value


#: How long a run goes on past the last case's arrival when the scenario does not say
#: (process time): long enough for the slowest reference process many times over.
DEFAULT_HORIZON = "P365D"


class Scenario(_Spec):
    seed: int | None = None
    arrival: Any = 0                       # time between case starts
    # process time past the last arrival after which the run stops and reports the cases
    # still open (work nobody may do, a reminder that repeats for ever)
    horizon: Any = DEFAULT_HORIZON
    inputs: dict[str, Any] = Field(default_factory=dict)
    people: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    tasks: dict[str, TaskBehaviour] = Field(default_factory=dict)
    # where it was read from: (file, line_of), for check_against's messages
    _source: tuple[str | None, Callable[..., int | None] | None] = PrivateAttr(
        default=(None, None))

    def behaviour(self, task: str) -> TaskBehaviour:
        return self.tasks.get(task) or TaskBehaviour()


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file, the line and the value."""
    path = Path(path)
    data, src = parse_document(read_text(path), str(path))
    return scenario_from_data(data, src.file, src.line)


def scenario_from_data(data: Any, file: str | None = None, line_of: Any = None) -> Scenario:
    if not isinstance(data, Mapping):
        raise ModelError(Problem("a scenario is a mapping (inputs, people, tasks)", file=file))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = tuple(err["loc"])
            line = line_of(*where) if line_of else None
            problems.append(Problem(f"{'.'.join(map(str, where))}: {err['msg']}", file=file,
                                    line=line))
        raise ModelError(problems) from None
    problems = []
    for where, value in _values(scenario):
        try:
            _check(value)
        except ValueError as exc:
            line = line_of(*where) if line_of else None
            problems.append(Problem(f"{'.'.join(map(str, where))}: {exc}", file=file,
                                    line=line))
    ModelError.collect(problems)
    scenario._source = (file, line_of)
    return scenario


def check_against(scenario: Scenario, process: CompiledProcess | Deployment) -> None:
    """Refuse scenario keys that name nothing in ``process``: a typo would otherwise do
    nothing at all. Raises one :class:`ModelError` with every problem (file and line as
    the scenario was read by :func:`load_scenario` or :func:`scenario_from_data`).

    Checked: tasks under ``tasks`` (a task id, or a message a task waits for), the fields
    of their ``answers``, names under ``inputs``, roles under ``people``, a
    ``misbehave.actor`` (a case field, a task (its ``by_<task>`` field), an agent or a
    person of ``people``), that the values of inputs and answers fit their fields
    (constants and choices are values of the field, ``copy`` names a field of the same
    type, ``uniform`` stays within its bounds and gives integers for ``int``), and
    keys that only some kinds of task use (``confidence``: agents; ``failure_rate``:
    bots and APIs; ``misbehave``: people)."""
    dep = process if isinstance(process, Deployment) else Deployment(process)
    file, line_of = scenario._source
    name = dep.compiled.name
    problems: list[Problem] = []

    def problem(message: str, *where: Any, unknown: str = "", candidates: Any = ()) -> None:
        problems.append(Problem(f"{'.'.join(map(str, where))}: {message}", file=file,
                                line=line_of(*where) if line_of else None,
                                hint=did_you_mean(unknown, candidates) if unknown else None))

    # message name -> its fields, for a message some task waits for
    messages: dict[str, set[str]] = {}
    waiters: dict[str, list[str]] = {}  # message name -> the tasks that wait for it
    for waiting in dep.tasks.values():
        for message, (t, carried) in waiting.catches.items():
            if t.task != waiting.id:
                messages.setdefault(message, set()).update(carried)
                waiters.setdefault(message, []).append(waiting.id)
    fields = {n for n, _ in dep.compiled.data_color.fields} | set(dep.inputs)
    people = {p for names in scenario.people.values() for p in names}
    roles = set(getattr(dep.compiled.spec, "roles", ())) | {
        i.role for i in dep.tasks.values() if i.role}
    actors = fields | set(dep.tasks) | dep.agent_ids | people  # by_<task>: the task's id

    colors = dict(dep.compiled.data_color.fields)

    def values(spec: Any, color: Any, *where: Any) -> None:
        """Refuse a generator whose values cannot be the field's (the engine would refuse
        every such answer, and the run would only count failures)."""
        wrong = _misfit(spec, color, colors)
        if wrong is not None:
            copied = spec.get("copy") if isinstance(spec, Mapping) else None
            problem(wrong, *where, unknown=copied if isinstance(copied, str) else "",
                    candidates=colors)

    for key, spec in scenario.inputs.items():
        if key not in dep.inputs:
            problem(f"process {name} has no input '{key}'", "inputs", key, unknown=key,
                    candidates=dep.inputs)
        else:
            values(spec, dep.inputs[key], "inputs", key)
    for key in scenario.people:
        if key not in roles:
            problem(f"process {name} has no role '{key}'", "people", key, unknown=key,
                    candidates=roles)
    for task, b in scenario.tasks.items():
        info = dep.tasks.get(task)
        if info is None and task not in messages:
            problem(f"no task '{task}' in process {name}", "tasks", task, unknown=task,
                    candidates=[*dep.tasks, *messages])
            continue
        if info is None and "delay" in b.model_fields_set:
            waits = " or ".join(f"'{w}'" for w in sorted(waiters[task]))
            problem(f"a message has no delay of its own: '{task}' arrives after the delay "
                    f"of the task that waits for it (give 'delay' under {waits})",
                    "tasks", task, "delay")
        writes = set(info.writes if info else ()) | messages.get(task, set())
        for f in b.answers:
            if info is not None and f == info.confidence:
                problem(f"'{f}' is the agent's confidence: give it under 'confidence'",
                        "tasks", task, "answers", f)
            elif f not in writes:
                problem(f"task '{task}' does not write '{f}'", "tasks", task, "answers", f,
                        unknown=f, candidates=writes)
            elif f in colors:
                values(b.answers[f], colors[f], "tasks", task, "answers", f)
        kind = info.kind_value if info else "message"
        what = f"'{task}' is " + ("a message" if info is None else
                                  f"a{'n' * (kind[0] in 'aeiou')} {kind} task")
        if b.confidence is not None and kind != "agent":
            problem(f"only an agent task has a confidence ({what})", "tasks", task,
                    "confidence")
        for key in ("failure_rate", "permanent_failure_rate"):
            if getattr(b, key) and kind not in ("bot", "api"):
                problem(f"only a bot or api task fails ({what})", "tasks", task, key)
        if b.misbehave and kind != "human":
            problem(f"only a person's task can misbehave ({what})", "tasks", task,
                    "misbehave")
            continue
        for i, m in enumerate(b.misbehave):
            if m.actor not in actors:
                problem(f"'{m.actor}' is no case field, task, agent or person of process "
                        f"{name}", "tasks", task, "misbehave", i, "actor", unknown=m.actor,
                        candidates=actors)
    ModelError.collect(problems)


def coerce_answer(color: Any, value: Any) -> Any:
    """Mapping keys in YAML are text (``{true: 9, false: 1}``): read them as the field's type."""
    if not isinstance(value, str):
        return value
    if isinstance(color, BoolColor) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(color, IntColor) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(color, DecimalColor):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def _misfit(spec: Any, color: ColorSet, fields: Mapping[str, ColorSet]) -> str | None:
    """Why values drawn from ``spec`` may not be values of ``color`` (None: they are)."""
    if isinstance(spec, Mapping) and "copy" in spec:
        source = fields.get(spec["copy"])
        if source is None:
            return f"copy: the case has no field '{spec['copy']}'"
        fits = (type(source) is type(color) and not isinstance(color, EnumColor)) or (
            isinstance(source, IntColor) and isinstance(color, DecimalColor)) or (
            isinstance(source, EnumColor) and isinstance(color, StrColor)) or (
            isinstance(source, EnumColor) and isinstance(color, EnumColor)
            and set(source.values) <= set(color.values))
        if not fits:
            return f"copy: field '{spec['copy']}' holds {source}, not {color}"
        return None
    if isinstance(spec, Mapping) and ("uniform" in spec or "normal" in spec):
        key = "uniform" if "uniform" in spec else "normal"
        if not isinstance(color, IntColor | DecimalColor):
            return f"{key} draws numbers, not values of {color}"
        if isinstance(color, IntColor) and spec.get("digits") != 0:
            return f"{key} draws decimals: give 'digits: 0' for an integer field"
        low, high = getattr(color, "low", None), getattr(color, "high", None)
        a, b = spec[key]
        ends = (a, b) if key == "uniform" else ((a, b) if low is None and high is None
                                                else (-math.inf, math.inf))
        if (low is not None and min(ends) < low) or (high is not None and max(ends) > high):
            return f"{key} can draw values outside {color}'s bounds ({low}..{high})"
        return None
    options: Any = [spec]
    if isinstance(spec, Mapping) and "choice" in spec:
        options = list(spec["choice"])
    elif isinstance(spec, Mapping) and "sequence" in spec:  # (checked on its first value)
        options = [generate(spec, random.Random(0), {}, 1)]
    for option in options:
        value = coerce_answer(color, option)
        if isinstance(value, float) and isinstance(color, DecimalColor):
            value = Decimal(repr(value))  # (as the engine reads a float answer)
        try:
            color.validate(value)
        except ColorError as exc:
            return str(exc)
    return None


def _values(s: Scenario) -> list[tuple[tuple[Any, ...], Any]]:
    out: list[tuple[tuple[Any, ...], Any]] = [(("arrival",), ("duration", s.arrival)),
                                              (("horizon",), ("duration", s.horizon))]
    out += [(("inputs", k), v) for k, v in s.inputs.items()]
    for task, b in s.tasks.items():
        out += [(("tasks", task, "answers", k), v) for k, v in b.answers.items()]
        if b.confidence is not None:
            out.append((("tasks", task, "confidence"), ("confidence", b.confidence)))
        out.append((("tasks", task, "delay"), ("duration", b.delay)))
    return out


def _check(value: Any) -> None:
    if isinstance(value, tuple) and value and value[0] == "duration":
        duration(value[1], random.Random(0))
        return
    if isinstance(value, tuple) and value and value[0] == "confidence":
        _check_confidence(value[1])
        return
    generate(value, random.Random(0), {}, 1)


_CONFIDENCE = "a confidence is a number from 0 to 1, {choice: [..]} of such numbers or " \
              "{uniform: [low, high]} within [0, 1]"


def _check_confidence(spec: Any) -> None:
    """Refuse a confidence spec that can give anything but a number in [0, 1]: the agent's
    answer would be invalid and every call of it count as a failure."""
    generate(spec, random.Random(0), {}, 1)  # the generic checks first (shape, digits)
    if not isinstance(spec, Mapping):
        _unit(spec, "a confidence")
        return
    if "choice" in spec:
        options = spec["choice"]
        if isinstance(options, Mapping):  # YAML keys are text: "0.9"
            for option in options:
                _unit(_number(option), "each choice of confidence", shown=option)
        else:
            for option in options:
                _unit(option, "each choice of confidence")
    elif "uniform" in spec:
        for end in spec["uniform"]:
            _unit(end, "uniform confidence's bounds")
    else:
        key = next(k for k in spec if k in GENERATORS)
        raise ValueError(f"{key} cannot be used for a confidence: it can fall outside "
                         f"[0, 1] ({_CONFIDENCE})")


def _number(text: Any) -> Any:
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def _unit(value: Any, what: str, shown: Any = None) -> None:
    shown = value if shown is None else shown
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number from 0 to 1, got {shown!r} ({_CONFIDENCE})")
    if not 0 <= value <= 1:  # also refuses NaN
        raise ValueError(f"{what} must be from 0 to 1, got {shown!r}")


def generate(spec: Any, rng: random.Random, data: Mapping[str, Any], n: int) -> Any:
    """One value drawn from a generator spec (see the module docstring)."""
    if not isinstance(spec, Mapping):
        return spec
    if len(spec) not in (1, 2) or not (set(spec) & set(GENERATORS)):
        raise ValueError(f"a generator is one of {', '.join(GENERATORS)}; got "
                         f"{', '.join(map(str, spec))}")
    digits = spec.get("digits")
    if "choice" in spec:
        options = spec["choice"]
        if isinstance(options, Mapping):
            if not options or any(not isinstance(w, int | float) or w < 0
                                  for w in options.values()):
                raise ValueError("choice weights are non-negative numbers")
            return rng.choices(list(options), weights=list(options.values()))[0]
        if not isinstance(options, list | tuple) or not options:
            raise ValueError("choice takes a non-empty list or a mapping of weights")
        return rng.choice(list(options))
    if "uniform" in spec or "normal" in spec:
        key = "uniform" if "uniform" in spec else "normal"
        a, b = _pair(spec[key], key)
        x = rng.uniform(a, b) if key == "uniform" else rng.gauss(a, b)
        if digits is None:
            return x
        if not isinstance(digits, int) or not 0 <= digits <= 12:
            raise ValueError("digits is an integer from 0 to 12")
        return round(Decimal(repr(x)), digits) if digits else round(x)
    if "sequence" in spec:
        pattern = spec["sequence"]
        if not isinstance(pattern, str):
            raise ValueError("sequence takes a text with {n}")
        return pattern.replace("{n}", str(n))  # plain replacement: no format() on user text
    field = spec["copy"]
    if not isinstance(field, str):
        raise ValueError("copy takes a field name")
    return data.get(field)


def duration(spec: Any, rng: random.Random) -> float:
    """Seconds of process time from a duration spec."""
    if spec in (0, None):
        return 0.0
    if isinstance(spec, Mapping):
        if "uniform" in spec:
            a, b = (parse_duration(x) for x in _pair(spec["uniform"], "uniform", text=True))
            return rng.uniform(a, b)
        if "exponential" in spec:
            mean = parse_duration(spec["exponential"])
            return rng.expovariate(1 / mean)
        raise ValueError("a duration is ISO 8601 text, seconds, {uniform: [a, b]} or "
                         "{exponential: mean}")
    return parse_duration(spec)


def _pair(value: Any, key: str, text: bool = False) -> tuple[Any, Any]:
    ok = (str, int, float) if text else (int, float)
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, ok) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{key} takes two numbers{' or durations' if text else ''}")
    if not text and not all(math.isfinite(v) for v in value):
        raise ValueError(f"{key} takes finite numbers")
    return value[0], value[1]


def scenario_next_to(model: str | Path) -> Path | None:
    """The default scenario of a model: ``<model>.scenario.yaml`` beside it."""
    model = Path(model)
    candidate = model.with_name(model.name.rsplit(".", 1)[0] + ".scenario.yaml")
    return candidate if candidate.is_file() else None


__all__ = [
    "DEFAULT_HORIZON",
    "Misbehaviour",
    "Scenario",
    "TaskBehaviour",
    "check_against",
    "duration",
    "generate",
    "load_scenario",
    "scenario_from_data",
    "scenario_next_to",
]
