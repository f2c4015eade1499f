"""Batch-scoring benchmark: `redflag score` with --jobs 1 and 2 against raw jieba.lcut, and peak memory.

    python bench/bench_batch.py            # 20,000 rows for speed, 20,000 vs 200,000 rows for memory
    python bench/bench_batch.py --quick    # 4,000 / 20,000 rows (a smoke run)
    python bench/bench_batch.py --big 0    # speed only

Prints rows/s for each and the ratios the targets are stated in (measured in this run, on this machine):
--jobs 1 >= 50% of raw jieba.lcut rows/s; --jobs 2 >= 1.6x --jobs 1; peak RSS at the large size within 10% of the
small size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus_texts import make_texts  # noqa: E402


def write_input(path: Path, texts: list[str], repeat: int = 1) -> None:
    with path.open("w", encoding="utf-8") as f:
        n = 0
        for _ in range(repeat):
            for t in texts:
                n += 1
                f.write(json.dumps({"id": n, "text": t}, ensure_ascii=False) + "\n")


def run_score(src: Path, jobs: int, model: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, the main process) of one `redflag score` run."""
    out = src.with_suffix(f".out{jobs}.jsonl")
    cmd = [
        sys.executable,
        "-m",
        "service.cli",
        "score",
        str(src),
        "-o",
        str(out),
        "--jobs",
        str(jobs),
        "-q",
        "--model",
        model,
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"redflag score failed with status {status}")
    out.unlink()
    return elapsed, usage.ru_maxrss


def jieba_rate(texts: list[str]) -> float:
    import jieba

    jieba.initialize()
    start = time.perf_counter()
    for t in texts:
        jieba.lcut(t)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--big", type=int, default=200000)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    rows, big = (4000, 20000) if a.quick else (a.rows, a.big)

    from model.scorer import default_model_path

    model = default_model_path()
    if model is None:
        subprocess.run([sys.executable, "-m", "service.cli", "train"], cwd=ROOT, check=True)
        model = default_model_path()
    texts = make_texts(rows)
    lens = sorted(len(t) for t in texts)
    print(f"texts: {rows} (length min {lens[0]}, median {lens[len(lens) // 2]}, max {lens[-1]}); model {model.name}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        write_input(src, texts)
        # interleave baseline and runs so machine noise hits both alike
        j1 = jieba_rate(texts)
        t1, rss_small = run_score(src, 1, str(model))
        t2, _ = run_score(src, 2, str(model))
        j2 = jieba_rate(texts)
        jieba_rows = (j1 + j2) / 2
        r1, r2 = rows / t1, rows / t2
        print(f"raw jieba.lcut:        {jieba_rows:8.0f} rows/s (two passes: {j1:.0f}, {j2:.0f})")
        print(f"redflag score --jobs 1: {r1:8.0f} rows/s  = {r1 / jieba_rows:.2f} x jieba (target >= 0.50)")
        print(f"redflag score --jobs 2: {r2:8.0f} rows/s  = {r2 / r1:.2f} x --jobs 1 (target >= 1.60)")
        if big <= rows:
            return
        bigsrc = Path(tmp) / "big.jsonl"
        write_input(bigsrc, texts, repeat=max(1, big // rows))
        n_big = rows * max(1, big // rows)
        tb, rss_big = run_score(bigsrc, 1, str(model))
        print(
            f"peak RSS --jobs 1: {rows} rows {rss_small / 1024:.0f} MiB; {n_big} rows {rss_big / 1024:.0f} MiB "
            f"= {rss_big / rss_small:.3f} x (target <= 1.10); {n_big / tb:.0f} rows/s on the large file"
        )


if __name__ == "__main__":
    main()
