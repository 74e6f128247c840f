"""The layering of DESIGN.md, enforced by reading every import of the package with ``ast``.

L0 errors, ids; L1 net; L2 governance; L3 model; L4 verify | store (siblings that never
import each other); L5 runtime (the store only through store.base and store.codec,
plus the in-memory reference store as its default);
L6 testing, cli and the package's ``__init__``. Third-party libraries are fenced:
z3 only in verify/smt/, sqlalchemy only in store/sql/, networkx only in net/graph.py
and verify/explicit.py, defusedxml only where XML is read, hypothesis never.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "petriflow"
LAYERS = {
    "errors": 0, "ids": 0,
    "net": 1,
    "governance": 2,
    "model": 3,
    "verify": 4, "store": 4,
    "runtime": 5,
    "testing": 6, "cli": 6, "__init__": 6,
}
FENCES = {  # third-party module -> modules (path prefixes) allowed to import it
    "z3": ("verify/smt/",),
    "sqlalchemy": ("store/sql/",),
    "networkx": ("net/graph.py", "verify/explicit.py"),
    "hypothesis": (),
    "defusedxml": ("net/pnml.py", "model/bpmn/", "verify/mcc.py"),
    "lxml": (),
}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
# The one exception, and why: net/case_code.py compiles firing functions whose text is
# built from integers only (tests/net/test_case_code.py checks that no name, value or
# literal of a model reaches it); it may call compile() and exec() and nothing else may.
GENERATED_CODE = {"net/case_code.py": {"exec", "compile"}}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _owner(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_respects_the_layers(path: Path) -> None:
    owner = _owner(path)
    assert owner in LAYERS, f"{path}: top-level module '{owner}' has no layer in DESIGN.md"
    mine = LAYERS[owner]
    rel = path.relative_to(PACKAGE).as_posix()
    bad = []
    for line, name in _imports(path):
        parts = name.split(".")
        if parts[0] == "petriflow" and len(parts) > 1:
            target = parts[1]
            if target not in LAYERS or target == owner:
                continue
            if LAYERS[target] > mine or (LAYERS[target] == mine and mine != 6):
                bad.append(f"{rel}:{line} imports {name} (layer {LAYERS[target]}) "
                           f"from layer {mine}")
            if owner == "runtime" and target == "store" and len(parts) > 2 and parts[2] not in (
                "base", "codec", "memory"
            ):
                bad.append(f"{rel}:{line}: runtime sees the store only through store.base/codec "
                           "(and builds the in-memory reference store as its default)")
            if mine < 6 and name.startswith("petriflow.store.sql"):
                bad.append(f"{rel}:{line}: only L6 code wires a concrete database")
        elif parts[0] in FENCES and not rel.startswith(FENCES[parts[0]]):
            bad.append(f"{rel}:{line} imports {parts[0]}, allowed only in {FENCES[parts[0]]}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_code_execution_or_unsafe_parsing(path: Path) -> None:
    rel = path.relative_to(PACKAGE).as_posix()
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            if (isinstance(fn, ast.Name) and fn.id in FORBIDDEN_CALLS
                    and fn.id not in GENERATED_CODE.get(rel, ())):
                bad.append(f"{rel}:{node.lineno} calls {fn.id}()")
            if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name):
                if fn.value.id == "yaml" and fn.attr in ("load", "unsafe_load", "full_load"):
                    bad.append(f"{rel}:{node.lineno} yaml.{fn.attr}: use yaml.safe_load")
                if fn.value.id in ("ET", "ElementTree", "minidom") and fn.attr in (
                    "parse", "fromstring", "iterparse", "XMLParser", "parseString"
                ):
                    bad.append(f"{rel}:{node.lineno} parses XML without defusedxml")
        if isinstance(node, ast.ImportFrom) and node.module in (
            "xml.etree.ElementTree", "xml.dom.minidom", "xml.sax"
        ):
            names = {a.name for a in node.names}
            unsafe = names & {"parse", "fromstring", "iterparse", "XMLParser", "parseString"}
            if unsafe or node.module == "xml.sax":
                bad.append(f"{rel}:{node.lineno} imports XML parsing from {node.module}")
    assert not bad, "\n".join(bad)


def test_kernel_is_pure() -> None:
    """net/ does no I/O: no open(), no os/pathlib/socket/time/random imports."""
    bad = []
    for path in sorted((PACKAGE / "net").rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for line, name in _imports(path):
            io_module = name.split(".")[0] in ("os", "pathlib", "socket", "time", "datetime",
                                               "shutil", "subprocess", "sqlite3", "io")
            # game.py takes a random.Random from its caller; it never seeds one itself.
            randomness = name == "random" and rel != "net/game.py"
            if io_module or randomness:
                bad.append(f"{rel}:{line} imports {name}")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                node.func.id in ("open", "print", "input")
            ):
                bad.append(f"{rel}:{node.lineno} calls {node.func.id}()")
    assert not bad, "\n".join(bad)
