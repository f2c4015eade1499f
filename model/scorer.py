"""The Scorer: one verified model, loaded once, scoring batches of texts into contract results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

from model import artifact
from model.bundle import ModelBundle, Prepared, prepare
from model.contract import Evidence, IndicatorResult, Result
from model.evidence import clause_segments, find_evidence
from model.facts import extract_facts
from model.taxonomy import CODES


def default_model_path() -> Path | None:
    """REDFLAG_MODEL_PATH, else the newest artifact under model/artifacts/."""
    env = os.environ.get("REDFLAG_MODEL_PATH")
    if env:
        return Path(env)
    return artifact.newest_artifact()


def risk_level(score: float, levels: dict[str, float]) -> str:
    if score >= levels["high"]:
        return "high"
    if score >= levels["medium"]:
        return "medium"
    return "low"


class Scorer:
    """Scores lists of texts; holds one ModelBundle and its manifest."""

    def __init__(self, bundle: ModelBundle, manifest: dict[str, Any]) -> None:
        self.bundle = bundle
        self.manifest = manifest
        self.version: str = manifest["version"]
        self.thresholds: dict[str, float] = manifest["thresholds"]
        self.levels: dict[str, float] = manifest["risk_levels"]

    @classmethod
    def load(cls, path: Path | None = None) -> Scorer:
        """Load and verify an artifact (default: REDFLAG_MODEL_PATH or the newest local one)."""
        path = path or default_model_path()
        if path is None:
            raise artifact.ArtifactError(f"no model artifact under {artifact.ARTIFACT_DIR}; {artifact.REBUILD_HINT}")
        bundle, manifest = artifact.load(Path(path))
        return cls(bundle, manifest)

    def score(self, texts: list[str], ids: list[str | None] | None = None) -> list[Result]:
        """Score a batch in one vectorized pass; texts must already be valid (see model.contract.check_text)."""
        if not texts:
            return []
        ids = ids if ids is not None else [None] * len(texts)
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            prep = prepare(texts)
            _, doc_logits, win_logits, _ = self.bundle.stage1(prep)
            probs = self.bundle.probabilities(doc_logits, win_logits)
            return [self._result(i, texts[i], ids[i], prep, probs) for i in range(len(texts))]

    def _result(
        self,
        i: int,
        text: str,
        row_id: str | None,
        prep: Prepared,
        probs: dict[str, np.ndarray],
    ) -> Result:
        scores = {code: round(float(probs[code][i]), 4) for code in CODES}
        flagged = {code: scores[code] >= self.thresholds[code] for code in CODES}
        spans: dict[str, list[tuple[int, int]]] = {code: [] for code in CODES}
        if any(flagged.values()):
            clauses = clause_segments(prep.docs[i])
            if clauses:
                cx = self.bundle.features.transform(clauses).tocsr()
                cl = np.asarray(cx @ self.bundle.weights) + self.bundle.intercepts
                for h, code in enumerate(CODES):
                    if flagged[code]:
                        spans[code] = find_evidence(
                            prep.norms[i], clauses, cx, cl, h, self.bundle.weights, self.bundle.feature_kinds, code
                        )
        indicators = [
            IndicatorResult(code, scores[code], flagged[code], [Evidence(s, e, text[s:e]) for s, e in spans[code]])
            for code in CODES
        ]
        risk = round(float(probs["risk"][i]), 4)
        return Result(
            id=row_id,
            risk_score=risk,
            risk_level=risk_level(risk, self.levels),
            flagged=risk >= self.thresholds["risk"],
            indicators=indicators,
            facts=extract_facts(prep.norms[i].text),
            model_version=self.version,
            offer_score=round(float(probs["offer"][i]), 4),
        )
