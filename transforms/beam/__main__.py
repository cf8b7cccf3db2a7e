"""``python -m transforms.beam --input GLOB --lake DIR [--replay] [beam options]``."""

import logging

from streams.runtime.beam_runner import run

logging.basicConfig(level=logging.INFO)
run()
