from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from service.cli import app
from training.corpus import (
    CORPUS_PATH,
    SHARD_ROWS,
    Row,
    assign_splits,
    check,
    corpus_files,
    load_rows,
    near_duplicate_pairs,
    row_problems,
    write_rows,
)

runner = CliRunner()


def _row(**kw: object) -> dict:
    base = {
        "id": "zh-9999",
        "lang": "zh",
        "text": "每推荐一人奖励100元",
        "risk": 1,
        "labels": {
            "recruitment_rewards": 1,
            "entry_fee": 0,
            "multi_level_commission": 0,
            "high_return_promise": 0,
            "inventory_loading": 0,
        },
        "stratum": "single_indicator",
        "source": "handwritten",
        "note": "per-head bonus",
    }
    base.update(kw)
    return base


def test_shipped_corpus_passes_data_check() -> None:
    result = runner.invoke(app, ["data", "check"])
    assert result.exit_code == 0, result.output
    assert "no violations" in result.output


def test_data_check_fails_on_a_broken_corpus(tmp_path: Path) -> None:
    bad = tmp_path / "c.jsonl"
    bad.write_text(json.dumps(_row(risk=0), ensure_ascii=False) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "check", "--corpus", str(bad)])
    assert result.exit_code == 1
    assert "contradicts the taxonomy rule" in result.output


def test_risk_rule_and_schema_are_enforced() -> None:
    assert row_problems(_row()) == []
    assert any("contradicts" in p for p in row_problems(_row(risk=0)))
    inv_only = {
        "recruitment_rewards": 0,
        "entry_fee": 0,
        "multi_level_commission": 0,
        "high_return_promise": 0,
        "inventory_loading": 1,
    }
    assert any("contradicts" in p for p in row_problems(_row(labels=inv_only, risk=1)))
    assert row_problems(_row(labels=inv_only, risk=0)) == []
    assert any("hard negatives" in p for p in row_problems(_row(stratum="hard_neg_referral")))
    assert any("labels" in p for p in row_problems(_row(labels={"recruitment_rewards": 1})))
    assert any("source" in p for p in row_problems(_row(source="scraped")))
    assert any("test split" in p for p in row_problems(_row(source="augmented", split="test")))


def test_near_duplicates_are_found() -> None:
    a = Row(
        **{k: v for k, v in _row(id="a", text="加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成").items()}
    )
    b = Row(
        **{k: v for k, v in _row(id="b", text="加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成!").items()}
    )
    c = Row(**{k: v for k, v in _row(id="c", text="Invite a friend and you both get a coupon.").items()})
    pairs = near_duplicate_pairs([a, b, c])
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]


def test_splits_are_stored_stable_and_leak_free() -> None:
    rows = load_rows(CORPUS_PATH)
    assert all(r.split in ("train", "dev", "test") for r in rows)
    before = {r.id: r.split for r in rows}
    assert assign_splits(rows) == 0  # nothing is re-drawn
    assert {r.id: r.split for r in rows} == before
    assert not [v for v in check(rows).violations if "span more than one split" in v]
    n = len(rows)
    share = {s: sum(r.split == s for r in rows) / n for s in ("train", "dev", "test")}
    assert 0.6 < share["train"] < 0.8 and 0.1 < share["dev"] < 0.2 and 0.1 < share["test"] < 0.2
    assert not [r for r in rows if r.split == "test" and r.generated]


def test_data_card_numbers_match_data_check() -> None:
    from training.corpus import DATA_CARD, card_block

    assert card_block(check(load_rows(CORPUS_PATH))) in DATA_CARD.read_text(encoding="utf-8")


def test_corpus_directory_is_written_in_shards_and_reads_back_in_order(tmp_path: Path) -> None:
    rows = load_rows(CORPUS_PATH)[: SHARD_ROWS + 500]
    target = tmp_path / "corpus"
    write_rows(rows, target)
    assert [f.name for f in corpus_files(target)] == ["corpus-01.jsonl", "corpus-02.jsonl"]
    assert [r.id for r in load_rows(target)] == [r.id for r in rows]
    write_rows(rows[:10], target)  # a smaller corpus leaves no stale shard behind
    assert len(corpus_files(target)) == 1 and len(load_rows(target)) == 10


def test_shipped_corpus_shards_stay_small() -> None:
    files = corpus_files(CORPUS_PATH)
    assert files and all(f.stat().st_size < 3 * 2**20 for f in files)
