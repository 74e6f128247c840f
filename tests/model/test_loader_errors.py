"""What a wrong or hostile process file gets: one ModelError listing every problem, each
with its file, line and element (and a "did you mean" for misspelt names), and the same
through ``petriflow compile`` as exit code 2 without a traceback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from petriflow.cli import run
from petriflow.errors import ModelError, Problem
from petriflow.model import compile_file, compile_loaded, load_process, load_text
from petriflow.model.loader import MAX_BYTES
from petriflow.net.pnml import read_pnml

ROOT = Path(__file__).resolve().parents[2]
INVOICE = ROOT / "models" / "invoice_to_payment.yaml"
FILE = "broken.yaml"

GOOD = """\
process: good
data:
  amount: {type: int, input: true}
  approved: {type: bool}
  conf: {type: float, min: 0, max: 1}
roles: [clerk, manager]
agents: [{id: classifier, threshold: 0.8}]
nodes:
  start: {type: start}
  classify: {type: task, kind: agent, agent: classifier, writes: [conf], confidence: conf,
             handoff: review}
  review: {type: task, kind: human, role: clerk}
  approve: {type: task, kind: human, role: manager, writes: [approved]}
  decide: {type: exclusive}
  done: {type: end}
  rejected: {type: end}
flows:
  - start -> classify
  - classify -> approve
  - review -> approve
  - approve -> decide
  - {from: decide, to: done, when: approved and amount > 0}
  - {from: decide, to: rejected, default: true}
