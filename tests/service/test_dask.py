"""The Dask path: a LocalCluster with 2 worker processes gives the same results as the local CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app

pytest.importorskip("dask.distributed")
runner = CliRunner()

TEXTS = [
    "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成",
    "邀请好友注册，双方各得10元无门槛优惠券",
    "Join for $299 and earn $50 for every person you enroll, 5 levels deep.",
    "Community group-buy leaders earn 10% on the orders they hand out at their pickup point.",
    "日返1.5%，保本保息，邀请3人即可提现",
    "",
    "這個平台入會費NT$6,600，每推薦一位新朋友入會可領NT$1,500",
]


def _flat_key(row: dict) -> tuple:
    score = row.get("risk_score")
    return (
        str(row["id"]),
        "" if score in ("", None) else round(float(score), 4),
        str(row.get("recruitment_rewards_evidence") or ""),
        bool(row.get("error")),
    )


def test_dask_local_cluster_matches_local_cli(model_env: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    with src.open("w", encoding="utf-8") as f:
        for i in range(60):
            f.write(
                json.dumps({"id": f"r{i}", "text": TEXTS[i % len(TEXTS)], "batch": i // 10}, ensure_ascii=False) + "\n"
            )
    local = tmp_path / "local.csv"
    r1 = runner.invoke(app, ["score", str(src), "-o", str(local), "-q"])
    assert r1.exit_code == 0, r1.output
    outdir = tmp_path / "dask-out"
    r2 = runner.invoke(
        app, ["score", str(src), "-o", str(outdir), "--engine", "dask", "--jobs", "2", "--format", "csv", "-q"]
    )
    assert r2.exit_code == 0, r2.output + r2.stderr
    local_rows = list(csv.DictReader(local.open(encoding="utf-8")))
    dask_rows = [
        row for part in sorted(outdir.glob("part-*.csv")) for row in csv.DictReader(part.open(encoding="utf-8"))
    ]
    assert len(dask_rows) == len(local_rows) == 60
    assert sorted(map(_flat_key, dask_rows)) == sorted(map(_flat_key, local_rows))
    assert {row["batch"] for row in dask_rows} == {str(i) for i in range(6)}  # other fields carried through
    errors = [row for row in dask_rows if row["error"]]
    assert len(errors) == sum(1 for i in range(60) if TEXTS[i % len(TEXTS)] == "")


def test_score_frame_keeps_rows_and_index(model_env: Path) -> None:
    pd = pytest.importorskip("pandas")
    from model.frame import score_frame

    df = pd.DataFrame(
        {"id": [7, None, "x"], "text": [TEXTS[0], TEXTS[1], None], "src": ["a", "b", "c"]}, index=[10, 11, 12]
    )
    out = score_frame(df, model_path=str(model_env))
    assert list(out.index) == [10, 11, 12]
    assert out.loc[10, "flagged"] is True and out.loc[10, "id"] == "7"
    assert out.loc[11, "flagged"] is False
    assert out.loc[12, "error"].startswith("invalid_text")
    assert list(out["src"]) == ["a", "b", "c"]
