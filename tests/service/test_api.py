from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.artifact import ArtifactError
from model.taxonomy import CODES
from service.app import create_app
from service.settings import Settings

ZH = "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成"
EN = "Invite a friend and you both get a $10 coupon on your next order. No fees."
MIXED = "这个 business 超 simple，join 我们的 team 只要 $199 starter kit，每个 referral 给你 $50，downline 三层都有 commission"


@pytest.fixture()
def client(artifact_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(model_path=artifact_path))) as c:
        yield c


def _assert_error(resp, status: int, code: str) -> None:  # noqa: ANN001
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)


@pytest.mark.parametrize(("text", "flagged"), [(ZH, True), (EN, False), (MIXED, True)])
def test_score_returns_the_contract(client: TestClient, text: str, flagged: bool) -> None:
    r = client.post("/v1/score", json={"text": text, "id": "x1"})
    assert r.status_code == 200
    d = r.json()
    assert d["id"] == "x1" and d["flagged"] is flagged
    assert [i["code"] for i in d["indicators"]] == list(CODES)
    for ind in d["indicators"]:
        assert {"code", "name", "score", "flagged", "evidence", "legal_basis"} <= set(ind)
        for e in ind["evidence"]:
            assert text[e["start"] : e["end"]] == e["text"]
    assert d["model_version"]


def test_batch_keeps_order_and_isolates_bad_items(client: TestClient) -> None:
    items = [
        {"id": "a", "text": ZH},
        {"id": "b", "text": ""},
        {"id": 3, "text": EN},
        {"id": "d", "text": None},
        {"id": "e", "text": "x" * 20001},
        {"id": "f", "text": MIXED},
    ]
    r = client.post("/v1/score/batch", json={"items": items})
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["id"] for x in res] == ["a", "b", "3", "d", "e", "f"]
    assert res[0]["flagged"] and not res[2]["flagged"] and res[5]["flagged"]
    assert res[1]["error"]["code"] == "empty_text" and "item 1" in res[1]["error"]["message"]
    assert res[3]["error"]["code"] == "invalid_text"
    assert res[4]["error"]["code"] == "text_too_long"


def test_batch_matches_single_scores(client: TestClient) -> None:
    single = client.post("/v1/score", json={"text": ZH}).json()
    batch = client.post("/v1/score/batch", json={"items": [{"text": EN}, {"text": ZH}]}).json()["results"][1]
    assert single["risk_score"] == batch["risk_score"]


def test_coalescing_configuration_answers_each_request_with_its_own_result(artifact_path: Path) -> None:
    # REDFLAG_COALESCE_ITEMS > 1 routes single texts through the coalescer; the default sends each to the scorer
    with TestClient(create_app(Settings(model_path=artifact_path, coalesce_items=8))) as c:
        zh = c.post("/v1/score", json={"text": ZH, "id": "z"}).json()
        en = c.post("/v1/score", json={"text": EN, "id": "e"}).json()
        default = c.app.state.coalescer
    with TestClient(create_app(Settings(model_path=artifact_path))) as c:
        assert c.app.state.coalescer is None
        plain = c.post("/v1/score", json={"text": ZH, "id": "z"}).json()
    assert default is not None
    assert (zh["id"], en["id"]) == ("z", "e") and zh["flagged"] and not en["flagged"]
    assert zh == plain


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"text": ""}}, 422, "empty_text"),
        ({"json": {"text": "  \n\t "}}, 422, "empty_text"),
        ({"json": {"text": 5}}, 422, "invalid_request"),
        ({"json": {"txt": "hello"}}, 422, "invalid_request"),
        ({"json": ["text"]}, 422, "invalid_request"),
        ({"content": b"{oops", "headers": {"content-type": "application/json"}}, 422, "invalid_json"),
        ({"content": b"\xff\xfe\x00bad", "headers": {"content-type": "application/json"}}, 422, "invalid_json"),
        ({"json": {"text": "x" * 20001}}, 413, "text_too_long"),
        (
            {"content": b"text=hello", "headers": {"content-type": "application/x-www-form-urlencoded"}},
            415,
            "unsupported_media_type",
        ),
        ({"content": b'{"text": "hi"}', "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
    ],
)
def test_bad_single_requests_get_clear_errors(client: TestClient, kwargs: dict, status: int, code: str) -> None:
    _assert_error(client.post("/v1/score", **kwargs), status, code)


