"""Processes and HTTP for the fault suite: a collector subprocess, Segment batches, a lake to read."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sinks.lake import Lake
from streams.collector.app import new_write_key
from streams.runtime.broker import free_port

KEY, ENTRY = new_write_key("segment:web")


class Collector:
    """`touchline collector` as a subprocess on a free 127.0.0.1 port."""

    def __init__(self, bootstrap: str, log: Path, **env: str) -> None:
        self.bootstrap, self.log, self.env = bootstrap, log, env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Collector:
        env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": self.bootstrap, "TOUCHLINE_WRITE_KEYS": ENTRY,
               "TOUCHLINE_COLLECTOR_PORT": str(self.port), **self.env}
        self.process = subprocess.Popen([sys.executable, "-m", "streams", "collector"], env=env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if post("/health", None, self.port, method="GET")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"collector did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Content-Type": "application/json"}


def post(path: str, body: object, port: int, *, method: str = "POST", key: str = KEY,
         timeout: float = 30) -> tuple[int, dict[str, object]]:
    """One request on a new connection; (status, JSON body)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=data, headers=auth(key))
        response = connection.getresponse()
        text = response.read()
        return response.status, json.loads(text) if text else {}
    finally:
        connection.close()


def page_call(message_id: str, anonymous_id: str, at: str = "2026-03-01T10:00:00Z") -> dict[str, object]:
    return {"type": "page", "messageId": message_id, "anonymousId": anonymous_id, "timestamp": at,
            "context": {"groupId": f"acct-{anonymous_id[-2:]}"}}


def landed_event_ids(lake: Path, table: str = "touches") -> list[str]:
    """The event ids of a table's current version (a key landed twice would be listed twice)."""
    files = Lake(lake).files(table)
    if not files:
        return []
    rows = Lake(lake).connect().execute("select event_id from read_parquet(?)", [files]).fetchall()
    return [r[0] for r in rows]


def landed_offset(lake: Path) -> int:
    """The touches table's version: each landing commit adds one."""
    return Lake(lake).version("touches")


def wait_for_progress(lake: Path, before: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while landed_offset(lake) <= before:
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.05)
