"""Runtime settings, from ``TOUCHLINE_*`` environment variables (docs/settings.md is generated from this class:
each field's comment is its meaning there)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class LakeSettings:
    """The lake's settings, read once: where rows land, how often small files are merged, and the two secrets
    that keep people out of it."""

    root: str  # a folder, or an object store URL
    catalog: Path  # the DuckDB catalog of views over the lake
    compact_seconds: float  # how often the sink compacts each table's small files (0: never)
    salt: str | None  # with it, e-mails' local parts are keyed hashes before anything lands
    suppression_key: str | None  # keys the suppression list of forgotten people (HMAC)


class Settings(BaseSettings):
    """Where Touchline runs and how it talks to Kafka. Analysis rules live in transforms.settings."""

    model_config = SettingsConfigDict(env_prefix="TOUCHLINE_", frozen=True)

    # Kafka: unset means "start the embedded broker on 127.0.0.1".
    kafka_bootstrap: str | None = None
    kafka_security_protocol: str = "PLAINTEXT"  # SASL_SSL, SSL, SASL_PLAINTEXT
    kafka_sasl_mechanism: str | None = None  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    kafka_sasl_username: str | None = None  # SASL credentials
    kafka_sasl_password: SecretStr | None = None  # SASL credentials
    kafka_ssl_cafile: Path | None = None  # CA bundle for TLS
    topic_partitions: int = 4  # partitions of topics Touchline creates
    # Collector (Segment-compatible HTTP)
    collector_host: str = "127.0.0.1"  # bind to loopback unless told otherwise
    collector_port: int = 8088  # collector port
    collector_max_body_bytes: int = 512 * 1024  # larger requests get 413
    collector_read_timeout_seconds: float = 10.0  # a body slower than this gets 408 (slowloris)
    write_keys: str = ""  # "source=sha256hex,..." from `touchline write-key`; several keys a source: rotation
    # Browser origins allowed to send with each source's write keys (CORS): "source=origin origin,...".
    allowed_origins: str = ""  # none by default: pages elsewhere cannot send
    event_map: Path | None = None  # a TOML file of event name -> event type rules over the shipped defaults
    # HubSpot: webhooks on the collector (POST /hubspot/webhooks), and the worker's hubspot stage
    hubspot_client_secret: SecretStr | None = None  # the app's client secret (signs webhooks); unset: the route is 404
    hubspot_public_url: str | None = None  # scheme://host[:port] HubSpot calls (behind a proxy); unset: as requested
    hubspot_token: SecretStr | None = None  # a private app's token: hubspot stage, sync, push, alerts
    hubspot_api_url: str = "https://api.hubapi.com"  # the CRM v3 API (tests point it at a local server)
    channel_rules: Path | None = None  # a CSV of channel rules in place of the shipped schemas/channel_rules.csv
    # Dashboard
    dashboard_host: str = "127.0.0.1"  # address the dashboard binds
    dashboard_port: int = 8050  # dashboard port
    # Privacy: with a salt, e-mail local parts are replaced by a keyed hash before anything lands
    email_hash_salt: SecretStr | None = None
    # Keys the suppression list of forgotten people (HMAC): kept outside the lake, the same for every process
    suppression_key: SecretStr | None = None
    # Storage
    lake: Annotated[str, BeforeValidator(os.fspath)] = "lake"  # a folder, or an object store URL (s3://bucket/prefix)
    catalog: Path = Path("touchline.duckdb")  # the DuckDB catalog file
    lake_compact_seconds: float = 60.0  # how often the sink compacts each table's small files (0: never)
    # How long the sink gathers records before a commit (it commits sooner once lake_land_rows wait): what a touch
    # waits before it lands, against a commit's fixed cost and the small files compaction merges
    lake_land_seconds: float = Field(default=1.0, gt=0)
    # How many records the sink gathers at most before a commit: what bounds its memory while it catches up (each
    # is a dict until it lands). 10,000 keep the sink about 100 MB smaller than 50,000, and a backlog lands at
    # about 70-80% of the speed (more commits, each with its fixed cost; benchmarks/stream.py)
    lake_land_rows: int = Field(default=50_000, gt=0)
    # Stage state: local RocksDB stores, durable copies beside the lake
    state_dir: Path | None = None  # unset: a cache folder of this lake's (streams.runtime.processor.local_state_root)
    state_commit_seconds: float = 5.0  # how often stage state is checkpointed locally (what a crash repeats)
    state_checkpoint_seconds: float = 60.0  # how often durable copies are written beside the lake
    state_dedupe_days: int = 400  # repeats of touches this much older than the newest are still recognised
    state_cache_entries: int = 200_000  # state entries each stage partition keeps in memory
    # How much a stage process yields the CPU to the collector and the broker on the same host, added to the
    # worker's own niceness (os.nice): ingest answers first, stages catch up (benchmarks/collector_load.py)
    stage_niceness: int = Field(default=10, ge=0, le=19)
    # Alerts (the send-alerts stage runs only with a rules file)
    alert_rules: Path | None = None  # a TOML file of [[destination]] and [[rule]] tables
    dashboard_url: str = "http://127.0.0.1:8050"  # alerts link to <this>/accounts/<account_id>
    alert_timeout_seconds: float = 10.0  # one delivery attempt waits this long for an answer
    alert_max_attempts: int = 5  # then the alert is marked failed
    alert_retry_seconds: float = 1.0  # the first retry's delay, doubled each attempt (Retry-After wins)
    # CRM APIs (shared with the CRM sync and `touchline push`; HubSpot's token and API URL are above)
    salesforce_instance_url: str | None = None  # https://MyDomain.my.salesforce.com
    salesforce_access_token: SecretStr | None = None  # OAuth access token for the REST API (push, alerts, sync)
    salesforce_api_version: str = "v60.0"  # the REST API version in request paths (push, alerts, sync)
    push_timeout_seconds: float = 60.0  # touchline push: one call waits this long for the CRM's answer
    push_retry_seconds: float = 1.0  # push: first pause on 429 / REQUEST_LIMIT_EXCEEDED, doubled (Retry-After wins)
    # Salesforce sync and Outbound Messages (touchline sync salesforce, POST /salesforce/outbound)
    salesforce_client_id: str | None = None  # a connected app's consumer key (client-credentials flow)
    salesforce_client_secret: SecretStr | None = None  # its consumer secret
    salesforce_org_id: str | None = None  # the org Outbound Messages must come from (unset: the route answers 404)
    # the portal's or org's currency, for deals without one: import (`--currency`), syncs, webhooks, outbound
    crm_currency: str | None = None
    salesforce_backoff_seconds: float = 30.0  # first pause on REQUEST_LIMIT_EXCEEDED or a 5xx; doubles, ≤ 15 min

    def lake_settings(self, root: str | None = None) -> LakeSettings:
        """The lake's settings; ``root`` (a command's ``--lake``) over ``TOUCHLINE_LAKE``."""
        return LakeSettings(root or self.lake, self.catalog, self.lake_compact_seconds,
                            self.email_hash_salt.get_secret_value() if self.email_hash_salt else None,
                            self.suppression_key.get_secret_value() if self.suppression_key else None)
