from __future__ import annotations

import pytest

from model.scorer import Scorer
from model.taxonomy import CODES

SCHEME_ZH = "加入只需399元，每推荐一人奖励100元，三代以内团队业绩都有提成"
SCHEME_EN = "Join for $299, then earn $50 for every person you sign up, plus 5% on seven levels of your downline."
COUPON_ZH = "邀请好友注册，双方各得10元无门槛优惠券，每人限领一次。"
AFFILIATE_EN = (
    "Share your personal link: you earn 4% on purchases your followers make. No fee to join, no team, no levels."
)


def _check_contract(d: dict, text: str) -> None:
    assert [i["code"] for i in d["indicators"]] == list(CODES)
    assert 0.0 <= d["risk_score"] <= 1.0
    assert d["risk_level"] in ("low", "medium", "high")
    for ind in d["indicators"]:
        assert 0.0 <= ind["score"] <= 1.0
        if not ind["flagged"]:
            assert ind["evidence"] == []
        spans = [(e["start"], e["end"]) for e in ind["evidence"]]
        assert spans == sorted(spans)
        assert len(spans) <= 3
        for (s, e), ev in zip(spans, ind["evidence"], strict=True):
            assert 0 <= s < e <= len(text)
            assert text[s:e] == ev["text"]
        for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False):
            assert e1 <= s2, "evidence spans must not overlap"


def test_issue_example_gives_flags_evidence_and_facts(scorer: Scorer) -> None:
    d = scorer.score([SCHEME_ZH], ["a"])[0].to_dict()
    _check_contract(d, SCHEME_ZH)
    assert d["id"] == "a" and d["flagged"] and d["risk_level"] in ("medium", "high")
    flagged = {i["code"] for i in d["indicators"] if i["flagged"]}
    assert {"recruitment_rewards", "multi_level_commission"} <= flagged
    rr = next(i for i in d["indicators"] if i["code"] == "recruitment_rewards")
    assert any("推荐一人" in e["text"] for e in rr["evidence"])
    assert d["facts"]["levels"] == 3
    assert d["facts"]["entry_fee"] == {"amount": 399, "currency": "CNY"}


def test_hard_negatives_score_low(scorer: Scorer) -> None:
    for r in scorer.score([COUPON_ZH, AFFILIATE_EN]):
        assert not r.flagged, r.to_dict()
        assert r.risk_level == "low"


def test_english_scheme_is_flagged(scorer: Scorer) -> None:
    d = scorer.score([SCHEME_EN])[0].to_dict()
    _check_contract(d, SCHEME_EN)
    assert d["flagged"]
    assert d["facts"]["levels"] == 7


@pytest.mark.parametrize(
    "text",
    [
        "🔥🔥拉💰人💰头💰奖💰励：每拉一人奖200元，入\u200b门费３９９元 𝐉𝐎𝐈𝐍 👉 三代团队提成🚀",
        "𝕁𝕠𝕚𝕟 now 🇺🇸 — starter kit $499, $100 per re-cruit, 5 levels deep 💸💸",
        "מבצע 👍 加入只需399元，每推荐一人奖励100元 مرحبا",
    ],
)
def test_offsets_hold_for_emoji_astral_and_obfuscated_text(scorer: Scorer, text: str) -> None:
    d = scorer.score([text])[0].to_dict()
    _check_contract(d, text)
    assert any(i["evidence"] for i in d["indicators"])


def test_batch_keeps_order_and_matches_single_scoring(scorer: Scorer) -> None:
    texts = [SCHEME_ZH, COUPON_ZH, SCHEME_EN, AFFILIATE_EN]
    batch = scorer.score(texts, ["1", "2", "3", "4"])
    assert [r.id for r in batch] == ["1", "2", "3", "4"]
    for t, r in zip(texts, batch, strict=True):
        assert scorer.score([t])[0].risk_score == r.risk_score


