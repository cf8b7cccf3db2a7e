"""One stage of a worker, built by its name, and the worker's preparation; each runs in a process of its own
and loads only its own modules.

A worker spawns one process per stage (:class:`streams.runtime.worker.Worker`); each imports this
module, not the worker's, so resolve and stitch never load DuckDB, delta-rs or the alerts' HTTP
client (about 70 MB less each), and the stage modules are imported when their stage is built. The
worker's own process imports this module too, to name these functions to its children: so nothing
heavy is imported at its top, and the preparation (topics, tables, catalog) runs in a short-lived
process, which leaves the worker's own process a supervisor of about 40 MB.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from datetime import timedelta
from typing import Any

from schemas.alert_rules import AlertRules, load_rules
from schemas.channels import use_channel_rules
from streams.settings import Settings
from transforms.settings import JourneySettings

log = logging.getLogger(__name__)


def build(name: str, bootstrap: str, settings: Settings, journey: JourneySettings) -> Any:
    """The runner of the stage called ``name`` (one of ``worker.STAGES`` or ``worker.OPTIONAL_STAGES``)."""
    from streams.runtime.processor import StageRunner

    landing = settings.lake_settings()
    dedupe = timedelta(days=settings.state_dedupe_days)
    if name == "resolve":
        from streams.stages.resolve_touches import ResolveTouches

        return StageRunner(ResolveTouches(journey, landing.salt, dedupe), bootstrap, settings)
    if name == "stitch":
        from streams.stages.stitch_journeys import StitchJourneys

        return StageRunner(StitchJourneys(journey, dedupe), bootstrap, settings)
    if name == "land":
        from streams.stages.land_journeys import LakeSink

        return LakeSink(bootstrap, settings, landing, on_landed=catalog_refresher(settings))
    if name == "alerts":
        from streams.stages.send_alerts import SendAlertsRunner

        return SendAlertsRunner(bootstrap, settings, alert_rules(settings))
    if name == "hubspot":
        return StageRunner(fetch_hubspot(settings), bootstrap, settings)
    raise ValueError(f"no stage called {name!r}")


def alert_rules(settings: Settings) -> AlertRules:
    """The alert rules of ``settings``, checked; the alerts stage cannot run without them."""
    if settings.alert_rules is None:
        raise ValueError("the alerts stage needs a rules file (--alert-rules or TOUCHLINE_ALERT_RULES)")
    return load_rules(settings.alert_rules)


def hubspot_token(settings: Settings) -> str:
    """The private app's access token the hubspot stage reads the CRM with; it cannot run without one."""
    if settings.hubspot_token is None:
        raise ValueError("the hubspot stage needs TOUCHLINE_HUBSPOT_TOKEN (a private app's access token)")
    return settings.hubspot_token.get_secret_value()


def fetch_hubspot(settings: Settings) -> Any:
    """The hubspot stage, reading the CRM v3 API with the private app's token."""
    token = hubspot_token(settings)
    from streams.crm.hubspot_api import HubspotApi
    from streams.stages.fetch_hubspot import FetchHubspot

    api = HubspotApi(settings.hubspot_api_url, token)
    return FetchHubspot(api, settings.crm_currency, settings.lake_settings().salt)


#: How often the sink's refresh rebuilds every view, whatever landed: it catches what other writers changed
#: (`touchline forget`, `import spend`, a compaction run by hand) for a worker that runs for days.
FULL_REFRESH_SECONDS = 300.0


def catalog_refresher(settings: Settings) -> Any:
    """What the sink calls after landing: point the catalog's views over the tables landed at their new files.

    Tables whose refresh failed (a reader holding the catalog file locked) stay pending and go with the next
    call; every :data:`FULL_REFRESH_SECONDS` the whole catalog is rebuilt.
    """
    import duckdb

    from sinks import catalog
    from sinks.lake import Lake

    landing = settings.lake_settings()
    lake = Lake(landing.root)
    pending: set[str] = set()
    rebuilt = [time.monotonic()]

    def refresh(tables: set[str]) -> None:
        pending.update(tables)
        try:
            if time.monotonic() - rebuilt[0] >= FULL_REFRESH_SECONDS:
                catalog.build(lake, landing.catalog)
                rebuilt[0] = time.monotonic()
            else:
                catalog.refresh(lake, landing.catalog, pending)
        except duckdb.IOException:
            log.warning("catalog %s is locked; the views over %s are refreshed on a later batch", landing.catalog,
                        ", ".join(sorted(pending)))
            return
        pending.clear()

    return refresh


def create_pipeline_topics(bootstrap: str, settings: Settings) -> None:
    """Create the pipeline's topics (one partition where identity needs one place)."""
    from streams import topics
    from streams.runtime.kafka_python_clients import create_topics

    create_topics(bootstrap, topics.SINGLE_PARTITION, 1, settings)
    create_topics(bootstrap, topics.PARTITIONED, settings.topic_partitions, settings)


def prepare(bootstrap: str, settings: Settings) -> None:
    """What the stages need before they start: the pipeline's topics, every table (empty: readers need not wait
    for a first landing), the catalog's views, and the lake's id, named once (the stages would race to).

    A failure is a RuntimeError that names the error it was: it crosses to the worker's process, which the
    libraries' own exceptions (delta-rs's, librdkafka's) cannot.
    """
    from sinks import catalog
    from sinks.lake import Lake
    from sinks.tables import TABLES
    from streams.runtime.processor import local_state_root

    try:
        create_pipeline_topics(bootstrap, settings)
        landing = settings.lake_settings()
        lake = Lake(landing.root)
        for name in TABLES:
            lake.create(name)
        catalog.build(lake, landing.catalog)
        local_state_root(settings)
    except Exception as error:
        raise RuntimeError(f"the worker could not create its topics, tables or catalog: "
                           f"{type(error).__name__}: {error}") from error


def _die_with_parent() -> None:
    """Linux: a stage process gets SIGKILL when its worker dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def as_child() -> None:
    """A worker's child process: dies with its worker, leaves Ctrl-C to it, logs as it does."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)


def run(name: str, bootstrap: str, settings: Settings, journey: JourneySettings, stop: Any) -> None:
    """A stage process: yields the CPU to ingest (``stage_niceness``), runs until ``stop``."""
    as_child()
    os.nice(settings.stage_niceness)
    use_channel_rules(settings.channel_rules)  # a spawned process reads the rules its parent checked
    build(name, bootstrap, settings, journey).run(stop)
