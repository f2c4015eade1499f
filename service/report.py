"""`redflag report`: a self-contained HTML review page for the output of `redflag score`."""

from __future__ import annotations

import collections
import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

from model.taxonomy import BY_CODE, CODES

COLORS = ["#b3261e", "#7a4b00", "#5b2a86", "#0b5c4a", "#8a3b12"]
BACKGROUNDS = ["#f7d6d3", "#f6e3bf", "#e6d9f2", "#cfeae2", "#f4d9c9"]
LEVELS = ("high", "medium", "low")


def read_results(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(scored rows, error rows, unreadable lines) of a results JSONL file."""
    scored, errors, bad = [], [], []
    with path.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                bad.append(f"line {n}: not JSON")
                continue
            if not isinstance(row, dict):
                bad.append(f"line {n}: not an object")
            elif "error" in row:
                errors.append(row)
            elif "risk_score" in row and "indicators" in row:
                scored.append(row)
            else:
                bad.append(f"line {n}: neither a result nor an error row")
    return scored, errors, bad


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _highlight(text: str, row: dict[str, Any]) -> str:
    """The text with every evidence span marked in its indicator's colour (offsets are code points)."""
    cover: list[list[int]] = [[] for _ in text]
    for i, ind in enumerate(row["indicators"]):
        for ev in ind["evidence"]:
            for k in range(max(0, ev["start"]), min(len(text), ev["end"])):
                cover[k].append(i)
    out, k = [], 0
    while k < len(text):
        j = k + 1
        while j < len(text) and cover[j] == cover[k]:
            j += 1
        piece = _e(text[k:j])
        if cover[k]:
            i = cover[k][0]
            names = ", ".join(BY_CODE[row["indicators"][c]["code"]].name for c in cover[k])
            out.append(
                f'<mark style="background:{BACKGROUNDS[i]};box-shadow:inset 0 -2px {COLORS[i]}" title="{_e(names)}">{piece}</mark>'
            )
        else:
            out.append(piece)
        k = j
    return "".join(out)


def _evidence_only(row: dict[str, Any]) -> str:
    parts = []
    for i, ind in enumerate(row["indicators"]):
        for ev in ind["evidence"]:
            parts.append(
                f'<mark style="background:{BACKGROUNDS[i]};box-shadow:inset 0 -2px {COLORS[i]}" title="{_e(BY_CODE[ind["code"]].name)}">{_e(ev["text"])}</mark>'
            )
    return " … ".join(parts) or "<em>(no evidence spans)</em>"


def _histogram(scores: list[float], bins: int = 10) -> tuple[str, list[int]]:
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, int(s * bins))] += 1
    top = max(counts) or 1
    w, h = 36, 120
    bars = []
    for i, c in enumerate(counts):
        bh = int(h * c / top)
        bars.append(
            f'<g><rect x="{i * w + 4}" y="{h - bh + 10}" width="{w - 8}" height="{bh}" fill="{COLORS[0] if i >= 5 else "#2e7d32"}">'
            f"<title>{i / bins:.1f}–{(i + 1) / bins:.1f}: {c}</title></rect>"
            f'<text x="{i * w + w / 2}" y="{h + 26}" text-anchor="middle" font-size="10">{i / bins:.1f}</text>'
            f'<text x="{i * w + w / 2}" y="{h - bh + 6}" text-anchor="middle" font-size="10" class="bin-count">{c}</text></g>'
        )
    svg = (
        f'<svg role="img" aria-label="Histogram of risk scores" width="{bins * w}" height="{h + 32}" '
        f'viewBox="0 0 {bins * w} {h + 32}">{"".join(bars)}</svg>'
    )
    return svg, counts


