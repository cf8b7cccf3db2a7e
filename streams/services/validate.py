"""What ``touchline validate`` finds wrong with a Segment call."""

from __future__ import annotations

from schemas import segment
from schemas.event_map import DEFAULT_EVENT_MAP, EventMap
from schemas.touch import FieldError


def segment_problems(payload: dict[str, object], event_map: EventMap = DEFAULT_EVENT_MAP) -> list[FieldError]:
    """Field errors of a Segment call or of each call in a ``/v1/batch`` envelope."""
    if "batch" not in payload:
        result = segment.convert(payload, event_map=event_map)
        return result if isinstance(result, list) else []
    messages = segment.batch_messages(payload)
    if isinstance(messages, FieldError):
        return [messages]
    problems = []
    for i, message in enumerate(messages):
        result = segment.convert(message, event_map=event_map)
        if isinstance(result, list):
            problems += [FieldError(f"batch[{i}].{e.field}", e.problem) for e in result]
    return problems
