"""Numbers reviewers ask for, read from the normalized text: levels, entry fee, promised return, commission rates.

The patterns expect normalized text (lower case, half-width, simplified): pass `normalize(text).text`.

Each extractor returns None when the text does not state the fact; nothing is guessed.
"""

from __future__ import annotations

import re
from typing import Any

_ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_NUM_CHARS = "零〇一二两三四五六七八九十百"  # the characters of a small Chinese numeral
_EN_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
}


def zh_number(s: str) -> int | None:
    """Parse a small Chinese numeral (三, 十, 十二, 二十, 一百) or digits."""
    if s.isdigit():
        return int(s)
    if not s or any(c not in _ZH_DIGITS and c not in "十百" for c in s):
        return None
    total, cur = 0, 0
    for c in s:
        if c == "百":
            total += (cur or 1) * 100
            cur = 0
        elif c == "十":
            total += (cur or 1) * 10
            cur = 0
        else:
            cur = _ZH_DIGITS[c]
    return total + cur


# (written to begin with one character class, which lets the scan skip ahead: digits or a Chinese numeral)
_LEVELS_ZH = re.compile(
    rf"([0-9{_ZH_NUM_CHARS}](?:(?<=[0-9])[0-9]?|(?<=[{_ZH_NUM_CHARS}])[{_ZH_NUM_CHARS}]*))\s*(?:级|代|层)(?!别|市|城|片|甲|跳)"
)
_LEVELS_EN = re.compile(
    r"\b(\d{1,2}|" + "|".join(_EN_WORDS) + r")[\s-]*(?:levels?|generations?|tiers?|layers?)(?:\s+deep)?\b"
)
_LEVEL_N_EN = re.compile(r"(?:l(?<=\bl)evel|g(?<=\bg)eneration|t(?<=\bt)ier)\s*(\d{1,2})\b")
_UNLIMITED = re.compile(
    r"无限代|无限层|无限级|不限代数|不限层级|unlimited (?:depth|levels?|generations?)|infinite (?:depth|levels?)"
)

_CURRENCY = (
    r"(?P<pre>¥|￥|rmb|cny|usd|us\$|hk\$|nt\$|s\$|sgd|rm|myr|\$|€|£|usdt|新台币|台币|港币|港元|美元|美金)?\s*(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*"
    r"(?P<mult>万|千|k)?\s*(?P<post>元|块|rmb|cny|usd|usdt|dollars?|美元|美金|港币|港元|新台币|台币|hkd|twd|sgd|myr|ringgit|eur|euros?|gbp|pounds?)?"
)
_MONEY = re.compile(_CURRENCY)
_FEE_CUES = re.compile(
    r"入门费|加盟费|会费|入会|激活费|激活|授权费|名额费|代理费|保证金|门槛|礼包|套餐|启动包|入股|加入|报名费|学费|升级|开通|"
    r"entry fee|joining fee|sign[- ]?up fee|membership fee|starter (?:kit|pack(?:age)?)|buy[- ]?in|enroll(?:ment)? fee|"
    r"activation|founder(?:'s)? (?:package|pack|seat)|package|join|fee",
)
_RETURN = re.compile(
    r"(?P<zh>(?P<zper>日|天|每日|每天|周|每周|月|每月|年|年化|每年)\s*(?:返|息|收益|化收益|利|分红|回报|收益率)?\s*(?:高达|约|稳定)?\s*(?P<zr>\d+(?:\.\d+)?)\s*%)"
    r"|(?P<en>(?P<er>\d+(?:\.\d+)?)\s*%\s*(?:(?:roi|return|profit|interest|yield|income)\s*)?(?:per\s+|a\s+|each\s+|every\s+)?(?P<eper>daily|day|weekly|week|monthly|month|annually|annual|year|yearly|p\.?a\.?))"
    r"|(?P<en2>(?P<eper2>daily|weekly|monthly|annual)\s+(?:roi|return|returns|profit|interest|yield|income)s?\s*(?:of\s*)?(?P<er2>\d+(?:\.\d+)?)\s*%)",
)
_PERIOD = {
    "日": "day",
    "天": "day",
    "每日": "day",
    "每天": "day",
    "daily": "day",
    "day": "day",
    "周": "week",
    "每周": "week",
    "weekly": "week",
    "week": "week",
    "月": "month",
    "每月": "month",
    "monthly": "month",
    "month": "month",
    "年": "year",
    "年化": "year",
    "每年": "year",
    "annually": "year",
    "annual": "year",
    "year": "year",
    "yearly": "year",
    "p.a.": "year",
    "pa": "year",
    "p.a": "year",
}
_COMMISSION_CUE = re.compile(r"提成|佣金|奖励|分润|返佣|奖金|分红|拿|得|commission|bonus|override|earn|pays?|get")
_PERCENT = re.compile(r"(\d{1,2}(?:\.\d+)?)\s*%")


def _currency(pre: str | None, post: str | None) -> str:
    token = (pre or post or "").lower()
    if token in ("¥", "￥", "rmb", "cny", "元", "块"):
        return "CNY"
    if token in ("hk$", "港币", "港元", "hkd"):
        return "HKD"
    if token in ("nt$", "新台币", "台币", "twd"):
        return "TWD"
    if token in ("s$", "sgd"):
        return "SGD"
    if token in ("rm", "myr", "ringgit"):
        return "MYR"
    if token in ("usdt",):
        return "USDT"
    if token in ("€", "eur", "euro", "euros"):
        return "EUR"
    if token in ("£", "gbp", "pound", "pounds"):
        return "GBP"
    if token:
        return "USD"
    return ""


