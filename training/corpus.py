"""The labeled corpus: loading, validation against the taxonomy, near-duplicate detection and fixed splits."""

from __future__ import annotations

import collections
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.taxonomy import CODES, HARD_NEGATIVE_FAMILIES, LANGS, SOURCES_FIXED, STRATA, STYLES, risk_rule_allows

DATA_DIR = Path(__file__).resolve().parent / "data"
# The corpus is a directory of JSON Lines shards (corpus-01.jsonl, corpus-02.jsonl, ...) of SHARD_ROWS rows each, in
# row order, so no tracked file grows past a few megabytes; a single .jsonl file works wherever a corpus path is taken.
CORPUS_PATH = DATA_DIR
SHARD_ROWS = 2000
HOLDOUT_PATH = Path(__file__).resolve().parent / "holdout" / "out_of_author.jsonl"
# Out-of-author slices: each written by a different helper who never saw the training rows, in registers of its
# own; never used for fitting or thresholds. Name -> file.
HOLDOUT_SLICES = {
    "out-of-author 1": HOLDOUT_PATH,
    "out-of-author 2": HOLDOUT_PATH.with_name("out_of_author_2.jsonl"),
    "out-of-author 3": HOLDOUT_PATH.with_name("out_of_author_3.jsonl"),
    "out-of-author 4": HOLDOUT_PATH.with_name("out_of_author_4.jsonl"),
    "out-of-author 5": HOLDOUT_PATH.with_name("out_of_author_5.jsonl"),
    "out-of-author 6": HOLDOUT_PATH.with_name("out_of_author_6.jsonl"),
}


def holdout_sets() -> dict[str, list[Row]]:
    """The out-of-author slices present, each by name, plus all of them together ("out-of-author")."""
    sets = {name: load_rows(path) for name, path in HOLDOUT_SLICES.items() if path.exists()}
    if len(sets) > 1:
        sets = {"out-of-author": [r for rs in sets.values() for r in rs], **sets}
    elif sets:
        sets = {"out-of-author": next(iter(sets.values()))}
    return sets


SPLITS = ("train", "dev", "test")
SPLIT_SHARES = (0.70, 0.15, 0.15)
NEAR_DUP_JACCARD = 0.8
SEED_DIR_NAMES = ("000_6d3c289fda803978.txt", "001_fbf67ed2bc7f54d5.txt")

# The corpus spec of issue #2: what `redflag data check` holds the shipped corpus to.
TARGETS = {
    "min_rows": 1500,
    "min_share_lang": {"zh": 0.50, "en": 0.30, "mixed": 0.05},
    "min_positive_per_indicator": 150,
    "min_share_risk0": 0.45,
    "min_rows_per_hard_negative_family": 40,
    "min_rows_news_family": 80,
    "min_rows_per_style": 50,
    "max_share_generated": 0.25,
}


@dataclass
class Row:
    id: str
    lang: str
    text: str
    risk: int
    labels: dict[str, int]
    stratum: str
    source: str
    note: str
    style: str | None = None
    split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def generated(self) -> bool:
        return self.source in ("template", "augmented")

    @property
    def is_offer(self) -> int:
        """1 when the text makes an offer to the reader, 0 when it reports on schemes (news, warnings...)."""
        return 0 if self.stratum in ("hard_neg_news", "hard_neg_news_mechanics") else 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "lang": self.lang,
            "text": self.text,
            "risk": self.risk,
            "labels": {c: self.labels[c] for c in CODES},
            "stratum": self.stratum,
            "source": self.source,
            "note": self.note,
        }
        if self.style:
            out["style"] = self.style
        if self.split:
            out["split"] = self.split
        out.update(self.extra)
        return out


_KNOWN = {"id", "lang", "text", "risk", "labels", "stratum", "source", "note", "style", "split"}


