"""The lake: one Delta Lake table per name under ``root``, hive-partitioned by ``event_date``.

Tables are written with ``deltalake`` (delta-rs). A stream's micro-batch of one
topic (all its partitions) is one commit: its rows merge on the table's key (so a table never
holds two rows for one key) and the commit records each partition's last offset as an
application transaction named after the topic-partition and the topic's identity, so a sink
restarted after a crash resumes after what committed and lands nothing twice. Batch paths write Parquet
files into the table's folder and add them in one commit. Readers see committed versions only.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import (
    ColumnProperties,
    CommitProperties,
    DeltaTable,
    Transaction,
    WriterProperties,
    write_deltalake,
)
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction

from sinks.tables import FEW_VALUES, TABLES, Table

log = logging.getLogger(__name__)

#: What a write that could not reach the lake's storage raises (a full disk: OSError here, DeltaError from delta-rs).
WRITE_ERRORS = (OSError, DeltaError)
#: How often a commit that lost a race with another writer (a compaction) is retried on the new version.
COMMIT_TRIES = 8
#: Files compaction aims for; a partition's files below it are merged into files of about this size.
COMPACT_TARGET_BYTES = 128 * 1024 * 1024
#: Unreferenced files younger than this are kept by ``vacuum`` (readers of older versions, time travel).
VACUUM_RETENTION_HOURS = 168


def writer_properties() -> WriterProperties:
    """zstd, and dictionaries only where the values are few (on ids and free text they cost more than they save)."""
    return WriterProperties(compression="ZSTD", default_column_properties=ColumnProperties(dictionary_enabled=False),
                            column_properties={name: ColumnProperties(dictionary_enabled=True) for name in FEW_VALUES})


def _configuration(table: Table) -> dict[str, str]:
    return {"delta.dataSkippingStatsColumns": ",".join(("event_date",) + table.statistics)}


def _latest_per_key(table: Table, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, the last of each key only (a batch may carry a key's versions)."""
    return list({table.key_of(row): row for row in rows}.values())


