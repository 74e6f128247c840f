"""Pictures: the process diagram and the compiled net as SVG, and counterexamples on them.

Every picture must be well-formed XML (parsed with defusedxml), must escape whatever the
model says, must number a counterexample's steps on the right elements, and must refuse
a drawing too large to read with one clear message (exit 2 from the command line).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from defusedxml import ElementTree

from petriflow.cli import run
from petriflow.model.compile import compile_loaded
from petriflow.model.loader import load_text
from petriflow.net.pnml import read_pnml
from petriflow.verify.picture import (
    PictureTooLarge,
    TraceError,
    compiled_net_svg,
    net_svg,
    process_svg,
    read_trace,
    shown_steps,
)
from petriflow.verify.portfolio import check
from petriflow.verify.render import to_json
from tests.corpus import REPO

SVG = "{http://www.w3.org/2000/svg}"
REFERENCES = ["customer_service", "fraud_review", "hr_hiring", "invoice_to_payment"]
VIOLATED = "verification/corpus/processes/invoice_to_payment__cfo_limit_typo.yaml"
VIOLATED_PROPERTY = "cfo_above_limit"
HOSTILE = """
process: hostile
description: "<script>alert('description')</script>"
roles: [clerk]
data:
  amount: {type: int, input: true}
nodes:
  s: {type: start, name: "<script>alert('start')</script>"}
  t:
    type: task
    kind: human
    role: clerk
    name: "<script>alert(1)</script> & </svg>"
    description: "</title><script>x</script>"
  g: {type: exclusive, name: "\\"quoted\\" <b>gate</b>"}
  e: {type: end, name: "<img src=x onerror=alert(1)>"}
  f: {type: end, name: "other"}
flows:
  - s -> t
  - t -> g
  - {from: g, to: e, when: "amount < 10 and amount > 2"}
  - {from: g, to: f, default: true}
