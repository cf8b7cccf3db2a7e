"""``touchline worker``: the pipeline's stages, each in its own consumer group.

resolve-touches (validate_touches + resolve_identity), stitch-journeys (stitch_journeys +
watch_lead_sla) and land-journeys (the lake sink); with ``TOUCHLINE_HUBSPOT_TOKEN`` also
fetch-hubspot (stage name ``hubspot``: HubSpot webhook events to touches). Start more workers to
split the partitions of touches-by-account-v1 and the journey topics between them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import duckdb

from schemas.channels import use_channel_rules
from sinks import catalog
from sinks.lake import Lake
from sinks.tables import TABLES
from streams import topics
from streams.crm.hubspot_api import HubspotApi
from streams.runtime.kafka_python_clients import create_topics
from streams.runtime.processor import StageRunner
from streams.settings import Settings
from streams.stages.fetch_hubspot import FetchHubspot
from streams.stages.land_journeys import LakeSink
from streams.stages.resolve_touches import ResolveTouches
from streams.stages.send_alerts import SendAlertsRunner, load_rules
from streams.stages.stitch_journeys import StitchJourneys
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


def fetch_hubspot(settings: Settings) -> FetchHubspot:
    """The hubspot stage, reading the CRM v3 API with the private app's token."""
    if settings.hubspot_token is None:
        raise ValueError("the hubspot stage needs TOUCHLINE_HUBSPOT_TOKEN (a private app's access token)")
    api = HubspotApi(settings.hubspot_api_url, settings.hubspot_token.get_secret_value())
    return FetchHubspot(api, settings.crm_currency, settings.lake_settings().salt)


def _die_with_parent() -> None:
    """Linux: a stage process gets SIGKILL when its worker dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _run_stage(name: str, bootstrap: str, settings: Settings, journey: JourneySettings, stop: Any) -> None:
    _die_with_parent()
    os.nice(settings.stage_niceness)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    use_channel_rules(settings.channel_rules)  # a spawned process reads the rules its parent checked
    worker = Worker(bootstrap, settings, journey, (name,), processes=False)
    worker.runner(name).run(stop)


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
        dedupe = timedelta(days=self.settings.state_dedupe_days)
        self.resolve = StageRunner(ResolveTouches(self.journey, self.landing.salt, dedupe), self.bootstrap,
                                   self.settings)
        self.stitch = StageRunner(StitchJourneys(self.journey, dedupe), self.bootstrap, self.settings)
        self.land = LakeSink(self.bootstrap, self.settings, self.landing, on_landed=self._refresh_catalog)
        self.rules = load_rules(self.settings.alert_rules) if self.settings.alert_rules else None
        if "alerts" in self.stages and self.rules is None:
            raise ValueError("the alerts stage needs a rules file (--alert-rules or TOUCHLINE_ALERT_RULES)")
        self.optional: dict[str, StageRunner] = {}
        if "hubspot" in self.stages:
            self.optional["hubspot"] = StageRunner(fetch_hubspot(self.settings), self.bootstrap, self.settings)

    def runner(self, name: str) -> StageRunner | LakeSink | SendAlertsRunner:
        """The runner of a stage by name."""
        if name == "alerts":
            assert self.rules is not None
            return SendAlertsRunner(self.bootstrap, self.settings, self.rules)
        runners: dict[str, StageRunner | LakeSink] = {"resolve": self.resolve, "stitch": self.stitch,
                                                      "land": self.land, **self.optional}
        return runners[name]

    def _refresh_catalog(self, tables: set[str]) -> None:
        """Point the catalog's views at the files of the tables' new versions."""
        try:
            catalog.refresh(self.lake, self.landing.catalog, tables)
        except duckdb.IOException:
            log.warning("catalog %s is locked; views are refreshed on a later batch", self.landing.catalog)

    def start(self) -> Worker:
        """Create topics and the catalog, then start each stage."""
        create_pipeline_topics(self.bootstrap, self.settings)
        for name in TABLES:  # every table exists, empty, before anything lands: readers need not wait
            self.lake.create(name)
        catalog.build(self.lake, self.landing.catalog)
        for name in self.stages or ():
            if self.processes:
                task: Any = self._context.Process(
                    target=_run_stage, name=f"touchline-{name}", daemon=True,
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