"""


def problems_of(text: str, file: str = FILE) -> tuple[Problem, ...]:
    with pytest.raises(ModelError) as err:
        compile_loaded(load_text(text, file))
    assert err.value.problems
    return err.value.problems


def only(problems: tuple[Problem, ...], needle: str) -> Problem:
    found = [p for p in problems if needle in p.message]
    assert len(found) == 1, (needle, problems)
    return found[0]


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` containing ``needle``."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_the_good_process_compiles() -> None:
    compiled = compile_loaded(load_text(GOOD, FILE))
    assert compiled.name == "good"


# -- references, with "did you mean" ---------------------------------------------------------

@pytest.mark.parametrize(("old", "new", "needle", "element", "hint"), [
    ("  - approve -> decide\n", "  - approve -> decdie\n", "unknown node 'decdie'",
     "approve->decdie", "decide"),
    ("role: manager,", "role: manger,", "unknown role 'manger'", "approve", "manager"),
    ("agent: classifier,", "agent: clasifier,", "unregistered agent 'clasifier'",
     "classify", "classifier"),
    ("writes: [approved]", "writes: [aproved]", "unknown field 'aproved'", "approve",
     "approved"),
    ("when: approved and", "when: aproved and", "unknown name 'aproved'", "decide->done",
     "approved"),
    ("handoff: review}", "handoff: reveiw}", "handoff", "classify", "review"),
])
def test_unknown_references_point_at_the_element_with_a_hint(
    old: str, new: str, needle: str, element: str, hint: str,
) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new)
    p = only(problems_of(text), needle)
    assert p.file == FILE
    assert p.element == element
    assert p.line == line_of(text, new.strip().split(",")[0].split("}")[0])
    assert p.hint is not None and f"did you mean '{hint}'?" in p.hint


def test_unknown_timeout_and_error_targets_have_hints() -> None:
    text = GOOD.replace(
        "  review: {type: task, kind: human, role: clerk}\n",
        "  review: {type: task, kind: human, role: clerk, timeout: {after: P1D, to: aprove}}\n"
        "  pay: {type: task, kind: api, on_error: reveiw}\n").replace(
        "  - review -> approve\n", "  - review -> approve\n  - approve -> pay\n  - pay -> done\n")
    problems = problems_of(text)
    timeout = only(problems, "timeout names unknown node 'aprove'")
    error = only(problems, "on_error names unknown node 'reveiw'")
    assert (timeout.element, error.element) == ("review", "pay")
    assert timeout.hint == "did you mean 'approve'?" and error.hint == "did you mean 'review'?"
    assert timeout.line == line_of(text, "aprove") and error.line == line_of(text, "reveiw")


# -- expressions -----------------------------------------------------------------------------

@pytest.mark.parametrize(("condition", "needle"), [
    ("amount >", "invalid syntax"),
    ("amount > 'x'", "orders numbers"),
    ('amount > "x"', "orders numbers"),
    ("amount", "must be true or false"),
    ("amount +", "invalid syntax"),
    ("__import__('os').system('echo hi')", ""),
    ("approved and (amount > 0", ""),
])
def test_bad_conditions_are_located(condition: str, needle: str) -> None:
    text = GOOD.replace("when: approved and amount > 0", f"when: {json.dumps(condition)}")
    (p,) = problems_of(text)
    assert needle in p.message
    assert (p.file, p.element) == (FILE, "decide->done")
    assert p.line == line_of(text, "to: done")


def test_type_errors_in_set_check_and_candidate() -> None:
    text = GOOD.replace(
        "  review: {type: task, kind: human, role: clerk}\n",
        "  review: {type: task, kind: human, role: clerk, candidate: actor > 3}\n"
        "  bump: {type: task, kind: auto, set: {approved: amount + 1}, check: amount}\n",
    ).replace("  - review -> approve\n", "  - review -> bump\n  - bump -> approve\n")
    problems = problems_of(text)
    assert {p.element for p in problems} == {"review", "bump"}
    assert len(problems) == 3
    assert only(problems, "the field holds bool").line == line_of(text, "bump:")
    for p in problems:
        assert p.file == FILE and p.line is not None


# -- structure -------------------------------------------------------------------------------

def test_unreachable_nodes() -> None:
    text = GOOD.replace("  done: {type: end}\n",
                        "  done: {type: end}\n  orphan: {type: task, kind: bot}\n"
                        "  orphan2: {type: task, kind: bot}\n").replace(
        "  - review -> approve\n", "  - review -> approve\n  - orphan -> orphan2\n"
                                   "  - orphan2 -> orphan\n  - orphan2 -> done\n")
    problems = problems_of(text)
    unreachable = [p for p in problems if "cannot be reached" in p.message]
    assert {p.element for p in unreachable} == {"orphan", "orphan2"}
    for p in unreachable:
        assert p.line == line_of(text, f"  {p.element}:")


@pytest.mark.parametrize("flow", ["{from: approve}", "approve ->", "'-> decide'",
                                  "[approve]", "approve -> -> decide"])
def test_flows_without_a_target(flow: str) -> None:
    text = GOOD.replace("  - approve -> decide\n", f"  - {flow}\n")
    problems = problems_of(text)
    for p in problems:
        assert p.file == FILE and p.line == line_of(text, flow)


@pytest.mark.parametrize("flow", ["approve ->", "[approve]"])
def test_a_malformed_flow_is_reported_once(flow: str) -> None:
    text = GOOD.replace("  - approve -> decide\n", f"  - {flow}\n")
    (p,) = problems_of(text)
    assert p.element is not None and "approve" in p.element


def test_duplicate_keys_are_refused_not_overwritten() -> None:
    text = GOOD.replace("  rejected: {type: end}\n",
                        "  rejected: {type: end}\n  review: {type: end}\n")
    (p,) = problems_of(text)
    assert "'review' appears twice" in p.message
    assert p.file == FILE and p.line == line_of(text, "  review: {type: end}")
    inner = GOOD.replace("role: manager,", "role: manager, role: clerk,")
    (p,) = problems_of(inner)
    assert "'role' appears twice" in p.message and p.line == line_of(inner, "role: clerk,")
    json_text = '{"process": "p", "process": "q", "nodes": {}}'
    (p,) = problems_of(json_text, "dup.json")
    assert "'process' appears twice" in p.message and (p.file, p.line) == ("dup.json", 1)


@pytest.mark.parametrize(("old", "new", "element"), [
    ("  rejected: {type: end}\n", "  rejected: {type: end}\n  review: {type: end}\n", "review"),
    ("  rejected: {type: end}\n", "  rejected: !!python/object/apply:os.getcwd []\n",
     "rejected"),
    ("  - approve -> decide\n", "  - {from: approve}\n", "approve"),
])
def test_reading_problems_name_their_element(old: str, new: str, element: str) -> None:
    (p,) = problems_of(GOOD.replace(old, new))
    assert p.element is not None and element in p.element


def test_conditions_on_flows_leaving_a_task() -> None:
    text = GOOD.replace("  - classify -> approve\n",
                        "  - {from: classify, to: approve, when: amount > 5}\n")
    p = only(problems_of(text), "has a condition but leaves a node that does not choose")
    assert (p.element, p.line) == ("classify->approve", line_of(text, "from: classify"))
    assert p.hint and "exclusive gateway" in p.hint
    text = GOOD.replace("  - review -> approve\n",
                        "  - review -> approve\n  - {from: approve, to: done, default: true}\n")
    assert any("does not choose" in p.message for p in problems_of(text))


def test_choices_need_a_condition_or_default_on_every_flow() -> None:
    text = GOOD.replace("  - {from: decide, to: rejected, default: true}\n",
                        "  - decide -> rejected\n")
    p = only(problems_of(text), "needs 'when' or 'default: true'")
    assert (p.element, p.line) == ("decide->rejected", line_of(text, "decide -> rejected"))
    two_defaults = GOOD.replace("when: approved and amount > 0", "default: true")
    assert any("more than one default" in p.message for p in problems_of(two_defaults))
    both = GOOD.replace("{from: decide, to: rejected, default: true}",
                        "{from: decide, to: rejected, default: true, when: approved}")
    assert any("takes no condition" in p.message for p in problems_of(both))


def test_task_kind_rules() -> None:
    text = GOOD.replace(
        "  review: {type: task, kind: human, role: clerk}\n",
        "  review: {type: task, kind: human, role: clerk, on_error: done, retry: {attempts: 2},"
        " set: {approved: 'True'}}\n"
        "  robot: {type: task, kind: bot, role: clerk, candidate: actor != ''}\n"
        "  calc: {type: task, kind: auto, writes: [approved], timeout: {after: P1M, to: calc}}\n"
        "  people: {type: task, kind: human}\n",
    ).replace("  - review -> approve\n",
              "  - review -> robot\n  - robot -> calc\n  - calc -> people\n"
              "  - people -> approve\n")
    problems = problems_of(text)
    by_element: dict[str, list[str]] = {}
    for p in problems:
        by_element.setdefault(str(p.element), []).append(p.message)
        assert p.file == FILE and p.line is not None
    assert len(by_element["review"]) == 3  # on_error, retry, set on a human task
    assert len(by_element["robot"]) == 2   # a role and a candidate on a bot
    assert len(by_element["calc"]) >= 3    # writes, timeout on auto, bad duration
    assert any("needs a role" in m for m in by_element["people"])


def test_data_declaration_rules() -> None:
    text = GOOD.replace(
        "  conf: {type: float, min: 0, max: 1}\n",
        "  conf: {type: float, min: 0, max: 1}\n  _secret: {type: int}\n  by_me: {type: str}\n"
        "  level: {type: enum}\n  n: {type: int, min: 5, max: 1}\n"
        "  d: {type: int, default: many}\n  flag: {type: bool, values: [a]}\n"
        "  half: {type: int, min: 1.5}\n")
    problems = problems_of(text)
    assert {p.element for p in problems} == {"_secret", "by_me", "level", "n", "d", "flag",
                                             "half"}
    assert any("an int field's min is a whole number, got 1.5" in p.message
               for p in problems)
    for p in problems:
        assert p.line == line_of(text, f"  {p.element}:")


def test_start_and_end_events_are_counted() -> None:
    text = GOOD.replace("  done: {type: end}\n", "  again: {type: start}\n").replace(
        "  rejected: {type: end}\n", "").replace("to: done", "to: decide").replace(
        "  - {from: decide, to: rejected, default: true}\n", "")
    messages = [p.message for p in problems_of(text)]
    assert any("exactly one start event, found 2" in m for m in messages)
    assert any("at least one end event" in m for m in messages)


def test_missing_threshold_for_a_handoff() -> None:
    text = GOOD.replace("agents: [{id: classifier, threshold: 0.8}]",
                        "agents: [{id: classifier}]")
    (p,) = problems_of(text)
    assert "no threshold" in p.message and p.element == "classify"
    assert p.line == line_of(text, "  classify:")


def test_at_most_one_compensating_end() -> None:
    text = GOOD.replace("  done: {type: end}\n", "  done: {type: end, compensate: true}\n") \
        .replace("  rejected: {type: end}\n", "  rejected: {type: end, compensate: true}\n")
    (p,) = problems_of(text)
    assert "at most one end event may compensate" in p.message and p.file == FILE


def test_policy_references_are_checked() -> None:
    text = GOOD + """policies:
  - {id: p1, type: precedence, task: aprove, after: review}
  - {id: p2, type: agent_scope, agent: clasifier, tasks: [classify]}
  - {id: p3, type: forbidden_state, condition: amount > "x"}
  - {id: p1, type: data_minimisation, agent: classifier, fields: [amont]}
