"""transforms/ is the functional core: no I/O frameworks, no clock, no environment."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "transforms"
FORBIDDEN_MODULES = {"faust", "apache_beam", "duckdb", "pyarrow", "kafka", "aiokafka", "os", "socket",
                     "subprocess", "time", "pydantic", "pydantic_settings", "streams", "sinks"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "getenv"}
CORE_FILES = sorted(p for p in CORE.rglob("*.py") if "beam" not in p.relative_to(CORE).parts)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_stays_pure(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
        if isinstance(node, ast.Attribute):
            assert node.attr not in FORBIDDEN_CALLS, f"{path.name} reads the clock or env: .{node.attr}"
            assert node.attr != "environ", f"{path.name} reads os.environ"


def test_there_is_a_core_to_check():
    assert len(CORE_FILES) >= 3
