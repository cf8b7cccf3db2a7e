"""A checkpoint never passes outputs the broker did not take: the records that made them are read again."""

import pytest
from confluent_kafka import KafkaException, Producer

from streams.runtime.processor import StageRunner
from streams.runtime.state import Position, StateStore
from streams.settings import Settings
from tests.stages.fakes import make_record


class Echo:
    """Emits each record's value again: state-free, so only the outputs decide the checkpoint."""

    name = "echo"
    source = "in"

    def open(self, partition, store):
        pass

    def close(self, partition):
        pass

    def save(self, partition):
        pass

    def apply(self, partition, record, emit):
        emit("out", record.key, record.value)


def runner_with_one_applied_record(tmp_path, producer):
    runner = StageRunner(Echo(), "127.0.0.1:1", Settings(lake=tmp_path / "lake", state_dir=tmp_path / "state"))
    store = runner.stores[0] = StateStore(tmp_path / "store")
    store.checkpoint(Position("epoch", 0))
    runner._producer = producer
    runner.stage.apply(0, make_record(b'{"a": 1}'), lambda topic, key, value: runner._outbox.setdefault(
        topic, []).append({"key": key, "value": value}))
    runner._unsaved[0] = 1
    return runner, store


def test_an_output_the_producer_gave_up_on_stops_the_checkpoint(tmp_path):
    # no broker listens on port 1: the record times out in the producer's queue, which then counts it gone
    gives_up = Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 300, "log_level": 0})
    runner, store = runner_with_one_applied_record(tmp_path, gives_up)
    with pytest.raises(KafkaException, match=r"1 outputs not delivered \(out: .*timed out"):
        runner._checkpoint([0])
    assert gives_up.flush(0) == 0  # the premise: flush reported nothing waiting, the report said it failed
    assert store.position == Position("epoch", 0)  # the applied record is read again after a restart
