"""Benchmark texts: recombine corpus sentences into new zh/en/mixed texts of 50-600 characters (deterministic)."""

from __future__ import annotations

import random
import re

from training.corpus import CORPUS_PATH, load_rows

_SPLIT = re.compile(r"(?<=[。！？!?；;\n])|(?<=\. )")


def make_texts(n: int, seed: int = 7, lo: int = 50, hi: int = 600) -> list[str]:
    """n texts built from corpus sentences of one language each (mixed rows supply the mixed texts)."""
    rng = random.Random(seed)
    by_lang: dict[str, list[str]] = {"zh": [], "en": [], "mixed": []}
    for r in load_rows(CORPUS_PATH):
        by_lang[r.lang].extend(s.strip() for s in _SPLIT.split(r.text) if len(s.strip()) >= 8)
    langs = ["zh"] * 5 + ["en"] * 4 + ["mixed"]
    out = []
    for _ in range(n):
        pool = by_lang[rng.choice(langs)]
        target = rng.randint(lo, hi)
        parts: list[str] = []
        while sum(map(len, parts)) < target:
            parts.append(rng.choice(pool))
        text = " ".join(parts)[:hi]
        out.append(text if len(text) >= lo else text + " " + rng.choice(pool))
    return out
