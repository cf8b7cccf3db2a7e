"""Durable copies of stage state beside the lake, for a new host or a lost local disk.

A copy is a tar of a RocksDB checkpoint of one stage partition's store, written under
``<lake>/_state/<group>/<topic>-<partition>/`` as ``<written ms>.<offset>.<epoch>.tar``, so
the newest usable copy is found by listing names, without reading any. The lake may be a
path or an object-store URL: files go through ``pyarrow.fs``. The last ``keep`` copies of
each partition stay; older ones are deleted once a newer one is complete.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import pyarrow.fs as pafs

from sinks.storage import LakeRoot, Storage
from streams.runtime.state import Position, StateStore

log = logging.getLogger(__name__)


class Copy(NamedTuple):
    """One durable copy, as its name describes it."""

    written_ms: int
    position: Position
    path: str  # in the lake's filesystem


class DurableCheckpoints:
    """The durable copies of one consumer group's stage stores."""

    def __init__(self, lake: LakeRoot, group: str, keep: int = 2) -> None:
        storage = Storage(lake)
        self.filesystem = storage.filesystem
        self.root = storage.path_of("_state", group)
        self.keep = keep

    def _folder(self, topic: str, partition: int) -> str:
        return f"{self.root}/{topic}-{partition}"

    def copies(self, topic: str, partition: int) -> list[Copy]:
        """The complete copies of a partition, oldest first."""
        selector = pafs.FileSelector(self._folder(topic, partition), allow_not_found=True)
        found = []
        for info in self.filesystem.get_file_info(selector):
            name = info.base_name
            if not name.endswith(".tar"):
                continue
            written, offset, epoch = name.removesuffix(".tar").split(".", 2)
            found.append(Copy(int(written), Position(epoch, int(offset)), info.path))
        return sorted(found)

    def save(self, store: StateStore, topic: str, partition: int) -> Copy | None:
        """Copy the store's saved state beside the lake; None if it has never been checkpointed."""
        position = store.position
        if position is None:
            return None
        with tempfile.TemporaryDirectory(prefix="touchline-state-") as scratch:
            snapshot, archive = Path(scratch) / "db", Path(scratch) / "state.tar"
            store.snapshot(snapshot)
            with tarfile.open(archive, "w") as tar:  # RocksDB's files are compressed already
                tar.add(snapshot, arcname="db")
            folder = self._folder(topic, partition)
            self.filesystem.create_dir(folder, recursive=True)
            name = f"{int(time.time() * 1000)}.{position.offset}.{position.epoch}.tar"
            temporary = f"{folder}/.{name}.tmp"
            with archive.open("rb") as source, self.filesystem.open_output_stream(temporary) as target:
                shutil.copyfileobj(source, target, 1024 * 1024)
            self.filesystem.move(temporary, f"{folder}/{name}")
        self._remove_torn(folder, keep=temporary)
        copies = self.copies(topic, partition)
        for old in copies[:-self.keep]:
            self.filesystem.delete_file(old.path)
        return copies[-1] if copies else None

    def _remove_torn(self, folder: str, keep: str) -> None:
        """Delete copies that a killed process left half-written (only the partition's owner writes here)."""
        for info in self.filesystem.get_file_info(pafs.FileSelector(folder)):
            if info.base_name.endswith(".tmp") and info.path != keep:
                self.filesystem.delete_file(info.path)
                log.info("removed a torn durable copy %s", info.path)

    def restore(self, copy: Copy, target: Path) -> None:
        """Unpack a copy as the store at ``target`` (replacing whatever is there)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="touchline-state-", dir=target.parent) as scratch:
            archive = Path(scratch) / "state.tar"
            with self.filesystem.open_input_stream(copy.path) as source, archive.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1024 * 1024)
            with tarfile.open(archive) as tar:
                tar.extractall(scratch, filter="data")
            shutil.rmtree(target, ignore_errors=True)
            (Path(scratch) / "db").rename(target)
