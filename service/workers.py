"""Several server processes behind one port, balanced by the kernel (SO_REUSEPORT).

uvicorn's own --workers shares one listening socket: under keep-alive load one worker can accept every connection
while the others idle. Here each worker binds its own SO_REUSEPORT socket, so the kernel spreads connections
across them; the parent only supervises (restarts a crashed worker, forwards SIGTERM/SIGINT for a graceful stop).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import time
from typing import Any


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, options: dict[str, Any], index: int = 0) -> None:
    import uvicorn

    os.environ["REDFLAG_WORKER_INDEX"] = str(index)  # picks this worker's CPU (service/affinity.py)
    sock = _bind(host, port)
    config = uvicorn.Config("service.app:create_app", factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_many(host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Run `workers` server processes on host:port until SIGTERM/SIGINT; returns the exit status."""
    probe = _bind(host, port)  # fail here, in the parent, if the port is taken
    probe.close()
    ctx = mp.get_context("spawn")
    procs: list[Any] = []
    stopping = False

    def start(index: int) -> Any:
        p = ctx.Process(target=_worker, args=(host, port, options, index), daemon=False)
        p.start()
        return p

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes in-flight requests, then exits

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    procs.extend(start(i) for i in range(workers))
    while not stopping:
        time.sleep(0.5)
        for i, p in enumerate(procs):
            if not p.is_alive() and not stopping:
                procs[i] = start(i)  # a crashed worker is replaced, on the same CPU
    for p in procs:
        p.join(timeout=options.get("timeout_graceful_shutdown", 30) + 5)
        if p.is_alive():
            p.kill()
    return 0
