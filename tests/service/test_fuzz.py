"""Fuzz the OpenAPI schema with schemathesis (bounded examples): no 5xx, every response conforms to the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from model.scorer import Scorer  # noqa: E402
from service.app import create_app  # noqa: E402
from service.settings import Settings  # noqa: E402


def test_api_conforms_to_its_schema_and_never_5xx(artifact_path: Path, scorer: Scorer) -> None:
    app = create_app(Settings(model_path=artifact_path), scorer_loader=lambda _s: scorer)
    app.state.scorer = scorer  # in case the transport does not run the lifespan
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/score", "/v1/score/batch", "/v1/model", "/healthz", "/readyz"}
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call()
            assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text}"
            case.validate_response(response)

        check()
