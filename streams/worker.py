"""``touchline worker``: the pipeline's stages, each in its own consumer group.

resolve-touches (validate_touches + resolve_identity), stitch-journeys (stitch_journeys +
watch_lead_sla) and land-journeys (the lake sink). Start more workers to split the
partitions of touches-by-account-v1 and the journey topics between them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from sinks import catalog
from sinks.lake import Lake
from streams import topics
from streams.agents.land_journeys import LandJourneys
from streams.agents.resolve_touches import ResolveTouches
from streams.agents.stitch_journeys import StitchJourneys
from streams.kafka_clients import create_topics
from streams.processor import StageRunner
from streams.settings import Settings
from transforms.settings import JourneySettings

log = logging.getLogger(__name__)
STAGES = ("resolve", "stitch", "land")


def create_pipeline_topics(bootstrap: str, settings: Settings) -> None:
    """Create the pipeline's topics (one partition where identity needs one place)."""
    create_topics(bootstrap, topics.SINGLE_PARTITION, 1, settings)
    create_topics(bootstrap, topics.PARTITIONED, settings.topic_partitions, settings)


@dataclass
class Worker:
    """The running stages of one worker process."""

    bootstrap: str
    settings: Settings
    journey: JourneySettings = field(default_factory=JourneySettings)
    stages: tuple[str, ...] = STAGES
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lake = Lake(self.settings.lake)
        self.resolve = StageRunner(ResolveTouches(self.journey), self.bootstrap, self.settings)
        self.stitch = StageRunner(StitchJourneys(self.journey), self.bootstrap, self.settings)
        self.land = LandJourneys(self.bootstrap, self.settings, self.lake, on_landed=self._refresh_catalog)
        self._tables_with_files = {t for t in ("touches", "journey_touches") if self.lake.files(t)}

    def _refresh_catalog(self, tables: set[str]) -> None:
        if tables <= self._tables_with_files:
            return  # the views already read these tables' files
        try:
            catalog.build(self.lake, self.settings.catalog)
            self._tables_with_files |= tables
        except duckdb.IOException:
            log.warning("catalog %s is locked; views are refreshed on a later batch", self.settings.catalog)

    def start(self) -> Worker:
        """Create topics and the catalog, then start each stage in a thread."""
        create_pipeline_topics(self.bootstrap, self.settings)
        Path(self.settings.lake).mkdir(parents=True, exist_ok=True)
        catalog.build(self.lake, self.settings.catalog)
        runners = {"resolve": self.resolve, "stitch": self.stitch, "land": self.land}
        for name in self.stages:
            runner = runners[name]
            thread = threading.Thread(target=runner.run, args=(self.stop,), name=f"touchline-{name}",
                                      daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def close(self, timeout: float = 30.0) -> None:
        """Stop polling, land what is buffered, close clients."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)


def landed_counts(lake: Lake) -> dict[str, int]:
    """Distinct rows landed per table (by primary key), read straight from the Parquet files."""
    from sinks.tables import TABLES

    counts = {}
    connection = duckdb.connect()
    try:
        for name, table in TABLES.items():
            files = lake.files(name)
            if not files:
                counts[name] = 0
                continue
            key = ", ".join(table.key)
            pattern = str(lake.root.resolve() / name / "event_date=*" / "*.parquet")
            counts[name] = connection.execute(
                f"select count(*) from (select distinct {key} from read_parquet(?))", [pattern]
            ).fetchone()[0]  # type: ignore[index]
    finally:
        connection.close()
    return counts


def wait_until_landed(worker: Worker, touches: int, dead_letters: int, timeout: float = 300.0,
                      settle_seconds: float = 2.0) -> dict[str, int]:
    """Wait until the lake holds the expected touches and dead letters, and journeys stop changing."""
    import time

    deadline = time.monotonic() + timeout
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        counts = landed_counts(worker.lake)
        progress = (counts, worker.stitch.processed, worker.land.landed_rows)
        if progress != last:
            last, stable_since = progress, time.monotonic()
        done = counts["touches"] >= touches and counts["dead_letters"] >= dead_letters
        if done and time.monotonic() - stable_since >= settle_seconds:
            return counts
        time.sleep(0.5)
    raise TimeoutError(f"after {timeout:.0f}s the lake holds {last}; expected {touches} touches, "
                       f"{dead_letters} dead letters")
