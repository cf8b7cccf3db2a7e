"""Personal data through the real pipeline: pseudonymous e-mails, and `touchline forget`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sinks.lake import Lake
from streams.producing import produce_raw
from streams.settings import Settings
from streams.worker import Worker
from tests.integration.pipeline import (
    attribution_totals,
    expected,
    lake_rows,
    lake_strings,
    lines,
    population,
    wait_for_lake,
)
from transforms.privacy import PERSON_FIELDS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def events():
    return population(4_000, seed=11)


def test_with_a_salt_no_email_lands_in_clear(events, fresh_broker, tmp_path):
    valid, malformed, journey_rows = expected(events)
    records = [e.record for e in events if isinstance(e.record, dict)]
    emails = {r["email"].lower() for r in records if "@" in str(r.get("email"))}
    assert len(emails) > 100
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb", email_hash_salt="pepper")
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        wait_for_lake(settings.lake, valid, malformed, len(journey_rows))
    finally:
        worker.close()
    text = "\n".join(lake_strings(settings.lake)).lower()
    leaked = [email for email in emails if email in text]
    assert leaked == []
    assert text.count("@") > len(emails)  # pseudonyms (h:<hash>@domain) are there instead
    assert lake_rows(settings.lake) == journey_rows  # same domains, same people: the same journeys


def test_forget_erases_a_person_keeps_the_dollars_and_suppresses_what_comes_next(events, fresh_broker, tmp_path):
    valid, malformed, journey_rows = expected(events)
    settings = Settings(lake=tmp_path / "lake", catalog=tmp_path / "touchline.duckdb")
    worker = Worker(fresh_broker.bootstrap, settings).start()
    try:
        produce_raw(lines(events), fresh_broker.bootstrap)
        wait_for_lake(settings.lake, valid, malformed, len(journey_rows))
        before = attribution_totals(settings.lake)
        connection = duckdb.connect()
        person = connection.execute(
            "select anonymous_id, email, account_id from read_parquet(?) where anonymous_id is not null "
            "and email is not null order by event_id limit 1",
            [Lake(settings.lake).files("touches")]).fetchall()[0]
        anonymous_id, email, account_id = person
        result = subprocess.run(
            [sys.executable, "-m", "streams", "forget", "--anonymous-id", anonymous_id, "--lake", str(settings.lake),
             "--requested-by", "dpo@example.com"], capture_output=True, text=True, check=True)
        audit = json.loads(result.stdout)
        assert audit["rows_changed"]["touches"] > 0 and audit["requested_by"] == "dpo@example.com"
        assert any(line.startswith("email:") for line in audit["identifiers"])  # linked through identify
        assert email not in result.stdout and anonymous_id not in result.stdout  # digests only
        text = "\n".join(lake_strings(settings.lake))
        assert email not in text and anonymous_id not in text
        assert attribution_totals(settings.lake) == before  # not a touch or a cent lost
        assert (Path(settings.lake) / "_privacy" / "audit.jsonl").read_text().count("\n") == 1

        # They come back: their next touches land without them.
        again = [json.dumps({"event_id": f"after-forget-{i}", "source": "segment:web", "event_type": "site_visit",
                             "occurred_at": "2027-06-01T10:00:00Z", "anonymous_id": anonymous_id, "email": email,
                             "account_id": account_id, "channel": "direct", "team": "marketing"}).encode()
                 for i in range(3)]
        produce_raw(again, fresh_broker.bootstrap)
        wait_for_lake(settings.lake, valid + 3, malformed, len(journey_rows) + 3)
    finally:
        worker.close()
    landed = duckdb.connect().execute(
        f"select {', '.join(PERSON_FIELDS)}, account_id from read_parquet(?) where event_id like 'after-forget-%'",
        [Lake(settings.lake).files("touches")]).fetchall()
    assert len(landed) == 3 and all(row == (None, None, None, None, account_id) for row in landed)
    text = "\n".join(lake_strings(settings.lake))
    assert email not in text and anonymous_id not in text
