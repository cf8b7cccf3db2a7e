"""``touchline backfill`` and ``touchline replay`` as plain calls: the Beam pipeline on a runner with its workers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.channel_rules import ChannelRules
    from streams.settings import LakeSettings
    from transforms.settings import JourneySettings


@contextmanager
def beam_arguments(runner: str, workers: int | None, extra: tuple[str, ...]) -> Iterator[list[str]]:
    """Beam's options for ``--runner`` and ``--workers``: N processes on the DirectRunner; on the DaskRunner with
    no scheduler named, a local Dask cluster of N worker processes for the run's length."""
    args = [f"--runner={runner}", *extra]
    if runner == "DirectRunner":
        if workers and workers > 1:
            args += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
        else:
            args += ["--direct_running_mode=in_memory"]  # one process: no gRPC between runner and worker
    if runner == "DaskRunner" and workers and not any(arg.startswith("--dask_client_address") for arg in extra):
        from dask.distributed import LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster:
            yield [*args, f"--dask_client_address={cluster.scheduler_address}"]
        return
    yield args


def backfill(inputs: Sequence[str], landing: LakeSettings, journey: JourneySettings, *, runner: str = "DirectRunner",
             workers: int | None = None, beam_args: tuple[str, ...] = ()) -> dict[str, int]:
    """Rebuild the lake's touches, journey_touches and dead_letters from raw touch files; the tables' new versions."""
    from streams.runtime.beam_runner import run_pipeline  # Beam loads in seconds: only when a run is asked for

    with beam_arguments(runner, workers, beam_args) as args:
        return run_pipeline(inputs, landing, journey, beam_args=args)


def replay(landing: LakeSettings, journey: JourneySettings, *, runner: str = "DirectRunner",
           workers: int | None = None, beam_args: tuple[str, ...] = (), event_map: str | None = None,
           channel_rules: ChannelRules | None = None) -> dict[str, int]:
    """Re-stitch journey_touches from the lake's own touches; the tables' new versions."""
    from streams.runtime.beam_runner import run_pipeline

    with beam_arguments(runner, workers, beam_args) as args:
        return run_pipeline((), landing, journey, replay=True, event_map=event_map, channel_rules=channel_rules,
                            beam_args=args)
