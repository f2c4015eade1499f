"""The trained model object: features, per-head linear models and the calibrated second stage.

Stage 1: one linear SVM head per indicator plus `risk` and `offer` (does the text make an offer to the reader, as
opposed to reporting on a scheme), applied to the whole text and to each sentence window.
Stage 2: per head, a logistic regression over [whole-text logit, max window logit, offer logit] fitted on
out-of-fold stage-1 logits: it calibrates, lets one paragraph of a long page carry the score, and lets the offer
head gate texts that only report on schemes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from model.features import Segment, tokenize, windows
from model.normalize import Normalized, normalize
from model.taxonomy import CODES

HEADS: tuple[str, ...] = CODES + ("risk", "offer")


@dataclass
class Prepared:
    """Normalized documents, their whole-text segments and windows, ready for the feature union."""

    norms: list[Normalized]
    docs: list[Segment]
    wins: list[list[Segment]]


def prepare(texts: list[str]) -> Prepared:
    """Normalize, tokenize once per text, and cut sentence windows."""
    norms = [normalize(t) for t in texts]
    docs, wins = [], []
    for n in norms:
        toks = tokenize(n.text)
        docs.append(Segment(n.text, toks, 0))
        wins.append(windows(n.text, toks))
    return Prepared(norms, docs, wins)


def stage2_inputs(head: str, doc: np.ndarray, win: np.ndarray, gated: bool) -> np.ndarray:
    """Stage-2 design matrix for one head from stage-1 logits (columns indexed by HEADS)."""
    h = HEADS.index(head)
    cols = [doc[:, h], win[:, h]]
    if gated and head != "offer":
        o = HEADS.index("offer")
        cols.extend([doc[:, o], np.minimum(doc[:, h], doc[:, o])])
    return np.column_stack(cols)


@dataclass
class ModelBundle:
    features: FeatureUnion
    weights: np.ndarray  # (n_features, len(HEADS)) stage-1 coefficients, float32
    intercepts: np.ndarray  # (len(HEADS),)
    combiners: dict[str, LogisticRegression]
    feature_kinds: list[tuple[str, str]]
    risk_mode: str = "own"  # "own" head or "derived" (max over statutory indicators and high_return_promise)
    gated: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    def stage1(self, prep: Prepared) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray, list[sparse.csr_matrix]]:
        """Features and stage-1 logits for documents, and the max over each document's windows."""
        x_doc = self.features.transform(prep.docs).tocsr()
        doc_logits = np.asarray(x_doc @ self.weights) + self.intercepts
        win_logits = doc_logits.copy()
        flat = [w for ws in prep.wins for w in ws]
        win_rows: list[sparse.csr_matrix] = []
        if flat:
            x_win = self.features.transform(flat).tocsr()
            wl = np.asarray(x_win @ self.weights) + self.intercepts
            k = 0
            for i, ws in enumerate(prep.wins):
                if ws:
                    win_logits[i] = np.maximum(doc_logits[i], wl[k : k + len(ws)].max(axis=0))
                    win_rows.append(x_win[k : k + len(ws)])
                    k += len(ws)
                else:
                    win_rows.append(x_win[0:0])
        else:
            win_rows = [x_doc[0:0]] * len(prep.docs)
        return x_doc, doc_logits, win_logits, win_rows

    def probabilities(self, doc_logits: np.ndarray, win_logits: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated probability per head, with `risk` per the chosen risk mode."""
        probs = {
            head: self.combiners[head].predict_proba(stage2_inputs(head, doc_logits, win_logits, self.gated))[:, 1]
            for head in HEADS
        }
        if self.risk_mode == "derived":
            probs["risk"] = np.max(
                [
                    probs[c]
                    for c in ("recruitment_rewards", "entry_fee", "multi_level_commission", "high_return_promise")
                ],
                axis=0,
            )
        return probs
