"""Stage state in RocksDB (``rocksdict``): larger than RAM, checkpointed with the input position.

A :class:`StateStore` holds one stage partition's state as named tables of pickled values.
The stage reads and writes them as ordinary mappings (:class:`StoreTable`); writes stay in
memory until :meth:`StateStore.checkpoint`, which writes every change of every table and the
input position in one atomic RocksDB write batch. So the store on disk is always the state
after some input offset, never between two, and a restart resumes at that offset.

Reads go through a bounded cache: after each checkpoint the oldest cached entries are
dropped (they are on disk), so memory holds the recently used state, not all of it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from rocksdict import Checkpoint, Options, Rdict, WriteBatch

from transforms.admission import Arrival, Offer, arrival
from transforms.types import Touch

#: Bumped when the pickled shape of any stage's state changes: an older store is not read.
STATE_FORMAT = 1
_META = b"\x00meta:"  # scalars: position, format, a stage's small state
_ABSENT = object()  # cached knowledge that a key has no value
_UNKNOWN = object()  # not cached
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class Position(NamedTuple):
    """Where a partition's state stands: the next offset to read, on which incarnation of the topic."""

    epoch: str  # the topic's identity: a topic re-created on a new broker has a new one
    offset: int


def _dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class StoreTable(MutableMapping[Any, Any]):
    """One table of a store: a mapping whose writes reach disk at the store's next checkpoint.

    Keys are strings or tuples of strings; values anything picklable.
    """

    def __init__(self, db: Rdict, name: str, codec: Any = None) -> None:
        self._db = db
        self._codec = codec  # (encode, decode): values to what is pickled, and back
        self._prefix = name.encode() + b"\x00"
        self._cache: dict[Any, Any] = {}
        self._dirty: set[Any] = set()

    def _encode(self, key: Any) -> bytes:
        if isinstance(key, tuple):  # (source, event_id): length-prefixed, so no separator can be forged
            first, second = key
            key = f"\x01{len(first)}:{first}{second}"
        return self._prefix + key.encode()

    @staticmethod
    def _decode(text: str) -> Any:
        if not text.startswith("\x01"):
            return text
        size, _, rest = text[1:].partition(":")
        return rest[:int(size)], rest[int(size):]

    def _load(self, key: Any) -> Any:
        value = self._cache.get(key, _UNKNOWN)
        if value is _UNKNOWN:
            raw = self._db.get(self._encode(key))
            if raw is None:
                value = _ABSENT
            else:
                value = pickle.loads(raw)
                if self._codec is not None:
                    value = self._codec.decode(value)
            self._cache[key] = value
        return value

    def __getitem__(self, key: Any) -> Any:
        value = self._load(key)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        value = self._load(key)
        return default if value is _ABSENT else value

    def __contains__(self, key: object) -> bool:
        return self._load(key) is not _ABSENT

    def __setitem__(self, key: Any, value: Any) -> None:
        cache = self._cache
        cache.pop(key, None)  # to the end: the last entries dropped from the cache are the ones written last
        cache[key] = value
        self._dirty.add(key)

    def __delitem__(self, key: Any) -> None:
        if self._load(key) is _ABSENT:
            raise KeyError(key)
        self._cache[key] = _ABSENT
        self._dirty.add(key)

    def pop(self, key: Any, default: Any = _UNKNOWN) -> Any:
        value = self._load(key)
        if value is _ABSENT:
            if default is _UNKNOWN:
                raise KeyError(key)
            return default
        self._cache[key] = _ABSENT
        self._dirty.add(key)
        return value

    def _stored_keys(self) -> Iterator[Any]:
        prefix = self._prefix
        for raw in self._db.keys(from_key=prefix):
            if not raw.startswith(prefix):
                return
            yield self._decode(raw[len(prefix):].decode())

    def __iter__(self) -> Iterator[Any]:
        """Every key (a scan of the table on disk plus unsaved changes); for tests and tools, not the hot path."""
        unsaved = {key for key in self._dirty if self._cache[key] is not _ABSENT}
        for key in self._stored_keys():
            unsaved.discard(key)
            if key not in self._dirty or self._cache[key] is not _ABSENT:
                yield key
        yield from unsaved

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def _save_into(self, batch: WriteBatch) -> int:
        encode = self._codec.encode if self._codec is not None else None
        for key in self._dirty:
            value = self._cache[key]
            if value is _ABSENT:
                batch.delete(self._encode(key))
            else:
                batch.put(self._encode(key), _dumps(encode(value) if encode else value))
        saved = len(self._dirty)
        self._dirty.clear()
        return saved

    def _trim(self, keep: int) -> None:
        """Forget the oldest cached entries beyond ``keep`` (only after a checkpoint: nothing is unsaved)."""
        excess = len(self._cache) - keep
        if excess > 0:
            for key in list(islice(self._cache, excess)):
                del self._cache[key]


