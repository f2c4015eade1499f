"""Features for zh/en/mixed text: jieba word n-grams, character n-grams and negation-scoped cue counts.

A text is cut into clauses, each a `Segment` (normalized text plus its jieba tokens, with document offsets);
documents and windows are sums of clause counts. Every callable handed to scikit-learn is a module-level function
here, so artifacts unpickle anywhere `model` is importable.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse

from model.facts import Mentions, level_mentions

_SKIP_TOKEN = re.compile(r"^[\s\W_]+$")


# A token is (text, start, end) in its segment's text: plain tuples, because a text has hundreds of them.
Token = tuple[str, int, int]


class Segment(NamedTuple):
    """A piece of normalized text (the whole document or one window) and its word tokens (a named tuple: built
    once per clause on the request path, where a frozen dataclass's __init__ cost more than the clause's counting)."""

    text: str
    tokens: tuple[Token, ...]
    start: int = 0  # offset of this segment inside the document's normalized text
    neg: int | None = None  # where a negation's scope begins (document offset; it runs to the end of the clause)
    # Token offsets are document offsets too: a clause shares its document's token tuples, unshifted.


def _jieba_dict() -> str:
    """jieba's dictionary file, found without importing jieba (its import pulls in pkg_resources: start-up time)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise ImportError("jieba is not installed")
    return str(Path(spec.origin).resolve().parent / "dict.txt")


def _load_segmenter() -> Callable[[str], list[str]]:
    """jieba's no-HMM segmentation over jieba's own dictionary.

    When jieba_fast_dat is installed it does the work: the same algorithm in C++ over the same dictionary (a double
    array trie cached on disk, loaded in milliseconds instead of jieba's one-second dictionary build), about ten
    times faster and token for token identical on our corpus except where two segmentations are exactly equally
    likely and the tie is broken the other way (tests/model/test_tokenizer.py checks). Without it, plain jieba.
    """
    try:
        from jieba_fast_dat.core.tokenizer import Tokenizer
    except ImportError:  # the accelerator is optional: same tokens, slower
        import jieba

        jieba.setLogLevel(logging.WARNING)

        def plain_jieba(text: str) -> list[str]:
            return jieba.lcut(text, HMM=False)

        return plain_jieba
    logging.getLogger("jieba_fast_dat").setLevel(logging.WARNING)
    tk = Tokenizer(_jieba_dict())
    tk.initialize()
    return lambda text: tk.lcut(text, HMM=False)


_segment: Callable[[str], list[str]] | None = None
_segment_lock = threading.Lock()


def segment(text: str) -> list[str]:
    """jieba words of `text` (no HMM), dictionary loaded on first use."""
    global _segment
    if _segment is None:
        with _segment_lock:
            if _segment is None:
                _segment = _load_segmenter()
    return _segment(text)


def segmenter_name() -> str:
    """Which implementation segments text: "jieba_fast_dat" (the accelerator) or "jieba"."""
    segment("")
    return "jieba" if getattr(_segment, "__name__", "") == "plain_jieba" else "jieba_fast_dat"


def tokenize(text: str) -> tuple[Token, ...]:
    """jieba tokens of normalized text (dictionary words, no HMM guessing: the character n-grams cover unknown
    words, and it is a quarter faster), without whitespace and punctuation tokens."""
    skip, out, pos = _SKIP_TOKEN.match, [], 0
    for w in segment(text):
        end = pos + len(w)
        if w[0].isalnum() or not skip(w):
            out.append((w, pos, end))
        pos = end
    return tuple(out)


NEG_MARK = "¬"


def word_analyzer(seg: Segment) -> list[str]:
    """Word unigrams and bigrams; inside a negation's scope they are marked (不收入门费 → ¬入门费)."""
    if seg.neg is None:
        words = [t[0] for t in seg.tokens]
    else:
        words = [t[0] if t[1] < seg.neg else NEG_MARK + t[0] for t in seg.tokens]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def char_analyzer(seg: Segment) -> list[str]:
    """Character 2- and 3-grams, ¬-marked inside a negation's scope: the readable reference for `char_keys`."""
    text = seg.text
    grams = [text[i : i + 2] for i in range(len(text) - 1)] + [text[i : i + 3] for i in range(len(text) - 2)]
    if seg.neg is None:
        return grams
    cut, n2 = seg.neg - seg.start, max(0, len(text) - 1)
    return [g if (i if i < n2 else i - n2) < cut else NEG_MARK + g for i, g in enumerate(grams)]