def test_limits_answer_413_naming_the_limit(client: TestClient) -> None:
    r = client.post("/v1/score/batch", json={"items": [{"text": "a"}] * 257})
    _assert_error(r, 413, "batch_too_large")
    assert "256" in r.json()["error"]["message"]
    big = b'{"text": "' + b"a" * (4 * 1024 * 1024 + 10) + b'"}'
    r = client.post("/v1/score", content=big, headers={"content-type": "application/json"})
    _assert_error(r, 413, "body_too_large")
    assert "4194304" in r.json()["error"]["message"]


def test_empty_batch_and_wrong_shapes_are_422(client: TestClient) -> None:
    _assert_error(client.post("/v1/score/batch", json={"items": []}), 422, "empty_batch")
    _assert_error(client.post("/v1/score/batch", json={"items": "nope"}), 422, "invalid_request")
    _assert_error(client.post("/v1/score/batch", json={}), 422, "invalid_request")


def test_unknown_route_and_method_use_the_error_shape(client: TestClient) -> None:
    _assert_error(client.get("/v1/nothing"), 404, "not_found")
    _assert_error(client.get("/v1/score"), 405, "method_not_allowed")


def test_model_endpoint_describes_model_and_taxonomy(client: TestClient) -> None:
    d = client.get("/v1/model").json()
    assert d["version"] and set(d["thresholds"]) == {*CODES, "risk"}
    assert [t["code"] for t in d["taxonomy"]] == list(CODES)
    assert all(t["legal_basis"] and t["name_zh"] and t["name_en"] for t in d["taxonomy"])
    assert d["operating_points"] and {"threshold", "precision", "recall", "hard_neg_fpr"} <= set(
        d["operating_points"][0]
    )


