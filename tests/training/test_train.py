from __future__ import annotations

from pathlib import Path

import numpy as np

from model.scorer import Scorer
from training.corpus import CORPUS_PATH, load_rows, write_rows
from training.train import train


def test_training_is_deterministic(tmp_path: Path) -> None:
    rows = load_rows(CORPUS_PATH)
    # a stratified slice keeps the test fast; determinism does not depend on size
    small = [r for i, r in enumerate(rows) if i % 4 == 0]
    corpus = tmp_path / "small.jsonl"
    write_rows(small, corpus)
    a = Scorer.load(train(corpus, tmp_path / "a", seed=7, log=lambda _m: None))
    b = Scorer.load(train(corpus, tmp_path / "b", seed=7, log=lambda _m: None))
    texts = [r.text for r in rows[1::50]]
    ra, rb = a.score(texts), b.score(texts)
    assert [x.risk_score for x in ra] == [x.risk_score for x in rb]
    assert np.array_equal(a.bundle.weights, b.bundle.weights)
    assert a.thresholds == b.thresholds


def test_manifest_metrics_come_from_the_test_split(scorer: Scorer) -> None:
    m = scorer.manifest["test_metrics"]["all"]
    assert m["n"] == sum(1 for r in load_rows(CORPUS_PATH) if r.split == "test")
    assert 0.5 < m["risk_auc"] <= 1.0
