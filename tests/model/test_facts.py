from __future__ import annotations

import pytest

from model.facts import (
    extract_commission_rates,
    extract_entry_fee,
    extract_facts,
    extract_levels,
    extract_promised_return,
)
from model.normalize import normalize


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        ("三级分销", 3),
        ("十代收益", 10),
        ("pays 7 levels deep", 7),
        ("three generations of overrides", 3),
        ("无限代见点奖", "unlimited"),
        ("unlimited depth", "unlimited"),
        ("第8层也有", 8),
    ],
)
def test_levels(text: str, levels: int | str) -> None:
    assert extract_levels(normalize(text).text) == levels


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("入门费¥399", 399, "CNY"),
        ("加入需缴纳1999元", 1999, "CNY"),
        ("starter kit $499", 499, "USD"),
        ("礼包 1,980 元", 1980, "CNY"),
        ("入會費新台幣12000元", 12000, "TWD"),
        ("joining fee: RM 500", 500, "MYR"),
        ("our store opens at 9", None, None),
        ("activation fee of USDT 100", 100, "USDT"),
        ("名额费2万元", 20000, "CNY"),
    ],
)
def test_entry_fee(text: str, amount: int | None, currency: str | None) -> None:
    fee = extract_entry_fee(normalize(text).text)
    if amount is None:
        assert fee is None
    else:
        assert fee == {"amount": amount, "currency": currency}


@pytest.mark.parametrize(
    ("text", "rate", "period"),
    [
        ("日返1.5%", 1.5, "day"),
        ("月息10%", 10, "month"),
        ("20% weekly", 20, "week"),
        ("年化收益28%", 28, "year"),
        ("daily ROI of 3%", 3, "day"),
        ("每天收益0.8%", 0.8, "day"),
    ],
)
def test_promised_return(text: str, rate: float, period: str) -> None:
    assert extract_promised_return(normalize(text).text) == {"rate_percent": rate, "period": period}


def test_commission_rates_in_order() -> None:
    text = normalize("直推奖励20%，间推10%，三代拿5%").text
    assert extract_commission_rates(text) == [20, 10, 5]
    assert extract_commission_rates(normalize("earn 10% commission on level 1, 5% on level 2, 3% on level 3").text) == [
        10,
        5,
        3,
    ]


def test_absent_facts_are_omitted_not_guessed() -> None:
    assert extract_facts(normalize("邀请好友注册，双方各得10元优惠券").text) == {}
    assert extract_facts(normalize("Our bakery opens at 8am every day.").text) == {}


@pytest.mark.parametrize(
    "text",
    [
        "邀请好友得券，满100减20%。" + "我们的产品很好。" * 12 + "加入后每月稳定收益8%，躺着赚钱",
        "discount 10% on shoes; " + "x" * 70 + " and a guaranteed 2.5 % weekly profit",
        "50% off " + " " * 3 + "monthly roi of 12%",
        "commission 20%" + "y" * 55 + "5% monthly",  # cut to "5% month" by the first "%"'s window
        "年化收益率 4.5%，日返1.2%，month 3% monthly",
        "no percentages at all",
        "%%%% 7% %",
    ],
)
def test_promised_return_reads_the_first_statement_anywhere_in_the_text(text: str) -> None:
    from model.facts import _RETURN, _first_return

    norm = normalize(text).text
    whole = _RETURN.search(norm)
    found = _first_return(norm)
    assert (found and found.group()) == (whole and whole.group())
