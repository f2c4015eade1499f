"""Batch fan-out: a large batch is split into contiguous chunks scored at the same time in several processes.

Scoring holds the GIL, so threads in one worker cannot share a batch's work; helper processes can. Each helper
loads the same verified artifact as the worker (sha256 checked again on load) and scores one chunk; the worker's own
scoring thread scores the first chunk meanwhile, and the results are put back in order. Helpers start in the
background after the worker is ready; until they have loaded (or if one dies), batches are scored in the worker
alone — a slower batch, never a failed one. With as many uvicorn workers as cores there is nothing to gain, so
`redflag serve` sizes the pool as cores // workers (REDFLAG_BATCH_PROCESSES overrides; 1 turns fan-out off).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from service.rows import Encoded, encode

log = logging.getLogger("redflag")

_scorer: Any = None


def _exit_with_parent(parent: int) -> None:
    """A helper never outlives its worker (even one killed with SIGKILL): it exits once it is re-parented."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _load(path: str, parent: int, cpus: list[int] | None = None) -> None:
    global _scorer
    from model.scorer import Scorer

    if cpus:  # the worker's own core is left to the worker (service/affinity.py)
        from service.affinity import pin_process

        pin_process(set(cpus))

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="redflag-parent-watch").start()

    _scorer = Scorer.load(Path(path))
    _scorer.score(["预热 warm-up"])


def _ping() -> bool:
    return _scorer is not None


def _score(texts: list[str], ids: list[str | None]) -> list[Encoded]:
    return encode(_scorer.score(texts, ids))


def chunks(n: int, parts: int, min_chunk: int) -> list[tuple[int, int]]:
    """[start, end) ranges splitting n items into at most `parts` near-equal contiguous chunks of >= min_chunk."""
    parts = max(1, min(parts, n // max(1, min_chunk)))
    bounds = [n * k // parts for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts)]


class BatchPool:
    """`processes - 1` helper processes beside the worker's own scoring thread."""

    def __init__(self, model_path: Path, processes: int, min_chunk: int = 8, cpus: set[int] | None = None) -> None:
        self.model_path, self.processes, self.min_chunk = model_path, processes, min_chunk
        self.cpus = sorted(cpus) if cpus else None  # where helpers may run (None: anywhere)
        self.executor: ProcessPoolExecutor | None = None
        self.ready = False
        self._warmup: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.processes <= 1:
            return
        self.executor = ProcessPoolExecutor(
            max_workers=self.processes - 1,
            mp_context=mp.get_context("spawn"),
            initializer=_load,
            initargs=(str(self.model_path), os.getpid(), self.cpus),
        )
        self._warmup = asyncio.get_running_loop().create_task(self._wait_ready(), name="redflag-batch-pool")

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            pings = [loop.run_in_executor(self.executor, _ping) for _ in range(self.processes - 1)]
            self.ready = all(await asyncio.gather(*pings))
            log.info("batch fan-out: %d helper process(es) ready", self.processes - 1)
        except Exception as e:  # a helper that cannot load leaves batches to the worker alone
            log.warning("batch fan-out disabled: helper process failed to load the model: %s", e)
            self.ready = False

    async def stop(self) -> None:
        """Stop the helpers: an orderly executor shutdown (no batch is in flight once uvicorn has drained its
        requests), and terminate whatever is still running after a few seconds."""
        if self._warmup is not None and not self._warmup.done():
            self._warmup.cancel()
        executor, self.executor, self.ready = self.executor, None, False
        if executor is None:
            return
        procs = list(getattr(executor, "_processes", {}).values())
        try:
            await asyncio.wait_for(asyncio.to_thread(executor.shutdown, True, cancel_futures=True), timeout=5)
        except TimeoutError:
            for p in procs:
                p.terminate()

    async def score(
        self,
        texts: list[str],
        ids: list[str | None],
        local: Callable[[list[str], list[str | None]], Awaitable[list[Any]]],
    ) -> list[Any]:
        """Encoded results (service.rows.Encoded) for texts in order: chunk 0 through `local` (the worker's
        scoring thread, which must return them encoded too), the rest in helpers."""
        parts = chunks(len(texts), self.processes, self.min_chunk) if self.ready else [(0, len(texts))]
        if len(parts) == 1:
            return await local(texts, ids)
        loop = asyncio.get_running_loop()
        remote = [loop.run_in_executor(self.executor, _score, texts[a:b], ids[a:b]) for a, b in parts[1:]]
        a, b = parts[0]
        first = await local(texts[a:b], ids[a:b])
        out = list(first)
        for (a, b), fut in zip(parts[1:], remote, strict=True):
            try:
                out.extend(await fut)
            except BrokenProcessPool:  # a helper died: score its chunk here, and stop fanning out
                log.warning("batch fan-out helper died; scoring batches in the worker alone from now on")
                self.ready = False
                out.extend(await local(texts[a:b], ids[a:b]))
        return out
