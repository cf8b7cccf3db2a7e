"""The ``touchline`` command: one entry point whose subcommands wire the parts together."""

from __future__ import annotations

import click

from streams.commands.attribute import attribute_command
from streams.commands.backfill import backfill_command, replay_command
from streams.commands.broker import broker
from streams.commands.catalog import catalog_command
from streams.commands.channels import activate_channel_rules, channels_command
from streams.commands.collector import collector_command, write_key_command
from streams.commands.dashboard import dashboard_command
from streams.commands.demo import demo_command
from streams.commands.evaluate import evaluate_command
from streams.commands.forget import forget_command
from streams.commands.generate import generate_command
from streams.commands.imports import import_group
from streams.commands.lake import compact_command, vacuum_command
from streams.commands.push import push_command
from streams.commands.scorecard import scorecard_command
from streams.commands.sql import sql_command
from streams.commands.stitch import stitch_command
from streams.commands.sync import sync_command
from streams.commands.up import up_command
from streams.commands.validate import validate
from streams.commands.worker import worker_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="touchline")
def main() -> None:
    """Touchline: B2B buyer journeys from touch events to attribution."""
    activate_channel_rules()  # TOUCHLINE_CHANNEL_RULES, read once: every command classifies and validates by it


for command in (validate, broker, generate_command, stitch_command, worker_command, demo_command, sql_command,
                collector_command, write_key_command, import_group, attribute_command, evaluate_command,
                scorecard_command, backfill_command, replay_command, dashboard_command,
                forget_command, compact_command, vacuum_command, up_command, push_command, sync_command,
                channels_command, catalog_command):
    main.add_command(command)
