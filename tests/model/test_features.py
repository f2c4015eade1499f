from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

from model.bundle import prepare
from model.features import (
    Featurizer,
    Segment,
    WordIndex,
    _count,
    char_analyzer,
    char_keys,
    key_text,
    negation_start,
    word_analyzer,
)


@pytest.mark.parametrize("seed", range(8))
def test_hand_written_tfidf_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    words = sparse.random(n, 30, density=0.2, format="csr", random_state=seed, dtype=np.float32)
    chars = sparse.random(n, 40, density=0.1, format="csr", random_state=seed + 50, dtype=np.float32)
    for m in (words, chars):
        m.data = np.ceil(m.data * 3)
    cues = sparse.csr_matrix(np.ceil(rng.random((n, 16)) * 2) * (rng.random((n, 16)) > 0.7), dtype=np.float32)
    f = Featurizer()
    f.idf_ = [rng.random(30).astype(np.float32) + 1, rng.random(40).astype(np.float32) + 1]
    got = f.finish([words, chars, cues]).toarray()

    def reference(x: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
        t = TfidfTransformer(sublinear_tf=True, norm=None).fit(x)
        t.idf_ = idf
        return normalize(t.transform(x))

    want = sparse.hstack(
        [
            reference(words, f.idf_[0]),
            reference(chars, f.idf_[1]),
            sparse.csr_matrix(np.log1p(cues.toarray()) * f.cue_weight),
        ]
    ).toarray()
    assert np.allclose(got, want, atol=1e-5)


def test_vectorized_char_grams_equal_the_analyzer() -> None:
    segs = [
        Segment("拉人头奖励", (), 0, None),
        Segment("no fee to join", (), 20, 20),
        Segment("ab", (), 0, None),
        Segment("x", (), 0, None),
    ]
    rows, keys = char_keys(segs)
    got = sorted((int(r), key_text(int(k))) for r, k in zip(rows, keys, strict=True))
    want = sorted(
        (i, g)
        for i, s in enumerate(segs)
        for g in char_analyzer(Segment(s.text, (), 0, None if s.neg is None else s.neg - s.start))
    )
    assert got == want


def test_word_index_counts_equal_the_analyzer() -> None:
    """Token-id counting (the scoring path) gives exactly the counts of the readable word analyzer."""
    texts = [
        "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成",
        "We never pay for recruiting: no fee to join, commission on your own sales only.",
        "这个 business 超 simple，join 我们的 team 只要 $199 starter kit",
        "不收取任何入门费，不以发展人员数量计酬",
    ]
    segs = prepare(texts).pieces
    grams = {g for s in segs for g in word_analyzer(s)}
    # a vocabulary holding some of the unigrams and bigrams seen, plus entries never seen
    vocab = {g: i for i, g in enumerate(sorted(grams)[::2] + ["从未 出现", "未见词"])}
    got, want = WordIndex(vocab).counts(segs), _count(segs, word_analyzer, vocab)
    assert np.array_equal(got.tocsr().toarray(), want.tocsr().toarray())
    assert want.tocsr().sum() > 0


@pytest.mark.parametrize(
    ("clause", "scope"),
    [
        ("不收取任何入门费", "不收取任何入门费"),
        ("no fee to join", "no fee to join"),
        ("无限代见点奖", None),
        ("不断发展", None),
        ("we never pay for recruiting", "never pay for recruiting"),
        ("每推荐一人奖励100元", None),
    ],
)
def test_negation_scope(clause: str, scope: str | None) -> None:
    start = negation_start(clause)
    assert (None if start is None else clause[start:]) == scope
