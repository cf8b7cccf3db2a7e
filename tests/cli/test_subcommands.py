"""The ``touchline`` group imports a subcommand's module only when that subcommand is asked for."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from streams.cli import SUBCOMMANDS, Subcommands, main

HEAVY = ("pyarrow", "deltalake", "duckdb", "apache_beam", "confluent_kafka", "numpy")


def test_every_subcommand_resolves_to_a_command_of_its_name() -> None:
    for name in SUBCOMMANDS:
        command = main.get_command(click.Context(main), name)
        assert isinstance(command, click.Command) and command.name == name
    assert main.list_commands(click.Context(main)) == sorted(SUBCOMMANDS)
    assert main.get_command(click.Context(main), "no-such-command") is None


def test_the_mapping_behaves_as_a_dict_of_commands() -> None:
    commands = Subcommands({"validate": "streams.cli.validate:validate"})
    extra = click.Command("extra")
    commands["extra"] = extra
    assert list(commands) == ["extra", "validate"] and len(commands) == 2
    assert commands["validate"].name == "validate" and commands["extra"] is extra
    del commands["validate"]
    assert list(commands) == ["extra"]
    with pytest.raises(KeyError):
        del commands["validate"]


RULES = """
[[destination]]
name = "revops"
kind = "slack"
url = "https://hooks.slack.com/services/T0/B0/x"

[[rule]]
on = "sla_breach"
to = ["revops"]
"""


def loaded_by(probe: str, env: dict[str, str] | None = None) -> list[str]:
    """Which of the heavy libraries a fresh interpreter has loaded after running ``probe``."""
    script = f"import sys\n{probe}\nprint(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    return ast.literal_eval(run.stdout.strip())


def test_the_worker_s_own_process_loads_none_of_the_stages_libraries(tmp_path: Path) -> None:
    """What `touchline worker` imports before it spawns its stages: the command, the worker (checking the optional
    stages' configuration too) and the broker."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    worker = ("from streams.cli import main\n"
              "main.get_command(None, 'worker')\n"
              "import streams.runtime.broker\n"
              "from streams.runtime.worker import Worker\n"
              "from streams.settings import Settings\n"
              "Worker('127.0.0.1:9', Settings())\n")
    assert loaded_by(worker) == []
    configured = {"TOUCHLINE_ALERT_RULES": str(rules), "TOUCHLINE_HUBSPOT_TOKEN": "pat-na1-secret"}
    assert loaded_by(worker + "assert Worker('127.0.0.1:9', Settings()).stages[-2:] == ('alerts', 'hubspot')",
                     configured) == []
    # and the probe can tell: another command's module loads them
    assert "pyarrow" in loaded_by(worker.replace("'worker'", "'stitch'"))
