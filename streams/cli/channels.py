"""``touchline channels``: the channel rules in force, and which of them a URL or a touch's origin meets."""

from __future__ import annotations

import json

import click

from schemas.channel_rules import ChannelRules, ChannelRulesError, origin_of
from schemas.channels import active_channel_rules, use_channel_rules
from streams.settings import Settings


def activate_channel_rules(path: str | None = None) -> ChannelRules:
    """Make the rules of ``path`` (default ``TOUCHLINE_CHANNEL_RULES``, else the shipped ones) this process's;
    a bad file stops the command with its line."""
    try:
        use_channel_rules(path or Settings().channel_rules)
    except ChannelRulesError as error:
        raise click.UsageError(f"channel rules: {error}") from error
    return active_channel_rules()


@click.group(name="channels")
def channels_command() -> None:
    """The channel rules (TOUCHLINE_CHANNEL_RULES, else the shipped schemas/channel_rules.csv)."""


@channels_command.command(name="explain")
@click.argument("origin")
@click.option("--rules", type=click.Path(dir_okay=False, exists=True), help="A rules file to explain by instead.")
def explain_command(origin: str, rules: str | None) -> None:
    """Say which rule ORIGIN meets and why: a URL (its utm_* parameters; the page is the landing page) or a
    JSON object (utm, utm_*, referrer, landing_page; or lead_source / campaign_type for a CRM record)."""
    table = activate_channel_rules(rules) if rules else active_channel_rules()
    try:
        found = table.match(origin_of(origin))
    except (ValueError, json.JSONDecodeError) as error:
        raise click.BadParameter(f"not a URL or a JSON object: {error}", param_hint="ORIGIN") from error
    if found is None:
        click.echo(f"no rule of {table.origin} matches: the touch gets no channel")
        raise SystemExit(1)
    sub = f" / {found.subchannel}" if found.subchannel else ""
    click.echo(f"{found.channel}{sub}: {table.origin} line {found.rule.line}")
    for reason in found.reasons:
        click.echo(f"  {reason}")


@channels_command.command(name="list")
def list_command() -> None:
    """Print the rules in force, in the order they are tried."""
    table = active_channel_rules()
    for rule in table.rules:
        cells = ", ".join(f"{name}={pattern.text}" for name, pattern in rule.patterns.items()) or "anything"
        sub = f" / {rule.subchannel}" if rule.subchannel else ""
        click.echo(f"{rule.line:>4}  {rule.channel}{sub}  <- {cells}")
