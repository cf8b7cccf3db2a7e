"""The generated parts of the docs site (docs/hooks/generated.py) say what the code says.

The settings table and the lake's tables are rendered as MkDocs renders them and checked against
``streams.settings.Settings`` and ``sinks.tables.TABLES``; no test reads the docs' prose.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from sinks.tables import TABLES
from streams.settings import Settings

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def hook():
    spec = importlib.util.spec_from_file_location("touchline_docs_hook", DOCS / "hooks" / "generated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cells(markdown: str) -> list[list[str]]:
    """The cells of each table row (escaped pipes kept inside cells)."""
    found = []
    for line in markdown.splitlines():
        row = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if row:
            found.append(row)
    return found


def rows(markdown: str) -> dict[str, list[str]]:
    """A markdown table's rows by their first cell."""
    return {row[0]: row[1:] for row in cells(markdown)}


def settings_page(hook) -> tuple[str, str]:
    """The rendered settings page: the table of settings, then that of the options that read a variable."""
    settings, options = hook.render((DOCS / "settings.md").read_text()).split("Command options that read a variable")
    return settings, options


def test_the_settings_page_lists_every_setting_with_its_default(hook):
    table = rows(settings_page(hook)[0])
    for name, field in Settings.model_fields.items():
        variable = f"`TOUCHLINE_{name.upper()}`"
        assert variable in table, variable
        default = table[variable][1]
        if field.default is None:
            assert default == "unset", (variable, default)
        elif field.default == "":
            assert default == "empty", (variable, default)
        else:
            assert default == f"`{field.default}`", (variable, default)
    assert len([row for row in table if row.startswith("`TOUCHLINE_")]) == len(Settings.model_fields)


def test_each_settings_meaning_is_the_comment_beside_its_field(hook):
    source = '''
class Settings:
    # Kafka: unset means the embedded broker
    kafka_bootstrap: str | None = None
    port: int = 8088  # collector port
    # Storage
    lake: str = "lake"  # a folder, or an object store URL.
    # a section heading

    bare: int = 1
    port: int = 9  # declared twice: the last one is the field
'''
    assert hook.field_comments(source) == {"kafka_bootstrap": "Kafka: unset means the embedded broker",
                                           "lake": "Storage — a folder, or an object store URL",
                                           "bare": "", "port": "declared twice: the last one is the field"}
    table = rows(hook.settings_markdown())
    comments = hook.field_comments((ROOT / "streams" / "settings.py").read_text())
    assert table["`TOUCHLINE_SALESFORCE_ORG_ID`"][2] == comments["salesforce_org_id"] != ""
    assert all(table[f"`TOUCHLINE_{name.upper()}`"][2] for name in Settings.model_fields), "a setting without a meaning"


def test_the_settings_page_lists_every_option_that_reads_a_variable(hook):
    from streams.cli import main


    def options(command, path):
        for param in command.params:
            if param.envvar:
                yield f"`{param.envvar}`", f"`{' '.join(path)} {'/'.join(param.opts)}`"
        for name, sub in getattr(command, "commands", {}).items():
            yield from options(sub, (*path, name))

    expected = set(options(main, ("touchline",)))
    assert ("`TOUCHLINE_CRM_TIME_ZONE`", "`touchline import salesforce --time-zone`") in expected
    listed = {(row[0], row[1]) for row in cells(settings_page(hook)[1]) if row[0].startswith("`TOUCHLINE_")}
    assert listed == expected


def test_the_lake_page_lists_every_table_with_its_key_and_columns(hook):
    page = hook.render((DOCS / "lake.md").read_text())
    sections = dict(re.findall(r"^### `(\w+)`\n(.*?)(?=^### |\Z)", page, re.MULTILINE | re.DOTALL))
    assert list(sections) == list(TABLES)
    for name, table in TABLES.items():
        assert f"Key: `{', '.join(table.key)}`." in sections[name], name
        columns = {row[0].strip("`"): row[1].strip("`") for row in cells(sections[name])
                   if row[0].startswith("`")}
        assert columns == {column: str(kind) for column, kind in table.fields}, name


def test_no_marker_is_left_unrendered(hook):
    markers = (hook.SETTINGS_MARKER, hook.TABLES_MARKER)
    pages = {page: page.read_text() for page in DOCS.rglob("*.md")}
    assert {page.name for page, text in pages.items() if any(m in text for m in markers)} == {"settings.md", "lake.md"}
    assert not any(m in hook.render(text) for text in pages.values() for m in markers)


def test_the_cli_reference_is_generated_from_the_touchline_entry_point():
    script = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["touchline"]
    module, command = script.split(":")
    directive = re.search(r"^::: mkdocs-click\n((?:    :.*\n)+)", (DOCS / "cli.md").read_text(), re.MULTILINE)
    assert directive, "docs/cli.md has no mkdocs-click directive"
    options = dict(re.findall(r":(\w+): (\S+)", directive.group(1)))
    assert (options["module"], options["command"], options["prog_name"]) == (module, command, "touchline")


def test_every_page_is_in_the_sites_navigation():
    config = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r"([\w/-]+\.md)$", config, re.MULTILINE))
    assert listed == {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