"""
    problems = problems_of(text)
    assert only(problems, "unknown task 'aprove'").hint == "did you mean 'approve'?"
    assert only(problems, "unregistered agent 'clasifier'").hint == "did you mean 'classifier'?"
    assert only(problems, "orders numbers").element == "p3"
    assert only(problems, "unknown field 'amont'").hint == "did you mean 'amount'?"
    assert only(problems, "used twice").element == "p1"
    for p in problems:
        assert p.file == FILE and p.line is not None and p.element in ("p1", "p2", "p3")


def test_unknown_policy_type() -> None:
    (p,) = problems_of(GOOD + "policies:\n  - {id: p9, type: magic}\n")
    assert "unknown policy type 'magic'" in p.message
    assert (p.element, p.line) == ("p9", GOOD.count("\n") + 2)


INCLUSIVE = """process: inc
data:
  a: {type: bool, input: true}
  b: {type: bool, input: true}
nodes:
  s: {type: start}
  split: {type: inclusive}
  ta: {type: task, kind: bot}
  tb: {type: task, kind: bot}
  join: {type: inclusive, pairs: split}
  e: {type: end}
flows:
  - s -> split
  - {from: split, to: ta, when: a}
  - {from: split, to: tb, when: b}
  - ta -> join
  - tb -> join
  - join -> e