# Negation words whose scope runs to the end of the clause. Excluded: 不断/不少/不仅/不错/不同/不过/不管... (not
# negations), 无限 (unlimited: a red flag itself), 未来 (future).
_NEG_SCOPE = re.compile(
    r"不(?!断|少|仅|错|同|久|过|如|但|然|论|管|定|停|妨|禁|满|足|便)|没有|没|无(?!限|论|数)|未(?!来)|禁止|严禁|绝不|从不|并非|拒绝|杜绝|"
    r"no(?<=\bno)\b|not(?<=\bnot)\b|never(?<=\bnever)\b|without(?<=\bwithout)\b|none(?<=\bnone)\b|zero(?<=\bzero)\b|don't(?<=\bdon't)\b|doesn't(?<=\bdoesn't)\b|won't(?<=\bwon't)\b|isn't(?<=\bisn't)\b|aren't(?<=\baren't)\b|can't(?<=\bcan't)\b|cannot(?<=\bcannot)\b|nor(?<=\bnor)\b|neither(?<=\bneither)\b"
)


def negation_start(text: str) -> int | None:
    """Offset where the first negation in a clause begins, or None."""
    m = _NEG_SCOPE.search(text)
    return m.start() if m else None


# Cue lexicon per indicator: the phrasing compliance reviewers look for, on normalized (simplified, lower-case) text.
CUES: dict[str, str] = {
    "recruitment_rewards": r"拉人头|推荐奖|直推|每推荐|推荐一人|邀请一人|每邀请|发展下线|发展会员|人头费|招募奖|拉新奖|带人|推[一二三四五]人|per (?:recruit|referral|sign[- ]?up|person you)|recruit(?:ing|ment)? bonus|for every (?:person|friend|member)|enroll(?:ing)? \w+ (?:people|members)|sponsor(?:ing)? bonus|fast start bonus|for each (?:new )?(?:person|friend|member|associate|distributor|partner|recruit|crew)|personally (?:enroll|sponsor)\w*|bring (?:in )?(?:\d+|two|three|four|five|six|ten) (?:new )?(?:people|friends|members|partners|associates)|get (?:in )?(?:\d+|two|three|four|five|six|ten) (?:new )?(?:people|friends|members|partners|associates)|invite (?:in )?(?:\d+|two|three|four|five|six|ten) (?:new )?(?:people|friends|members|partners|associates)|enroll (?:in )?(?:\d+|two|three|four|five|six|ten) (?:new )?(?:people|friends|members|partners|associates)|sponsor (?:in )?(?:\d+|two|three|four|five|six|ten) (?:new )?(?:people|friends|members|partners|associates)|refer (?:in )?(?:\d+|two|three|four|five|six|ten) (?:new )?(?:people|friends|members|partners|associates)|register (?:in )?(?:\d+|two|three|four|five|six|ten) (?:new )?(?:people|friends|members|partners|associates)|enroller (?:bonus|reward)|enrollment (?:bonus|reward)|recruiting (?:bonus|reward)|builder (?:bonus|reward)|sponsor (?:bonus|reward)|每(?:拉|带|邀|介绍)(?:一|1)?(?:个|位|人)|邀满|推满|带满|拉满",
    "entry_fee": r"入门费|入会费|加盟费|激活费|授权费|名额费|代理费|门槛费|礼包|会费|报单|购买.{0,6}(?:套餐|课程)|entry fee|joining fee|sign[- ]?up fee|starter (?:kit|pack)|buy[- ]?in|enrollment fee|activation fee|founder(?:'s)? (?:package|pack|seat)|membership package|renewal (?:fee|pass|pack(?:age)?|charge)|license (?:fee|pass|pack(?:age)?|charge)|licence (?:fee|pass|pack(?:age)?|charge)|access (?:fee|pass|pack(?:age)?|charge)|certification (?:fee|pass|pack(?:age)?|charge)|onboarding (?:fee|pass|pack(?:age)?|charge)|registration (?:fee|pass|pack(?:age)?|charge)|activation (?:fee|pass|pack(?:age)?|charge)|business (?:center (?:fee|pass|pack(?:age)?|charge)|centre) (?:fee|pass|pack(?:age)?|charge)|required (?:before|to) (?:earn|receive|be paid|get paid|qualify)|mandatory (?:before|to) (?:earn|receive|be paid|get paid|qualify)|must (?:buy|pay|purchase) (?:before|to) (?:earn|receive|be paid|get paid|qualify)|unlocks? (?:earning|commissions?|payouts?|your earning)|开通费|资格费|席位费|认证费|保证金|开店费|系统费|入局费|入社费|工本费|服务费.{0,8}(?:才|方可)",
    "multi_level_commission": r"团队(?:业绩|奖|计酬|收益|提成)|三代|四代|五代|六代|七代|八代|九代|十代|三级|四级|五级|六级|七级|八级|九级|十级|无限代|见点|对碰|层碰|公排|滑落|极差|级差|间推|伞下|下线|下级|二级|三级|levels? deep|downline|binary|matrix|unilevel|generations?|team (?:volume|bonus|commission|override)|overrides?|pairing bonus|your team's team|spillover",
    "high_return_promise": r"日返|月息|保本|躺赚|静态收益|固定收益|稳赚|零风险|睡后收入|被动收入|年化|分红|回报率|翻倍|guaranteed|passive income|daily (?:roi|returns?|profit)|weekly (?:roi|returns?)|risk[- ]free|principal (?:protected|back)|earn while you sleep|double your|fixed (?:returns?|income)|% (?:daily|weekly|per day|a day)",
    "inventory_loading": r"囤货|压货|进货|拿货|保级|最低进货|首批货|订货|配额|库存|补货|min(?:imum)? (?:order|purchase)|stock up|inventory|monthly (?:order|purchase)|autoship|to stay active|qualifying (?:order|purchase)|wholesale order|personal volume|pv requirement"
    # how quotas are put in plain words: buying to keep a rank, opening orders, a count per period, stock taken
    # whatever sells
    + "".join(
        f"|{verb} (?:your |the |their |my )?(?:rank|title|level|status|tier|position)"
        for verb in ("keep", "hold", "maintain", "retain", "lose", "losing")
    )
    + r"|opening (?:order|stock|inventory)|reorder|re-order"
    + "".join(
        f"|{unit} (?:a|every|each|per) (?:month|quarter)"
        for unit in ("cases?", "boxes", "units", "bottles", "tins", "cartons", "packs?", "jars")
    )
    + r"|regardless of (?:sales|sell-through|demand)|no buy-?back|purchase (?:quota|requirement|commitment)"
    r"|stock (?:quota|commitment|allocation)|复购|补足业绩|自购|冲业绩|不退不换",
}
# Every alternative above begins with a literal character: Python's regex engine then skips ahead with a character
# set instead of trying the whole pattern at every position (an alternative that begins with a group or a class
# such as \d makes a scan of one text ten times slower).

