"""Coalescing of concurrent single-text requests: one hop to the scoring thread per group, not per request.

Scoring holds the GIL, so per request the costs that matter are the thread hand-offs (two wake-ups across threads,
about a millisecond each on a busy VM) and the scorer's per-call set-up. Requests that arrive while the scoring
thread is busy wait in a queue; when it frees up, everything queued (up to `max_items` texts or `max_chars`
characters) is scored in one vectorized call and each request gets its own result. An idle server scores a lone
request at once, so latency at concurrency 1 is unchanged; under load throughput roughly doubles (bench/).
Used only when REDFLAG_COALESCE_ITEMS > 1 (the default, 1, sends each request straight to the scoring thread):
see the README's Performance section.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any


class Coalescer:
    def __init__(
        self,
        score: Callable[[list[str], list[str | None]], list[Any]],
        executor: Executor,
        max_items: int = 64,
        max_chars: int = 60_000,
    ) -> None:
        self.score, self.executor = score, executor
        self.max_items, self.max_chars = max_items, max_chars
        self.queue: list[tuple[str, str | None, asyncio.Future[Any]]] = []
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name="redflag-coalescer")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        for _, _, fut in self.queue:
            if not fut.done():
                fut.cancel()
        self.queue.clear()

    async def submit(self, text: str, item_id: str | None) -> Any:
        """The scorer's result for one text (scored together with whatever else is queued)."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append((text, item_id, fut))
        self.wakeup.set()
        return await fut

    def _take(self) -> list[tuple[str, str | None, asyncio.Future[Any]]]:
        group, chars = [], 0
        while self.queue and len(group) < self.max_items:
            text = self.queue[0][0]
            if group and chars + len(text) > self.max_chars:
                break
            group.append(self.queue.pop(0))
            chars += len(text)
        return [g for g in group if not g[2].done()]  # a client that went away no longer needs its text scored

    async def _run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.queue:
                group = self._take()
                if not group:
                    continue
                try:
                    results = await asyncio.get_running_loop().run_in_executor(
                        self.executor, self.score, [g[0] for g in group], [g[1] for g in group]
                    )
                except Exception as e:  # every waiting request learns of it; the loop keeps serving
                    for _, _, fut in group:
                        if not fut.done():
                            fut.set_exception(e)
                    continue
                for (_, _, fut), result in zip(group, results, strict=True):
                    if not fut.done():
                        fut.set_result(result)