"""


@pytest.mark.parametrize(("old", "new", "needle", "element"), [
    ("join: {type: inclusive, pairs: split}", "join: {type: inclusive}", "must name the "
     "inclusive split it pairs with", "join"),
    ("pairs: split", "pairs: ta", "must name an inclusive gateway", "join"),
    ("  - tb -> join\n", "  - tb -> ta\n", "do not match the branches", "join"),
    ("  - ta -> join\n", "  - ta -> x\n  - {from: x, to: join, when: a}\n"
     "  - {from: x, to: tb, default: true}\n", "along 2 flows", "join"),
])
def test_inclusive_joins_must_match_their_split(old: str, new: str, needle: str,
                                                element: str) -> None:
    assert compile_loaded(load_text(INCLUSIVE, FILE))
    text = INCLUSIVE.replace(old, new)
    if "x" in new:
        text = text.replace("  e: {type: end}\n", "  e: {type: end}\n  x: {type: exclusive}\n")
    p = only(problems_of(text), needle)
    assert (p.file, p.element, p.line) == (FILE, element, line_of(text, "  join:"))


def test_at_most_eight_inclusive_branches() -> None:
    names = [f"x{i}" for i in range(9)]
    text = INCLUSIVE.replace("  ta: {type: task, kind: bot}\n", "".join(
        f"  {n}: {{type: task, kind: bot}}\n" for n in names) + "  ta: {type: task, kind: bot}\n"
    ).replace("  - ta -> join\n", "".join(
        f"  - {{from: split, to: {n}, when: a}}\n  - {n} -> join\n" for n in names)
        + "  - ta -> join\n")
    p = only(problems_of(text), "more than 8 conditional branches")
    assert (p.element, p.line) == ("split", line_of(text, "  split:"))


# -- every problem at once -------------------------------------------------------------------

MANY = GOOD.replace("role: manager,", "role: manger,").replace(
    "writes: [approved]", "writes: [aproved]").replace(
    "  - approve -> decide\n", "  - approve -> decide\n  - approve -> nowhere\n").replace(
    "when: approved and amount > 0", "when: amount > \"x\"").replace(
    "  rejected: {type: end}\n", "  rejected: {type: end}\n  lost: {type: task, kind: bot}\n")


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(MANY)
    assert len(problems) >= 6
    elements = {p.element for p in problems}
    assert {"approve", "approve->nowhere", "decide->done", "lost"} <= elements
    for p in problems:
        assert p.file == FILE
        assert p.line is not None and 1 <= p.line <= MANY.count("\n")
        assert p.element
    err = ModelError(problems)
    assert str(err).startswith(f"{len(problems)} problems:")


def test_every_schema_problem_is_reported_at_once() -> None:
    text = GOOD.replace("  review: {type: task, kind: human, role: clerk}\n",
                        "  review: {type: task, kind: human, role: clerk, colour: red}\n"
                        "  odd: {type: subprocess}\n"
                        "  late: {type: task, kind: timer}\n").replace(
        "amount: {type: int, input: true}", "amount: {type: integer, input: true}")
    problems = problems_of(text)
    assert {p.element for p in problems} >= {"review", "odd", "late", "amount"}
    for p in problems:
        assert p.file == FILE and p.line == line_of(text, f"  {p.element}:")


# -- hostile input ---------------------------------------------------------------------------

def test_malformed_yaml_is_located() -> None:
    (p,) = problems_of("process: p\nnodes:\n  s: {type: start\n  e: [\n")
    assert p.message.startswith("not valid YAML/JSON") and p.file == FILE and p.line


def test_tags_that_construct_objects_do_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    texts = [
        f'process: p\nnodes: !!python/object/apply:os.system ["touch {marker}"]\n',
        f'process: !!python/object/apply:subprocess.call [["touch", "{marker}"]]\nnodes: {{}}\n',
        "process: p\nnodes: !!python/name:os.system\n",
        "process: p\nnodes: !!python/object/new:pathlib.Path [/]\n",
        "process: p\nnodes: !custom {a: 1}\n",
        "process: !!binary aGVsbG8=\nnodes: {}\n",
    ]
    for text in texts:
        (p,) = problems_of(text)
        assert "YAML tag" in p.message and "not allowed" in p.message
        assert p.file == FILE and p.line == line_of(text, "!")
        assert p.hint and "plain data" in p.hint
    assert not marker.exists()


def test_tags_through_the_cli_give_exit_2_and_do_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.yaml"
    evil.write_text(f'process: p\nnodes: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert run(["compile", str(evil)]) == 2
    err = capsys.readouterr().err
    assert "not allowed" in err and "line 2" in err and "Traceback" not in err
    assert not marker.exists()


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    text = "\n".join(lines) + "\nprocess: p\nnodes: {s: {type: start}}\n"
    began = time.perf_counter()
    (p,) = problems_of(text)
    assert time.perf_counter() - began < 2
    assert "anchors and aliases" in p.message and p.line in (1, 2) and p.file == FILE


def test_merge_keys_and_complex_keys_are_refused() -> None:
    (p,) = problems_of("base: &b {type: start}\nprocess: p\nnodes:\n  s:\n    <<: *b\n")
    assert p.file == FILE and p.line == 5
    (p,) = problems_of("process: p\nnodes:\n  ? [a, b]\n  : {type: start}\n")
    assert "keys must be plain text" in p.message and p.line == 3


@pytest.mark.parametrize("depth", [60, 2_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    text = "process: p\nnodes: " + "[" * depth + "]" * depth + "\n"
    (p,) = problems_of(text)
    assert "nested" in p.message and p.file == FILE
    if depth < 1000:
        assert p.line == 2


def test_nesting_within_the_limit_is_only_a_schema_problem() -> None:
    text = "process: p\nnodes: {s: {type: start, name: " + "[" * 30 + "]" * 30 + "}}\n"
    problems = problems_of(text)
    assert not any("nested" in p.message for p in problems)


def test_huge_files_are_refused(tmp_path: Path) -> None:
    filler = "# " + "x" * 98 + "\n"
    text = "process: p\nnodes: {}\n" + filler * (MAX_BYTES // len(filler) + 10)
    assert len(text.encode()) > MAX_BYTES
    (p,) = problems_of(text)
    assert "larger than 5 MiB" in p.message and p.file == FILE
    big = tmp_path / "big.yaml"
    big.write_text(text)
    with pytest.raises(ModelError, match="larger than 5 MiB") as err:
        load_process(big)
    assert err.value.problems[0].file == str(big)


def test_multibyte_text_over_the_byte_limit_is_refused(tmp_path: Path) -> None:
    text = "process: p\ndescription: " + "é" * (MAX_BYTES // 2 + 10) + "\nnodes: {}\n"
    assert len(text.encode()) > MAX_BYTES
    path = tmp_path / "wide.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match="larger than"):
        load_process(path)


def test_undecodable_bytes_and_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"process: p\xff\xfe\nnodes: {}\n")
    with pytest.raises(ModelError, match="not valid YAML/JSON") as err:
        load_process(path)
    assert err.value.problems[0].file == str(path)
    (p,) = problems_of("process: p\nnodes: {}\n\x00")
    assert "not valid YAML/JSON" in p.message


@pytest.mark.parametrize(("text", "needle"), [
    ("", "empty"), ("# nothing\n", "empty"), ("- a\n- b\n", "must be a mapping"),
    ("just text\n", "must be a mapping"), ("process: p\n", "'nodes' is required"),
])
def test_documents_that_are_not_processes(text: str, needle: str) -> None:
    (p,) = problems_of(text)
    assert needle in p.message and p.file == FILE


def test_json_input() -> None:
    good = {"process": "j", "data": {"x": {"type": "int", "input": True}},
            "nodes": {"s": {"type": "start"}, "g": {"type": "exclusive"},
                      "a": {"type": "task", "kind": "bot"}, "e": {"type": "end"}},
            "flows": ["s -> g", {"from": "g", "to": "a", "when": "x > 1"},
                      {"from": "g", "to": "e", "default": True}, ["a", "e"]]}
    compiled = compile_loaded(load_text(json.dumps(good), "p.json"))
    assert "g@a" in compiled.net.transition_map
    bad = json.dumps(good, indent=2).replace('"x > 1"', '"x > \\"1\\""').replace(
        '"kind": "bot"', '"kind": "bot", "role": "nobody"')
    problems = problems_of(bad, "p.json")
    assert len(problems) == 2
    for p in problems:
        assert p.file == "p.json" and p.line and p.element in ("g->a", "a")
    (p,) = problems_of('{"process": "p", "nodes": {} "flows": []}', "p.json")
    assert p.message.startswith("not valid YAML/JSON") and p.line == 1


# -- cyclic call activities ------------------------------------------------------------------

CALLER = """process: NAME
nodes:
  s: {type: start}
  sub: {type: call, process: CALLED}
  e: {type: end}
