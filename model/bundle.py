"""The trained model object: featurizer, per-head linear models and the calibrated second stage.

Stage 1: one linear SVM head per indicator plus `risk` (fitted on texts that make an offer) and `offer` (does the
text make an offer to the reader, as opposed to reporting on a scheme; fitted on all texts), applied to the whole
text and to each sentence window. Stage 2: per head, a logistic regression over [whole-text margin, max window
margin, offer margin, min(head, offer)] fitted on out-of-fold stage-1 margins: it calibrates, lets one paragraph of
a long page carry the score, and lets the offer head gate texts that only report on schemes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy import sparse

from model.facts import Mentions, level_mentions
from model.features import (
    N_CUE_FEATURES,
    FeatureNames,
    Featurizer,
    Rows,
    Segment,
    atoms,
    cue_counts,
    segment_sum,
    tokenize,
    window_groups,
)
from model.normalize import Normalized, normalize
from model.taxonomy import CODES

HEADS: tuple[str, ...] = CODES + ("risk", "offer")


@dataclass
class Prepared:
    """Normalized texts cut into clauses; documents and windows are runs of those clauses."""

    norms: list[Normalized]
    pieces: list[Segment]  # every clause of every text, in order
    doc_pieces: list[tuple[int, int]]  # [start, end) into `pieces` per text
    windows: list[tuple[int, int, int]]  # (text index, start, end) into `pieces`
    levels: list[Mentions]  # pay-plan depth statements per text (a cue feature and a fact: found once)


def prepare(texts: list[str]) -> Prepared:
    """Normalize, tokenize once per text, cut clauses and sentence windows."""
    norms = [normalize(t) for t in texts]
    pieces, doc_pieces, wins = [], [], []
    for i, n in enumerate(norms):
        ps = atoms(n.text, tokenize(n.text))
        base = len(pieces)
        pieces.extend(ps)
        doc_pieces.append((base, base + len(ps)))
        wins.extend((i, base + a, base + b) for a, b in window_groups(ps))
    return Prepared(norms, pieces, doc_pieces, wins, [level_mentions(n.text) for n in norms])


def _summing(ranges: list[tuple[int, int]], n_cols: int) -> sparse.csr_matrix:
    """A 0/1 matrix whose row r sums columns ranges[r][0]..ranges[r][1]-1."""
    indptr = np.zeros(len(ranges) + 1, dtype=np.int64)
    indices = []
    for r, (a, b) in enumerate(ranges):
        indices.append(np.arange(a, b))
        indptr[r + 1] = indptr[r] + (b - a)
    idx = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
    return sparse.csr_matrix((np.ones(len(idx), dtype=np.float32), idx, indptr), shape=(len(ranges), n_cols))


@dataclass
class Features:
    """Raw clause counts and the TF-IDF matrices of documents and windows composed from them."""

    piece_counts: list[Rows]
    x_doc: sparse.csr_matrix | None  # None on the scoring path (margins are computed without them)
    x_win: sparse.csr_matrix | None
    win_owner: np.ndarray


def clause_cues(prep: Prepared) -> np.ndarray:
    """Cue counts per clause, each regex run once per text (negation context crosses clause boundaries)."""
    blocks = []
    for norm, (a, b), levels in zip(prep.norms, prep.doc_pieces, prep.levels, strict=True):
        blocks.append(cue_counts(norm.text, [p.start for p in prep.pieces[a:b]], levels))
    return np.vstack(blocks) if blocks else np.zeros((0, N_CUE_FEATURES), dtype=np.float32)


def compose(featurizer: Featurizer, prep: Prepared, fit_idf: bool = False) -> Features:
    """Count each clause once; sum clauses into documents and windows; TF-IDF them."""
    raw = featurizer.counts(prep.pieces, clause_cues(prep) if "cues" in featurizer.kinds else None)
    counts = [c.tocsr() for c in raw]
    n = len(prep.pieces)
    doc_sum = _summing(prep.doc_pieces, n)
    doc_counts = [doc_sum @ c for c in counts]
    if fit_idf:
        featurizer.fit_idf(doc_counts)
    x_doc = featurizer.finish(doc_counts)
    win_sum = _summing([(a, b) for _, a, b in prep.windows], n)
    x_win = featurizer.finish([win_sum @ c for c in counts]) if prep.windows else x_doc[0:0]
    owner = np.array([i for i, _, _ in prep.windows], dtype=np.int64)
    return Features(raw, x_doc, x_win, owner)


def margins(
    weights: np.ndarray, intercepts: np.ndarray, f: Features, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Stage-1 margins of documents (optionally a subset) and the max over each document's windows."""
    x_doc = f.x_doc if rows is None else f.x_doc[rows]  # no row selection on the request path
    doc = np.asarray(x_doc @ weights) + intercepts
    win = doc.copy()
    if f.x_win.shape[0]:
        owners, x_win = f.win_owner, f.x_win
        if rows is not None:
            pos = np.full(f.x_doc.shape[0], -1, dtype=np.int64)
            pos[rows] = np.arange(len(rows))
            keep = np.flatnonzero(pos[f.win_owner] >= 0)
            owners, x_win = pos[f.win_owner[keep]], f.x_win[keep]
        if len(owners):
            np.maximum.at(win, owners, np.asarray(x_win @ weights) + intercepts)
    return doc, win


