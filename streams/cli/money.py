"""--reporting-currency and --rates, as every command that reports money takes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def money_options(command: click.decorators.FC) -> click.decorators.FC:
    """--reporting-currency and --rates: amounts converted into one currency (attribute, scorecard, sql)."""
    command = click.option("--rates", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                           help="CSV currency,valid_from,rate: one unit of currency is rate units of the reporting "
                                "currency from valid_from on (until its next row).")(command)
    return click.option("--reporting-currency", metavar="CODE",
                        help="Report every amount in this currency, at the rate of the conversion's day "
                             "(default: each amount in its own currency).")(command)


def checked_money(reporting_currency: str | None, rates: Path | None) -> dict[str, Any]:
    """The money options as open_lake's keywords, or a usage error."""
    if rates is not None and reporting_currency is None:
        raise click.UsageError("--rates needs --reporting-currency (the currency the rates convert into)")
    return {"reporting_currency": reporting_currency.upper() if reporting_currency else None, "rates": rates}
