"""A compiled process as a JSON document, and back: what a durable store keeps.

The document holds the validated spec and every policy (inline and from policy files,
already read), so a worker on another machine rebuilds the very same net without the
original files; rebuilding checks that the fingerprint is the one recorded, so a case is
never run on a different net than the one it started on. Called processes are inlined
from their files when the process is compiled, so a process that calls others needs
those files where they were (the document records the path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from petriflow.errors import ModelError, Problem
from petriflow.governance.policies import parse_policy
from petriflow.model.compiled import CompiledProcess
from petriflow.model.loader import LoadedProcess, SourceLines
from petriflow.model.spec import ProcessSpec
from petriflow.net.colorjson import color_to_json

FORMAT = 1


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
    if doc.get("format") != FORMAT:
        raise ModelError(Problem(f"stored process {name}: document format "
                                 f"{doc.get('format')!r} is not {FORMAT}"))
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
    if compiled.fingerprint != doc.get("fingerprint"):
        raise ModelError(Problem(
            f"stored process {name}: rebuilding it gives a different net (fingerprint "
            f"{compiled.fingerprint[:12]}, recorded {str(doc.get('fingerprint'))[:12]})",
            hint="deploy the process from its file again"))
    return compiled


__all__ = ["FORMAT", "from_document", "to_document"]