# English gates, as the taxonomy defines them: a headcount of people who joined or signed up under you, pay per
# joining, and a paid plan, licence or membership that payouts are reserved for (or whose lapse stops cash-out).
# Counted with their indicator's cues; kept apart because they begin with groups, and scanned only in texts that
# have one of their words (`_GATE_HINT`).
_N = r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty)"
_WHO = (
    r"(?:people|persons|friends|mates|sellers|members|recruits|reps|partners|makers|families|funders|enrollees|"
    r"consultants|associates|distributors|agents|ambassadors|affiliates|hosts|tutors|holders|depositors|investors|"
    r"builders|creators|coaches|stylists|signups|sign-ups|joiners)"
)
GATE_CUES: dict[str, str] = {}
GATE_CUES["recruitment_rewards"] = (
    rf"{_N}\s+(?:(?:new|more|other|active|paid|qualified|personal|personally)\s+)*{_WHO}\s+(?:\w+\s+){{0,2}}"
    r"(?:joined|sign(?:ed)?[- ]?up|enrolled|registered|sponsored|recruited|activated|under (?:you|ur|your|me)|"
    r"through (?:you|ur|your|my))"
    r"|(?:per|each|every)\s+(?:new\s+)?(?:joining|joiner|enrollee|enrolment|recruit)\b"
    rf"|{_N}\s+(?:personal\s+)?(?:enrollees|directs)\b"
)
_GATED = r"(?:payouts?|commissions?|cash[- ]?outs?|withdrawals?|earnings?|royalt(?:y|ies)|paid|pays)"
GATE_CUES["entry_fee"] = (
    rf"{_GATED}\s+(?:\w+\s+){{0,4}}(?:only|reserved|restricted|limited)\s+(?:\w+\s+){{0,3}}(?:to|for)\s+"
    r"(?:\w+\s+){0,3}(?:holders?|members?|subscribers?|licen[cs]ees?|premium|pro|paid|verified|merchant|earner)"
    r"|(?:unrenewed|lapsed|unpaid|expired|free)\s+(?:\w+\s+){0,2}"
    r"(?:accounts?|members?|plans?|subscriptions?|users?|stores?|storefronts?|walkers?|tiers?)\s+(?:\w+\s+){0,4}"
    r"(?:can(?:no|')t|cannot|won't|do not|don't|stop)\s+(?:\w+\s+){0,2}"
    r"(?:cash[- ]?out|withdraw|be paid|get paid|earn|pay(?:ing)? out|receive)"
    r"|(?:upgrade|subscribe|buy|purchase|pay)\s+(?:\w+\s+){0,5}(?:to|before you can|in order to)\s+"
    r"(?:cash[- ]?out|withdraw|start earning|earn|receive (?:commissions?|payouts?))"
)
_CUE_RES = {code: re.compile(rx) for code, rx in CUES.items()}
_GATE_RES = {code: re.compile(rx) for code, rx in GATE_CUES.items()}
_GATE_HINT = re.compile(
    r"joined|sign|enrol|registered|sponsored|recruit|activated|under |through |joining|joiner|directs|"
    r"only|reserved|restricted|limited|can't|cannot|won't|don't|do not|stop|upgrade|subscribe|buy|purchase|pay"
)