STATUTORY_HEADS = ("recruitment_rewards", "entry_fee", "multi_level_commission", "high_return_promise")


def _range_entries(block: Rows, ranges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum the clause rows of each [a, b) range of a CSR count block: (range id, column, count) per nonzero,
    sorted by range then column — plain numpy, no sparse-matrix objects (their per-call checks dominate one text)."""
    starts, ends = block.indptr[ranges[:, 0]], block.indptr[ranges[:, 1]]
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    offsets = np.cumsum(lens) - lens
    pos = np.arange(total) - np.repeat(offsets, lens) + np.repeat(starts, lens)
    rid = np.repeat(np.arange(len(ranges), dtype=np.int64), lens)
    n_cols = block.shape[1]
    keys, inv = np.unique(rid * n_cols + block.indices[pos], return_inverse=True)
    return keys // n_cols, keys % n_cols, np.bincount(inv, weights=block.data[pos])


def range_margins(
    featurizer: Featurizer,
    counts: list[Rows],
    ranges: np.ndarray,
    weights: np.ndarray,
    intercepts: np.ndarray,
) -> np.ndarray:
    """Stage-1 margins of clause ranges (documents, windows): the same numbers as
    `featurizer.finish` of the summed counts times `weights`, computed straight from the clause counts."""
    out = np.zeros((len(ranges), weights.shape[1]))
    offset = 0
    for i, _ in enumerate(featurizer._text_blocks()):
        rid, col, tf = _range_entries(counts[i], ranges)
        d = (1.0 + np.log(tf)) * featurizer.idf_[i][col]
        norms = np.sqrt(np.bincount(rid, weights=d * d, minlength=len(ranges)))
        d /= np.where(norms == 0, 1.0, norms)[rid]
        out += segment_sum(rid, d[:, None] * weights[offset + col], len(ranges))
        offset += counts[i].shape[1]
    if "cues" in featurizer.kinds:
        q = counts[-1]
        cues = np.zeros(q.shape)
        cues[q.row_ids(), q.indices] = q.data
        cum = np.vstack([np.zeros((1, cues.shape[1])), np.cumsum(cues, axis=0, dtype=np.float64)])
        summed = cum[ranges[:, 1]] - cum[ranges[:, 0]]
        out += (np.log1p(summed) * featurizer.cue_weight) @ weights[offset : offset + cues.shape[1]]
    return out + intercepts


def stage2_sources(head: str, gated: bool, stacked: bool = False) -> list[tuple[str, int]]:
    """The stage-2 design columns of one head, in order, as (kind, head index): kind "doc" (whole-text margin),
    "win" (max window margin) or "min" (min of that head's and the offer head's whole-text margins).

    An indicator also sees the other indicators' margins (a per-recruit bonus vs pay across levels, a fee vs a stock
    quota are learned together). `stacked` (risk only): the risk-bearing indicators' margins join the risk head's
    own, so a text whose every indicator is absent needs strong evidence of its own to be called risky.
    """
    h = HEADS.index(head)
    cols = [("doc", h), ("win", h)]
    if gated and head != "offer":
        cols.extend([("doc", HEADS.index("offer")), ("min", h)])
    if head in CODES:
        for code in CODES:
            if code != head:
                cols.extend([("doc", HEADS.index(code)), ("win", HEADS.index(code))])
    if stacked:
        for code in STATUTORY_HEADS:
            cols.extend([("doc", HEADS.index(code)), ("win", HEADS.index(code))])
    return cols


_KIND_BLOCK = {"doc": 0, "win": 1, "min": 2}


def stage2_design(doc: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Every column any head's stage 2 can use: [doc margins | window maxima | min(head, offer)], (n, 3 * heads)."""
    o = HEADS.index("offer")
    return np.hstack([doc, win, np.minimum(doc, doc[:, o : o + 1])])


def stage2_inputs(head: str, doc: np.ndarray, win: np.ndarray, gated: bool, stacked: bool = False) -> np.ndarray:
    """Stage-2 design matrix for one head from stage-1 margins (columns indexed by HEADS; see stage2_sources)."""
    z = stage2_design(doc, win)
    return z[:, [_KIND_BLOCK[k] * len(HEADS) + i for k, i in stage2_sources(head, gated, stacked)]]


