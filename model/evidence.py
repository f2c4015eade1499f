"""Evidence spans: the clauses the model itself scores highest for an indicator, mapped to original offsets.

Each clause of a text is scored by the indicator's stage-1 head on its own (from the clause counts the document
was built from, so nothing is analyzed twice); the best clauses (at most three, each narrowed to the words that
carry its score when it is long) become the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.features import _NEGATION, NEG_MARK, Rows, Segment, cue_matches
from model.normalize import Normalized

MAX_SPANS = 3
MAX_CLAUSE = 60


def _hits(seg: Segment, kind: str, feature: str, code: str) -> list[tuple[int, int]]:
    text = seg.text
    feature = feature.replace(NEG_MARK, "")
    if kind == "words":
        parts = feature.split(" ")
        toks = seg.tokens
        return [
            (toks[i][1] - seg.start, toks[i + len(parts) - 1][2] - seg.start)
            for i in range(len(toks) - len(parts) + 1)
            if all(toks[i + k][0] == p for k, p in enumerate(parts))
        ]
    if kind == "chars":
        out, i = [], text.find(feature)
        while i >= 0:
            out.append((i, i + len(feature)))
            i = text.find(feature, i + 1)
        return out
    if kind == "cues" and feature == f"cue:{code}:affirmed":
        return [
            m.span() for m in cue_matches(code, text) if not _NEGATION.search(text[max(0, m.start() - 30) : m.start()])
        ]
    return []


def _narrow(
    seg: Segment, x: Rows, r: int, weights: np.ndarray, kinds: Sequence[tuple[str, str]], code: str
) -> tuple[int, int]:
    """Within a long clause, the stretch covering the hits of its top positive features."""
    if len(seg.text) <= MAX_CLAUSE:
        return 0, len(seg.text)
    lo, hi = x.indptr[r], x.indptr[r + 1]
    row_idx, row_data = x.indices[lo:hi], x.data[lo:hi]
    contrib = row_data * weights[row_idx]
    hits: list[tuple[int, int]] = []
    for j in np.argsort(-contrib)[:8]:
        if contrib[j] <= 0:
            break
        kind, feature = kinds[row_idx[j]]
        hits.extend(_hits(seg, kind, feature, code))
    if not hits:
        return 0, MAX_CLAUSE
    # the densest MAX_CLAUSE-character stretch of hits
    hits.sort()
    best, best_n = (hits[0][0], hits[0][1]), 0
    for i, (s, _) in enumerate(hits):
        inside = [h for h in hits[i:] if h[1] <= s + MAX_CLAUSE]
        if len(inside) > best_n:
            best_n, best = len(inside), (s, max(h[1] for h in inside))
    s, e = best
    text = seg.text
    while s > 0 and text[s - 1].isalnum() and text[s].isascii():
        s -= 1  # do not cut an English word in half
    while e < len(text) and text[e].isalnum() and text[e - 1].isascii():
        e += 1
    return s, e


def find_evidence(
    norm: Normalized,
    clauses: list[Segment],
    x: Rows,
    first_row: int,
    clause_logits: np.ndarray,
    head: int,
    weights: np.ndarray,
    kinds: Sequence[tuple[str, str]],
    code: str,
) -> list[tuple[int, int]]:
    """Up to MAX_SPANS evidence spans (original-text offsets) for one flagged indicator."""
    if not clauses:
        return []
    scores = clause_logits[:, head]
    order = np.argsort(-scores, kind="stable")
    picked = [int(i) for i in order[:MAX_SPANS] if scores[i] > 0]
    if not picked:
        picked = [int(order[0])]
    spans = []
    for i in sorted(picked):
        seg = clauses[i]
        s, e = _narrow(seg, x, first_row + i, weights[:, head], kinds, code)
        while s < e and seg.text[s].isspace():
            s += 1
        while e > s and seg.text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append(norm.original_span(seg.start + s, seg.start + e))
    return spans
