"""Where a running stage spends its CPU: py-spy samples of each process of a worker, summed by kind of work.

Used by benchmarks/stream.py (``--profile SECONDS``): py-spy (PyPI; it reads another process's
memory, no change to the stage) samples every child process of the worker at 100 Hz for the given
seconds while the pipeline is saturated; each sample is charged to the innermost frame that names a
kind of work below, and each process is named after the stage whose module its samples show.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

RATE = 100
ROOT = Path(__file__).resolve().parents[1]

#: Kinds of work, by the file of a frame (checked innermost frame first, first match wins).
KINDS: list[tuple[str, tuple[str, ...]]] = [
    ("JSON encode/decode", ("json/", "orjson", "msgspec")),
    ("validation (schemas, pydantic)", ("schemas/", "pydantic")),
    ("state store (RocksDB, codecs)", ("streams/state", "rocksdict", "state_codecs")),
    ("Delta writes (delta-rs, Arrow)", ("deltalake", "pyarrow", "sinks/", "transforms/beam/columns")),
    ("producing (librdkafka)", ("producing.py", "outputs.py")),
    ("identity + stitching (transforms/)", ("transforms/",)),
]
#: Calls into librdkafka seen as their Python caller's line: charged by the function's name.
CLIENT_CALLS = {"poll": "consuming (librdkafka poll)", "consume": "consuming (librdkafka poll)",
                "produce": "producing (librdkafka)", "flush": "producing (librdkafka)",
                "commit": "offset commits", "store_offsets": "offset commits"}
STAGES = {"resolve_touches": "resolve", "stitch_journeys": "stitch", "land_journeys": "land (the sink)",
          "send_alerts": "alerts", "fetch_hubspot": "hubspot"}


def parents() -> dict[int, int]:
    """Every running process's parent, by pid (from /proc)."""
    found: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            found[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return found


def children(pid: int) -> list[int]:
    return [child for child, parent in parents().items() if parent == pid]


def record(pids: list[int], seconds: float, folder: Path) -> dict[int, Path]:
    """Sample each process for ``seconds`` (all at once); the collapsed stacks of each, by pid."""
    spy = shutil.which("py-spy") or str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {pid: folder / f"{pid}.txt" for pid in pids}
    running = [subprocess.Popen([spy, "record", "--format", "raw", "--rate", str(RATE), "--duration",
                                 str(int(seconds)), "--nonblocking", "-o", str(out), "--pid", str(pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for pid, out in outputs.items()]
    for process in running:
        process.wait(timeout=seconds + 60)
    return {pid: out for pid, out in outputs.items() if out.exists()}


def kind_of(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        name, _, where = frame.partition(" (")
        for kind, marks in KINDS:
            if any(mark in where for mark in marks):
                return kind
        if name in CLIENT_CALLS and ("streams/" in where or "confluent" in where):
            return CLIENT_CALLS[name]
    return "runtime and other Python"


def summarize(path: Path, seconds: float) -> tuple[str, float, Counter[str], Counter[str]]:
    """The stage a profile belongs to, its busy share of one core, its samples by kind and by innermost frame."""
    kinds: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        kinds[kind_of(frames)] += int(count)
        leaves[frames[-1].replace(str(ROOT) + "/", "")] += int(count)
        for module, stage in STAGES.items():
            if any(module in frame for frame in frames):
                stages[stage] += int(count)
    total = sum(kinds.values())
    stage = stages.most_common(1)[0][0] if stages else "worker (parent)"
    return stage, total / (RATE * seconds), kinds, leaves


def profile_worker(worker_pid: int, seconds: float, folder: Path, hottest: int = 6) -> None:
    """Sample every stage process of a running worker and print where each spends its CPU."""
    time.sleep(1)
    pids = children(worker_pid) or [worker_pid]
    for pid, path in sorted(record(pids, seconds, folder).items()):
        stage, busy, kinds, leaves = summarize(path, seconds)
        total = sum(kinds.values()) or 1
        shares = ", ".join(f"{kind} {100 * n / total:.0f}%" for kind, n in kinds.most_common() if n / total >= 0.02)
        print(f"  profile, {stage} (pid {pid}): {100 * busy:.0f}% of a core busy; {shares}")
        if leaves:
            print("    hottest frames: " + "; ".join(f"{frame} {100 * n / total:.0f}%"
                                                     for frame, n in leaves.most_common(hottest)))
