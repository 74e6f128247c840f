"""PNML (ISO/IEC 15909-2) for P/T nets, with a documented extension for colored nets.

Reading accepts what real tools write: the 2009 grammar namespace or none, nets
nested in ``<module>`` (the IBM/PNAPI exports), any depth of ``<page>``, reference
places and transitions, names apart from ids, ``toolspecific`` sections of other
tools (NUPN and the like: skipped, never interpreted), and arc types
``<type value="inhibitor|read|test"/>``. XML is parsed with :mod:`defusedxml`, so
entity expansion, external entities and DTD tricks are refused.

**petriflow extension** (``<toolspecific tool="petriflow" version="1">``), written so
that any P/T tool still reads the skeleton of a colored net:

* in a ``<place>``: ``<color>`` holds the color set as JSON (see
  :mod:`petriflow.net.colorjson`) and ``<tokens>`` a JSON list of ``[token, count]``
  pairs; the standard ``<initialMarking>`` then holds the number of tokens;
* in a ``<transition>``: ``<guard>`` holds an expression, ``<variable name="x">`` the
  JSON color set of a free variable, ``<meta key="k">`` a text fact for higher layers;
* in an ``<arc>``: ``<expression>`` holds the arc inscription; the standard
  ``<inscription>`` keeps the weight.

Functions here work on text and return values; reading files is the caller's job.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, register_namespace, tostring

import defusedxml
import defusedxml.ElementTree as SafeET

from petriflow.errors import ColorError, ModelError, PnmlError, Problem
from petriflow.net.builder import NetBuilder
from petriflow.net.colorjson import color_from_json, color_to_json, token_from_json, token_to_json
from petriflow.net.colors import BLACK, BlackColor, ColorSet
from petriflow.net.expr import unparse
from petriflow.net.structure import ArcKind, Net
from petriflow.net.xmldecl import canonical_encoding

PNML_NS = "http://www.pnml.org/version-2009/grammar/pnml"
PTNET_TYPE = "http://www.pnml.org/version-2009/grammar/ptnet"
TOOL = "petriflow"
TOOL_VERSION = "1"
_ARC_TYPES = {"normal": ArcKind.NORMAL, "inhibitor": ArcKind.INHIBITOR, "read": ArcKind.READ,
              "test": ArcKind.READ}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag[:1] == "{" else tag


def _child(e: Element, name: str) -> Element | None:
    for c in e:
        if _local(c.tag) == name:
            return c
    return None


_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_DIGITS = re.compile(r"[0-9]+")   # (int() would take '١٢', '1_0' and '-3' as well)


def _short(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")
# Characters XML 1.0 cannot carry at all, not even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _text(e: Element | None) -> str | None:
    """The ``<text>`` of a PNML label element: trimmed (tools pretty-print labels),
    unless it says ``xml:space="preserve"``, as our writer does for significant blanks."""
    if e is None:
        return None
    t = _child(e, "text")
    if t is None:
        return None
    if t.get(_XML_SPACE) == "preserve":
        return t.text or ""
    return (t.text or "").strip() or None


def _nets(root: Element) -> list[Element]:
    """The ``<net>`` elements of a document, outside other tools' ``toolspecific``
    sections (which may hold anything, nets included)."""
    found, stack = [], [root]
    while stack:
        for c in stack.pop():
            tag = _local(c.tag)
            if tag == "net":
                found.append(c)
            elif tag != "toolspecific":
                stack.append(c)
    return found


def _ours(e: Element) -> Element | None:
    for c in e:
        if _local(c.tag) == "toolspecific" and c.get("tool") == TOOL:
            return c
    return None


class _Reader:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, message: str, element: str | None, hint: str | None = None) -> None:
        self.problems.append(Problem(message, file=self.file, element=element, hint=hint))

    def read(self, data: bytes | str) -> Net:
        try:
            root = SafeET.fromstring(canonical_encoding(data))
        except defusedxml.DefusedXmlException as exc:
            raise PnmlError(Problem(f"refused unsafe XML ({type(exc).__name__}: {exc})",
                                    file=self.file,
                                    hint="PNML files need no DTD or entity declarations")) from None
        except SafeET.ParseError as exc:
            line, column = getattr(exc, "position", (None, None))
            raise PnmlError(Problem(f"not well-formed XML: {exc}", file=self.file, line=line,
                                    column=column)) from None
        except (LookupError, UnicodeError) as exc:  # an encoding Python does not know
            raise PnmlError(Problem(f"cannot decode the file: {exc}", file=self.file,
                                    hint="save it as UTF-8")) from None
        if _local(root.tag) != "pnml":
            raise PnmlError(Problem(f"the root element is <{_local(root.tag)}>, not <pnml>",
                                    file=self.file, hint="is this a PNML file?"))
        nets = _nets(root)
        if not nets:
            raise PnmlError(Problem("the document holds no <net>", file=self.file))
        if len(nets) > 1:
            ids = ", ".join(str(n.get("id")) for n in nets)
            raise PnmlError(Problem(f"the document holds {len(nets)} nets ({ids}); petriflow "
                                    "reads one net per file", file=self.file))
        net_el = nets[0]
        kind = (net_el.get("type") or "").strip().lower()
        plain = kind.replace("/", "").replace("-", "").replace(" ", "")
        # (the core model, which PM4Py and ProM write, is the untyped base of P/T nets)
        if kind and "ptnet" not in plain and "pnmlcoremodel" not in plain:
            raise PnmlError(Problem(f"high-level PNML (net type {net_el.get('type')!r}) is not "
                                    "supported; petriflow reads P/T nets",
                                    file=self.file, element=net_el.get("id"),
                                    hint="use the P/T version of the net, or petriflow's "
                                    "colored extension"))
        name = _text(_child(net_el, "name"))
        if name is None:
            name = net_el.get("id") or "net"
        builder = NetBuilder(name, file=self.file)
        refs: dict[str, str] = {}
        nodes: set[str] = set()     # ids of places and transitions (the builder checks those)
        kinds: dict[str, str] = {}      # their kinds: place or transition
        ref_kinds: dict[str, str] = {}  # what each reference node stands for
        arcs: list[Element] = []
        stack = [net_el]
        counter = {"place": 0, "transition": 0}
        while stack:
            container = stack.pop()
            for e in container:
                tag = _local(e.tag)
                if tag == "page":
                    stack.append(e)
                elif tag == "place":
                    counter["place"] += 1
                    self.place(builder, e, counter["place"])
                    nodes.add(e.get("id") or "")
                    kinds[e.get("id") or ""] = "place"
                elif tag == "transition":
                    counter["transition"] += 1
                    self.transition(builder, e, counter["transition"])
                    nodes.add(e.get("id") or "")
                    kinds[e.get("id") or ""] = "transition"
                elif tag == "arc":
                    arcs.append(e)
                elif tag in ("referencePlace", "referenceTransition"):
                    rid, ref = e.get("id"), e.get("ref")
                    if not rid or not ref:
                        self.problem(f"<{tag}> needs both 'id' and 'ref'", rid)
                    elif rid in refs:
                        self.problem(f"the id '{rid}' is used twice", rid)
                    else:
                        refs[rid] = ref
                        ref_kinds[rid] = "place" if tag == "referencePlace" else "transition"
        for rid in sorted(nodes.intersection(refs)):  # an arc to it would be redirected
            self.problem(f"the id '{rid}' is used twice (a node and a reference node)", rid)
        for rid, kind in ref_kinds.items():  # a reference stands for a node of its kind
            if rid in nodes:
                continue
            seen, node = {rid}, refs[rid]
            while node in refs and node not in seen and ref_kinds.get(node) == kind:
                seen.add(node)
                node = refs[node]
            if kinds.get(node) != kind and node not in seen:
                what = f"the {kinds[node]} '{node}'" if node in kinds else f"'{node}', " \
                    "which is no node of the net"
                self.problem(f"reference {kind} '{rid}' refers to {what}; it must refer to a "
                             f"{kind}", rid)
        for e in arcs:
            self.arc(builder, e, refs)
        try:
            net = builder.build()
        except ModelError as exc:
            self.problems.extend(exc.problems)
        if self.problems:
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            raise PnmlError([self._locate(p, text) for p in self.problems])
        return net

    def _locate(self, p: Problem, text: str) -> Problem:
        """Add the line number of the element a problem names (only on the error path)."""
        if p.element is None or p.line is not None:
            return p
        m = re.search(r'\bid\s*=\s*["\']' + re.escape(p.element) + r'["\']', text)
        if m is None:
            return p
        return replace(p, line=text.count("\n", 0, m.start()) + 1)

    def place(self, builder: NetBuilder, e: Element, n: int) -> None:
        pid = e.get("id")
        if not pid:
            self.problem(f"place number {n} has no id", None)
            return
        color: ColorSet = BLACK
        initial: Any = 0
        ext = _ours(e)
        if ext is not None:
            color_el, tokens_el = _child(ext, "color"), _child(ext, "tokens")
            try:
                if color_el is not None:
                    color = color_from_json(json.loads(color_el.text or "null"))
                if tokens_el is not None:
                    pairs = json.loads(tokens_el.text or "[]")
                    if not isinstance(pairs, list):
                        raise ColorError("<tokens> must hold a list of [token, count] pairs")
                    initial = {}
                    for pair in pairs:
                        if not (isinstance(pair, list) and len(pair) == 2
                                and type(pair[1]) is int and pair[1] > 0):
                            raise ColorError(f"malformed token entry {pair!r}")
                        token = token_from_json(color, pair[0])
                        initial[token] = initial.get(token, 0) + pair[1]
            except (ColorError, ValueError, RecursionError) as exc:
                self.problem(f"place '{pid}': bad petriflow extension: {exc}", pid)
                initial = 0
        if isinstance(color, BlackColor):
            what = f"initial marking of place '{pid}'"
            text = self.label(e, "initialMarking", what, pid)
            if text:
                initial = max(0, self.count(text, what, pid))
        builder.place(pid, color=color, initial=initial, name=_text(_child(e, "name")))

    def transition(self, builder: NetBuilder, e: Element, n: int) -> None:
        tid = e.get("id")
        if not tid:
            self.problem(f"transition number {n} has no id", None)
            return
        guard = None
        variables: dict[str, ColorSet] = {}
        meta: dict[str, str] = {}
        ext = _ours(e)
        if ext is not None:
            for c in ext:
                tag = _local(c.tag)
                if tag == "guard" and c.text and c.text.strip():
                    guard = c.text.strip()
                elif tag == "variable":
                    try:
                        variables[str(c.get("name"))] = color_from_json(json.loads(c.text or ""))
                    except (ColorError, ValueError, RecursionError) as exc:
                        self.problem(f"transition '{tid}': bad variable: {exc}", tid)
                elif tag == "meta" and c.get("key") is not None:
                    meta[str(c.get("key"))] = c.text or ""
        builder.transition(tid, guard=guard, variables=variables, meta=meta,
                           name=_text(_child(e, "name")))

    def arc(self, builder: NetBuilder, e: Element, refs: dict[str, str]) -> None:
        aid, source, target = e.get("id"), e.get("source"), e.get("target")
        if not aid or not source or not target:
            missing = [k for k, v in (("id", aid), ("source", source), ("target", target))
                       if not v]
            self.problem(f"arc {aid or ''} has no {', '.join(missing)}".replace("  ", " "), aid)
            return
        source, target = self._deref(source, refs, aid), self._deref(target, refs, aid)
        weight = 1
        text = self.label(e, "inscription", f"arc '{aid}': the weight", aid)
        if text:
            weight = self.count(text, f"arc '{aid}': the weight", aid)
            if weight < 0:
                return
        kind = ArcKind.NORMAL
        type_el = _child(e, "type")
        kind_text = (type_el.get("value") if type_el is not None else None) or e.get("type")
        if kind_text:
            found = _ARC_TYPES.get(kind_text.strip().lower())
            if found is None:
                self.problem(f"arc '{aid}' has the unknown type {kind_text!r}", aid,
                             "known types: normal, inhibitor, read, test")
                return
            kind = found
        inscription = None
        ext = _ours(e)
        if ext is not None:
            expr_el = _child(ext, "expression")
            if expr_el is not None and expr_el.text and expr_el.text.strip():
                inscription = expr_el.text.strip()
        builder.arc(source, target, weight=weight, kind=kind, inscription=inscription,
                    arc_id=aid)

    def label(self, e: Element, name: str, what: str, element: str) -> str | None:
        """The text of ``e``'s label ``name``; a label that holds something else than a
        ``<text>`` (``<initialMarking>3</initialMarking>``, PIPE's ``<value>``) is a
        problem, never read as absent (graphics and tool sections alone are fine)."""
        label = _child(e, name)
        text = _text(label)
        if text is None and label is not None and (
                (label.text or "").strip()
                or any(_local(c.tag) not in ("text", "graphics", "toolspecific")
                       for c in label)):
            self.problem(f"{what} is not in a <text> element", element,
                         f"PNML writes it as <{name}><text>...</text></{name}>")
        return text

    def count(self, text: str, what: str, element: str) -> int:
        """A non-negative decimal number of ASCII digits, else a problem (and -1)."""
        if not _DIGITS.fullmatch(text):
            if text[:1] == "-" and _DIGITS.fullmatch(text[1:]) and len(text) < 20:
                self.problem(f"{what} is negative ({text})", element)
            else:
                self.problem(f"{what} is not a number: {_short(text)}", element)
            return -1
        if len(text) > 18:
            self.problem(f"{what} is too large ({len(text)} digits)", element)
            return -1
        return int(text)

    def _deref(self, node: str, refs: dict[str, str], arc: str) -> str:
        seen = set()
        while node in refs:
            if node in seen:
                self.problem(f"arc '{arc}': reference nodes form a cycle at '{node}'", arc)
                return node
            seen.add(node)
            node = refs[node]
        return node


def read_pnml(data: bytes | str, *, file: str | None = None) -> Net:
    """Read one net from PNML text; raises :class:`PnmlError` listing every problem."""
    return _Reader(file).read(data)


def write_pnml(net: Net) -> str:
    """PNML text for ``net``; :func:`read_pnml` reads it back to an equal net."""
    register_namespace("", PNML_NS)
    ns = "{" + PNML_NS + "}"
    root = Element(ns + "pnml")
    net_el = SubElement(root, ns + "net", id=_xml_id(net.name), type=PTNET_TYPE)
    _label(net_el, ns, "name", net.name)
    page = SubElement(net_el, ns + "page", id="page0")
    for p in net.places:
        el = SubElement(page, ns + "place", id=p.id)
        if p.name is not None:
            _label(el, ns, "name", p.name)
        tokens = net.initial_marking[p.id]
        if tokens.size:
            _label(el, ns, "initialMarking", str(tokens.size))
        if not isinstance(p.color, BlackColor):
            ext = _tool(el, ns)
            SubElement(ext, ns + "color").text = json.dumps(color_to_json(p.color))
            pairs = [[token_to_json(p.color, t), n] for t, n in tokens.items()]
            pairs.sort(key=lambda pair: json.dumps(pair, sort_keys=True))
            SubElement(ext, ns + "tokens").text = json.dumps(pairs)
    for t in net.transitions:
        el = SubElement(page, ns + "transition", id=t.id)
        if t.name is not None:
            _label(el, ns, "name", t.name)
        if t.guard is not None or t.variables or t.meta:
            ext = _tool(el, ns)
            if t.guard is not None:
                SubElement(ext, ns + "guard").text = unparse(t.guard)
            for name, color in t.variables:
                SubElement(ext, ns + "variable", name=name).text = json.dumps(color_to_json(color))
            for key, value in t.meta:
                SubElement(ext, ns + "meta", key=key).text = value
    for a in net.arcs:
        el = SubElement(page, ns + "arc", id=a.id, source=a.source, target=a.target)
        if a.weight != 1:
            _label(el, ns, "inscription", str(a.weight))
        if a.kind is not ArcKind.NORMAL:
            SubElement(el, ns + "type", value=a.kind.value)
        if a.inscription is not None:
            SubElement(_tool(el, ns), ns + "expression").text = unparse(a.inscription)
    parents = {child: parent for parent in root.iter() for child in parent}
    for el in root.iter():
        for text in (el.text, *el.attrib.values()):
            if text and _NOT_XML.search(text):
                owner: Element | None = el
                while owner is not None and owner.get("id") is None:
                    owner = parents.get(owner)
                raise PnmlError(Problem(
                    f"{text!r} holds a control character that XML 1.0 cannot carry",
                    element=owner.get("id") if owner is not None else None,
                    hint="remove control characters from names and facts"))
    indent(root)
    body = tostring(root, encoding="unicode").replace("\r", "&#13;")  # XML reads \r as \n
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _label(parent: Element, ns: str, tag: str, text: str) -> None:
    el = SubElement(SubElement(parent, ns + tag), ns + "text")
    el.text = text
    if text != text.strip() or not text:
        el.set(_XML_SPACE, "preserve")


def _tool(parent: Element, ns: str) -> Element:
    return SubElement(parent, ns + "toolspecific", tool=TOOL, version=TOOL_VERSION)


def _xml_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "net"


__all__ = ["PNML_NS", "read_pnml", "write_pnml"]