def row_problems(d: dict[str, Any]) -> list[str]:
    """Schema and labeling-rule violations of one raw row."""
    errs = []
    for k in ("id", "lang", "text", "risk", "labels", "stratum", "source", "note"):
        if k not in d:
            errs.append(f"missing field {k!r}")
    if errs:
        return errs
    if d["lang"] not in LANGS:
        errs.append(f"lang {d['lang']!r} not in {LANGS}")
    if not isinstance(d["text"], str) or not d["text"].strip():
        errs.append("text must be a non-empty string")
    labels = d["labels"]
    if not isinstance(labels, dict) or set(labels) != set(CODES) or any(v not in (0, 1) for v in labels.values()):
        errs.append(f"labels must have exactly the keys {CODES} with values 0/1")
        return errs
    if d["risk"] not in (0, 1):
        errs.append("risk must be 0 or 1")
    elif not risk_rule_allows(labels, d["risk"]):
        errs.append(f"risk {d['risk']} contradicts the taxonomy rule for labels {labels}")
    if d["stratum"] not in STRATA:
        errs.append(f"stratum {d['stratum']!r} unknown")
    elif (d["stratum"].startswith("hard_neg") or d["stratum"] == "benign") and d["risk"] != 0:
        errs.append("hard negatives and benign rows must have risk 0")
    elif d["stratum"] == "single_indicator" and sum(labels.values()) != 1:
        errs.append("single_indicator rows carry exactly one indicator")
    src = d["source"]
    if not (src in SOURCES_FIXED or (src.startswith("derived:") and src.removeprefix("derived:") in SEED_DIR_NAMES)):
        errs.append(f"source {src!r} must be handwritten/template/augmented or derived:<seed file>")
    if d.get("style") is not None and d["style"] not in STYLES:
        errs.append(f"style {d['style']!r} not in {STYLES}")
    if d.get("split") is not None and d["split"] not in SPLITS:
        errs.append(f"split {d['split']!r} not in {SPLITS}")
    if d.get("split") == "test" and src in ("template", "augmented"):
        errs.append("generated rows never go to the test split")
    return errs


def parse_row(d: dict[str, Any]) -> Row:
    return Row(
        id=d["id"],
        lang=d["lang"],
        text=d["text"],
        risk=d["risk"],
        labels={c: int(d["labels"][c]) for c in CODES},
        stratum=d["stratum"],
        source=d["source"],
        note=d["note"],
        style=d.get("style"),
        split=d.get("split"),
        extra={k: v for k, v in d.items() if k not in _KNOWN},
    )


def read_jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any] | None, str | None]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line), None
            except ValueError as e:
                yield n, None, f"invalid JSON: {e}"


def corpus_files(path: Path = CORPUS_PATH) -> list[Path]:
    """The JSONL files of a corpus: the file itself, or a directory's corpus-NN.jsonl shards in order."""
    return sorted(path.glob("corpus-*.jsonl")) if path.is_dir() else [path]


def load_rows(path: Path = CORPUS_PATH) -> list[Row]:
    """Load a corpus (a file or a directory of shards); raise ValueError listing every invalid row."""
    rows, problems = [], []
    for file in corpus_files(path):
        for n, d, err in read_jsonl(file):
            if err or d is None:
                problems.append(f"{file.name}:{n}: {err}")
                continue
            errs = row_problems(d)
            if errs:
                problems.append(f"{file.name}:{n} ({d.get('id')}): {'; '.join(errs)}")
                continue
            rows.append(parse_row(d))
    if problems:
        raise ValueError("invalid corpus rows:\n" + "\n".join(problems))
    return rows


def write_rows(rows: list[Row], path: Path = CORPUS_PATH) -> None:
    """Write a corpus: to one file, or (for a directory) as shards of SHARD_ROWS rows replacing the old shards."""
    lines = [json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in rows]
    if path.suffix == ".jsonl":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")
        return
    path.mkdir(parents=True, exist_ok=True)
    for old in corpus_files(path):
        old.unlink()
    for k in range(0, max(1, len(lines)), SHARD_ROWS):
        (path / f"corpus-{k // SHARD_ROWS + 1:02d}.jsonl").write_text(
            "".join(lines[k : k + SHARD_ROWS]), encoding="utf-8"
        )


def corpus_hash(path: Path = CORPUS_PATH) -> str:
    h = hashlib.sha256()
    for file in corpus_files(path):
        h.update(file.read_bytes())
    return h.hexdigest()


