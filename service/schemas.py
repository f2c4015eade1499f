"""Request and response models of the HTTP API (pydantic at the edge only), with zh/en examples."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ZH_EXAMPLE = "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成，躺赚不是梦！"
EN_EXAMPLE = "Invite a friend and you both get a $10 coupon on your next order. No fees, no catch."


class ScoreRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"id": "zh-1", "text": ZH_EXAMPLE}, {"id": "en-1", "text": EN_EXAMPLE}]},
    )
    # minLength/pattern document the rule; the handler enforces it so errors keep their codes (empty_text, 413).
    text: str = Field(
        description="The description to score (zh, en or mixed); 1 to 20,000 characters, not only whitespace.",
        json_schema_extra={"minLength": 1, "pattern": r"\S"},
    )
    id: str | None = Field(default=None, max_length=256, description="Your id for this text, echoed back.")


class BatchItem(BaseModel):
    """A batch item: `text` is checked per item, so one bad item gets an error in its place."""

    model_config = ConfigDict(extra="ignore")
    text: Any = Field(description="The description to score.")
    id: str | int | None = Field(default=None, description="Your id for this item, echoed back.")


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"items": [{"id": "a", "text": ZH_EXAMPLE}, {"id": "b", "text": EN_EXAMPLE}]}]},
    )
    items: list[BatchItem] = Field(
        description="1 to 256 items, scored in order.", json_schema_extra={"minItems": 1, "maxItems": 256}
    )


class EvidenceOut(BaseModel):
    start: int = Field(description="Offset (Unicode code points) into the text as sent.")
    end: int
    text: str = Field(description="Exactly text[start:end].")


class IndicatorOut(BaseModel):
    code: str
    name: str
    name_zh: str
    name_en: str
    score: float
    flagged: bool
    evidence: list[EvidenceOut]
    legal_basis: str


class ScoreResult(BaseModel):
    id: str | None
    risk_score: float = Field(description="Calibrated probability that a reviewer should escalate this text.")
    risk_level: str = Field(description="low / medium / high")
    flagged: bool
    indicators: list[IndicatorOut] = Field(description="All five indicators, always, in taxonomy order.")
    facts: dict[str, Any] = Field(description="Stated numbers: levels, entry_fee, promised_return, commission_rates.")
    offer_score: float = Field(description="Probability the text makes an offer to the reader (vs. reporting on one).")
    model_version: str


class ItemErrorBody(BaseModel):
    code: str
    message: str


class ItemError(BaseModel):
    id: str | None
    error: ItemErrorBody


class BatchResponse(BaseModel):
    results: list[ScoreResult | ItemError]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class ModelInfo(BaseModel):
    version: str
    created_at: str
    versions: dict[str, str]
    thresholds: dict[str, float]
    risk_levels: dict[str, float]
    risk_head: dict[str, Any]
    operating_points: list[dict[str, float]]
    test_metrics: dict[str, Any]
    taxonomy: list[dict[str, str]]
    corpus: dict[str, Any]


def _err(desc: str, code: str, msg: str) -> dict[str, Any]:
    return {
        "model": ErrorResponse,
        "description": desc,
        "content": {"application/json": {"example": {"error": {"code": code, "message": msg, "details": []}}}},
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("Missing or wrong API key (when keys are configured).", "unauthorized", "a valid API key is required"),
    413: _err("Text, batch or body over its limit.", "text_too_long", "text has 20001 characters; the limit is 20000"),
    415: _err("Content-Type is not application/json.", "unsupported_media_type", "send the body as application/json"),
    422: _err(
        "Invalid JSON, wrong types, missing fields, empty text.", "empty_text", "text is empty or whitespace only"
    ),
    429: _err(
        "Per-key rate limit exceeded (when enabled).", "rate_limited", "rate limit of 60 requests per minute exceeded"
    ),
    503: _err("Model not loaded, or the server is at its concurrency limit.", "not_ready", "the model is not loaded"),
}
