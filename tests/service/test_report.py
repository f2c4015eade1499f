from __future__ import annotations

import collections
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()
TEXTS = [
    "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成",
    "邀请好友注册，双方各得10元无门槛优惠券",
    "Join for $299 and earn $50 for every person you enroll, plus overrides seven levels deep.",
    "<script>alert('x')</script> 日返1.5%，保本保息，邀请3人即可提现",
    "",
    "Community group-buy leaders earn 10% on the orders they hand out at their pickup point.",
]


def _num(html: str, element_id: str) -> int:
    m = re.search(rf'id="{element_id}">(\d+)<', html)
    assert m, element_id
    return int(m.group(1))


def test_report_numbers_match_the_results_file(model_env: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(json.dumps({"id": f"r{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(TEXTS)) + "\n{bad\n",
        encoding="utf-8",
    )
    results = tmp_path / "results.jsonl"
    r = runner.invoke(app, ["score", str(src), "-o", str(results), "--keep-text", "-q"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "report.html"
    r = runner.invoke(app, ["report", str(results), "-o", str(out), "--top", "2"])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    rows = [json.loads(x) for x in results.read_text(encoding="utf-8").splitlines()]
    scored = [x for x in rows if "risk_score" in x]
    errors = [x for x in rows if "error" in x]
    assert _num(html, "total-rows") == len(rows) == len(TEXTS) + 1
    assert _num(html, "total-scored") == len(scored)
    assert _num(html, "total-errors") == len(errors) == 2
    assert _num(html, "total-flagged") == sum(1 for x in scored if x["flagged"])
    levels = collections.Counter(x["risk_level"] for x in scored)
    for level in ("high", "medium", "low"):
        assert _num(html, f"level-{level}") == levels.get(level, 0)
    for code in (
        "recruitment_rewards",
        "entry_fee",
        "multi_level_commission",
        "high_return_promise",
        "inventory_loading",
    ):
        expected = sum(1 for x in scored for i in x["indicators"] if i["code"] == code and i["flagged"])
        assert _num(html, f"ind-{code}") == expected
    bins = [int(b) for b in re.findall(r'class="bin-count">(\d+)<', html)]
    assert sum(bins) == len(scored)
    top = sorted((x for x in scored if x["flagged"]), key=lambda x: -x["risk_score"])[:2]
    assert re.findall(r'<tr id="row-([^"]+)" class="top-row">', html) == [x["id"] for x in top]
    assert html.count('class="error-row"') == 2
    assert "<mark" in html
    assert "<script>alert" not in html  # texts are escaped


def test_report_without_texts_shows_evidence_phrases(model_env: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": TEXTS[0]}, ensure_ascii=False) + "\n", encoding="utf-8")
    results = tmp_path / "results.jsonl"
    assert runner.invoke(app, ["score", str(src), "-o", str(results), "-q"]).exit_code == 0
    out = tmp_path / "r.html"
    assert runner.invoke(app, ["report", str(results), "-o", str(out)]).exit_code == 0
    assert "每推荐一人奖励100元" in out.read_text(encoding="utf-8")


def test_report_of_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["report", str(tmp_path / "nope.jsonl")])
    assert r.exit_code == 2 and "does not exist" in r.stderr
