"""``touchline worker``: the pipeline's stages, each in its own consumer group.

resolve-touches (validate_touches + resolve_identity), stitch-journeys (stitch_journeys +
watch_lead_sla) and land-journeys (the lake sink); with ``TOUCHLINE_HUBSPOT_TOKEN`` also
fetch-hubspot (stage name ``hubspot``: HubSpot webhook events to touches). Start more workers to
split the partitions of touches-by-account-v1 and the journey topics between them.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from sinks import catalog
from sinks.lake import Lake
from sinks.tables import TABLES
from streams import topics
from streams.runtime import stage_process
from streams.runtime.kafka_python_clients import create_topics
from streams.runtime.processor import local_state_root
from streams.settings import Settings
from transforms.settings import JourneySettings

log = logging.getLogger(__name__)
STAGES = ("resolve", "stitch", "land")
OPTIONAL_STAGES = ("alerts", "hubspot")  # run when configured (TOUCHLINE_ALERT_RULES, TOUCHLINE_HUBSPOT_TOKEN)


def default_stages(settings: Settings) -> tuple[str, ...]:
    """The stages a worker runs unless told: the pipeline's, and the optional stages that are configured."""
    return (STAGES + (("alerts",) if settings.alert_rules else ())
            + (("hubspot",) if settings.hubspot_token is not None else ()))


def create_pipeline_topics(bootstrap: str, settings: Settings) -> None:
    """Create the pipeline's topics (one partition where identity needs one place)."""
    create_topics(bootstrap, topics.SINGLE_PARTITION, 1, settings)
    create_topics(bootstrap, topics.PARTITIONED, settings.topic_partitions, settings)


@dataclass
class Worker:
    """The running stages of one worker: one process per stage (or threads, for tests)."""

    bootstrap: str
    settings: Settings
    journey: JourneySettings = field(default_factory=JourneySettings)
    stages: tuple[str, ...] | None = None  # None: default_stages(settings)
    processes: bool = True  # stages are CPU-bound Python: one process each, so they use every core
    threads: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stages = self.stages or default_stages(self.settings)
        self.landing = self.settings.lake_settings()
        self.lake = Lake(self.landing.root)
        context = multiprocessing.get_context("spawn")
        self.stop: Any = context.Event() if self.processes else threading.Event()
        self._context = context
        if "alerts" in self.stages:
            stage_process.alert_rules(self.settings)  # a missing or broken rules file fails here, not in a child
        if "hubspot" in self.stages:
            stage_process.fetch_hubspot(self.settings)

    def runner(self, name: str) -> Any:
        """The runner of a stage by name."""
        return stage_process.build(name, self.bootstrap, self.settings, self.journey)

    def start(self) -> Worker:
        """Create topics and the catalog, then start each stage."""
        create_pipeline_topics(self.bootstrap, self.settings)
        for name in TABLES:  # every table exists, empty, before anything lands: readers need not wait
            self.lake.create(name)
        catalog.build(self.lake, self.landing.catalog)
        local_state_root(self.settings)  # names the lake's id once, before the stages would race to
        for name in self.stages or ():
            if self.processes:
                task: Any = self._context.Process(
                    target=stage_process.run, name=f"touchline-{name}", daemon=True,
                    args=(name, self.bootstrap, self.settings, self.journey, self.stop))
            else:
                task = threading.Thread(target=self.runner(name).run, args=(self.stop,), name=f"touchline-{name}",
                                        daemon=True)
            task.start()
            self.threads.append(task)
        return self

    def close(self, timeout: float = 30.0) -> None:
        """Stop polling, land what is buffered, close clients."""
        self.stop.set()
        for task in self.threads:
            task.join(timeout)
            if self.processes and task.is_alive():
                task.kill()

    def alive(self) -> bool:
        """Whether every stage is still running."""
        return all(task.is_alive() for task in self.threads)


def landed_counts(lake: Lake) -> dict[str, int]:
    """Rows per table in the current version of each Delta table (one row per key)."""
    counts = {}
    connection = lake.connect()
    try:
        for name in TABLES:
            files = lake.files(name)
            counts[name] = connection.execute("select count(*) from read_parquet(?)", [files]).fetchone()[0] \
                if files else 0  # type: ignore[index]
    finally:
        connection.close()
    return counts


def wait_until_landed(lake: Lake, touches: int, dead_letters: int, journeys: int = 0, *,
                      alive: Callable[[], bool] = lambda: True, timeout: float = 300.0,
                      settle_seconds: float = 2.0) -> dict[str, int]:
    """Wait until the lake holds the expected touches, dead letters and journey rows, then settles.

    Settling watches the tables waited for: journey rows and the SLA breaches beside them only when
    journey rows are expected (a caller waiting for touches alone is not held up by a stitch stage
    still catching up). ``alive``
    says whether the worker is still running; a dead one ends the wait at once.
    """
    watched = ("touches", "dead_letters") + (("journey_touches", "sla_breaches") if journeys else ())
    deadline = time.monotonic() + timeout
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("a stage of the worker died; see its log")
        try:
            counts = landed_counts(lake)
        except duckdb.IOException:  # a file vanished between listing and reading (a restart's cleanup)
            time.sleep(0.5)
            continue
        if last is None or any(counts[name] != last[name] for name in watched):
            stable_since = time.monotonic()
        last = counts
        done = counts["touches"] >= touches and counts["dead_letters"] >= dead_letters \
            and counts["journey_touches"] >= journeys
        if done and time.monotonic() - stable_since >= settle_seconds:
            return counts
        time.sleep(0.5)
    raise TimeoutError(f"after {timeout:.0f}s the lake holds {last}; expected {touches} touches, "
                       f"{dead_letters} dead letters, {journeys} journey touches")