@dataclass(frozen=True)
class Combiner:
    """A fitted stage-2 logistic regression as plain numbers (scoring needs no scikit-learn)."""

    coef: np.ndarray
    intercept: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))


@dataclass
class ModelBundle:
    featurizer: Featurizer
    weights: np.ndarray  # (n_features, len(HEADS)) stage-1 coefficients, float32
    intercepts: np.ndarray  # (len(HEADS),)
    combiners: dict[str, Combiner]
    # "own" risk head, "stacked" (own head plus the indicators' margins in stage 2), "derived" (max over the
    # statutory indicators and high_return_promise) or "averaged" (mean of own and derived)
    risk_mode: str = "own"
    gated: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def feature_kinds(self) -> FeatureNames:
        """(block, feature) per column, for evidence; looked up on demand rather than pickled (45k small tuples
        make joblib's Python unpickler slow: start-up time)."""
        return self.featurizer.feature_names()

    def _fused(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Every head's stage-2 coefficients as one (3 * heads, outputs) matrix over `stage2_design` columns
        (cached; rebuilt if training changes the risk mode, the gate or the combiners)."""
        key = (self.risk_mode, self.gated, tuple((n, id(c)) for n, c in self.combiners.items()))
        cached = self.__dict__.get("_fused_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        names = list(HEADS) + (["risk_stacked"] if self.risk_mode == "stacked" else [])
        w = np.zeros((3 * len(HEADS), len(names)))
        b = np.zeros(len(names))
        for k, name in enumerate(names):
            head, stacked = ("risk", True) if name == "risk_stacked" else (name, False)
            comb = self.combiners[name]
            for coef, (kind, i) in zip(comb.coef, stage2_sources(head, self.gated, stacked), strict=True):
                w[_KIND_BLOCK[kind] * len(HEADS) + i, k] += coef
            b[k] = comb.intercept
        self.__dict__["_fused_cache"] = (key, (w, b, names))
        return w, b, names

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("feature_kinds", None)
        state.pop("_fused_cache", None)
        return state

    def stage1(self, prep: Prepared) -> tuple[Features, np.ndarray, np.ndarray]:
        """Clause counts and stage-1 margins for documents, and the max over each document's windows.

        The scoring path: margins come straight from clause counts (`range_margins`), without building the
        document and window TF-IDF matrices that training needs (`compose`); a test holds the two equal.
        """
        fz = self.featurizer
        counts = fz.counts(prep.pieces, clause_cues(prep) if "cues" in fz.kinds else None)
        n_docs = len(prep.doc_pieces)
        ranges = np.array(prep.doc_pieces + [(a, b) for _, a, b in prep.windows], dtype=np.int64).reshape(-1, 2)
        m = range_margins(fz, counts, ranges, self.weights, self.intercepts)
        doc, win = m[:n_docs], m[:n_docs].copy()
        owner = np.array([i for i, _, _ in prep.windows], dtype=np.int64)
        if len(owner):
            np.maximum.at(win, owner, m[n_docs:])
        return Features(counts, None, None, owner), doc, win

    def probabilities(
        self,
        doc: np.ndarray,
        win: np.ndarray,
        combiners: dict[str, Combiner] | None = None,
        gated: bool | None = None,
    ) -> dict[str, np.ndarray]:
        """Calibrated probability per head, with `risk` per the chosen risk mode."""
        if combiners is None and gated is None:  # the scoring path: every head in one matrix product
            w, b, names = self._fused()
            logits = stage2_design(doc, win) @ w + b
            probs = {name: 1.0 / (1.0 + np.exp(-logits[:, k])) for k, name in enumerate(names)}
            if self.risk_mode == "stacked":
                probs["risk"] = probs.pop("risk_stacked")
        else:
            combiners = combiners or self.combiners
            gated = self.gated if gated is None else gated
            probs = {}
            for head in HEADS:
                probs[head] = combiners[head](stage2_inputs(head, doc, win, gated))
            if self.risk_mode == "stacked":
                probs["risk"] = combiners["risk_stacked"](stage2_inputs("risk", doc, win, gated, stacked=True))
        if self.risk_mode in ("derived", "averaged"):
            strongest = np.max([probs[c] for c in STATUTORY_HEADS], axis=0)
            probs["risk"] = strongest if self.risk_mode == "derived" else 0.5 * (probs["risk"] + strongest)
        return probs

    def piece_matrix(self, f: Features, rows: np.ndarray) -> Rows:
        """TF-IDF rows of the given clauses (for evidence)."""
        if len(rows) == f.piece_counts[0].shape[0]:  # all of them (one flagged text): no row selection
            return self.featurizer.finish(f.piece_counts, raw=True)
        return self.featurizer.finish([c.take(rows) for c in f.piece_counts], raw=True)