def cue_matches(code: str, text: str, gated: bool | None = None) -> Iterator[re.Match[str]]:
    """Matches of an indicator's cues in `text` (`gated`: whether `_GATE_HINT` occurs in it, if already known)."""
    yield from _CUE_RES[code].finditer(text)
    if code in _GATE_RES and (_GATE_HINT.search(text) is not None if gated is None else gated):
        yield from _GATE_RES[code].finditer(text)


_NEGATION = re.compile(
    r"(?:不|无|没有|未|禁止|不得|严禁|绝不|拒绝|杜绝|并非|从不|不会|不需要|无需|免)[^。！？!?;；,，]{0,8}$|\b(?:no|not|never|without|zero|don't|doesn't|won't|isn't|aren't|nor|free of|prohibit\w*|ban\w*)\b[^.!?;,]{0,24}$"
)
_DENIAL = re.compile(
    r"不是传销|不是资金盘|不是骗局|绝非传销|合法合规|国家认可|not (?:a )?(?:pyramid|ponzi|mlm|scam)|100% legal|totally legal|fully legal"
)
_REPORT = re.compile(
    r"法院|判决|被告|被告人|检察院|公诉|警方|公安|立案|通报|记者|据.{0,6}报道|监管|市场监督|提醒|警惕|曝光|受害|涉嫌|案件|案发|court|judge|police|prosecut|charged|indict|regulator|ftc|sec\b|reported|journalist|victims?|alleged|lawsuit|warn(?:s|ed|ing)?|consumer alert|scam"
)
_OFFER = re.compile(
    r"你|您|咱们|加入我们|立即|马上|扫码|私信|联系我|报名|名额有限|赶紧|速来|欢迎|you(?<=\byou)\b|your(?<=\byour)\b|join (?:us|now|today)|sign up|dm me|message me|click|apply now|spots?|limited"
    # promotional pointers and a bare "join": posts that sell, not reports about them
    r"|👉|🔥|🚀|join(?<=\bjoin)\b"
)
_PERCENT = re.compile(r"\d\d*(?:\.\d+)?\s*%")
# (one leading character class, so the scan can skip ahead: a currency sign before a number, or digits before a unit)
_MONEY = re.compile(r"[¥$€£0-9](?:(?<=[¥$€£])\s*\d|(?<=[0-9])\d*\s*(?:元|块|万|usd|usdt|rmb|dollars?))")


N_CUE_FEATURES = 2 * len(CUES) + 6


def cue_counts(text: str, piece_starts: list[int] | None = None, levels: Mentions | None = None) -> np.ndarray:
    """Raw cue counts (additive), one row per piece of `text` (pieces begin at `piece_starts`; one piece if None).

    Columns: affirmed and negated cues per indicator (negation looked up in the 30 characters before the cue, in
    the whole text), then denial, report, offer, percentages, money amounts, statements of three or more levels.
    Each regex runs once over the whole text and its matches are assigned to the piece they start in. `levels`:
    `level_mentions(text)`, if the caller has it already.
    """
    starts = piece_starts or [0]
    out = np.zeros((len(starts), N_CUE_FEATURES), dtype=np.float32)

    def piece(pos: int) -> int:
        return bisect_right(starts, pos) - 1

    col = 0
    gated = _GATE_HINT.search(text) is not None
    for code in CUES:
        for m in cue_matches(code, text, gated):
            negated = _NEGATION.search(text[max(0, m.start() - 30) : m.start()]) is not None
            out[piece(m.start()), col + negated] += 1
        col += 2
    for rx in (_DENIAL, _REPORT, _OFFER, _PERCENT, _MONEY):
        for m in rx.finditer(text):
            out[piece(m.start()), col] += 1
        col += 1
    for pos, depth in level_mentions(text) if levels is None else levels:
        if depth == "unlimited" or depth >= 3:
            out[piece(pos), col] = 1
    return out


