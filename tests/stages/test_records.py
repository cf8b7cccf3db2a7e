"""What the runtime hands a stage: a confluent-kafka message read into a :class:`Record`."""

import pytest
from confluent_kafka import Message

from streams.runtime.records import Record, received


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
