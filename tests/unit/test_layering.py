"""The layers point one way, and transforms/ is the functional core.

schemas (the wire contract) < transforms (the pure core) < batches (touch batches as Arrow tables)
< transforms/beam (the Beam transforms) < sinks (the lake and the catalog) < streams, dashboard (the
running system). A module may import its own layer and the layers below, never one above: every
import of every module is checked, those inside functions too. Entry points stand above every layer:
a ``__main__`` module (``python -m transforms.beam`` hands over to the runner in streams).

The command line is a layer of its own for the tests too: a test reaches the code through the
services and the modules below them, and only the tests of the command line (``tests/cli/``, and
the docs' click reference) import ``streams.cli``. The files in :data:`RUN_COMMANDS` run whole
commands end to end through ``main`` (a backfill, a scorecard's output); they import ``main`` and
nothing else of the command line, and the list only shrinks.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "transforms"
FORBIDDEN_MODULES = {"faust", "apache_beam", "duckdb", "pyarrow", "kafka", "aiokafka", "os", "socket",
                     "subprocess", "time", "pydantic", "pydantic_settings", "streams", "sinks", "batches"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "getenv"}
CORE_FILES = sorted(p for p in CORE.rglob("*.py") if "beam" not in p.relative_to(CORE).parts)

#: Each layer, lowest first, and the layers it may import (its own and those below).
LAYERS = ["schemas", "transforms", "batches", "transforms.beam", "sinks", "streams", "dashboard"]
MAY_IMPORT = {
    "schemas": {"schemas"},
    "transforms": {"schemas", "transforms"},
    "batches": {"schemas", "transforms", "batches"},
    "transforms.beam": {"schemas", "transforms", "batches", "transforms.beam"},
    "sinks": {"schemas", "transforms", "batches", "transforms.beam", "sinks"},
    "dashboard": {"schemas", "transforms", "batches", "transforms.beam", "sinks", "dashboard"},
    "streams": {"schemas", "transforms", "batches", "transforms.beam", "sinks", "dashboard", "streams"},
}
LAYERED_FILES = sorted(p for folder in ("schemas", "transforms", "batches", "sinks", "streams", "dashboard")
                       for p in (ROOT / folder).rglob("*.py")
                       if p.name != "__main__.py")

TESTS = ROOT / "tests"
CLI_TESTS = {TESTS / "cli", TESTS / "unit" / "test_docs.py"}
#: Tests that run whole commands through ``main`` (and import nothing else of the command line).
RUN_COMMANDS = {TESTS / name for name in (
    "beam/test_backfill.py", "beam/test_channel_rules_history.py", "beam/test_copies_property.py",
    "beam/test_dask_runner.py", "integration/test_crm_paths_agree.py", "integration/test_hubspot_sync.py",
    "peers/test_against_peers.py", "sql/test_attribution_sql.py", "sql/test_catalog.py", "sql/test_evaluate.py",
    "sql/test_lead_quality_sql.py", "sql/test_return_sql.py", "stages/test_fetch_hubspot_stage.py")}
OTHER_TESTS = sorted(p for p in TESTS.rglob("*.py")
                     if not any(p == cli or cli in p.parents for cli in CLI_TESTS) and "node_modules" not in p.parts)


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


def command_line_imports(tree: ast.AST) -> list[str]:
    """What a module imports of the command line: ``streams.cli`` (or its alias ``streams.commands``) and below."""
    command_line = (["streams", "cli"], ["streams", "commands"])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[:2] in command_line]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[:2] in command_line:
                found += [f"{node.module}.{a.name}" for a in node.names]
            elif node.module == "streams":
                found += [f"streams.{a.name}" for a in node.names if a.name in ("cli", "commands")]
    return found


@pytest.mark.parametrize("path", OTHER_TESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_command_line_tests_import_the_command_line(path):
    names = command_line_imports(ast.parse(path.read_text()))
    if path in RUN_COMMANDS:
        assert names, f"{path.relative_to(ROOT)} runs no command any more: take it off RUN_COMMANDS"
        assert set(names) <= {"streams.cli.main"}, (
            f"{path.relative_to(ROOT)} imports {names}: a helper belongs in streams.services, not in a command")
    else:
        assert not names, (f"{path.relative_to(ROOT)} imports {names}: call a service (streams.services) or the "
                           "module below it; only tests/cli tests the command line")


STREAMS_BELOW_CLI = sorted(p for p in (ROOT / "streams").rglob("*.py")
                          if "cli" not in p.relative_to(ROOT / "streams").parts
                          and p.name not in ("__main__.py", "commands.py"))


@pytest.mark.parametrize("path", STREAMS_BELOW_CLI, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_command_line_is_the_top_of_streams(path):
    """The commands call services and stages; nothing calls a command (but ``python -m streams`` and the alias)."""
    tree = ast.parse(path.read_text())
    assert not command_line_imports(tree), f"{path.relative_to(ROOT)} imports the command line"
    assert "click" not in {name.split(".")[0] for name in imported(tree)}, f"{path.relative_to(ROOT)} imports click"


def test_the_command_line_check_sees_the_ways_to_import_it():
    tree = ast.parse("import streams.cli.stitch\nfrom streams.commands import main\nfrom streams import cli\n"
                     "from streams.services.stitch import write_lake\nimport streams.clinic\n")
    assert command_line_imports(tree) == ["streams.cli.stitch", "streams.commands.main", "streams.cli"]


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
