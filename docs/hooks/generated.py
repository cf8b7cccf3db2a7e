"""MkDocs hook: the parts of the docs that are generated from the code, so the two cannot drift.

A page names a generated part with a marker on a line of its own:

- ``<!-- touchline:settings -->``: every ``TOUCHLINE_*`` variable of ``streams.settings.Settings``
  (type, default, and the comments written above and beside the field), then every command option
  that reads a variable (click's ``envvar``);
- ``<!-- touchline:tables -->``: every table of ``sinks.tables.TABLES`` (key, partition date, columns).

The CLI reference is mkdocs-click's (``docs/cli.md``). tests/unit/test_docs.py renders both parts
and checks them against the code.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # this checkout's code, not whichever copy is installed
    sys.path.insert(0, str(ROOT))

SETTINGS_MARKER = "<!-- touchline:settings -->"
TABLES_MARKER = "<!-- touchline:tables -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def field_comments(source: str, class_name: str = "Settings") -> dict[str, str]:
    """The comment written beside each field of a class (the last assignment of a name wins, as in Python)."""
    comments = {token.start[0]: token.string.lstrip("#").strip()
                for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT}
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    above = item.lineno - 1  # a comment on a line of its own just above the field
                    standalone = above in comments and lines[above - 1].lstrip().startswith("#")
                    said = [comments[above] if standalone else "", comments.get(item.end_lineno or item.lineno, "")]
                    found[item.target.id] = " — ".join(text.rstrip(".") for text in said if text)
    return found


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return str(text).replace("typing.", "").replace("pydantic.types.", "").replace("pathlib.", "")


def _default(value: Any) -> str:
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    return f"`{value}`"


def settings_markdown() -> str:
    """The table of every ``TOUCHLINE_*`` setting, from ``streams.settings.Settings``."""
    import streams.settings as module

    prefix = module.Settings.model_config.get("env_prefix", "")
    comments = field_comments(Path(module.__file__).read_text(encoding="utf-8"))
    lines = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for name, field in module.Settings.model_fields.items():
        meaning = field.description or comments.get(name, "")
        type_name = _type_name(field.annotation)
        lines.append(f"| `{prefix.upper()}{name.upper()}` | `{_cell(type_name)}` | {_cell(_default(field.default))} "
                     f"| {_cell(meaning)} |")
    return "\n".join(lines)


def _commands(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _commands(sub, (*path, name))
    return found


def option_envvars_markdown() -> str:
    """The command options that read a ``TOUCHLINE_*`` variable, from the click group ``streams.cli:main``."""
    from streams.cli import main

    lines = ["| variable | option | help |", "|---|---|---|"]
    for path, command in _commands(main, ("touchline",)):
        for param in command.params:
            names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
            for name in names:
                option = f"`{' '.join(path)} {'/'.join(param.opts)}`"
                lines.append(f"| `{name}` | {_cell(option)} | {_cell(getattr(param, 'help', None) or '')} |")
    return "\n".join(lines)


def tables_markdown() -> str:
    """Each lake table's key, partition date and columns, from ``sinks.tables.TABLES``."""
    from sinks.tables import EVENT_DATE, TABLES

    parts = []
    for name, table in TABLES.items():
        parts.append(f"### `{name}`\n")
        parts.append(f"Key: `{', '.join(table.key)}`. Partitioned by `{EVENT_DATE.name}`, the UTC date of "
                     + (f"`{table.date_field}`." if table.date_field else "no field (1970-01-01).")
                     + (" A key's row is replaced by its newer versions." if table.updates else "")
                     + (" A record may retract its key's row." if table.retracts else "") + "\n")
        parts.append("| column | type |\n|---|---|")
        parts.extend(f"| `{column}` | `{kind}` |" for column, kind in table.fields)
        parts.append("")
    return "\n".join(parts)


def render(markdown: str) -> str:
    """A page's markdown with its generated parts filled in."""
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_markdown() + "\n\nCommand options that read a variable "
                                    "when they are not given:\n\n" + option_envvars_markdown())
    if TABLES_MARKER in markdown:
        markdown = markdown.replace(TABLES_MARKER, tables_markdown())
    return markdown


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs' hook: fill in the generated parts of each page."""
    return render(markdown)


def on_page_content(html: str, **_: Any) -> str:
    """MkDocs' hook: a pipe escaped in a table cell (``a\\|b`` in code, as GitHub writes it) shows as a pipe."""
    return re.sub(r"<td>.*?</td>", lambda cell: cell.group(0).replace("\\|", "|"), html, flags=re.DOTALL)
