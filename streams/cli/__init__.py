"""The ``touchline`` command: one entry point whose subcommands wire the parts together.

A subcommand's module is imported when that subcommand runs (or is listed for help), not when the
command starts: ``touchline worker`` supervises its stage processes without holding Arrow, delta-rs,
DuckDB and Beam, which the other commands load (about 200 MB of the worker's memory otherwise).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping

import click

from streams.cli.channels import activate_channel_rules

#: Each subcommand's name → ``module:attribute`` of its click command.
SUBCOMMANDS = {
    "validate": "streams.cli.validate:validate",
    "broker": "streams.cli.broker:broker",
    "generate": "streams.cli.generate:generate_command",
    "stitch": "streams.cli.stitch:stitch_command",
    "worker": "streams.cli.worker:worker_command",
    "demo": "streams.cli.demo:demo_command",
    "sql": "streams.cli.sql:sql_command",
    "collector": "streams.cli.collector:collector_command",
    "write-key": "streams.cli.collector:write_key_command",
    "import": "streams.cli.imports:import_group",
    "attribute": "streams.cli.attribute:attribute_command",
    "evaluate": "streams.cli.evaluate:evaluate_command",
    "scorecard": "streams.cli.scorecard:scorecard_command",
    "backfill": "streams.cli.backfill:backfill_command",
    "replay": "streams.cli.backfill:replay_command",
    "dashboard": "streams.cli.dashboard:dashboard_command",
    "forget": "streams.cli.forget:forget_command",
    "compact": "streams.cli.lake:compact_command",
    "vacuum": "streams.cli.lake:vacuum_command",
    "up": "streams.cli.up:up_command",
    "push": "streams.cli.push:push_command",
    "sync": "streams.cli.sync:sync_command",
    "channels": "streams.cli.channels:channels_command",
    "catalog": "streams.cli.catalog:catalog_command",
}


class Subcommands(MutableMapping[str, click.Command]):
    """A group's subcommands by name, each imported from its ``module:attribute`` when first asked for."""

    def __init__(self, where: Mapping[str, str]) -> None:
        self.where = dict(where)
        self.loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name in self.loaded:
            return self.loaded[name]
        if name not in self.where:
            raise KeyError(name)
        module, attribute = self.where[name].split(":")  # an error importing it is the module's, not a KeyError
        command = self.loaded[name] = getattr(importlib.import_module(module), attribute)
        return command

    def __contains__(self, name: object) -> bool:
        return name in self.where or name in self.loaded

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.where.pop(name, None)
        self.loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.where.keys() | self.loaded.keys()))

    def __len__(self) -> int:
        return len(self.where.keys() | self.loaded.keys())


@click.group(commands=Subcommands(SUBCOMMANDS), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="touchline")
def main() -> None:
    """Touchline: B2B buyer journeys from touch events to attribution."""
    activate_channel_rules()  # TOUCHLINE_CHANNEL_RULES, read once: every command classifies and validates by it
