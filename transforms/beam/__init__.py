"""The backfill's Beam transforms (``backfill``) over Arrow touch batches (:mod:`batches`).

``python -m transforms.beam --input GLOB --lake DIR [--replay] [beam options]`` runs them as a Beam
program; the runner's I/O lives in :mod:`streams.runtime.beam_runner` (``touchline backfill`` and
``touchline replay`` are the same runs with a progress line).
"""
