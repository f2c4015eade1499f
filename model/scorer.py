"""The Scorer: one verified model, loaded once, scoring batches of texts into contract results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from model import artifact
from model.bundle import Features, ModelBundle, Prepared, prepare
from model.contract import Evidence, IndicatorResult, Result
from model.evidence import find_evidence
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
        self.path: Path | None = None  # the artifact file, when loaded from one (batch fan-out helpers load it too)
        bundle.feature_kinds  # noqa: B018 -- built now, not on the first flagged request
        if bundle.featurizer.words_ is not None:
            bundle.featurizer.word_index  # noqa: B018 -- likewise for the token-id vocabulary

    @classmethod
    def load(cls, path: Path | None = None) -> Scorer:
        """Load and verify an artifact (default: REDFLAG_MODEL_PATH or the newest local one)."""
        path = path or default_model_path()
        if path is None:
            raise artifact.ArtifactError(f"no model artifact under {artifact.ARTIFACT_DIR}; {artifact.REBUILD_HINT}")
        bundle, manifest = artifact.load(Path(path))
        scorer = cls(bundle, manifest)
        scorer.path = Path(path)
        return scorer

    def score(self, texts: list[str], ids: list[str | None] | None = None) -> list[Result]:
        """Score a batch in one vectorized pass; texts must already be valid (see model.contract.check_text)."""
        if not texts:
            return []
        ids = ids if ids is not None else [None] * len(texts)
        # plain numpy/scipy all the way (no scikit-learn on the request path: no per-call validation, fast start)
        prep = prepare(texts)
        feats, doc, win = self.bundle.stage1(prep)
        probs = self.bundle.probabilities(doc, win)
        scores = {code: np.round(probs[code], 4) for code in (*CODES, "risk", "offer")}
        flags = {code: scores[code] >= self.thresholds[code] for code in CODES}
        spans = self._evidence(prep, feats, flags)
        results = []
        for i, text in enumerate(texts):
            indicators = [
                IndicatorResult(
                    code,
                    float(scores[code][i]),
                    bool(flags[code][i]),
                    [Evidence(s, e, text[s:e]) for s, e in spans.get((i, code), [])],
                )
                for code in CODES
            ]
            risk = float(scores["risk"][i])
            results.append(
                Result(
                    id=ids[i],
                    risk_score=risk,
                    risk_level=risk_level(risk, self.levels),
                    flagged=risk >= self.thresholds["risk"],
                    indicators=indicators,
                    facts=extract_facts(prep.norms[i].text, prep.levels[i]),
                    model_version=self.version,
                    offer_score=float(scores["offer"][i]),
                )
            )
        return results

    def _evidence(
        self, prep: Prepared, feats: Features, flags: dict[str, np.ndarray]
    ) -> dict[tuple[int, str], list[tuple[int, int]]]:
        """Evidence spans for every flagged (text, indicator), from one matrix of all their clauses."""
        flagged_docs = [i for i in range(len(prep.norms)) if any(flags[c][i] for c in CODES)]
        if not flagged_docs:
            return {}
        rows = np.concatenate([np.arange(*prep.doc_pieces[i]) for i in flagged_docs])
        x = self.bundle.piece_matrix(feats, rows)
        logits = x.dot(self.bundle.weights) + self.bundle.intercepts
        out: dict[tuple[int, str], list[tuple[int, int]]] = {}
        k = 0
        for i in flagged_docs:
            a, b = prep.doc_pieces[i]
            n = b - a
            clauses, cl, first = prep.pieces[a:b], logits[k : k + n], k
            k += n
            for h, code in enumerate(CODES):
                if flags[code][i]:
                    out[(i, code)] = find_evidence(
                        prep.norms[i], clauses, x, first, cl, h, self.bundle.weights, self.bundle.feature_kinds, code
                    )
        return out
