"""Where a lake lives: a local folder, or an object store (``s3://bucket/prefix``).

An object store is reached with the usual AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``, and ``AWS_ENDPOINT_URL`` for
an S3-compatible service such as MinIO), which delta-rs, Arrow and the DuckDB sessions opened
here all read. Files the lake keeps beside its tables (the suppression list, the audit log, a
batch run's staged files) go through ``pyarrow.fs`` so that one code path serves both.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import pyarrow.fs as pafs

if TYPE_CHECKING:
    import duckdb

#: A lake's root as commands and settings give it: a folder, or an object store URL.
LakeRoot = str | os.PathLike[str]
#: Files read or written at once by the batch paths: an object store answers each request in tens of
#: milliseconds, so a run's hundreds of small files go in parallel (Arrow releases the GIL meanwhile).
PARALLEL_FILES = 16

_T = TypeVar("_T")
_R = TypeVar("_R")


def is_url(root: LakeRoot) -> bool:
    """Whether a lake root names an object store rather than a local folder."""
    scheme = urlsplit(str(root)).scheme
    return len(scheme) > 1 and scheme != "file"  # one letter: a Windows drive


class Storage:
    """A lake root and the file system under it."""

    def __init__(self, root: LakeRoot) -> None:
        text = str(root)
        self.remote = is_url(text)
        if self.remote:
            self.filesystem, base = pafs.FileSystem.from_uri(text)
            self.url = text.rstrip("/")
        else:
            self.filesystem, base = pafs.LocalFileSystem(), str(Path(text.removeprefix("file://")).resolve())
            self.url = base
        self.base = base.rstrip("/")

    def __str__(self) -> str:
        return self.url

    def url_of(self, *parts: str) -> str:
        """A location under the root as delta-rs and DuckDB name it (a local path, or a URL)."""
        return "/".join((self.url, *parts))

    def path_of(self, *parts: str) -> str:
        """A location under the root as ``self.filesystem`` names it."""
        return "/".join((self.base, *parts))

    def path_from_url(self, url: str) -> str:
        """The file system path of a URL delta-rs returned for a file of the lake."""
        if self.remote:
            return url.split("://", 1)[1]
        return url.removeprefix("file://")

    def url_from_path(self, path: str) -> str:
        """The URL of a file system path (the inverse of :meth:`path_from_url`)."""
        return f"{self.url.split('://', 1)[0]}://{path}" if self.remote else path

    @property
    def delta_options(self) -> dict[str, str] | None:
        """delta-rs's storage options beyond what it reads from the environment itself."""
        if not self.remote:
            return None
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""
        return {"AWS_ALLOW_HTTP": "true"} if endpoint.startswith("http://") else {}

    def exists(self, *parts: str) -> bool:
        """Whether anything (a file, or a folder with files) is at a location under the root."""
        info = self.filesystem.get_file_info(self.path_of(*parts))
        if info.type != pafs.FileType.NotFound:
            return True
        # object stores have no folders: a prefix exists when some key starts with it (one level is listed,
        # not every file of the lake)
        selector = pafs.FileSelector(self.path_of(*parts), recursive=False, allow_not_found=True)
        return self.remote and bool(self.filesystem.get_file_info(selector))

    def list(self, *parts: str) -> list[pafs.FileInfo]:
        """The files under a location (recursively); none if there is nothing there."""
        selector = pafs.FileSelector(self.path_of(*parts), recursive=True, allow_not_found=True)
        return [info for info in self.filesystem.get_file_info(selector) if info.type == pafs.FileType.File]

    def stamp(self, *parts: str) -> tuple[int, int] | None:
        """(modification time ns, size) of a file, None if it does not exist: a token that changes on a write."""
        info = self.filesystem.get_file_info(self.path_of(*parts))
        if info.type != pafs.FileType.File:
            return None
        return (info.mtime_ns or 0, info.size or 0)

    def read_bytes(self, *parts: str) -> bytes | None:
        """A file's bytes, None if it does not exist."""
        try:
            with self.filesystem.open_input_stream(self.path_of(*parts)) as source:
                return bytes(source.read())
        except FileNotFoundError:
            return None

    def write_bytes(self, data: bytes, *parts: str) -> None:
        """Replace a file whole: readers see the old bytes or the new, never part of them (an object store's
        put is atomic; on a local disk the bytes go to a temporary name first)."""
        path = self.path_of(*parts)
        if self.remote:
            with self.filesystem.open_output_stream(path) as target:
                target.write(data)
            return
        self.filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        temporary = f"{path}.tmp"
        with self.filesystem.open_output_stream(temporary) as target:
            target.write(data)
        self.filesystem.move(temporary, path)

    def delete(self, path: str) -> None:
        """Delete a file, given as ``self.filesystem`` names it (see :meth:`path_from_url`)."""
        with contextlib.suppress(FileNotFoundError):
            self.filesystem.delete_file(path)

    def delete_folder(self, *parts: str) -> None:
        """Delete a location under the root and everything under it."""
        with contextlib.suppress(FileNotFoundError):
            self.filesystem.delete_dir(self.path_of(*parts))

    def each(self, function: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
        """``function`` over ``items``, several files at a time; results in the items' order."""
        with ThreadPoolExecutor(PARALLEL_FILES if self.remote else 4) as pool:
            return list(pool.map(function, items))

    def connect(self, database: str = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection that can read the lake's files (see :func:`sinks.duckdb_s3.enable_object_store`)."""
        import duckdb  # here: resolve and stitch use Storage and never DuckDB (about 35 MB each)

        from sinks.duckdb_s3 import enable_object_store

        connection = duckdb.connect(database, read_only=read_only)
        if self.remote:
            enable_object_store(connection)
        return connection
