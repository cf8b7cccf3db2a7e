"""``python -m transforms.beam --input GLOB --lake DIR [--replay] [beam options]``."""

import logging

from transforms.beam import run

logging.basicConfig(level=logging.INFO)
run()