def test_denial_does_not_hide_a_per_head_bonus(scorer: Scorer) -> None:
    text = "我们不是传销！不收入门费，只需购买1980元产品礼包即可成为代理，每直推一人奖励500元，间推再拿300元。"
    d = scorer.score([text])[0].to_dict()
    rr = next(i for i in d["indicators"] if i["code"] == "recruitment_rewards")
    assert d["flagged"] and rr["flagged"]


def test_ruling_practices_out_is_evidence_against_them(scorer: Scorer) -> None:
    text = (
        "本公司持有商务部直销经营许可证，不收取任何入门费，不以发展人员数量计酬，销售员只按本人零售额获得报酬，"
        "产品七天无理由退货。"
    )
    assert not scorer.score([text])[0].flagged


def test_a_report_on_a_scheme_is_not_an_offer(scorer: Scorer) -> None:
    report = (
        "法院审理查明：被告人张某以某平台名义，要求参与者缴纳3980元入门费，每发展一人奖励800元，"
        "并按三级以上层级计酬，发展会员逾千人。法院以组织、领导传销活动罪判处其有期徒刑五年。"
    )
    r = scorer.score([report])[0]
    assert not r.flagged
    assert r.offer_score < 0.5


def test_traditional_chinese_scores_like_simplified(scorer: Scorer) -> None:
    simp = "加入需缴纳2980元名额费，每推荐一位新会员奖励600元，下线三代业绩都有奖金。"
    trad = "加入需繳納2980元名額費，每推薦一位新會員獎勵600元，下線三代業績都有獎金。"
    a, b = scorer.score([simp, trad])
    assert abs(a.risk_score - b.risk_score) < 0.05
    assert b.flagged


def test_long_page_keeps_the_buried_paragraph(scorer: Scorer) -> None:
    filler = (
        "我们的茶园位于云南西双版纳，海拔一千二百米，常年云雾缭绕，采用传统工艺手工制作，每一片茶叶都经过严格筛选。"
        * 12
    )
    mech = "成为合伙人需缴纳2980元名额费，每推荐一位合伙人奖励800元，伞下三代团队业绩均可提成。"
    text = filler + mech + filler
    r = scorer.score([text])[0]
    assert r.flagged
    rr = next(i for i in r.indicators if i.code == "recruitment_rewards")
    assert rr.flagged and all(len(filler) <= e.start < len(filler) + len(mech) for e in rr.evidence)


def test_scoring_path_margins_equal_the_training_path(scorer: Scorer) -> None:
    # the request path computes margins straight from clause counts; training composes TF-IDF matrices first
    import numpy as np

    from model.bundle import compose, margins, prepare
    from training.corpus import CORPUS_PATH, load_rows

    texts = [r.text for r in load_rows(CORPUS_PATH)][::9]
    prep = prepare(texts + ["", "a", "加入只需399元" * 200])
    b = scorer.bundle
    doc_train, win_train = margins(b.weights, b.intercepts, compose(b.featurizer, prep))
    _, doc, win = b.stage1(prep)
    assert np.allclose(doc, doc_train, atol=1e-4)
    assert np.allclose(win, win_train, atol=1e-4)


def test_averaged_risk_is_half_own_head_half_strongest_indicator(scorer: Scorer) -> None:
    import numpy as np

    from model.bundle import prepare

    b = scorer.bundle
    _, doc, win = b.stage1(prepare([SCHEME_ZH, SCHEME_EN, COUPON_ZH, AFFILIATE_EN]))
    chosen = b.risk_mode
    try:
        risk = {}
        for mode in ("own", "derived", "averaged"):
            b.risk_mode = mode
            risk[mode] = b.probabilities(doc, win)["risk"]
    finally:
        b.risk_mode = chosen
    assert np.allclose(risk["averaged"], (risk["own"] + risk["derived"]) / 2)
    assert "averaged" in scorer.manifest["risk_head"]["comparison"]
