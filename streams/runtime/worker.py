"""``touchline worker``: the pipeline's stages, each in its own consumer group.

resolve-touches (validate_touches + resolve_identity), stitch-journeys (stitch_journeys +
watch_lead_sla) and land-journeys (the lake sink); with ``TOUCHLINE_HUBSPOT_TOKEN`` also
fetch-hubspot (stage name ``hubspot``: HubSpot webhook events to touches). Start more workers to
split the partitions of touches-by-account-v1 and the journey topics between them.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from streams.runtime import stage_process
from streams.settings import Settings
from transforms.settings import JourneySettings

if TYPE_CHECKING:
    from sinks.lake import Lake

STAGES = ("resolve", "stitch", "land")
OPTIONAL_STAGES = ("alerts", "hubspot")  # run when configured (TOUCHLINE_ALERT_RULES, TOUCHLINE_HUBSPOT_TOKEN)


def default_stages(settings: Settings) -> tuple[str, ...]:
    """The stages a worker runs unless told: the pipeline's, and the optional stages that are configured."""
    return (STAGES + (("alerts",) if settings.alert_rules else ())
            + (("hubspot",) if settings.hubspot_token is not None else ()))


@dataclass
class Worker:
    """The running stages of one worker: one process per stage (or threads, for tests).

    With processes, the worker's own process only supervises: it imports none of the stages' libraries
    (see :mod:`streams.runtime.stage_process`)."""

    bootstrap: str
    settings: Settings
    journey: JourneySettings = field(default_factory=JourneySettings)
    stages: tuple[str, ...] | None = None  # None: default_stages(settings)
    processes: bool = True  # stages are CPU-bound Python: one process each, so they use every core
    threads: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stages = self.stages or default_stages(self.settings)
        self.landing = self.settings.lake_settings()
        context = multiprocessing.get_context("spawn")
        self.stop: Any = context.Event() if self.processes else threading.Event()
        self._context = context
        if "alerts" in self.stages:
            stage_process.alert_rules(self.settings)  # a missing or broken rules file fails here, not in a child
        if "hubspot" in self.stages:
            stage_process.hubspot_token(self.settings)

    @cached_property
    def lake(self) -> Lake:
        """The lake the worker lands in."""
        from sinks.lake import Lake  # here: the worker's own process never needs delta-rs

        return Lake(self.landing.root)

    def runner(self, name: str) -> Any:
        """The runner of a stage by name."""
        return stage_process.build(name, self.bootstrap, self.settings, self.journey)

    def start(self) -> Worker:
        """Create topics, tables and the catalog, then start each stage."""
        self._prepare()
        for name in self.stages or ():
            if self.processes:
                task: Any = self._context.Process(
                    target=stage_process.run, name=f"touchline-{name}", daemon=True,
                    args=(name, self.bootstrap, self.settings, self.journey, self.stop))
            else:
                task = threading.Thread(target=self.runner(name).run, args=(self.stop,), name=f"touchline-{name}",
                                        daemon=True)
            task.start()
            self.threads.append(task)
        return self

    def _prepare(self) -> None:
        """:func:`stage_process.prepare`, in a process of its own when the stages have theirs (its error is
        raised here, as it was raised there)."""
        if not self.processes:
            stage_process.prepare(self.bootstrap, self.settings)
            return
        with ProcessPoolExecutor(1, mp_context=self._context, initializer=stage_process.as_child) as pool:
            pool.submit(stage_process.prepare, self.bootstrap, self.settings).result()

    def close(self, timeout: float = 30.0) -> None:
        """Stop polling, land what is buffered, close clients."""
        self.stop.set()
        for task in self.threads:
            task.join(timeout)
            if self.processes and task.is_alive():
                task.kill()

    def alive(self) -> bool:
        """Whether every stage is still running."""
        return all(task.is_alive() for task in self.threads)