CUE_FEATURE_NAMES: tuple[str, ...] = tuple(
    f"cue:{code}:{kind}" for code in CUES for kind in ("affirmed", "negated")
) + ("cue:denial", "cue:report", "cue:offer", "cue:percent", "cue:money", "cue:deep_levels")


@dataclass(frozen=True)
class Rows:
    """A CSR matrix as its three arrays: sparse rows on the scoring path without scipy's per-object checks (for
    one text those cost more than the arithmetic). Training turns them into scipy matrices with `tocsr`."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def from_dense(cls, a: np.ndarray) -> Rows:
        r, c = np.nonzero(a)
        indptr = np.zeros(a.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=a.shape[0]), out=indptr[1:])
        return cls(a[r, c].astype(np.float32), c.astype(np.int32), indptr, a.shape)

    def tocsr(self) -> sparse.csr_matrix:
        return sparse.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))

    def take(self, rows: np.ndarray) -> Rows:
        """The given rows, in order."""
        starts = self.indptr[rows]
        lens = self.indptr[rows + 1] - starts
        pos = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(starts, lens)
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        return Rows(self.data[pos], self.indices[pos], indptr, (len(rows), self.shape[1]))

    def dot(self, w: np.ndarray) -> np.ndarray:
        """self @ w for a dense w."""
        return segment_sum(self.row_ids(), self.data[:, None] * w[self.indices], self.shape[0])


def segment_sum(rid: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Rows of `values` summed per id (ids sorted ascending) into an (n, k) array (np.add.at, but fast)."""
    out = np.zeros((n, values.shape[1]))
    if len(rid):
        starts = np.flatnonzero(np.r_[True, rid[1:] != rid[:-1]])
        out[rid[starts]] = np.add.reduceat(values, starts, axis=0)
    return out


def _count(segs: list[Segment], analyzer: Callable[[Segment], list[str]], vocab: dict[str, int]) -> Rows:
    """Count matrix of in-vocabulary features (what CountVectorizer.transform does, with C-level lookups)."""
    get, lens, flat = vocab.get, [], []
    for seg in segs:
        grams = analyzer(seg)
        lens.append(len(grams))
        flat.extend(map(get, grams, repeat(-1)))
    idx = np.fromiter(flat, dtype=np.int64, count=len(flat))
    rows = np.repeat(np.arange(len(segs), dtype=np.int64), lens)
    keep = idx >= 0
    return _csr_counts(rows[keep], idx[keep], len(segs), len(vocab))


