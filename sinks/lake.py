"""The lake: one Delta Lake table per name under ``root``, hive-partitioned by ``event_date``.

Tables are written with ``deltalake`` (delta-rs). A stream's micro-batch of one
topic (all its partitions) is one commit: its rows merge on the table's key (so a table never
holds two rows for one key) and the commit records each partition's last offset as an
application transaction named after the topic-partition and the topic's identity, so a sink
restarted after a crash resumes after what committed and lands nothing twice. Batch paths write Parquet
files into the table's folder and add them in one commit. Readers see committed versions only.
The root is a local folder or an object store URL (see ``sinks.storage``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
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
from deltalake.schema import Field
from deltalake.transaction import AddAction, RemoveAction

from sinks.storage import LakeRoot, Storage
from sinks.tables import FEW_VALUES, RETRACTED, TABLES, Table

log = logging.getLogger(__name__)

#: What a write that could not reach the lake's storage raises (a full disk: OSError here, DeltaError from delta-rs).
WRITE_ERRORS = (OSError, DeltaError)
#: How often a commit that lost a race with another writer (a compaction) is retried on the new version.
COMMIT_TRIES = 8
#: Files compaction aims for; a partition's files below it are merged into files of about this size.
COMPACT_TARGET_BYTES = 128 * 1024 * 1024
#: The table property that says some files lack columns added since (see ``Lake._evolve``).
FILES_MISS_COLUMNS = "touchline.filesMissColumns"
#: Unreferenced files younger than this are kept by ``vacuum`` (readers of older versions, time travel).
VACUUM_RETENTION_HOURS = 168


def writer_properties() -> WriterProperties:
    """zstd, and dictionaries only where the values are few (on ids and free text they cost more than they save)."""
    return WriterProperties(compression="ZSTD", default_column_properties=ColumnProperties(dictionary_enabled=False),
                            column_properties={name: ColumnProperties(dictionary_enabled=True) for name in FEW_VALUES})


def _configuration(table: Table) -> dict[str, str]:
    return {"delta.dataSkippingStatsColumns": ",".join(("event_date",) + table.statistics)}


def _latest_per_key(table: Table, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, the last of each key only (a batch may carry a key's versions); in a table that retracts
    rows, the last of each key on each date (a retraction at one date, the key's new row at another)."""
    if table.retracts:
        return list({(row["event_date"], *table.key_of(row)): row for row in rows}.values())
    return list({table.key_of(row): row for row in rows}.values())


