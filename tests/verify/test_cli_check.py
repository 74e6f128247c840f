"""``petriflow check``: exit codes, and the text, JSON and SARIF reports.

Exit status: 0 all proved, 1 some violated, 3 none violated but some unknown, 2 bad
input (one clear line on stderr, never a traceback).
"""

from __future__ import annotations

import json

import pytest
import yaml

from petriflow.cli import run
from tests.corpus import REPO, require_corpus

REFERENCE = "models/customer_service.yaml"
POLICIES = "verification/policies/customer_service.yaml"
BROKEN = "verification/corpus/processes/customer_service__sla_bypass.yaml"
BROKEN_VIOLATED = "high_risk_human_handoff"
NETS = "verification/corpus/nets"
RESULT_KEYS = {"property", "verdict", "method", "seconds", "trace", "certificate", "reason"}


def petriflow(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


# -- processes ---------------------------------------------------------------------------------


def test_reference_model_is_all_proved_and_lists_every_policy(capsys):
    code, out, err = petriflow(capsys, REFERENCE, "--timeout", "30")
    assert code == 0, out + err
    statements = [p["statement"] for p in yaml.safe_load((REPO / POLICIES).read_text())[
        "policies"]]
    assert statements
    for statement in statements:
        assert statement in out, f"the report does not list: {statement}"
    for prop in ("deadlock", "soundness", "bounded"):
        assert f"PROVED   {prop}" in out
    assert "0 violated, 0 unknown" in out
    assert "Traceback" not in out + err


def test_broken_variant_fails_with_a_json_report(capsys):
    code, out, _ = petriflow(capsys, BROKEN, "--format", "json", "--timeout", "30")
    assert code == 1
    doc = json.loads(out)
    assert doc["results"]
    for r in doc["results"]:
        assert set(r) >= RESULT_KEYS, r.keys()
        assert r["verdict"] in ("proved", "violated", "unknown")
        assert isinstance(r["seconds"], int | float) and r["method"]
    violated = {r["property"]: r for r in doc["results"] if r["verdict"] == "violated"}
    assert BROKEN_VIOLATED in violated
    for bad in violated.values():
        assert bad["trace"], "a violation without a trace"
        for step in bad["trace"]:
            assert step["transition"] and step["element"] and step["line"] >= 1


def test_broken_variant_sarif(capsys):
    code, out, _ = petriflow(capsys, BROKEN, "--format", "sarif", "--timeout", "30")
    assert code == 1
    doc = json.loads(out)
    assert doc["version"] == "2.1.0"
    assert "sarif" in doc["$schema"]
    run_ = doc["runs"][0]
    assert run_["tool"]["driver"]["name"] == "petriflow"
    rule_ids = {rule["id"] for rule in run_["tool"]["driver"]["rules"]}
    results = run_["results"]
    assert BROKEN_VIOLATED in [r["ruleId"] for r in results]
    for r in results:  # one per property not proved
        assert r["ruleId"] in rule_ids
        assert r["level"] in ("error", "warning")
        assert r["message"]["text"].startswith("Violated" if r["level"] == "error" else "Unknown")
        location = r["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith(".yaml")
        assert location["region"]["startLine"] >= 1


def test_text_report_of_a_violation_tells_how_it_happens(capsys):
    code, out, _ = petriflow(capsys, BROKEN, "--property", BROKEN_VIOLATED, "--timeout", "30")
    assert code == 1
    assert f"VIOLATED {BROKEN_VIOLATED}" in out
    assert "how it happens" in out
    assert "1 violated" in out


# -- nets ------------------------------------------------------------------------------------


def test_pnml_deadlock(capsys):
    code, out, _ = petriflow(capsys, f"{NETS}/philosophers_3.pnml", "--property", "deadlock",
                             "--format", "json")
    assert code == 1
    (r,) = json.loads(out)["results"]
    assert r["property"] == "deadlock" and r["verdict"] == "violated"
    assert sorted(s["transition"] for s in r["trace"]) == [f"take_left_{i}" for i in range(3)]
    assert r["mcc_answer"] == "TRUE"
    code, out, _ = petriflow(capsys, f"{NETS}/mutex_semaphore_2.pnml", "--property", "deadlock")
    assert code == 0
    assert "PROVED   deadlock" in out


def _mcc_xml(formulas: list[tuple[str, str]]) -> str:
    props = "".join(f"<property><id>{pid}</id><description>test</description><formula>"
                    f"{body}</formula></property>" for pid, body in formulas)
    return f'<?xml version="1.0"?><property-set xmlns="http://mcc.lip6.fr/">{props}</property-set>'


def test_pnml_with_an_mcc_property_file(capsys, tmp_path):
    xml = tmp_path / "props.xml"
    two_critical = ("<integer-ge><tokens-count><place>crit_0</place><place>crit_1</place>"
                    "</tokens-count><integer-constant>2</integer-constant></integer-ge>")
    one_critical = ("<integer-ge><tokens-count><place>crit_0</place></tokens-count>"
                    "<integer-constant>1</integer-constant></integer-ge>")
    xml.write_text(_mcc_xml([
        ("mutual-exclusion", f"<all-paths><globally><negation>{two_critical}</negation>"
                             "</globally></all-paths>"),
        ("can-enter", f"<exists-path><finally>{one_critical}</finally></exists-path>"),
        ("never-enters", f"<all-paths><globally><negation>{one_critical}</negation>"
                         "</globally></all-paths>"),
        ("ltl", "<globally><finally><true/></finally></globally>"),
    ]))
    code, out, _ = petriflow(capsys, f"{NETS}/mutex_semaphore_2.pnml", "--properties", str(xml),
                             "--format", "json")
    results = {r["property"]: r for r in json.loads(out)["results"]}
    assert set(results) == {"mutual-exclusion", "can-enter", "never-enters", "ltl"}
    for r in results.values():
        assert "mcc_answer" in r
    assert results["mutual-exclusion"]["mcc_answer"] == "TRUE"
    assert results["can-enter"]["mcc_answer"] == "TRUE"
    assert results["can-enter"]["trace"]
    assert results["never-enters"]["mcc_answer"] == "FALSE"
    assert results["never-enters"]["verdict"] == "violated"
    assert results["ltl"]["verdict"] == "unknown" and results["ltl"]["mcc_answer"] is None
    assert "unsupported" in results["ltl"]["reason"]
    assert code == 1


def test_pnml_with_a_corpus_property_file(capsys):
    folder = require_corpus("mcc", "Sudoku-PT-BN01")
    code, out, _ = petriflow(capsys, str(folder / "model.pnml"), "--properties",
                             str(folder / "ReachabilityCardinality.xml"), "--format", "json",
                             "--timeout", "5")
    results = json.loads(out)["results"]
    assert len(results) == 16
    expected = dict(line.split() for line in (folder / "expected.txt").read_text().splitlines()
                    if line.strip())
    for r in results:
        assert "mcc_answer" in r
        if r["mcc_answer"] is not None and r["property"] in expected:
            assert r["mcc_answer"] == expected[r["property"]], r
    assert code in (0, 1, 3)


def test_unknown_exits_3(capsys):
    # 605 transitions, no deadlock and one-safe (the contest's answers): within 0.1 s the
    # properties can only be proved or left unknown, and the deadlock is left unknown.
    folder = require_corpus("mcc", "SimpleLoadBal-PT-10")
    code, out, _ = petriflow(capsys, str(folder / "model.pnml"), "--property", "deadlock",
                             "--property", "one-safe", "--timeout", "0.1", "--format", "json")
    results = json.loads(out)["results"]
    assert "violated" not in {r["verdict"] for r in results}
    unknown = [r for r in results if r["verdict"] == "unknown"]
    assert unknown and all(r["reason"] for r in unknown)
    assert code == 3


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"{NETS}/ring_5.pnml", REFERENCE])
def test_unknown_property_is_one_clear_line(capsys, path):
    code, out, err = petriflow(capsys, path, "--property", "nonsense")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("petriflow: error:") and "nonsense" in lines[0]
    assert "Traceback" not in out + err