def _csr_counts(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> Rows:
    """A count matrix from (row, column) occurrences: duplicates summed, columns sorted within each row."""
    keys, tf = np.unique(rows.astype(np.int64) * n_cols + cols, return_counts=True)
    r = keys // n_cols
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    return Rows(tf.astype(np.float32), (keys - r * n_cols).astype(np.int32), indptr, (n_rows, n_cols))


class WordIndex:
    """The word vocabulary as token ids: counting looks each token up once and finds bigrams by integer key,
    instead of building and hashing a "a b" string per bigram — the same counts as `_count(segs, word_analyzer)`."""

    def __init__(self, vocab: dict[str, int]) -> None:
        tok: dict[str, int] = {}
        uni: list[tuple[int, int]] = []
        bi: list[tuple[int, int, int]] = []
        for w, col in vocab.items():
            parts = w.split(" ")
            if len(parts) > 2 or "" in parts:
                raise ValueError(f"not a word unigram or bigram: {w!r}")
            ids = [tok.setdefault(p, len(tok)) for p in parts]
            if len(ids) == 1:
                uni.append((ids[0], col))
            else:
                bi.append((ids[0], ids[1], col))
        self.tok, self.n_cols, n = tok, len(vocab), len(tok)
        self.uni_col = np.full(n + 1, -1, dtype=np.int64)  # index n: tokens outside the vocabulary
        for i, col in uni:
            self.uni_col[i] = col
        keys = np.array([a * n + b for a, b, _ in bi], dtype=np.int64)
        cols = np.array([c for _, _, c in bi], dtype=np.int64)
        order = np.argsort(keys)
        self.bi_keys, self.bi_cols = keys[order], cols[order]

    def counts(self, segs: list[Segment]) -> Rows:
        get, n, lens, flat = self.tok.get, len(self.tok), [], []
        for seg in segs:
            if seg.neg is None:
                words = [t[0] for t in seg.tokens]
            else:
                words = [t[0] if t[1] < seg.neg else NEG_MARK + t[0] for t in seg.tokens]
            lens.append(len(words))
            flat.extend(map(get, words, repeat(n)))
        ids = np.fromiter(flat, dtype=np.int64, count=len(flat))
        rows = np.repeat(np.arange(len(segs), dtype=np.int64), lens)
        ucol = self.uni_col[ids]
        known = ids < n
        both = (rows[1:] == rows[:-1]) & known[1:] & known[:-1]
        keys = ids[:-1][both] * n + ids[1:][both]
        pos = np.searchsorted(self.bi_keys, keys)
        hit = pos < len(self.bi_keys)
        hit[hit] = self.bi_keys[pos[hit]] == keys[hit]
        keep = ucol >= 0
        all_rows = np.concatenate([rows[keep], rows[:-1][both][hit]])
        all_cols = np.concatenate([ucol[keep], self.bi_cols[pos[hit]]])
        return _csr_counts(all_rows, all_cols, len(segs), self.n_cols)


_B21 = np.uint64(21)
_B42 = np.uint64(42)
_NEG_BIT = np.uint64(1 << 63)
_MASK21 = np.uint64((1 << 21) - 1)


def char_keys(segs: list[Segment]) -> tuple[np.ndarray, np.ndarray]:
    """Every character 2- and 3-gram of every segment as a 64-bit key, with the segment it belongs to.

    A key packs the code points (21 bits each; a 2-gram is below 2**42, a 3-gram above, since no code point is 0
    after normalization) and a top bit for grams inside a negation's scope — the vectorized form of char_analyzer.
    """
    if not segs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    texts = [g.text for g in segs]
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    cps = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    owner = np.repeat(np.arange(len(segs), dtype=np.int64), lens)
    starts = np.cumsum(lens) - lens
    pos = np.arange(len(cps), dtype=np.int64) - np.repeat(starts, lens)
    left = np.repeat(lens, lens) - pos  # characters from here to the end of the segment
    neg_at = np.repeat(
        np.array([g.neg - g.start if g.neg is not None else 1 << 40 for g in segs], dtype=np.int64), lens
    )
    negated = pos >= neg_at
    keys, rows = [], []
    for n in (2, 3):
        ok = np.flatnonzero(left >= n)
        k = cps[ok] << (_B21 if n == 2 else _B42)
        k |= cps[ok + 1] << (np.uint64(0) if n == 2 else _B21)
        if n == 3:
            k |= cps[ok + 2]
        k[negated[ok]] |= _NEG_BIT
        keys.append(k)
        rows.append(owner[ok])
    return np.concatenate(rows), np.concatenate(keys)


def key_text(key: int) -> str:
    """The gram a key stands for (¬-marked when negated)."""
    mark = NEG_MARK if key >> 63 else ""
    key &= (1 << 63) - 1
    chars = [key >> 42, (key >> 21) & 0x1FFFFF, key & 0x1FFFFF] if key >> 42 else [key >> 21, key & 0x1FFFFF]
    return mark + "".join(chr(c) for c in chars)


class CharGrams:
    """Vocabulary of character-gram keys (sorted), fitted like CountVectorizer(min_df, max_features)."""

    def __init__(self, min_df: int = 2, max_features: int = 150000) -> None:
        self.min_df, self.max_features = min_df, max_features
        self.keys_ = np.zeros(0, dtype=np.uint64)

    def fit(self, segs: list[Segment]) -> CharGrams:
        rows, keys = char_keys(segs)
        uniq, tf = np.unique(keys, return_counts=True)
        pairs = np.unique(np.stack([rows.astype(np.uint64), keys]), axis=1)
        kdf, df = np.unique(pairs[1], return_counts=True)
        assert np.array_equal(kdf, uniq)
        keep = df >= self.min_df
        uniq, tf = uniq[keep], tf[keep]
        if len(uniq) > self.max_features:
            top = np.argsort(-tf, kind="stable")[: self.max_features]
            uniq = uniq[top]
        self.keys_ = np.sort(uniq)
        return self

    def counts(self, segs: list[Segment]) -> Rows:
        rows, keys = char_keys(segs)
        n = len(self.keys_)
        idx = np.searchsorted(self.keys_, keys)
        hit = idx < n
        hit[hit] = self.keys_[idx[hit]] == keys[hit]
        return _csr_counts(rows[hit], idx[hit], len(segs), n)


def _stack_rows(
    datas: list[np.ndarray], indices: list[np.ndarray], lengths: list[np.ndarray], width: int, raw: bool = False
) -> sparse.csr_matrix | Rows:
    """Side-by-side CSR blocks (given as per-block data, column indices and row lengths) as one CSR matrix."""
    n_rows = len(lengths[0])
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.sum(lengths, axis=0), out=indptr[1:])
    # entries row by row: block b's entries of row r follow those of blocks < b in the same row
    rows = np.concatenate([np.repeat(np.arange(n_rows), ln) for ln in lengths])
    order = np.argsort(rows, kind="stable")
    data = np.concatenate(datas)[order].astype(np.float32, copy=False)
    idx = np.concatenate(indices)[order].astype(np.int32, copy=False)
    return (
        Rows(data, idx, indptr, (n_rows, width))
        if raw
        else sparse.csr_matrix((data, idx, indptr), shape=(n_rows, width))
    )


