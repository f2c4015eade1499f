"""Batch fan-out (service/fanout.py): a batch shared by helper processes answers exactly as the worker alone."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service import affinity
from service.app import create_app
from service.fanout import chunks
from service.settings import Settings
from tests.service.live import start_server
from tests.service.test_api import EN, MIXED, ZH


def test_chunks_cover_every_item_once_in_order() -> None:
    for n in (1, 7, 8, 15, 16, 64, 255, 256):
        for parts in (1, 2, 3):
            got = chunks(n, parts, 8)
            assert got[0][0] == 0 and got[-1][1] == n
            assert all(a < b for a, b in got) and all(got[k][1] == got[k + 1][0] for k in range(len(got) - 1))
            assert len(got) <= max(1, min(parts, n // 8))
    assert chunks(15, 2, 8) == [(0, 15)]  # too small to be worth a hand-off
    assert chunks(64, 2, 8) == [(0, 32), (32, 64)]


def test_fanned_out_batch_equals_the_unshared_batch(artifact_path: Path) -> None:
    texts = [ZH, EN, MIXED, "每月必须进货3000元才能保住代理级别", "Members save 10% at the store."] * 8
    items = [{"id": f"r{i}", "text": t} for i, t in enumerate(texts)]
    items[5]["text"] = "   "  # an invalid item keeps its place
    items[33]["text"] = "x" * 20001
    with TestClient(create_app(Settings(model_path=artifact_path))) as c:
        alone = c.post("/v1/score/batch", json={"items": items}).json()["results"]
    with TestClient(create_app(Settings(model_path=artifact_path, batch_processes=2))) as c:
        pool = c.app.state.batch_pool
        deadline = time.monotonic() + 120
        while not pool.ready and time.monotonic() < deadline:  # the helper loads in the background
            time.sleep(0.1)
        assert pool.ready, "helper process did not load the model"
        assert c.get("/readyz").json()["batch_processes"] == 2
        shared = c.post("/v1/score/batch", json={"items": items}).json()["results"]
    assert [r["id"] for r in shared] == [f"r{i}" for i in range(len(items))]
    assert "error" in shared[5] and "error" in shared[33]
    assert shared == alone


def _helpers(pid: int) -> list[int]:
    """Child processes of `pid` that hold a model (multiprocessing's resource tracker left out)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(c) for c in out if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@pytest.mark.e2e
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_batch_helpers_never_outlive_the_server(artifact_path: Path, how: signal.Signals) -> None:
    """A served batch is shared with a helper process; stopped or killed, the server leaves no helper behind."""
    proc, base = start_server(artifact_path, env={"REDFLAG_BATCH_PROCESSES": "2"})
    try:
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/readyz", timeout=2).json().get("batch_processes") != 2:
            assert time.monotonic() < deadline, "batch helper did not load"
            time.sleep(0.2)
        helpers = _helpers(proc.pid)
        assert len(helpers) == 1
        items = [{"id": str(i), "text": t} for i, t in enumerate([ZH, EN, MIXED] * 12)]
        r = httpx.post(f"{base}/v1/score/batch", json={"items": items}, timeout=30)
        assert r.status_code == 200 and [x["id"] for x in r.json()["results"]] == [str(i) for i in range(36)]
        proc.send_signal(how)
        proc.wait(timeout=40)
        deadline = time.monotonic() + 10
        while any(_alive(h) for h in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(h) for h in helpers), "a batch helper outlived its server"
    finally:
        if proc.poll() is None:
            proc.kill()


def _cpus(pid: int) -> set[str]:
    """Cpus_allowed_list of every thread of `pid`."""
    return {
        (task / "status").read_text().split("Cpus_allowed_list:")[1].split()[0]
        for task in Path(f"/proc/{pid}/task").iterdir()
    }


def test_pinning_plan_gives_each_worker_a_cpu_and_its_helpers_the_rest() -> None:
    assert affinity.plan(0, [0, 1]) == ({0}, {1})
    assert affinity.plan(1, [0, 1]) == ({1}, {0})
    assert affinity.plan(4, [2, 5, 7]) == ({5}, {2, 7})
    assert affinity.plan(0, [3]) is None  # one CPU: nothing to pin


@pytest.mark.e2e
@pytest.mark.skipif(len(affinity.allowed_cpus()) < 2, reason="needs two CPUs")
@pytest.mark.parametrize("pin", ["1", "0"])
def test_served_worker_and_batch_helper_run_on_separate_cpus(artifact_path: Path, pin: str) -> None:
    """redflag serve pins the worker (every thread) to one CPU and its batch helper to the others, unless told not to."""
    proc, base = start_server(artifact_path, env={"REDFLAG_BATCH_PROCESSES": "2", "REDFLAG_PIN_CPUS": pin})
    try:
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/readyz", timeout=2).json().get("batch_processes") != 2:
            assert time.monotonic() < deadline, "batch helper did not load"
            time.sleep(0.2)
        allowed = affinity.allowed_cpus()
        worker, helper = _cpus(proc.pid), _cpus(_helpers(proc.pid)[0])
        if pin == "1":
            own, rest = affinity.plan(0, allowed)
            assert worker == {str(next(iter(own)))}
            assert len(helper) == 1 and next(iter(helper)) not in worker
        else:
            assert worker == helper  # neither is pinned: both keep the server's CPUs
    finally:
        proc.terminate()
        proc.wait(timeout=40)