@pytest.mark.parametrize("args", [
    ["does-not-exist.pnml"],
    ["does-not-exist.yaml"],
    [f"{NETS}/ring_5.pnml", "--properties", "does-not-exist.xml"],
    [REFERENCE, "--properties", f"{NETS}/ring_5.pnml"],
    [f"{NETS}/ring_5.pnml", "--timeout", "0"],
    [f"{NETS}/ring_5.pnml", "--format", "xml"],
])
def test_bad_input_exits_2_without_a_traceback(capsys, args):
    code, out, err = petriflow(capsys, *args)
    assert code == 2
    assert "Traceback" not in out + err
    assert err.strip()


def test_a_malformed_property_file_exits_2(capsys, tmp_path):
    xml = tmp_path / "bad.xml"
    xml.write_text("<property-set><property>")
    code, out, err = petriflow(capsys, f"{NETS}/ring_5.pnml", "--properties", str(xml))
    assert code == 2
    assert "Traceback" not in out + err and "XML" in err


def test_a_guard_comparing_booleans_is_checked(capsys, tmp_path):
    text = (REPO / "models/hr_hiring.yaml").read_text()
    assert "when: shortlist_approved}" in text
    text = text.replace("when: shortlist_approved}", "when: shortlist_approved == True}")
    text = text.replace("policy_files: [../verification/policies/hr_hiring.yaml]",
                        "policy_files: []")
    model = tmp_path / "hr_bool_guard.yaml"
    model.write_text(text)
    code, out, err = petriflow(capsys, str(model), "--property", "deadlock", "--timeout", "20")
    assert code in (0, 1, 3)
    assert "Traceback" not in out + err


