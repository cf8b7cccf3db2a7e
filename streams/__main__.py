"""``python -m streams``: the same as the ``touchline`` command."""

from streams.cli import main

main()
