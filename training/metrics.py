"""Metrics for the test split and the out-of-author slice: risk, hard negatives per family, indicators, per language."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from model.taxonomy import CODES, HARD_NEGATIVE_FAMILIES, REPORT_STRATA
from training.corpus import Row


@dataclass
class Predictions:
    """Scores and flags per row for one system (the model or a baseline)."""

    risk_score: np.ndarray
    risk_flag: np.ndarray
    ind_score: dict[str, np.ndarray]
    ind_flag: dict[str, np.ndarray]

    def subset(self, idx: np.ndarray) -> Predictions:
        return Predictions(
            self.risk_score[idx],
            self.risk_flag[idx],
            {c: v[idx] for c, v in self.ind_score.items()},
            {c: v[idx] for c, v in self.ind_flag.items()},
        )


def prf(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    tp = int(np.sum(y & p))
    fp = int(np.sum(~y & p))
    fn = int(np.sum(y & ~p))
    prec = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def fpr(flags: np.ndarray) -> float:
    return float(np.mean(flags)) if len(flags) else float("nan")


def metrics(rows: list[Row], pred: Predictions) -> dict[str, float | int | dict[str, float]]:
    """One column of the metric table."""
    y = np.array([r.risk == 1 for r in rows])
    out: dict[str, float | int | dict[str, float]] = {"n": len(rows), "positives": int(y.sum())}
    try:
        out["risk_auc"] = float(roc_auc_score(y, pred.risk_score)) if 0 < y.sum() < len(y) else float("nan")
    except ValueError:
        out["risk_auc"] = float("nan")
    p, r, f = prf(y, pred.risk_flag.astype(bool))
    out.update(risk_precision=p, risk_recall=r, risk_f1=f)
    hard = np.array([r.stratum in HARD_NEGATIVE_FAMILIES for r in rows])
    out["hard_neg_n"] = int(hard.sum())
    out["hard_neg_fpr"] = fpr(pred.risk_flag[hard])
    news = np.array([r.stratum in REPORT_STRATA for r in rows])
    out["news_fpr"] = fpr(pred.risk_flag[news])
    fams: dict[str, float] = {}
    for fam in sorted(set(HARD_NEGATIVE_FAMILIES.values())):
        m = np.array([HARD_NEGATIVE_FAMILIES.get(r.stratum) == fam for r in rows])
        if m.any():
            fams[fam] = fpr(pred.risk_flag[m])
    out["family_fpr"] = fams
    f1s = []
    for c in CODES:
        yc = np.array([r.labels[c] == 1 for r in rows])
        p, rcl, f = prf(yc, pred.ind_flag[c].astype(bool))
        out[f"{c}_precision"], out[f"{c}_recall"], out[f"{c}_f1"] = p, rcl, f
        if yc.any():
            f1s.append(f)
    out["indicator_macro_f1"] = float(np.mean(f1s)) if f1s else float("nan")
    return out


def by_language(rows: list[Row], pred: Predictions) -> dict[str, dict]:
    """Metrics for all rows and per language."""
    table = {"all": metrics(rows, pred)}
    for lang in ("zh", "en", "mixed"):
        idx = np.array([i for i, r in enumerate(rows) if r.lang == lang], dtype=int)
        if len(idx):
            table[lang] = metrics([rows[i] for i in idx], pred.subset(idx))
    return table


def by_style(rows: list[Row], pred: Predictions) -> dict[str, dict]:
    """Risk metrics per robustness style (long, negation, traditional, obfuscated, chat)."""
    out = {}
    for style in ("long", "negation", "traditional", "obfuscated", "chat"):
        idx = np.array([i for i, r in enumerate(rows) if r.style == style], dtype=int)
        if len(idx):
            out[style] = metrics([rows[i] for i in idx], pred.subset(idx))
    return out


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "  –  " if np.isnan(v) else f"{v:.3f}"
    return str(v)


ROWS = (
    [
        ("n", "rows"),
        ("risk_auc", "risk ROC-AUC"),
        ("risk_precision", "risk precision"),
        ("risk_recall", "risk recall"),
        ("risk_f1", "risk F1"),
        ("hard_neg_fpr", "hard-negative FPR"),
        ("news_fpr", "news/commentary FPR"),
    ]
    + [(f"{c}_f1", f"F1 {c}") for c in CODES]
    + [("indicator_macro_f1", "indicator macro-F1")]
)


def table_markdown(columns: dict[str, dict]) -> str:
    """A markdown table: one column per (system, slice, language)."""
    names = list(columns)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in ROWS:
        lines.append(f"| {label} | " + " | ".join(_fmt(columns[n].get(key, float("nan"))) for n in names) + " |")
    fams = sorted({f for n in names for f in columns[n].get("family_fpr", {})})
    for fam in fams:
        lines.append(
            f"| FPR {fam} | "
            + " | ".join(_fmt(columns[n].get("family_fpr", {}).get(fam, float("nan"))) for n in names)
            + " |"
        )
    return "\n".join(lines)
