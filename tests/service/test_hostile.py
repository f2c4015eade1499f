"""Hostile and malformed input, table-driven over HTTP and the CLI: an expected status or error row, never a crash."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from model.scorer import Scorer
from service.app import create_app
from service.cli import app as cli
from service.settings import Settings

SCHEME = "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成"

# (name, text, HTTP status, CLI error code or None for a result)
TEXT_CASES = [
    ("empty", "", 422, "empty_text"),
    ("whitespace", " \t\n\u3000 ", 422, "empty_text"),
    ("max length", "好" * 20000, 200, None),
    ("over max length", "好" * 20001, 413, "text_too_long"),
    ("nul bytes", "加入\x00只需399元\x00每推荐一人奖励100元", 200, None),
    ("lone surrogate", "加入\ud800只需399元", 422, "invalid_text"),
    ("emoji astral rtl", "🚀🔥 𝐉𝐎𝐈𝐍 مرحبا שלום 每推荐一人奖励100元 👉🏽👨‍👩‍👧", 200, None),
    ("zero width", "拉\u200b人\u200c头\u200d奖\ufeff励", 200, None),
    ("html and script", "<script>alert('x')</script><b>每推荐一人奖励100元</b><img src=x onerror=alert(1)>", 200, None),
    ("one repeated char", "a" * 20000, 200, None),
    ("one repeated cjk", "拉" * 20000, 200, None),
    ("control chars", "\x01\x02\x1b[31m每推荐一人\x7f奖励", 200, None),
]
WRONG_TYPES = [("number", 42), ("null", None), ("list", ["a", "b"]), ("object", {"t": "x"}), ("bool", True)]


@pytest.fixture(scope="module")
def client(artifact_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(model_path=artifact_path))) as c:
        yield c


@pytest.mark.parametrize(("name", "text", "status", "_code"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_http_text_cases(client: TestClient, name: str, text: str, status: int, _code: str | None) -> None:
    start = time.perf_counter()
    body = json.dumps({"text": text}).encode()  # ASCII-escaped: lone surrogates survive as \\ud800
    r = client.post("/v1/score", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert time.perf_counter() - start < 20, "scoring must stay bounded in time"
    if status == 200:
        d = r.json()
        for ind in d["indicators"]:
            for e in ind["evidence"]:
                assert text[e["start"] : e["end"]] == e["text"]
    else:
        assert set(r.json()) == {"error"}


@pytest.mark.parametrize(("name", "value"), WRONG_TYPES, ids=[c[0] for c in WRONG_TYPES])
def test_http_wrong_types_are_422(client: TestClient, name: str, value: object) -> None:
    r = client.post("/v1/score", json={"text": value})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("invalid utf-8", b'{"text": "\xff\xfe\xfd"}', 422),
        ("truncated json", b'{"text": "abc', 422),
        ("deeply nested", b'{"text": ' + b"[" * 100000 + b"]" * 100000 + b"}", 422),
        ("ten megabytes", b'{"text": "' + b"x" * (10 * 1024 * 1024) + b'"}', 413),
        ("not an object", b'"just a string"', 422),
        ("empty body", b"", 422),
    ],
)
def test_http_malformed_bodies(client: TestClient, name: str, body: bytes, status: int) -> None:
    r = client.post("/v1/score", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}


def test_http_batch_of_257_is_413_and_duplicate_ids_are_scored(client: TestClient) -> None:
    assert client.post("/v1/score/batch", json={"items": [{"text": "x"}] * 257}).status_code == 413
    r = client.post("/v1/score/batch", json={"items": [{"id": "same", "text": SCHEME}, {"id": "same", "text": "你好"}]})
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["id"] for x in res] == ["same", "same"] and res[0]["flagged"] and not res[1]["flagged"]


def test_cli_text_cases_give_one_row_each(model_env: Path) -> None:
    lines = [json.dumps({"id": name, "text": text}) for name, text, _, _ in TEXT_CASES]
    lines += [json.dumps({"id": f"type-{name}", "text": value}) for name, value in WRONG_TYPES]
    lines += [r'{"id": "lone-surrogate", "text": "\udcff"}', "{" * 5000, "[" * 100000 + "]" * 100000]
    result = CliRunner().invoke(cli, ["score", "-", "-q"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(rows) == len(lines)
    for (name, _text, _status, code), row in zip(TEXT_CASES, rows, strict=False):
        assert row["id"] == name
        if code is None:
            assert "risk_score" in row, row
        else:
            assert row["error"]["code"] == code
    for (name, _), row in zip(WRONG_TYPES, rows[len(TEXT_CASES) :], strict=False):
        assert row["id"] == f"type-{name}" and row["error"]["code"] == "invalid_text"
    tail = rows[len(TEXT_CASES) + len(WRONG_TYPES) :]
    assert tail[0]["error"]["code"] == "invalid_text"
    assert tail[1]["error"]["code"] == "invalid_json"
    assert tail[2]["error"]["code"] in ("invalid_json", "invalid_row")


def test_invalid_utf8_bytes_in_a_cli_file_are_replaced_not_fatal(model_env: Path, tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_bytes(
        b'{"id": "a", "text": "\xff\xfe bad bytes \xe6\xaf\x8f\xe6\x8e\xa8\xe8\x8d\x90"}\n{"id": "b", "text": "ok"}\n'
    )
    result = CliRunner().invoke(cli, ["score", str(src), "-q"])
    assert result.exit_code == 0
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and "risk_score" in rows[0]


# Obfuscations common in scheme ads score like the plain text.
OBFUSCATIONS = [
    ("full-width", "加入只需３９９元，每推荐一人奖励１００元，三代以内团队业绩都有提成"),
    ("spaces", "加入只需399元，每 推 荐 一 人 奖 励 100元，三 代 以 内 团 队 业 绩 都 有 提 成"),
    ("dots", "加入只需399元，每.推.荐.一.人.奖.励100元，三.代以内团.队.业.绩都有提成"),
    ("zero-width", "加入只需399元，每推\u200b荐一\u200c人奖\u200d励100元，三代\ufeff以内团队业绩都有提成"),
    ("traditional", "加入只需399元，每推薦一人獎勵100元，三代以內團隊業績都有提成"),
    ("mixed scripts", "加入只需399元，每推薦一人奖励100元，三代以內团队業績都有提成"),
]


@pytest.mark.parametrize(("name", "variant"), OBFUSCATIONS, ids=[o[0] for o in OBFUSCATIONS])
def test_obfuscated_variants_score_like_the_plain_text(scorer: Scorer, name: str, variant: str) -> None:
    plain, obf = scorer.score([SCHEME, variant])
    assert abs(plain.risk_score - obf.risk_score) <= 0.05
    for p, o in zip(plain.indicators, obf.indicators, strict=True):
        assert abs(p.score - o.score) <= 0.05, (p.code, p.score, o.score)
        for e in o.evidence:
            assert variant[e.start : e.end] == e.text
    rr = next(i for i in obf.indicators if i.code == "recruitment_rewards")
    assert rr.flagged and rr.evidence
