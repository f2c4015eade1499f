"""Service benchmark: a bounded loopback load test of `redflag serve`, with /healthz on the same server as baseline.

    python bench/bench_service.py              # ~10 s per measurement
    python bench/bench_service.py --seconds 3  # a quicker smoke run

Prints in one run: req/s and p50/p95/p99 for /v1/score (a ~300-character Chinese text) and /healthz at 32
connections; latency at concurrency 1; texts/s through /v1/score/batch (64 texts per request); the same /v1/score
load against --workers 2; peak RSS per worker; cold start (process start -> /readyz 200, artifact present).
Targets: c=1 p50 <= 10 ms and p99 <= 25 ms; score req/s >= 8% of healthz req/s; 2 workers >= 1.7x 1 worker;
batch texts/s >= 5x single texts/s; RSS <= 400 MB per worker; cold start <= 3 s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import json_body, percentile, run_load, start_server, stop_server, worker_rss_mib  # noqa: E402

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=32)
    a = ap.parse_args()
    single = json_body({"text": TEXT})
    batch = json_body({"items": [{"id": str(i), "text": TEXT} for i in range(64)]})
    print(f"text: {len(TEXT)} characters; {a.connections} connections; {a.seconds:.0f} s per measurement")

    proc, port, cold = start_server(1)
    try:
        c1 = run_load(port, lambda i: ("score", "POST", "/v1/score", single), 1, a.seconds)
        health = run_load(port, lambda i: ("healthz", "GET", "/healthz", None), a.connections, a.seconds)
        score = run_load(port, lambda i: ("score", "POST", "/v1/score", single), a.connections, a.seconds)
        batch_res = run_load(port, lambda i: ("batch", "POST", "/v1/score/batch", batch), 4, a.seconds)
        rss1 = worker_rss_mib(proc.pid)
    finally:
        stop_server(proc)
    proc2, port2, _ = start_server(2)
    try:
        score2 = run_load(port2, lambda i: ("score", "POST", "/v1/score", single), a.connections, a.seconds)
        rss2 = worker_rss_mib(proc2.pid)
    finally:
        stop_server(proc2)

    lat1 = c1.latencies["score"]
    print(fmt("/v1/score, concurrency 1", c1, "score"))
    print(fmt(f"/healthz, {a.connections} connections", health, "healthz"))
    print(fmt(f"/v1/score, {a.connections} connections", score, "score"))
    print(fmt(f"/v1/score, {a.connections} conn, 2 workers", score2, "score"))
    texts_batch = batch_res.rate("batch") * 64
    texts_single = score.rate("score")
    print(f"/v1/score/batch (64 texts, 4 connections): {texts_batch:8.0f} texts/s")
    print()
    print(
        f"c=1 latency: p50 {percentile(lat1, 0.5) * 1000:.1f} ms (target <= 10), p99 {percentile(lat1, 0.99) * 1000:.1f} ms (target <= 25)"
    )
    print(f"score / healthz req/s:  {score.rate('score') / health.rate('healthz'):.3f} (target >= 0.08)")
    print(f"2 workers / 1 worker:   {score2.rate('score') / score.rate('score'):.2f} x (target >= 1.7)")
    print(f"batch / single texts/s: {texts_batch / texts_single:.2f} x (target >= 5)")
    print(
        f"RSS per worker: 1 worker {', '.join(f'{r:.0f}' for r in rss1)} MiB; 2 workers {', '.join(f'{r:.0f}' for r in rss2)} MiB (target <= 400 MB)"
    )
    print(f"cold start with an artifact: {cold:.2f} s (target <= 3)")


if __name__ == "__main__":
    main()
