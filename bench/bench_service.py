"""Service benchmark: a bounded loopback load test of `redflag serve`, with /healthz on the same server as baseline.

    python bench/bench_service.py              # ~10 s per measurement
    python bench/bench_service.py --seconds 3  # a quicker smoke run

Prints in one run: req/s and p50/p95/p99 for /v1/score (a ~300-character Chinese text) and /healthz at 32
connections; latency at concurrency 1; texts/s through /v1/score/batch (64 distinct texts per request, shared by
the fan-out processes once they are ready); the same /v1/score load against --workers 2; peak RSS per worker and
per batch helper; cold start (process start -> /readyz 200, artifact present); and, for comparison, /v1/score and
batch throughput with REDFLAG_PIN_CPUS=0 (worker and helper left to the scheduler) and with REDFLAG_COALESCE_ITEMS=64
(concurrent single-text requests scored together). Healthz, single and batch loads run interleaved in rounds
(--rounds, default 3), so each ratio compares measurements taken within a minute of each other; every round's ratios
are printed beside the overall ones.
Targets: c=1 p50 <= 10 ms and p99 <= 25 ms; score req/s >= 8% of healthz req/s; 2 workers >= 1.7x 1 worker;
batch texts/s >= 5x single texts/s; RSS <= 400 MB per worker; cold start <= 3 s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import (  # noqa: E402
    json_body,
    merge,
    percentile,
    run_load,
    start_server,
    stop_server,
    worker_rss_mib,
)

TEXT = (
    "【青藤优选·合伙人招募】加入只需缴纳399元会员费，即可成为店主，自购省钱分享赚钱。每直推一位新店主奖励100元，"
    "间推奖励50元；团队满30人升级为导师，享受下面三代团队业绩的5%管理奖。平台承诺每月保底收益，躺赚不是梦！"
    "现在报名还送价值1980元的健康礼包，名额有限，先到先得。咨询请扫码添加客服微信，备注“合伙人”即可。"
    "本活动最终解释权归平台所有。我们的产品涵盖美妆、母婴、食品和家居，全部由品牌方直供，七天无理由退货。"
    "新人首单立减20元，每周五晚八点直播间抽奖，欢迎邀请好友一起来逛。"
    "客服工作时间为每天九点到二十一点，节假日不休息，售后问题请在订单页面提交工单。"
)


def fmt(label: str, res, kind: str) -> str:  # noqa: ANN001
    lat = res.latencies.get(kind, [])
    ok = res.statuses.get(kind, {}).get(200, 0)
    return (
        f"{label:<34} {res.rate(kind):8.0f} req/s  p50 {percentile(lat, 0.5) * 1000:6.1f} ms  "
        f"p95 {percentile(lat, 0.95) * 1000:6.1f} ms  p99 {percentile(lat, 0.99) * 1000:6.1f} ms  (200: {ok}, lost {res.lost})"
    )


def wait_for_batch_helpers(port: int, seconds: float = 60.0) -> int:
    """Processes sharing a batch once the fan-out helpers have loaded (from /readyz); 1 if there are none."""
    import asyncio
    import json
    import time

    from bench.loadgen import one_request

    deadline = time.monotonic() + seconds
    while True:
        body = json.loads(asyncio.run(one_request(port, "GET", "/readyz", None))[1])
        if body.get("batch_processes", 1) > 1 or "batch_processes" not in body or time.monotonic() > deadline:
            return int(body.get("batch_processes", 1))
        time.sleep(0.2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="healthz, single and batch loads are interleaved in this many rounds (each kind still totals --seconds), "
        "so a ratio compares loads measured minutes apart by no more than one round: this machine's speed drifts",
    )
    a = ap.parse_args()
    single = json_body({"text": TEXT})
    # 64 distinct texts (the same ~300 characters with a different store number each), so nothing repeats exactly
    batch = json_body({"items": [{"id": str(i), "text": TEXT.replace("399元", f"{300 + i}元")} for i in range(64)]})
    per = a.seconds / max(1, a.rounds)
    print(
        f"text: {len(TEXT)} characters; {a.connections} connections; {a.seconds:.0f} s per measurement "
        f"({a.rounds} interleaved rounds of {per:.1f} s for healthz, single and batch)"
    )

    def score_load(port: int, conns: int, seconds: float = a.seconds):  # noqa: ANN202
        return run_load(port, lambda i: ("score", "POST", "/v1/score", single), conns, seconds)

    def interleaved(port: int):  # noqa: ANN202
        """healthz, single and batch loads in rounds: the merged results and each round's two ratios."""
        hs, ss, bs = [], [], []
        for _ in range(max(1, a.rounds)):
            hs.append(run_load(port, lambda i: ("healthz", "GET", "/healthz", None), a.connections, per))
            ss.append(score_load(port, a.connections, per))
            bs.append(run_load(port, lambda i: ("batch", "POST", "/v1/score/batch", batch), 4, per))
        ratios = [
            (s.rate("score") / h.rate("healthz"), b.rate("batch") * 64 / s.rate("score"))
            for h, s, b in zip(hs, ss, bs, strict=True)
        ]
        return merge(hs), merge(ss), merge(bs), ratios

    proc, port, cold = start_server(1)
    try:
        c1 = score_load(port, 1)
        sharing = wait_for_batch_helpers(port)
        health, score, batch_res, rounds1 = interleaved(port)
        rss1 = worker_rss_mib(proc.pid, 1)
    finally:
        stop_server(proc)
    proc2, port2, _ = start_server(2)
    try:
        score2 = score_load(port2, a.connections)
        rss2 = worker_rss_mib(proc2.pid, 2)
    finally:
        stop_server(proc2)

    def alternative(env: dict[str, str]):  # noqa: ANN202
        """The interleaved loads against one server started with `env`."""
        proc, port, _ = start_server(1, env)
        try:
            wait_for_batch_helpers(port)
            return interleaved(port)
        finally:
            stop_server(proc)

    # the default without CPU pinning (service/affinity.py), and concurrent single-text requests scored together
    health4, score4, batch4, _ = alternative({"REDFLAG_PIN_CPUS": "0"})
    health3, score3, batch3, _ = alternative({"REDFLAG_COALESCE_ITEMS": "64"})

    lat1 = c1.latencies["score"]
    print(fmt("/v1/score, concurrency 1", c1, "score"))
    print(fmt(f"/healthz, {a.connections} connections", health, "healthz"))
    print(fmt(f"/v1/score, {a.connections} connections", score, "score"))
    print(fmt(f"/v1/score, {a.connections} conn, 2 workers", score2, "score"))
    texts_batch = batch_res.rate("batch") * 64
    texts_single = score.rate("score")
    print(f"/v1/score/batch (64 texts, 4 connections, {sharing} processes): {texts_batch:8.0f} texts/s")
    print()
    print(
        f"c=1 latency: p50 {percentile(lat1, 0.5) * 1000:.1f} ms (target <= 10), p99 {percentile(lat1, 0.99) * 1000:.1f} ms (target <= 25)"
    )
    each = ", ".join(f"{x:.3f}" for x, _ in rounds1)
    print(
        f"score / healthz req/s:  {score.rate('score') / health.rate('healthz'):.3f} (rounds: {each}; target >= 0.08)"
    )
    print(f"2 workers / 1 worker:   {score2.rate('score') / score.rate('score'):.2f} x (target >= 1.7)")
    each = ", ".join(f"{y:.2f}" for _, y in rounds1)
    print(f"batch / single texts/s: {texts_batch / texts_single:.2f} x (rounds: {each}; target >= 5)")
    helpers = ", ".join(f"{r:.0f}" for r in rss1["helpers"]) or "none"
    print(
        f"RSS per worker: 1 worker {', '.join(f'{r:.0f}' for r in rss1['workers'])} MiB (batch helper {helpers} MiB); "
        f"2 workers {', '.join(f'{r:.0f}' for r in rss2['workers'])} MiB (target <= 400 MB)"
    )
    print(f"cold start with an artifact: {cold:.2f} s (target <= 3)")
    print()
    t4 = batch4.rate("batch") * 64
    print(
        f"with REDFLAG_PIN_CPUS=0:        /v1/score {score4.rate('score'):.0f} req/s = "
        f"{score4.rate('score') / health4.rate('healthz'):.3f} x healthz ({health4.rate('healthz'):.0f} req/s); "
        f"batch {t4:.0f} texts/s = {t4 / score4.rate('score'):.2f} x single"
    )
    t3 = batch3.rate("batch") * 64
    print(
        f"with REDFLAG_COALESCE_ITEMS=64: /v1/score {score3.rate('score'):.0f} req/s = "
        f"{score3.rate('score') / health3.rate('healthz'):.3f} x healthz ({health3.rate('healthz'):.0f} req/s); "
        f"batch {t3:.0f} texts/s = {t3 / score3.rate('score'):.2f} x single"
    )


if __name__ == "__main__":
    main()