# Every depth statement needs one of these (a cheap test before the four depth patterns run).
_LEVEL_HINT = re.compile(r"级|代|层|level|generation|tier|layer|unlimited|infinite")

Mentions = list[tuple[int, int | str]]


def level_mentions(text: str) -> Mentions:
    """(position, depth) of every statement of pay-plan depth: an int from 2 to 50, or 'unlimited'."""
    if not _LEVEL_HINT.search(text):
        return []
    found: Mentions = [(m.start(), "unlimited") for m in _UNLIMITED.finditer(text)]
    for m in _LEVELS_ZH.finditer(text):
        n = zh_number(m.group(1))
        if n is not None and 2 <= n <= 50:
            found.append((m.start(), n))
    for m in _LEVELS_EN.finditer(text):
        tok = m.group(1).lower()
        found.append((m.start(), int(tok) if tok.isdigit() else _EN_WORDS[tok]))
    found.extend((m.start(), int(m.group(1))) for m in _LEVEL_N_EN.finditer(text))
    return [(p, d) for p, d in found if d == "unlimited" or 2 <= d <= 50]


def extract_levels(text: str, mentions: Mentions | None = None) -> int | str | None:
    """Depth of the pay plan: an int, 'unlimited', or None (`mentions`: `level_mentions(text)` if already known)."""
    depths = [d for _, d in (level_mentions(text) if mentions is None else mentions)]
    if "unlimited" in depths:
        return "unlimited"
    return max(depths) if depths else None


def extract_entry_fee(text: str) -> dict[str, Any] | None:
    """The price of joining or of the package that unlocks earning, with its currency."""
    for cue in _FEE_CUES.finditer(text):
        after = text[cue.end() : cue.end() + 24]
        before = text[max(0, cue.start() - 12) : cue.start()]
        # the amount after the cue ("入门费399元") wins over one before it ("399元入门费")
        for window in (after, before):
            fee = _first_amount(window)
            if fee:
                return fee
    return None


def _first_amount(window: str) -> dict[str, Any] | None:
    for m in _MONEY.finditer(window):
        cur = _currency(m.group("pre"), m.group("post"))
        if not cur:
            continue
        amount = float(m.group("num").replace(",", ""))
        mult = (m.group("mult") or "").lower()
        amount *= {"万": 10000, "千": 1000, "k": 1000}.get(mult, 1)
        if window[m.end() : m.end() + 1] == "%" or amount <= 0:
            continue
        return {"amount": int(amount) if amount.is_integer() else amount, "currency": cur}
    return None


def _first_return(text: str) -> re.Match[str] | None:
    """`_RETURN.search(text)`, looking only near each "%": every form holds exactly one "%", with at most ~30
    characters of it on either side (normalized text has no runs of spaces), so the first window with a match holds
    the text's first match. A match near a window's end is searched again without the end, so none is cut short."""
    pos = text.find("%")
    while pos >= 0:
        lo = max(0, pos - _RETURN_REACH)
        m = _RETURN.search(text, lo, pos + _RETURN_REACH)
        if m is not None:
            return m if m.end() < pos + _RETURN_REACH // 2 else _RETURN.search(text, lo)
        pos = text.find("%", pos + 1)
    return None


_RETURN_REACH = 64


def extract_promised_return(text: str) -> dict[str, Any] | None:
    """A stated return rate and its period, e.g. 日返1.5% -> {'rate_percent': 1.5, 'period': 'day'}."""
    m = _first_return(text)
    if not m:
        return None
    if m.group("zh"):
        rate, per = m.group("zr"), m.group("zper")
    elif m.group("en"):
        rate, per = m.group("er"), m.group("eper")
    else:
        rate, per = m.group("er2"), m.group("eper2")
    period = _PERIOD.get(per.lower().replace(" ", ""), _PERIOD.get(per.lower()))
    if period is None:
        return None
    value = float(rate)
    return {"rate_percent": int(value) if value.is_integer() else value, "period": period}


def extract_commission_rates(text: str) -> list[float] | None:
    """Percentages stated next to commission or bonus words, in order of appearance."""
    rates: list[float] = []
    if "%" not in text:
        return None
    for m in _PERCENT.finditer(text):
        window = text[max(0, m.start() - 40) : m.end() + 16]
        if _COMMISSION_CUE.search(window) and not _RETURN.search(text[max(0, m.start() - 8) : m.end() + 12]):
            v = float(m.group(1))
            rates.append(int(v) if v.is_integer() else v)
    return rates or None


def extract_facts(text: str, mentions: Mentions | None = None) -> dict[str, Any]:
    """All facts the text states; absent facts are left out (`mentions`: `level_mentions(text)` if known)."""
    facts: dict[str, Any] = {}
    if (levels := extract_levels(text, mentions)) is not None:
        facts["levels"] = levels
    if (fee := extract_entry_fee(text)) is not None:
        facts["entry_fee"] = fee
    if (ret := extract_promised_return(text)) is not None:
        facts["promised_return"] = ret
    if (rates := extract_commission_rates(text)) is not None:
        facts["commission_rates"] = rates
    return facts
