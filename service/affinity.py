"""CPU pinning of the server's processes: each worker on a core of its own, its batch helpers on the others.

A worker's event loop and its scoring thread take turns holding the GIL. Left to the scheduler they run on
different cores and every turn moves the GIL (and the scorer's working set) between caches; kept on one core they
hand over in place. Measured on the 2-core benchmark machine, alternating pinned and unpinned servers: /v1/score at
32 connections 0.084-0.090x healthz pinned vs 0.066-0.070x unpinned, batch texts/s unchanged (bench_service.py
measures both configurations in one run; README, Performance).

`redflag serve` pins by default (REDFLAG_PIN_CPUS=0 turns it off): like its default of cores // workers batch
helpers, it assumes the machine (or the container's cpuset) is the service's. Worker i takes the i-th allowed CPU
(modulo their number); its helpers take the remaining allowed CPUs. With one allowed CPU nothing is pinned.
"""

from __future__ import annotations

import os


def allowed_cpus() -> list[int]:
    """CPUs this process may run on (empty where the platform cannot tell)."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    return sorted(os.sched_getaffinity(0))


def plan(worker_index: int, cpus: list[int]) -> tuple[set[int], set[int]] | None:
    """(worker CPUs, helper CPUs) for worker `worker_index`, or None when there is nothing to pin."""
    if len(cpus) < 2:
        return None
    own = cpus[worker_index % len(cpus)]
    return {own}, set(cpus) - {own}


def pin_process(cpus: set[int]) -> bool:
    """Restrict every thread of this process (threads started later inherit it) to `cpus`."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return False
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    done = False
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
            done = True
        except OSError:  # a thread that just exited, or a platform that refuses: run unpinned
            pass
    return done
