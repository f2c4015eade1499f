"""The indicator taxonomy in code; mirrors ../shared/taxonomy.md and is the only place the codes are defined."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    legal_basis: str

    @property
    def name(self) -> str:
        return f"{self.name_zh} / {self.name_en}"


INDICATORS: tuple[Indicator, ...] = (
    Indicator("recruitment_rewards", "拉人头", "recruitment rewards", "《禁止传销条例》第七条(一)"),
    Indicator("entry_fee", "收取入门费", "entry fee", "《禁止传销条例》第七条(二)"),
    Indicator(
        "multi_level_commission", "团队计酬", "multi-level commission", "《禁止传销条例》第七条(三); 刑法第224条之一"
    ),
    Indicator(
        "high_return_promise",
        "高额返利/保本承诺",
        "high-return promise",
        "资金盘 / Ponzi pattern (taxonomy: risk when tied to investing or recruiting)",
    ),
    Indicator("inventory_loading", "囤货/压货", "inventory loading", "FTC: inventory loading; 购货门槛/保级进货"),
)
CODES: tuple[str, ...] = tuple(i.code for i in INDICATORS)
BY_CODE: dict[str, Indicator] = {i.code: i for i in INDICATORS}
# The three statutory forms of 《禁止传销条例》第七条.
STATUTORY: tuple[str, ...] = ("recruitment_rewards", "entry_fee", "multi_level_commission")

LANGS: tuple[str, ...] = ("zh", "en", "mixed")
STYLES: tuple[str, ...] = ("long", "negation", "traditional", "obfuscated", "chat")
SOURCES_FIXED: tuple[str, ...] = ("handwritten", "template", "augmented")

POSITIVE_STRATA: tuple[str, ...] = ("blatant_pyramid", "disguised_pyramid", "ponzi_investment", "single_indicator")
# Hard-negative families of the taxonomy: stratum -> family name used in reports.
HARD_NEGATIVE_FAMILIES: dict[str, str] = {
    "hard_neg_referral": "referral perks",
    "hard_neg_affiliate": "one-level affiliate",
    "hard_neg_direct_selling": "licensed direct selling",
    "hard_neg_membership": "store/club membership",
    "hard_neg_group_buying": "group buying / live-stream / private domain",
    "hard_neg_news": "news / warnings / commentary",
    "hard_neg_news_mechanics": "news / warnings / commentary",
}
# Strata whose texts report on schemes rather than offer anything to the reader.
REPORT_STRATA: tuple[str, ...] = ("hard_neg_news", "hard_neg_news_mechanics")
STRATA: tuple[str, ...] = POSITIVE_STRATA + tuple(HARD_NEGATIVE_FAMILIES) + ("benign",)


def risk_rule_allows(labels: dict[str, int], risk: int) -> bool:
    """True when `risk` is consistent with the taxonomy's rule for these indicator labels."""
    if any(labels[c] for c in STATUTORY):
        return risk == 1
    if labels["high_return_promise"]:
        # Risk only when the promise is tied to investing or recruiting: a labeler's judgement, both allowed.
        return risk in (0, 1)
    return risk == 0
