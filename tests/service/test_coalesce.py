"""Concurrent single-text requests are scored together, and each still gets exactly its own result."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.coalesce import Coalescer


class SlowScorer:
    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def score(self, texts: list[str], ids: list[str | None]) -> list[tuple[str | None, str]]:
        with self.lock:
            self.calls.append(list(texts))
        time.sleep(0.02)
        if self.fail_on in texts:
            raise RuntimeError("scorer failed")
        return [(i, t.upper()) for t, i in zip(texts, ids, strict=True)]


def _run(coro):  # noqa: ANN001, ANN202
    return asyncio.run(coro)


def test_each_request_gets_its_own_result_and_they_share_scorer_calls() -> None:
    scorer = SlowScorer()

    async def main() -> list:
        c = Coalescer(scorer.score, ThreadPoolExecutor(1))
        c.start()
        try:
            return await asyncio.gather(*(c.submit(f"text {i}", f"id{i}") for i in range(40)))
        finally:
            await c.stop()

    results = _run(main())
    assert results == [(f"id{i}", f"TEXT {i}") for i in range(40)]
    assert sorted(t for call in scorer.calls for t in call) == sorted(f"text {i}" for i in range(40))
    assert len(scorer.calls) < 40  # the first call runs alone, the rest arrive while it is busy and are grouped


def test_a_lone_request_is_scored_at_once() -> None:
    scorer = SlowScorer()

    async def main() -> tuple:
        c = Coalescer(scorer.score, ThreadPoolExecutor(1))
        c.start()
        try:
            t0 = time.perf_counter()
            r = await c.submit("solo", None)
            return r, time.perf_counter() - t0
        finally:
            await c.stop()

    r, took = _run(main())
    assert r == (None, "SOLO") and scorer.calls == [["solo"]]
    assert took < 1.0


def test_group_size_is_bounded_by_items_and_characters() -> None:
    scorer = SlowScorer()

    async def main() -> None:
        c = Coalescer(scorer.score, ThreadPoolExecutor(1), max_items=5, max_chars=50)
        c.start()
        try:
            await asyncio.gather(*(c.submit("x" * 20, None) for _ in range(12)))
        finally:
            await c.stop()

    _run(main())
    assert all(len(call) <= 2 for call in scorer.calls)  # 3 x 20 characters would pass 50
    assert sum(len(call) for call in scorer.calls) == 12


def test_a_scorer_failure_reaches_the_waiting_requests_and_the_next_group_is_still_served() -> None:
    scorer = SlowScorer(fail_on="bad")

    async def main() -> tuple:
        c = Coalescer(scorer.score, ThreadPoolExecutor(1), max_items=1)
        c.start()
        try:
            bad = asyncio.ensure_future(c.submit("bad", None))
            good = asyncio.ensure_future(c.submit("good", None))
            with pytest.raises(RuntimeError):
                await bad
            return await good
        finally:
            await c.stop()

    assert _run(main()) == (None, "GOOD")