flows: [s -> sub, sub -> e]
"""


def test_cyclic_call_activities(tmp_path: Path) -> None:
    for name, called in (("a", "b.yaml"), ("b", "c.yaml"), ("c", "a.yaml")):
        (tmp_path / f"{name}.yaml").write_text(
            CALLER.replace("NAME", name).replace("CALLED", called))
    with pytest.raises(ModelError) as err:
        compile_file(tmp_path / "a.yaml")
    (p,) = err.value.problems
    assert "calls back" in p.message and "a.yaml -> b.yaml -> c.yaml -> a.yaml" in p.message
    assert p.element == "sub" and p.line == 4 and p.file and p.file.endswith("c.yaml")


def test_a_missing_called_process(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CALLER.replace("NAME", "a").replace("CALLED", "nope.yaml"))
    with pytest.raises(ModelError) as err:
        compile_file(tmp_path / "a.yaml")
    assert any("no such file" in p.message for p in err.value.problems)


# -- the command line ------------------------------------------------------------------------

def test_cli_compile_reports_every_problem_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(MANY)
    problems = problems_of(MANY, str(path))
    assert run(["compile", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    for p in problems:
        assert p.message in captured.err
        assert f"line {p.line}" in captured.err
    assert f"{len(problems)} problems" in captured.err


@pytest.mark.parametrize("name", ["missing.yaml", "model.txt"])
def test_cli_compile_bad_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               name: str) -> None:
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text(GOOD)
    assert run(["compile", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("petriflow: error:") and "Traceback" not in err


def test_cli_compile_to_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["compile", str(INVOICE), "--to", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    compiled = compile_file(INVOICE)
    assert out["fingerprint"] == compiled.fingerprint
    assert isinstance(out["places"], list) and isinstance(out["transitions"], list)
    for item in out["places"] + out["transitions"]:
        assert isinstance(item, dict) and item["id"] and item["element"]
    assert {p["id"] for p in out["places"]} == {p.id for p in compiled.net.places}
    assert {t["id"] for t in out["transitions"]} == {t.id for t in compiled.net.transitions}
    assert {p["id"] for p in out["policies"]} >= {"four_eyes_approval", "extractor_scope"}


def test_cli_compile_to_pnml_reads_back_to_the_same_net(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["compile", str(INVOICE), "--to", "pnml"]) == 0
    text = capsys.readouterr().out
    net = read_pnml(text.encode())
    assert net.fingerprint == compile_file(INVOICE).net.fingerprint
    out = tmp_path / "net.pnml"
    assert run(["compile", str(INVOICE), "--to", "pnml", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    assert read_pnml(out.read_bytes()).fingerprint == net.fingerprint


def test_cli_compile_to_dot(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["compile", str(INVOICE), "--to", "dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph")
    assert out.rstrip().endswith("}")
    assert '"pay:complete"' in out
