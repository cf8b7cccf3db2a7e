"""The backfill's Beam transforms (``backfill``) over Arrow batches (``columns``, ``privacy``).

``python -m transforms.beam --input GLOB --lake DIR [--replay] [beam options]`` runs them as a
Beam program: :func:`run`.
"""

from __future__ import annotations

from collections.abc import Sequence


def run(argv: Sequence[str] | None = None) -> None:
    """The backfill as a Beam program; see :func:`streams.backfill.run`, where the runner's I/O lives."""
    from streams.backfill import run as run_backfill

    run_backfill(argv)