"""


def compile_file(path: str):
    from petriflow.cli import _load_model

    return _load_model(str(REPO / path))


def parse(svg: str):
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def groups(root, cls: str):
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


@pytest.fixture(scope="module")
def violated():
    compiled = compile_file(VIOLATED)
    results = check(compiled, [VIOLATED_PROPERTY], timeout=60)
    assert results[0].verdict.value == "violated"
    return compiled, results


@pytest.mark.parametrize("name", REFERENCES)
def test_reference_process_and_net_are_well_formed_svg(name):
    compiled = compile_file(f"models/{name}.yaml")
    root = parse(process_svg(compiled))
    drawn = {g.get("data-element") for g in groups(root, "node")}
    assert drawn == set(compiled.spec.nodes)
    gateways = [g for g in groups(root, "node") if g.get("data-type") in ("exclusive",
                                                                         "parallel")]
    assert all(g.find(f"{SVG}path") is not None for g in gateways)  # diamonds
    net = parse(compiled_net_svg(compiled))
    assert len(groups(net, "place")) == len(compiled.net.places)
    assert len(groups(net, "transition")) == len(compiled.net.transitions)
    grouped = {g.get("data-element") for g in groups(net, "group")}
    tasks = {n for n, spec in compiled.spec.nodes.items() if spec.type == "task"}
    assert tasks <= grouped  # one background box per task around its offer/work/complete


@pytest.mark.parametrize("pnml", sorted((REPO / "models" / "nets").glob("*.pnml")),
                         ids=lambda p: p.name)
def test_plain_nets_are_well_formed_svg(pnml: Path):
    net = read_pnml(pnml.read_bytes(), file=str(pnml))
    root = parse(net_svg(net))
    assert len(groups(root, "place")) == len(net.places)


def test_trace_numbers_the_steps_on_the_right_elements(violated):
    compiled, results = violated
    trace = results[0].trace
    steps = shown_steps(trace)
    root = parse(process_svg(compiled, trace, title=VIOLATED_PROPERTY))
    where: dict[int, str] = {}
    for node in groups(root, "node"):
        for marker in groups(node, "step-marker"):
            where[int(marker.get("data-step"))] = node.get("data-element")
    assert where == {i: s.element for i, s in enumerate(steps, start=1)}
    breaking = [m for m in groups(root, "step-marker") if "breaking" in m.get("class")]
    assert [int(m.get("data-step")) for m in breaking] == [len(steps)]
    assert where[len(steps)] == "pay"  # paid above the limit without the CFO
    flows = {(g.get("data-from"), g.get("data-to")): g.get("class")
             for g in groups(root, "flow")}
    assert "on-path" in flows[("decide", "pay")]
    assert "on-path" not in flows[("decide", "approve_cfo")]
    legend = "".join(groups(root, "trace-legend")[0].itertext())
    assert "amount = " in legend  # the data that makes the path possible
    assert float(trace[-1].data["amount"]) > 10000
    # on the net, every firing is numbered on its transition
    net = parse(compiled_net_svg(compiled, trace))
    numbered: dict[int, str] = {}
    for t in groups(net, "transition"):
        for marker in groups(t, "step-marker"):
            numbered[int(marker.get("data-step"))] = t.get("data-id")
    assert numbered == {i: s.transition for i, s in enumerate(trace, start=1)}


def test_trace_from_check_json_and_the_command_line(violated, tmp_path, capsys):
    _, results = violated
    result_file = tmp_path / "result.json"
    result_file.write_text(to_json(results))
    ce = read_trace(result_file.read_text())
    assert ce.property == VIOLATED_PROPERTY
    assert [s.transition for s in ce.steps] == [s.transition for s in results[0].trace]
    out = tmp_path / "picture.svg"
    assert run(["render", str(REPO / VIOLATED), "--trace", str(result_file),
                "-o", str(out)]) == 0
    assert len(groups(parse(out.read_text()), "step-marker")) >= 5
    out_net = tmp_path / "net.svg"
    assert run(["render", str(REPO / VIOLATED), "--net", "--trace", str(result_file),
                "-o", str(out_net)]) == 0
    parse(out_net.read_text())
    capsys.readouterr()
    assert run(["render", str(REPO / VIOLATED), "--trace", str(result_file),
                "--property", "no_such_policy"]) == 2
    assert "no counterexample for 'no_such_policy'" in capsys.readouterr().err


def test_a_trace_of_another_model_is_refused(violated, tmp_path, capsys):
    _, results = violated
    other = compile_file("models/customer_service.yaml")
    with pytest.raises(TraceError, match="another model"):
        process_svg(other, results[0].trace)
    result_file = tmp_path / "result.json"
    result_file.write_text(to_json(results))
    capsys.readouterr()
    code = run(["render", str(REPO / "models/customer_service.yaml"), "--trace",
                str(result_file)])
    err = capsys.readouterr().err
    assert code == 2 and "another model" in err and "Traceback" not in err


@pytest.mark.parametrize("text, message", [
    ("not json", "not JSON"),
    ('{"x": 1}', "no 'results' list"),
    ('{"results": [{"property": "deadlock", "trace": null}]}', "no result has a counterexample"),
    ('{"results": [{"property": "p", "trace": [{"nope": 1}]}]}', "not an object with"),
])
def test_bad_trace_files(text, message):
    with pytest.raises(TraceError, match=message):
        read_trace(text)


def test_hostile_labels_are_escaped():
    compiled = compile_loaded(load_text(HOSTILE, "hostile.yaml"))
    start = compiled.start_transition()
    from petriflow.verify.result import TraceStep

    trace = (TraceStep(start, binding={"_o_amount": "<script>bad()</script>"},
                       element="s", action="start", label="<script>label</script>",
                       data={"amount": "</text><script>x</script>"}),)
    for svg in (process_svg(compiled, trace), compiled_net_svg(compiled, trace),
                process_svg(compiled)):
        assert "<script" not in svg.lower()
        assert "<img" not in svg.lower() and "<b>" not in svg
        root = parse(svg)
        assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))
        assert "&lt;script&gt;" in svg
    assert "amount &lt; 10" in process_svg(compiled)


def test_size_limit_is_a_clear_message(capsys):
    compiled = compile_file("models/invoice_to_payment.yaml")
    with pytest.raises(PictureTooLarge, match="at most 10"):
        process_svg(compiled, max_nodes=10)
    with pytest.raises(PictureTooLarge, match="93 nodes"):
        compiled_net_svg(compiled, max_nodes=50)
    capsys.readouterr()
    code = run(["render", str(REPO / "models/invoice_to_payment.yaml"), "--net",
                "--max-nodes", "50"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("petriflow: error: the net 'invoice_to_payment' has 93 nodes")
    assert "Traceback" not in err and err.count("\n") == 1


def test_command_line_limits_match_the_library():
    from petriflow.cli import report as cli_report
    from petriflow.model import layout
    from petriflow.verify import picture

    assert cli_report.MAX_PICTURE_NODES == picture.MAX_PICTURE_NODES
    assert cli_report.MAX_NODES == layout.MAX_NODES


def test_a_large_generated_net_is_refused_by_default(capsys, tmp_path):
    n = 400  # 800 nodes: more than a readable picture holds
    places = "".join(f'<place id="p{i}"/>' for i in range(n + 1))
    transitions = "".join(f'<transition id="t{i}"/>' for i in range(n))
    arcs = "".join(f'<arc id="a{i}" source="p{i}" target="t{i}"/>'
                   f'<arc id="b{i}" source="t{i}" target="p{i + 1}"/>' for i in range(n))
    pnml = tmp_path / "big.pnml"
    pnml.write_text('<?xml version="1.0"?><pnml><net id="big" type="http://www.pnml.org/'
                    'version-2009/grammar/ptnet"><page id="pg">'
                    f"{places}{transitions}{arcs}</page></net></pnml>")
    capsys.readouterr()
    assert run(["render", str(pnml)]) == 2
    assert "801 nodes" in capsys.readouterr().err


def test_output_formats(tmp_path, capsys, monkeypatch):
    model = str(REPO / "models/fraud_review.yaml")
    capsys.readouterr()
    assert run(["render", model]) == 0
    parse(capsys.readouterr().out)
    assert run(["render", model, "-o", str(tmp_path / "x.pdf")]) == 2
    assert "write .svg or .png" in capsys.readouterr().err
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        png = tmp_path / "x.png"
        assert run(["render", model, "-o", str(png)]) == 0
        assert png.read_bytes().startswith(b"\x89PNG")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    capsys.readouterr()
    assert run(["render", model, "-o", str(tmp_path / "y.png")]) == 2
    assert "PNG output needs Chromium" in capsys.readouterr().err
    assert not (tmp_path / "y.png").exists()


def test_result_json_round_trip_keeps_data(violated):
    _, results = violated
    doc = json.loads(to_json(results))
    ce = read_trace(json.dumps(doc), VIOLATED_PROPERTY)
    assert ce.steps[-1].data and ce.steps[-1].element == "pay"
