"""Read process files (YAML or JSON) into a :class:`ProcessSpec`, keeping source lines.

YAML is composed with PyYAML's safe loader into nodes and converted here, so that
every value keeps its line (errors then point at it), duplicate keys are refused
rather than silently overwritten, and nothing outside plain data can be built: no
object-constructing tags, no anchors or aliases (a classic way to blow up memory),
bounded size and depth. JSON files are read the same way (JSON is YAML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from petriflow.errors import ModelError, Problem
from petriflow.governance.policies import parse_policy
from petriflow.model.spec import ProcessSpec

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 40
Path_ = tuple[str | int, ...]
_PLAIN_TAGS = {
    "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp",
}


@dataclass
class SourceLines:
    """Line numbers of the values of a document, by path (``("nodes", "pay")``)."""

    file: str | None
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p: Path_ = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def problem(self, message: str, *path: str | int, element: str | None = None,
                hint: str | None = None) -> Problem:
        return Problem(message, file=self.file, line=self.line(*path), element=element,
                       hint=hint)


def _fail(file: str | None, message: str, line: int | None = None,
          hint: str | None = None, path: Path_ = ()) -> ModelError:
    return ModelError(Problem(message, file=file, line=line, hint=hint,
                              element=_element_at(path)))


def _element_at(path: Path_) -> str | None:
    """The model element a value at ``path`` belongs to (``nodes.review.role``: review)."""
    if len(path) >= 2 and path[0] in ("nodes", "data"):
        return str(path[1])
    return None


class _Converter:
    def __init__(self, file: str | None) -> None:
        self.src = SourceLines(file)
        self.constructor = yaml.constructor.SafeConstructor()
        self.seen: set[int] = set()

    def __call__(self, node: yaml.Node, path: Path_ = (), depth: int = 0) -> Any:
        line = node.start_mark.line + 1
        file = self.src.file
        if depth > MAX_DEPTH:
            raise _fail(file, f"nested deeper than {MAX_DEPTH} levels", line)
        if id(node) in self.seen:
            raise _fail(file, "YAML anchors and aliases are not supported", line,
                        "write the repeated part out")
        self.seen.add(id(node))
        self.src.lines.setdefault(path, line)
        if node.tag not in _PLAIN_TAGS:
            raise _fail(file, f"the YAML tag {node.tag!r} is not allowed", line,
                        "process files hold plain data only", path)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _fail(file, "mapping keys must be plain text",
                                key_node.start_mark.line + 1)
                key = str(self.scalar(key_node))
                if key in out:
                    raise _fail(file, f"the key '{key}' appears twice",
                                key_node.start_mark.line + 1, "YAML keeps only the last one",
                                (*path, key))
                self.src.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self(value_node, (*path, key), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self(v, (*path, i), depth + 1) for i, v in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise _fail(self.src.file, f"cannot read this value: {exc}",
                        node.start_mark.line + 1) from None
        if hasattr(value, "isoformat"):  # dates and timestamps stay text in the model
            return str(node.value)
        return value


def parse_document(text: str | bytes, file: str | None = None) -> tuple[Any, SourceLines]:
    """Plain data and its source lines from YAML or JSON text."""
    if len(text) > MAX_BYTES:
        raise _fail(file, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise _fail(file, f"not valid YAML/JSON: {exc.problem}",
                    mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise _fail(file, f"not valid YAML/JSON: {exc}") from None
    except RecursionError:
        raise _fail(file, "the document is nested too deeply") from None
    if root is None:
        raise _fail(file, "the file is empty")
    conv = _Converter(file)
    return conv(root), conv.src


def _normalise_flows(data: dict[str, Any], src: SourceLines) -> tuple[list[Problem], set[int]]:
    """Accept flows written as ``"a -> b"`` or ``[a, b]`` besides mappings. Returns the
    problems and the positions of the flows they are about (not to be reported again
    by the schema)."""
    problems: list[Problem] = []
    bad: set[int] = set()
    flows = data.get("flows")
    if not isinstance(flows, list):
        return problems, bad
    for i, f in enumerate(flows):
        if isinstance(f, str):
            parts = [p.strip() for p in f.split("->")]
            if len(parts) != 2 or not all(parts):
                problems.append(src.problem(f"cannot read the flow {f!r}", "flows", i,
                                            element=_flow_name(parts),
                                            hint="write 'source -> target'"))
                bad.add(i)
                continue
            flows[i] = {"from": parts[0], "to": parts[1]}
        elif isinstance(f, list):
            if len(f) != 2:
                problems.append(src.problem(f"a flow list needs [source, target], got {f!r}",
                                            "flows", i, element=_flow_name(f)))
                bad.add(i)
                continue
            flows[i] = {"from": f[0], "to": f[1]}
    return problems, bad


def _flow_name(ends: Any) -> str | None:
    """``source -> target`` of a flow as far as it can be read (``?`` for what cannot)."""
    if isinstance(ends, dict):
        ends = [ends.get("from"), ends.get("to")]
    if not isinstance(ends, list) or not any(isinstance(e, str) and e for e in ends):
        return None
    ends = [*ends, None, None][:2]
    return " -> ".join(e if isinstance(e, str) and e else "?" for e in ends)


def spec_from_data(data: Any, src: SourceLines) -> ProcessSpec:
    """Validate plain data as a process; every schema problem at once, with lines."""
    if not isinstance(data, dict):
        raise ModelError(src.problem("a process file must be a mapping with 'process' and "
                                     "'nodes'"))
    problems, bad_flows = _normalise_flows(data, src)
    try:
        spec = ProcessSpec.model_validate(data)
    except ValidationError as exc:
        flows = data.get("flows")
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in (
                "start", "end", "task", "exclusive", "parallel", "inclusive", "event", "timer",
                "call") and len(err["loc"]) > 2 and err["loc"][0] == "nodes"))
            element = _element_at(loc)
            if len(loc) > 1 and loc[0] == "flows" and isinstance(loc[1], int):
                if loc[1] in bad_flows:
                    continue  # already reported, as the flow it could not read
                if isinstance(flows, list) and loc[1] < len(flows):
                    element = _flow_name(flows[loc[1]])
            where = ".".join(str(p) for p in loc)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = f"unknown key '{loc[-1]}'"
            elif err["type"] == "missing":
                msg = f"'{loc[-1]}' is required"
            elif err["type"] == "union_tag_invalid":
                msg = ("unknown node type; expected one of start, end, task, exclusive, "
                       "parallel, inclusive, event, timer, call")
            problems.append(src.problem(f"{where}: {msg}", *loc, element=element))
        raise ModelError(problems) from None
    ModelError.collect(problems)
    return spec


@dataclass
class LoadedProcess:
    """A process spec with where it came from, and the policies it declares."""

    spec: ProcessSpec
    source: SourceLines
    path: Path | None = None
    policies: list[Any] = field(default_factory=list)
    policy_sources: list[SourceLines] = field(default_factory=list)
    policy_paths: list[Path_] = field(default_factory=list)


def read_text(path: Path) -> bytes:
    if not path.is_file():
        raise _fail(str(path), "no such file")
    if path.stat().st_size > MAX_BYTES:
        raise _fail(str(path), f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return path.read_bytes()


def load_policies(path: Path) -> tuple[list[Any], SourceLines, list[Path_]]:
    """Read a policy file: a mapping with a ``policies`` list (or the list itself).
    Returns the policies, the file's source lines, and each policy's path in it."""
    data, src = parse_document(read_text(path), str(path))
    items = data.get("policies") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ModelError(src.problem("a policy file holds a list under 'policies'"))
    return _parse_policies(items, src, ("policies",) if isinstance(data, dict) else ())


def _parse_policies(items: list[Any], src: SourceLines, prefix: Path_
                    ) -> tuple[list[Any], SourceLines, list[Path_]]:
    policies, paths, problems = [], [], []
    for i, item in enumerate(items):
        try:
            policies.append(parse_policy(item, file=src.file, line=src.line(*prefix, i)))
            paths.append((*prefix, i))
        except ModelError as exc:
            problems.extend(exc.problems)
    ModelError.collect(problems)
    return policies, src, paths


def load_process(path: str | Path, extra_policies: list[str | Path] = ()) -> LoadedProcess:
    """Read a process file and the policy files it names (and ``extra_policies``)."""
    p = Path(path)
    data, src = parse_document(read_text(p), str(path))
    spec = spec_from_data(data, src)
    policies, _, paths = _parse_policies(list(spec.policies), src, ("policies",))
    loaded = LoadedProcess(spec, src, p, policies, [src] * len(policies), paths)
    for name in spec.policy_files:
        pf = (p.parent / name) if not Path(name).is_absolute() else Path(name)
        more, psrc, more_paths = load_policies(pf)
        loaded.policies += more
        loaded.policy_sources += [psrc] * len(more)
        loaded.policy_paths += more_paths
    for name in extra_policies:
        more, psrc, more_paths = load_policies(Path(name))
        loaded.policies += more
        loaded.policy_sources += [psrc] * len(more)
        loaded.policy_paths += more_paths
    return loaded


def load_text(text: str, file: str | None = None) -> LoadedProcess:
    """Read a process from text (no policy files are followed)."""
    data, src = parse_document(text, file)
    spec = spec_from_data(data, src)
    policies, _, paths = _parse_policies(list(spec.policies), src, ("policies",))
    return LoadedProcess(spec, src, None, policies, [src] * len(policies), paths)


__all__ = ["LoadedProcess", "SourceLines", "load_policies", "load_process", "load_text",
           "parse_document", "spec_from_data"]
