"""The layers point one way, and transforms/ is the functional core.

schemas (the wire contract) < transforms (the pure core) < transforms/beam (its Beam and Arrow shell)
< sinks (the lake and the catalog) < streams, dashboard (the running system). A module may import
its own layer and the layers below, never one above: every import of every module is checked,
those inside functions too. Entry points stand above every layer: a ``__main__`` module, and the
documented ``transforms.beam.run`` (users' scripts call it; it hands over to the runner's I/O).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "transforms"
FORBIDDEN_MODULES = {"faust", "apache_beam", "duckdb", "pyarrow", "kafka", "aiokafka", "os", "socket",
                     "subprocess", "time", "pydantic", "pydantic_settings", "streams", "sinks"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "getenv"}
CORE_FILES = sorted(p for p in CORE.rglob("*.py") if "beam" not in p.relative_to(CORE).parts)

#: Each layer, lowest first, and the layers it may import (its own and those below).
LAYERS = ["schemas", "transforms", "transforms.beam", "sinks", "streams", "dashboard"]
MAY_IMPORT = {
    "schemas": {"schemas"},
    "transforms": {"schemas", "transforms"},
    "transforms.beam": {"schemas", "transforms", "transforms.beam"},
    "sinks": {"schemas", "transforms", "transforms.beam", "sinks"},
    "dashboard": {"schemas", "transforms", "transforms.beam", "sinks", "dashboard"},
    "streams": {"schemas", "transforms", "transforms.beam", "sinks", "dashboard", "streams"},
}
ENTRY_POINTS = {ROOT / "transforms" / "beam" / "__init__.py"}
LAYERED_FILES = sorted(p for folder in ("schemas", "transforms", "sinks", "streams", "dashboard")
                       for p in (ROOT / folder).rglob("*.py")
                       if p.name != "__main__.py" and p not in ENTRY_POINTS)


def imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def layer_of(module: str) -> str | None:
    """The layer a module belongs to (None: not ours)."""
    if module == "transforms.beam" or module.startswith("transforms.beam."):
        return "transforms.beam"
    top = module.split(".")[0]
    return top if top in MAY_IMPORT else None


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize("path", LAYERED_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path):
    own = layer_of(module_of(path))
    assert own is not None
    for name in imported(ast.parse(path.read_text())):
        target = layer_of(name)
        assert target is None or target in MAY_IMPORT[own], (
            f"{path.relative_to(ROOT)} ({own}) imports {name} ({target}): a layer may import only "
            f"{', '.join(sorted(MAY_IMPORT[own]))}")


def test_every_folder_is_checked():
    assert {layer_of(module_of(p)) for p in LAYERED_FILES} == set(LAYERS)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_stays_pure(path):
    tree = ast.parse(path.read_text())
    for name in imported(tree):
        assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            assert node.attr not in FORBIDDEN_CALLS, f"{path.name} reads the clock or env: .{node.attr}"
            assert node.attr != "environ", f"{path.name} reads os.environ"


def test_there_is_a_core_to_check():
    assert len(CORE_FILES) >= 3