def _shingles(text: str, n: int = 5) -> set[str]:
    t = re.sub(r"\s+", "", text.lower())
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def near_duplicate_pairs(rows: list[Row], threshold: float = NEAR_DUP_JACCARD) -> list[tuple[int, int, float]]:
    """Pairs (i < j) of row indices whose character 5-gram Jaccard similarity is at least `threshold`, sorted.

    Exact, by prefix filtering: with every row's shingles ordered rarest first (one order for the whole corpus), two
    rows with Jaccard >= t share a shingle among the first |A| - ceil(t * |A|) + 1 of each, so only rows sharing one
    of those rare shingles are compared — not every pair that shares a common phrase.
    """
    sh = [_shingles(r.text) for r in rows]
    freq = collections.Counter(g for s in sh for g in s)
    index: dict[str, list[int]] = collections.defaultdict(list)
    pairs = []
    for i, s in enumerate(sh):
        prefix = sorted(s, key=lambda g: (freq[g], g))[: len(s) - math.ceil(threshold * len(s)) + 1]
        for j in {j for g in prefix for j in index[g]}:
            if threshold * max(len(s), len(sh[j])) > min(len(s), len(sh[j])):
                continue  # sizes too far apart for the overlap to reach the threshold
            shared = len(s & sh[j])
            jac = shared / (len(s) + len(sh[j]) - shared)
            if jac >= threshold:
                pairs.append((j, i, jac))
        for g in prefix:
            index[g].append(i)
    return sorted(pairs)


