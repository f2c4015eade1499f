"""`score_frame`: score a pandas DataFrame into flat result columns — the unit of work on a Dask cluster.

    ddf = dask.dataframe.read_json("part-*.jsonl", lines=True)
    scored = ddf.map_partitions(score_frame, meta=score_frame_meta(ddf._meta))

Each worker process loads the artifact once (cached per process and path).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.contract import DEFAULT_MAX_CHARS, RowError, check_text, csv_columns, flatten

if TYPE_CHECKING:
    import pandas as pd


@lru_cache(maxsize=4)
def _scorer(model_path: str | None) -> Any:
    from model.scorer import Scorer

    return Scorer.load(Path(model_path) if model_path else None)


def _columns(df: pd.DataFrame, text_field: str, id_field: str) -> list[str]:
    extra = [c for c in df.columns if c not in (text_field, id_field) and c not in csv_columns()]
    return csv_columns() + extra


def score_frame(
    df: pd.DataFrame,
    text_field: str = "text",
    id_field: str = "id",
    model_path: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    batch_size: int = 512,
) -> pd.DataFrame:
    """Score every row of `df` (one output row per input row, same order and index); errors go to `error`."""
    import pandas as pd

    scorer = _scorer(model_path)
    has_id = id_field in df.columns
    records = df.to_dict("records")
    out: list[dict[str, Any]] = [{} for _ in records]
    valid: list[int] = []
    for i, rec in enumerate(records):
        raw_id = rec.get(id_field) if has_id else None
        rid = None if raw_id is None or (isinstance(raw_id, float) and raw_id != raw_id) else str(raw_id)
        rec["_id"] = rid
        text = rec.get(text_field)
        problem = check_text(text, max_chars) if text_field in rec else ("missing_text", f"no {text_field!r} column")
        if problem:
            out[i] = RowError(rid, problem[0], problem[1]).to_dict()
        else:
            valid.append(i)
    for start in range(0, len(valid), batch_size):
        chunk = valid[start : start + batch_size]
        results = scorer.score([records[i][text_field] for i in chunk], [records[i]["_id"] for i in chunk])
        for i, r in zip(chunk, results, strict=True):
            out[i] = r.to_dict()
    rows = []
    for rec, d in zip(records, out, strict=True):
        extra = {k: v for k, v in rec.items() if k not in (text_field, id_field, "_id")}
        rows.append({**extra, **flatten(d)})
    cols = _columns(df, text_field, id_field)
    return pd.DataFrame(rows, columns=cols, index=df.index).astype(score_frame_dtypes(cols))


def score_frame_dtypes(columns: list[str]) -> dict[str, str]:
    """Stable dtypes for the flat columns, so every partition matches the meta."""
    kinds: dict[str, str] = {}
    for c in columns:
        if c == "risk_score" or c == "offer_score" or c.endswith("_score"):
            kinds[c] = "float64"
        else:
            kinds[c] = "object"
    return kinds


def score_frame_meta(df: pd.DataFrame, text_field: str = "text", id_field: str = "id") -> pd.DataFrame:
    """An empty frame with score_frame's output columns and dtypes (the `meta` of map_partitions)."""
    import pandas as pd

    cols = _columns(df, text_field, id_field)
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in score_frame_dtypes(cols).items()}, columns=cols)
