from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.taxonomy import CODES
from service.cli import app

runner = CliRunner()
SCHEME = "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成"


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_issue_example_from_stdin(model_env: Path) -> None:
    result = runner.invoke(
        app, ["score", "-", "-q"], input=json.dumps({"id": "a", "text": SCHEME}, ensure_ascii=False) + "\n"
    )
    assert result.exit_code == 0, result.output
    (row,) = _lines(result.stdout)
    assert row["id"] == "a" and row["flagged"]
    assert [i["code"] for i in row["indicators"]] == list(CODES)
    assert row["facts"]["levels"] == 3 and row["facts"]["entry_fee"] == {"amount": 399, "currency": "CNY"}
    assert any(i["evidence"] for i in row["indicators"])


def test_every_line_yields_one_row_in_order_with_errors_naming_the_line(model_env: Path) -> None:
    lines = [
        json.dumps({"id": "ok1", "text": SCHEME, "source": "crawl-7"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "nt", "body": "no text field"}),
        json.dumps({"text": "   "}),
        json.dumps({"text": 42}),
        json.dumps(["a", "list"]),
        "",
        json.dumps({"text": "邀请好友各得10元券"}, ensure_ascii=False),
        json.dumps({"text": "x" * 20001}),
    ]
    result = runner.invoke(app, ["score", "-", "-q"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0
    rows = _lines(result.stdout)
    assert len(rows) == len(lines)
    assert rows[0]["id"] == "ok1" and rows[0]["source"] == "crawl-7" and "risk_score" in rows[0]
    expected = {
        1: "invalid_json",
        2: "missing_text",
        3: "empty_text",
        4: "invalid_text",
        5: "invalid_row",
        6: "empty_line",
        8: "text_too_long",
    }
    for idx, code in expected.items():
        assert rows[idx]["error"]["code"] == code
        assert rows[idx]["line"] == idx + 1
        assert f"line {idx + 1}" in rows[idx]["error"]["message"]
    assert rows[7]["id"] == "8" and "risk_score" in rows[7]  # no id: the line number


def test_fail_on_error_exits_nonzero(model_env: Path) -> None:
    result = runner.invoke(app, ["score", "-", "-q", "--fail-on-error"], input="{bad\n")
    assert result.exit_code == 1
    assert len(_lines(result.stdout)) == 1


def test_csv_in_csv_out_with_flat_columns(model_env: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "region"])
        w.writerow(["r1", SCHEME, "GD"])
        w.writerow(["r2", "", "ZJ"])
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", str(src), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["r1", "r2"]
    assert rows[0]["region"] == "GD" and rows[0]["flagged"] == "True"
    assert "recruitment_rewards_evidence" in rows[0] and rows[0]["recruitment_rewards_flagged"] == "True"
    assert rows[1]["error"].startswith("empty_text")


def test_gzip_jsonl_input_and_text_field_option(model_env: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"key": "k1", "desc": SCHEME}, ensure_ascii=False) + "\n")
    result = runner.invoke(app, ["score", str(src), "--text-field", "desc", "--id-field", "key", "-q"])
    assert result.exit_code == 0, result.output
    (row,) = _lines(result.stdout)
    assert row["id"] == "k1" and row["flagged"]


def test_summary_goes_to_stderr(model_env: Path) -> None:
    result = runner.invoke(app, ["score", "-"], input=json.dumps({"text": SCHEME}, ensure_ascii=False) + "\n{bad\n")
    assert result.exit_code == 0
    assert "rows 2, flagged 1, errors 1" in result.stderr
    assert len(_lines(result.stdout)) == 2


def test_missing_input_file_is_a_clean_error(model_env: Path) -> None:
    result = runner.invoke(app, ["score", "/nonexistent/in.jsonl"])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_bad_artifact_exits_nonzero_with_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "redflag-bad.joblib"
    bad.write_bytes(b"garbage")
    monkeypatch.setenv("REDFLAG_MODEL_PATH", str(bad))
    result = runner.invoke(app, ["score", "-", "-q"], input='{"text": "x"}\n')
    assert result.exit_code == 2
    assert "redflag train" in result.stderr


def test_jobs_give_the_same_rows_as_one_process(model_env: Path, tmp_path: Path) -> None:
    texts = [SCHEME, "邀请好友各得10元券", "Join for $299 and earn $50 per person you enroll", "{bad"] * 30
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(t if t == "{bad" else json.dumps({"text": t}, ensure_ascii=False) for t in texts) + "\n",
        encoding="utf-8",
    )
    one = runner.invoke(app, ["score", str(src), "-q", "--batch-size", "7"])
    two = runner.invoke(app, ["score", str(src), "-q", "--batch-size", "7", "--jobs", "2"])
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert _lines(one.stdout) == _lines(two.stdout)
    assert len(_lines(one.stdout)) == len(texts)


def test_csv_to_stdout_via_format(model_env: Path) -> None:
    result = runner.invoke(
        app,
        ["score", "-", "-q", "--format", "csv"],
        input=json.dumps({"id": "z", "text": SCHEME}, ensure_ascii=False) + "\n",
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["id"] == "z"


def test_interrupt_leaves_whole_rows_and_says_how_many(model_env: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "big.jsonl"
    with src.open("w", encoding="utf-8") as f:
        for i in range(40000):
            f.write(json.dumps({"id": i, "text": SCHEME + str(i)}, ensure_ascii=False) + "\n")
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "score", str(src), "-o", str(out), "--batch-size", "50"],
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20000):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert 0 < len(rows) < 40000
    assert [r["id"] for r in rows] == [str(i) for i in range(len(rows))]
    assert f"{len(rows)} whole rows were written" in err.decode()
