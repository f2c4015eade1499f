"""Adding rows to the corpus: validate, give ids, assign fixed splits, append."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from training.corpus import (
    CORPUS_PATH,
    Row,
    assign_splits,
    load_rows,
    near_duplicate_pairs,
    parse_row,
    row_problems,
    write_rows,
)


def add_rows(new_files: list[Path], corpus: Path = CORPUS_PATH) -> tuple[int, list[str]]:
    """Append the rows of `new_files` to the corpus; returns (rows added, problems). Nothing is written on problems."""
    existing = load_rows(corpus) if corpus.exists() else []
    counters: collections.Counter[str] = collections.Counter()
    for r in existing:
        lang, _, num = r.id.partition("-")
        if num.isdigit():
            counters[lang] = max(counters[lang], int(num))
    problems: list[str] = []
    added: list[Row] = []
    for path in new_files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError as e:
                problems.append(f"{path.name}:{n}: invalid JSON ({e})")
                continue
            if "id" not in d:
                counters[d.get("lang", "xx")] += 1
                d["id"] = f"{d.get('lang', 'xx')}-{counters[d.get('lang', 'xx')]:04d}"
            d.pop("split", None)  # splits are assigned here, never by the writer
            errs = row_problems(d)
            if errs:
                problems.append(f"{path.name}:{n}: {'; '.join(errs)}")
                continue
            added.append(parse_row(d))
    rows = existing + added
    for i, j, jac in near_duplicate_pairs(rows):
        if i >= len(existing) or j >= len(existing):
            problems.append(f"near-duplicate: {rows[i].id} ~ {rows[j].id} (Jaccard {jac:.2f}): {rows[j].text[:50]}")
    if problems:
        return 0, problems
    assign_splits(rows)
    write_rows(rows, corpus)
    return len(added), []
