"""The output contract (../shared/DESIGN.md) as plain dataclasses, shared by the HTTP API and the CLI."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from model.taxonomy import BY_CODE, CODES

DEFAULT_MAX_CHARS = 20_000
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Evidence:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class IndicatorResult:
    code: str
    score: float
    flagged: bool
    evidence: list[Evidence]

    def to_dict(self) -> dict[str, Any]:
        ind = BY_CODE[self.code]
        return {
            "code": self.code,
            "name": ind.name,
            "name_zh": ind.name_zh,
            "name_en": ind.name_en,
            "score": self.score,
            "flagged": self.flagged,
            "evidence": [{"start": e.start, "end": e.end, "text": e.text} for e in self.evidence],
            "legal_basis": ind.legal_basis,
        }


@dataclass(frozen=True)
class Result:
    id: str | None
    risk_score: float
    risk_level: str
    flagged: bool
    indicators: list[IndicatorResult]
    facts: dict[str, Any]
    model_version: str
    offer_score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "risk_score": self.risk_score,
            "risk_level": self.risk_level,
            "flagged": self.flagged,
            "indicators": [i.to_dict() for i in self.indicators],
            "facts": self.facts,
            "offer_score": self.offer_score,
            "model_version": self.model_version,
        }


@dataclass(frozen=True)
class RowError:
    """A row that could not be scored; it takes the row's place in the output."""

    id: str | None
    code: str
    message: str
    line: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.line is not None:
            out["line"] = self.line
        out["error"] = {"code": self.code, "message": self.message}
        return out


def check_text(text: object, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str, str] | None:
    """Why a value cannot be scored as a text, as (code, message), or None when it can."""
    if not isinstance(text, str):
        return "invalid_text", f"text must be a string, got {type(text).__name__}"
    if not text.strip():
        return "empty_text", "text is empty or whitespace only"
    if len(text) > max_chars:
        return "text_too_long", f"text has {len(text)} characters; the limit is {max_chars}"
    if _SURROGATE.search(text):
        return "invalid_text", "text contains a lone UTF-16 surrogate, which is not a character"
    return None


CSV_BASE = ["id", "line", "risk_score", "risk_level", "flagged"]


def csv_columns() -> list[str]:
    """The flat columns of CSV output and of score_frame, in order."""
    cols = list(CSV_BASE)
    for c in CODES:
        cols += [f"{c}_score", f"{c}_flagged", f"{c}_evidence"]
    return cols + ["offer_score", "facts", "model_version", "error"]


def flatten(d: dict[str, Any]) -> dict[str, Any]:
    """A result or error row as flat CSV columns (other input fields carried through)."""
    known = {
        "id",
        "line",
        "risk_score",
        "risk_level",
        "flagged",
        "indicators",
        "facts",
        "model_version",
        "error",
        "offer_score",
    }
    flat: dict[str, Any] = {k: v for k, v in d.items() if k not in known}
    flat["id"] = d.get("id")
    flat["line"] = d.get("line", "")
    if "error" in d:
        flat["error"] = f"{d['error']['code']}: {d['error']['message']}"
        return flat
    flat.update(
        risk_score=d["risk_score"],
        risk_level=d["risk_level"],
        flagged=d["flagged"],
        offer_score=d.get("offer_score"),
        model_version=d["model_version"],
    )
    for ind in d["indicators"]:
        flat[f"{ind['code']}_score"] = ind["score"]
        flat[f"{ind['code']}_flagged"] = ind["flagged"]
        flat[f"{ind['code']}_evidence"] = "|".join(e["text"].replace("|", "/") for e in ind["evidence"])
    flat["facts"] = json.dumps(d["facts"], ensure_ascii=False) if d["facts"] else ""
    flat["error"] = ""
    return flat
