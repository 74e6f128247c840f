"""Read an XML document safely into a small tree that keeps each element's line.

The parser is :mod:`defusedxml`'s (entity declarations, external references and DTDs
are refused, so "billion laughs" and external-entity attacks cannot work); the tree is
our own, so that every element remembers the line it starts on for error messages.
Size and nesting depth are bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from petriflow.errors import ModelError, Problem
from petriflow.net.xmldecl import canonical_encoding

MAX_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 200


@dataclass
class XNode:
    """One element: namespace, local name, attributes, children, text and line."""

    ns: str
    tag: str
    attrib: dict[str, str]
    line: int
    children: list[XNode] = field(default_factory=list)
    text: str = ""

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrib.get(name, default)

    def attr(self, ns: str, name: str) -> str | None:
        """An attribute in namespace ``ns`` (``{ns}name``)."""
        return self.attrib.get(f"{{{ns}}}{name}")

    def find(self, ns: str, tag: str) -> XNode | None:
        return next((c for c in self.children if c.ns == ns and c.tag == tag), None)

    def findall(self, ns: str, tag: str) -> list[XNode]:
        return [c for c in self.children if c.ns == ns and c.tag == tag]

    def iter(self) -> Iterator[XNode]:
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


class _Builder:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.stack: list[XNode] = []
        self.root: XNode | None = None
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        line = self.parser.parser.CurrentLineNumber if self.parser is not None else 0
        if len(self.stack) >= MAX_DEPTH:
            raise ModelError(Problem(f"the XML is nested deeper than {MAX_DEPTH} levels",
                                     file=self.file, line=line))
        node = XNode(ns, local, dict(attrib), line)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].text += text

    def close(self) -> XNode | None:
        return self.root


def parse_xml(data: bytes | str, file: str | None = None) -> XNode:
    """The root element of ``data``; a :class:`ModelError` for anything unsafe or broken."""
    if len(data) > MAX_BYTES:
        raise ModelError(Problem(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB",
                                 file=file))
    builder = _Builder(file)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.parser = parser
    try:
        parser.feed(canonical_encoding(data))
        root = parser.close()
    except DefusedXmlException as exc:
        raise ModelError(Problem(
            "refused: the XML declares a DTD, entities or external references "
            f"({type(exc).__name__})", file=file,
            hint="BPMN files need none; entity expansion is a known attack")) from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ModelError(Problem(f"not well-formed XML: {exc}", file=file, line=line)) from None
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding
        raise ModelError(Problem(f"cannot read the XML: {exc}", file=file)) from None
    except RecursionError:
        raise ModelError(Problem("the XML is nested too deeply", file=file)) from None
    if root is None:
        raise ModelError(Problem("the file holds no XML element", file=file))
    return root


__all__ = ["MAX_BYTES", "XNode", "parse_xml"]
