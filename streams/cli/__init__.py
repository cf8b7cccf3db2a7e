"""The ``touchline`` command: one entry point whose subcommands wire the parts together."""

from __future__ import annotations

import click

from streams.cli.attribute import attribute_command
from streams.cli.backfill import backfill_command, replay_command
from streams.cli.broker import broker
from streams.cli.catalog import catalog_command
from streams.cli.channels import activate_channel_rules, channels_command
from streams.cli.collector import collector_command, write_key_command
from streams.cli.dashboard import dashboard_command
from streams.cli.demo import demo_command
from streams.cli.evaluate import evaluate_command
from streams.cli.forget import forget_command
from streams.cli.generate import generate_command
from streams.cli.imports import import_group
from streams.cli.lake import compact_command, vacuum_command
from streams.cli.push import push_command
from streams.cli.scorecard import scorecard_command
from streams.cli.sql import sql_command
from streams.cli.stitch import stitch_command
from streams.cli.sync import sync_command
from streams.cli.up import up_command
from streams.cli.validate import validate
from streams.cli.worker import worker_command


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
