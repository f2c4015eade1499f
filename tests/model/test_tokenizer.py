"""The jieba accelerator must be invisible to the model: same words as jieba itself, on every text we have."""

from __future__ import annotations

import json
import math

import jieba
import pytest

from model import features
from model.features import segmenter_name, tokenize
from model.normalize import normalize
from training.corpus import CORPUS_PATH, HOLDOUT_SLICES, load_rows

ODD = [
    "",
    " ",
    "😀加入😀只需399元👉每推荐一人奖励100元",
    "𠀋𠀌𠀍 astral 𝕏𝕐 characters 拉人头",
    "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成",
    "傳直銷 下線 獎金制度 入會費",
    "ＦＵＬＬ－ＷＩＤＴＨ １２３ 全角",
    "Pay $499 to join; earn 20% weekly, 7 levels deep, ZT奖 LRT",
    "a" * 5000,
    "拉" * 3000,
    "line\nbreaks\tand\r\nspaces   多个",
    "C++ c# .NET e-mail 3.5% 1,000,000 USDT",
]


def _texts() -> list[str]:
    rows = [r.text for r in load_rows(CORPUS_PATH)]
    for path in HOLDOUT_SLICES.values():
        rows += [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    return rows


def test_the_accelerator_is_in_use() -> None:
    # it is a declared dependency: a silent fallback to plain jieba would cost ten times the tokenizing time
    assert segmenter_name() == "jieba_fast_dat"


def _route_logprob(words: list[str]) -> float:
    """jieba's score of a segmentation: the sum of log word frequencies (what its dynamic programme maximizes)."""
    jieba.initialize()
    freq, total = jieba.dt.FREQ, jieba.dt.total
    return sum(math.log(freq.get(w) or 1) - math.log(total) for w in words)


@pytest.mark.parametrize("normalized", [False, True])
def test_same_tokens_as_jieba_on_every_corpus_and_holdout_text(normalized: bool, monkeypatch) -> None:
    # The two differ only in whitespace runs ("\r\n" is one jieba token, two accelerated ones; whitespace tokens
    # are dropped) and, rarely, in how an exact tie between two equally likely segmentations is broken ("拼拼拼":
    # 拼拼|拼 or 拼|拼拼). The tokens the model sees are compared; any other difference fails.
    texts = _texts() + ODD
    if normalized:
        texts = [normalize(t).text for t in texts]
    fast = [tokenize(t) for t in texts]
    monkeypatch.setattr(features, "_segment", lambda text: jieba.lcut(text, HMM=False))
    plain = [tokenize(t) for t in texts]
    differ = [(t, a, b) for t, a, b in zip(texts, fast, plain, strict=True) if a != b]
    not_ties = [
        t
        for t, a, b in differ
        if not math.isclose(_route_logprob([w for w, *_ in a]), _route_logprob([w for w, *_ in b]))
    ]
    assert not not_ties, f"{len(not_ties)} texts tokenize differently, e.g. {not_ties[0][:80]!r}"
    assert len(differ) <= len(texts) // 1000 + 1  # ties are rare
