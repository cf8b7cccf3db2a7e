"""Integration tests run against a real Kafka-protocol broker on 127.0.0.1.

By default each test module gets the embedded broker; TOUCHLINE_KAFKA_BOOTSTRAP points the
tests at another cluster instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pyarrow.fs as pafs
import pytest

from streams.runtime.broker import EmbeddedBroker, free_port, open_broker


@pytest.fixture(scope="module")
def kafka_bootstrap() -> Iterator[str]:
    with open_broker(os.environ.get("TOUCHLINE_KAFKA_BOOTSTRAP")) as broker:
        yield broker.bootstrap


@pytest.fixture
def fresh_broker() -> Iterator[EmbeddedBroker]:
    """An embedded broker of the test's own, with nothing in it."""
    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture(scope="module")
def s3_bucket() -> Iterator[str]:
    """An empty bucket on a real S3 API on 127.0.0.1 (moto in server mode), reached, as users reach S3, through
    the AWS variables this fixture sets for the test process and the processes it starts."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    variables = {"AWS_ACCESS_KEY_ID": "touchline-test", "AWS_SECRET_ACCESS_KEY": "touchline-test",
                 "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http",
                                 allow_bucket_creation=True).create_dir("lake")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield "s3://lake"
    finally:
        server.terminate()
        server.wait(10)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