class Lake:
    """The Delta tables under ``root`` (``root/<table>/``): a folder, or an object store URL."""

    def __init__(self, root: LakeRoot) -> None:
        self.storage = Storage(root)

    def __str__(self) -> str:
        return str(self.storage)

    @property
    def root(self) -> str:
        """The lake's root: a local path, or a URL."""
        return self.storage.url

    def uri(self, name: str) -> str:
        """Where a table lives."""
        return self.storage.url_of(name)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB session that can read the lake's files."""
        return self.storage.connect()

    def table(self, name: str) -> DeltaTable | None:
        """A table at its newest version, or None if it was never written."""
        try:
            return DeltaTable(self.uri(name), storage_options=self.storage.delta_options)
        except TableNotFoundError:
            return None

    def create(self, name: str) -> DeltaTable:
        """The table, created empty if it does not exist yet (or from a pre-Delta lake's files, see ``_adopt``)."""
        table = self.table(name)
        if table is not None:
            return self._evolve(table, TABLES[name])
        spec = TABLES[name]
        table = DeltaTable.create(self.uri(name), spec.table_schema, mode="ignore", partition_by=["event_date"],
                                  configuration=_configuration(spec), storage_options=self.storage.delta_options)
        if self._adopt(name):
            return self.create(name)
        return table

    def _evolve(self, table: DeltaTable, spec: Table) -> DeltaTable:
        """The table with the columns a newer Touchline added to its schema (null in the files written
        before; Delta readers read them so, and the catalog reads such a table's files by name)."""
        present = set(table.schema().to_arrow().names)
        missing = [field for field in spec.table_schema if field.name not in present]
        if not missing:
            return table
        table.alter.add_columns([Field.from_arrow(field) for field in missing])
        table.alter.set_table_properties({FILES_MISS_COLUMNS: "true"}, raise_if_not_exists=False)
        log.warning("lake: %s gained the columns %s", spec.name, ", ".join(field.name for field in missing))
        return self.table(spec.name) or table

    def current_files(self, name: str) -> tuple[list[str], bool]:
        """The Parquet files of the table's newest version, and whether some were written before columns were
        added to it (one reading of the log)."""
        table = self.table(name)
        if table is None:
            return [], False
        files = sorted(self.storage.url_from_path(self.storage.path_from_url(uri)) for uri in table.file_uris())
        return files, table.metadata().configuration.get(FILES_MISS_COLUMNS) == "true"

    def _data_files(self, name: str) -> list[pafs.FileInfo]:
        """Every Parquet file in the table's partition folders, of any version or none (file system paths)."""
        return [info for info in self.storage.list(name)
                if info.base_name.endswith(".parquet") and "/event_date=" in info.path]

    def _adopt(self, name: str) -> bool:
        """Make the Parquet files of a lake written before the Delta layout (every version of a key, with
        its ``_partition``/``_offset``) the table's first version: the latest row of each key. The old
        files stay, unreferenced, until ``touchline vacuum``. Return whether there were any."""
        filesystem = self.storage.filesystem
        old = sorted(self.storage.url_from_path(info.path) for info in self._data_files(name)
                     if "_offset" in pq.read_schema(info.path, filesystem=filesystem).names)  # the old version column
        if not old:
            return False
        spec = TABLES[name]
        connection = self.connect()
        try:
            rows = connection.sql(
                "select * exclude (_partition, _offset) from read_parquet($files, hive_partitioning = true, "
                f"union_by_name = true) qualify row_number() over (partition by {', '.join(spec.key)} "
                "order by _partition desc, _offset desc) = 1", params={"files": old}).to_arrow_table()
        finally:
            connection.close()
        write_deltalake(self.uri(name), rows.select(spec.table_schema.names).cast(spec.table_schema),
                        mode="overwrite", partition_by=["event_date"], writer_properties=writer_properties(),
                        commit_properties=CommitProperties(custom_metadata={"touchline": "adopted a pre-Delta lake"}),
                        storage_options=self.storage.delta_options)
        self.storage.delete_folder("_manifests", name)
        log.warning("lake: %s held %d Parquet files of the pre-Delta layout: its latest rows (%d) are now the Delta "
                    "table's first version; the old files go with `touchline vacuum`", name, len(old), rows.num_rows)
        return True

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
        change) or left as it is; a record marked ``retracted`` (tables that retract rows) deletes its key.
        """
        rows = _latest_per_key(spec, (spec.row(record) for record in records))
        if not rows and not positions:
            return 0
        schema = spec.table_schema.append(pa.field(RETRACTED, pa.bool_())) if spec.retracts else spec.table_schema
        source = pa.Table.from_pylist(rows, schema=schema)
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
            if spec.retracts:
                merge = (merge.when_matched_delete(f"s.{RETRACTED}")
                         .when_matched_update_all(f"not s.{RETRACTED}", except_cols=[RETRACTED])
                         .when_not_matched_insert_all(f"not s.{RETRACTED}", except_cols=[RETRACTED]))
            elif spec.updates:
                merge = merge.when_matched_update_all().when_not_matched_insert_all()
            else:
                merge = merge.when_not_matched_insert_all()
            try:
                metrics = merge.execute()
                if transactions and not (metrics["num_target_rows_inserted"] or metrics["num_target_rows_updated"]
                                         or metrics["num_target_rows_deleted"]):
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
                        commit_properties=CommitProperties(custom_metadata={"touchline": description}),
                        storage_options=self.storage.delta_options)
        return self.version(name)

    def staged_name(self, run: str) -> str:
        """The file name prefix of a batch run's files (see :meth:`commit_staged`)."""
        return f"part-{run}-"

    def staged_path(self, name: str, run: str, day: str, writer: int) -> str:
        """Where a batch run's writer puts its rows of one event date (a file system path, see ``storage``)."""
        return self.storage.path_of(name, f"event_date={day}", f"{self.staged_name(run)}{writer}.zstd.parquet")

    def write_staged(self, name: str, run: str, writer: int, days: Iterable[tuple[str, pa.Table]]) -> None:
        """Write a batch run's rows of some event dates (date, rows), one file each (see :meth:`commit_staged`)."""
        def write(day_rows: tuple[str, pa.Table]) -> None:
            path = self.staged_path(name, run, day_rows[0], writer)
            if not self.storage.remote:
                self.storage.filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
            pq.write_table(day_rows[1], path, compression="zstd", filesystem=self.storage.filesystem)
        self.storage.each(write, days)

    def _staged(self, name: str, run: str) -> list[pafs.FileInfo]:
        return sorted((info for info in self._data_files(name) if info.base_name.startswith(self.staged_name(run))),
                      key=lambda info: info.path)

    def commit_staged(self, name: str, run: str, *, description: str, overwrite: bool) -> int:
        """Add the files a batch run wrote into the table's folder in one commit (replacing the table's
        rows when ``overwrite``); return the new version. Until then readers do not see them."""
        actions = self.storage.each(lambda info: self._added(name, info), self._staged(name, run))
        return self._commit(name, actions, "overwrite" if overwrite else "append", description)

    def rewrite(self, name: str, changed: Mapping[str, pa.Table], *, description: str) -> int:
        """Replace files of the current version (path → its new rows) in one commit; return the new version.

        The old files stay on disk, as every version's do, until removed (see ``unreferenced``).
        """
        filesystem = self.storage.filesystem
        now = int(time.time() * 1000)
        actions: list[AddAction | RemoveAction] = []
        for old, rows in changed.items():
            path = self.storage.path_from_url(old)
            new = f"{path.rsplit('/', 1)[0]}/part-{new_run_id()}.zstd.parquet"
            pq.write_table(rows, new, compression="zstd", filesystem=filesystem)
            actions.append(RemoveAction(self._relative(name, path), True, now, filesystem.get_file_info(path).size,
                                        {"event_date": _partition_value(path)}))
            actions.append(self._added(name, filesystem.get_file_info(new)))
        return self._commit(name, actions, "append", description)

    def _relative(self, name: str, path: str) -> str:
        """A data file's path in the table's log: relative to the table's folder."""
        return path.removeprefix(self.storage.path_of(name) + "/")

    def _added(self, name: str, info: pafs.FileInfo) -> AddAction:
        """The Delta add action of a Parquet file written into the table's folder."""
        with self.storage.filesystem.open_input_file(info.path) as source:
            rows = pq.ParquetFile(source).metadata.num_rows
        return AddAction(path=self._relative(name, info.path), size=info.size,
                         partition_values={"event_date": _partition_value(info.path)},
                         modification_time=(info.mtime_ns or time.time_ns()) // 1_000_000, data_change=True,
                         stats=f'{{"numRecords": {rows}}}')

    def _commit(self, name: str, actions: list[AddAction | RemoveAction], mode: str, description: str) -> int:
        table = self.create(name)
        table.create_write_transaction(actions, mode, TABLES[name].table_schema, partition_by=["event_date"],
                                       commit_properties=CommitProperties(custom_metadata={"touchline": description}))
        return self.version(name)

    def unreferenced(self, name: str) -> list[str]:
        """Data files under the table's folder that its current version does not read (older versions', or
        a failed batch run's)."""
        current = set(self.files(name))
        found = sorted(self.storage.url_from_path(info.path) for info in self._data_files(name))
        return [url for url in found if url not in current]

    def discard_staged(self, name: str, run: str) -> None:
        """Remove the files of a batch run that failed before its commit."""
        for info in self._staged(name, run):
            self.storage.delete(info.path)

    def delete_file(self, url: str) -> None:
        """Delete one data file (as :meth:`files` or :meth:`unreferenced` name it)."""
        self.storage.delete(self.storage.path_from_url(url))

    def version(self, name: str) -> int:
        """The table's newest version (-1 if it was never written)."""
        table = self.table(name)
        return -1 if table is None else int(table.version())

    def files(self, name: str) -> list[str]:
        """The Parquet files of the table's newest version."""
        return self.current_files(name)[0]

    def rows(self, name: str) -> int:
        """Rows in the table's newest version (from the log's file statistics, every writer here records them)."""
        table = self.table(name)
        if table is None:
            return 0
        return int(pc.sum(pa.table(table.get_add_actions(flatten=True))["num_records"]).as_py() or 0)

    def read_files(self, name: str, paths: Iterable[str], columns: list[str] | None = None) -> list[pa.Table]:
        """Data files of a table (see :meth:`read_file`), several at a time."""
        return self.storage.each(lambda path: self.read_file(name, path, columns), paths)

    def read_file(self, name: str, path: str, columns: list[str] | None = None) -> pa.Table:
        """One data file of a table, in the table's Arrow types (delta-rs writes text as string_view)."""
        schema = TABLES[name].schema
        if columns is not None:
            schema = pa.schema([schema.field(column) for column in columns])
        return pq.read_table(self.storage.path_from_url(path), columns=schema.names,
                             filesystem=self.storage.filesystem).cast(schema)

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

def _partition_value(path: str) -> str:
    return path.rsplit("/", 2)[-2].split("=", 1)[1]


def new_run_id() -> str:
    """A batch run's name for its staged files."""
    return uuid.uuid4().hex


def stream_app_id(topic: str, partition: int, topic_id: str) -> str:
    """The application transaction id of the sink's writer for one topic-partition of one topic incarnation."""
    return f"touchline-land/{topic}/{partition}/{topic_id}"
