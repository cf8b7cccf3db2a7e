"""The ``touchline`` group imports a subcommand's module only when that subcommand is asked for."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_worker_s_own_process_loads_none_of_the_stages_libraries() -> None:
    """What `touchline worker` imports before it spawns its stages: the command, the worker and the broker."""
    probe = ("import sys\n"
             "from streams.cli import main\n"
             "main.get_command(None, 'worker')\n"
             "import streams.runtime.worker, streams.runtime.broker\n"
             f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    # and the probe can tell: another command's module loads them
    probe = probe.replace("'worker'", "'stitch'")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "pyarrow" in loaded
