"""Text normalization with an offset map back to the original text.

Operators dodge keyword filters with full-width characters, zero-width characters, traditional characters and
separators between the characters of a cue word (拉 人 头, 拉.人.头, r-e-c-r-u-i-t). The model sees the
normalized text; evidence found there is mapped back through `offsets` so spans always index the text as received.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Separators an obfuscator puts between the characters of a cue word (never sentence punctuation like ，。).
_SEP = r"\s.·•・\-_*~/|\\+=^'\"`❤♥★☆✨✅➕\u2600-\u27bf\U0001f000-\U0001faff\ufe0f"
# (Patterns below begin with a character class rather than a lookbehind, which lets the regex engine skip ahead
# faster; a match's first character is the Chinese character or digit before the span that is dropped.)
_CJK_SPLIT = re.compile(rf"[{_CJK}][{_SEP}]{{1,4}}(?=[{_CJK}])")
_LETTER_SPLIT = re.compile(r"(?<![a-z0-9])(?:[a-z][ .·\-*_]){2,}[a-z](?![a-z0-9])")
_MULTI_SPACE = re.compile(r"\s{2,}")
# "奖励 100 元" is "奖励100元" (spacing between Chinese and numbers is a typesetting habit, not a word boundary)
_CJK_DIGIT_SPACE = re.compile(rf"[{_CJK}]\s+(?=\d)|\d\s+(?=[{_CJK}])")
# Spelled-out evasions with an unambiguous reading (pinyin initials, letter-for-character homophones).
_EVASIONS = {
    "lrt": "拉人头",
    "zt奖": "直推奖",
    "rmf": "入门费",
    "入门f": "入门费",
    "躺z": "躺赚",
    "日fan": "日返",
    "下xian": "下线",
    "fan利": "返利",
    "chuan销": "传销",
}
_EVASION_RE = re.compile("|".join(re.escape(k) for k in sorted(_EVASIONS, key=len, reverse=True)))
# Leetspeak inside a word (inc0me, r0i, pa$$ive, fr1ends): a digit or $ with a letter on both sides reads as the
# letter it imitates. One character for one, so offsets are unchanged; "4x7", "mp3", "web3", "2nd" are untouched.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s"})
_LEET_RE = re.compile(r"(?<=[a-z])[013457$]+(?=[a-z])")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# zero-width characters, plus the emoji variation selector and the keycap mark: 1️⃣9️⃣9️⃣ reads 199
_ZERO_WIDTH = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E, 0xFE0F, 0x20E3}
# A text spaced out character by character (交 1 9 9 U 激 活 账 户 , z t 每 人 返 4 0 U) to slip past filters: once
# it has this many spaced Chinese characters, spaced single digits and letters are joined too (5 0 0 → 500, z t →
# zt, 0 . 8 → 0.8). Only then: elsewhere "1 2 3" or "a b" may be meant as they stand.
_SPACED_MIN = 4
_SPACED_CJK = re.compile(rf"[{_CJK}]\s(?=[{_CJK}])")
_SPACED_SINGLES = re.compile(r"(?<![a-z0-9])[a-z0-9](?:\s[a-z0-9](?![a-z0-9]))+|(?<=\d)\s?\.\s?(?=\d)")


@dataclass(frozen=True)
class Normalized:
    """Normalized text and, for each of its characters, the index of the original character it came from."""

    text: str
    offsets: tuple[int, ...]
    original_length: int

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalized text to the original text."""
        if end <= start:
            raise ValueError("empty span")
        return self.offsets[start], self.offsets[end - 1] + 1


def _t2s_table() -> dict[int, str]:
    import opencc

    chars = [chr(c) for c in range(0x3400, 0xA000)] + [chr(c) for c in range(0xF900, 0xFB00)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # a converter that merges lines would misalign the table
        raise RuntimeError("OpenCC t2s changed the line count while building the character table")
    return {ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def _char_map(ch: str, t2s: dict[int, str]) -> str:
    cp = ord(ch)
    if cp in _ZERO_WIDTH:
        return ""
    cat = unicodedata.category(ch)
    if ch in "\n\r\t\v\f\u2028\u2029\x85":
        return " "
    if cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return ""
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        c = t2s.get(ord(c), c)
        low = c.lower()
        out.append(low if len(low) == 1 else c)
    return "".join(out)


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], dict[int, str]]:
    """(translate table for the BMP, t2s table); built once, about 50 ms."""
    t2s = _t2s_table()
    table: dict[int, str] = {}
    for cp in range(0x10000):
        ch = chr(cp)
        mapped = _char_map(ch, t2s)
        if mapped != ch:
            table[cp] = mapped
    return table, t2s


def _delete_ranges(text: str, offsets: list[int], ranges: list[tuple[int, int]]) -> tuple[str, list[int]]:
    pieces, offs, pos = [], [], 0
    for s, e in ranges:
        pieces.append(text[pos:s])
        offs.extend(offsets[pos:s])
        pos = e
    pieces.append(text[pos:])
    offs.extend(offsets[pos:])
    return "".join(pieces), offs


def _replace_evasions(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    pieces, offs, pos = [], [], 0
    for m in _EVASION_RE.finditer(text):
        s, e = m.span()
        repl = _EVASIONS[m.group()]
        pieces.append(text[pos:s])
        offs.extend(offsets[pos:s])
        src = offsets[s:e]
        pieces.append(repl)
        # Spread the replacement over the source characters so a span over it maps to all of them.
        offs.extend(src[min(k * len(src) // len(repl), len(src) - 1)] for k in range(len(repl)))
        pos = e
    pieces.append(text[pos:])
    offs.extend(offsets[pos:])
    return "".join(pieces), offs


def normalize(text: str) -> Normalized:
    """NFKC, zero-width/control removal, traditional→simplified, lower case, collapsed evasions; offsets kept."""
    table, t2s = _tables()
    fast = text.translate(table)
    if len(fast) == len(text) and not _ASTRAL.search(text):
        out, offsets = fast, list(range(len(text)))
    else:
        chunks, offsets = [], []
        for i, ch in enumerate(text):
            mapped = table.get(ord(ch), ch) if ord(ch) < 0x10000 else _char_map(ch, t2s)
            chunks.append(mapped)
            offsets.extend([i] * len(mapped))
        out = "".join(chunks)
    if _LEET_RE.search(out):
        out = _LEET_RE.sub(lambda m: m.group().translate(_LEET), out)
    if _EVASION_RE.search(out):
        out, offsets = _replace_evasions(out, offsets)
    drops: list[tuple[int, int]] = [(m.start() + 1, m.end()) for m in _CJK_SPLIT.finditer(out)]
    for m in _LETTER_SPLIT.finditer(out):
        drops.extend((i, i + 1) for i in range(m.start(), m.end()) if not out[i].isalpha())
    for m in _MULTI_SPACE.finditer(out):
        drops.append((m.start() + 1, m.end()))
    drops.extend((m.start() + 1, m.end()) for m in _CJK_DIGIT_SPACE.finditer(out))
    if len(_SPACED_CJK.findall(out, 0, 2000)) >= _SPACED_MIN:
        for m in _SPACED_SINGLES.finditer(out):
            drops.extend((i, i + 1) for i in range(m.start(), m.end()) if out[i].isspace())
    if drops:
        drops.sort()
        merged: list[tuple[int, int]] = []
        for s, e in drops:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
            else:
                merged.append((s, e))
        out, offsets = _delete_ranges(out, offsets, merged)
    return Normalized(out, tuple(offsets), len(text))
