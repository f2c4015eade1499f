"""Start `redflag serve` as a real process on a free loopback port and talk to it over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(artifact_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "REDFLAG_MODEL_PATH": str(artifact_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read().decode() if proc.stdout else "server exited")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not become ready within 60 s")


@pytest.mark.e2e
def test_serve_answers_zh_and_en_over_http(artifact_path: Path) -> None:
    proc, base = _start(artifact_path)
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

    proc, base = _start(artifact_path)
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