class StateStore:
    """A stage partition's state on local disk: tables, small values, and the input position."""

    def __init__(self, path: Path, *, cache_entries: int = 200_000) -> None:
        path.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        options.optimize_for_point_lookup(64)  # bloom filters and a block cache: most reads are of one key
        self.path = path
        self.db = Rdict(str(path), options)
        self.cache_entries = cache_entries
        self.tables: dict[str, StoreTable] = {}
        self.values: dict[str, Any] = {}  # small state saved whole at each checkpoint
        self.savers: list[Callable[[WriteBatch], None]] = []  # write what they keep outside the tables
        stored_format = self._get_meta("format")
        if stored_format not in (None, STATE_FORMAT):
            raise ValueError(f"state store {path} has format {stored_format}, this version reads {STATE_FORMAT}")

    def _get_meta(self, name: str) -> Any:
        raw = self.db.get(_META + name.encode())
        return None if raw is None else pickle.loads(raw)

    def table(self, name: str, codec: Any = None) -> StoreTable:
        """The table called ``name`` (created empty on first use); ``codec`` turns values into what is pickled."""
        if name not in self.tables:
            self.tables[name] = StoreTable(self.db, name, codec)
        return self.tables[name]

    def value(self, name: str, default: Any = None) -> Any:
        """A small value saved whole at each checkpoint (a watermark, a heap of deadlines)."""
        if name not in self.values:
            stored = self._get_meta("value:" + name)
            self.values[name] = default if stored is None else stored
        return self.values[name]

    def set_value(self, name: str, value: Any) -> None:
        """Replace a small value; saved at the next checkpoint."""
        self.values[name] = value

    @property
    def position(self) -> Position | None:
        """The input position the saved state stands at (None for a new store)."""
        stored = self._get_meta("position")
        return Position(*stored) if stored else None

    def checkpoint(self, position: Position) -> int:
        """Save every change and ``position`` in one atomic write; return how many entries changed."""
        batch = WriteBatch(raw_mode=True)
        for save in self.savers:
            save(batch)
        changed = sum(table._save_into(batch) for table in self.tables.values())
        for name, value in self.values.items():
            batch.put(_META + b"value:" + name.encode(), _dumps(value))
        batch.put(_META + b"position", _dumps(tuple(position)))
        batch.put(_META + b"format", _dumps(STATE_FORMAT))
        self.db.write(batch)
        keep = self.cache_entries // max(len(self.tables), 1)
        for table in self.tables.values():
            table._trim(keep)
        return changed

    def snapshot(self, directory: Path) -> None:
        """A consistent copy of the saved state in ``directory`` (RocksDB hard-links its files)."""
        self.db.flush()
        Checkpoint(self.db).create_checkpoint(str(directory))

    def close(self) -> None:
        """Close the database (unsaved changes are dropped: the input after the position is read again)."""
        self.db.close()


def micros(moment: datetime) -> int:
    """An aware time as microseconds since 1970 (negative before)."""
    return (moment - _EPOCH) // _MICROSECOND


def moment(value: int) -> datetime:
    """Microseconds since 1970 as an aware UTC time."""
    return _EPOCH + value * _MICROSECOND


_HOUR = 3_600_000_000  # microseconds
#: How far back (in event time, from the newest touch) repeats are recognised: CRM exports are re-imported.
DEDUPE_WINDOW = timedelta(days=400)