class Lake:
    """The Delta tables under ``root`` (``root/<table>/``)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def uri(self, name: str) -> str:
        """Where a table lives."""
        return str(self.root.resolve() / name)

    def table(self, name: str) -> DeltaTable | None:
        """A table at its newest version, or None if it was never written."""
        try:
            return DeltaTable(self.uri(name))
        except TableNotFoundError:
            return None

    def create(self, name: str) -> DeltaTable:
        """The table, created empty if it does not exist yet (or from a pre-Delta lake's files, see ``_adopt``)."""
        spec = TABLES[name]
        new = not (Path(self.uri(name)) / "_delta_log").exists()
        table = DeltaTable.create(self.uri(name), spec.table_schema, mode="ignore", partition_by=["event_date"],
                                  configuration=_configuration(spec))
        if new:
            self._adopt(name)
        return table

    def _adopt(self, name: str) -> None:
        """Make the Parquet files of a lake written before the Delta layout (every version of a key, with
        its ``_partition``/``_offset``) the table's first version: the latest row of each key. The old
        files stay, unreferenced, until ``touchline vacuum``."""
        old = sorted(str(path) for path in Path(self.uri(name)).glob("event_date=*/*.parquet")
                     if "_offset" in pq.read_schema(path).names)  # the old layout's version column
        if not old:
            return
        spec = TABLES[name]
        connection = duckdb.connect()
        try:
            rows = connection.sql(
                "select * exclude (_partition, _offset) from read_parquet($files, hive_partitioning = true, "
                f"union_by_name = true) qualify row_number() over (partition by {', '.join(spec.key)} "
                "order by _partition desc, _offset desc) = 1", params={"files": old}).to_arrow_table()
        finally:
            connection.close()
        write_deltalake(self.uri(name), rows.select(spec.table_schema.names).cast(spec.table_schema),
                        mode="overwrite", partition_by=["event_date"], writer_properties=writer_properties(),
                        commit_properties=CommitProperties(custom_metadata={"touchline": "adopted a pre-Delta lake"}))
        shutil.rmtree(self.root / "_manifests" / name, ignore_errors=True)
        log.warning("lake: %s held %d Parquet files of the pre-Delta layout: its latest rows (%d) are now the Delta "
                    "table's first version; the old files go with `touchline vacuum`", name, len(old), rows.num_rows)

    def landed(self, name: str, app_id: str) -> int:
        """The last offset a stream's writer ``app_id`` committed to the table (-1 if none)."""
        table = self.table(name)
        version = table.transaction_version(app_id) if table is not None else None
        return -1 if version is None else int(version)

    def write(self, spec: Table, records: Iterable[Mapping[str, Any]], *,
              positions: Mapping[str, int] | None = None) -> int:
        """Merge wire records into a table in one commit; return rows merged.

        ``positions`` (stream writer → its last offset landed) go into the same commit as Delta
        application transactions. A key already in the table is replaced (tables whose rows
        change) or left as it is.
        """
        rows = _latest_per_key(spec, (spec.row(record) for record in records))
        if not rows and not positions:
            return 0
        source = pa.Table.from_pylist(rows, schema=spec.table_schema)
        keys = " and ".join(f"t.{name} = s.{name}" for name in ("event_date", *spec.key))
        transactions = [Transaction(app_id, offset) for app_id, offset in (positions or {}).items()] or None
        for attempt in range(COMMIT_TRIES):
            table = self.create(spec.name)
            # Not streamed, delta-rs reads the (small) source first and prunes the target to the partitions
            # and key ranges it holds; streamed, it scans every file of the table. Pruning writes those key
            # ranges into the commit's log entry, which forget cannot rewrite: not for keys that name people.
            merge = table.merge(source, keys, source_alias="s", target_alias="t",
                                streamed_exec=spec.key_names_people,
                                writer_properties=writer_properties(),
                                commit_properties=CommitProperties(app_transactions=transactions))
            if spec.updates:
                merge = merge.when_matched_update_all()
            try:
                metrics = merge.when_not_matched_insert_all().execute()
                if transactions and not (metrics["num_target_rows_inserted"] or metrics["num_target_rows_updated"]):
                    # delta-rs commits nothing for a merge that changes nothing: record the position alone
                    table.create_write_transaction([], "append", spec.table_schema, partition_by=["event_date"],
                                                   commit_properties=CommitProperties(app_transactions=transactions))
                return len(rows)
            except CommitFailedError as error:  # a compaction committed first: merge again on its version
                if attempt == COMMIT_TRIES - 1:
                    raise
                log.info("lake: %s commit conflicted (%s); retrying", spec.name, error)
        raise AssertionError("unreachable")

    def replace(self, name: str, records: Iterable[Mapping[str, Any]], *, description: str) -> int:
        """Overwrite a table with wire records in one commit; return the new version."""
        spec = TABLES[name]
        rows = pa.Table.from_pylist(_latest_per_key(spec, (spec.row(record) for record in records)),
                                    schema=spec.table_schema)
        self.create(name)
        write_deltalake(self.uri(name), rows, mode="overwrite", partition_by=["event_date"],
                        writer_properties=writer_properties(),
                        commit_properties=CommitProperties(custom_metadata={"touchline": description}))
        return self.version(name)

    def staged_name(self, run: str) -> str:
        """The file name prefix of a batch run's files (see :meth:`commit_staged`)."""
        return f"part-{run}-"

    def commit_staged(self, name: str, run: str, *, description: str, overwrite: bool) -> int:
        """Add the files a batch run wrote into the table's folder in one commit (replacing the table's
        rows when ``overwrite``); return the new version. Until then readers do not see them."""
        root = Path(self.uri(name))
        actions = [_added(root, path) for path in sorted(root.glob(f"event_date=*/{self.staged_name(run)}*.parquet"))]
        return self._commit(name, actions, "overwrite" if overwrite else "append", description)

    def rewrite(self, name: str, changed: Mapping[str, pa.Table], *, description: str) -> int:
        """Replace files of the current version (path → its new rows) in one commit; return the new version.

        The old files stay on disk, as every version's do, until removed (see ``unreferenced``).
        """
        root = Path(self.uri(name))
        now = int(time.time() * 1000)
        actions: list[AddAction | RemoveAction] = []
        for old, rows in changed.items():
            path = Path(old)
            new = path.with_name(f"part-{new_run_id()}.zstd.parquet")
            pq.write_table(rows, new, compression="zstd")
            actions.append(RemoveAction(str(path.relative_to(root)), True, now, path.stat().st_size,
                                        {"event_date": _partition_value(path)}))
            actions.append(_added(root, new))
        return self._commit(name, actions, "append", description)

    def _commit(self, name: str, actions: list[AddAction | RemoveAction], mode: str, description: str) -> int:
        table = self.create(name)
        table.create_write_transaction(actions, mode, TABLES[name].table_schema, partition_by=["event_date"],
                                       commit_properties=CommitProperties(custom_metadata={"touchline": description}))
        return self.version(name)

    def unreferenced(self, name: str) -> list[str]:
        """Data files under the table's folder that its current version does not read (older versions', or
        a failed batch run's)."""
        current = set(self.files(name))
        return [str(path) for path in sorted((self.root.resolve() / name).glob("event_date=*/*.parquet"))
                if str(path) not in current]

    def discard_staged(self, name: str, run: str) -> None:
        """Remove the files of a batch run that failed before its commit."""
        for path in (self.root / name).glob(f"event_date=*/{self.staged_name(run)}*.parquet"):
            path.unlink(missing_ok=True)

    def version(self, name: str) -> int:
        """The table's newest version (-1 if it was never written)."""
        table = self.table(name)
        return -1 if table is None else int(table.version())

    def files(self, name: str) -> list[str]:
        """The Parquet files of the table's newest version."""
        table = self.table(name)
        if table is None:
            return []
        return sorted(uri.removeprefix("file://") for uri in table.file_uris())

    def read_file(self, name: str, path: str, columns: list[str] | None = None) -> pa.Table:
        """One data file of a table, in the table's Arrow types (delta-rs writes text as string_view)."""
        schema = TABLES[name].schema
        if columns is not None:
            schema = pa.schema([schema.field(column) for column in columns])
        return pq.read_table(path, columns=schema.names).cast(schema)

    def compact(self, name: str) -> dict[str, Any]:
        """Merge each partition's small files, then checkpoint the log; return delta-rs's metrics."""
        table = self.table(name)
        if table is None:
            return {}
        metrics = table.optimize.compact(target_size=COMPACT_TARGET_BYTES, writer_properties=writer_properties())
        table.create_checkpoint()
        table.cleanup_metadata()
        return metrics

    def vacuum(self, name: str, retention_hours: int = VACUUM_RETENTION_HOURS) -> list[str]:
        """Delete the files no version younger than ``retention_hours`` references; return them."""
        table = self.table(name)
        if table is None:
            return []
        # full: files no version ever read too (a killed commit's, a pre-Delta lake's), not only removed ones
        return list(table.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False,
                                 full=True))

def _partition_value(path: Path) -> str:
    return path.parent.name.split("=", 1)[1]


def _added(root: Path, path: Path) -> AddAction:
    """The Delta add action of a Parquet file written into the table's folder."""
    stat = path.stat()
    rows = pq.ParquetFile(path).metadata.num_rows
    return AddAction(path=str(path.relative_to(root)), size=stat.st_size,
                     partition_values={"event_date": _partition_value(path)},
                     modification_time=int(stat.st_mtime * 1000), data_change=True, stats=f'{{"numRecords": {rows}}}')


def new_run_id() -> str:
    """A batch run's name for its staged files."""
    return uuid.uuid4().hex


def stream_app_id(topic: str, partition: int, topic_id: str) -> str:
    """The application transaction id of the sink's writer for one topic-partition of one topic incarnation."""
    return f"touchline-land/{topic}/{partition}/{topic_id}"
