"""Loopback load generation for the service benchmarks: start `redflag serve`, drive it, measure it.

Traffic goes only to 127.0.0.1 on a free port this process picked; every loop is bounded in time and count.
The client speaks minimal HTTP/1.1 over asyncio streams (keep-alive, Content-Length), so it costs little CPU.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int = 1, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int, float]:
    """Start `redflag serve` on a free loopback port; returns (process, port, seconds from start to ready)."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        try:
            status, _ = asyncio.run(one_request(port, "GET", "/readyz", None))
            if status == 200:
                if workers > 1:  # every worker answers readiness only after loading; give the others their load
                    for _ in range(50):
                        asyncio.run(one_request(port, "GET", "/readyz", None))
                return proc, port, time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server not ready within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        return []
    return [int(c) for c in out]


def tree_rss_mib(pid: int) -> float:
    """Resident memory (MiB) of a process and all its descendants (workers, batch helpers), from /proc."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += _rss_mib(p) or 0.0
        todo.extend(_children(p))
    return total


def _is_tracker(pid: int) -> bool:
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def worker_rss_mib(pid: int, workers: int = 1) -> dict[str, list[float]]:
    """Resident memory (MiB) of the server's worker processes and of their batch fan-out helpers.

    One worker: `pid` itself is the worker. Several: `pid` supervises and its children are the workers.
    multiprocessing's resource trackers (a few MiB, no model) are left out.
    """
    workers_pids = [pid] if workers == 1 else [c for c in _children(pid) if not _is_tracker(c)]
    out: dict[str, list[float]] = {"workers": [], "helpers": []}
    for w in workers_pids:
        rss = _rss_mib(w)
        if rss is not None:
            out["workers"].append(rss)
        for h in _children(w):
            if not _is_tracker(h) and (rss_h := _rss_mib(h)) is not None:
                out["helpers"].append(rss_h)
    return out


def request_bytes(method: str, path: str, body: bytes | None, content_type: str = "application/json") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
    if body is not None:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        if k.lower() == "content-length":
            length = int(v.strip())
        elif k.lower() == "connection" and v.strip().lower() == "close":
            close = True
    body = await reader.readexactly(length) if length else b""
    if close:
        raise _Closed(status, body)
    return status, body


class _Closed(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body


async def one_request(port: int, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request_bytes(method, path, body))
        await writer.drain()
        try:
            return await _read_response(reader)
        except _Closed as c:
            return c.status, c.body
    finally:
        writer.close()


@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    sent: int = 0
    lost: int = 0  # requests with no HTTP response (reset, refused, closed mid-request)
    elapsed: float = 0.0

    def record(self, kind: str, status: int, latency: float) -> None:
        self.latencies.setdefault(kind, []).append(latency)
        by = self.statuses.setdefault(kind, {})
        by[status] = by.get(status, 0) + 1

    def rate(self, kind: str | None = None) -> float:
        n = sum(len(v) for k, v in self.latencies.items() if kind is None or k == kind)
        return n / self.elapsed if self.elapsed else 0.0


def merge(results: list[LoadResult]) -> LoadResult:
    """Several measurements of the same load as one (requests and time summed, latencies pooled)."""
    out = LoadResult()
    for r in results:
        for kind, lat in r.latencies.items():
            out.latencies.setdefault(kind, []).extend(lat)
        for kind, by in r.statuses.items():
            mine = out.statuses.setdefault(kind, {})
            for status, n in by.items():
                mine[status] = mine.get(status, 0) + n
        out.sent += r.sent
        out.lost += r.lost
        out.elapsed += r.elapsed
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


async def _worker(
    port: int,
    pick: Callable[[int], tuple[str, str, str, bytes | None]],
    stop_at: float,
    max_requests: int,
    res: LoadResult,
    counter: list[int],
) -> None:
    reader = writer = None
    while time.perf_counter() < stop_at and counter[0] < max_requests:
        counter[0] += 1
        kind, method, path, body, *rest = pick(counter[0])
        ctype = rest[0] if rest else "application/json"
        res.sent += 1
        t0 = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request_bytes(method, path, body, ctype))
            await writer.drain()
            status, _ = await _read_response(reader)  # type: ignore[arg-type]
        except _Closed as c:  # the server answered and closed (e.g. 413 before reading a large body)
            status = c.status
            writer.close()  # type: ignore[union-attr]
            reader = writer = None
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
            res.lost += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        res.record(kind, status, time.perf_counter() - t0)
    if writer is not None:
        writer.close()


def run_load(
    port: int,
    pick: Callable[[int], tuple[str, str, str, bytes | None]],
    concurrency: int,
    seconds: float,
    max_requests: int = 10_000_000,
) -> LoadResult:
    """Drive `concurrency` keep-alive connections for `seconds` (bounded by `max_requests` too)."""

    async def main() -> LoadResult:
        res = LoadResult()
        counter = [0]
        t0 = time.perf_counter()
        stop_at = t0 + seconds
        await asyncio.gather(*[_worker(port, pick, stop_at, max_requests, res, counter) for _ in range(concurrency)])
        res.elapsed = time.perf_counter() - t0
        return res

    return asyncio.run(main())


def json_body(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()