class Featurizer:
    """Raw counts per text piece, composable by addition, and their TF-IDF (+ cue) form.

    Counts are additive, so a document's or a window's counts are the sum of its clauses' counts: each clause is
    analyzed once, and documents, sentence windows and evidence clauses all come from the same counts.
    """

    def __init__(
        self,
        kinds: tuple[str, ...] = ("words", "chars", "cues"),
        cue_weight: float = 0.2,
        max_words: int = 60000,
        max_chars: int = 150000,
    ) -> None:
        self.kinds = kinds
        self.cue_weight = cue_weight
        self.max_words = max_words
        self.max_chars = max_chars

    def fit(self, pieces: list[Segment]) -> Featurizer:
        """Learn the word and character vocabularies from text pieces (clauses, so negation marks are seen)."""
        self.__dict__.pop("_word_index", None)
        self.words_: dict[str, int] | None = None  # word n-gram -> column; plain data, so scoring needs no sklearn
        if "words" in self.kinds:
            from sklearn.feature_extraction.text import CountVectorizer

            cv = CountVectorizer(analyzer=word_analyzer, min_df=2, max_features=self.max_words, dtype=np.float32)
            self.words_ = {w: int(i) for w, i in cv.fit(pieces).vocabulary_.items()}
        self.chars_ = CharGrams(2, self.max_chars).fit(pieces) if "chars" in self.kinds else None
        return self

    def counts(self, segs: list[Segment], cues: np.ndarray | None) -> list[Rows]:
        """Raw counts per block (words, chars, cues), one row per segment; `cues` comes from `cue_counts` run over
        whole texts (negation context crosses clauses), so it is passed in."""
        blocks = []
        if self.words_ is not None:
            blocks.append(self.word_index.counts(segs))
        if self.chars_ is not None:
            blocks.append(self.chars_.counts(segs))
        if "cues" in self.kinds:
            if cues is None:
                raise ValueError("this featurizer uses cue counts: pass them (see model.bundle.clause_cues)")
            blocks.append(Rows.from_dense(cues))
        return blocks

    @property
    def word_index(self) -> WordIndex:
        """Token-id form of `words_` for counting (built on first use, not pickled)."""
        wi = self.__dict__.get("_word_index")
        if wi is None or wi.n_cols != len(self.words_ or ()):
            wi = self.__dict__["_word_index"] = WordIndex(self.words_ or {})
        return wi

    def fit_idf(self, doc_counts: list[sparse.csr_matrix]) -> Featurizer:
        """Smoothed IDF per text block from document counts (as TfidfTransformer computes it)."""
        self.idf_: list[np.ndarray] = []
        n = doc_counts[0].shape[0]
        for block in doc_counts[: len(self._text_blocks())]:
            df = np.bincount(block.indices, minlength=block.shape[1])
            self.idf_.append((np.log((1 + n) / (1 + df)) + 1).astype(np.float32))
        return self

    def _text_blocks(self) -> list[str]:
        return [k for k in ("words", "chars") if k in self.kinds]

    def finish(self, counts: list[sparse.csr_matrix] | list[Rows], raw: bool = False) -> sparse.csr_matrix | Rows:
        """Sublinear TF-IDF, L2-normalized per text block; log-scaled, weighted cue counts.

        Written with plain array operations on the CSR parts: on the request path (one text) library-level
        validation would cost more than the arithmetic.
        """
        datas, indices, lengths, offset = [], [], [], 0
        for i, _ in enumerate(self._text_blocks()):
            x = counts[i]
            d = ((1.0 + np.log(x.data)) * self.idf_[i][x.indices]).astype(np.float32)
            per_row = np.diff(x.indptr)
            sq = np.bincount(np.repeat(np.arange(x.shape[0]), per_row), weights=d * d, minlength=x.shape[0])
            norms = np.sqrt(sq).astype(np.float32)
            norms[norms == 0] = 1.0
            datas.append(d / np.repeat(norms, per_row))
            indices.append(x.indices + offset)
            lengths.append(per_row)
            offset += x.shape[1]
        if "cues" in self.kinds:
            q = counts[-1]
            datas.append((np.log1p(q.data) * self.cue_weight).astype(np.float32))
            indices.append(q.indices + offset)
            lengths.append(np.diff(q.indptr))
            offset += q.shape[1]
        return _stack_rows(datas, indices, lengths, offset, raw)

    def feature_kinds(self) -> list[tuple[str, str]]:
        """(block, feature) for every column of `finish`'s output."""
        names = self.feature_names()
        return [names[j] for j in range(len(names))]

    def feature_names(self) -> FeatureNames:
        """(block, feature) of any column, looked up on demand (evidence asks for a handful per text)."""
        return FeatureNames(self)

    # Pickled as arrays, not as a 16k-entry dict: joblib unpickles Python objects one by one in Python, which would
    # cost a third of a second of service start-up.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_word_index", None)
        if state.get("words_") is not None:
            words = sorted(state["words_"], key=state["words_"].__getitem__)
            state["words_"] = np.array(words, dtype=str)
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state.get("words_"), np.ndarray):
            state["words_"] = {w: i for i, w in enumerate(state["words_"].tolist())}
        self.__dict__.update(state)


