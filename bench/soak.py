"""Soak test: 60 s of mixed traffic at 32 connections against `redflag serve --workers 2` on loopback.

    python bench/soak.py [--seconds 60] [--connections 32]

Mix: valid single requests (zh/en/mixed), valid batches, invalid requests (empty text, bad JSON, wrong types,
wrong content type) and oversized ones (text over the limit, batch over the limit, a 5 MB body). Prints requests
sent, responses by status, 5xx (must be 0), requests lost without a response (must be 0), p99 latency, and the
servers' RSS at start and end (growth must stay within 10%).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import json_body, percentile, run_load, start_server, stop_server, tree_rss_mib  # noqa: E402

TEXTS = [
    "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成，躺赚不是梦！",
    "邀请好友注册，双方各得10元无门槛优惠券，每人限领一次。",
    "Join for $299 and earn $50 for every person you enroll, plus overrides seven levels deep.",
    "Share your link and earn 5% on purchases your readers make. No fees, no levels.",
    "这个 business 超 simple，join 我们的 team 只要 $199 starter kit，每个 referral 给你 $50",
    "社区团购团长招募：团长按自提点订单实付金额的10%获得佣金，不收任何加盟费。",
]
BAD = [
    (b'{"text": ""}', "application/json"),
    (b'{"text": "abc', "application/json"),
    (b'{"text": 12}', "application/json"),
    (b'{"items": "x"}', "application/json"),
    (b"text=hello", "application/x-www-form-urlencoded"),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    singles = [json_body({"id": str(i), "text": t}) for i, t in enumerate(TEXTS)]
    batch = json_body({"items": [{"id": str(i), "text": t} for i, t in enumerate(TEXTS * 5)]})
    too_long = json_body({"text": "好" * 20001})
    too_many = json_body({"items": [{"text": "x"}] * 257})
    huge = b'{"text": "' + b"x" * (5 * 1024 * 1024) + b'"}'

    def pick(i: int) -> tuple:
        r = i % 20
        if r < 10:
            return "single", "POST", "/v1/score", singles[i % len(singles)]
        if r < 13:
            return "batch", "POST", "/v1/score/batch", batch
        if r < 17:
            body, ctype = BAD[i % len(BAD)]
            return "invalid", "POST", "/v1/score", body, ctype
        if r == 17:
            return "oversized", "POST", "/v1/score", too_long
        if r == 18:
            return "oversized", "POST", "/v1/score/batch", too_many
        return ("oversized", "POST", "/v1/score", huge) if i % 40 == 19 else ("health", "GET", "/healthz", None)

    proc, port, _ = start_server(a.workers)
    try:
        run_load(port, pick, 4, 3)  # warm every worker before the baseline reading
        rss_start = tree_rss_mib(proc.pid)
        res = run_load(port, pick, a.connections, a.seconds)
        rss_end = tree_rss_mib(proc.pid)
    finally:
        stop_server(proc)

    statuses: dict[int, int] = {}
    for by in res.statuses.values():
        for s, n in by.items():
            statuses[s] = statuses.get(s, 0) + n
    all_lat = [x for v in res.latencies.values() for x in v]
    five = sum(n for s, n in statuses.items() if s >= 500)
    print(f"soak: {a.seconds:.0f} s, {a.connections} connections, --workers {a.workers}")
    print(f"requests sent: {res.sent}; answered: {sum(statuses.values())} ({res.rate():.0f} req/s)")
    print("responses by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    for kind in sorted(res.statuses):
        print(f"  {kind:<10} " + ", ".join(f"{s}: {n}" for s, n in sorted(res.statuses[kind].items())))
    print(f"5xx: {five} (must be 0); lost: {res.lost} (must be 0)")
    print(f"latency p50 {percentile(all_lat, 0.5) * 1000:.1f} ms, p99 {percentile(all_lat, 0.99) * 1000:.1f} ms")
    print(
        f"RSS (server and workers): start {rss_start:.0f} MiB, end {rss_end:.0f} MiB, growth {100 * (rss_end / rss_start - 1):+.1f}% (must be <= 10%)"
    )
    if five or res.lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
