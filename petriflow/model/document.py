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

from dataclasses import replace
from pathlib import Path
from typing import Any

from petriflow.errors import ModelError, Problem
from petriflow.governance.policies import parse_policy
from petriflow.model.compiled import CompiledProcess
from petriflow.model.loader import LoadedProcess, SourceLines
from petriflow.model.spec import ProcessSpec
from petriflow.net.colorjson import color_to_json

FORMAT = 2  # 2: the fingerprint covers the runtime settings; 1: the net only (still read)


def to_document(compiled: CompiledProcess, path: str | None = None) -> dict[str, Any]:
    spec = compiled.spec
    body = spec.model_dump(mode="json", by_alias=True, exclude={"policies", "policy_files"})
    return {
        "format": FORMAT,
        "name": compiled.name,
        "version": compiled.version,
        "fingerprint": compiled.fingerprint,
        "path": path,
        "spec": body,
        "policies": [ob.policy.model_dump(mode="json") for ob in compiled.obligations],
        "data_color": color_to_json(compiled.data_color),
    }


def from_document(doc: dict[str, Any]) -> CompiledProcess:
    """Rebuild a compiled process; raises ModelError if it is not the recorded net."""
    from petriflow.model.compile import compile_loaded

    name = doc.get("name", "?")
    if doc.get("format") not in (1, FORMAT):
        raise ModelError(Problem(f"stored process {name}: document format "
                                 f"{doc.get('format')!r} is not 1 or {FORMAT}"))
    try:
        spec = ProcessSpec.model_validate(doc["spec"])
        policies = [parse_policy(p) for p in doc.get("policies", [])]
    except (KeyError, ValueError) as exc:
        raise ModelError(Problem(f"stored process {name} cannot be read: {exc}")) from None
    path = Path(doc["path"]) if doc.get("path") else None
    src = SourceLines(str(path) if path else f"<stored process {name}>")
    loaded = LoadedProcess(spec, src, path, policies, [src] * len(policies),
                           [("policies", i) for i in range(len(policies))])
    compiled = compile_loaded(loaded)
    recorded = doc.get("fingerprint")
    legacy = doc["format"] == 1
    rebuilt = compiled.legacy_fingerprint if legacy else compiled.fingerprint
    if rebuilt != recorded:
        raise ModelError(Problem(
            f"stored process {name}: rebuilding it gives a different process (fingerprint "
            f"{rebuilt[:12]}, recorded {str(recorded)[:12]}): its stored definition was "
            "changed after it was deployed",
            hint="deploy the process from its file again"))
    if legacy:  # its cases reference the identity it was stored under
        return replace(compiled, recorded_fingerprint=rebuilt)
    return compiled


__all__ = ["FORMAT", "from_document", "to_document"]