def build_report(path: Path, top: int = 50) -> str:
    """The HTML of the report for one results file."""
    scored, errors, bad = read_results(path)
    flagged = [r for r in scored if r.get("flagged")]
    levels = collections.Counter(r["risk_level"] for r in scored)
    per_ind = {c: sum(1 for r in scored for i in r["indicators"] if i["code"] == c and i["flagged"]) for c in CODES}
    svg, _ = _histogram([float(r["risk_score"]) for r in scored])
    ranked = sorted(flagged, key=lambda r: -float(r["risk_score"]))[:top]
    rows_html = []
    for r in ranked:
        rid = str(r.get("id"))
        inds = ", ".join(f"{_e(BY_CODE[i['code']].name)} ({i['score']:.2f})" for i in r["indicators"] if i["flagged"])
        body = _highlight(r["text"], r) if isinstance(r.get("text"), str) else _evidence_only(r)
        rows_html.append(
            f'<tr id="row-{_e(rid)}" class="top-row"><td><a href="#row-{_e(rid)}">{_e(rid)}</a></td>'
            f'<td>{float(r["risk_score"]):.2f}</td><td>{_e(r["risk_level"])}</td><td>{inds}</td><td class="text">{body}</td></tr>'
        )
    err_html = "".join(
        f'<tr class="error-row"><td>{_e(e.get("id"))}</td><td>{_e(e.get("line", ""))}</td><td>{_e(e["error"].get("code"))}</td>'
        f"<td>{_e(e['error'].get('message'))}</td></tr>"
        for e in errors
    )
    ind_rows = "".join(
        f'<tr><td><span class="sw" style="background:{COLORS[k]}"></span>{_e(BY_CODE[c].name)}</td>'
        f'<td id="ind-{c}">{per_ind[c]}</td><td>{_e(BY_CODE[c].legal_basis)}</td></tr>'
        for k, c in enumerate(CODES)
    )
    level_rows = "".join(f'<tr><td>{lv}</td><td id="level-{lv}">{levels.get(lv, 0)}</td></tr>' for lv in LEVELS)
    versions = sorted({str(r.get("model_version")) for r in scored})
    bad_html = f"<p>Unreadable lines skipped: {len(bad)} ({_e('; '.join(bad[:10]))})</p>" if bad else ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>redflag report · {_e(path.name)}</title>
<style>
body{{font:15px/1.5 system-ui,"Noto Sans CJK SC",sans-serif;color:#1b1b1b;margin:1.5rem auto;max-width:72rem;padding:0 1rem}}
table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}td,th{{border:1px solid #c9c9c2;padding:.3rem .5rem;vertical-align:top;text-align:left}}
th{{background:#f0f0ea}}.text{{max-width:40rem;white-space:pre-wrap}}mark{{color:inherit;border-radius:.2rem}}
.sw{{display:inline-block;width:.8rem;height:.8rem;border-radius:.2rem;margin-right:.4rem}}.muted{{color:#4a4a4a}}
</style></head><body>
<h1>redflag report</h1>
<p class="muted">{_e(path.name)} · generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · model {_e(", ".join(versions) or "–")}.
A flag is a reason to look, not a legal finding.</p>
<h2>Totals</h2>
<table><tr><th>rows</th><th>scored</th><th>flagged</th><th>errors</th></tr>
<tr><td id="total-rows">{len(scored) + len(errors)}</td><td id="total-scored">{len(scored)}</td>
<td id="total-flagged">{len(flagged)}</td><td id="total-errors">{len(errors)}</td></tr></table>
{bad_html}
<h2>Risk scores</h2>{svg}
<h2>Risk levels</h2><table><tr><th>level</th><th>rows</th></tr>{level_rows}</table>
<h2>Indicators flagged</h2><table><tr><th>indicator</th><th>rows</th><th>legal basis</th></tr>{ind_rows}</table>
<h2>Top {len(ranked)} flagged rows</h2>
<table><tr><th>id</th><th>risk</th><th>level</th><th>indicators</th><th>evidence</th></tr>{"".join(rows_html)}</table>
<h2>Rows that could not be scored ({len(errors)})</h2>
<table><tr><th>id</th><th>line</th><th>code</th><th>message</th></tr>{err_html}</table>
</body></html>
"""
