"""`redflag score --engine dask`: read_json/read_csv → map_partitions(score_frame) → one output file per partition."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

_COUNTS_META = {"rows": "int64", "errors": "int64", "flagged": "int64"}


def _counts(part: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "rows": [len(part)],
            "errors": [int((part["error"] != "").sum())],
            "flagged": [int(part["flagged"].eq(True).sum())],
        }
    )


def run_dask(
    input_path: str,
    outdir: str,
    fmt: str,
    text_field: str,
    id_field: str,
    scheduler: str | None,
    model_path: str | None,
    workers: int = 2,
    blocksize: str = "8MB",
    max_chars: int = 20000,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Score INPUT on a Dask cluster (or a LocalCluster) into OUTDIR/part-*.{jsonl,csv}; returns counts."""
    try:
        import dask
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    except ImportError as e:  # the optional extra is missing
        raise ValueError("the Dask engine needs the optional extra: pip install -e '.[dask]'") from e

    from model.frame import score_frame, score_frame_meta

    started = time.perf_counter()
    compressed = input_path.endswith(".gz")
    is_csv = input_path.removesuffix(".gz").lower().endswith(".csv")
    bs = None if compressed else blocksize
    if is_csv:
        ddf = dd.read_csv(input_path, blocksize=bs, dtype=object, keep_default_na=False, compression="infer")
    else:
        ddf = dd.read_json(
            input_path, lines=True, blocksize=bs, compression="infer" if compressed else None, dtype=False
        )
    if text_field not in ddf.columns:
        raise ValueError(f"input has no {text_field!r} field (columns: {list(ddf.columns)})")
    meta = score_frame_meta(ddf._meta, text_field, id_field)
    scored = ddf.map_partitions(
        score_frame, text_field=text_field, id_field=id_field, model_path=model_path, max_chars=max_chars, meta=meta
    )
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    cluster = None
    client = Client(scheduler) if scheduler else None
    if client is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        log(
            f"dask: {ddf.npartitions} partitions on {client.scheduler.address if hasattr(client, 'scheduler') else scheduler}"
        )
        # one graph for the files and the counts, so every partition is scored once
        if fmt == "csv":
            writes = scored.to_csv(str(out / "part-*.csv"), index=False, compute=False)
        else:
            writes = scored.to_json(
                str(out / "part-*.jsonl"), orient="records", lines=True, force_ascii=False, compute=False
            )
        with warnings.catch_warnings():
            # the writers are delayed objects, the counts an expression: computing them together is what we want
            warnings.filterwarnings("ignore", message="Computing mixed collections", category=UserWarning)
            _, counts = dask.compute(writes, scored.map_partitions(_counts, meta=_COUNTS_META))
        rows = int(counts["rows"].sum())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return {
        "rows": rows,
        "errors": int(counts["errors"].sum()),
        "flagged": int(counts["flagged"].sum()),
        "elapsed": time.perf_counter() - started,
        "partitions": ddf.npartitions,
    }
