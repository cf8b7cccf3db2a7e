"""``python -m streams``: the same as the ``touchline`` command."""

from streams.commands import main

main()
