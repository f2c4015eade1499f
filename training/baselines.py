"""Two baselines measured in the same run as the model: a compliance keyword list and a char-n-gram-only model."""

from __future__ import annotations

import re

import numpy as np
from sklearn.linear_model import LogisticRegression

from model.bundle import Prepared, compose, prepare
from model.features import Featurizer
from model.taxonomy import CODES, HARD_NEGATIVE_FAMILIES
from training.corpus import Row
from training.metrics import Predictions
from training.train import SEED, choose_threshold, head_labels

# The kind of list compliance teams use today: one regex per indicator, risk = any statutory cue or a return promise.
KEYWORDS: dict[str, str] = {
    "recruitment_rewards": r"拉人头|推荐奖|直推奖|发展下线|发展会员|推荐一人|邀请一人|每推荐|人头费|per (?:recruit|referral)|recruiting bonus|for every (?:person|friend) you",
    "entry_fee": r"入门费|入会费|加盟费|激活费|授权费|名额费|代理费|礼包|entry fee|joining fee|sign[- ]?up fee|starter (?:kit|pack)|buy[- ]?in",
    "multi_level_commission": r"团队奖|团队计酬|[三四五六七八九十多]级|[三四五六七八九十]代|层级|见点|对碰|无限代|下线|levels? deep|downline|binary|matrix|unilevel|team (?:bonus|commission)",
    "high_return_promise": r"日返|月息|保本|躺赚|静态收益|稳赚|guaranteed|passive income|daily (?:roi|return)|risk[- ]free",
    "inventory_loading": r"囤货|压货|进货门槛|最低进货|保级|minimum (?:order|purchase)|stock up|inventory|autoship",
}
_KW = {c: re.compile(rx, re.I) for c, rx in KEYWORDS.items()}
_RISKY = ("recruitment_rewards", "entry_fee", "multi_level_commission", "high_return_promise")


def keyword_predictions(rows: list[Row]) -> Predictions:
    flags = {c: np.array([bool(_KW[c].search(r.text)) for r in rows]) for c in CODES}
    risk = np.any([flags[c] for c in _RISKY], axis=0)
    return Predictions(risk.astype(float), risk, {c: f.astype(float) for c, f in flags.items()}, flags)


def _plain(prep: Prepared) -> Prepared:
    """The same texts without negation marks: the baseline is plain n-grams."""
    prep.pieces = [p._replace(neg=None) for p in prep.pieces]
    return prep


def single_feature_model(
    train: list[Row], dev: list[Row], test_sets: dict[str, list[Row]], kind: str = "chars"
) -> dict[str, Predictions]:
    """TF-IDF (one feature set) + logistic regression per head, thresholds on dev: no windows, cues or gate."""
    tr = _plain(prepare([r.text for r in train]))
    feats = Featurizer(kinds=(kind,)).fit(tr.pieces)
    x = compose(feats, tr, fit_idf=True).x_doc
    y = head_labels(train)
    heads = {}
    for h, name in enumerate([*CODES, "risk"]):
        lr = LogisticRegression(C=8.0, class_weight="balanced", solver="liblinear", max_iter=2000, random_state=SEED)
        heads[name] = lr.fit(x, y[:, h])
    xd = compose(feats, _plain(prepare([r.text for r in dev]))).x_doc
    yd = head_labels(dev)
    hard = np.array([r.stratum in HARD_NEGATIVE_FAMILIES for r in dev])
    th = {}
    for h, name in enumerate([*CODES, "risk"]):
        p = heads[name].predict_proba(xd)[:, 1]
        th[name] = choose_threshold(yd[:, h], p, hard if name == "risk" else None, 0.03 if name == "risk" else None)
    out = {}
    for key, rows in test_sets.items():
        xt = compose(feats, _plain(prepare([r.text for r in rows]))).x_doc
        probs = {n: heads[n].predict_proba(xt)[:, 1] for n in heads}
        out[key] = Predictions(
            probs["risk"],
            probs["risk"] >= th["risk"],
            {c: probs[c] for c in CODES},
            {c: probs[c] >= th[c] for c in CODES},
        )
    return out
