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


def _indicator(code: str, name: str, score: float, evidence: list[dict[str, Any]], basis: str) -> dict[str, Any]:
    zh, en = name.split(" / ")
    return {
        "code": code,
        "name": name,
        "name_zh": zh,
        "name_en": en,
        "score": score,
        "flagged": bool(evidence),
        "evidence": evidence,
        "legal_basis": basis,
    }


RESULT_EXAMPLES: dict[str, Any] = {
    "zh_scheme": {
        "summary": "中文：拉人头 + 入门费 + 三代团队计酬",
        "value": {
            "id": "zh-1",
            "risk_score": 0.9961,
            "risk_level": "high",
            "flagged": True,
            "indicators": [
                _indicator(
                    "recruitment_rewards",
                    "拉人头 / recruitment rewards",
                    0.9871,
                    [{"start": 9, "end": 20, "text": "每推荐一人奖励100元"}],
                    "《禁止传销条例》第七条(一)",
                ),
                _indicator(
                    "entry_fee",
                    "收取入门费 / entry fee",
                    0.9057,
                    [{"start": 0, "end": 8, "text": "加入只需399元"}],
                    "《禁止传销条例》第七条(二)",
                ),
                _indicator(
                    "multi_level_commission",
                    "团队计酬 / multi-level commission",
                    0.946,
                    [{"start": 21, "end": 33, "text": "三代以内团队业绩都有提成"}],
                    "《禁止传销条例》第七条(三); 刑法第224条之一",
                ),
                _indicator(
                    "high_return_promise", "高额返利/保本承诺 / high-return promise", 0.12, [], "资金盘 / Ponzi pattern"
                ),
                _indicator("inventory_loading", "囤货/压货 / inventory loading", 0.0049, [], "FTC: inventory loading"),
            ],
            "facts": {"levels": 3, "entry_fee": {"amount": 399, "currency": "CNY"}},
            "offer_score": 0.9987,
            "model_version": "20261122-example",
        },
    },
    "en_referral": {
        "summary": "English: a one-level referral coupon (hard negative)",
        "value": {
            "id": "en-1",
            "risk_score": 0.0085,
            "risk_level": "low",
            "flagged": False,
            "indicators": [
                _indicator(
                    "recruitment_rewards", "拉人头 / recruitment rewards", 0.0341, [], "《禁止传销条例》第七条(一)"
                ),
                _indicator("entry_fee", "收取入门费 / entry fee", 0.009, [], "《禁止传销条例》第七条(二)"),
                _indicator(
                    "multi_level_commission",
                    "团队计酬 / multi-level commission",
                    0.006,
                    [],
                    "《禁止传销条例》第七条(三)",
                ),
                _indicator(
                    "high_return_promise",
                    "高额返利/保本承诺 / high-return promise",
                    0.0011,
                    [],
                    "资金盘 / Ponzi pattern",
                ),
                _indicator("inventory_loading", "囤货/压货 / inventory loading", 0.003, [], "FTC: inventory loading"),
            ],
            "facts": {},
            "offer_score": 0.9999,
            "model_version": "20261122-example",
        },
    },
}
