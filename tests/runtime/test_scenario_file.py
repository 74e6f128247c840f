"""Scenario files: a value the simulation cannot use (an infinite arrival, a confidence
outside [0, 1]) and a key that names nothing in the process (a misspelt task, field,
input, role or actor) are one ModelError naming the file, the line and the key; the four
reference scenarios fit their processes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from petriflow.errors import ModelError, Problem
from petriflow.model import compile_file
from petriflow.runtime.scenario import (
    Scenario,
    check_against,
    generate,
    load_scenario,
    scenario_from_data,
)
from tests.model.helpers import WAITS
from tests.runtime.helpers import MODELS, compile_yaml, model

REFERENCE = ("invoice_to_payment", "customer_service", "fraud_review", "hr_hiring")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.scenario.yaml"
    path.write_text(text)
    return path


def _problems(path: Path, process: object = None) -> tuple[Problem, ...]:
    with pytest.raises(ModelError) as caught:
        scenario = load_scenario(path)
        if process is not None:
            check_against(scenario, process)  # type: ignore[arg-type]
    return caught.value.problems


# -- values --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "arrival: .inf", "arrival: .nan", "arrival: -1", "horizon: .inf",
    "arrival: {exponential: .nan}", "arrival: {uniform: [PT1H, .inf]}",
])
def test_a_non_finite_or_negative_duration_is_refused(tmp_path: Path, text: str) -> None:
    [p] = _problems(_write(tmp_path, f"seed: 1\n{text}\n"))
    assert p.file == str(tmp_path / "x.scenario.yaml") and p.line == 2
    assert p.message.startswith(text.split(":")[0] + ": a duration must be")


def test_a_non_finite_task_delay_is_refused(tmp_path: Path) -> None:
    [p] = _problems(_write(tmp_path, "tasks:\n  pay:\n    delay: .nan\n"))
    assert p.line == 3 and p.message.startswith("tasks.pay.delay: a duration must be a finite")


@pytest.mark.parametrize(("spec", "message"), [
    ("7", "must be from 0 to 1, got 7"),
    ("-0.1", "must be from 0 to 1"),
    (".nan", "must be from 0 to 1"),
    ('"high"', "must be a number from 0 to 1, got 'high'"),
    ("true", "must be a number from 0 to 1"),
    ("{choice: [0.5, 2]}", "each choice of confidence must be from 0 to 1, got 2"),
    ("{choice: [0.5, high]}", "must be a number from 0 to 1, got 'high'"),
    ("{choice: {0.5: 1, high: 2}}", "got 'high'"),
    ("{choice: {0.5: 1, 1.5: 2}}", "got '1.5'"),
    ("{uniform: [0.5, 1.5]}", "bounds must be from 0 to 1, got 1.5"),
    ("{normal: [0.8, 0.1]}", "normal cannot be used for a confidence"),
    ("{copy: amount}", "copy cannot be used for a confidence"),
    ("{sequence: 'c-{n}'}", "sequence cannot be used for a confidence"),
])
def test_a_confidence_outside_0_1_is_refused(tmp_path: Path, spec: str, message: str) -> None:
    text = f"tasks:\n  extract_invoice:\n    delay: PT1S\n    confidence: {spec}\n"
    [p] = _problems(_write(tmp_path, text))
    assert p.line == 4
    assert p.message.startswith("tasks.extract_invoice.confidence: ") and message in p.message


@pytest.mark.parametrize("spec", [
    0, 1, 0.75, {"choice": [0.5, 1]}, {"choice": {"0.6": 1, "0.9": 3}},
    {"uniform": [0.55, 1.0]}, {"uniform": [0, 1], "digits": 0},
])
def test_a_confidence_within_0_1_is_accepted_and_stays_there(spec: object) -> None:
    scenario = scenario_from_data({"tasks": {"extract_invoice": {"confidence": spec}}})
    conf = scenario.behaviour("extract_invoice").confidence
    rng = random.Random(3)
    assert all(0 <= float(generate(conf, rng, {}, 0)) <= 1 for _ in range(200))


# -- keys that name nothing in the process -------------------------------------------------------


@pytest.mark.parametrize("name", REFERENCE)
def test_the_reference_scenarios_fit_their_processes(name: str) -> None:
    check_against(load_scenario(MODELS / f"{name}.scenario.yaml"), model(name))


TYPOS = """\
seed: 1
inputs:
  chanel: {choice: [pdf]}
people:
  managr: [mia]
tasks:
  aprove_manager:
    delay: PT1H
  approve_manager:
    answers: {aproved: true}
    misbehave:
      - {probability: 0.1, actor: submited_by}
      - {probability: 0.1, actor: submitted_by}
      - {probability: 0.1, actor: approve_cfo}
      - {probability: 0.1, actor: by_review_extraction}
      - {probability: 0.1, actor: invoice_extractor}
      - {probability: 0.1, actor: mia}
  extract_invoice:
    answers: {extraction_confidence: 0.5, supplier: ACME}
    confidence: 0.9
    failure_rate: 0.1
  pay:
    confidence: {uniform: [0.5, 1]}
    misbehave: {probability: 0.1, actor: ada}
