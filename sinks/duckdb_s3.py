"""DuckDB sessions that read a lake on object storage: the httpfs extension and a secret from the AWS variables."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import duckdb


def _httpfs_wheel() -> str | None:
    """The httpfs extension shipped by the ``duckdb-extension-httpfs`` wheel for this DuckDB, if installed."""
    try:
        import duckdb_extension_httpfs  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    folder = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    return str(folder / "httpfs.duckdb_extension") if (folder / "httpfs.duckdb_extension").exists() else None


def enable_object_store(connection: duckdb.DuckDBPyConnection) -> None:
    """Let a DuckDB session read ``s3://`` files: load the httpfs extension (from its PyPI wheel when it
    matches this DuckDB, else DuckDB installs it) and create a session secret from the AWS variables."""
    wheel = _httpfs_wheel()
    try:
        if wheel:
            connection.execute(f"load '{wheel}'")
        else:
            connection.execute("install httpfs; load httpfs")
    except duckdb.Error as error:
        raise RuntimeError(
            f"reading a lake on object storage needs DuckDB's httpfs extension, which DuckDB {duckdb.__version__} "
            f"could not load ({error}): install `touchline[s3]` (DuckDB with its httpfs wheel, offline) or give "
            "DuckDB access to extensions.duckdb.org") from error
    options = {"region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        options |= {"key_id": key, "secret": secret}
        if os.environ.get("AWS_SESSION_TOKEN"):
            options["session_token"] = os.environ["AWS_SESSION_TOKEN"]
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        options |= {"endpoint": parts.netloc, "use_ssl": str(parts.scheme == "https").lower(), "url_style": "path"}
    settings = ", ".join(f"{name} {_literal(value)}" for name, value in options.items())
    provider = "" if key and secret else ", provider credential_chain"  # instance roles, profiles (aws extension)
    connection.execute(f"create or replace temporary secret touchline_lake (type s3{provider}, {settings})")


def _literal(value: str) -> str:
    if value in ("true", "false"):
        return value
    return "'" + value.replace("'", "''") + "'"
