"""The former home of the ``touchline`` command (now :mod:`streams.cli`): ``streams.commands:main`` still resolves."""

from streams.cli import main

__all__ = ["main"]
