"""The Beam options of a backfill or a replay: a runner, how many workers, and what else the user passed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


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