"""


def test_every_key_that_names_nothing_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, TYPOS)
    problems = _problems(path, model("invoice_to_payment"))
    assert {p.file for p in problems} == {str(path)}
    got = {(p.line, p.message, p.hint) for p in problems}
    assert got == {
        (3, "inputs.chanel: process invoice_to_payment has no input 'chanel'",
         "did you mean 'channel'?"),
        (5, "people.managr: process invoice_to_payment has no role 'managr'",
         "did you mean 'manager'?"),
        (7, "tasks.aprove_manager: no task 'aprove_manager' in process invoice_to_payment",
         "did you mean 'approve_manager'?"),
        (10, "tasks.approve_manager.answers.aproved: task 'approve_manager' does not write "
             "'aproved'", "did you mean 'approved'?"),
        (12, "tasks.approve_manager.misbehave.0.actor: 'submited_by' is no case field, task, "
             "agent or person of process invoice_to_payment", "did you mean 'submitted_by'?"),
        (19, "tasks.extract_invoice.answers.extraction_confidence: 'extraction_confidence' is "
             "the agent's confidence: give it under 'confidence'", None),
        (21, "tasks.extract_invoice.failure_rate: only a bot or api task fails "
             "('extract_invoice' is an agent task)", None),
        (23, "tasks.pay.confidence: only an agent task has a confidence ('pay' is an api task)",
         None),
        (24, "tasks.pay.misbehave: only a person's task can misbehave ('pay' is an api task)",
         None),
    }
    # the error reads as the CLI prints it: file, line, key, message, hint
    text = str(ModelError(problems))
    assert (f"{path}, line 7: tasks.aprove_manager: no task 'aprove_manager' in process "
            "invoice_to_payment (did you mean 'approve_manager'?)") in text


def test_a_message_a_task_waits_for_may_be_given_answers() -> None:
    waits = compile_yaml(WAITS)
    check_against(scenario_from_data({"tasks": {"reply": {"answers": {"answer": "yes"}},
                                                "ask": {"delay": "PT1M"}}}), waits)
    with pytest.raises(ModelError) as caught:
        check_against(scenario_from_data({"tasks": {"reply": {"answers": {"anser": "x"}},
                                                    "late": {"delay": "PT1M"}}}), waits)
    assert [(p.message, p.hint) for p in caught.value.problems] == [
        ("tasks.reply.answers.anser: task 'reply' does not write 'anser'",
         "did you mean 'answer'?"),
        ("tasks.late: no task 'late' in process waits", None)]


def test_a_delay_under_a_message_name_is_refused_not_ignored() -> None:
    """A message arrives when the participant acts on the task that waits for it, so its
    delay is that task's: a delay of its own would silently change nothing."""
    waits = compile_yaml(WAITS)
    with pytest.raises(ModelError) as caught:
        check_against(scenario_from_data({"tasks": {"reply": {"delay": "PT1M"}}}), waits)
    [p] = caught.value.problems
    assert p.message.startswith("tasks.reply.delay: a message has no delay of its own: "
                                "'reply' arrives after the delay of the task that waits")
    assert "(give 'delay' under 'choose')" in p.message  # the event gateway's wait


def test_a_scenario_built_in_code_is_checked_without_a_location() -> None:
    with pytest.raises(ModelError) as caught:
        check_against(Scenario(inputs={"nope": 1}), compile_file(MODELS / "hr_hiring.yaml"))
    [p] = caught.value.problems
    assert (p.file, p.line) == (None, None)
    assert p.message == "inputs.nope: process hr_hiring has no input 'nope'"
    check_against(Scenario(), model("hr_hiring"))  # nothing to say about an empty one


@pytest.mark.parametrize(("text", "expected"), [
    ("tasks:\n  approve_manager:\n    answers: {approved: {choice: [maybe]}}\n",
     "line 3: tasks.approve_manager.answers.approved: 'maybe' is not a value of color set "
     "bool"),
    ("tasks:\n  extract_invoice:\n    answers: {amount: {copy: amont}}\n",
     "copy: the case has no field 'amont'"),
    ("tasks:\n  extract_invoice:\n    answers: {amount: hello}\n",
     "'hello' is not a value of color set decimal"),
    ("inputs:\n  channel: {choice: {pdf: 1, fax: 1}}\n",
     "line 2: inputs.channel: 'fax' is not a value of color set channel"),
    ("tasks:\n  extract_invoice:\n    answers: {supplier: {uniform: [1, 2]}}\n",
     "uniform draws numbers, not values of str"),
    ("tasks:\n  extract_invoice:\n    answers: {po_number: {copy: amount}}\n",
     "copy: field 'amount' holds decimal, not str"),
])
def test_answers_and_inputs_that_cannot_be_values_of_their_fields(
        tmp_path: Path, text: str, expected: str) -> None:
    """The engine would refuse every such answer: the run would only count failures."""
    path = tmp_path / "bad.scenario.yaml"
    path.write_text(text)
    with pytest.raises(ModelError) as caught:
        check_against(load_scenario(path), compile_file(MODELS / "invoice_to_payment.yaml"))
    assert expected in str(caught.value) and "bad.scenario.yaml" in str(caught.value)


@pytest.mark.parametrize("answers", [
    "{po_number: {copy: currency}}",          # an enumeration's value is a text
    "{supplier: {sequence: 'S-{n}'}}",
    "{amount: {sequence: '{n}'}}",            # numeric text is a decimal
    "{amount: {uniform: [1, 9], digits: 2}}",
])
def test_answers_that_fit_their_fields_are_accepted(tmp_path: Path, answers: str) -> None:
    path = tmp_path / "ok.scenario.yaml"
    path.write_text(f"tasks:\n  extract_invoice:\n    answers: {answers}\n")
    check_against(load_scenario(path), compile_file(MODELS / "invoice_to_payment.yaml"))


def test_choice_keys_written_as_yaml_keys_are_read_as_the_fields_type(tmp_path: Path) -> None:
    path = tmp_path / "ok.scenario.yaml"
    path.write_text("tasks:\n  approve_manager:\n    answers: {approved: {choice: {true: 9, "
                    "false: 1}}}\n  extract_invoice:\n    answers: {amount: {choice: "
                    "{'12.50': 1}}}\n")
    check_against(load_scenario(path), compile_file(MODELS / "invoice_to_payment.yaml"))