class FeatureNames:
    """Column index -> (block, feature) for a fitted Featurizer, without materializing every name."""

    def __init__(self, fz: Featurizer) -> None:
        self.words = sorted(fz.words_, key=fz.words_.__getitem__) if fz.words_ is not None else []
        self.char_keys = fz.chars_.keys_ if fz.chars_ is not None else np.zeros(0, dtype=np.uint64)
        self.cues = CUE_FEATURE_NAMES if "cues" in fz.kinds else ()

    def __len__(self) -> int:
        return len(self.words) + len(self.char_keys) + len(self.cues)

    def __getitem__(self, j: int) -> tuple[str, str]:
        j = int(j)
        if j < 0 or j >= len(self):
            raise IndexError(j)
        if j < len(self.words):
            return "words", self.words[j]
        j -= len(self.words)
        if j < len(self.char_keys):
            return "chars", key_text(int(self.char_keys[j]))
        return "cues", self.cues[j - len(self.char_keys)]


# Clause breaks: punctuation runs; " - " / " and " / " but " / " plus " / " then "; a full stop after a word or number.
# (One leading character class for all three, so the scan tests one class per position and skips ahead.)
_CLAUSE_BREAK = re.compile(
    r"[,，。！？!?；;:：\n、()（）【】\[\]|~\s.]"
    r"(?:(?<=[,，。！？!?；;:：\n、()（）【】\[\]|~])[,，。！？!?；;:：\n、()（）【】\[\]|~]*"
    r"|(?<=\s)(?:[-–—]|and|but|plus|then)\s|(?<=[a-z0-9%)]\.)(?=\s|$))"
)


def atoms(text: str, tokens: tuple[Token, ...]) -> list[Segment]:
    """The clauses of a normalized text (cut at punctuation and English conjunctions), with their tokens."""
    segs, start = [], 0
    starts = [t[1] for t in tokens]
    # negations found in one pass over the text: no negation word contains a clause break, so each clause's first
    # one is the first match at or after its start (what negation_start(clause) returns, shifted)
    negs = [m.start() for m in _NEG_SCOPE.finditer(text)]
    bounds = [(m.start(), m.end()) for m in _CLAUSE_BREAK.finditer(text)] + [(len(text), len(text))]
    for bs, be in bounds:
        s, e = start, bs
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            lo, hi = bisect_left(starts, s), bisect_left(starts, e)
            if hi > lo and tokens[hi - 1][2] > e:
                hi -= 1
            k = bisect_left(negs, s)
            segs.append(Segment(text[s:e], tokens[lo:hi], s, negs[k] if k < len(negs) and negs[k] < e else None))
        start = be
    if not segs:
        segs.append(Segment(text, tokens, 0))
    return segs


WINDOW_CHARS = 200


def window_groups(pieces: list[Segment]) -> list[tuple[int, int]]:
    """Runs of consecutive clauses spanning about WINDOW_CHARS characters, at a stride of about half a window.

    Returns [start, end) clause index ranges; none when the whole text fits in one window.
    """
    if len(pieces) <= 1 or pieces[-1].start + len(pieces[-1].text) - pieces[0].start <= WINDOW_CHARS:
        return []
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(pieces):
        j = i + 1
        while j < len(pieces) and pieces[j].start + len(pieces[j].text) - pieces[i].start <= WINDOW_CHARS:
            j += 1
        if not groups or j > groups[-1][1]:
            groups.append((i, j))
        if j >= len(pieces):
            break
        # next window starts at the first clause past half a window (always moving forward)
        k = i + 1
        while k < j and pieces[k].start - pieces[i].start < WINDOW_CHARS // 2:
            k += 1
        i = k
    return groups
