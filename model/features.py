"""Features for zh/en/mixed text: jieba word n-grams, character n-grams and negation-scoped cue counts.

A document is a `Segment`: normalized text plus its jieba tokens with offsets. Every callable handed to
scikit-learn is a module-level function here, so artifacts unpickle anywhere `model` is importable.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import jieba
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from model.facts import extract_levels

jieba.setLogLevel(logging.WARNING)

_SKIP_TOKEN = re.compile(r"^[\s\W_]+$")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Segment:
    """A piece of normalized text (the whole document or one window) and its word tokens."""

    text: str
    tokens: tuple[Token, ...]
    start: int = 0  # offset of this segment inside the document's normalized text


def tokenize(text: str) -> tuple[Token, ...]:
    """jieba tokens of normalized text, without whitespace and punctuation tokens."""
    out = []
    pos = 0
    for word in jieba.cut(text):
        end = pos + len(word)
        if not _SKIP_TOKEN.match(word):
            out.append(Token(word, pos, end))
        pos = end
    return tuple(out)


def word_analyzer(seg: Segment) -> list[str]:
    """Word unigrams and bigrams."""
    words = [t.text for t in seg.tokens]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def char_analyzer(seg: Segment) -> list[str]:
    """Character 2- to 4-grams over the segment text with spaces folded."""
    text = seg.text
    grams: list[str] = []
    for n in (2, 3, 4):
        grams.extend(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


# Cue lexicon per indicator: the phrasing compliance reviewers look for, on normalized (simplified, lower-case) text.
CUES: dict[str, str] = {
    "recruitment_rewards": r"拉人头|推荐奖|直推|每推荐|推荐一人|邀请一人|每邀请|发展下线|发展会员|人头费|招募奖|拉新奖|带人|推[一二三四五]人|per (?:recruit|referral|sign[- ]?up|person you)|recruit(?:ing|ment)? bonus|for every (?:person|friend|member)|enroll(?:ing)? \w+ (?:people|members)|sponsor(?:ing)? bonus|fast start bonus",
    "entry_fee": r"入门费|入会费|加盟费|激活费|授权费|名额费|代理费|门槛费|礼包|会费|报单|购买.{0,6}(?:套餐|课程)|entry fee|joining fee|sign[- ]?up fee|starter (?:kit|pack)|buy[- ]?in|enrollment fee|activation fee|founder(?:'s)? (?:package|pack|seat)|membership package",
    "multi_level_commission": r"团队(?:业绩|奖|计酬|收益|提成)|[三四五六七八九十]代|[三四五六七八九十]级|无限代|见点|对碰|层碰|公排|滑落|极差|级差|间推|伞下|下线|下级|二级|三级|levels? deep|downline|binary|matrix|unilevel|generations?|team (?:volume|bonus|commission|override)|overrides?|pairing bonus|your team's team|spillover",
    "high_return_promise": r"日返|月息|保本|躺赚|静态收益|固定收益|稳赚|零风险|睡后收入|被动收入|年化|分红|回报率|翻倍|guaranteed|passive income|daily (?:roi|returns?|profit)|weekly (?:roi|returns?)|risk[- ]free|principal (?:protected|back)|earn while you sleep|double your|fixed (?:returns?|income)|% (?:daily|weekly|per day|a day)",
    "inventory_loading": r"囤货|压货|进货|拿货|保级|最低进货|首批货|订货|配额|库存|补货|min(?:imum)? (?:order|purchase)|stock up|inventory|monthly (?:order|purchase)|autoship|to stay active|qualifying (?:order|purchase)|wholesale order|personal volume|pv requirement",
}
_CUE_RES = {code: re.compile(rx) for code, rx in CUES.items()}
_NEGATION = re.compile(
    r"(?:不|无|没有|未|禁止|不得|严禁|绝不|拒绝|杜绝|并非|从不|不会|不需要|无需|免)[^。！？!?;；,，]{0,8}$|\b(?:no|not|never|without|zero|don't|doesn't|won't|isn't|aren't|nor|free of|prohibit\w*|ban\w*)\b[^.!?;,]{0,24}$"
)
_DENIAL = re.compile(
    r"不是传销|不是资金盘|不是骗局|绝非传销|合法合规|国家认可|not (?:a )?(?:pyramid|ponzi|mlm|scam)|100% legal|totally legal|fully legal"
)
_REPORT = re.compile(
    r"法院|判决|被告|被告人|检察院|公诉|警方|公安|立案|通报|记者|据.{0,6}报道|监管|市场监督|提醒|警惕|曝光|受害|涉嫌|案件|案发|court|judge|police|prosecut|charged|indict|regulator|ftc|sec\b|reported|journalist|victims?|alleged|lawsuit|warn(?:s|ed|ing)?|consumer alert|scam"
)
_OFFER = re.compile(
    r"你|您|咱们|加入我们|立即|马上|扫码|私信|联系我|报名|名额有限|赶紧|速来|欢迎|\byou\b|\byour\b|join (?:us|now|today)|sign up|dm me|message me|click|apply now|spots?|limited"
)
_PERCENT = re.compile(r"\d+(?:\.\d+)?\s*%")
_MONEY = re.compile(r"[¥$€£]\s*\d|\d+\s*(?:元|块|万|usd|usdt|rmb|dollars?)")


def _cue_counts(text: str) -> list[float]:
    feats: list[float] = []
    for rx in _CUE_RES.values():
        pos = neg = 0
        for m in rx.finditer(text):
            if _NEGATION.search(text[max(0, m.start() - 30) : m.start()]):
                neg += 1
            else:
                pos += 1
        feats.extend((np.log1p(pos), np.log1p(neg)))
    levels = extract_levels(text)
    deep = 1.0 if levels == "unlimited" or (isinstance(levels, int) and levels >= 3) else 0.0
    feats.extend(
        (
            np.log1p(len(_DENIAL.findall(text))),
            np.log1p(len(_REPORT.findall(text))),
            np.log1p(len(_OFFER.findall(text))),
            np.log1p(len(_PERCENT.findall(text))),
            np.log1p(len(_MONEY.findall(text))),
            deep,
        )
    )
    return feats


CUE_FEATURE_NAMES: tuple[str, ...] = tuple(
    f"cue:{code}:{kind}" for code in CUES for kind in ("affirmed", "negated")
) + ("cue:denial", "cue:report", "cue:offer", "cue:percent", "cue:money", "cue:deep_levels")


class CueFeatures(BaseEstimator, TransformerMixin):
    """Negation-scoped cue counts per indicator plus report/offer/denial/number signals (dense, log-scaled)."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, segments: list[Segment], y: object = None) -> CueFeatures:
        return self

    def transform(self, segments: list[Segment]) -> sparse.csr_matrix:
        rows = np.array([_cue_counts(s.text) for s in segments], dtype=np.float64).reshape(len(segments), -1)
        return sparse.csr_matrix(rows * self.weight)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(CUE_FEATURE_NAMES, dtype=object)


