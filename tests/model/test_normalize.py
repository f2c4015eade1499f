from __future__ import annotations

import pytest

from model.normalize import normalize


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("拉 人 头", "拉人头"),
        ("拉.人.头", "拉人头"),
        ("拉-人-头", "拉人头"),
        ("拉💰人💰头", "拉人头"),
        ("入\u200b门\u200c费", "入门费"),
        ("ＶＩＰ３９９元", "vip399元"),
        ("傳直銷下線獎金制度", "传直销下线奖金制度"),
        ("會員", "会员"),
        ("r e c r u i t", "recruit"),
        ("d.a.i.l.y", "daily"),
        ("LRT奖励", "拉人头奖励"),
        ("pa$$ive inc0me, r0i 25% m0nthly", "passive income, roi 25% monthly"),
        ("bring 2 fr1ends", "bring 2 friends"),
        ("交1️⃣9️⃣9️⃣元激活", "交199元激活"),
        ("入 场 5 0 0 U ， z t 每 人 返 4 0 U ， 日 日 分 红 0 . 8 %", "入场500u , zt 每人返40u , 日日分红0.8 %"),
    ],
)
def test_obfuscated_forms_normalize_to_the_plain_form(raw: str, plain: str) -> None:
    assert normalize(raw).text == plain


def test_sentence_punctuation_between_chinese_words_is_kept() -> None:
    assert "," in normalize("加入只需399元，每推荐一人奖励100元").text


@pytest.mark.parametrize(
    "raw",
    [
        "👍拉💰人头 𝐀BC 🇨🇳 入\u200b门费",
        "مرحبا 拉 人 头 שלום",
        "ﬁne ㈱ ℡ 入门费",
        "\x00\x01控制字符\t\n",
        "a\u0301e\u0301 é",
    ],
)
def test_every_normalized_character_maps_into_the_original(raw: str) -> None:
    n = normalize(raw)
    assert len(n.offsets) == len(n.text)
    assert list(n.offsets) == sorted(n.offsets)
    for i in range(len(n.text)):
        start, end = n.original_span(i, i + 1)
        assert 0 <= start < end <= len(raw)


def test_span_over_normalized_text_maps_to_the_original_substring() -> None:
    raw = "快来！拉 . 人 . 头 奖励ＲＭ５０"
    n = normalize(raw)
    i = n.text.index("拉人头")
    start, end = n.original_span(i, i + 3)
    assert raw[start:end] == "拉 . 人 . 头"


def test_spacing_between_chinese_and_numbers_is_typesetting_not_a_boundary() -> None:
    text = "每推荐一人 奖励 100 元，日返 1.5%"
    n = normalize(text)
    assert n.text == normalize("每推荐一人奖励100元，日返1.5%").text
    s, e = n.original_span(n.text.index("奖励100元"), n.text.index("奖励100元") + len("奖励100元"))
    assert text[s:e] == "奖励 100 元"


@pytest.mark.parametrize("raw", ["4x7 matrix", "mp3", "web3 wallet", "2nd level", "US$500", "3x3 board", "h5 page"])
def test_digits_that_are_not_leetspeak_are_kept(raw: str) -> None:
    assert normalize(raw).text == raw.lower()


def test_spaced_digits_and_letters_are_joined_only_in_spaced_out_text() -> None:
    # an ordinary text keeps "1 2 3" and "a b" as they are; a text spaced out character by character does not
    assert normalize("rooms 1 2 3 are free, plan a b").text == "rooms 1 2 3 are free, plan a b"
    assert normalize("加入会员 rooms 1 2 3").text == "加入会员 rooms 1 2 3"
    spaced = "每 推 荐 1 0 人 奖 励 5 0 0 元"
    n = normalize(spaced)
    assert n.text == "每推荐10人奖励500元"
    s, e = n.original_span(n.text.index("500"), n.text.index("500") + 3)
    assert spaced[s:e] == "5 0 0"