def _metric(text: str, name: str, labels: str) -> float:
    m = re.search(rf"^{name}{{{labels}}} (\S+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def test_batch_metrics_count_the_scored_texts_and_their_flags(client: TestClient) -> None:
    before = client.get("/metrics").text
    items = [{"id": "a", "text": ZH}, {"id": "b", "text": "   "}, {"id": "c", "text": ZH}]
    results = client.post("/v1/score/batch", json={"items": items}).json()["results"]
    after = client.get("/metrics").text
    assert "error" in results[1]  # the blank item is an error row, not a scored text
    assert (
        _metric(after, "redflag_texts_scored_total", 'route="batch"')
        - _metric(before, "redflag_texts_scored_total", 'route="batch"')
        == 2
    )
    for code in CODES:
        flagged = sum(
            1 for r in (results[0], results[2]) for i in r["indicators"] if i["code"] == code and i["flagged"]
        )
        label = f'indicator="{code}"'
        assert (
            _metric(after, "redflag_indicator_flags_total", label)
            - _metric(before, "redflag_indicator_flags_total", label)
            == flagged
        )


def test_health_readiness_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    client.post("/v1/score", json={"text": ZH})
    metrics = client.get("/metrics").text
    assert "redflag_texts_scored_total" in metrics and "redflag_indicator_flags_total" in metrics
    assert "http_request_duration_seconds" in metrics and "redflag_model_info" in metrics
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/v1/score"]["post"]["responses"]
    assert {"200", "401", "413", "415", "422", "429", "503"} <= set(responses)


def test_auth_required_when_keys_are_set(artifact_path: Path) -> None:
    settings = Settings(model_path=artifact_path, api_keys="k-one, k-two")
    with TestClient(create_app(settings)) as c:
        _assert_error(c.post("/v1/score", json={"text": ZH}), 401, "unauthorized")
        _assert_error(
            c.post("/v1/score", json={"text": ZH}, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized"
        )
        assert c.post("/v1/score", json={"text": ZH}, headers={"Authorization": "Bearer k-two"}).status_code == 200
        assert c.post("/v1/score", json={"text": ZH}, headers={"X-API-Key": "k-one"}).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200
        assert c.get("/metrics").status_code == 200


def test_api_keys_from_a_file(artifact_path: Path, tmp_path: Path) -> None:
    keyfile = tmp_path / "keys.txt"
    keyfile.write_text("alpha\nbeta\n")
    with TestClient(create_app(Settings(model_path=artifact_path, api_keys=str(keyfile)))) as c:
        assert c.post("/v1/score", json={"text": EN}, headers={"X-API-Key": "beta"}).status_code == 200
        assert c.post("/v1/score", json={"text": EN}, headers={"X-API-Key": "gamma"}).status_code == 401


def test_rate_limit_answers_429_with_retry_after(artifact_path: Path) -> None:
    with TestClient(create_app(Settings(model_path=artifact_path, rate_limit_per_minute=2))) as c:
        assert c.post("/v1/score", json={"text": EN}).status_code == 200
        assert c.post("/v1/score", json={"text": EN}).status_code == 200
        r = c.post("/v1/score", json={"text": EN})
        _assert_error(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1


def test_not_ready_until_a_model_loads(tmp_path: Path) -> None:
    def failing(_s: Settings) -> None:
        raise ArtifactError("artifact is truncated; rebuild it with `redflag train`")

    with TestClient(create_app(Settings(), scorer_loader=failing)) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        _assert_error(r, 503, "not_ready")
        assert "truncated" in r.json()["error"]["message"]
        _assert_error(c.post("/v1/score", json={"text": ZH}), 503, "not_ready")


def test_require_artifact_refuses_to_train(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("model.artifact.ARTIFACT_DIR", tmp_path)
    monkeypatch.setattr("model.scorer.artifact.newest_artifact", lambda *a, **k: None)
    with TestClient(create_app(Settings(require_artifact=True))) as c:
        r = c.get("/readyz")
        _assert_error(r, 503, "not_ready")
        assert "REDFLAG_REQUIRE_ARTIFACT" in r.json()["error"]["message"]


def test_overload_answers_503_with_retry_after(artifact_path: Path) -> None:
    import threading

    from model.scorer import Scorer

    entered, gate = threading.Event(), threading.Event()
    real = Scorer.load(artifact_path)

    class SlowScorer:
        version = "slow"
        manifest: dict = {}

        def score(self, texts: list[str], ids: list[str | None] | None = None) -> list:
            entered.set()
            gate.wait(10)
            return real.score(texts, ids)

    settings = Settings(model_path=artifact_path, max_concurrency=1)
    with TestClient(create_app(settings, scorer_loader=lambda _s: SlowScorer())) as c:
        results: list[int] = []
        t = threading.Thread(target=lambda: results.append(c.post("/v1/score", json={"text": ZH}).status_code))
        t.start()
        assert entered.wait(10)
        r = c.post("/v1/score", json={"text": EN})
        gate.set()
        t.join(10)
        _assert_error(r, 503, "overloaded")
        assert r.headers["retry-after"] == "1"
        assert results == [200]
        assert c.get("/healthz").status_code == 200  # health stays outside the limit


def test_truncated_artifact_keeps_the_service_not_ready(artifact_path: Path, tmp_path: Path) -> None:
    import shutil

    from model import artifact

    bad = tmp_path / artifact_path.name
    bad.write_bytes(artifact_path.read_bytes()[:1000])
    shutil.copy(artifact.manifest_path(artifact_path), artifact.manifest_path(bad))
    with TestClient(create_app(Settings(model_path=bad))) as c:
        r = c.get("/readyz")
        _assert_error(r, 503, "not_ready")
        assert "sha256" in r.json()["error"]["message"] and "redflag train" in r.json()["error"]["message"]
        _assert_error(c.post("/v1/score", json={"text": ZH}), 503, "not_ready")
