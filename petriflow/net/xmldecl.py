"""The encoding an XML declaration names, as the XML parser needs it.

Expat knows UTF-8, UTF-16, ISO-8859-1 and US-ASCII by their canonical names and decodes
other single-byte encodings through Python's codecs; an alias of UTF-8 such as ``utf8``
(which some tools write) makes it read the bytes as another encoding and stop at the
first non-ASCII character with "not well-formed". Such a declaration is rewritten to
``UTF-8`` before parsing; nothing else in the document changes.
"""

from __future__ import annotations

import codecs
import re

_DECLARATION = re.compile(
    rb"^(\xef\xbb\xbf)?(<\?xml[^>]*?\bencoding\s*=\s*)([\"'])([A-Za-z0-9._-]+)\3")


def canonical_encoding(data: bytes | str) -> bytes | str:
    """``data`` with a declared alias of UTF-8 named ``UTF-8`` (text: unchanged)."""
    if isinstance(data, str):
        return data
    m = _DECLARATION.match(data[:512])
    if m is None:
        return data
    declared = m.group(4).decode("ascii")
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        return data  # the parser says it does not know it
    if name != "utf-8" or declared.lower() == "utf-8":
        return data
    return data[:m.start(4)] + b"UTF-8" + data[m.end(4):]


__all__ = ["canonical_encoding"]