AND_INTO_XOR = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
             targetNamespace="http://example.com">
  <process id="P" isExecutable="true">
    <startEvent id="s"/>
    <parallelGateway id="fork"/>
    <task id="t1"/>
    <task id="t2"/>
    <exclusiveGateway id="merge"/>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="fork"/>
    <sequenceFlow id="f2" sourceRef="fork" targetRef="t1"/>
    <sequenceFlow id="f3" sourceRef="fork" targetRef="t2"/>
    <sequenceFlow id="f4" sourceRef="t1" targetRef="merge"/>
    <sequenceFlow id="f5" sourceRef="t2" targetRef="merge"/>
    <sequenceFlow id="f6" sourceRef="merge" targetRef="e"/>
  </process>
</definitions>
"""


def test_an_implicit_termination_read_from_bpmn_is_said(capsys, tmp_path):
    """A parallel split merged by an exclusive gateway reaches its end twice: the import
    ends the case under implicit termination, and the user must be told, since a
    classical soundness check would call the diagram unsound."""
    path = tmp_path / "and_xor.bpmn"
    path.write_text(AND_INTO_XOR)
    code, _, err = petriflow(capsys, str(path), "--property", "soundness")
    assert code == 0
    assert "warning" in err and "termination: implicit" in err


def test_xml_files_are_read_by_their_root_element(capsys, tmp_path):
    """Activiti and Flowable name BPMN files .bpmn20.xml; nets come as .xml too."""
    bpmn = tmp_path / "order.bpmn20.xml"
    decl = '<?xml version="1.0" encoding="UTF-8"?>'
    bpmn.write_text(AND_INTO_XOR.replace(decl, decl + "\n<!-- written by a tool -->"))
    code, out, _ = petriflow(capsys, str(bpmn), "--property", "deadlock")
    assert code == 0 and "process P" in out
    code, out, _ = petriflow(capsys, f"{bpmn}#P", "--property", "deadlock")  # one process
    assert code == 0 and "process P" in out
    net = tmp_path / "net.xml"
    net.write_text('<?xml version="1.0"?><pnml xmlns="http://www.pnml.org/version-2009/grammar/'
                   'pnml"><net id="n" type="http://www.pnml.org/version-2009/grammar/ptnet">'
                   '<page id="g"><place id="p"><initialMarking><text>1</text></initialMarking>'
                   '</place><transition id="t"/><arc id="a" source="p" target="t"/></page>'
                   '</net></pnml>')
    code, out, _ = petriflow(capsys, str(net), "--property", "deadlock")
    assert code == 1 and "net n" in out   # (t consumes the only token: a deadlock)
    other = tmp_path / "other.xml"
    other.write_text("<html/>")
    code, _, err = petriflow(capsys, str(other))
    assert code == 2 and "BPMN 2.0 XML" in err