def _bucket(micros: int) -> bytes:
    """The hour of an event time, as 8 bytes that sort as time does."""
    return (micros // _HOUR + (1 << 62)).to_bytes(8, "big")


_SIGN = 1 << 63  # times stored as unsigned big-endian: their bytes sort as the times do


def _rank_bytes(rank: Arrival) -> bytes:
    """Received, event time (8 bytes each, sorting as the times do), then the content digest; a rank stored
    before digests were (16 bytes) sorts before a rank of the same times with one: the copy held stays."""
    received, occurred, digest = rank
    return (micros(received) + _SIGN).to_bytes(8, "big") + (micros(occurred) + _SIGN).to_bytes(8, "big") + digest


def _occurred(rank: bytes) -> int:
    return int.from_bytes(rank[8:16], "big") - _SIGN


class RecentKeys:
    """The dedupe memory of a stage: for each key whose admitted copy lies within ``window`` of event time
    before the newest, that copy's arrival rank (:func:`transforms.admission.arrival`).

    :meth:`offer` answers as :class:`transforms.admission.AllCopies` does (without ``by_content``), and
    only from the input: a copy whose event time lies past the window is new, and so is one whose key's
    admitted copy does, whether or not a checkpoint has dropped it yet. Each key is indexed by the hour of
    its copy's event time too; at checkpoints the hours past the window are dropped (their keys, then one
    range delete), which bounds the store. A copy older than the window is passed on; downstream the
    lake's key absorbs it (a journey takes it as a late touch).
    """

    def __init__(self, store: StateStore, name: str, window: timedelta) -> None:
        self.store, self.name = store, name
        self.window = window // _MICROSECOND
        self.newest: int | None = store.value(name + ":newest")
        self._keys = _META + name.encode() + b":copies:"  # key -> arrival rank of its admitted copy
        self._hours = _META + name.encode() + b":copy-hours:"  # hour of that copy's event time + key -> b""
        self._new: dict[bytes, bytes] = {}  # stored at the next checkpoint
        self._get = store.db.get
        self.replaced: datetime | None = None  # the event time of the copy the last offer displaced
        store.savers.append(self._save_into)

    @property
    def watermark(self) -> datetime | None:
        """The newest event time seen."""
        return None if self.newest is None else moment(self.newest)

    def offer(self, touch: Touch) -> Offer:
        """Whether ``touch`` is its key's first copy, a better one than the copy admitted, or neither."""
        rank = arrival(touch)
        self.replaced = None
        at_micros = micros(rank[1])
        if self.newest is None or at_micros > self.newest:
            self.newest = at_micros
        horizon = self.newest - self.window
        if at_micros < horizon:
            return Offer.NEW  # older than anything remembered: nothing to compare with
        source, event_id = touch.key
        name = f"{len(source)}:{source}{event_id}".encode()
        stored = _rank_bytes(rank)
        held = self._new.get(name) or self._get(self._keys + name)
        if held is None or _occurred(held) < horizon:
            self._new[name] = stored
            return Offer.NEW
        if stored < held:
            self._new[name] = stored
            self.replaced = moment(_occurred(held))
            return Offer.BETTER
        return Offer.SEEN

    def _save_into(self, batch: WriteBatch) -> None:
        """At a checkpoint: store the new ranks, drop the hours past the window."""
        self.store.set_value(self.name + ":newest", self.newest)
        if not self.store.value(self.name + ":by-copy"):  # a store of the key-only memory: drop it
            legacy = _META + self.name.encode() + b":by-hour:"
            batch.delete_range(legacy, legacy + b"\xff")
            self.store.set_value(self.name + ":by-copy", True)
        if self.newest is not None:
            cutoff = self._hours + _bucket(self.newest - self.window)
            for indexed in self.store.db.keys(from_key=self._hours):
                if indexed >= cutoff:
                    break
                name = indexed[len(self._hours) + 8:]
                held = self._new.get(name) or self._get(self._keys + name)
                if held is not None and self._hours + _bucket(_occurred(held)) < cutoff:
                    self._new.pop(name, None)
                    batch.delete(self._keys + name)
            batch.delete_range(self._hours, cutoff)
        for name, stored in self._new.items():
            batch.put(self._keys + name, stored)
            batch.put(self._hours + _bucket(_occurred(stored)) + name, b"")
        self._new.clear()

    def __len__(self) -> int:
        """How many keys are stored (a scan: for tests and tools)."""
        count = 0
        for stored in self.store.db.keys(from_key=self._keys):
            if not stored.startswith(self._keys):
                break
            count += 1
        return count + sum(1 for name in self._new if self._get(self._keys + name) is None)
