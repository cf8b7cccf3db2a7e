"""What the runtime hands a stage: a confluent-kafka message read into a :class:`Record`; records as JSON bytes."""

import json

import pytest
from confluent_kafka import Message
from hypothesis import given
from hypothesis import strategies as st

from streams.runtime.records import Record, dumps, loads, received


def test_a_message_becomes_a_record_with_where_it_was_read_and_its_bytes():
    message = Message(topic="touches-raw-v1", partition=3, offset=41, key=b"segment:web|e1", value=b'{"a":1}',
                      timestamp=(1, 1_772_445_600_123))
    assert received(message) == Record("touches-raw-v1", 3, 41, 1_772_445_600_123, b"segment:web|e1", b'{"a":1}')


def test_a_record_cannot_be_changed_and_carries_no_dict():
    record = received(Message(topic="t", partition=0, offset=0, value=b"v", timestamp=(0, -1)))
    assert (record.key, record.timestamp_ms) == (None, -1)  # no key; the broker gave no timestamp
    with pytest.raises(AttributeError):
        record.offset = 1  # type: ignore[misc]
    assert not hasattr(record, "__dict__")


def test_records_read_back_every_integer_exactly() -> None:
    """orjson reads an integer past 64 bits as a float: such records are read by ``json`` instead."""
    record = {"ids": [2**64 - 1, 2**64, -(2**63) - 1, 10**25], "nested": {"count": 12345678901234567890123},
              "text": "12345678901234567890123", "amount": 1234.5, "small": 7}
    read = loads(dumps(record))
    assert read == record
    assert all(type(value) is int for value in [*read["ids"], read["nested"]["count"]])


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12))
def test_records_read_back_what_json_reads(value: object) -> None:
    raw = dumps({"value": value})
    assert loads(raw) == json.loads(raw)
