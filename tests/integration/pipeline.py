"""Helpers for pipeline tests: generate a population, run workers, read the lake back."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from sinks.lake import Lake
from sinks.storage import LakeRoot
from sinks.tables import TABLES
from streams.runtime.landed import wait_until_landed
from streams.services.generate import wire_line
from transforms.generator import Emitted, GeneratorSettings, generate
from transforms.stitching import stitch
from transforms.types import Touch

COMPARED = ["event_id", "source", "account_id", "journey_id", "cycle", "seq", "stage", "stage_before",
            "is_first_touch", "is_lead_touch", "is_opportunity_touch", "is_close_touch", "is_reengagement",
            "lead_response_hours", "event_type"]


def population(touches: int, seed: int = 5, days: int = 365) -> list[Emitted]:
    """About ``touches`` records over ``days`` with duplicates, late arrivals and 1% malformed records."""
    return list(generate(GeneratorSettings(accounts=int(touches / 17.6), seed=seed, days=days, duplicate_rate=0.03,
                                           late_rate=0.1, invalid_rate=0.01)))


def time_moves_on(events: list[Emitted], accounts: int = 24, days: int = 7) -> list[Emitted]:
    """The events, then a visit of each of ``accounts`` new accounts ``days`` after the last touch: time moving
    on in every partition, as it does in production (the stream judges the lead SLA on each partition's clock,
    the batch on the clock of all the touches; once time has moved on everywhere they agree)."""
    last = max(datetime.fromisoformat(e.record["occurred_at"]) for e in events if e.record and not e.malformed)
    at = (last + timedelta(days=days)).isoformat()
    return events + [Emitted(last, {"event_id": f"later-{n}", "source": "generator", "event_type": "site_visit",
                                    "occurred_at": at, "account_id": f"acct-later-{n:02d}", "team": "marketing"})
                     for n in range(accounts)]


def expected(events: list[Emitted]) -> tuple[int, int, set[tuple[object, ...]]]:
    """(valid distinct touches, malformed records, journey rows) as the batch engine sees them."""
    touches = [Touch.from_wire(e.record) for e in events if not e.malformed and e.record is not None]
    rows = {tuple(row.to_row()[c] for c in COMPARED) for row in stitch(touches).rows}
    valid = sum(1 for e in events if not e.malformed and not e.duplicate)
    return valid, sum(e.malformed for e in events), rows


def expected_breaches(events: list[Emitted]) -> set[tuple[object, ...]]:
    """The lead SLA's breach rows (every column) as the batch engine judges them."""
    touches = [Touch.from_wire(e.record) for e in events if not e.malformed and e.record is not None]
    return {tuple(breach.columns().values()) for breach in stitch(touches).breaches}


def lake_breaches(lake: LakeRoot) -> set[tuple[object, ...]]:
    """The lake's sla_breaches rows, every column but the partition (asserting one row per lead)."""
    store = Lake(lake)
    columns = TABLES["sla_breaches"].schema.names
    found = store.connect().execute(f"select {', '.join(columns)} from read_parquet(?)",
                                    [store.files("sla_breaches")]).fetchall()
    assert len(found) == len({row[0] for row in found})
    return set(found)


def lake_rows(lake: LakeRoot) -> set[tuple[object, ...]]:
    """The journey rows of the lake's current version (asserting one row per key)."""
    store = Lake(lake)
    found = store.connect().execute(f"select {', '.join(COMPARED)} from read_parquet(?)",
                                    [store.files("journey_touches")]).fetchall()
    assert len(found) == len({(row[COMPARED.index("source")], row[COMPARED.index("event_id")]) for row in found})
    return set(found)


def lines(events: list[Emitted]) -> list[bytes]:
    return [wire_line(e) for e in events]


def start_worker(bootstrap: str, lake: Path, catalog: Path, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TOUCHLINE_KAFKA_BOOTSTRAP": bootstrap, "TOUCHLINE_LAKE": str(lake),
           "TOUCHLINE_CATALOG": str(catalog), **settings}
    return subprocess.Popen([sys.executable, "-m", "streams", "worker"], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def topic_end(bootstrap: str, topic: str) -> int:
    """The sum of ``topic``'s partitions' end offsets: what has ever been produced to it."""
    from kafka import TopicPartition

    from streams.runtime.kafka_python_clients import make_consumer

    consumer = make_consumer(bootstrap, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def wait_for_lake(lake: LakeRoot, touches: int, dead_letters: int, journeys: int, timeout: float = 180.0,
                  settle: float = 3.0) -> dict[str, int]:
    """Wait until every table holds what it must, and nothing has changed for ``settle`` seconds."""
    return wait_until_landed(Lake(lake), touches, dead_letters, journeys, timeout=timeout, settle_seconds=settle)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def attribution_totals(lake: LakeRoot) -> dict[tuple[str, str], tuple[float, float]]:
    """(model, conversion type) → (credited conversions, credited revenue), to the cent."""
    from sinks.attribution import open_lake

    connection = open_lake(lake)
    try:
        rows = connection.execute("select model, conversion_type, sum(credit), sum(revenue_credit) "
                                  "from attribution_credits group by all").fetchall()
    finally:
        connection.close()
    return {(m, c): (round(float(n), 6), round(float(r or 0), 2)) for m, c, n, r in rows}


def lake_strings(lake: LakeRoot) -> list[str]:
    """Every text value in every file of every lake table, of every version: data files (dead letters'
    raw bytes decoded) and the Delta log (its JSON commits and Parquet checkpoints)."""
    storage = Lake(lake).storage
    found: list[str] = []
    for name, table in TABLES.items():
        columns = [f.name for f in table.schema if str(f.type) == "string"]
        for info in storage.list(name):
            if "/_delta_log/" in info.path and info.path.endswith(".parquet"):  # a checkpoint
                found.append(str(pq.read_table(info.path, filesystem=storage.filesystem).to_pylist()))
            elif "/_delta_log/" in info.path:
                with storage.filesystem.open_input_stream(info.path) as source:
                    found.append(source.read().decode(errors="replace"))
            elif info.path.endswith(".parquet"):
                rows = pq.read_table(info.path, columns=columns, filesystem=storage.filesystem).to_pydict()
                for column, values in rows.items():
                    found += [base64.b64decode(v).decode("utf-8", "replace") if column == "raw_base64" else v
                              for v in values if v is not None]
    return found
