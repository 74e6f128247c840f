"""A compiled process as a JSON document, and back: what a durable store keeps.

The document holds the validated spec and every policy (inline and from policy files,
already read), so a worker on another machine rebuilds the very same net without the
original files; rebuilding checks that the fingerprint is the one recorded, so a case is
never run on a different net, or under different policies or runtime settings, than the
one it started on (a document of format 1, written before the fingerprint covered the
runtime settings, is checked against its net only and keeps the identity it was stored
under). Called processes are inlined
from their files when the process is compiled, so a process that calls others needs
those files where they were (the document records the path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from petriflow.errors import ModelError, Problem
from petriflow.governance.policies import parse_policy
from petriflow.model.compiled import CompiledProcess
from petriflow.model.loader import LoadedProcess, SourceLines, load_process
from petriflow.model.spec import ProcessSpec
from petriflow.net.colorjson import color_to_json

FORMAT = 2  # 2: the fingerprint covers the runtime settings; 1: the net only (still read)


def to_document(compiled: CompiledProcess, path: str | None = None) -> dict[str, Any]:
    spec = compiled.spec
    body = spec.model_dump(mode="json", by_alias=True, exclude={"policies", "policy_files"})
    return {
        # a process rebuilt from a format-1 document keeps that identity, and so its format
        "format": 1 if compiled.recorded_fingerprint is not None else FORMAT,
        "name": compiled.name,
        "version": compiled.version,
        "fingerprint": compiled.fingerprint,
        "path": path,
        "spec": body,
        "policies": [ob.policy.model_dump(mode="json") for ob in compiled.obligations],
        "data_color": color_to_json(compiled.data_color),
        # the processes it calls, as they were inlined: a worker needs none of the files
        "called": {where: called.model_dump(mode="json", by_alias=True,
                                            exclude={"policies", "policy_files"})
                   for where, called in compiled.called.items()},
    }


def _one_line(exc: Exception) -> str:
    """A reading error in one line (pydantic's own text spans several)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{where}: {first['msg']}{more}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def from_document(doc: Any) -> CompiledProcess:
    """Rebuild a compiled process; raises ModelError if it is not the recorded process
    (or cannot be read: every problem is one line naming the stored process)."""
    from petriflow.model.compile import compile_loaded

    if not isinstance(doc, Mapping):
        raise ModelError(Problem(f"a stored process document is a {type(doc).__name__}, "
                                 "not an object: the database was edited",
                                 hint="restore the database from a backup"))
    name = doc.get("name", "?")
    if doc.get("format") not in (1, FORMAT):
        raise ModelError(Problem(f"stored process {name}: document format "
                                 f"{doc.get('format')!r} is not 1 or {FORMAT}"))
    try:
        spec = ProcessSpec.model_validate(doc["spec"])
        policies = [parse_policy(p) for p in doc.get("policies") or []]
        where = doc.get("path")
        if where is not None and not isinstance(where, str):
            raise TypeError(f"its path is a {type(where).__name__}, not a text")
        stored = {str(k): ProcessSpec.model_validate(v)
                  for k, v in (doc.get("called") or {}).items()}
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ModelError(Problem(f"stored process {name} cannot be read: "
                                 f"{_one_line(exc)}")) from None
    path = Path(where) if where else None
    src = SourceLines(str(path) if path else f"<stored process {name}>")
    loaded = LoadedProcess(spec, src, path, policies, [src] * len(policies),
                           [("policies", i) for i in range(len(policies))])

    def load(called: Path) -> LoadedProcess:
        """A called process as stored with its caller (documents written before they were
        stored name only the file)."""
        spec = stored.get(str(called))
        if spec is None:
            return load_process(called)
        return LoadedProcess(spec, SourceLines(f"{called} (stored with {name})"), called)

    compiled = compile_loaded(loaded, load)
    recorded = doc.get("fingerprint")
    legacy = doc["format"] == 1
    rebuilt = compiled.legacy_fingerprint if legacy else compiled.fingerprint
    if rebuilt != recorded:
        unstored = sorted(p for p in compiled.called if p not in stored)
        called = (f", or a process it calls ({', '.join(unstored)}, read from its file "
                  "again) changed since" if unstored else "")
        raise ModelError(Problem(
            f"stored process {name}: rebuilding it gives a different process (fingerprint "
            f"{rebuilt[:12]}, recorded {str(recorded)[:12]}): its stored definition was "
            f"changed after it was deployed{called}",
            hint="its cases must run on the process they started on: restore the "
                 "database (or the called file) from a backup"))
    if legacy:  # its cases reference the identity it was stored under
        return replace(compiled, recorded_fingerprint=rebuilt)
    return compiled


__all__ = ["FORMAT", "from_document", "to_document"]
