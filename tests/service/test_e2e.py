"""Start `redflag serve` as a real process on a free loopback port and talk to it over HTTP."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.service.live import start_server


@pytest.mark.e2e
def test_serve_answers_zh_and_en_over_http(artifact_path: Path) -> None:
    proc, base = start_server(artifact_path)
    try:
        zh = httpx.post(
            f"{base}/v1/score",
            json={"text": "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成"},
            timeout=10,
        )
        en = httpx.post(
            f"{base}/v1/score", json={"text": "Refer a friend: you both get $10 off your next order."}, timeout=10
        )
        assert zh.status_code == 200 and zh.json()["flagged"] is True
        assert en.status_code == 200 and en.json()["flagged"] is False
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the captured SIGTERM so the exit status says why
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.e2e
def test_sigterm_lets_in_flight_requests_finish(artifact_path: Path) -> None:
    import threading

    proc, base = start_server(artifact_path)
    items = [
        {"id": str(i), "text": "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成。" * 8} for i in range(256)
    ]
    results: list[object] = []

    def call() -> None:
        try:
            r = httpx.post(f"{base}/v1/score/batch", json={"items": items}, timeout=60)
            results.append(r.status_code)
        except httpx.HTTPError as e:  # a reset or refused connection is a lost request
            results.append(repr(e))

    threads = [threading.Thread(target=call) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)  # all four are connected and being scored
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(60)
        assert results == [200, 200, 200, 200]
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