def duplicate_groups(rows: list[Row], threshold: float, pairs: list[tuple[int, int, float]] | None = None) -> list[int]:
    """A group number per row: rows linked by near-duplicate pairs share a group (union-find). `pairs`: the
    pairs at `threshold` when the caller already has them."""
    parent = list(range(len(rows)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, _ in near_duplicate_pairs(rows, threshold) if pairs is None else pairs:
        parent[find(i)] = find(j)
    return [find(i) for i in range(len(rows))]


def _stable(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)


def assign_splits(rows: list[Row], group_threshold: float = 0.5) -> int:
    """Give every row without a split one (70/15/15 per stratum x lang); groups of similar rows stay together.

    Existing assignments are never changed, so adding rows does not move old ones between splits.
    Returns how many rows were assigned.
    """
    groups = duplicate_groups(rows, group_threshold)
    group_split: dict[int, str] = {}
    for r, g in zip(rows, groups, strict=True):
        if r.split:
            group_split.setdefault(g, r.split)
    cells: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    for i, r in enumerate(rows):
        if not r.split:
            cells[(r.stratum, r.lang)].append(i)
    assigned = 0
    for key in sorted(cells):
        idx = sorted(cells[key], key=lambda i: _stable(rows[i].id))
        have = collections.Counter(r.split for r in rows if (r.stratum, r.lang) == key and r.split)
        for i in idx:
            r, g = rows[i], groups[i]
            if g in group_split:
                split = group_split[g]
            elif r.generated:
                split = "train"
            else:
                total = sum(have.values()) + 1
                # the split furthest below its share takes the row
                split = max(SPLITS, key=lambda s: SPLIT_SHARES[SPLITS.index(s)] * total - have[s])
            if split == "test" and r.generated:
                split = "train"
            r.split = split
            have[split] += 1
            group_split.setdefault(g, split)
            assigned += 1
    return assigned


@dataclass
class CheckReport:
    counts: dict[str, collections.Counter[str]]
    violations: list[str]
    total: int


def check(rows: list[Row]) -> CheckReport:
    """Counts and every violation of the corpus spec (duplicates, split leaks, targets of issue #2)."""
    c: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    violations: list[str] = []
    for r in rows:
        c["lang"][r.lang] += 1
        c["stratum"][r.stratum] += 1
        c["risk"][str(r.risk)] += 1
        c["source"][r.source] += 1
        c["style"][r.style or "(none)"] += 1
        c["split"][r.split or "(none)"] += 1
        for code in CODES:
            c["indicator"][code] += r.labels[code]
        if r.stratum in HARD_NEGATIVE_FAMILIES:
            c["hard_negative_family"][HARD_NEGATIVE_FAMILIES[r.stratum]] += 1
        if r.style:
            c["style_by_risk"][f"{r.style} risk={r.risk}"] += 1
    ids = collections.Counter(r.id for r in rows)
    violations += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    texts = collections.Counter(r.text.strip() for r in rows)
    violations += [f"duplicate text: {t[:40]}…" for t, n in texts.items() if n > 1]
    similar = near_duplicate_pairs(rows, 0.5)  # one pass serves both thresholds
    for i, j, jac in similar:
        if jac >= NEAR_DUP_JACCARD:
            violations.append(f"near-duplicate rows {rows[i].id} ~ {rows[j].id} (5-gram Jaccard {jac:.2f})")
    groups = duplicate_groups(rows, 0.5, similar)
    split_of: dict[int, set[str]] = collections.defaultdict(set)
    for r, g in zip(rows, groups, strict=True):
        split_of[g].add(r.split or "(none)")
    leaks = sum(1 for s in split_of.values() if len(s) > 1)
    if leaks:
        violations.append(f"{leaks} groups of similar rows (Jaccard >= 0.5) span more than one split")
    violations += [f"row {r.id} has no split" for r in rows if not r.split]
    n = len(rows)
    t = TARGETS
    if n < t["min_rows"]:
        violations.append(f"{n} rows; the corpus needs at least {t['min_rows']}")
    for lang, share in t["min_share_lang"].items():
        if c["lang"][lang] < share * n:
            violations.append(f"lang {lang}: {c['lang'][lang]} rows is under {share:.0%}")
    for code in CODES:
        if c["indicator"][code] < t["min_positive_per_indicator"]:
            violations.append(
                f"indicator {code}: {c['indicator'][code]} positives, needs {t['min_positive_per_indicator']}"
            )
    risk0 = c["risk"]["0"]
    if risk0 < t["min_share_risk0"] * n:
        violations.append(f"risk 0 rows {risk0} under {t['min_share_risk0']:.0%}")
    hard = sum(c["hard_negative_family"].values())
    if hard * 2 <= risk0:
        violations.append(f"hard negatives {hard} are not more than half of the {risk0} risk-0 rows")
    for fam in sorted(set(HARD_NEGATIVE_FAMILIES.values())):
        need = t["min_rows_news_family"] if fam.startswith("news") else t["min_rows_per_hard_negative_family"]
        if c["hard_negative_family"][fam] < need:
            violations.append(f"hard-negative family {fam!r}: {c['hard_negative_family'][fam]} rows, needs {need}")
    if c["stratum"]["hard_neg_news_mechanics"] * 2 < c["hard_negative_family"]["news / warnings / commentary"]:
        violations.append("fewer than half of the news family describe mechanics in detail")
    for style in STYLES:
        if c["style"][style] < t["min_rows_per_style"]:
            violations.append(f"style {style}: {c['style'][style]} rows, needs {t['min_rows_per_style']}")
        if not (c["style_by_risk"][f"{style} risk=0"] and c["style_by_risk"][f"{style} risk=1"]):
            violations.append(f"style {style} needs both positives and negatives")
    generated = sum(1 for r in rows if r.generated)
    if generated > t["max_share_generated"] * n:
        violations.append(f"{generated} generated rows exceed {t['max_share_generated']:.0%}")
    return CheckReport(dict(c), violations, n)


def format_report(rep: CheckReport) -> str:
    lines = [f"rows: {rep.total}"]
    for key in (
        "lang",
        "risk",
        "split",
        "indicator",
        "stratum",
        "hard_negative_family",
        "style",
        "style_by_risk",
        "source",
    ):
        cnt = rep.counts.get(key, collections.Counter())
        lines.append(f"{key}:")
        for k, v in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {k:<46} {v:>5}  ({v / max(1, rep.total):.1%})")
    if rep.violations:
        lines.append(f"VIOLATIONS ({len(rep.violations)}):")
        lines += [f"  - {v}" for v in rep.violations]
    else:
        lines.append("no violations")
    return "\n".join(lines)


DATA_CARD = Path(__file__).resolve().parent / "DATA.md"
CARD_START, CARD_END = "<!-- counts:start (written by `redflag data card`) -->", "<!-- counts:end -->"


def card_block(rep: CheckReport) -> str:
    return f"{CARD_START}\n```\n{format_report(rep)}\n```\n{CARD_END}"


def update_data_card(rep: CheckReport, path: Path = DATA_CARD) -> None:
    """Replace the counts block of the data card with the current `redflag data check` report."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(CARD_START), text.index(CARD_END) + len(CARD_END)
    path.write_text(text[:start] + card_block(rep) + text[end:], encoding="utf-8")