def build_features(kind: str = "full") -> FeatureUnion:
    """The feature union: 'full' (words + chars + cues), or a single set ('chars', 'words') for baselines."""
    words = TfidfVectorizer(analyzer=word_analyzer, sublinear_tf=True, min_df=2, max_features=60000, dtype=np.float32)
    chars = TfidfVectorizer(analyzer=char_analyzer, sublinear_tf=True, min_df=2, max_features=150000, dtype=np.float32)
    parts: list[tuple[str, object]] = []
    if kind in ("full", "words"):
        parts.append(("words", words))
    if kind in ("full", "chars"):
        parts.append(("chars", chars))
    if kind == "full":
        parts.append(("cues", CueFeatures(weight=0.5)))
    if not parts:
        raise ValueError(f"unknown feature set {kind!r}")
    return FeatureUnion(parts)


_SENTENCE_END = re.compile(r"[。！？!?；;\n]+|(?<=[a-z0-9)])\.\s+")
WINDOW_CHARS = 120


def windows(text: str, tokens: tuple[Token, ...]) -> list[Segment]:
    """Sentence windows of about WINDOW_CHARS characters over a long text (none for short texts)."""
    if len(text) <= WINDOW_CHARS:
        return []
    bounds, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        bounds.append((start, m.end()))
        start = m.end()
    if start < len(text):
        bounds.append((start, len(text)))
    spans: list[tuple[int, int]] = []
    for i, (s, _) in enumerate(bounds):
        if spans and s < spans[-1][0] + WINDOW_CHARS // 2 and spans[-1][1] >= bounds[i][1]:
            continue  # stride of about half a window: overlapping enough to keep a paragraph whole
        e = s
        for _, be in bounds[i:]:
            if be - s > WINDOW_CHARS and e > s:
                break
            e = be
        e = min(e, s + 2 * WINDOW_CHARS)  # a run-on "sentence" (voice-to-text) is cut
        if not spans or e > spans[-1][1]:
            spans.append((s, e))
    if len(spans) <= 1:
        spans = [(s, min(s + WINDOW_CHARS, len(text))) for s in range(0, len(text), WINDOW_CHARS // 2)]
    segs = []
    for s, e in spans:
        segs.append(
            Segment(
                text[s:e],
                tuple(Token(t.text, t.start - s, t.end - s) for t in tokens if s <= t.start and t.end <= e),
                s,
            )
        )
    return segs
